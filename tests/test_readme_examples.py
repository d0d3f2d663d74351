"""README.md's examples run as shown and return what they claim, on the real released data.

How a ```` ```python ```` block of README.md is checked:

- The blocks of one section (the text under one ``#``/``##``/``###`` heading) run in README order
  in one fresh namespace, as a reader would run them in a notebook; each section is one test.
- They run in a fresh ``tmp_path`` as the working directory (files they write land there), with
  ``ROBNAS_DATA`` set to the release the tests use (``ROBNAS_TEST_DATA``; unset: skipped).
- A statement whose comment starts with a literal, ``# 0.336``, ``# (0.588, 0.0, 1)`` or
  ``# 0.893: why``, must be an expression whose value is that literal to the digits quoted.
- A statement whose comment starts with ``SomeError: message`` must raise that error, with that
  message (the README shows what the reader will see instead of a value).
- What the README says in words about a value (a DataFrame, its index name, its columns) is
  checked by ``VALUE_CHECKS``, keyed by the statement's exact text.
- A block that cannot run here (it needs NATS weights, test images, a GPU, the network, or more
  than a few seconds) is listed in ``SKIPPED_BLOCKS`` by a text only it contains, with the reason.
  A new block runs unless listed, so adding one to the README forces a decision.

``$ robnas ...`` lines in ```` ```console ```` blocks that show their output (and every ``$ robnas
query|space`` line) are run in-process in a fresh ``tmp_path`` and must print exactly the lines
shown under them, with the exit code they imply (2 for a ``robnas: error:`` line, else 0): a
shown line ``...`` stands for any lines, and a run folder's time stamp (``20261124-194814``) is
free. ``SKIPPED_COMMANDS`` lists those that cannot run here. Every entry of the three lists must
match the README, so none can go stale.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import shlex
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from robnas.cli.main import main

README = Path(__file__).resolve().parent.parent / "README.md"

#: A text only the block contains -> why the block does not run here.
SKIPPED_BLOCKS: dict[str, str] = {
    "load_measures(measures=": "reads synflow values from a results store that `robnas measures "
                               "compute` must fill first (torch, a network per cell)",
}

#: A text only the command line contains -> why its output is not compared.
SKIPPED_COMMANDS: dict[str, str] = {
    "--data /data/robustness": "names the reader's own data folder (and cifar100, not in the test data)",
    "search -O pgd@1/255 --budget 300 --seed 0": "shows the first-run fetch: it needs the network and "
                                                 "an empty per-user data dir",
    "--resume runs/20261125-122258-re-pgd-1-255-s0": "needs a run record edited by hand",
    "--resume runs/20261125-122307-bo-pgd-1-255-s1": "needs a run still going in another process",
    "--param prior=synflow": "names the reader's own results store (~/.cache/robnas), without synflow values",
}


def _nb201_frame(*columns: str) -> Callable[[Any], None]:
    """A check: one row per NB201 cell, indexed by ``nb201_index``, with ``columns``."""

    def check(value: Any) -> None:
        assert isinstance(value, pd.DataFrame), type(value)
        assert value.index.name == "nb201_index"
        assert len(value) == 15625
        assert set(columns) <= set(value.columns), list(value.columns)

    return check


def _cost_frame(value: Any) -> None:
    _nb201_frame()(value)
    assert list(value.columns) == ["params", "flops"]


def _trials_frame(value: Any) -> None:
    assert isinstance(value, pd.DataFrame), type(value)
    assert list(value.columns[:6]) == ["n", "index", "arch", "value", "best", "clean"]
    assert value["n"].tolist() == list(range(1, 301)) and value["best"].iloc[-1] == 0.588


def _comparison_summary(value: Any) -> None:
    assert isinstance(value, pd.DataFrame), type(value)
    assert set(value["searcher"]) == {"random", "re", "re:population_size=20"}
    assert set(value["evaluations"]) == {10, 50} and set(value["runs"]) == {5}


def _pairwise(value: Any) -> None:
    assert isinstance(value, pd.DataFrame), type(value)
    assert len(value) == 3 and {"a", "b", "mean_diff", "p_holm", "significant"} <= set(value.columns)


#: A statement's exact text -> a check of its value (an assignment: of the name it binds).
VALUE_CHECKS: dict[str, Callable[[Any], None]] = {
    "report.summary": _comparison_summary,
    "report.ranking.pairwise": _pairwise,
    "trials = result.trials_frame()": _trials_frame,
    'frame = oracle.dataframe(["clean", "pgd@1/255"])': _nb201_frame("clean", "pgd@1/255"),
    'oracle.dataframe("clean")': _nb201_frame("clean"),
    'cost.cost_frame("cifar10")': _cost_frame,
    'oracle.dataframe(["params", "pgd@1/255"])': _nb201_frame("params", "pgd@1/255"),
}

_FENCE = re.compile(r"^```(\w*)")
_HEADING = re.compile(r"^#{1,6} (.+)$")
# a literal at the start of a comment, ended by ":", ";", whitespace or the end ("15,625 rows" is no number)
_LITERAL = re.compile(r"^(\([^)]*\)|[-+]?\d[\d.eE+-]*)(?=[:;]|\s|$)")
_ERROR = re.compile(r"^([A-Z]\w*(?:Error|Exception)): (.+)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: its language, section heading, first line and text."""

    language: str
    section: str
    line: int
    text: str


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown ``text``, with the heading it is under."""
    blocks: list[Block] = []
    section, language, start, body = "", None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(line)
        if language is None and fence:
            language, start, body = fence.group(1), number + 1, []
        elif language is not None and line.startswith("```"):
            blocks.append(Block(language, section, start, "\n".join(body) + "\n"))
            language = None
        elif language is not None:
            body.append(line)
        elif heading := _HEADING.match(line):
            section = heading.group(1).strip()
    return blocks


def python_sections(text: str) -> dict[str, list[Block]]:
    """The README's Python blocks that run here, grouped by section in README order."""
    sections: dict[str, list[Block]] = {}
    for block in readme_blocks(text):
        if block.language == "python" and not any(key in block.text for key in SKIPPED_BLOCKS):
            sections.setdefault(block.section, []).append(block)
    return sections


def _comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment on that line (without ``#``)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0]: token.string[1:].strip() for token in tokens if token.type == tokenize.COMMENT}


def _matches_quoted(actual: Any, quoted: Any) -> bool:
    """Whether ``actual`` is ``quoted`` to the digits the README quotes (tuples item by item)."""
    if isinstance(quoted, tuple):
        return (isinstance(actual, tuple) and len(actual) == len(quoted)
                and all(_matches_quoted(a, q) for a, q in zip(actual, quoted, strict=True)))
    if isinstance(quoted, float):
        decimals = len(repr(quoted).partition(".")[2]) if "e" not in repr(quoted) else 12
        return round(float(actual), decimals) == quoted
    return actual == quoted


def run_block(block: Block, namespace: dict[str, Any]) -> list[str]:
    """Run ``block`` statement by statement in ``namespace``; the mismatches with what it shows."""
    problems: list[str] = []
    comments = _comments(block.text)
    for statement in ast.parse(block.text).body:
        where = f"README.md line {block.line + statement.end_lineno - 1}"
        source = ast.get_source_segment(block.text, statement)
        comment = comments.get(statement.end_lineno, "")
        literal, error = _LITERAL.match(comment), _ERROR.match(comment)
        code = compile(ast.Module([statement], type_ignores=[]), where, "exec")
        if error:
            try:
                exec(code, namespace)
            except Exception as exc:  # the README names the class it expects
                shown = f"{type(exc).__name__}: {exc}"
                if shown != comment:
                    problems.append(f"{where}: {source} raised {shown!r}, README shows {comment!r}")
            else:
                problems.append(f"{where}: {source} raised nothing, README shows {comment!r}")
            continue
        if isinstance(statement, ast.Expr):
            value = eval(compile(ast.Expression(statement.value), where, "eval"), namespace)
        else:
            exec(code, namespace)
            targets = statement.targets if isinstance(statement, ast.Assign) else []
            value = namespace[targets[0].id] if len(targets) == 1 and isinstance(targets[0], ast.Name) else None
        if literal:
            quoted = ast.literal_eval(literal.group(1))
            if not isinstance(statement, ast.Expr) or not _matches_quoted(value, quoted):
                problems.append(f"{where}: {source} gives {value!r}, README shows {literal.group(1)}")
        if source in VALUE_CHECKS:
            VALUE_CHECKS[source](value)
    return problems


def console_commands(text: str) -> list[tuple[int, str, str]]:
    """``(line, command, output shown)`` of every ``$ robnas`` line in a console block that shows
    its output, and of every ``$ robnas query|space`` line (a command may go on over lines ending
    in a backslash)."""
    found: list[tuple[int, str, str]] = []
    for block in readme_blocks(text):
        if block.language != "console":
            continue
        lines = block.text.splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")] + [len(lines)]
        for here, after in itertools.pairwise(starts):
            end = here
            while lines[end].endswith("\\") and end + 1 < after:
                end += 1
            command = " ".join(line.removesuffix("\\").strip() for line in lines[here:end + 1])
            command = command[2:].partition("   #")[0].strip()
            shown = "\n".join(lines[end + 1:after])
            if re.match(r"robnas (query|space)\b", command) or (command.startswith("robnas ") and shown):
                found.append((block.line + here, command, shown))
    return found


_RUN_STAMP = re.compile(r"\b\d{8}-\d{6}-")  # the time stamp a run folder's name starts with


def shown_output_matches(printed: str, shown: str) -> bool:
    """Whether ``printed`` is the output ``shown``, line for line: a shown ``...`` line (any
    indentation) stands for any lines, and run folders' time stamps may differ."""
    pattern = "".join(r"(?:.*\n)*?" if line.strip() == "..." else re.escape(_RUN_STAMP.sub("<stamp>-", line)) + r"\n"
                      for line in shown.splitlines())
    return re.fullmatch(pattern, _RUN_STAMP.sub("<stamp>-", printed.rstrip("\n") + "\n")) is not None


_TEXT = README.read_text(encoding="utf-8")
_SECTIONS = python_sections(_TEXT)


def test_every_list_entry_matches_the_readme() -> None:
    blocks = [block.text for block in readme_blocks(_TEXT) if block.language == "python"]
    for key in SKIPPED_BLOCKS:
        assert sum(key in text for text in blocks) == 1, f"SKIPPED_BLOCKS {key!r} must match one block"
    commands = [command for _, command, _ in console_commands(_TEXT)]
    for key in SKIPPED_COMMANDS:
        assert sum(key in command for command in commands) == 1, f"SKIPPED_COMMANDS {key!r}"
    statements = {ast.get_source_segment(text, node) for text in blocks for node in ast.parse(text).body}
    assert set(VALUE_CHECKS) <= statements, set(VALUE_CHECKS) - statements
    # the checks below would pass vacuously on a README whose blocks they no longer find
    assert len(_SECTIONS) >= 4 and len(console_commands(_TEXT)) >= 3


@pytest.mark.parametrize("section", list(_SECTIONS))
def test_python_examples_run_as_shown(section: str, release_root: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBNAS_DATA", str(release_root))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    problems = [problem for block in _SECTIONS[section] for problem in run_block(block, namespace)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("line", "command", "shown"),
                         [case for case in console_commands(_TEXT)
                          if not any(key in case[1] for key in SKIPPED_COMMANDS)],
                         ids=lambda case: str(case) if isinstance(case, int) else None)
def test_console_examples_print_what_is_shown(line: int, command: str, shown: str, release_root: Path,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ROBNAS_DATA", str(release_root))
    monkeypatch.chdir(tmp_path)
    code = main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    assert shown_output_matches(out + err, shown), f"README.md line {line}: {command}\nprinted:\n{out + err}"
    assert code == (2 if shown.startswith("robnas: error:") else 0), f"README.md line {line}: exit code {code}"


def test_the_output_check_catches_a_wrong_line() -> None:
    shown = "searcher  re\n  ...\nrun record  runs/20261124-194814-re-s0\nclean  0.825"
    assert shown_output_matches("searcher  re\nx\ny\nrun record  runs/20270101-093000-re-s0\nclean  0.825\n", shown)
    assert shown_output_matches("searcher  re\nrun record  runs/20270101-000000-re-s0\nclean  0.825", shown)
    assert not shown_output_matches("searcher  re\nrun record  runs/20270101-000000-re-s0\nclean  0.826", shown)
    assert not shown_output_matches("searcher  re\nrun record  runs/20270101-000000-re-s1\nclean  0.825", shown)
    assert not shown_output_matches("searcher  re\nrun record  runs/x\nclean  0.825\nmore", shown)


def test_the_checker_catches_a_wrong_example(release_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # run_block must report a quoted value, an error and a name the example lacks, not pass them
    monkeypatch.setenv("ROBNAS_DATA", str(release_root))
    text = ("from robnas.benchmark import TabularOracle\n"
            "oracle = TabularOracle('cifar10')\n"
            "oracle.value(13433, 'pgd@1/255')  # 0.337\n"
            "int('1')  # ValueError: nothing\n")
    problems = run_block(Block("python", "t", 1, text), {})
    assert len(problems) == 2 and "0.336" in problems[0] and "raised nothing" in problems[1]
    with pytest.raises(NameError):
        run_block(Block("python", "t", 1, "cost.flops(arch)\n"), {})
