"""Cold-query time and warm vectorised throughput of the tabular oracle.

Baseline: the release's own helper approach, which loads ``meta.json`` when constructed and
``json.load``s the needed ``<key>_accuracy.json`` files on every query call. Both sides answer
the same question (one cell, one objective) in a fresh Python process, timed inside the process
from before the imports of the code under test to the answer, and as whole-process wall time.

Usage: python benchmarks/query_speed.py [--data PATH] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from _common import data_root, print_provenance, run

BASELINE = r"""
import time
t0 = time.perf_counter()
import json, os
t1 = time.perf_counter()
class ReleaseHelper:
    def __init__(self, root):
        self.root = root
        with open(os.path.join(root, "meta.json")) as f:
            self.meta = json.load(f)
    def query(self, data, key, measure):
        result = {}
        for dataset in data:
            result[dataset] = {}
            for k in key:
                with open(os.path.join(self.root, dataset, f"{k}_{measure}.json")) as f:
                    result[dataset].update(json.load(f)[dataset])
        return result
helper = ReleaseHelper(ROOT)
rep = helper.meta["ids"]["13433"]["isomorph"]
eps = helper.meta["epsilons"]["pgd@Linf"].index(1.0)
answer = helper.query(["cifar10"], ["pgd@Linf"], "accuracy")["cifar10"]["pgd@Linf"]["accuracy"][rep][eps]
t2 = time.perf_counter()
print(repr(answer), t2 - t0, t2 - t1)
"""

ROBNAS = r"""
import time
t0 = time.perf_counter()
from robnas.benchmark import TabularOracle
t1 = time.perf_counter()
answer = TabularOracle("cifar10", data=ROOT, cache_dir=CACHE).value(13433, "pgd@1/255")
t2 = time.perf_counter()
print(repr(answer), t2 - t0, t2 - t1)
"""


def _fresh_process(code: str) -> tuple[str, float, float, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - start
    answer, inner, work = out.split()
    return answer, float(inner), float(work), wall


def cold_query(root: str, repeats: int) -> None:
    cache = tempfile.mkdtemp(prefix="robnas-bench-cache-")
    baseline_code = BASELINE.replace("ROOT", repr(root))
    robnas_code = ROBNAS.replace("ROOT", repr(root)).replace("CACHE", repr(cache))
    _, first_inner, _, _ = _fresh_process(robnas_code)  # builds the cache
    rows = {"release helper (json.load per query)": [], "robnas TabularOracle (cached)": []}
    answers = set()
    for _ in range(repeats):
        for label, code in zip(rows, (baseline_code, robnas_code), strict=True):
            answer, inner, work, wall = _fresh_process(code)
            rows[label].append((inner, work, wall))
            answers.add(answer)
    print(f"cold query: cifar10, index 13433, pgd@1/255 -> {sorted(answers)} (median of {repeats} fresh processes)")
    print(f"  first robnas start (builds the cache): {first_inner * 1e3:8.1f} ms in-process")
    print(f"  {'approach':<40} {'load+answer':>12} {'+ imports':>12} {'process wall':>14}")
    medians = {}
    for label, samples in rows.items():
        inner, work, wall = (statistics.median(s[i] for s in samples) for i in range(3))
        medians[label] = (inner, work, wall)
        print(f"  {label:<40} {work * 1e3:9.1f} ms {inner * 1e3:9.1f} ms {wall * 1e3:11.1f} ms")
    base, ours = medians.values()
    print(f"  speed-up: {base[1] / ours[1]:.1f}x load+answer, {base[0] / ours[0]:.1f}x with imports, "
          f"{base[2] / ours[2]:.2f}x whole process (interpreter start included)")


def warm_throughput(root: str) -> None:
    import numpy as np

    from robnas.arch import NUM_CELLS, Arch
    from robnas.benchmark import TabularOracle

    oracle = TabularOracle("cifar10", data=root)
    rng = np.random.default_rng(0)
    codes = rng.integers(NUM_CELLS, size=2_000_000)
    oracle.values_by_code(codes[:10], "pgd@1/255")
    start = time.perf_counter()
    oracle.values_by_code(codes, "pgd@1/255")
    per_second_codes = len(codes) / (time.perf_counter() - start)
    archs = [Arch.from_code(int(c)) for c in codes[:200_000]]
    start = time.perf_counter()
    oracle.evaluate(archs, "pgd@1/255")
    per_second_archs = len(archs) / (time.perf_counter() - start)
    start = time.perf_counter()
    for arch in archs[:20_000]:
        oracle.value(arch, "pgd@1/255")
    per_second_single = 20_000 / (time.perf_counter() - start)
    print("warm lookups (cifar10, pgd@1/255):")
    print(f"  values_by_code, 2M codes (NumPy array)     {per_second_codes / 1e6:8.1f} M lookups/s")
    print(f"  evaluate, 200k Arch objects (one call)     {per_second_archs / 1e6:8.2f} M lookups/s")
    print(f"  value, one Arch per call                   {per_second_single / 1e3:8.1f} k lookups/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    data = data_root(args.data)
    print_provenance(data, seeds="0 (the NumPy generator drawing the warm look-ups' cells)")
    cold_query(data, args.repeats)
    warm_throughput(data)


if __name__ == "__main__":
    run(main)
