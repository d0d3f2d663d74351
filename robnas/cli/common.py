"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from robnas.vocabulary import Dataset


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps the description's and epilog's prose to the terminal, and keeps indented lines
    (example commands) as typed: argparse's raw formatter printed a description typed as one
    string on one line of hundreds of characters, its default one ran the examples together."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        lines: list[str] = []
        prose: list[str] = []  # a paragraph: lines neither blank nor indented, refilled together

        def flush() -> None:
            if prose:
                lines.append(textwrap.fill(" ".join(prose), width, initial_indent=indent,
                                           subsequent_indent=indent, break_on_hyphens=False))
                prose.clear()

        for line in text.splitlines():
            if line.strip() and not line[:1].isspace():
                prose.append(line.strip())
                continue
            flush()
            lines.append(indent + line if line.strip() else "")
        flush()
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def first_time_given(namespace: argparse.Namespace, dest: str) -> bool:
    """Record that the option of ``dest`` was given; ``False`` when it had been already
    (the set lives on the namespace under :attr:`StoreOnce.GIVEN`, one per parse)."""
    given = getattr(namespace, StoreOnce.GIVEN, None)
    if given is None:
        given = set()
        setattr(namespace, StoreOnce.GIVEN, given)
    if dest in given:
        return False
    given.add(dest)
    return True


class StoreOnce(argparse.Action):
    """``store``, but an option given twice is an error instead of the last one silently winning
    (whatever the first value was: the default too)."""

    GIVEN = "_robnas_given_options"
    """The namespace attribute that holds the destinations set so far."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        if not first_time_given(namespace, self.dest):
            raise argparse.ArgumentError(
                self, f"given twice ({getattr(namespace, self.dest)!r} and {values!r}); this command takes one"
            )
        setattr(namespace, self.dest, values)


class BooleanOnce(argparse.BooleanOptionalAction):
    """``--flag`` / ``--no-flag``, refused when given twice (``--exclude-degenerate
    --no-exclude-degenerate``: the last one silently won), as :class:`StoreOnce` refuses
    an option of one value given twice."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        if not first_time_given(namespace, self.dest):
            flags = " or ".join(s for s in self.option_strings if s.startswith("--"))
            raise argparse.ArgumentError(self, f"given twice; give {flags} once")
        super().__call__(parser, namespace, values, option)


STRICT_DATA_HELP = (
    "refuse a release file whose SHA-256 differs from its pin (default: warn on every use; "
    "tables you built yourself have no pins); also accepted before the command"
)
DATASET_CHOICES: tuple[str, ...] = tuple(d.value for d in Dataset)
"""The dataset names ``--dataset`` lists (its value is read with :func:`parse_dataset`, which
also accepts spellings such as ``CIFAR-10``)."""


def add_data_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, dataset: bool = True,
                     dataset_default: str | None = Dataset.CIFAR10.value, dataset_action: str | type = "store",
                     strict: bool = True) -> None:
    """Add ``--data PATH``, ``--strict-data`` (unless ``strict=False``: commands that read no
    result file) and (unless ``dataset=False``) ``--dataset D``."""
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="folder of the released data (default: $ROBNAS_DATA, else the per-user data dir)",
    )
    if strict:
        add_strict_data_option(parser)
    if dataset:
        default = f"default: {dataset_default}" if dataset_default else "default: cifar10"
        parser.add_argument(
            "--dataset",
            default=dataset_default,
            action=dataset_action,
            metavar="D",
            help=f"dataset: {', '.join(DATASET_CHOICES)} ({default})",
        )


def add_offline_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--offline`` (see :func:`fetch_missing_data`)."""
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never download: without --data or $ROBNAS_DATA, a dataset missing from the "
             "per-user data dir is otherwise fetched there first (also ROBNAS_OFFLINE=1)",
    )


def fetch_missing_data(args: argparse.Namespace, datasets: Any, data: Any = None) -> None:
    """Fetch ``datasets``' tables into the per-user data dir where none is installed.

    Says in one line on stderr what it fetches and where (:mod:`robnas.benchmark.first_run`).
    """
    from robnas.benchmark.first_run import fetch_missing

    fetch_missing(
        [datasets] if isinstance(datasets, str) else list(datasets),
        data,
        offline_flag=bool(getattr(args, "offline", False)),
        progress=sys.stderr.isatty(),
        announce=lambda line: print(f"robnas: {line}", file=sys.stderr, flush=True),
    )


def add_strict_data_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--strict-data`` on a data-reading command (the same flag is global: ``robnas --strict-data``).

    The subcommand's flag only ever sets it, so ``robnas --strict-data query ...`` is not undone
    by the subcommand's default.
    """
    parser.add_argument("--strict-data", action="store_true", default=argparse.SUPPRESS,
                        help=STRICT_DATA_HELP)


def add_objective_option(parser: argparse.ArgumentParser, *, multiple: bool = False) -> None:
    """Add ``--objective O`` (repeatable when ``multiple``)."""
    help_text = (
        "an accuracy (larger is better): clean, pgd@8/255, fgsm@0.5/255, apgd@1/255, square@2/255, "
        "gaussian_noise@3, pgd@mean, adversarial@mean, corruption@mean; or a cost (smaller is "
        "better, millions): params, flops"
    )
    if multiple:
        parser.add_argument("--objective", "-O", action="append", required=True, metavar="O",
                            help=help_text + " (repeat for several)")
    else:
        parser.add_argument("--objective", "-O", action=StoreOnce, required=True, metavar="O", help=help_text)


def distinct_objectives(texts: list[str]) -> list[Any]:
    """The ``-O`` texts parsed, refusing one given twice (also spelt apart: ``pgd@1/255`` and
    ``PGD@1/255``), as ``search`` does: a repeated column or answer is a typo, not a request.

    Raises:
        InvalidObjectiveError: ``objective X is given twice``, or one that does not parse.
    """
    from robnas.errors import InvalidObjectiveError
    from robnas.objective import Objective

    parsed = [Objective.parse(text) for text in texts]
    seen: set[str] = set()
    for objective in parsed:
        if str(objective) in seen:
            raise InvalidObjectiveError(f"objective {objective} is given twice; give it once")
        seen.add(str(objective))
    return parsed


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a command shows its progress bar: only on a terminal, and not with ``--json`` or
    ``-q``. A bar redraws itself with carriage returns, which a log file would keep as clutter."""
    if getattr(args, "quiet", False) or getattr(args, "json", False):
        return False
    return sys.stderr.isatty()


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet/-q`` (no progress bar; see :func:`show_progress`)."""
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar (there is none either when stderr is not a terminal)")


def quiet_optuna(verbose: int) -> None:
    """Keep Optuna's INFO lines (e.g. "A new study created in memory") out of the CLI's output.

    Optuna logs through its own stderr handler at INFO by default. Its verbosity is process-wide
    logging configuration, which belongs to the application, not to library code: so the CLI
    sets it once, before a searcher first uses Optuna (with ``-vv`` Optuna's INFO stays on), and
    the library leaves it as the user configured it.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if verbose >= 2 else optuna.logging.WARNING)


def fmt_accuracy(value: float) -> str:
    """An accuracy (or a difference of accuracies) as text: rounded to the release's 3 decimals.

    The released accuracies have 3 decimals; an aggregate (a mean of several) or a regret has
    float noise or more digits than the data supports, so text shows it rounded like the rest
    (``--json`` keeps full precision).

    >>> fmt_accuracy(0.26799999999999996), fmt_accuracy(0.38742857142857145), fmt_accuracy(0.79)
    ('0.268', '0.387', '0.79')
    >>> fmt_accuracy(0.0), fmt_accuracy(-1e-17)
    ('0', '0')
    """
    return f"{round(float(value), 3) + 0.0:g}"


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented, strict JSON on stdout: NaN and infinities (a mean of no
    values, an interval of one run) as ``null``, which every JSON parser reads."""
    json.dump(finite(payload), sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")


def finite(payload: Any) -> Any:
    """``payload`` with every NaN and infinity (in dicts, lists and tuples) as ``None``.

    >>> finite({"mean": float("nan"), "values": [1.0, float("inf")]})
    {'mean': None, 'values': [1.0, None]}
    """
    if isinstance(payload, dict):
        return {key: finite(value) for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [finite(value) for value in payload]
    if isinstance(payload, float) and not math.isfinite(payload):
        return None
    return payload
