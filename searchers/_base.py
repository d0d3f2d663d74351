"""The searcher protocol and the few helpers every searcher shares.

A searcher proposes cells (:meth:`Searcher.ask`) and learns their values
(:meth:`Searcher.tell`). It never calls an oracle and never reads files, so it cannot tell
tabular from live mode; :func:`robnas.loop.run_search` is the only place that joins a searcher
and an oracle.

The contract the loop relies on (checked for every searcher by :mod:`robnas.searchers.testing`):

* Values are maximised (every robnas objective is an accuracy; larger is better).
* Multi-objective searchers (:data:`robnas.searchers.MULTI_OBJECTIVE_SEARCHERS`, driven by
  :func:`robnas.multi_loop.run_multi_search`) are told a tuple of floats, one per objective,
  every component larger-is-better (the loop negates minimised objectives such as ``params``).
* ``ask()`` returns an :class:`~robnas.arch.Arch`; the loop answers every ``ask()`` with exactly
  one ``tell()`` of that cell before asking again.
* ``tell()`` may also be called with a cell the searcher did not ask for (the loop's
  anti-stall guard, or a resumed run whose replay diverged): searchers must accept it and
  simply learn from it.
* A proposal isomorphic to an already told cell is allowed: it costs no budget and the loop
  answers it with the known value. Searchers should still avoid it where they can, and must
  not get stuck proposing known cells.
* Constructors follow scikit-learn: every hyperparameter an explicit keyword with a default,
  stored unchanged as an attribute of the same name, no work in ``__init__``. ``seed`` feeds
  a private :class:`numpy.random.Generator` created on first use; nothing touches global RNGs.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robnas.arch import NUM_CELLS, Arch
from robnas.isomorphism import class_code, class_code_array

_REJECTION_TRIES = 256
_KEYWORD_KINDS = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@runtime_checkable
class Searcher(Protocol):
    """What the search loop needs from a searcher."""

    seed: int | None

    def ask(self) -> Arch:
        """Propose the next cell to evaluate."""
        ...

    def tell(self, arch: Arch, value: float) -> None:
        """Learn that ``arch`` has ``value`` (larger is better)."""
        ...


def get_params(searcher: object) -> dict[str, Any]:
    """The constructor keywords of ``searcher`` with their current values (as in scikit-learn).

    >>> from robnas.searchers import RegularizedEvolution
    >>> get_params(RegularizedEvolution(sample_size=5, seed=3))
    {'population_size': 30, 'sample_size': 5, 'seed': 3}
    """
    signature = inspect.signature(type(searcher).__init__)
    return {
        name: getattr(searcher, name)
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.kind in _KEYWORD_KINDS
    }


def random_unseen(rng: np.random.Generator, seen: set[int]) -> Arch:
    """A uniformly random cell whose isomorphism class is not in ``seen`` (class codes).

    Draws cells uniformly (as random search on NB201 does) and rejects known classes; when
    that keeps failing (most classes seen) it draws uniformly among the remaining cells.

    Raises:
        ValueError: if every class is in ``seen``.
    """
    for _ in range(_REJECTION_TRIES):
        arch = Arch.random(rng)
        if class_code(arch) not in seen:
            return arch
    classes = class_code_array()
    free = np.flatnonzero(~np.isin(classes, np.fromiter(seen, dtype=np.int64, count=len(seen))))
    if free.size == 0:
        raise ValueError(f"all isomorphism classes of the {NUM_CELLS} cells have been seen")
    return Arch.from_code(int(rng.choice(free)))
