"""Build a results table where none exists, in the release's own layout.

:func:`build_table` evaluates cells live (clean accuracy and one attack at chosen epsilons)
and writes what the release would::

    ROOT/meta.json                        the source's ids and isomorph classes; the epsilons
                                          of every attack the table holds
    ROOT/<dataset>/clean_accuracy.json    {dataset: {"clean": {"accuracy": {id: 0.893}}}}
    ROOT/<dataset>/<key>_accuracy.json    {dataset: {key: {"accuracy": {id: [acc per eps]}}}}
    ROOT/provenance.json                  per dataset and key: protocol, images (folder and
                                          identity of the test-set file), weights (archive,
                                          epochs, seed, SHA-256 per cell file), versions (of
                                          this process, which wrote the files), evaluated_on
                                          (each device and versions the workers of every
                                          build evaluated cells with), builds (one record per
                                          build: when, robnas, batch size, images folder, cells
                                          in the table after it, the runtimes that evaluated
                                          cells in it; the fields beside it are the latest
                                          build's); folders as absolute paths

keyed by representative NB201 ids (isomorphs share their representative's value), accuracies
as fractions rounded to 3 decimals, so :class:`~robnas.benchmark.TabularOracle` and every
command that reads the release read it unchanged once it covers every class.

Each cell is one task of an :class:`~robnas.execution.Executor` (local processes or Ray,
:func:`~robnas.evaluation.cell_tasks.evaluate_cells`); this process alone writes the results
into the :class:`~robnas.evaluation.store.ResultStore` (keyed by dataset, cell, key, epsilon,
protocol, weights identity, test images' identity and number of images), then the table
files. A build that was
interrupted resumes from the store: finished cells are not evaluated again, and a cell cut
short resumes at its first unfinished image batch (the worker's scratch store,
:func:`~robnas.evaluation.cell_tasks.scratch_store`). ``archs`` can
grow a table in pieces: cells already in ROOT's files are kept. One key of a table holds one
evaluation setting: a build whose epsilons, number of images, test images (their identity,
:func:`~robnas.evaluation.datasets.images_identity`), attack protocol or weights' epochs and
seed differ from those ROOT's ``meta.json`` and ``provenance.json`` record for the key (or for
clean accuracy, which every build writes) is refused before anything is evaluated or written,
and so is a number of images larger than the test set holds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas._version import __version__
from robnas.benchmark.location import META_FILE
from robnas.errors import RobnasError, TableBuildError
from robnas.evaluation.cell_tasks import LiveSettings, evaluate_cells
from robnas.evaluation.store import ResultKey, ResultStore
from robnas.new_files import new_file_beside
from robnas.objective import CLEAN, Term, attack_key, plain_number

if TYPE_CHECKING:
    from robnas.evaluation.live_oracle import LiveOracle
    from robnas.execution import Executor

PROVENANCE_FILE = "provenance.json"
ACCURACY_DECIMALS = 3
"""The release's rounding of accuracies."""

SETTING_OPTIONS = {"n_images": "--n-images", "images": "--images", "pgd_steps": "--pgd-steps",
                   "apgd_steps": "--apgd-steps", "square_queries": "--square-queries"}
"""The command-line option of each recorded setting that has one (named when a build conflicts)."""


@dataclass
class TableBuild:
    """What :func:`build_table` did.

    Attributes:
        root: the table's folder.
        files: the files written (relative to ``root``).
        cells: cells (classes) in the table's files now.
        asked: cells this call asked for.
        evaluated: cells evaluated now (the rest came from the store).
        wall_seconds: wall time of the call.
        compute_seconds: compute seconds of the cells evaluated now (summed over workers).
        batches: image batches evaluated now (a cell resumed after its worker died counts
            only the batches its last attempt ran).
        executor: the executor's description.
    """

    root: Path
    files: list[str] = field(default_factory=list)
    cells: int = 0
    asked: int = 0
    evaluated: int = 0
    wall_seconds: float = 0.0
    compute_seconds: float = 0.0
    batches: int = 0
    executor: dict[str, Any] = field(default_factory=dict)


def parse_attack(text: str, release_epsilons: dict[str, Sequence[float]]) -> tuple[str, tuple[float, ...]]:
    """``KEY[@EPS,...]`` -> (release key, epsilons in units of 1/255).

    ``KEY`` is ``clean`` or an attack (``fgsm``, ``pgd``, ``apgd``, ``square`` or its release
    key); without epsilons, the release's grid of that attack.

    >>> parse_attack("fgsm@0.5,1,2/255", {})
    ('fgsm@Linf', (0.5, 1.0, 2.0))
    >>> parse_attack("clean", {})
    ('clean', ())
    """
    name, marker, points = text.strip().partition("@")
    if name.lower() == CLEAN:
        if marker:
            raise TableBuildError(f"--attack {text!r}: clean has no epsilons")
        return CLEAN, ()
    if points.lower().startswith("linf"):  # a release key such as fgsm@Linf[@eps,...]
        rest = points[4:]
        name, marker, points = f"{name}@Linf", "@" if rest.startswith("@") else "", rest.lstrip("@")
    key = attack_key(name)
    if key is None:
        choices = ", ".join(["clean", "fgsm", "pgd", "apgd", "square"])
        raise TableBuildError(f"--attack {text!r}: unknown attack {name!r}; choose from {choices}")
    if marker and not points:
        raise TableBuildError(f"--attack {text!r}: no epsilons after '@' (units of 1/255, e.g. "
                              f"{name.split('@')[0]}@0.5,1,2; leave out '@' for the release's)")
    if not points:
        if key not in release_epsilons:
            raise TableBuildError(f"--attack {text!r}: give its epsilons, e.g. {name}@1,2,4")
        return key, tuple(float(e) for e in release_epsilons[key])
    epsilons = []
    for part in points.split(","):
        value = plain_number(part.strip().removesuffix("/255"))
        if value is None:  # ASCII digits only: float() would read '1_0' as 10 and '１' as 1
            raise TableBuildError(f"--attack {text!r}: epsilon {part!r} is not a number "
                                  "(units of 1/255, e.g. fgsm@0.5,1,2)")
        if not 0 < value <= 255:
            raise TableBuildError(f"--attack {text!r}: epsilon {part!r} must be in (0, 255]")
        epsilons.append(value)
    if len(set(epsilons)) != len(epsilons):
        raise TableBuildError(f"--attack {text!r}: an epsilon is given twice")
    return key, tuple(sorted(epsilons))  # a set of points: fgsm@2,1 is fgsm@1,2, in the grid's order


def terms_of(key: str, epsilons: Sequence[float]) -> list[Term]:
    """Clean accuracy, then ``key`` at each epsilon (what one cell's task evaluates)."""
    return [Term(CLEAN, None)] + ([] if key == CLEAN else [Term(key, float(e)) for e in epsilons])


def build_table(settings: LiveSettings, key: str, epsilons: Sequence[float], indices: Sequence[int],
                out: str | os.PathLike[str], *, store: ResultStore, executor: Executor,
                gpus_per_task: float = 0.0, progress: bool = False) -> TableBuild:
    """Evaluate ``indices`` (NB201 indices; one per class is kept) and write the table at ``out``.

    Args:
        settings: the live evaluation (weights, images, protocol, ...); ``settings.data`` is
            the source ``meta.json``'s folder.
        key: ``clean`` or an attack's release key.
        epsilons: the attack's epsilons (units of 1/255).
        indices: the cells to evaluate.
        out: the table's folder (created; an existing table there is extended).
        store: the results store (written by this process only).
        executor: where cells are evaluated.
        gpus_per_task: GPUs each task asks of Ray (a fraction shares a GPU).
        progress: a tqdm bar on stderr.

    Raises:
        InvalidParameterError: ``settings.n_images`` exceeds the test set (before anything is
            evaluated or written).
        TableBuildError: ``out`` holds ``key`` (or clean accuracy) under other settings: other
            epsilons, number of images, test images, attack protocol or weights' epochs and
            seed (checked before anything is evaluated or written); or a worker's weights or
            test images differ from this machine's.
    """
    started = time.perf_counter()
    root = Path(out)
    driver = settings.oracle(store)
    meta = _merged_meta(root, Path(settings.data) / META_FILE, key, epsilons)
    _check_settings(root, settings, key, driver.images_identity(Term(CLEAN, None)))
    cells = sorted({driver.meta.representative_of(int(i)) for i in indices})
    _check_weights(driver, cells, settings.weights)
    terms = terms_of(key, epsilons)
    existing = {name: _read_values(root / settings.dataset / f"{name}_accuracy.json", settings.dataset, name)
                for name in dict.fromkeys((CLEAN, key))}  # a file that is no table: refused now
    keys = {index: [driver.result_key(index, t) for t in terms] for index in cells}
    todo = [index for index in cells if any(store.get(k) is None for k in keys[index])]
    result = TableBuild(root=root, asked=len(cells), executor=executor.describe())
    bar = _bar(len(cells), len(cells) - len(todo), progress)
    ran_on: list[dict[str, str]] = []
    try:
        for _, seconds, batches, runtime in evaluate_cells(
                settings, todo, terms, keys, store=store, executor=executor, gpus_per_task=gpus_per_task):
            result.evaluated += 1
            result.compute_seconds += seconds
            result.batches += batches
            if runtime not in ran_on:
                ran_on.append(runtime)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    result.files = _write_files(root, meta, settings, driver, key, keys, store, existing, ran_on)
    result.cells = _count_cells(root / settings.dataset / f"{CLEAN}_accuracy.json", settings.dataset)
    result.wall_seconds = time.perf_counter() - started
    return result


def _check_weights(driver: LiveOracle, cells: Sequence[int], weights: Any) -> None:
    """Refuse a build whose weights archive lacks a cell's file, before anything is evaluated
    (every cell's file is read: to evaluate it, and for its SHA-256 in the provenance), rather
    than hours into it.

    Raises:
        TableBuildError: naming how many files are missing and the first.
    """
    missing = [index for index in cells if not driver.archive.path_of(index).is_file()]
    if missing:
        first = driver.archive.path_of(missing[0])
        raise TableBuildError(
            f"--weights {weights}: {len(missing)} of the {len(cells)} cells to build have no weights file "
            f"(the first: NB201 index {missing[0]}, {first.name}); nothing was evaluated: complete the "
            "archive, or build the others with --archs FILE")


def select_indices(which: str, meta: Any) -> list[int]:
    """``all`` / ``representatives`` (every class once) or a FILE of NB201 strings or indices."""
    if which in ("all", "representatives"):
        return [int(i) for i in meta.representatives]
    path = Path(which)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise TableBuildError(f"--archs {which}: not a text file of cells (byte {err.start} is not "
                              "UTF-8)") from None
    except OSError as err:
        raise TableBuildError(f"--archs {which}: not all, representatives or a readable file "
                              f"({err.strerror})") from None
    indices = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            try:
                indices.append(meta.index_of(meta.parse_arch(int(text) if text.isdigit() else text)))
            except RobnasError as err:
                raise TableBuildError(f"--archs {which}, line {number}: {err}") from None
    if not indices:
        raise TableBuildError(f"--archs {which}: no cells listed (one NB201 string or index a line)")
    return indices


# -- files ------------------------------------------------------------------------------------

def _merged_meta(root: Path, source: Path, key: str, epsilons: Sequence[float]) -> dict[str, Any]:
    """ROOT's meta.json with ``key``'s epsilons (the source's ids when ROOT has none yet)."""
    existing = root / META_FILE
    try:
        meta = json.loads((existing if existing.is_file() else source).read_text())
    except (OSError, ValueError) as err:
        raise TableBuildError(f"cannot read {existing if existing.is_file() else source}: {err}") from None
    if existing.is_file():
        if not (isinstance(meta, dict) and isinstance(meta.get("ids"), dict)
                and isinstance(meta.get("epsilons"), dict)):
            raise TableBuildError(f"{existing} is not a table's meta.json (an object with 'ids' and "
                                  "'epsilons'): use another --out")
    elif not (isinstance(meta, dict) and isinstance(meta.get("ids"), dict)):
        raise TableBuildError(f"{source} is not a release's meta.json (an object with 'ids')")
    else:
        meta = {"ids": meta["ids"], "epsilons": {}}
    if key != CLEAN:
        had = meta["epsilons"].get(key)
        if had is not None and [float(e) for e in had] != [float(e) for e in epsilons]:
            raise TableBuildError(f"{root} holds {key} at epsilons {had}, not {list(epsilons)}: "
                                  "build the same epsilons there, or use another --out")
        meta["epsilons"][key] = [float(e) for e in epsilons]
    return meta


def _write_files(root: Path, meta: dict[str, Any], settings: LiveSettings, driver: LiveOracle,
                 key: str, keys: dict[int, list[ResultKey]], store: ResultStore,
                 existing: dict[str, dict[str, Any]], ran_on: list[dict[str, str]]) -> list[str]:
    """Write the table's files: ``existing`` (per key, ROOT's values, read before the build
    evaluated anything) with the values of ``keys``' cells that the store holds; ``ran_on``:
    the runtimes of the workers that evaluated cells now (added to the provenance's)."""
    dataset = settings.dataset
    values: dict[int, list[float]] = {}
    for index, cell_keys in keys.items():
        stored = [store.get(k) for k in cell_keys]
        if all(s is not None for s in stored):
            values[index] = [round(s.accuracy, ACCURACY_DECIMALS) for s in stored]  # type: ignore[union-attr]
    digests = {str(i): _cell_sha256(driver, i) for i in sorted(values)}  # before anything is written
    if _read_json(root / META_FILE) != meta:  # 15,625 ids: written when new or changed only
        _atomic_json(root / META_FILE, meta)
    files = [META_FILE]
    columns = {CLEAN: lambda v: v[0]}
    if key != CLEAN:
        columns[key] = lambda v: v[1:]
    for name, pick in columns.items():
        relative = f"{dataset}/{name}_accuracy.json"
        path = root / relative
        table = dict(existing[name])
        table.update({str(index): pick(v) for index, v in values.items()})
        ordered = dict(sorted(table.items(), key=lambda item: int(item[0])))
        _atomic_json(path, {dataset: {name: {"accuracy": ordered}}})
        files.append(relative)
    provenance = _read_json(root / PROVENANCE_FILE)
    entry = provenance.setdefault(dataset, {})
    built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # one time for the build's keys
    for name in columns:
        old = entry.get(name, {}).get("weights", {})
        weights = {"root": str(driver.weights), "epochs": settings.epochs, "seed": settings.seed,
                   "sha256": {**old.get("sha256", {}), **digests}}
        if old.get("identity"):  # a table built before full digests: its short identities stay
            weights["identity"] = old["identity"]
        evaluated_on = list(entry.get(name, {}).get("evaluated_on", []))
        evaluated_on += [r for r in ran_on if r not in evaluated_on]
        builds = entry.get(name, {}).get("builds")
        builds = list(builds) if isinstance(builds, list) else []
        builds.append({"built": built, "robnas": __version__, "batch_size": settings.batch_size,
                       "images": str(driver.images), "cells": len(values), "evaluated_on": ran_on})
        entry[name] = {
            "robnas": __version__, "built": built,
            "epsilons": meta["epsilons"].get(name, []),
            "protocol": settings.protocol.describe() if name != CLEAN else None,
            "n_images": settings.n_images, "images": str(driver.images),
            "images_identity": driver.images_identity(Term(CLEAN, None)), "batch_size": settings.batch_size,
            "weights": weights, "versions": _versions(), "evaluated_on": evaluated_on, "builds": builds,
        }
    _atomic_json(root / PROVENANCE_FILE, provenance)
    files.append(PROVENANCE_FILE)
    return files


_UNRECORDED = object()
"""A setting the provenance does not record (a table built by an older robnas)."""


def _check_settings(root: Path, settings: LiveSettings, key: str, images: str) -> None:
    """Refuse to build ``key`` into ``root`` under other settings than its provenance records.

    Every build writes clean accuracy and ``key``; for each, the number of images, the test
    images' identity (``images``), the weights' epochs and seed and (attacks) every setting of
    the attack protocol must equal what
    ``root/provenance.json`` records, so the values of one key never mix two settings under
    one provenance. Settings a table built by an older robnas did not record are not checked;
    nor are the batch size and device, which (as in the results store's keys) are not part of a
    result's identity.

    Raises:
        TableBuildError: the first setting that differs, with its recorded value.
    """
    recorded = _read_json(root / PROVENANCE_FILE).get(settings.dataset)
    if recorded is None:
        return
    if not isinstance(recorded, dict) or not all(isinstance(e, dict) for e in recorded.values()):
        raise TableBuildError(f"{root / PROVENANCE_FILE} is not a table's provenance (per dataset, an "
                              "object per key): use another --out")
    for name in dict.fromkeys((CLEAN, key)):
        entry = recorded.get(name)
        if not isinstance(entry, dict):
            continue
        weights = entry.get("weights") if isinstance(entry.get("weights"), dict) else {}
        pairs: list[tuple[str, Any, Any]] = [
            ("n_images", entry.get("n_images", _UNRECORDED), settings.n_images),
            ("test images", entry.get("images_identity", _UNRECORDED), images),
            ("weights epochs", weights.get("epochs", _UNRECORDED), settings.epochs),
            ("weights seed", weights.get("seed", _UNRECORDED), settings.seed)]
        protocol = entry.get("protocol")
        if name != CLEAN and isinstance(protocol, dict):
            # only the settings of this attack: an FGSM table does not depend on PGD's steps
            pairs += [(f"attack protocol {field}", protocol.get(field, _UNRECORDED), value)
                      for field, value in asdict(settings.protocol).items() if field in protocol_fields(name)]
        for setting, had, value in pairs:
            if had is not _UNRECORDED and had != value:
                option = SETTING_OPTIONS.get(setting.rsplit(" ", 1)[-1])
                raise TableBuildError(
                    f"{root} holds {settings.dataset} {name} built with {setting} {_shown(setting, had)}, "
                    f"not {_shown(setting, value)}{f' ({option})' if option else ''}: build it with the "
                    f"recorded settings ({root / PROVENANCE_FILE}), or use another --out")


def protocol_fields(key: str) -> tuple[str, ...]:
    """The :class:`~robnas.evaluation.attacks.AttackProtocol` fields the attack of release key
    ``key`` depends on (FGSM: none; it is one deterministic step).

    >>> protocol_fields("fgsm@Linf"), protocol_fields("pgd@Linf")
    ((), ('pgd_steps', 'pgd_alpha_factor', 'pgd_random_start', 'seed'))
    """
    name = key.split("@", 1)[0]
    return {"pgd": ("pgd_steps", "pgd_alpha_factor", "pgd_random_start", "seed"),
            "aa_apgd-ce": ("apgd_steps", "apgd_rho", "seed"),
            "aa_square": ("square_queries", "square_p_init", "square_rescale_schedule", "seed")}.get(name, ())


def _shown(setting: str, value: Any) -> str:
    """A recorded setting's value as the user would give it (``None``: the default)."""
    if value is None:
        return "all" if setting == "n_images" else "default"
    return str(value)


def _cell_sha256(driver: LiveOracle, index: int) -> str:
    """The full SHA-256 of cell ``index``'s weights file (its store keys hold a 16-hex prefix).

    Raises:
        TableBuildError: the file changed since its cells were evaluated in this build.
    """
    from robnas.evaluation.live_oracle import file_sha256

    path = driver.archive.path_of(index)
    try:
        hexdigest = file_sha256(path)
    except OSError as err:
        raise TableBuildError(f"cannot read the weights of cell {index}: {err}") from None
    if not driver.weights_identity(index).startswith(hexdigest[:16]):
        raise TableBuildError(f"{path} changed while the table was built: build again")
    return hexdigest


def _read_values(path: Path, dataset: str, key: str) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text())[dataset][key]["accuracy"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TableBuildError(f"{path} is not a results file of {dataset}/{key} ({err})") from None


def _count_cells(path: Path, dataset: str) -> int:
    return len(_read_values(path, dataset, CLEAN))


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (``{}`` where there is no file)."""
    try:
        payload = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError) as err:
        raise TableBuildError(f"{path}: {err}") from None
    if not isinstance(payload, dict):
        raise TableBuildError(f"{path}: not a JSON object: use another --out")
    return payload


def _atomic_json(path: Path, payload: Any) -> None:
    """Write ``payload`` to ``path`` through a file beside it, created as ``open`` creates a file
    (0666 less the umask: a table others may read, as the release's files; ``mkstemp``'s 0600
    left it readable by its builder alone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_file_beside(path)
    try:
        with open(tmp, "w") as stream:
            json.dump(payload, stream)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _versions() -> dict[str, str]:
    """What a run record's config records (Python, platform, numpy, ...), with torch's own
    version string (its build: ``+cpu``, ``+cu121``), torchattacks, and the CUDA and cuDNN it
    runs on (:func:`~robnas.evaluation.cell_tasks.runtime`), on which attacked accuracies can
    depend in their last images."""
    from robnas.evaluation.cell_tasks import runtime
    from robnas.run_record import versions

    return {**versions(), **{name: value for name, value in runtime("cpu").items() if name != "device"}}


def _bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="cell", desc="table build", dynamic_ncols=True)


__all__ = ["TableBuild", "TableBuildError", "build_table", "parse_attack",
           "select_indices", "terms_of"]
