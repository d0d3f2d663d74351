"""Hypervolume-improvement search (multi-objective): a surrogate per objective scores the
unseen neighbours of the front found so far by how much each would add to its hypervolume."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from robnas.arch import NUM_EDGES, NUM_OPS, Arch, all_ops_array
from robnas.encodings import surrogate_features
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code, class_code_array, functional_code_array
from robnas.pareto import hypervolume_improvements, non_dominated_mask
from robnas.searchers._base import (
    MAX_COUNT,
    check_choice,
    check_float,
    check_int,
    check_measure,
    check_score_columns,
    check_seed,
    front_order,
    next_queued,
    params_repr,
    random_unseen,
    standardised,
)
from robnas.searchers._blas import one_blas_thread
from robnas.searchers._predictor import MAX_TREES, SURROGATES, PredictorSearch, fit_forest, random_argmax

FEATURES = ("cells", "pairs", "cells+function", "cells+cost", "pairs+cost", "edges")
"""The surrogate's features: ``cells`` (:func:`~robnas.encodings.cell_features`), ``pairs`` (those
and the products of every two edges' one-hots), ``cells+function`` (plus the path encoding of the
cell's function, :func:`~robnas.encodings.contracted_path_features`), ``cells`` or ``pairs`` with
``+cost`` (and the cell's parameters and FLOPs, :func:`robnas.cost.cost_arrays`), or ``edges``
(the one-hot edges alone)."""
GP_FEATURES = ("cells", "edges")
"""The features a Gaussian-process surrogate accepts (0/1 columns and counts: integer squared
distances, which its kernel looks up in a table)."""
CANDIDATES = ("neighbours", "neighbours+twins", "all")
"""Which unseen classes a round scores: the one-edge neighbours of the told front, those and the
front's functional twins (:func:`~robnas.isomorphism.functional_form`: cells computing a front
cell's function, whose values differ by training noise), or every unseen class."""
LEADS = ("predictor", "gp")
"""Who makes the lead objective's picks (``lead_every``): the single-objective predictor, told
every cell, or a Gaussian process over ``features="cells"`` told only the start and its own
picks, scoring every unseen class by its upper bound (``lead_ucb``)."""
CONSTRAINED_UCB = 1.0
"""Posterior standard deviations added to the means of a constrained pick's Gaussian processes."""
LEAD_UCB = 3.0
"""The default ``lead_ucb``: posterior standard deviations added to the ``lead="gp"`` lead's means."""
CONSTRAINT_MARGIN = 0.01
"""The default ``constraint_margin`` (accuracy, as a fraction)."""
PRIOR_USES = ("start", "start+model")
"""What a prior does: ``start`` (the first ``num_init`` cells are the prior's best fronts) or
``start+model`` (and it informs the surrogate)."""
LEAD_SALT = 0x6C656164
"""Mixed with ``seed`` for the lead objective's predictor, so its random stream is its own."""
LEAD_PARAMS: dict[str, Any] = {"refit_each_until": 0, "global_pick": "thompson", "late_from": MAX_COUNT}
"""The lead predictor's settings apart from its defaults: those it was measured with (README,
"hvi-lead"; the predictor's early refits, leaf-max global picks and late batches came later and
were not measured here), so runs and records made with ``lead_every`` stay as they were."""
GP_LENGTHS = (1.0, 2.0, 4.0, 8.0)
"""Length scales (``l`` in ``exp(-d / 2l)``, ``d`` the squared distance) the GP chooses from."""
GP_NOISES = (0.01, 0.05, 0.2, 0.5)
"""Noise variances, relative to the signal's, the GP chooses from."""

_MAX_SQUARED_DISTANCE = 2 * NUM_EDGES + 2 * 4 + 2 * NUM_EDGES ** 2
"""Largest squared distance of two cells over :data:`GP_FEATURES`' columns (one-hots: 2 per
differing edge or path; counts: at most 6^2 + 6^2)."""
_DIGIT = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1)
"""What one edge's op adds to :attr:`Arch.code` per unit (the code is base-5, edge-major)."""


class HypervolumeImprovementSearch:
    """Propose the class whose predicted objective vector adds most hypervolume to the front.

    After ``num_init`` random cells, every ``refit_every`` proposals a surrogate is fitted to
    every vector told so far (standardised objectives, over
    :func:`~robnas.encodings.cell_features`: one-hot edges, BANANAS path encoding, operation
    counts) and predicts the candidates: by default (``candidates="neighbours"``) the unseen
    classes one edge away from a cell of the front told so far (a surrogate-guided Pareto local
    search: NB201's fronts are made of neighbouring cells), all 6,466 classes not yet seen when
    there is none or with ``candidates="all"``. The pick is the candidate of largest
    hypervolume improvement (:func:`robnas.pareto.hypervolume_improvements`, exact and
    vectorised) over the told front, with a reference point estimated the way the benchmark
    defines it: the told front's nadir moved outward by ``margin`` of each objective's range.
    When no candidate improves, the one least deep inside the dominated region (normalised by
    the observed ranges) is picked. With probability ``explore`` a proposal is a random cell.
    ``features="pairs"`` adds to the features the product of every pair of edge one-hots that
    occurs (which ops two edges carry together: 359 columns over the classes), so a ridge
    surrogate can learn interactions between edges; ``"cells+cost"`` and ``"pairs+cost"`` add
    the cell's parameters and FLOPs (exact and free, CIFAR-10's counts: clean accuracy follows
    them closely; they are linear in the operation counts, so for a ridge they mainly lift the
    penalty off that direction); ``"edges"`` keeps the one-hot edges alone.

    Surrogates: ``"ridge"`` (default; one ridge regression per objective, its mean
    prediction), ``"bayes_ridge"`` (its Bayesian posterior: each proposal uses one draw of the
    coefficients, Thompson sampling), ``"random_forest"`` or ``"extra_trees"`` (the predictor
    searcher's scikit-learn ensemble, :class:`~robnas.searchers.PredictorSearch`, one
    multi-output fit; proposal ``i`` of a batch uses tree ``i`` as its posterior draw, as in
    Bradford et al.'s TSEMO, 2018), or ``"gp"``: a Gaussian process per objective (zero mean,
    kernel ``exp(-d / 2l)`` over the squared distance ``d`` of the features, which over
    ``features="edges"`` is twice the Hamming distance of the cells: an exponentiated-Hamming
    kernel; plus white noise). Its length ``l`` and noise are chosen from the grids
    :data:`GP_LENGTHS` x :data:`GP_NOISES` by marginal likelihood every ``kernel_every`` fits,
    and each proposal's predictions are the posterior mean plus ``ucb`` posterior standard
    deviations (an upper confidence bound per objective, as in SMS-EGO's optimistic
    hypervolume, Ponweiser et al. 2008). Within a batch each pick joins the front at its predicted
    vector, so the next one seeks another region. ``acquisition="tchebycheff"`` replaces the
    hypervolume improvement by a random augmented Tchebycheff weighting of the predictions
    (random-scalarisation Thompson sampling, Paria et al. 2019). The defaults were chosen by
    measurement (README, docs/searcher-experiments.md, ``benchmarks/multi_objective.py``).

    A transfer prior (``prior="imagenet16-120"``: another dataset's table of the same
    objectives, :func:`robnas.priors.objective_scores`; the caller hands one score column per
    objective over with :meth:`use_scores`) replaces the ``num_init`` random cells by the
    prior's best non-dominated fronts, spread out within each
    (:func:`~robnas.searchers._base.front_order`), and with ``prior_use="start+model"``
    (default) also informs the surrogate: its standardised columns are extra features of the
    ridge and tree surrogates, and a GP models what a linear fit on the objective's own prior
    column leaves (a linear prior mean, refitted with the GP).

    With ``lead_every=N`` (> 0), every ``N``-th proposal (the first, the ``N+1``-th, ...) is made
    instead by a single-objective :class:`~robnas.searchers.PredictorSearch` (its defaults but
    :data:`LEAD_PARAMS`)
    chasing the *first* objective, the lead (e.g. the robust accuracy of ``-O pgd@1/255 -O
    clean``), told that objective's value of every cell: the surrogate-guided front search keeps
    the front's clean end, the predictor finds the lead objective's narrow basin, which a
    front-neighbourhood search seldom reaches. A lead pick already pending (asked, not told;
    several workers) gives way to the usual pick. With ``lead="gp"`` the lead is instead a
    Gaussian process over ``features="cells"`` fitted to the first objective of the start's
    cells and of its own picks only (not told the others, which would pull it towards the
    front's other end), proposing the unseen class, out of all, of largest upper bound (mean
    plus ``lead_ucb`` standard deviations); its turns begin after the start.

    With ``constrained_every=N`` (> 0), every ``N``-th proposal after the start, beginning with
    the second, is an epsilon-constraint pick (Haimes et al. 1971) aimed at the front's middle:
    Gaussian processes over ``features="cells"``, one per objective told every cell, score
    every unseen class, and among those whose upper bound (mean plus :data:`CONSTRAINED_UCB`
    standard deviations) of every other objective is within ``constraint_margin`` (in that
    objective's units) of its best told value, the one of largest upper bound on the first
    objective is proposed (with none within, the one closest to being within). The lead's
    turns are then the other proposals.

    Values are vectors, larger-is-better in every component (the loop negates minimised
    objectives); a plain number is read as a one-element vector.

    Args:
        surrogate: ``"ridge"``, ``"bayes_ridge"``, ``"random_forest"``, ``"extra_trees"`` or
            ``"gp"``.
        n_estimators: trees per fit of a tree ensemble (the draws a batch cycles through).
        num_init: random cells before the first fit.
        refit_every: proposals per fit.
        acquisition: ``"hvi"`` (hypervolume improvement) or ``"tchebycheff"``.
        candidates: ``"neighbours"`` (of the told front), ``"neighbours+twins"`` or ``"all"``
            (unseen classes), see :data:`CANDIDATES`.
        features: one of :data:`FEATURES` (with ``surrogate="gp"``: of :data:`GP_FEATURES`).
        explore: probability of proposing a random unseen cell instead.
        margin: how far beyond the told front's nadir the reference point lies, as a share of
            each objective's range over that front.
        ridge: L2 penalty of the ridge surrogates.
        ucb: posterior standard deviations added to a GP's mean predictions (0: the mean).
        kernel_every: fits between two choices of a GP's length and noise.
        prior: name of another table of the release (``DATASET``) whose objective values are
            the prior (see above); ``None``: no prior.
        prior_use: one of :data:`PRIOR_USES`.
        lead_every: every how many proposals the lead objective's predictor proposes (0: never).
        lead: one of :data:`LEADS`.
        lead_ucb: standard deviations added to the ``lead="gp"`` lead's means.
        constrained_every: every how many proposals after the start one is an
            epsilon-constraint pick (0: never).
        constraint_margin: how far below its best told value an objective other than the
            first may be predicted for a constrained pick, in its own units.
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = HypervolumeImprovementSearch(num_init=3, refit_every=2, seed=0)
    >>> for value in ((0.5, 0.8), (0.6, 0.7), (0.4, 0.9), (0.3, 0.3)):
    ...     searcher.tell(searcher.ask(), value)
    >>> searcher.fits, isinstance(searcher.ask(), Arch)
    (1, True)
    """

    def __init__(self, *, surrogate: str = "ridge", n_estimators: int = 5, num_init: int = 10,
                 refit_every: int = 1, acquisition: str = "hvi", candidates: str = "neighbours",
                 features: str = "cells", explore: float = 0.1, margin: float = 0.1, ridge: float = 1.0,
                 ucb: float = 0.0, kernel_every: int = 10, prior: str | None = None,
                 prior_use: str = "start+model", lead_every: int = 0, lead: str = "predictor",
                 lead_ucb: float = LEAD_UCB, constrained_every: int = 0,
                 constraint_margin: float = CONSTRAINT_MARGIN,
                 seed: int | None = None) -> None:
        self.surrogate = surrogate
        self.candidates = candidates
        self.features = features
        self.explore = explore
        self.acquisition = acquisition
        self.ridge = ridge
        self.n_estimators = n_estimators
        self.num_init = num_init
        self.refit_every = refit_every
        self.margin = margin
        self.ucb = ucb
        self.kernel_every = kernel_every
        self.prior = prior
        self.prior_use = prior_use
        self.lead_every = lead_every
        self.lead = lead
        self.lead_ucb = lead_ucb
        self.constrained_every = constrained_every
        self.constraint_margin = constraint_margin
        self.seed = seed
        self._lead: PredictorSearch | None = None  # the lead objective's searcher (lead_every > 0)
        self._asks = 0  # proposals made after the prior's start
        self._scores: np.ndarray | None = None  # (15625, k) prior scores, larger = better
        self._prior_rows = np.zeros((0, 0))  # the prior standardised, one row per class
        self._kernels: list[tuple[float, float]] = []  # a GP's (length, noise) per objective
        self._rng: np.random.Generator | None = None
        self._classes = np.zeros(0, dtype=np.int64)  # class codes, sorted (set on first ask)
        self._features = np.zeros((0, 0))
        self._ops = np.zeros((0, NUM_EDGES), dtype=np.uint8)  # every cell's ops, by code
        self._class_of = np.zeros(0, dtype=np.int64)  # every cell's class code, by code
        self._functional = np.zeros(0, dtype=np.int64)  # each class's functional class id
        self._values: dict[int, np.ndarray] = {}  # class code -> told vector
        self._seen: set[int] = set()  # classes proposed or told
        self._queue: deque[int] = deque()
        self._starts: deque[int] = deque()  # the prior's front classes, proposed first
        self._fits = 0
        self._steps = 0  # proposals after the start (constrained picks and lead="gp" count them)
        self._turns = 0  # of those, the ones not constrained (the GP lead's turns)
        self._start_codes: set[int] = set()  # the first num_init classes told
        self._lead_codes: set[int] = set()  # the GP lead's picks
        self._cell_features = np.zeros((0, 0))  # features="cells" by class (the side picks' GPs)
        self._side_distances = np.zeros((0, 0), dtype=np.uint8)  # every class to each told class, by column
        self._side_columns: dict[int, int] = {}  # told class -> its column in _side_distances
        self._side_kernels: dict[str, list[tuple[float, float]]] = {}  # per side pick: (length, noise)s
        self._side_fits: dict[str, int] = {}  # per side pick: its fits so far

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters (pure: builds nothing, imports no scikit-learn).

        Raises:
            InvalidParameterError: ``surrogate``, ``acquisition``, ``candidates`` or
                ``features`` not one of its choices, ``n_estimators`` not an integer in 1..1000, ``num_init`` or
                ``refit_every`` not an integer in 1..6466, ``explore`` not a probability,
                ``margin`` not a number in 0..10, ``ridge`` not a number > 0, ``ucb`` not a
                number in 0..10 (> 0 only with ``surrogate="gp"``), ``kernel_every`` not an
                integer in 1..6466, ``features`` not one of :data:`GP_FEATURES` with
                ``surrogate="gp"``, ``prior`` named without its scores handed over
                (:meth:`use_scores`), ``prior_use`` not one of :data:`PRIOR_USES` (or other
                than its default without a ``prior``),
                ``lead_every`` not an integer in 0..6466, ``lead`` not one of :data:`LEADS`,
                ``lead_ucb`` not a number in 0..10, ``constrained_every`` not an integer in
                0..6466, ``constraint_margin`` not a number in 0..10, or ``seed`` not ``None``
                or in 0..2**32-1.

        >>> HypervolumeImprovementSearch(margin=-0.1).validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: margin must be a number >= 0.0 and <= 10.0, got -0.1
        """
        check_choice("surrogate", self.surrogate, (*SURROGATES, "bayes_ridge", "ridge", "gp"))
        check_choice("candidates", self.candidates, CANDIDATES)
        check_choice("features", self.features, FEATURES)
        check_float("explore", self.explore, 0.0, 1.0)
        check_float("ridge", self.ridge, 0.0, low_open=True)
        check_int("n_estimators", self.n_estimators, 1, MAX_TREES)
        check_choice("acquisition", self.acquisition, ("hvi", "tchebycheff"))
        check_int("num_init", self.num_init, 1, MAX_COUNT)
        check_int("refit_every", self.refit_every, 1, MAX_COUNT)
        check_float("margin", self.margin, 0.0, 10.0)
        check_float("ucb", self.ucb, 0.0, 10.0)
        check_int("kernel_every", self.kernel_every, 1, MAX_COUNT)
        check_measure("prior", self.prior, self._scores)
        check_choice("prior_use", self.prior_use, PRIOR_USES)
        check_int("lead_every", self.lead_every, 0, MAX_COUNT)
        check_choice("lead", self.lead, LEADS)
        check_float("lead_ucb", self.lead_ucb, 0.0, 10.0)
        check_int("constrained_every", self.constrained_every, 0, MAX_COUNT)
        check_float("constraint_margin", self.constraint_margin, 0.0, 10.0)
        if self.surrogate == "gp" and self.features not in GP_FEATURES:
            raise InvalidParameterError(f"features must be one of {', '.join(GP_FEATURES)} with "
                                        f"surrogate=gp; got {self.features!r}")
        if self.prior is None and self.prior_use != "start+model":
            raise InvalidParameterError(f"prior_use={self.prior_use} says what a prior does; give one "
                                        "with prior=DATASET, or leave prior_use out")
        if self.lead != "predictor" and not self.lead_every:
            raise InvalidParameterError(f"lead={self.lead} says who makes the lead's picks; give "
                                        "lead_every=N too, or leave lead out")
        if self.lead_ucb != LEAD_UCB and self.lead != "gp":
            raise InvalidParameterError(f"lead_ucb is the lead=gp lead's; got lead_ucb={self.lead_ucb!r} "
                                        f"with lead={self.lead}")
        if self.constraint_margin != CONSTRAINT_MARGIN and not self.constrained_every:
            raise InvalidParameterError("constraint_margin is the constrained picks'; give "
                                        "constrained_every=N too, or leave constraint_margin out")
        if self.surrogate != "gp" and self.ucb:
            raise InvalidParameterError(f"ucb must be 0 unless surrogate=gp; got {self.ucb!r} "
                                        f"with surrogate={self.surrogate}")
        check_seed(self.seed)

    @property
    def fits(self) -> int:
        """How many times the surrogate was fitted."""
        return self._fits

    @one_blas_thread()
    def ask(self) -> Arch:
        """A random cell first, then the unseen class of largest sampled improvement (with one BLAS thread)."""
        if self._rng is None:
            self.validate_params()
            self._rng = np.random.default_rng(self.seed)
            self._ops, self._class_of = all_ops_array(), class_code_array()
            self._classes = np.unique(self._class_of)
            if self.candidates == "neighbours+twins":  # the functional forms only when used
                self._functional = functional_code_array()[self._classes]
            self._features = surrogate_features(self._ops[self._classes], self._classes, self.features)
            if self._scores is not None:
                self._start_from_prior()
            if self.constrained_every or (self.lead == "gp" and self.lead_every):
                self._cell_features = surrogate_features(self._ops[self._classes], self._classes, "cells")
            if self.lead_every and self.lead == "predictor":
                self._start_lead()
        start = next_queued(self._starts, self._seen)
        if start is not None:  # the prior's fronts first (tells of unasked cells count too)
            return self._propose(start)
        side = self._side_pick()
        if side is not None:
            return self._propose(side)
        self._asks += 1
        if self._lead is not None and (self._asks - 1) % self.lead_every == 0:
            lead = self._lead.ask()
            if class_code(lead) not in self._seen:
                return self._propose(lead)
        if len(self._values) < self.num_init or self._rng.random() < self.explore:
            return self._propose(random_unseen(self._rng, self._seen))
        arch = next_queued(self._queue, self._seen)
        if arch is None:
            self._fit_and_queue()
            arch = Arch.from_code(self._queue.popleft())
        return self._propose(arch)

    def tell(self, arch: Arch, value: float | Sequence[float]) -> None:
        """Learn ``arch``'s vector (a class told twice keeps its first vector)."""
        code = class_code(arch)
        self._seen.add(code)
        vector = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if self._scores is not None and vector.size != self._scores.shape[1]:
            raise ValueError(f"told {vector.size} values, but the prior has {self._scores.shape[1]} "
                             "columns (one per objective)")
        if self._lead is not None and code not in self._values:
            self._lead.tell(arch, float(vector[0]))
        if code not in self._values and len(self._values) < self.num_init:
            self._start_codes.add(code)
        self._values.setdefault(code, vector)

    def use_scores(self, scores: np.ndarray) -> None:
        """Take the prior's ``(15625, k)`` scores (one column per objective, larger = better;
        :func:`robnas.priors.objective_scores` resolves ``prior``)."""
        self._scores = check_score_columns(scores)

    def _start_from_prior(self) -> None:
        """Queue the prior's ``num_init`` best front cells and, for ``start+model``, keep its
        standardised columns by class (the surrogate's extra input)."""
        assert self._scores is not None
        self._starts.extend(front_order(self._scores, self.num_init))
        if self.prior_use == "start":
            return
        self._prior_rows = standardised(self._scores[self._classes])
        if self.surrogate != "gp":
            self._features = np.hstack([self._features, self._prior_rows])

    def _start_lead(self) -> None:
        """Build the lead objective's predictor (seeded from ``seed``, apart from this
        searcher's own random stream) and tell it every vector told so far."""
        seed = None if self.seed is None else int(np.random.SeedSequence([self.seed, LEAD_SALT]).generate_state(1)[0])
        self._lead = PredictorSearch(seed=seed, **LEAD_PARAMS)
        for code, vector in self._values.items():
            self._lead.tell(Arch.from_code(code), float(vector[0]))

    # -- internals -----------------------------------------------------------------------------
    def _side_pick(self) -> Arch | None:
        """After the start: a constrained pick or the GP lead's pick when it is their turn."""
        gp_lead = self.lead == "gp" and self.lead_every > 0
        if not (self.constrained_every or gp_lead) or len(self._values) < self.num_init:
            return None
        self._steps += 1
        if self.constrained_every and (self._steps - 1) % self.constrained_every == 1 % self.constrained_every:
            return self._constrained_pick()
        self._turns += 1
        if gp_lead and (self._turns - 1) % self.lead_every == 0:
            arch = self._gp_lead_pick()
            self._lead_codes.add(class_code(arch))
            return arch
        return None

    def _distance_columns(self, codes: np.ndarray) -> np.ndarray:
        """Squared distances (``features="cells"``) of every class to each class of ``codes``
        (rows: the class list, columns: ``codes``), each told class's column computed once."""
        missing = [int(code) for code in codes if int(code) not in self._side_columns]
        if missing:
            used = len(self._side_columns)
            if used + len(missing) > self._side_distances.shape[1]:  # grow by doubling
                grown = np.zeros((len(self._classes), max(2 * (used + len(missing)), 64)), dtype=np.uint8)
                if used:
                    grown[:, :used] = self._side_distances[:, :used]
                self._side_distances = grown
            rows = np.searchsorted(self._classes, missing)
            self._side_distances[:, used:used + len(missing)] = squared_distances(
                self._cell_features, self._cell_features[rows])
            self._side_columns.update((code, used + i) for i, code in enumerate(missing))
        return self._side_distances[:, [self._side_columns[int(code)] for code in codes]]

    def _side_processes(self, name: str, codes: np.ndarray,
                        y: np.ndarray) -> tuple[list[_GaussianProcess], np.ndarray, np.ndarray]:
        """Gaussian processes over ``features="cells"`` for the columns of ``y`` (already
        standardised) at the classes ``codes``, their hyperparameters re-chosen every
        ``kernel_every`` of this side pick's fits; and the rows and squared distances to the
        told classes of every unseen class."""
        columns = self._distance_columns(codes)
        distance = columns[np.searchsorted(self._classes, codes)]
        fits = self._side_fits.get(name, 0)
        if fits % self.kernel_every == 0:
            self._side_kernels[name] = gp_hyperparameters(distance, y)
        self._side_fits[name] = fits + 1
        models = [_GaussianProcess(distance, y[:, j], *self._side_kernels[name][j]) for j in range(y.shape[1])]
        unseen = self._unseen_rows()
        return models, unseen, columns[unseen]

    def _gp_lead_pick(self) -> Arch:
        """The unseen class of largest upper bound on the first objective, from a GP told the
        start's cells and the lead's own picks."""
        assert self._rng is not None
        codes = np.array([code for code in self._values if code in self._start_codes or code in self._lead_codes],
                         dtype=np.int64)
        y = np.array([self._values[int(code)][0] for code in codes])
        y = (y - y.mean()) / (y.std() or 1.0)
        models, unseen, cross = self._side_processes("lead", codes, y[:, None])
        score = models[0].predict(cross, self.lead_ucb)
        return Arch.from_code(int(self._classes[unseen[random_argmax(score, self._rng)]]))

    def _constrained_pick(self) -> Arch:
        """The unseen class of largest upper bound on the first objective among those whose
        upper bounds on the others are within ``constraint_margin`` of their best told values
        (with none within, the one whose largest shortfall is least).

        A posterior standard deviation is at most the prior's (``sqrt(s2)``), so a class whose
        mean plus :data:`CONSTRAINED_UCB` prior deviations falls short cannot be within, and
        its standard deviations (the costly part) are computed only if no class is within."""
        assert self._rng is not None
        codes = np.fromiter(self._values, dtype=np.int64, count=len(self._values))
        told = np.stack(list(self._values.values()))
        mean, scale = told.mean(axis=0), told.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        models, unseen, cross = self._side_processes("constrained", codes, (told - mean) / scale)
        limit = told[:, 1:].max(axis=0) - self.constraint_margin

        def shortfall_at(rows: np.ndarray) -> np.ndarray:
            upper = np.stack([model.predict(cross[rows], CONSTRAINED_UCB) for model in models[1:]], axis=1)
            return (limit - (upper * scale[1:] + mean[1:])).max(axis=1)

        standard_limit = (limit - mean[1:]) / scale[1:]
        possible = np.ones(len(unseen), dtype=bool)
        for j, model in enumerate(models[1:]):
            possible &= model.bound(cross, CONSTRAINED_UCB) >= standard_limit[j] - 1e-9
        rows = np.flatnonzero(possible)
        within = rows[shortfall_at(rows) <= 0] if rows.size else rows
        if within.size:
            score = np.full(len(unseen), -np.inf)
            score[within] = models[0].predict(cross[within], CONSTRAINED_UCB) * scale[0] + mean[0]
        else:  # none within: the least shortfall, over every unseen class
            score = -shortfall_at(np.arange(len(unseen)))
        return Arch.from_code(int(self._classes[unseen[random_argmax(score, self._rng)]]))

    def _candidates(self, front_codes: np.ndarray) -> np.ndarray:
        """Rows (into the class list) of the unseen classes this round may propose."""
        rows = np.zeros(0, dtype=np.int64)
        if self.candidates != "all":  # every one-edge change of every front member
            ops = self._ops[front_codes].astype(np.int64)[:, :, None]
            changes = (np.arange(NUM_OPS)[None, None, :] - ops) * _DIGIT[None, :, None]
            codes = set(np.unique(self._class_of[front_codes[:, None, None] + changes]).tolist())
            if self.candidates == "neighbours+twins":  # and every class computing a front cell's function
                twins = np.isin(self._functional, functional_code_array()[front_codes])
                codes.update(self._classes[twins].tolist())
            rows = np.searchsorted(self._classes, np.fromiter(codes - self._seen, dtype=np.int64))
        return np.sort(rows) if rows.size else self._unseen_rows()

    def _unseen_rows(self) -> np.ndarray:
        """Rows (into the class list, ascending) of every class not yet proposed or told."""
        seen = np.fromiter(self._seen, dtype=np.int64, count=len(self._seen))
        rows = np.flatnonzero(~np.isin(self._classes, seen))
        if rows.size == 0:
            raise ValueError("every isomorphism class has been seen")
        return rows

    def _gaussian_processes(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """``sample(rows, draw)``: every objective's GP mean plus ``ucb`` standard deviations;
        and ``bounds(rows)``: ``(exact_at, optimistic)``, the second the means plus ``ucb``
        prior standard deviations (at least ``sample``'s, as a posterior deviation is at most
        the prior's), the first ``sample`` at chosen row indices, computed when asked."""
        distance = squared_distances(x, x)
        if not self._kernels or self._fits % self.kernel_every == 0:
            self._kernels = gp_hyperparameters(distance, y)
        models = [_GaussianProcess(distance, y[:, j], *self._kernels[j]) for j in range(y.shape[1])]

        def sample(rows: np.ndarray, draw: int) -> np.ndarray:
            cross = squared_distances(rows, x)
            return np.stack([model.predict(cross, self.ucb) for model in models], axis=1)

        def bounds(rows: np.ndarray) -> tuple[Any, np.ndarray]:
            cross = squared_distances(rows, x)
            optimistic = np.stack([model.bound(cross, self.ucb) for model in models], axis=1)

            def exact_at(index: np.ndarray) -> np.ndarray:
                return np.stack([model.predict(cross[index], self.ucb) for model in models], axis=1)

            return exact_at, optimistic

        return sample, bounds

    def _prior_line(self, y: np.ndarray, told_rows: np.ndarray) -> np.ndarray:
        """``(objectives, 2)``: per objective, the intercept and slope of the least-squares line
        of its standardised told values on its own prior column (a GP's prior mean)."""
        prior = self._prior_rows[told_rows]
        lines = []
        for j in range(y.shape[1]):
            design = np.stack([np.ones(len(y)), prior[:, j]], axis=1)
            lines.append(np.linalg.lstsq(design, y[:, j], rcond=None)[0])
        return np.asarray(lines)

    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(class_code(arch))
        return arch

    def _fit_and_queue(self) -> None:
        assert self._rng is not None
        codes = np.fromiter(self._values, dtype=np.int64, count=len(self._values))
        told = np.stack(list(self._values.values()))
        mean, scale = told.mean(axis=0), told.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        told_rows = np.searchsorted(self._classes, codes)
        x = self._features[told_rows]
        line = None  # a GP's linear prior mean
        bounds = None  # a GP's (see _gaussian_processes)
        if self.surrogate == "gp" and self._prior_rows.size:
            line = self._prior_line((told - mean) / scale, told_rows)
            residual = (told - mean) / scale - (line[:, 0] + self._prior_rows[told_rows] * line[:, 1])
            sample, bounds = self._gaussian_processes(x, residual)
        elif self.surrogate == "gp":
            sample, bounds = self._gaussian_processes(x, (told - mean) / scale)
        elif self.surrogate in ("bayes_ridge", "ridge"):
            sample = _bayes_ridge(x, (told - mean) / scale, self.ridge,
                                  self._rng if self.surrogate == "bayes_ridge" else None)
        else:
            trees = fit_forest(self.surrogate, self.n_estimators, x, (told - mean) / scale,
                               self._rng).estimators_

            def sample(rows: np.ndarray, draw: int) -> np.ndarray:
                return trees[draw % len(trees)].predict(rows).reshape(len(rows), -1)
        self._fits += 1
        flags = [True] * told.shape[1]
        front = (told - mean) / scale
        low, high = front.min(axis=0), front.max(axis=0)  # observed ranges (standardised)
        best = non_dominated_mask(front, flags)
        front = front[best]
        unseen = self._candidates(codes[best])
        features = self._features[unseen]
        span = front.max(axis=0) - front.min(axis=0)
        reference = front.min(axis=0) - self.margin * np.where(span > 0, span, high - low)
        taken = np.zeros(unseen.size, dtype=bool)
        offset = 0.0 if line is None else line[:, 0] + self._prior_rows[unseen] * line[:, 1]
        pruned = None  # a GP's hvi: vectors computed only for candidates that may score best
        if bounds is not None and self.acquisition == "hvi" and unseen.size > _PRUNE_FROM:
            exact_at, optimistic = bounds(features)
            pruned = _PrunedImprovements(
                lambda index: exact_at(index) + (offset if line is None else offset[index]),
                optimistic + offset, front.shape[1])
        for draw in range(min(self.refit_every, unseen.size)):
            if pruned is not None:  # the GP's vectors are the same in every draw
                score = pruned.scores(front, reference, flags, taken)
                sampled = pruned.vectors
            elif self.acquisition == "tchebycheff":  # Paria et al. 2019: a random weighting per draw
                sampled = sample(features, draw) + offset
                weights = self._rng.dirichlet(np.ones(told.shape[1]))
                scaled = (sampled - low) / np.where(high > low, high - low, 1.0)
                score = (weights * scaled).min(axis=1) + 0.05 * (weights * scaled).sum(axis=1)
            else:
                sampled = sample(features, draw) + offset
                score = hypervolume_improvements(sampled, front, reference, flags)
            if self.acquisition == "hvi" and not score.max() > 0:
                # nothing improves: the class least deep inside the dominated region
                gaps = (front[None, :, :] - sampled[:, None, :]) / np.where(high > low, high - low, 1.0)
                score = -gaps.min(axis=2).max(axis=1)
            pick = random_argmax(np.where(taken, -np.inf, score), self._rng)
            taken[pick] = True
            front = np.vstack([front, sampled[pick]])
            self._queue.append(int(self._classes[unseen[pick]]))


class _PrunedImprovements:
    """Hypervolume improvements of a GP's upper-bound vectors, computed only where they may be
    the largest: a vector of the means plus the prior's standard deviations bounds each
    candidate's from above, and an improvement grows with every component, so a candidate
    whose bound's improvement is below the best exact one found cannot be picked. The
    candidates are taken in order of their bounds' improvements, :data:`_PRUNE_CHUNK` at a
    time, until the next bound falls below the best; when nothing improves, no bound is below
    the best (0), so every vector is computed (the caller's fallback reads them all). The picks
    are those of scoring every candidate."""

    def __init__(self, exact_at: Any, optimistic: np.ndarray, objectives: int) -> None:
        self._exact_at = exact_at
        self._optimistic = optimistic
        self.vectors = np.full((len(optimistic), objectives), np.nan)  # exact, where computed

    def _compute(self, index: np.ndarray) -> None:
        index = index[np.isnan(self.vectors[index, 0])]
        if index.size:
            self.vectors[index] = self._exact_at(index)

    def scores(self, front: np.ndarray, reference: np.ndarray, flags: list[bool], taken: np.ndarray) -> np.ndarray:
        """Every candidate's improvement where it may be the largest untaken one, ``-inf``
        elsewhere (every candidate's when none improves)."""
        bound = hypervolume_improvements(self._optimistic, front, reference, flags)
        order = np.argsort(-bound, kind="stable")
        order = order[~taken[order]]
        score = np.full(len(bound), -np.inf)
        best = -np.inf
        for start in range(0, order.size, _PRUNE_CHUNK):
            chunk = order[start:start + _PRUNE_CHUNK]
            chunk = chunk[bound[chunk] >= best - _PRUNE_SLACK]
            if chunk.size == 0:
                break
            self._compute(chunk)
            score[chunk] = hypervolume_improvements(self.vectors[chunk], front, reference, flags)
            best = max(best, float(score[chunk].max()))
        # nothing improves (best 0): no bound (>= 0) is below it, so every vector was computed
        return score


_PRUNE_FROM = 1000
"""Candidates above which a GP's hvi round prunes (fewer: the bounds cost more than they save)."""
_PRUNE_CHUNK = 256
"""Candidates whose exact vectors :class:`_PrunedImprovements` computes at a time."""
_PRUNE_SLACK = 1e-9
"""How far below the best exact improvement a bound's may be and still be computed (rounding)."""


def _bayes_ridge(x: np.ndarray, y: np.ndarray, ridge: float, rng: np.random.Generator | None) -> Any:
    """Bayesian linear regression per column of ``y``; returns ``sample(rows, draw)``: one
    posterior draw of the coefficients per call (the posterior mean without ``rng``), applied
    to ``rows``."""
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mean_x, y - mean_y
    precision = xc.T @ xc + ridge * np.eye(x.shape[1])
    coef = np.linalg.solve(precision, xc.T @ yc)  # (features, objectives)
    if rng is not None:
        residual = yc - xc @ coef
        noise = np.sqrt((residual ** 2).sum(axis=0) / max(len(y) - 1, 1)) + 1e-9
        root = np.linalg.cholesky(np.linalg.inv(precision))

    def sample(rows: np.ndarray, draw: int) -> np.ndarray:
        drawn = coef if rng is None else coef + (root @ rng.standard_normal(coef.shape)) * noise
        return rows @ drawn + (mean_y - mean_x @ drawn)

    return sample


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and of ``b``, rounded to integers
    (exact for :data:`GP_FEATURES`: 0/1 columns and counts), as indices."""
    gram = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.rint(gram).astype(np.intp)


def gp_hyperparameters(distance: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """Per column of ``y``: the ``(length, noise)`` of :data:`GP_LENGTHS` x :data:`GP_NOISES`
    of largest marginal likelihood (the signal variance at its maximum-likelihood value), for
    told points at squared distances ``distance`` from each other."""
    best = [(-np.inf, GP_LENGTHS[0], GP_NOISES[0])] * y.shape[1]
    n = len(y)
    for length in GP_LENGTHS:
        eigen, basis = np.linalg.eigh(np.exp(distance / (-2.0 * length)))  # not -distance: may be unsigned
        eigen = np.clip(eigen, 0.0, None)
        projected = (basis.T @ y) ** 2
        for noise in GP_NOISES:
            fit = (projected / (eigen + noise)[:, None]).sum(axis=0)
            likelihood = -0.5 * n * np.log(fit / n) - 0.5 * np.log(eigen + noise).sum()
            best = [(value, length, noise) if value > old[0] else old
                    for value, old in zip(likelihood, best, strict=True)]
    return [(length, noise) for _, length, noise in best]


class _GaussianProcess:
    """Exact GP regression of ``y`` with the kernel ``s2 * exp(-d / 2 length)`` (``d`` the
    squared distance) plus noise ``s2 * noise``, zero mean, ``s2`` its maximum-likelihood value.

    Not the predictor's :class:`~robnas.searchers._class_gp.ClassGaussianProcess` (scikit-learn's
    continuous hyperparameter fit): on ``hvi``'s runs that one measured worse and three times
    slower (docs/searcher-experiments.md, "After the lead objective")."""

    def __init__(self, distance: np.ndarray, y: np.ndarray, length: float, noise: float) -> None:
        # the kernel by squared distance (at most 12 + 8 + 72 over GP_FEATURES' columns)
        self.table = np.exp(-np.arange(_MAX_SQUARED_DISTANCE + 1) / (2.0 * length))
        factor = np.linalg.inv(np.linalg.cholesky(self.table[distance] + noise * np.eye(len(y))))
        self.inverse = factor.T @ factor
        self.alpha = self.inverse @ y
        self.s2 = float(y @ self.alpha) / len(y)

    def bound(self, distance: np.ndarray, ucb: float) -> np.ndarray:
        """Mean plus ``ucb`` prior standard deviations (``sqrt(s2)``): at least :meth:`predict`'s,
        a posterior deviation being at most the prior's, for the cost of the mean alone."""
        return self.predict(distance, 0.0) + ucb * np.sqrt(self.s2)

    def predict(self, distance: np.ndarray, ucb: float) -> np.ndarray:
        """Mean plus ``ucb`` standard deviations at points at squared distances ``distance``
        (rows: points, columns: told points)."""
        cross = self.table[distance]
        mean = cross @ self.alpha
        if not ucb:
            return mean
        explained = ((cross @ self.inverse) * cross).sum(axis=1)
        return mean + ucb * np.sqrt(np.clip(1.0 - explained, 0.0, None) * self.s2)
