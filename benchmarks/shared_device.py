"""Several live evaluations sharing one device: throughput for 1, 2, 4, 8 concurrent networks.

Each concurrent evaluation is a Ray task (:class:`robnas.execution.RayExecutor`) asking for
``1/K`` of the device (``num_gpus=1/K`` on CUDA; on CPU, ``num_cpus=--cpus/K`` and as many
torch threads, at least one): it builds the NB201 network (C=16, N=5) and runs FGSM at 1/255
on ``--images`` images (the network's own predictions as labels). Prints, per K, the
aggregate images/s over all tasks (wall time), the speed-up over K=1, the images per CPU-second
of the tasks (their own process time: what a machine shared with other jobs distorts least),
the 1-minute load average, and the peak GPU memory of one task; then the projected wall time
of the full protocol (``--cell-hours`` device-hours per cell, from ``live_throughput.py``) for
all 6,466 cells on ``--devices`` devices at the best K. Without a GPU every figure is a CPU
figure, and so is the projection: 8 devices as fast as these CPU cores, not 8 GPUs.

Usage: python benchmarks/shared_device.py [--images 512] [--concurrency 1,2,4,8] [--cpus 2]
       [--cell-hours H] [--devices 8]
"""

from __future__ import annotations

import argparse
import os
import time

from _common import print_provenance, run

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
CELLS = 6466


def _setup(images: int, threads: int = 1) -> tuple:
    import torch

    from robnas.arch import Arch
    from robnas.evaluation.live_oracle import resolve_device
    from robnas.evaluation.network import build_network

    device = resolve_device("auto")
    if device == "cpu":  # this task's share of the CPUs
        torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    net = build_network(Arch.from_string(CELL), "cifar10", channels=16, cells_per_stage=5).eval().to(device)
    pool = torch.rand(images, 3, 32, 32, generator=generator)
    with torch.no_grad():
        labels = torch.cat([net(pool[i:i + 256].to(device)).argmax(1).cpu() for i in range(0, images, 256)])
    return net, pool, labels, device


def _evaluate(context: tuple, _: int) -> tuple[int, float, int, float]:
    import torch

    from robnas.evaluation.attacks import evaluate_batches

    net, pool, labels, device = context
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started, cpu = time.perf_counter(), time.process_time()
    _, seen = evaluate_batches(net, pool, labels, key="fgsm@Linf", epsilon=1.0, device=device, batch_size=256)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    memory = torch.cuda.max_memory_allocated() if device.startswith("cuda") else 0
    return seen, time.perf_counter() - started, memory, time.process_time() - cpu


def main() -> None:
    import ray

    from robnas.execution import RayExecutor, TaskResources

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=2, help="tasks per concurrent slot")
    parser.add_argument("--cell-hours", type=float, default=None,
                        help="device-hours of the full protocol per cell (live_throughput.py's total)")
    parser.add_argument("--devices", type=int, default=8)
    args = parser.parse_args()
    try:
        concurrency = [int(x) for x in args.concurrency.split(",")]
    except ValueError:
        parser.error(f"--concurrency needs comma-separated whole numbers, got {args.concurrency!r}")
    if min(args.images, args.cpus, args.rounds, args.devices, *concurrency) < 1:
        parser.error("--images, --cpus, --rounds, --devices and --concurrency must be at least 1")

    print_provenance()
    with RayExecutor(jobs=args.cpus) as executor:
        gpu = ray.cluster_resources().get("GPU", 0) > 0
        rows = []
        for k in concurrency:
            resources = TaskResources(cpus=0.0 if gpu else args.cpus / k, gpus=1 / k if gpu else 0.0)
            items = list(range(k * args.rounds))
            setup_args = (args.images, 1 if gpu else max(1, args.cpus // k))
            list(executor.imap_unordered(_evaluate, items[:k], setup=_setup, setup_args=setup_args,
                                         resources=resources))  # warm the workers (network, images)
            started, load = time.perf_counter(), os.getloadavg()[0]
            out = [r for _, r in executor.imap_unordered(_evaluate, items, setup=_setup,
                                                         setup_args=setup_args, resources=resources)]
            wall = time.perf_counter() - started
            seen = sum(r[0] for r in out)
            rows.append((k, seen / wall, max(r[2] for r in out), seen / sum(r[3] for r in out),
                         (load + os.getloadavg()[0]) / 2))
    device = "one GPU" if gpu else f"{args.cpus} CPU cores"
    print(f"FGSM 1/255 on {args.images} images per task, NB201 C=16 N=5, K tasks sharing {device} "
          f"({args.rounds} tasks per slot, after a warm-up)")
    print(f"  {'K':>2} {'images/s':>10} {'speed-up':>9} {'images/CPU-s':>13} {'load':>5} {'peak MiB/task':>14}")
    for k, speed, memory, per_cpu, load in rows:
        print(f"  {k:>2} {speed:10.1f} {speed / rows[0][1]:9.2f} {per_cpu:13.1f} {load:5.1f} "
              f"{memory / 2**20:14.0f}")
    best = max(rows, key=lambda r: r[1])
    if args.cell_hours:
        hours = CELLS * args.cell_hours / (best[1] / rows[0][1]) / args.devices
        print(f"  projected full protocol, {CELLS} cells on {args.devices} such devices ({device} each) at "
              f"K={best[0]}: {hours:.0f} h ({hours / 24:.1f} days) from {args.cell_hours:g} device-hours "
              "per cell" + ("" if gpu else " -- a CPU-based projection, not a GPU figure"))


if __name__ == "__main__":
    run(main)
