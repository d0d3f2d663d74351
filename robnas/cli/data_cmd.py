"""``robnas data``: download, import and inspect the released robustness data."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from robnas.cli.common import DATASET_CHOICES, BooleanOnce, HelpFormatter, print_json
from robnas.cli.values import int_option

if TYPE_CHECKING:
    from robnas.benchmark.data_info import DataInfo
    from robnas.benchmark.install import InstallReport

_DATASETS = ",".join(DATASET_CHOICES)
MAX_RETRIES = 100


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="download, import or inspect the released robustness data",
        description=(
            "Get the released robustness data (verified against pinned SHA-256 sums) into the "
            "folder `robnas query` reads, and see what is there."
        ),
        epilog=(
            "examples:\n"
            "  robnas data download --datasets cifar10\n"
            "  robnas data import ~/Downloads/robustness-data\n"
            "  robnas data info --verify"
        ),
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(handler=_no_action)
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    download = actions.add_parser(
        "download",
        help="fetch the release's archives, verify and install them",
        description="Fetch, verify and install the release; a partial download resumes.",
    )
    download.add_argument("--datasets", default=_DATASETS, metavar="LIST",
                          help="comma-separated datasets (default: %(default)s)")
    download.add_argument("--measures", default="accuracy", metavar="LIST",
                          help="accuracy (small archives, the default), or all (every measure: "
                               "large archives)")
    download.add_argument("--base-url", default=None, metavar="URL",
                          help="where the archives are (default: $ROBNAS_BASE_URL, else "
                               "http://data.robustness.vision/)")
    _add_dest(download)
    download.add_argument("--retries", type=int_option(1, MAX_RETRIES), default=5, metavar="N",
                          help=f"tries per archive before giving up, 1..{MAX_RETRIES} (default: %(default)s)")
    download.add_argument("--force", action="store_true",
                          help="download even archives whose files are installed and verified")
    download.add_argument("--progress", action=BooleanOnce, default=None,
                          help="progress bars on stderr (default: when stderr is a terminal)")
    download.set_defaults(handler=run_download)

    importer = actions.add_parser(
        "import",
        help="verify and install an already downloaded copy (zip archives or a folder)",
        description="Verify and copy release zip archives, or an extracted folder, into place.",
    )
    importer.add_argument("path", metavar="PATH", help="a release zip, or a folder of them or of the files")
    _add_dest(importer)
    importer.set_defaults(handler=run_import)

    info = actions.add_parser(
        "info",
        help="where the data is and what it holds",
        description="Show the data folder, its datasets, keys, measures and sizes.",
    )
    info.add_argument("--data", metavar="PATH",
                      help="folder of the released data (default: $ROBNAS_DATA, else the per-user data dir)")
    info.add_argument("--verify", action="store_true",
                      help="check every file against its pinned SHA-256 (exit 2 on a mismatch)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=run_info)


def _no_action(_args: argparse.Namespace) -> int:
    from robnas.errors import RobnasError

    raise RobnasError("data needs an action: download, import or info (see `robnas data --help`)")


def _add_dest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dest", metavar="DIR",
                        help="data folder to install into (default: $ROBNAS_DATA, else the "
                             "per-user data dir, where `robnas query` looks)")


def run_download(args: argparse.Namespace) -> int:
    from robnas.benchmark.download import RetryPolicy
    from robnas.benchmark.first_run import base_url
    from robnas.benchmark.install import download_release, parse_datasets, parse_measures

    parse_datasets(args.datasets)
    parse_measures(args.measures)
    _check_url(args.base_url)
    _check_dest(args.dest)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    report = download_release(
        args.dest, args.datasets, args.measures,
        base_url=args.base_url or base_url(),
        retry=RetryPolicy(attempts=args.retries),
        progress=progress, force=args.force,
    )
    for name in report.skipped:
        print(f"{name}: already installed and verified (use --force to download it again)")
    if report.installed or report.unchanged or not report.skipped:
        _print_report(report)
    return 0


def _check_url(url: str | None) -> None:
    from urllib.parse import urlsplit

    from robnas.errors import RobnasError

    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RobnasError(f"--base-url needs an http:// or https:// URL with a host, got {url!r}")


def _check_dest(dest: str | None) -> None:
    from robnas.cli.outputs import writable_dir

    if dest is not None:
        writable_dir(dest, "--dest")


def run_import(args: argparse.Namespace) -> int:
    from robnas.benchmark.install import import_release
    from robnas.errors import RobnasError

    if not args.path.strip():
        raise RobnasError("nothing to import at '': give a release zip, or a folder of them or of the files")
    _check_dest(args.dest)
    _print_report(import_release(args.path, args.dest))
    return 0


def _print_report(report: InstallReport) -> None:
    from pathlib import Path

    from robnas.benchmark.install import default_dest

    print(f"installed {len(report.installed)} file(s) into {report.dest} "
          f"({len(report.unchanged)} already there and identical)")
    if report.unpinned:
        shown = ", ".join(report.unpinned[:5]) + (", ..." if len(report.unpinned) > 5 else "")
        print(f"not verified ({len(report.unpinned)} file(s) without a pinned SHA-256): {shown}")
    if report.missing:
        print(f"not in the sources ({len(report.missing)}): {', '.join(report.missing)}")
    if Path(report.dest).resolve() != default_dest().resolve():
        print(f"to use it: robnas query ... --data {report.dest}  (or export ROBNAS_DATA={report.dest})")
    elif os.environ.get("ROBNAS_DATA") is None:
        print("robnas query and robnas search now read it by default")


def run_info(args: argparse.Namespace) -> int:
    from robnas.benchmark.data_info import describe
    from robnas.benchmark.location import DATA_ENV
    from robnas.errors import ChecksumMismatchError, DataNotFoundError

    try:
        info = describe(args.data, verify=args.verify)
    except DataNotFoundError as err:  # nothing installed yet: say so, and how to get it
        if args.data is not None or os.environ.get(DATA_ENV):  # a folder named, and wrong
            raise
        if args.json:
            print_json({"installed": False, "message": str(err)})
        else:
            print(err)
        return 0
    if args.json:
        print_json(info.to_dict())
    else:
        _print_info(info)
    if info.mismatches:
        bad = info.mismatches
        raise ChecksumMismatchError(
            f"{len(bad)} file(s) in {info.root} do not match their pinned SHA-256: "
            f"{', '.join(bad)} (reinstall with {_reinstall_advice(info)})"
        )
    return 0


def _reinstall_advice(info: DataInfo) -> str:
    """The commands that reinstall ``info``'s mismatching files into its own folder (``--dest``
    where the download and import commands would install elsewhere by default; ``--measures
    all`` where a file is not an accuracy file, which the default accuracy archives lack)."""
    from robnas.benchmark.location import dest_option, download_command
    from robnas.vocabulary import Measure

    datasets = sorted({path.split("/")[0] for path in info.mismatches if "/" in path}) or sorted(info.datasets())
    download = download_command(info.root, ",".join(datasets) or "cifar10")
    accuracy = f"_{Measure.ACCURACY.value}.json"
    if any("/" in path and not path.endswith(accuracy) for path in info.mismatches):
        download += " --measures all"
    return f"`{download} --force` or `robnas data import PATH{dest_option(info.root)}`"


def _print_info(info: DataInfo) -> None:
    print(f"data      {info.root}  ({info.origin})")
    by_dataset: dict[str, list] = {}
    for f in info.files:
        by_dataset.setdefault(f.dataset or "", []).append(f)
    meta = by_dataset.pop("")[0]
    print(f"meta.json {_size(meta.size)}")
    for dataset, files in by_dataset.items():
        print(f"{dataset}: {len(files)} file(s), {_size(sum(f.size for f in files))}")
        for measure, keys in info.datasets()[dataset].items():
            print(f"  {measure:<10} {len(keys):>2} key(s): {', '.join(keys)}")
    print(f"total     {_size(info.total_size)} in {len(info.files)} file(s)")
    if info.verified:
        counts = {s: sum(f.status == s for f in info.files) for s in ("ok", "mismatch", "unpinned")}
        print("verified  " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        if not info.is_release:
            print("          meta.json is not the release's: a table of its own (robnas table build), "
                  "whose files have no pins")
        for f in info.files:
            if f.status != "ok":
                print(f"  {f.status:<9} {f.relative}")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
