"""The design analysis of the release: how architecture choices affect robustness.

One module per section, each a set of functions from a per-class frame
(:func:`class_frame`) to pandas DataFrames, and plotting functions that take those frames and
return matplotlib figures:

- :mod:`~robnas.analysis.frame`: the per-class table (every objective, cost, constant-output flag);
- :mod:`~robnas.analysis.distributions`: each objective's spread over the classes;
- :mod:`~robnas.analysis.correlations`: Kendall's tau and Spearman's rho between objectives and
  between datasets;
- :mod:`~robnas.analysis.equal_cost`: networks of equal parameter count (or FLOPs) compared;
- :mod:`~robnas.analysis.operations`: edges, operations and operation counts, with enrichment
  among the best classes;
- :mod:`~robnas.analysis.top`: the best cells;
- :mod:`~robnas.analysis.plots`: the figures; :mod:`~robnas.analysis.report`: all of it
  written to a folder (``robnas analyze``).

>>> from robnas.benchmark import TabularOracle  # data from $ROBNAS_DATA
>>> frame = class_frame(TabularOracle("cifar10"), ["pgd@1/255"])
>>> print(equal_cost_findings(equal_cost(frame, ["pgd@1/255"]), frame)["statement"][0])
Networks with 0.3443 M parameters (819 classes) range in pgd@1/255 from 0.097 (index 2511) to ...
"""

from __future__ import annotations

# The section modules import nothing heavy at module level (pandas, SciPy and matplotlib load
# inside the functions), so they are imported here: a function named like its module
# (``distributions``, ``correlations``) must win over the submodule attribute.
from robnas.analysis.correlations import correlation_matrix, correlations, dataset_correlations
from robnas.analysis.distributions import distributions
from robnas.analysis.equal_cost import equal_cost, equal_cost_findings
from robnas.analysis.frame import (
    CHANCE_TOLERANCE,
    all_objectives,
    class_frame,
    degenerate_cells,
    headline_objectives,
    objective_columns,
)
from robnas.analysis.operations import operation_counts, operation_effects, operation_enrichment, top_mask
from robnas.analysis.plots import (
    plot_correlations,
    plot_dataset_correlations,
    plot_distributions,
    plot_equal_cost,
    plot_operation_counts,
    plot_operations,
)
from robnas.analysis.report import AnalysisReport, other_datasets, write_report
from robnas.analysis.top import top_cells

__all__ = [
    "CHANCE_TOLERANCE", "AnalysisReport", "all_objectives", "class_frame", "correlation_matrix",
    "correlations", "dataset_correlations", "degenerate_cells", "distributions", "equal_cost",
    "equal_cost_findings", "headline_objectives", "objective_columns", "operation_counts",
    "operation_effects", "operation_enrichment", "other_datasets", "plot_correlations",
    "plot_dataset_correlations", "plot_distributions", "plot_equal_cost", "plot_operation_counts",
    "plot_operations", "top_cells", "top_mask", "write_report",
]
