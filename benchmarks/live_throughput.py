"""Throughput of live evaluation: the NB201 network (C=16, N=5, 32x32) clean and under attack.

Measures images/s for clean inference and for each attack of the release at epsilon 1/255
with the assumed protocol (:class:`robnas.evaluation.attacks.AttackProtocol`: PGD 40 steps,
APGD-CE 100 steps, Square 5,000 queries), on a randomly initialised network (speed does not
depend on the weights, except for APGD/Square which stop early on misclassified images: the
labels here are the network's own predictions, so every image is attacked, the worst case).
Slow attacks run on fewer images and are extrapolated linearly. Prints a table and the
projected time of the full protocol per architecture on the 10,000-image test set: clean,
every attack at every epsilon of the release's grid, and the 15 corruptions x 5 severities
(clean-speed passes).

Square attack's cost depends on how many images survive each query; on an untrained-like
network most images fall early at large epsilon, so the figure at 1/255 is the relevant one.

Usage: python benchmarks/live_throughput.py [--device auto] [--images 256] [--slow-images 16]
       [--square-images 4] [--batch-size 256] [--threads N]
"""

from __future__ import annotations

import argparse
import platform
import time

from _common import print_provenance, run

# the release's epsilon grid (units of 1/255), as in meta.json
GRID = {
    "fgsm@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 255.0],
    "pgd@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0],
    "aa_apgd-ce@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0],
    "aa_square@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0],
}
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TEST_SET = 10_000
CORRUPTION_PASSES = 15 * 5


def main() -> None:
    import torch

    from robnas.arch import Arch
    from robnas.evaluation.attacks import AttackProtocol, evaluate_batches
    from robnas.evaluation.live_oracle import resolve_device
    from robnas.evaluation.network import build_network

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=256, help="images for clean and FGSM")
    parser.add_argument("--slow-images", type=int, default=16, help="images for PGD and APGD")
    parser.add_argument("--square-images", type=int, default=4, help="images for Square")
    parser.add_argument("--square-queries", type=int, default=None,
                        help="measure Square with fewer queries and extrapolate (default: 5000)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print_provenance(seeds='0 (torch: network initialisation and images)')
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = build_network(Arch.from_string(CELL), "cifar10", channels=16, cells_per_stage=5).eval().to(device)
    pool = torch.rand(max(args.images, args.slow_images, args.square_images), 3, 32, 32, generator=generator)
    with torch.no_grad():
        labels = torch.cat([net(pool[i:i + 256].to(device)).argmax(1).cpu() for i in range(0, len(pool), 256)])

    protocol = AttackProtocol()
    square_scale = 1.0
    if args.square_queries:
        square_scale = protocol.square_queries / args.square_queries
    plans = [
        ("clean", None, args.images, protocol, 1.0),
        ("fgsm@Linf", 1.0, args.images, protocol, 1.0),
        ("pgd@Linf", 1.0, args.slow_images, protocol, 1.0),
        ("aa_apgd-ce@Linf", 1.0, args.slow_images, protocol, 1.0),
        ("aa_square@Linf", 1.0, args.square_images,
         AttackProtocol(square_queries=args.square_queries or protocol.square_queries), square_scale),
    ]
    evaluate_batches(net, pool[:8], labels[:8], device=device, batch_size=8)  # warm-up
    speed: dict[str, float] = {}
    print(f"device: {device} ({_device_name(device)}), torch threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}")
    on_cpu = not device.startswith("cuda")
    if on_cpu:  # a shared machine stretches wall time; the process's CPU time is what it used
        print("speeds from CPU time (process time: core-seconds); wall seconds shown beside")
    print(f"{'key':<18} {'eps':>5} {'images':>7} {'seconds':>9} {'wall s':>9} {'images/s':>10}  note")
    for key, eps, n, prot, scale in plans:
        start, cpu = time.perf_counter(), time.process_time()
        correct, seen = evaluate_batches(net, pool[:n], labels[:n], key=key, epsilon=eps,
                                         protocol=prot, device=device, batch_size=args.batch_size)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        wall = (time.perf_counter() - start) * scale
        seconds = (time.process_time() - cpu) * scale if on_cpu else wall
        speed[key] = seen / seconds
        note = f"robust {correct}/{seen}"
        if scale != 1.0:
            note += f"; measured at {prot.square_queries} queries, x{scale:g}"
        print(f"{key:<18} {'' if eps is None else f'{eps:g}/255':>5} {seen:>7} {seconds:>9.2f} {wall:>9.2f} "
              f"{speed[key]:>10.2f}  {note}")

    unit = " (core-hours of this CPU)" if on_cpu else ""
    print(f"\nprojected time per architecture, full protocol on {TEST_SET} test images{unit}:")
    total = 0.0
    rows = [("clean", TEST_SET / speed["clean"])]
    rows += [(f"{key} x{len(eps)} eps", len(eps) * TEST_SET / speed[key]) for key, eps in GRID.items()]
    rows.append((f"corruptions x{CORRUPTION_PASSES}", CORRUPTION_PASSES * TEST_SET / speed["clean"]))
    for what, seconds in rows:
        total += seconds
        print(f"  {what:<28} {_human(seconds):>12}")
    print(f"  {'total':<28} {_human(total):>12}")


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    run(main)
