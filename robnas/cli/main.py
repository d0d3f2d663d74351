"""Entry point of the ``robnas`` command (also ``python -m robnas``).

Each subcommand lives in its own module of :mod:`robnas.cli` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function
``(args) -> int``. Command modules import heavy libraries inside their handlers only, so
``robnas --help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from robnas._version import __version__
from robnas.cli.common import STRICT_DATA_HELP, StoreOnce
from robnas.errors import RobnasError

COMMAND_MODULES: tuple[str, ...] = (
    "robnas.cli.space_cmd",
    "robnas.cli.query_cmd",
    "robnas.cli.table_cmd",
    "robnas.cli.data_cmd",
    "robnas.cli.verify_cmd",
    "robnas.cli.search_cmd",
    "robnas.cli.compare_cmd",
    "robnas.cli.analyze_cmd",
    "robnas.cli.measures_cmd",
)
"""The subcommands, in the order ``--help`` lists them."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``robnas: error: ...``, exit 2.

    Subcommand parsers inherit the class, so every command reports alike (the usage text stays
    available through ``--help``, which the line points to). An option that takes one value is
    stored by :class:`~robnas.cli.common.StoreOnce` in every command (argparse's default action
    is replaced), so giving it twice is refused rather than the last value silently winning.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, StoreOnce)
        self.register("action", "store", StoreOnce)

    action_hint: Callable[[str], str | None] | None = None
    """For a command with actions (``table build``) that is mostly used without one: given a
    first word that is no action (``robnas table pgd@1/255``), what the user likely meant."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("robnas").strip()
        where = f"{command}: " if command else ""
        text = " ".join(message.split())
        wrong = re.match(r"argument ACTION: invalid choice: '([^']*)'", text)
        hint = self.action_hint(wrong.group(1)) if wrong and self.action_hint else None
        if hint:
            text += f"; {hint}"
        self.exit(2, f"robnas: error: {where}{text} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = Parser(
        prog="robnas",
        description=(
            "Robust neural architecture search on NAS-Bench-201: query the released robustness "
            "table, search it, compare searchers, and check results against live attacks."
        ),
        epilog="Run `robnas COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"robnas {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (repeat for debug output)"
    )
    parser.add_argument("--strict-data", action="store_true", help=STRICT_DATA_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` chose: ``robnas measures compute``'s for it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _command_parser(chosen, args)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # also while the commands are imported, before any work
        print("robnas: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # said by the command's own parser, which names its own --help
            _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as done:  # --help, --version, or a usage error (already printed as one line)
        return done.code if isinstance(done.code, int) else 2
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "handler", None) is None:
        commands = ", ".join(name.rsplit(".", 1)[1].removesuffix("_cmd") for name in COMMAND_MODULES)
        print(f"robnas: error: give a command: {commands} (see `robnas --help`)", file=sys.stderr)
        return 2
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a full disk shows here, not as a traceback at exit
        return code
    except RobnasError as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"robnas: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as err:
        if err.filename is not None or err.errno not in _OUTPUT_FAILURES:
            raise
        _discard_stdout()
        print(f"robnas: error: cannot write the output: {err.strerror}", file=sys.stderr)
        return 1


_OUTPUT_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Errors of writing stdout (``> /dev/full``, a full disk or quota): said in one line."""


def _discard_stdout() -> None:
    """Point stdout's file descriptor at ``os.devnull``, so that the output still buffered is not
    flushed (and failed again, with a traceback) at exit; a stdout without one is left alone."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
