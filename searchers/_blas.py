"""One BLAS thread while a model-based searcher proposes.

The model-based searchers (the predictor, ParEGO, ``hvi``) solve small linear systems and
multiply matrices of a few thousand rows by a few dozen columns for every proposal. A
multi-threaded BLAS gains nothing on such sizes and loses badly when the cores are busy (its
threads wait for each other: a 150-cell ``hvi`` run took 2.0 s beside two other searches on two
cores, 0.7 s with one BLAS thread, and the audit's 11.9 s against 0.3 s under heavier load).
Worker processes get one thread from their environment (:mod:`robnas.execution`); a search in
the caller's own process (``robnas search``, the Python API, ``compare --jobs 1``) gets it from
:func:`one_blas_thread` around each proposal (as a decorator of ``ask``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit the BLAS libraries loaded in this process to one thread inside the block.

    The limit is threadpoolctl's: BLAS's thread count is process-wide, so it holds for every
    thread of the process while the block runs, and the previous counts are restored when it
    ends (also on an exception). Costs about half a millisecond. Without threadpoolctl (it comes
    with scikit-learn, in the ``search`` extra) the block runs unchanged.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the search extra
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
