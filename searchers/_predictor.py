"""Predictor-guided search: a random-forest surrogate scores every unseen class each round and
Thompson sampling picks (in the spirit of BANANAS, White et al. 2021, with its independent
Thompson sampling and path encoding, and the whole NB201 space as the candidate set), with
local picks among the best cells' neighbours and functional twins."""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import numpy as np

from robnas.arch import NUM_EDGES, NUM_OPS, Arch, all_ops_array
from robnas.encodings import surrogate_features
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code, class_code_array, functional_code_array
from robnas.searchers._base import (
    DESIGNS,
    MAX_COUNT,
    check_bool,
    check_choice,
    check_int,
    check_measure,
    check_scores,
    check_seed,
    next_queued,
    orthogonal_array_cells,
    params_repr,
    random_unseen,
    standardised,
    warm_start,
)
from robnas.searchers._blas import one_blas_thread
from robnas.searchers._class_gp import ClassGaussianProcess

SURROGATES = ("random_forest", "extra_trees")
"""The tree ensembles (each tree one posterior draw); the predictor also offers ``"gp"``."""
PREDICTOR_SURROGATES = (*SURROGATES, "gp")
MAX_TREES = 1000
"""Most trees per fit (a guard against typos: 30 trees already take seconds per 300-cell run)."""
ACQUISITIONS = ("thompson", "ucb", "ei", "mean")
GLOBAL_PICKS = ("thompson", "leaf_max")
"""How a batch's global picks (those from every unseen class) are made: by the ``acquisition``
(with ``"thompson"`` one tree's favourite), or by :func:`leaf_max_scores` of a larger forest."""
TARGETS = ("value", "rank")
"""What the surrogate is fitted to: the told values, or their ranks among the told values
(divided by their count, so in (0, 1]; robust to the long tail of poor cells)."""
FEATURES = ("cells", "cells+function", "cells+cost", "edges")
"""``cells``: :func:`~robnas.encodings.cell_features`; ``cells+function``: plus the path encoding
of the cell's function (:func:`~robnas.encodings.contracted_path_features`, equal for
functional twins); ``cells+cost``: plus parameters and FLOPs
(:mod:`robnas.cost`, free); ``edges``: the one-hot operation of every edge only (the first 30
columns of ``cells``; with the ``gp`` surrogate's RBF kernel, an exponentiated Hamming kernel)."""


class PredictorSearch:
    """Surrogate-model search over all unseen isomorphism classes.

    The first ``num_init`` proposals are cells of a randomised orthogonal array (default
    ``design="orthogonal"``: in its 25 cells every pair of edges shows every pair of operations
    once, see :func:`~robnas.searchers.orthogonal_array_cells`; ``design="random"``: random
    cells; with a ``prior``: the best-scored of a random pool, see
    :func:`~robnas.searchers.warm_start`). Then, every ``refit_every`` proposals, a
    scikit-learn tree ensemble (``surrogate``, ``n_estimators`` trees) is fitted on every cell
    told so far, over :func:`~robnas.encodings.cell_features` (one-hot edges, path encoding,
    operation counts) and, by default (``features="cells+function"``), the path encoding of
    the cell's function (:func:`~robnas.encodings.contracted_path_features`), plus the prior's
    score when there is one, and predicts
    every one of the 6,466 classes not yet seen. The next ``refit_every`` proposals follow
    ``acquisition``:

    * ``"thompson"`` (default): proposal ``i`` is the unseen class that tree ``i`` of the
      forest predicts best; each bootstrapped tree stands for one draw from the posterior
      (BANANAS' independent Thompson sampling), so a batch explores as much as the trees
      disagree;
    * ``"ucb"`` (mean + ``kappa`` x spread of the trees), ``"ei"`` (expected improvement over
      the best value told, Gaussian approximation) or ``"mean"`` (greedy): the top
      ``refit_every`` classes of one score.

    With ``local`` > 0, that many of each batch's proposals are taken by the same acquisition
    from the unseen one-edge neighbours of the ``local_top`` best cells told (a trust region
    around the incumbents, so a good basin is refined, not only found), and with ``twins``
    (default) also from their unseen functional twins (cells computing the same function once skip
    connections are contracted and dead terms dropped,
    :func:`~robnas.isomorphism.functional_form`: their values differ by training noise); with ``explore`` > 0,
    that many are model-free picks (so a surrogate that is confidently wrong about a region
    cannot hold the search there): unseen classes drawn uniformly at random (with
    ``design="orthogonal"``: the design's cells not proposed yet first); the others come from
    every unseen class.

    With ``surrogate="gp"`` a Gaussian process replaces the forest
    (:class:`~robnas.searchers._class_gp.ClassGaussianProcess`: ``ConstantKernel * RBF +
    WhiteKernel``, fitted by scikit-learn's maximum marginal likelihood every ``hyper_every``
    values told; over ``features="edges"`` the RBF kernel is an exponentiated Hamming kernel).
    Its posterior over every class is updated at each tell, so each pick of a batch is made
    after conditioning on every value told so far (the batch keeps its order: global picks,
    ``explore`` random, ``local`` near the incumbents); ``"ucb"`` and ``"ei"`` use its mean and
    standard deviation, ``"thompson"`` one independent draw from each class's marginal.

    With the forests, by default (``global_pick="leaf_max"``), while fewer than
    ``leaf_max_until`` values are told the global picks (those from every unseen class) are
    instead the unseen classes of best :func:`leaf_max_scores`: a forest of ``global_trees``
    trees with at least ``leaf_size`` told cells per leaf is fitted for them, and each class
    scores the best value told in its leaf, averaged over the trees. It is an optimistic
    envelope: a region where the told values spread widely, as PGD@1/255's basin on CIFAR-10
    does, outranks one of uniformly fair values, where one tree's favourite is a random member
    of a leaf of ties. The GP ignores ``global_pick``.

    Once ``late_from`` values are told, the forest's batches take ``late_local`` local and
    ``late_explore`` model-free picks instead of ``local`` and ``explore`` (the others global):
    by default from 50 values on, three global picks and two local ones, no random cell. The
    early model-free picks are what brings a run into a narrow basin (CIFAR-10 pgd@1/255's);
    later, the model's picks find more than random cells do (ImageNet16-120's pgd@1/255 at 100
    cells). The GP ignores these too.

    Ties (common: a tree predicts the same value for a whole leaf) are broken at random. The
    defaults were chosen by measurement (``benchmarks/searcher_defaults.py``, docs/searcher-experiments.md).

    Pending proposals (asked, not yet told; a loop with several workers) count as seen: they
    are never candidates again, and the surrogate is fitted on the told cells only (no lie is
    made up for them). The random start lasts until ``num_init`` values are told, and a batch
    of ``refit_every`` proposals (different trees' favourites under Thompson sampling) keeps
    several workers on diverse cells between fits.

    Args:
        surrogate: ``"random_forest"`` or ``"extra_trees"`` (scikit-learn's regressors), or
            ``"gp"`` (a Gaussian process, see above).
        n_estimators: trees per fit.
        acquisition: ``"thompson"``, ``"ucb"``, ``"ei"`` or ``"mean"``.
        kappa: weight of the spread in ``"ucb"``.
        num_init: cells proposed before the first fit.
        refit_every: proposals per fit (1 refits before every proposal).
        refit_each_until: while fewer values than this are told, the forest is refitted before
            every proposal, which takes the batch's kinds of pick in turn (0: batches from the
            first fit on).
        local: proposals per fit taken among the incumbents' neighbours (0..``refit_every``).
        local_top: how many of the best cells told span that neighbourhood.
        twins: whether the neighbourhood also holds the incumbents' functional twins.
        explore: model-free proposals per fit (``local + explore <= refit_every``).
        design: ``"random"`` or ``"orthogonal"`` (:data:`DESIGNS`): where the model-free
            proposals come from (the first ``num_init`` without a prior, and the ``explore``
            picks).
        features: ``"cells"``, ``"cells+function"``, ``"cells+cost"`` or ``"edges"``
            (:data:`FEATURES`).
        target: ``"value"`` or ``"rank"`` (:data:`TARGETS`): fit the told values or their ranks.
        global_pick: ``"leaf_max"`` or ``"thompson"`` (:data:`GLOBAL_PICKS`, forests only): how
            the global picks are made (``"thompson"``: by ``acquisition`` throughout).
        global_trees: trees of the ``leaf_max`` forest.
        leaf_size: fewest told cells (bootstrap draws) per leaf of the ``leaf_max`` forest.
        leaf_max_until: the ``leaf_max`` global picks while fewer values than this are told,
            the ``acquisition``'s after (6466: throughout).
        late_from: values told from which on the batches take ``late_local`` and
            ``late_explore`` picks (6466: never, and those two are then not checked).
        late_local: local proposals per fit from ``late_from`` values told on.
        late_explore: model-free proposals per fit from then on (``late_local + late_explore
            <= refit_every``).
        hyper_every: with ``surrogate="gp"``, values told between two fits of the kernel's
            hyperparameters (in between, the posterior is only updated).
        prior: name of a per-cell measure (e.g. ``"params"``, or ``"imagenet16-120"``: the
            searched objective on another table of the release, :mod:`robnas.priors`) used as an extra feature and to
            pick the first cells; the caller resolves the name and hands the scores over with
            :meth:`use_scores` (:func:`robnas.priors.provide_scores`). ``None``: no prior.
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = PredictorSearch(num_init=3, seed=0)
    >>> for value in (0.1, 0.2, 0.3, 0.4):
    ...     searcher.tell(searcher.ask(), value)
    >>> searcher.fits
    1
    """

    PARAMS_BEFORE_ADDED: ClassVar[dict[str, Any]] = {"design": "random", "features": "cells", "twins": False,
                                                     "refit_each_until": 0, "global_pick": "thompson",
                                                     "late_from": MAX_COUNT}
    """How a run recorded before ``design``, ``features``, ``twins``, ``refit_each_until``,
    ``global_pick`` or ``late_from`` existed searched (today's defaults for them came later): such
    a record resumes with these, not today's defaults."""

    def __init__(
        self,
        *,
        surrogate: str = "random_forest",
        n_estimators: int = 5,
        acquisition: str = "thompson",
        kappa: float = 1.0,
        num_init: int = 10,
        refit_every: int = 5,
        refit_each_until: int = 50,
        local: int = 3,
        local_top: int = 3,
        twins: bool = True,
        explore: int = 1,
        features: str = "cells+function",
        target: str = "value",
        global_pick: str = "leaf_max",
        global_trees: int = 30,
        leaf_size: int = 2,
        leaf_max_until: int = 50,
        late_from: int = 50,
        late_local: int = 2,
        late_explore: int = 0,
        hyper_every: int = 10,
        design: str = "orthogonal",
        prior: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.surrogate = surrogate
        self.n_estimators = n_estimators
        self.acquisition = acquisition
        self.kappa = kappa
        self.num_init = num_init
        self.refit_every = refit_every
        self.refit_each_until = refit_each_until
        self.local = local
        self.local_top = local_top
        self.twins = twins
        self.explore = explore
        self.features = features
        self.target = target
        self.global_pick = global_pick
        self.global_trees = global_trees
        self.leaf_size = leaf_size
        self.leaf_max_until = leaf_max_until
        self.late_from = late_from
        self.late_local = late_local
        self.late_explore = late_explore
        self.hyper_every = hyper_every
        self.design = design
        self.prior = prior
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._scores: np.ndarray | None = None
        self._classes = np.zeros(0, dtype=np.int64)  # class codes, sorted (set on first ask)
        self._features = np.zeros((0, 0))
        self._features32 = np.zeros((0, 0), dtype=np.float32)  # the same, as trees read them
        self._neighbours = np.zeros((0, 0), dtype=np.int64)  # class position -> neighbours' positions
        self._functional = np.zeros(0, dtype=np.int64)  # class position -> functional class id
        self._values: dict[int, float] = {}  # class code -> value, from every tell
        self._seen: set[int] = set()  # classes proposed or told
        self._queue: deque[int] = deque()
        self._initial: deque[Arch] = deque()  # a prior's warm start
        self._design: deque[int] = deque()  # class codes of the design's cells not proposed yet
        self._fits = 0
        self._gp: ClassGaussianProcess | None = None
        self._gp_fitted_at = 0  # values told at the GP kernel's last fit
        self._slot = 0  # position in the batch cycle (global, random, local picks) of one-pick fits

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters (pure: builds nothing, imports no scikit-learn).

        Raises:
            InvalidParameterError: ``surrogate``, ``acquisition``, ``features``, ``target``,
                ``global_pick`` or ``design`` not one of its choices, ``n_estimators`` or
                ``global_trees`` not an
                integer in 1..1000, ``num_init``, ``refit_every``, ``leaf_size`` or
                ``hyper_every`` not an integer in 1..6466, ``refit_each_until``,
                ``leaf_max_until``, ``late_from``, ``late_local`` or ``late_explore`` not one in
                0..6466, ``local + explore`` or (for the forests, unless ``late_from`` is 6466)
                ``late_local + late_explore`` above ``refit_every``, ``kappa`` not a finite number >= 0,
                ``twins`` not a bool, ``prior`` named
                without its scores handed over (:meth:`use_scores`), or ``seed`` not ``None``
                or in 0..2**32-1.

        >>> PredictorSearch(acquisition="pi").validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: acquisition must be one of thompson, ucb, ei, mean; got 'pi'
        """
        check_choice("surrogate", self.surrogate, PREDICTOR_SURROGATES)
        check_int("n_estimators", self.n_estimators, 1, MAX_TREES)
        check_choice("acquisition", self.acquisition, ACQUISITIONS)
        kappa = self.kappa
        if (isinstance(kappa, bool) or not isinstance(kappa, (int, float, np.integer, np.floating))
                or not 0 <= kappa < float("inf")):
            raise InvalidParameterError(f"kappa must be a finite number >= 0, got {kappa!r}")
        check_int("num_init", self.num_init, 1, MAX_COUNT)
        check_int("refit_every", self.refit_every, 1, MAX_COUNT)
        check_int("refit_each_until", self.refit_each_until, 0, MAX_COUNT)
        check_int("local", self.local, 0, MAX_COUNT)
        check_int("explore", self.explore, 0, MAX_COUNT)
        if self.local + self.explore > self.refit_every:
            raise InvalidParameterError(f"local + explore must be at most refit_every ({self.refit_every}), "
                                        f"got {self.local} + {self.explore}")
        check_int("local_top", self.local_top, 1, MAX_COUNT)
        check_bool("twins", self.twins)
        check_choice("features", self.features, FEATURES)
        check_choice("target", self.target, TARGETS)
        check_choice("global_pick", self.global_pick, GLOBAL_PICKS)
        check_int("global_trees", self.global_trees, 1, MAX_TREES)
        check_int("leaf_size", self.leaf_size, 1, MAX_COUNT)
        check_int("leaf_max_until", self.leaf_max_until, 0, MAX_COUNT)
        check_int("late_from", self.late_from, 0, MAX_COUNT)
        check_int("late_local", self.late_local, 0, MAX_COUNT)
        check_int("late_explore", self.late_explore, 0, MAX_COUNT)
        if self._late_batches and self.late_local + self.late_explore > self.refit_every:
            raise InvalidParameterError(f"late_local + late_explore must be at most refit_every "
                                        f"({self.refit_every}), got {self.late_local} + {self.late_explore} "
                                        f"(or late_from={MAX_COUNT}: the same batches throughout)")
        check_int("hyper_every", self.hyper_every, 1, MAX_COUNT)
        check_choice("design", self.design, DESIGNS)
        check_measure("prior", self.prior, self._scores)
        check_seed(self.seed)

    @property
    def _late_batches(self) -> bool:
        """Whether the ``late_*`` batches can start (the forests only, ``late_from`` < 6466)."""
        return self.late_from < MAX_COUNT and self.surrogate in SURROGATES

    @property
    def fits(self) -> int:
        """How many times the surrogate was fitted."""
        return self._fits

    def use_scores(self, scores: np.ndarray) -> None:
        """Hand over the ``prior``'s score of every cell (``(15625,)``, by :attr:`Arch.code`)."""
        self._scores = check_scores(scores)

    @one_blas_thread()
    def ask(self) -> Arch:
        """A design (or prior-picked) cell first, then the unseen class of best acquisition (with one BLAS thread)."""
        if self._rng is None:
            self._start()
        assert self._rng is not None
        if len(self._values) < self.num_init:
            while self._initial:
                arch = self._initial.popleft()
                if class_code(arch) not in self._seen:
                    return self._propose(arch)
            design = next_queued(self._design, self._seen)
            return self._propose(random_unseen(self._rng, self._seen) if design is None else design)
        arch = next_queued(self._queue, self._seen)
        if arch is None:
            self._fit_and_queue()
            arch = Arch.from_code(self._queue.popleft())
        return self._propose(arch)

    def tell(self, arch: Arch, value: float) -> None:
        """Learn ``value`` for ``arch``'s class (asked or not)."""
        code = class_code(arch)
        self._seen.add(code)
        self._values[code] = float(value)

    # -- internals -----------------------------------------------------------------------------
    def _start(self) -> None:
        self.validate_params()
        self._rng = np.random.default_rng(self.seed)
        self._classes = np.unique(class_code_array())
        ops = all_ops_array()[self._classes].astype(np.int64)
        self._features = surrogate_features(ops, self._classes, self.features)
        if self.design == "orthogonal":
            self._design = deque(class_code(arch) for arch in orthogonal_array_cells(self._rng))
        picks_local = self.local or (self.late_local and self._late_batches)
        if picks_local:  # the neighbours (and functional forms) only when used
            self._neighbours = _neighbour_positions(ops, self._classes)
        if picks_local and self.twins:
            self._functional = functional_code_array()[self._classes]
        if self._scores is not None:
            self._features = np.hstack([self._features, self._scores[self._classes, None]])
        # the cost and prior columns, standardised (a kernel's distances need comparable scales;
        # trees don't mind)
        extra = 2 * self.features.endswith("+cost") + (self._scores is not None)
        if extra:
            self._features[:, -extra:] = standardised(self._features[:, -extra:])
        if self._scores is not None:
            self._initial = deque(warm_start(self._rng, self._scores, self._seen, self.num_init))
        if self.global_pick == "leaf_max" and self.surrogate in SURROGATES:
            self._features32 = np.ascontiguousarray(self._features, dtype=np.float32)

    def _design_position(self, unseen: np.ndarray, taken: np.ndarray) -> int | None:
        """Position in ``unseen`` of the design's next class not ``taken`` in this batch, if any
        (the design's classes passed over are dropped)."""
        if not self._design:  # design="random", or the design used up: no set to build
            return None
        arch = next_queued(self._design, self._seen | set(self._classes[unseen[taken]].tolist()))
        return None if arch is None else int(np.searchsorted(self._classes[unseen], class_code(arch)))

    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(class_code(arch))
        return arch

    def _fit_and_queue(self) -> None:
        if self.surrogate == "gp":
            self._gp_fit_and_queue()
            return
        assert self._rng is not None
        codes, values, target = self._told()
        told_rows = np.searchsorted(self._classes, codes)
        model = fit_forest(self.surrogate, self.n_estimators, self._features[told_rows], target, self._rng)
        self._fits += 1
        unseen = self._unseen()
        features = self._features[unseen]
        if len(values) < self.refit_each_until:  # one pick per fit, the batch's kinds in turn
            slots = [self._slot]
            self._slot = (self._slot + 1) % self.refit_every
        else:
            slots = list(range(min(self.refit_every, unseen.size)))
        local, explore = ((self.late_local, self.late_explore) if len(values) >= self.late_from
                          else (self.local, self.explore))
        first_local = self.refit_every - local  # a batch: global, then random, then local
        first_explore = first_local - explore
        optimistic = None  # the leaf-max envelope's scores, for the global picks
        if (self.global_pick == "leaf_max" and len(values) < self.leaf_max_until
                and any(i < first_explore for i in slots)):
            envelope = fit_forest(self.surrogate, self.global_trees, self._features32[told_rows], target,
                                  self._rng, min_samples_leaf=self.leaf_size)
            optimistic = leaf_max_scores(envelope, self._features32[told_rows], target,
                                         self._features32[unseen])
        shared = None  # one acquisition score for the model's picks, except under Thompson sampling
        if self.acquisition != "thompson":
            per_tree = np.stack([tree.predict(features) for tree in model.estimators_])
            shared = self._acquire(per_tree.mean(axis=0), per_tree.std(axis=0), float(target.max()))

        def model_score(i: int) -> np.ndarray:
            """Pick ``i``'s scores (computed only for the picks that use them)."""
            if i < first_explore and optimistic is not None:
                return optimistic
            if shared is not None:
                return shared
            return model.estimators_[i % len(model.estimators_)].predict(features)  # tree i's favourite

        near = self._near_incumbents(codes, values, unseen) if local else np.zeros(unseen.size, dtype=bool)
        taken = np.zeros(unseen.size, dtype=bool)
        for i in slots:
            allowed, pick, score = ~taken, None, None
            if first_explore <= i < first_local:  # model-free: design, else random
                pick = self._design_position(unseen, taken)
                if pick is None:
                    score = self._rng.random(unseen.size)
            else:
                score = model_score(i)
                if i >= first_local and (near & ~taken).any():
                    allowed = near & ~taken
            if pick is None:  # ties (common in trees) broken at random
                pick = random_argmax(np.where(allowed, score, -np.inf), self._rng)
            taken[pick] = True
            self._queue.append(int(self._classes[unseen[pick]]))

    def _gp_fit_and_queue(self) -> None:
        """Queue the next proposal of the batch cycle, from the GP conditioned on every value
        told so far (the GP is cheap to update, so each of a batch's picks sees the latest
        values; the cycle is the forest's: global picks, then ``explore`` random, then ``local``)."""
        assert self._rng is not None
        slot, self._slot = self._slot, (self._slot + 1) % self.refit_every
        unseen = self._unseen()
        first_local = self.refit_every - self.local
        if first_local - self.explore <= slot < first_local:  # model-free: design, else random
            pick = self._design_position(unseen, np.zeros(unseen.size, dtype=bool))
            if pick is None:
                pick = int(self._rng.integers(unseen.size))
            self._queue.append(int(self._classes[unseen[pick]]))
            return
        codes, values, target = self._told()
        target = (target - target.mean()) / (target.std() if target.std() > 0 else 1.0)
        rows = np.searchsorted(self._classes, codes)  # in the order first told: gp.rows is a prefix
        if self._gp is None:
            self._gp = ClassGaussianProcess(self._features)
        if self._gp_fitted_at == 0 or len(rows) - self._gp_fitted_at >= self.hyper_every:
            self._gp.fit(rows, target)
            self._gp_fitted_at = len(rows)
        else:
            self._gp.extend(rows[len(self._gp.rows):])
        self._fits += 1
        mean, spread = self._gp.posterior(target)
        mean, spread = mean[unseen], spread[unseen]
        if self.acquisition == "thompson":  # a draw from each class's marginal posterior
            score = mean + spread * self._rng.standard_normal(unseen.size)
        else:
            score = self._acquire(mean, spread, float(target.max()))
        if slot >= first_local:  # among the unseen neighbours of the best cells told, if any
            near = self._near_incumbents(codes, values, unseen)
            if near.any():
                score = np.where(near, score, -np.inf)
        self._queue.append(int(self._classes[unseen[random_argmax(score, self._rng)]]))

    def _told(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class codes and values of every class told (in the order first told), and the
        surrogate's targets for them (the values, or their quantiles with ``target="rank"``)."""
        codes = np.fromiter(self._values, dtype=np.int64, count=len(self._values))
        values = np.fromiter(self._values.values(), dtype=float, count=len(self._values))
        if self.target == "value":
            return codes, values, values
        from scipy.stats import rankdata

        return codes, values, rankdata(values) / values.size

    def _unseen(self) -> np.ndarray:
        """Positions (in the class list) of the classes neither proposed nor told."""
        seen = np.fromiter(self._seen, dtype=np.int64, count=len(self._seen))
        unseen = np.flatnonzero(~np.isin(self._classes, seen))
        if unseen.size == 0:
            raise ValueError("every isomorphism class has been seen")
        return unseen

    def _near_incumbents(self, codes: np.ndarray, values: np.ndarray, unseen: np.ndarray) -> np.ndarray:
        """Which of ``unseen`` are one-edge neighbours (and with ``twins`` functional twins) of
        the ``local_top`` best cells told."""
        top = np.searchsorted(self._classes, codes[np.argsort(-values, kind="stable")[: self.local_top]])
        near = np.isin(self._classes[unseen], self._classes[np.unique(self._neighbours[top])])
        if self.twins:
            near |= np.isin(self._functional[unseen], self._functional[top])
        return near

    def _acquire(self, mean: np.ndarray, spread: np.ndarray, best: float) -> np.ndarray:
        if self.acquisition == "mean":
            return mean
        if self.acquisition == "ucb":
            return mean + self.kappa * spread
        from scipy.stats import norm

        spread = np.maximum(spread, 1e-12)
        z = (mean - best) / spread
        return (mean - best) * norm.cdf(z) + spread * norm.pdf(z)


def _neighbour_positions(ops: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(len(classes), 24)``: for each class (its representative's ``ops``), the positions in
    ``classes`` of the classes of its one-edge mutations."""
    weights = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1, dtype=np.int64)
    columns = []
    for edge in range(NUM_EDGES):
        for shift in range(1, NUM_OPS):
            mutated = ops.copy()
            mutated[:, edge] = (mutated[:, edge] + shift) % NUM_OPS
            columns.append(np.searchsorted(classes, class_code_array()[mutated @ weights]))
    return np.stack(columns, axis=1)


def fit_forest(surrogate: str, n_estimators: int, x: np.ndarray, y: np.ndarray,
               rng: np.random.Generator, min_samples_leaf: int = 1) -> Any:
    """A fitted scikit-learn tree ensemble (``surrogate``: one of :data:`SURROGATES`), one job.

    ``y`` may have one column per target (scikit-learn's multi-output trees). Its
    ``estimators_`` are the trees: each one's prediction is one Thompson draw.
    """
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    model_class = ExtraTreesRegressor if surrogate == "extra_trees" else RandomForestRegressor
    model = model_class(n_estimators=n_estimators, n_jobs=1, min_samples_leaf=min_samples_leaf,
                        random_state=int(rng.integers(2**31)))
    return model.fit(x, y)


def leaf_max_scores(forest: Any, x_told: np.ndarray, y_told: np.ndarray, x: np.ndarray) -> np.ndarray:
    """For each row of ``x``: the largest of ``y_told`` among the told rows ``x_told`` that
    share its leaf, averaged over ``forest``'s trees (a fitted scikit-learn forest; every leaf
    holds a told row when the forest was fitted on them)."""
    told_leaves, leaves = forest.apply(x_told), forest.apply(x)  # (rows, trees) leaf ids
    total = np.zeros(len(x))
    for tree in range(leaves.shape[1]):
        best = np.full(forest.estimators_[tree].tree_.node_count, -np.inf)
        np.maximum.at(best, told_leaves[:, tree], y_told)
        total += best[leaves[:, tree]]
    return total / leaves.shape[1]


def random_argmax(score: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest ``score``, ties (common in tree predictions) broken at random."""
    best = np.flatnonzero(score == score.max())
    return int(best[rng.integers(best.size)])
