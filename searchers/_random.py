"""Random search: uniformly random cells, never an isomorph of one already proposed."""

from __future__ import annotations

import numpy as np

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers._base import check_seed, params_repr, random_unseen


class RandomSearch:
    """Uniform random search over the 15,625 cells, skipping known isomorphism classes.

    Proposals are independent of the values, so pending proposals (several workers) change
    nothing: a pending class counts as seen.

    Args:
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = RandomSearch(seed=0)
    >>> arch = searcher.ask()
    >>> searcher.tell(arch, 0.5)
    >>> searcher.ask() != arch
    True
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._seen: set[int] = set()

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters: ``seed`` is ``None`` or an integer in 0..2**32-1.

        Raises:
            InvalidParameterError: a bad seed.
        """
        check_seed(self.seed)

    def ask(self) -> Arch:
        """A random cell of a class not proposed or told before."""
        if self._rng is None:
            self.validate_params()
            self._rng = np.random.default_rng(self.seed)
        arch = random_unseen(self._rng, self._seen)
        self._seen.add(class_code(arch))
        return arch

    def tell(self, arch: Arch, value: float) -> None:
        """Remember ``arch``'s class so it is not proposed again (the value is not used)."""
        self._seen.add(class_code(arch))
