"""``robnas table build``: evaluate cells live and write a table in the release's own layout."""

from __future__ import annotations

import argparse

from robnas.cli.common import HelpFormatter, add_quiet_option, print_json, show_progress
from robnas.cli.executor_options import add_executor_options, build_executor, gpus_per_task
from robnas.cli.live_options import add_live_options, attack_protocol
from robnas.errors import RobnasError
from robnas.vocabulary import Dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build`` to the subcommands of ``robnas table``."""
    parser = subparsers.add_parser(
        "build",
        help="evaluate cells live and write a table in the release's layout",
        description=(
            "Evaluate cells live on NATS-Bench's released weights (clean accuracy and one attack at "
            "the given epsilons) and write OUT/meta.json, OUT/<dataset>/clean_accuracy.json, "
            "OUT/<dataset>/<key>_accuracy.json and OUT/provenance.json in the release's layout, "
            "so `robnas search --data OUT` and TabularOracle(data=OUT) read it like the release "
            "once every class is in it. Results go through the live results store (--store), so an "
            "interrupted build resumes and --archs grows a table in pieces, always under the settings "
            "OUT/provenance.json records (epsilons, --n-images, attack protocol, weights); another "
            "setting is refused before anything is evaluated. Cells run as tasks of "
            "the local process pool or of Ray (--executor ray); this process alone writes the "
            "store and the files."
        ),
        epilog=(
            "examples:\n"
            "  robnas table build --dataset cifar10 --attack fgsm@0.5,1,2 --archs first-20.txt \\\n"
            "      --weights ~/NATS-tss-v1_0-3ffb9-full --images ~/datasets --n-images 1000 --out my-table\n"
            "  robnas table build --attack pgd --archs representatives --weights W --images I \\\n"
            "      --out my-table --executor ray --ray-address auto --gpus-per-task 0.25"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--dataset", default=Dataset.CIFAR10.value, metavar="D",
                        help=f"dataset: {', '.join(d.value for d in Dataset)} (default: %(default)s)")
    parser.add_argument("--attack", required=True, metavar="KEY[@EPS,...]",
                        help="clean, or fgsm|pgd|apgd|square with epsilons in units of 1/255 "
                             "(e.g. fgsm@0.5,1,2; default epsilons: the release's)")
    parser.add_argument("--archs", default="representatives", metavar="WHICH",
                        help="all or representatives (every isomorphism class once), or a FILE with "
                             "one NB201 string or index a line (default: %(default)s)")
    parser.add_argument("--out", required=True, metavar="ROOT",
                        help="the table's folder (extended if it exists; a build under other settings "
                             "than it records for the key, e.g. other --n-images, is refused)")
    parser.add_argument("--data", metavar="PATH",
                        help="folder of the release's meta.json (default: $ROBNAS_DATA, else the per-user dir)")
    add_live_options(parser)
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="worker processes, or the CPUs of a local Ray instance (default: all CPUs)")
    add_executor_options(parser, gpus=True)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.benchmark.location import resolve_data_root
    from robnas.evaluation.cell_tasks import LiveSettings
    from robnas.evaluation.store import ResultStore
    from robnas.evaluation.table_build import build_table, parse_attack, select_indices
    from robnas.vocabulary import parse_dataset

    if args.n_images is not None and args.n_images < 1:
        raise RobnasError(f"--n-images must be at least 1, got {args.n_images}")
    if args.jobs is not None and args.jobs < 1:
        raise RobnasError(f"--jobs must be at least 1, got {args.jobs}")
    gpus_per_task(args)  # checked before anything is loaded
    from robnas.cli.outputs import writable_dir

    writable_dir(args.out, "--out")  # a file or an unwritable place, said before any cell is evaluated
    dataset = parse_dataset(args.dataset).value
    source = resolve_data_root(args.data)
    settings = LiveSettings(
        dataset=dataset, weights=args.weights, images=args.images, data=str(source),
        n_images=args.n_images, protocol=attack_protocol(args), device=args.device or "auto",
        epochs=200, seed=None, batch_size=args.batch_size or 256)
    oracle = settings.oracle(args.store)
    key, epsilons = parse_attack(args.attack, {k: list(v) for k, v in oracle.meta.epsilons.items()})
    indices = select_indices(args.archs, oracle.meta)
    with build_executor(args, args.jobs) as executor:
        done = build_table(settings, key, epsilons, indices, args.out, store=ResultStore(args.store),
                           executor=executor, gpus_per_task=gpus_per_task(args),
                           progress=show_progress(args))
    if args.json:
        print_json({"root": str(done.root), "files": done.files, "cells": done.cells, "asked": done.asked,
                    "evaluated": done.evaluated, "from_store": done.asked - done.evaluated,
                    "wall_seconds": done.wall_seconds, "compute_seconds": done.compute_seconds,
                    "batches": done.batches, "executor": done.executor, "key": key, "epsilons": list(epsilons)})
    else:
        print(f"{done.root}: {done.cells} cells of {dataset} ({key}"
              f"{' at ' + ', '.join(f'{e:g}/255' for e in epsilons) if epsilons else ''}); "
              f"evaluated {done.evaluated} now, {done.asked - done.evaluated} from the store, "
              f"in {done.wall_seconds:.1f} s on the {done.executor['engine']} executor")
        for name in done.files:
            print(f"  {name}")
    return 0
