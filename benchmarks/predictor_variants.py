"""Surrogate variants of the predictor searcher that are not (or not yet) its parameters.

Each variant is :class:`~robnas.searchers.PredictorSearch` with one change to its fit or its
batch (a target transform, tree settings, cost features, random or local picks); ``--real``
settings run the searcher itself with keyword parameters instead (plus ``ard=1``: the ``gp``
surrogate with one length scale per feature). For each, ``--seeds`` runs of
300 distinct cells on one objective (the whole table's values are read once, then each run asks
and tells directly, as the loop would, without run records) print the mean best value after 50,
100 and 300 cells and the share of runs at the optimum. Nothing here is a pass/fail test; the
docs/searcher-experiments.md quotes its output.

Usage: python benchmarks/predictor_variants.py --data PATH [--seeds 20] [--first-seed 0] [--only NAME,...]
       [--dataset cifar10] [--objective pgd@1/255]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from _common import check_names, data_root, print_provenance, run, seed_range

from robnas.arch import NUM_EDGES, NUM_OPS, Arch, all_ops_array
from robnas.isomorphism import class_code_array
from robnas.searchers import PredictorSearch

VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (changes to the fit/batch, PredictorSearch keywords)
    "base (last round's default)": ({}, {}),
    "cost features": ({"cost": True}, {}),
    "rank target": ({"target": "rank"}, {}),
    "gap target": ({"target": "gap"}, {}),
    "5 random cells first": ({}, {"num_init": 5}),
    "10 trees per fit": ({}, {"n_estimators": 10}),
    "min_samples_leaf=2": ({"leaf": 2}, {}),
    "max_features=0.5": ({"maxf": 0.5}, {}),
    "one-hot + counts only": ({"feats": "onehot_counts"}, {}),
    "local 2 (top 3)": ({"local": 2}, {}),
    "local 3 (top 3)": ({"local": 3}, {}),
    "local 2 (top 1)": ({"local": 2, "topk": 1}, {}),
    "local 3 + 1 random": ({"local": 3, "rand": 1}, {}),
    "local 2 + 1 random": ({"local": 2, "rand": 1}, {}),
    "local 3, max_features=0.5": ({"local": 3, "maxf": 0.5}, {}),
    "local 3, 20 random cells first": ({"local": 3}, {"num_init": 20}),
    "local 3 + cost features": ({"local": 3, "cost": True}, {}),
    "local 3 + 1 random + min_samples_leaf=2": ({"local": 3, "rand": 1, "leaf": 2}, {}),
    "local 3 + 1 random + rank target": ({"local": 3, "rand": 1, "target": "rank"}, {}),
    "local 3 + 1 random + two-edge neighbours": ({"local": 3, "rand": 1, "radius": 2}, {}),
}
CLASSES = class_code_array()


class Variant(PredictorSearch):
    """The predictor with one of :data:`VARIANTS`' changes (see :meth:`_fit_and_queue`)."""

    def __init__(self, changes: dict[str, Any], **params: Any) -> None:
        super().__init__(**{"local": 0, "explore": 0, **params})  # this class does its own batch
        self.changes = changes

    def _start(self) -> None:
        super()._start()
        c = self.changes
        if c.get("cost"):
            from robnas.cost import cost_arrays

            cost = cost_arrays()
            self._features = np.hstack([self._features, cost["params"][self._classes, None],
                                        cost["flops"][self._classes, None]])
        if c.get("feats") == "onehot_counts":
            self._features = np.hstack([self._features[:, :30], self._features[:, 130:]])
        ops = all_ops_array().astype(np.int64)
        weights = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1)
        mutations = []
        for edge in range(NUM_EDGES):
            for shift in range(1, NUM_OPS):
                mutated = ops.copy()
                mutated[:, edge] = (mutated[:, edge] + shift) % NUM_OPS
                mutations.append(mutated @ weights)
        self._mutations = np.stack(mutations, axis=1)  # cell code -> its 24 one-edge mutations

    def _fit_and_queue(self) -> None:
        from scipy.stats import rankdata
        from sklearn.ensemble import RandomForestRegressor

        assert self._rng is not None
        c = self.changes
        model = RandomForestRegressor(n_estimators=self.n_estimators, n_jobs=1,
                                      random_state=int(self._rng.integers(2**31)),
                                      min_samples_leaf=c.get("leaf", 1), max_features=c.get("maxf", 1.0))
        codes = np.fromiter(self._values, dtype=np.int64, count=len(self._values))
        values = np.fromiter(self._values.values(), dtype=float, count=len(self._values))
        target = values
        if c.get("target") == "rank":  # the quantile of each told value
            target = rankdata(values) / len(values)
        elif c.get("target") == "gap":  # log distance to the best told: stretches the top
            target = -np.log(values.max() - values + 1e-3)
        model.fit(self._features[np.searchsorted(self._classes, codes)], target)
        self._fits += 1
        seen = np.fromiter(self._seen, dtype=np.int64, count=len(self._seen))
        unseen_mask = ~np.isin(self._classes, seen)
        unseen = np.flatnonzero(unseen_mask)
        features = self._features[unseen]
        trees = model.estimators_
        n_local, n_random = c.get("local", 0), c.get("rand", 0)
        n_global = self.refit_every - n_local - n_random
        taken = np.zeros(unseen.size, dtype=bool)
        for i in range(n_global):  # Thompson sampling over every unseen class
            score = np.where(taken, -np.inf, trees[i % len(trees)].predict(features))
            best = np.flatnonzero(score == score.max())
            pick = int(best[self._rng.integers(best.size)])
            taken[pick] = True
            self._queue.append(int(self._classes[unseen[pick]]))
        for _ in range(n_random):  # uniformly random unseen classes
            free = np.flatnonzero(~taken)
            pick = int(free[self._rng.integers(free.size)])
            taken[pick] = True
            self._queue.append(int(self._classes[unseen[pick]]))
        if n_local:  # Thompson sampling among the unseen neighbours of the best cells told
            top = codes[np.argsort(-values)[: c.get("topk", 3)]]
            near_codes = np.unique(CLASSES[self._mutations[top].ravel()])
            if c.get("radius", 1) == 2:  # also the neighbours' neighbours (two edits away)
                near_codes = np.unique(np.concatenate(
                    [near_codes, CLASSES[self._mutations[near_codes].ravel()]]))
            near = np.searchsorted(self._classes, near_codes)
            near = np.setdiff1d(near[unseen_mask[near]], unseen[taken])
            for i in range(n_local):
                if not near.size:
                    break
                score = trees[(n_global + i) % len(trees)].predict(self._features[near])
                best = np.flatnonzero(score == score.max())
                pick = int(best[self._rng.integers(best.size)])
                self._queue.append(int(self._classes[near[pick]]))
                near = np.delete(near, pick)


class ARDGaussianProcess(PredictorSearch):
    """``surrogate="gp"`` with one RBF length scale per feature column (``--real ...,ard=1``)."""

    def _gp_fit_and_queue(self) -> None:
        if self._gp is None:
            from robnas.searchers._class_gp import ClassGaussianProcess

            self._gp = ClassGaussianProcess(self._features, ard=True)
        super()._gp_fit_and_queue()


def distinct_classes(searcher: PredictorSearch, values: np.ndarray, budget: int) -> list[int]:
    """Ask ``searcher`` and tell it each cell's value (``values`` by NB201 index) until it has
    evaluated ``budget`` distinct isomorphism classes; their class codes, in order."""
    order: list[int] = []
    seen: set[int] = set()
    while len(order) < budget:
        arch = searcher.ask()
        searcher.tell(arch, float(values[arch.code]))
        code = int(CLASSES[arch.code])
        if code not in seen:
            seen.add(code)
            order.append(code)
    return order


def _run(searcher: PredictorSearch, values: np.ndarray, budget: int) -> list[float]:
    """The best value after each of the first ``budget`` distinct classes (the table's values
    are the same for every member of a class)."""
    return np.maximum.accumulate(values[distinct_classes(searcher, values, budget)]).tolist()


def _variant_names(text: str) -> list[str]:
    """``--only``'s comma-separated names; a name with a comma of its own (``local 3,
    max_features=0.5``) is one name: the longest run of pieces that names a variant wins."""
    pieces, names, start = text.split(","), [], 0
    while start < len(pieces):
        stop = next((stop for stop in range(len(pieces), start, -1)
                     if ",".join(pieces[start:stop]).strip() in VARIANTS), start + 1)
        name = ",".join(pieces[start:stop]).strip()
        if name:
            names.append(name)
        start = stop
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds FIRST..FIRST+SEEDS-1 (e.g. 100: fresh seeds after a screen on 0-99)")
    parser.add_argument("--only", help="comma-separated variant names, as printed (default: all; \"\": none)")
    parser.add_argument("--real", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help="also run PredictorSearch itself with these keywords (repeat)")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--objective", default="pgd@1/255")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be at least 1 and --first-seed at least 0")
    only = _variant_names(args.only) if args.only is not None else list(VARIANTS)
    check_names("variant", only, VARIANTS)
    data = data_root(args.data)
    from robnas.benchmark import TabularOracle
    from robnas.cli.values import parse_param
    from robnas.searchers import make_searcher

    reals = [dict(parse_param(p) for p in text.split(",")) for text in args.real]
    for keywords in reals:  # unknown keywords: one line now, not after the variants
        make_searcher("predictor", **{k: v for k, v in keywords.items() if k != "ard"})
    oracle = TabularOracle(args.dataset, data=data)
    values = np.asarray(oracle.evaluate([Arch.from_code(i) for i in range(len(CLASSES))],
                                        args.objective).values, dtype=float)
    optimum = values.max()
    settings: list[tuple[str, Any]] = [(name, VARIANTS[name]) for name in only]
    settings += [(f"PredictorSearch({text})", keywords) for text, keywords in zip(args.real, reals, strict=True)]
    print_provenance(data, seeds=seed_range(args.first_seed, args.seeds))
    print(f"{args.dataset} {args.objective} (optimum {optimum:.3f}), {args.seeds} seeds: mean best "
          f"after 50 / 100 / 300 cells (share of runs at the optimum)")
    for name, setting in settings:
        started = time.process_time()
        runs = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            if isinstance(setting, tuple):
                searcher: PredictorSearch = Variant(setting[0], **setting[1], seed=seed)
            else:
                keywords = {k: v for k, v in setting.items() if k != "ard"}
                searcher = (ARDGaussianProcess if setting.get("ard") else PredictorSearch)(**keywords, seed=seed)
            runs.append(_run(searcher, values, 300))
        cpu = (time.process_time() - started) / args.seeds
        cells = []
        for budget in (50, 100, 300):
            bests = np.array([run[budget - 1] for run in runs])
            cells.append(f"@{budget} {bests.mean():.4f} ({(bests >= optimum - 1e-9).mean():4.0%})")
        worst = min(run[-1] for run in runs)
        print(f"  {name:42s} {'  '.join(cells)}  worst@300 {worst:.3f}  {cpu:.2f} s CPU/run", flush=True)
    return 0


if __name__ == "__main__":
    run(main)
