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
import dataclasses
import hashlib
import importlib
import itertools
import json
import math
import multiprocessing
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occ.errors import OccError, ParameterError, ScenarioError
from occ.learners import LEARNERS
from occ.named import packaged
from occ.params import Real
from occ.results import atomic_write
from occ.scenarios import LearnerSpec, Scenario, load_scenario

SWEEP_KEYS = ("name", "description", "scenarios", "T", "seeds", "seed_block", "learners",
              "checkpoints")


@dataclass(frozen=True)
class Cell:
    """One independent job: a scenario at one horizon, one learner (its batchable grid in
    the batch axis), one block of repetitions."""

    scenario: str
    T: int
    label: str
    kind: str
    params: dict[str, Any]
    first: int
    count: int
    config: dict[str, Any]

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


def _grid_values(value: Any, where: str) -> Any:
    """A grid spec as a list: {log = [a, b], num}, {linear = [a, b], num}, or a list."""
    if isinstance(value, dict):
        if set(value) not in ({"log", "num"}, {"linear", "num"}):
            raise ParameterError(where, "a grid table is {log = [a, b], num = N} or "
                                 "{linear = [a, b], num = N}")
        kind = "log" if "log" in value else "linear"
        ends, num = value[kind], value["num"]
        if (not isinstance(ends, list) or len(ends) != 2 or not isinstance(num, int) or num < 1
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in ends)
                or (kind == "log" and min(ends) <= 0)):
            raise ParameterError(where, f"needs two finite ends{' > 0' if kind == 'log' else ''}"
                                 " and an integer num >= 1")
        points = (np.geomspace(*ends, num) if kind == "log" else np.linspace(*ends, num))
        return [float(v) for v in points]
    return value


def _batchable(kind: str, name: str) -> bool:
    cls = LEARNERS.get(kind)
    if cls is None:
        return False
    for f in dataclasses.fields(cls):
        if f.name == name:
            constraint = f.metadata.get("constraint")
            return isinstance(constraint, Real) and constraint.per_row
    return False


def _takes_a_list(kind: str, name: str) -> bool:
    """Fields whose value is itself a list (a per-coordinate c, a matrix A)."""
    from occ.params import Preconditioner, RealVector

    cls = LEARNERS.get(kind)
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
    cells; errors name the file and field."""
    path = sweep_path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the sweep file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _build(data, path)
    except ParameterError as exc:
        raise exc.located(str(path)) from None


def _int_list(value: Any, name: str, low: int) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool)
                             and float(v).is_integer() and v >= low for v in values):
        raise ParameterError(name, f"must be an integer >= {low} or a list of them, "
                             f"got {value!r}")
    return [int(v) for v in values]


def _build(data: dict[str, Any], path: Path) -> Sweep:
    unknown = sorted(set(data) - set(SWEEP_KEYS))
    if unknown:
        raise ParameterError(unknown[0], f"unknown field; allowed: {', '.join(SWEEP_KEYS)}")
    names = data.get("scenarios")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ParameterError("scenarios", "must be a non-empty list of scenario names or paths")
    learner_tables = data.get("learners")
    if learner_tables is not None and (not isinstance(learner_tables, dict) or not learner_tables):
        raise ParameterError("learners", "must be tables [learners.LABEL] with a kind")
    cells: list[Cell] = []
    swept: dict[str, list[str]] = {}
    for name in names:
        base = path.parent / name if name.endswith(".toml") else name
        sc = load_scenario(base)
        horizons = _int_list(data.get("T", sc.T), "T", 1)
        seeds = _int_list(data.get("seeds", sc.seeds), "seeds", 1)[0]
        block = _int_list(data.get("seed_block", seeds), "seed_block", 1)[0]
        specs = _learner_specs(sc, learner_tables)
        for spec in specs:
            fixed, batch, split = {}, {}, {}
            for key, value in spec.params.items():
                value = _grid_values(value, f"learners.{spec.label}.{key}")
                if isinstance(value, list) and not _takes_a_list(spec.kind, key):
                    (batch if _batchable(spec.kind, key) else split)[key] = value
                    swept.setdefault(spec.label, []).append(key)
                else:
                    fixed[key] = value
            for combo in itertools.product(*split.values()) or [()]:
                chosen = dict(zip(split, combo, strict=True))
                params = {**fixed, **batch, **chosen}
                suffix = "".join(f"[{k}={v}]" for k, v in chosen.items())
                for T in horizons:
                    for first in range(0, seeds, block):
                        count = min(block, seeds - first)
                        config = {"scenario": sc.resolved(), "T": T, "label": spec.label,
                                  "kind": spec.kind, "params": params, "first": first,
                                  "count": count, "occ": _version()}
                        cells.append(Cell(str(base), T, spec.label + suffix, spec.kind,
                                          params, first, count, config))
    return Sweep(str(data.get("name", path.stem)), str(path), tuple(cells), swept)


def _version() -> str:
    from occ.version import __version__

    return __version__


def _learner_specs(sc: Scenario, tables: dict[str, Any] | None) -> list[LearnerSpec]:
    if tables is None:
        return list(sc.learners)
    specs = []
    for label, table in tables.items():
        if not isinstance(table, dict) or "kind" not in table:
            raise ParameterError(f"learners.{label}", "must be a table with a kind")
        params = {k: v for k, v in table.items() if k != "kind"}
        if table["kind"] not in LEARNERS:
            raise ParameterError(f"learners.{label}.kind",
                                 f"must be one of {', '.join(LEARNERS)}, got {table['kind']!r}")
        specs.append(LearnerSpec(label, table["kind"], params))
    return specs


def run_cell(cell: Cell, folder: str) -> dict[str, Any]:
    """Compute one cell and write its tables atomically; return its status. Never raises:
    an error is recorded beside the cell."""
    folder_path = Path(folder)
    try:
        from occ.api import run

        sc = load_scenario(cell.scenario)
        sc = dataclasses.replace(sc, learners=(LearnerSpec(cell.label, cell.kind,
                                                            cell.params),))
        result = run(sc, T=cell.T, seeds=cell.first + cell.count,
                         repetitions=np.arange(cell.first, cell.first + cell.count))
        metrics = result.metrics.assign(scenario=sc.name, d=sc.d, T=cell.T, cell=cell.key)
        bounds = result.bounds[result.bounds["t"] == cell.T]
        bounds = bounds.assign(scenario=sc.name, d=sc.d, T=cell.T, cell=cell.key)
        atomic_write(folder_path / f"{cell.key}.bounds.csv",
                     lambda p: bounds.to_csv(p, index=False))
        atomic_write(folder_path / f"{cell.key}.csv", lambda p: metrics.to_csv(p, index=False))
        (folder_path / f"{cell.key}.error.json").unlink(missing_ok=True)
        return {"key": cell.key, "status": "done"}
    except Exception as exc:  # recorded, and the sweep goes on
        message = f"{type(exc).__name__}: {exc}"
        atomic_write(folder_path / f"{cell.key}.error.json", lambda p: p.write_text(
            json.dumps({"cell": cell.config, "error": message}, default=str, indent=2)))
        return {"key": cell.key, "status": "failed", "error": message}


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
    register extra learners or adversaries). Returns the counts and the failed cells."""
    for module in plugins:
        importlib.import_module(module)
    folder = cell_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    todo = [c for c in sweep.cells if not (folder / f"{c.key}.csv").is_file()]
    if max_cells is not None:
        todo = todo[:max_cells]
    outcomes: list[dict[str, Any]] = []
    if todo:
        outcomes = _compute(todo, folder, executor, workers, scheduler, progress, plugins)
    table = collect(sweep, out)
    failed = [o for o in outcomes if o["status"] != "done"]
    return {"computed": sum(o["status"] == "done" for o in outcomes), "failed": failed,
            "status": status(sweep, out), "rows": 0 if table is None else len(table)}


def _compute(cells: list[Cell], folder: Path, executor: str, workers: int | None,
             scheduler: str | None, progress: Callable | None,
             plugins: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if executor == "dask":
        return _compute_dask(cells, folder, workers, scheduler, progress)
    return _compute_local(cells, folder, workers or os.cpu_count() or 1, progress, plugins)


def _import_plugins(plugins: tuple[str, ...]) -> None:
    for module in plugins:
        importlib.import_module(module)


def _pool(workers: int, plugins: tuple[str, ...]) -> futures.ProcessPoolExecutor:
    """Workers are spawned, not forked: the compiled engine's thread pool does not survive
    a fork of a process that has used it."""
    return futures.ProcessPoolExecutor(max_workers=workers,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_import_plugins, initargs=(plugins,))


def _compute_local(cells: list[Cell], folder: Path, workers: int,
                   progress: Callable | None, plugins: tuple[str, ...] = ()
                   ) -> list[dict[str, Any]]:
    """A process pool with at most 2 x workers cells in flight. If a worker process dies
    (killed, out of memory) the pool breaks: the cells it had in flight are resubmitted
    once to a fresh pool; a cell that breaks the pool twice is recorded as failed (and
    retried on the next run). Finished cells are on disk whatever happens."""
    queue = list(cells)
    attempts: dict[str, int] = {}
    outcomes: list[dict[str, Any]] = []
    pool = _pool(workers, plugins)
    inflight: dict[futures.Future, Cell] = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < 2 * workers:
                cell = queue.pop(0)
                inflight[pool.submit(run_cell, cell, str(folder))] = cell
            done, _ = futures.wait(inflight, return_when=futures.FIRST_COMPLETED)
            broken = False
            for handle in done:
                cell = inflight.pop(handle)
                try:
                    outcome = handle.result()
                except futures.process.BrokenProcessPool:
                    broken = True
                    attempts[cell.key] = attempts.get(cell.key, 0) + 1
                    if attempts[cell.key] <= 1:
                        queue.insert(0, cell)
                        continue
                    outcome = {"key": cell.key, "status": "failed",
                               "error": "its worker process died twice; retried on resume"}
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
            if broken:
                queue = list(inflight.values()) + queue
                inflight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _pool(workers, plugins)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _compute_dask(cells: list[Cell], folder: Path, workers: int | None, scheduler: str | None,
                  progress: Callable | None) -> list[dict[str, Any]]:
    """Cells as Dask tasks on an existing scheduler, or on a LocalCluster started here.
    Dask reschedules the tasks of a lost worker itself."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise OccError("--executor dask needs Dask: pip install 'occ[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    outcomes = []
    try:
        handles = {client.submit(run_cell, c, str(folder), pure=False): c for c in cells}
        for handle in as_completed(list(handles)):
            try:
                outcome = handle.result()
            except Exception as exc:  # the task itself could not run: retried on resume
                outcome = {"key": handles[handle].key, "status": "failed",
                           "error": f"{type(exc).__name__}: {exc}"}
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return outcomes


def collect(sweep: Sweep, out: Path) -> pd.DataFrame | None:
    """Every finished cell in one tidy table, sorted (``sweep.csv``, and the final-T bound
    rows in ``sweep_bounds.csv``), and the sweep figures."""
    folder = cell_folder(out)
    frames, bound_frames = [], []
    for cell in sweep.cells:
        path = folder / f"{cell.key}.csv"
        if path.is_file():
            frame = pd.read_csv(path)
            for key, value in cell.params.items():
                if not isinstance(value, list):
                    frame[key] = json.dumps(value) if isinstance(value, dict) else value
            frames.append(frame)
            bound_frames.append(pd.read_csv(folder / f"{cell.key}.bounds.csv",
                                            dtype={"note": str}))
    if not frames:
        return None
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["scenario", "T", "learner", "seed", "t"], kind="stable")
    table = table.reset_index(drop=True)
    bounds = pd.concat(bound_frames, ignore_index=True).sort_values(
        ["scenario", "T", "learner", "bound", "seed"], kind="stable").reset_index(drop=True)
    atomic_write(Path(out) / "sweep.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(Path(out) / "sweep_bounds.csv", lambda p: bounds.to_csv(p, index=False))
    from occ.plots import plot_sweep

    plot_sweep(table, bounds, sweep, Path(out))
    return table
