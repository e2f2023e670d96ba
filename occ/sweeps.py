"""Sweeps: grids over scenarios, horizons, learners, hyperparameters and seeds, run as
independent cells on a local process pool or a Dask cluster, resumable.

A sweep file (TOML)::

    scenarios = ["quadratic-ball", "default"]   # names or paths
    T = [1000, 10000]                           # horizons (a number or a list)
    seeds = 100                                 # repetitions (default: each scenario's)
    seed_block = 25                             # repetitions per cell (default: all)
    [learners.adam]                             # replaces each scenario's learners
    kind = "adam"
    eta = {log = [1e-4, 1e0], num = 20}         # a grid: {log = [a, b], num},
    beta1 = [0.0, 0.9]                          #   {linear = [a, b], num} or a list

A numeric hyperparameter that the learner accepts per row (``eta``, ``beta1``, ...) runs
its whole grid in the batch axis of one cell; any other list (``decoupled``, ``step``)
splits into separate cells. A cell is (scenario, T, learner, non-batched values, block of
repetitions); its full configuration is hashed, and its result is written at once,
atomically, to ``cells/<hash>.csv`` (+ ``.json``). Re-running skips finished cells, so an
interrupted sweep resumes where it stopped. A cell that raises is recorded with its
error (``cells/<hash>.error.json``), the sweep goes on, and the command exits non-zero;
failed cells are retried on the next run. Results do not depend on the executor, the
number of workers or the order cells finish in: each repetition's numbers depend only on
its index, and the collected table is sorted.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import copy
import dataclasses
import hashlib
import importlib
import itertools
import json
import math
import multiprocessing
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occ.errors import OccError, ParameterError, ScenarioError, UnknownNameError
from occ.limits import MAX_COUNT, MAX_T, Estimate, estimate
from occ.named import packaged
from occ.params import Real, check_name
from occ.plugins import check_loaded, learner_class, learner_kinds
from occ.results import atomic_write, clean_stale
from occ.scenarios import LearnerSpec, Scenario, load_scenario, parse_scenario
from occ.textfiles import read_text

SWEEP_KEYS = ("name", "description", "scenarios", "T", "seeds", "seed_block", "learners",
              "checkpoints")
MAX_CELLS = 100_000
"""A sweep file may describe at most this many cells."""
MAX_GRID = 10_000
"""A grid table's ``num`` is at most this."""


@dataclass(frozen=True)
class Cell:
    """One independent job: a scenario at one horizon, one learner (its batchable grid in
    the batch axis), one block of repetitions. ``data`` is the scenario's whole table
    (with this cell's learner and horizon) and ``source`` the scenario file's absolute
    path: a worker anywhere parses the cell from them, never from its own directory."""

    scenario: str
    T: int
    label: str
    kind: str
    params: dict[str, Any]
    first: int
    count: int
    config: dict[str, Any]
    data: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)
    source: str = ""

    @property
    def key(self) -> str:
        text = json.dumps(self.config, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Sweep:
    name: str
    path: str
    cells: tuple[Cell, ...]
    swept: dict[str, list[str]]  # learner label -> swept hyperparameter names
    estimate: Estimate = Estimate(0.0, 0.0)  # the largest cell's memory, all cells' time


def _grid_values(value: Any, where: str) -> Any:
    """A grid spec as a list: {log = [a, b], num}, {linear = [a, b], num}, or a list."""
    if isinstance(value, dict):
        if set(value) not in ({"log", "num"}, {"linear", "num"}):
            raise ParameterError(where, "a grid table is {log = [a, b], num = N} or "
                                 f"{{linear = [a, b], num = N}}, got keys {sorted(value)}")
        kind = "log" if "log" in value else "linear"
        ends, num = value[kind], value["num"]
        if (not isinstance(ends, list) or len(ends) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           and math.isfinite(v) for v in ends)
                or (kind == "log" and min(ends) <= 0)):
            raise ParameterError(where, f"needs two finite ends{' > 0' if kind == 'log' else ''}"
                                 f", got {ends!r}"[:200])
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= MAX_GRID:
            raise ParameterError(f"{where}.num", f"must be an integer >= 1 and <= {MAX_GRID}, "
                                 f"got {num!r}"[:200])
        points = (np.geomspace(*ends, num) if kind == "log" else np.linspace(*ends, num))
        return [float(v) for v in points]
    return value


def _batchable(kind: str, name: str, params: dict[str, Any]) -> bool:
    cls = learner_class(kind, params)
    if cls is None:
        return False
    for f in dataclasses.fields(cls):
        if f.name == name:
            constraint = f.metadata.get("constraint")
            return isinstance(constraint, Real) and constraint.per_row
    return False


def _takes_a_list(kind: str, name: str, params: dict[str, Any]) -> bool:
    """Fields whose value is itself a list (a per-coordinate c, a matrix A)."""
    from occ.params import Preconditioner, RealVector

    cls = learner_class(kind, params)
    for f in dataclasses.fields(cls) if cls else ():
        if f.name == name:
            return isinstance(f.metadata.get("constraint"), RealVector | Preconditioner)
    return False


def sweep_path(name: str | Path) -> Path:
    """A sweep file: ``name`` itself if it exists, else a named sweep (``NAME`` or
    ``NAME.toml``) in ./sweeps or among the example sweeps shipped with occ."""
    path = Path(name)
    if path.exists() or len(path.parts) != 1:
        return path
    stem = path.name.removesuffix(".toml")
    for folder in (Path.cwd() / "sweeps", packaged("sweeps")):
        if folder is not None and (folder / f"{stem}.toml").is_file():
            return folder / f"{stem}.toml"
    return path


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (or a named sweep, :func:`sweep_path`) into its
    cells, every cell's configuration checked as a scenario would be; an error names the
    file it is in (the sweep file, or the scenario file it refers to) and the field."""
    path = sweep_path(path)
    text = read_text(path, str(path), "sweep file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _build(data, path)
    except ParameterError as exc:
        if exc.where:  # located already: in a scenario file
            raise
        raise exc.located(str(path)) from None


def _int(value: Any, name: str, low: int, high: int = MAX_COUNT) -> int:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not float(value).is_integer() or not low <= value <= high):
        raise ParameterError(name, f"must be one integer >= {low} and <= {high:.4g}, "
                             f"got {value!r}"[:200])
    return int(value)


def _int_list(value: Any, name: str, low: int, high: int = MAX_COUNT) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ParameterError(name, f"must be an integer >= {low} or a non-empty list of them")
    try:
        return [_int(v, name, low, high) for v in values]
    except ParameterError:
        raise ParameterError(name, f"must be an integer >= {low} and <= {high:.4g} or a list "
                             f"of them, got {value!r}"[:200]) from None


def _scenario(name: str, index: int, path: Path) -> Scenario:
    if not isinstance(name, str) or not name:
        raise ParameterError(f"scenarios[{index}]", f"must be a scenario name or path, got "
                             f"{name!r}")
    base = path.parent / name if name.endswith(".toml") else name
    try:
        return load_scenario(base)
    except UnknownNameError as exc:
        raise ParameterError(f"scenarios[{index}]", str(exc)) from None


def _build(data: dict[str, Any], path: Path) -> Sweep:
    unknown = sorted(set(data) - set(SWEEP_KEYS))
    if unknown:
        raise ParameterError(unknown[0], f"unknown field; allowed: {', '.join(SWEEP_KEYS)}")
    name = check_name(data.get("name", path.stem), "name")
    if "description" in data and not isinstance(data["description"], str):
        raise ParameterError("description", f"must be a string, got {data['description']!r}")
    names = data.get("scenarios")
    if not isinstance(names, list) or not names:
        raise ParameterError("scenarios", "must be a non-empty list of scenario names or "
                             f"paths, got {names!r}"[:200])
    learner_tables = data.get("learners")
    if learner_tables is not None and (not isinstance(learner_tables, dict) or not learner_tables):
        raise ParameterError("learners", "must be tables [learners.LABEL] with a kind")
    horizons_given = _int_list(data["T"], "T", 1, MAX_T) if "T" in data else None
    seeds_given = _int(data["seeds"], "seeds", 1) if "seeds" in data else None
    block_given = _int(data["seed_block"], "seed_block", 1) if "seed_block" in data else None
    checkpoints = _int(data["checkpoints"], "checkpoints", 2) if "checkpoints" in data else None
    cells: list[Cell] = []
    swept: dict[str, list[str]] = {}
    peak, seconds = 0.0, 0.0
    for index, scenario_name in enumerate(names):
        sc = _scenario(scenario_name, index, path)
        if checkpoints is not None:
            sc = dataclasses.replace(sc, checkpoints=checkpoints)
        horizons = horizons_given or [sc.T]
        seeds = seeds_given or sc.seeds
        block = min(block_given or seeds, seeds)
        specs = _learner_specs(sc, learner_tables)
        source = str(Path(sc.path).resolve()) if sc.path else ""
        for spec in specs:
            fixed, batch, split = {}, {}, {}
            for key, value in spec.params.items():
                value = _grid_values(value, f"learners.{spec.label}.{key}")
                if isinstance(value, list) and not _takes_a_list(spec.kind, key, spec.params):
                    if not value:
                        raise ParameterError(f"learners.{spec.label}.{key}",
                                             "a list of values must not be empty")
                    (batch if _batchable(spec.kind, key, spec.params) else split)[key] = value
                    swept.setdefault(spec.label, []).append(key)
                else:
                    fixed[key] = value
            count = (math.prod(len(v) for v in split.values()) * len(horizons)
                     * math.ceil(seeds / block))
            if len(cells) + count > MAX_CELLS:
                raise ParameterError("seed_block" if seeds // block > MAX_CELLS // 10 else
                                     "learners", f"the sweep would have more than {MAX_CELLS} "
                                     "cells (lists x horizons x seeds/seed_block); split it")
            for combo in itertools.product(*split.values()) or [()]:
                chosen = dict(zip(split, combo, strict=True))
                params = {**fixed, **batch, **chosen}
                suffix = "".join(f"[{k}={v}]" for k, v in chosen.items())
                cell_sc, raw = _validated(sc, spec, params, max(horizons), learner_tables
                                          is not None, str(path))
                grid = math.prod(len(v) for v in batch.values())
                est = estimate(sc.d, max(horizons), min(block, seeds), sc.checkpoints,
                               [(_configured(cell_sc), grid)], sc.bounds != ())
                peak = max(peak, est.bytes)
                for T in horizons:
                    for first in range(0, seeds, block):
                        n = min(block, seeds - first)
                        seconds += est.seconds * (T / max(horizons)) * (n / min(block, seeds))
                        config = {"scenario": sc.resolved(), "T": T, "label": spec.label,
                                  "kind": spec.kind, "params": params, "first": first,
                                  "count": n, "occ": _version()}
                        cells.append(Cell(sc.path or str(scenario_name), T, spec.label + suffix,
                                          spec.kind, params, first, n, config,
                                          {**raw, "T": T}, source))
    return Sweep(name, str(path), tuple(cells), swept, Estimate(peak, seconds))


def _validated(sc: Scenario, spec: LearnerSpec, params: dict[str, Any], T: int,
               from_sweep: bool, sweep_path: str) -> tuple[Scenario, dict[str, Any]]:
    """The cell's scenario parsed and validated as a scenario file would be (learner
    hyperparameters, domains, adversary), and its table. An error in the learner table
    of the sweep file, or in the sweep's T, names the sweep file."""
    raw = copy.deepcopy(sc.raw)
    raw.pop("name", None)
    raw.pop("expect", None)  # a sweep checks no expectations (they name other labels)
    raw["learners"] = {spec.label: {"kind": spec.kind, **params}}
    raw["T"] = T
    raw["checkpoints"] = sc.checkpoints
    raw.setdefault("check", {})
    try:
        parsed = parse_scenario(raw, sc.path, sc.name)
    except ParameterError as exc:
        field = exc.field
        if (from_sweep and field.startswith("learners.")) or field in ("T", "checkpoints"):
            raise ParameterError(field, exc.message, sweep_path) from None
        raise
    raw["name"] = sc.name
    return parsed, raw


def _configured(sc: Scenario) -> Any:
    from occ.batches import expand_learner

    spec = sc.learners[0]
    return expand_learner(spec.label, spec.kind, spec.params, sc.domain, np.arange(1),
                          sc.shape).learner


def check_size(sweep: Sweep, allow_large: bool) -> None:
    """Refuse a sweep whose largest cell cannot fit in memory, or that is above the size
    threshold without ``allow_large`` (:mod:`occ.limits`)."""
    from occ.limits import check

    check(sweep.path, sweep.estimate, allow_large)


def _version() -> str:
    from occ.version import __version__

    return __version__


def _learner_specs(sc: Scenario, tables: dict[str, Any] | None) -> list[LearnerSpec]:
    if tables is None:
        return list(sc.learners)
    specs = []
    for label, table in tables.items():
        check_name(label, f"learners.{label}" if len(label) < 40 else "learners")
        if not isinstance(table, dict) or "kind" not in table:
            raise ParameterError(f"learners.{label}", "must be a table with a kind")
        params = {k: v for k, v in table.items() if k != "kind"}
        check_loaded(table["kind"], f"learners.{label}.kind")
        kinds = learner_kinds()
        if not isinstance(table["kind"], str) or table["kind"] not in kinds:
            raise ParameterError(f"learners.{label}.kind",
                                 f"must be one of {', '.join(kinds)}, got {table['kind']!r}")
        specs.append(LearnerSpec(label, table["kind"], params))
    return specs


def _import_plugins(plugins: tuple[str, ...]) -> None:
    for module in plugins:
        importlib.import_module(module)


def run_cell(cell: Cell, plugins: tuple[str, ...] = ()) -> dict[str, Any]:
    """Compute one cell from its own contents (never from files relative to the worker's
    directory) and return its status and tables (CSV text): the client writes them.
    Never raises: an error is returned as the cell's status."""
    try:
        _import_plugins(plugins)
        return _tables([cell])[0]
    except Exception as exc:  # recorded, and the sweep goes on
        return {"key": cell.key, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def run_cells(cells: tuple[Cell, ...], plugins: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Compute a group of cells that differ only in their block of repetitions
    (:func:`group_cells`) in one run over all their repetitions, and split its tables
    back per cell: each repetition's numbers depend only on its index, so every cell's
    tables are those :func:`run_cell` gives it alone (held equal, text for text, by the
    tests). A group that raises is computed cell by cell, so each error is its cell's own.
    Never raises."""
    if len(cells) == 1:
        return [run_cell(cells[0], plugins)]
    try:
        _import_plugins(plugins)
        return _tables(list(cells))
    except Exception:
        return [run_cell(cell, plugins) for cell in cells]


def _tables(cells: list[Cell]) -> list[dict[str, Any]]:
    from occ.api import run

    cell = cells[0]
    sc = parse_scenario(copy.deepcopy(cell.data), cell.source or cell.scenario,
                        cell.data.get("name", "scenario"))
    sc = dataclasses.replace(sc, learners=(LearnerSpec(cell.label, cell.kind, cell.params),))
    repetitions = np.concatenate([np.arange(c.first, c.first + c.count) for c in cells])
    result = run(sc, T=cell.T, seeds=int(repetitions.max()) + 1, repetitions=repetitions,
                 summary=False)  # a cell keeps its metrics and bounds only
    last = result.bounds[result.bounds["t"] == cell.T]
    metrics, bounds = (_per_cell(frame, cells, scenario=sc.name, d=sc.d, T=cell.T)
                       for frame in (result.metrics, last))
    return [{"key": c.key, "status": "done", "metrics": m, "bounds": b}
            for c, m, b in zip(cells, metrics, bounds, strict=True)]


def _per_cell(frame: pd.DataFrame, cells: list[Cell], **columns: Any) -> list[str]:
    """Each cell's rows of ``frame`` (by seed, in the frame's order) with the constant
    ``columns`` and its key as ``cell`` appended, as CSV text: the text ``to_csv`` gives the
    cell's rows alone (a value's text does not depend on its neighbours), written once for
    the whole frame and split by lines, which for 96 small cells took a tenth of the time of
    selecting and writing each cell's frame (profiled). A frame whose text has a record over
    several lines (a quoted newline) is written cell by cell."""
    seed = frame["seed"].to_numpy()
    owner = np.full(len(frame), -1, dtype=np.int64)
    for index, c in enumerate(cells):
        owner[(seed >= c.first) & (seed < c.first + c.count)] = index
    keys = np.array([c.key for c in cells] + [""], dtype=object)  # [-1]: owned by none
    whole = frame.assign(**columns, cell=keys[owner])
    lines = whole.to_csv(index=False).split("\n")
    if len(lines) != len(frame) + 2:  # header, one line a row, the empty tail
        return [whole[owner == i].to_csv(index=False) for i in range(len(cells))]
    body = np.array(lines[1:-1], dtype=object)
    return [lines[0] + "\n" + "".join(line + "\n" for line in body[owner == i])
            for i in range(len(cells))]


GROUP_WORK = 10**6
"""A cell of at most this many repetition-steps times coordinates (``T count d``) is small:
its run's fixed costs (parsing, tables, bound evaluation) outweigh its steps, so it is
computed in one run with the other blocks of its configuration (:func:`group_cells`)."""
MAX_GROUP = 64
"""At most this many cells in one group."""


def group_cells(cells: list[Cell], workers: int) -> list[tuple[Cell, ...]]:
    """The tasks of a sweep: small cells that differ only in their block of repetitions
    grouped (in their order, at most ``MAX_GROUP`` each, and split so that there are at
    least ``2 workers`` tasks where the cells allow it), every other cell alone."""
    buckets: dict[str, list[Cell]] = {}
    tasks: list[Any] = []
    for cell in cells:
        work = cell.T * cell.count * int(cell.data.get("d", 1) or 1) * max(
            1, math.prod(int(x) for x in (cell.data.get("shape") or [1])))
        if work > GROUP_WORK:
            tasks.append((cell,))
            continue
        config = {k: v for k, v in cell.config.items() if k not in ("first", "count",
                                                                    "seeds", "block")}
        same = json.dumps([cell.scenario, cell.T, cell.label, cell.kind, cell.params, config,
                           cell.source], sort_keys=True, default=str)
        if same not in buckets:
            buckets[same] = []
            tasks.append(buckets[same])
        buckets[same].append(cell)
    size = max(1, min(MAX_GROUP, -(-len(cells) // (2 * max(workers, 1)))))
    out: list[tuple[Cell, ...]] = []
    for task in tasks:
        task = list(task)
        out.extend(tuple(task[i:i + size]) for i in range(0, len(task), size))
    return out


def _store(cell: Cell, outcome: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Write a cell's outcome into the cell folder (atomically); return it without the
    tables."""
    if outcome.get("status") == "done":
        atomic_write(folder / f"{cell.key}.bounds.csv",
                     lambda p: p.write_text(outcome["bounds"], encoding="utf-8"))
        atomic_write(folder / f"{cell.key}.csv",
                     lambda p: p.write_text(outcome["metrics"], encoding="utf-8"))
        (folder / f"{cell.key}.error.json").unlink(missing_ok=True)
    else:
        atomic_write(folder / f"{cell.key}.error.json", lambda p: p.write_text(
            json.dumps({"cell": cell.config, "error": outcome.get("error", "")}, default=str,
                       indent=2)))
    return {k: v for k, v in outcome.items() if k not in ("metrics", "bounds")}


def clean_locks(folder: Path) -> int:
    """Remove the lock files no process holds (left by a runner that was killed)."""
    import fcntl

    removed = 0
    for path in Path(folder).glob("*.lock"):
        try:
            with open(path, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink(missing_ok=True)
                removed += 1
        except OSError:
            continue  # held: a cell in progress elsewhere
    return removed


class CellLock:
    """An exclusive lock on one cell (``cells/<key>.lock``, ``flock``): two sweeps of one
    file never compute a cell twice. The kernel releases it when its holder dies."""

    def __init__(self, folder: Path, key: str) -> None:
        self.path = folder / f"{key}.lock"
        self.handle: Any = None

    def acquire(self) -> bool:
        import fcntl

        for _ in range(5):
            handle = open(self.path, "a")  # noqa: SIM115 (held until release)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            try:  # the file may have been removed (released) between open and flock
                same = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.handle = handle
                return True
            handle.close()
        return False

    def release(self) -> None:
        if self.handle is not None:
            self.path.unlink(missing_ok=True)  # after the result is in place
            self.handle.close()
            self.handle = None
def cell_folder(out: Path) -> Path:
    return Path(out) / "cells"


def status(sweep: Sweep, out: Path) -> dict[str, int]:
    folder = cell_folder(out)
    done = sum((folder / f"{c.key}.csv").is_file() for c in sweep.cells)
    failed = sum((folder / f"{c.key}.error.json").is_file() and
                 not (folder / f"{c.key}.csv").is_file() for c in sweep.cells)
    return {"cells": len(sweep.cells), "done": done, "failed": failed,
            "pending": len(sweep.cells) - done - failed}


def run_sweep(sweep: Sweep, out: Path, executor: str = "local", workers: int | None = None,
              scheduler: str | None = None, max_cells: int | None = None,
              progress: Callable[[dict[str, Any]], None] | None = None,
              plugins: tuple[str, ...] = ()) -> dict[str, Any]:
    """Compute every unfinished cell (at most ``max_cells`` of them), then collect the
    tables and draw the figures. ``plugins`` are modules each worker imports first (they
    register extra learners or adversaries). Returns the counts, the failed cells and
    figure warnings. Cells another runner holds are waited for, not computed twice."""
    if max_cells is not None and (isinstance(max_cells, bool) or max_cells < 1):
        raise OccError(f"--max-cells: must be an integer >= 1, got {max_cells!r}")
    _import_plugins(plugins)
    out = Path(out).absolute()  # resolved here, on the client
    folder = cell_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale(folder)
    clean_stale(out)
    clean_locks(folder)
    todo = [c for c in sweep.cells if not (folder / f"{c.key}.csv").is_file()]
    todo = list({c.key: c for c in todo}.values())
    if max_cells is not None:
        todo = todo[:max_cells]
    outcomes: list[dict[str, Any]] = []
    if todo:
        outcomes = _compute(todo, folder, executor, workers, scheduler, progress, plugins)
    warnings: list[str] = []
    table = collect(sweep, out, warnings)
    failed = [o for o in outcomes if o["status"] == "failed"]
    return {"computed": sum(o["status"] == "done" for o in outcomes), "failed": failed,
            "warnings": warnings,
            "status": status(sweep, out), "rows": 0 if table is None else len(table)}


def _compute(cells: list[Cell], folder: Path, executor: str, workers: int | None,
             scheduler: str | None, progress: Callable | None,
             plugins: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if executor == "dask":
        submit, close = _dask(workers, scheduler)
    elif executor == "local":
        submit, close = _local(workers or os.cpu_count() or 1, plugins)
    else:
        raise OccError(f"--executor: must be one of local, dask, got {executor!r}")
    try:
        outcomes = _schedule(cells, folder, submit, 2 * (workers or os.cpu_count() or 1),
                             progress, plugins)
    except BaseException:  # Ctrl-C: stop the workers now; finished cells are on disk
        close(True)
        raise
    close(False)
    return outcomes


def _schedule(cells: list[Cell], folder: Path, submit: Callable, width: int,
              progress: Callable | None, plugins: tuple[str, ...]) -> list[dict[str, Any]]:
    """Submit tasks (:func:`group_cells`: small cells grouped), at most ``width`` in
    flight, each cell under its lock; write each cell's result here, on the client, as
    its task returns. A cell locked by another runner is put aside and taken once it is
    free (done by then, or left by a runner that died). ``submit(cells, plugins)`` returns
    a future of their outcomes; a future whose worker died raises
    :class:`BrokenWorkerError` and each of its cells is resubmitted once, alone (so a cell
    that kills its worker fails by itself)."""
    queue: list[tuple[Cell, ...]] = group_cells(list(cells), max(1, width // 2))
    waiting: list[tuple[Cell, ...]] = []
    attempts: dict[str, int] = {}
    outcomes: list[dict[str, Any]] = []
    inflight: dict[Any, list[tuple[Cell, CellLock]]] = {}

    def finish(cell: Cell, lock: CellLock, outcome: dict[str, Any]) -> None:
        try:
            outcome = _store(cell, outcome, folder)
        finally:
            lock.release()
        outcomes.append(outcome)
        if progress:
            progress(outcome)

    try:
        while queue or inflight or waiting:
            while queue and len(inflight) < width:
                held = []
                for cell in queue.pop(0):
                    lock = CellLock(folder, cell.key)
                    if not lock.acquire():
                        waiting.append((cell,))
                        continue
                    if (folder / f"{cell.key}.csv").is_file():  # finished by another runner
                        lock.release()
                        continue
                    held.append((cell, lock))
                if held:
                    inflight[submit(tuple(c for c, _ in held), plugins)] = held
            if not inflight:
                if waiting:  # only cells another runner holds: wait for them
                    futures.wait([], timeout=0.2)
                    queue, waiting = waiting, []
                continue
            done, _ = futures.wait(list(inflight), return_when=futures.FIRST_COMPLETED)
            for handle in done:
                held = inflight.pop(handle)
                try:
                    results = handle.result()
                except BrokenWorkerError:
                    retry = []
                    for cell, lock in held:
                        attempts[cell.key] = attempts.get(cell.key, 0) + 1
                        if attempts[cell.key] <= 1:
                            lock.release()
                            retry.append((cell,))
                        else:
                            finish(cell, lock, {"key": cell.key, "status": "failed", "error":
                                                "its worker process died twice; retried on "
                                                "resume"})
                    queue[0:0] = retry
                    continue
                except Exception as exc:  # the task itself could not run
                    results = [{"key": cell.key, "status": "failed",
                                "error": f"{type(exc).__name__}: {exc}"} for cell, _ in held]
                by_key = {r.get("key"): r for r in results}
                for cell, lock in held:
                    finish(cell, lock, by_key.get(cell.key, {
                        "key": cell.key, "status": "failed", "error": "no result returned"}))
    finally:
        for held in inflight.values():
            for _, lock in held:
                lock.release()
    return outcomes


class BrokenWorkerError(Exception):
    """A cell's worker process died (killed, out of memory)."""


def _watch_parent(parent: int) -> None:
    """In a pool worker: exit as soon as the process that started it is gone (killed
    with SIGKILL, it could not shut the pool down), and leave Ctrl-C to the parent."""
    import signal
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(3)
            time.sleep(0.25)

    threading.Thread(target=watch, name="occ-parent-watch", daemon=True).start()


def _worker_init(plugins: tuple[str, ...], parent: int) -> None:
    _watch_parent(parent)
    _import_plugins(plugins)


@contextlib.contextmanager
def _no_interrupt() -> Iterator[None]:
    """SIGINT blocked in this thread while pool workers may be started: the signal mask
    survives fork and exec, so workers never see a Ctrl-C (not even while they import),
    which the parent alone handles by stopping them. Nothing is lost meanwhile: the
    kernel gives a Ctrl-C to another thread, and Python raises it here when the block
    ends."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Pool:
    """A process pool that is replaced when a worker dies (the cells in flight then raise
    :class:`BrokenWorkerError` and are resubmitted by :func:`_schedule`)."""

    ORPHAN_CHECK_SECONDS = 0.5
    """How often the watchdog looks for tasks a broken pool left pending."""

    def __init__(self, workers: int, plugins: tuple[str, ...]) -> None:
        import threading

        self.workers, self.plugins = workers, plugins
        self.pool = self._new()
        self.lock = threading.Lock()
        self.pending: dict[futures.Future, tuple[futures.ProcessPoolExecutor,
                                                 futures.Future]] = {}
        self.stopped = threading.Event()
        threading.Thread(target=self._watch_orphans, name="occ-pool-orphans",
                         daemon=True).start()

    def _settle(self, outer: futures.Future, result: Any = None,
                error: BaseException | None = None) -> None:
        """Give ``outer`` its result or error once (the relay and the watchdog may both
        try)."""
        with self.lock:
            self.pending.pop(outer, None)
            if outer.done():
                return
            if error is None:
                outer.set_result(result)
            else:
                outer.set_exception(error)

    def _watch_orphans(self) -> None:
        """A task of a pool that is broken (a worker died) can never finish; the pool fails
        the ones it knows of, but a task submitted while it was failing them (CPython
        3.11's ``terminate_broken`` clears the pending tasks without the lock ``submit``
        holds) stays pending for ever, and the sweep would wait for it for ever: such a
        task raises :class:`BrokenWorkerError` here, as the others do."""
        while not self.stopped.wait(self.ORPHAN_CHECK_SECONDS):
            with self.lock:
                orphans = [outer for outer, (pool, inner) in self.pending.items()
                           if getattr(pool, "_broken", False) and not inner.done()]
            for outer in orphans:
                self._settle(outer, error=BrokenWorkerError())

    def _new(self) -> futures.ProcessPoolExecutor:
        """Workers are spawned, not forked: the compiled engine's thread pool does not
        survive a fork of a process that has used it."""
        return futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init, initargs=(self.plugins, os.getpid()))

    def submit(self, cells: tuple[Cell, ...], plugins: tuple[str, ...]) -> futures.Future:
        outer: futures.Future = futures.Future()
        with _no_interrupt():  # a worker started now inherits SIGINT blocked
            if getattr(self.pool, "_broken", False):
                self._replace()
            try:
                inner = self.pool.submit(run_cells, cells, plugins)
            except futures.process.BrokenProcessPool:
                self._replace()
                inner = self.pool.submit(run_cells, cells, plugins)

        def relay(f: futures.Future) -> None:
            try:
                self._settle(outer, f.result())
            except futures.process.BrokenProcessPool:
                self._settle(outer, error=BrokenWorkerError())
            except BaseException as exc:
                self._settle(outer, error=exc)

        with self.lock:
            self.pending[outer] = (self.pool, inner)
        inner.add_done_callback(relay)
        return outer

    def _replace(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new()

    def close(self, interrupted: bool = False) -> None:
        self.stopped.set()
        if interrupted:
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=not interrupted, cancel_futures=True)
        if interrupted:
            # a worker the pool was spawning meanwhile is not in its table yet; it has SIGINT
            # blocked and would run its (grouped) task to the end while the interpreter's
            # exit waits for the pool: every child of this process goes now
            for process in multiprocessing.active_children():
                process.terminate()


def _local(workers: int, plugins: tuple[str, ...]) -> tuple[Callable, Callable]:
    pool = _Pool(workers, plugins)
    return pool.submit, pool.close


ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx|inproc)://)?(?:[A-Za-z0-9_.-]+|\[[0-9a-fA-F:]+\])"
                     r"(?::(?P<port>[0-9]{1,5}))?")


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address of the form ``tcp://host:8786``, or one clear line."""
    match = ADDRESS.fullmatch(address or "")
    if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise OccError(f"--scheduler: must be an address such as tcp://host:8786, got "
                       f"{address!r}"[:200])
    return address


def reach_scheduler(address: str, timeout: float = 3.0) -> None:
    """Fail fast, in one line, when nothing listens at a TCP scheduler address."""
    import socket

    match = ADDRESS.fullmatch(check_scheduler_address(address))
    if not address.startswith(("tcp://", "tls://")) and "://" in address:
        return  # another transport: Dask itself says
    rest = address.split("://", 1)[-1]
    host = rest.rsplit(":", 1)[0].strip("[]") if match["port"] else rest.strip("[]")
    port = int(match["port"] or 8786)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OccError(f"--scheduler: no Dask scheduler answers at {address} ({reason})") from None


DASK_TIMEOUT = 10.0
"""Seconds to reach a Dask scheduler before giving up."""


def _dask(workers: int | None, scheduler: str | None) -> tuple[Callable, Callable]:
    """Cells as Dask tasks on an existing scheduler, or on a LocalCluster started here.
    Dask reschedules the tasks of a lost worker itself; results come back to the client."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise OccError("--executor dask needs Dask: pip install 'occ[dask]'") from None
    cluster = None
    if scheduler:
        check_scheduler_address(scheduler)
        import logging

        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            client = Client(scheduler, timeout=DASK_TIMEOUT)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise OccError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} "
                           f"within {DASK_TIMEOUT:g} s ({reason})") from None
        finally:
            quiet.setLevel(level)
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)

    def submit(cells: tuple[Cell, ...], plugins: tuple[str, ...]) -> Any:
        outer: futures.Future = futures.Future()
        task = client.submit(run_cells, cells, plugins, pure=False)

        def relay(f: Any) -> None:
            try:
                outer.set_result(f.result())
            except BaseException as exc:
                outer.set_exception(exc)

        task.add_done_callback(relay)
        return outer

    def close(interrupted: bool = False) -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return submit, close


def read_tables(texts: list[str], extras: list[dict[str, Any]] | None,
                **read_csv: Any) -> pd.DataFrame:
    """``pd.concat`` of each CSV text read by ``pd.read_csv`` with its ``extras`` (the
    cell's scalar hyperparameters) as constant columns, ignoring the index: the same
    table, parsed once per run of consecutive texts with one header (reading 96 cell
    files one by one took a second, profiled). A run whose rows do not come out one a
    line (a quoted newline) is read text by text, as are header-only texts."""
    import io

    extras = extras if extras is not None else [{} for _ in texts]

    def alone(text: str, extra: dict[str, Any]) -> pd.DataFrame:
        frame = pd.read_csv(io.StringIO(text), **read_csv)
        for key, value in extra.items():
            frame[key] = value
        return frame

    def together(run: list[int]) -> list[pd.DataFrame]:
        header = texts[run[0]].split("\n", 1)[0]
        bodies = [texts[i].split("\n", 1)[1] for i in run]
        rows = [body.count("\n") + (not body.endswith("\n")) for body in bodies]
        frame = pd.read_csv(io.StringIO(header + "\n" + "".join(
            b if b.endswith("\n") else b + "\n" for b in bodies)), **read_csv)
        if len(frame) != sum(rows):
            return [alone(texts[i], extras[i]) for i in run]
        keys = list(dict.fromkeys(k for i in run for k in extras[i]))
        for key in keys:  # one value a text, repeated over its rows
            values = pd.Series([extras[i].get(key, np.nan) for i in run]).repeat(rows)
            values = values.reset_index(drop=True)
            if key in frame.columns:  # a text without the key keeps its own column
                has = pd.Series([key in extras[i] for i in run]).repeat(rows).to_numpy()
                if not has.all():
                    return [alone(texts[i], extras[i]) for i in run]
            frame[key] = values
        return [frame]

    frames: list[pd.DataFrame] = []
    run: list[int] = []
    for index, text in enumerate(texts):
        header, _, body = text.partition("\n")
        if not body.strip():
            frames.extend(together(run) if run else [])
            run = []
            frames.append(alone(text, extras[index]))
        elif run and texts[run[0]].partition("\n")[0] != header:
            frames.extend(together(run))
            run = [index]
        else:
            run.append(index)
    frames.extend(together(run) if run else [])
    return pd.concat(frames, ignore_index=True)


def collect(sweep: Sweep, out: Path, warnings: list[str] | None = None) -> pd.DataFrame | None:
    """Every finished cell in one tidy table, sorted (``sweep.csv``, and the final-T bound
    rows in ``sweep_bounds.csv``), then the sweep figures: a figure that cannot be drawn
    is reported in ``warnings`` and the tables are kept."""
    folder = cell_folder(out)
    done = [c for c in {c.key: c for c in sweep.cells}.values()
            if (folder / f"{c.key}.csv").is_file()]
    if not done:
        return None
    extras = [{key: json.dumps(value) if isinstance(value, dict) else value
               for key, value in c.params.items() if not isinstance(value, list)}
              for c in done]
    table = read_tables([(folder / f"{c.key}.csv").read_text(encoding="utf-8") for c in done],
                        extras)
    bounds = read_tables([(folder / f"{c.key}.bounds.csv").read_text(encoding="utf-8")
                          for c in done], None, dtype={"note": str})
    table = table.sort_values(["scenario", "T", "learner", "seed", "t"], kind="stable")
    table = table.reset_index(drop=True)
    bounds = bounds.sort_values(
        ["scenario", "T", "learner", "bound", "seed"], kind="stable").reset_index(drop=True)
    atomic_write(Path(out) / "sweep.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(Path(out) / "sweep_bounds.csv", lambda p: bounds.to_csv(p, index=False))
    from occ.plots import plot_sweep

    try:
        plot_sweep(table, bounds, sweep, Path(out))
    except Exception as exc:  # the tables are written: report the figures, keep the run
        if warnings is None:
            raise
        warnings.append(f"sweep figures not drawn ({type(exc).__name__}: {exc})")
    return table
