"""The tabular oracle over the released robustness data (installed as ``robnas.benchmark``).

Public API: :class:`TabularOracle`, plus the pieces it is built from for those who need them.
"""

from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.location import default_data_dir, resolve_data_root
from robnas.benchmark.meta import SpaceMeta
from robnas.benchmark.release import ResultFile, inventory, result_path
from robnas.benchmark.table import ResultTable
from robnas.benchmark.tabular_oracle import TabularOracle

__all__ = [
    "ArrayCache",
    "ResultFile",
    "ResultTable",
    "SpaceMeta",
    "TabularOracle",
    "default_data_dir",
    "inventory",
    "resolve_data_root",
    "result_path",
]
