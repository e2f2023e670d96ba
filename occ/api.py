"""The Python entry point: ``occ.run("default", T=1000, seeds=5)``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occ.backend import get_namespace
from occ.batches import DEFAULT_CHUNK, LearnerBatch, expand_learner
from occ.bounds import BOUND_COLUMNS, FACT_COLUMNS, evaluate, evaluate_facts
from occ.harness import log_checkpoints, simulate
from occ.learners.facts import json_ready
from occ.limits import check as check_size
from occ.limits import scenario_estimate
from occ.results import (
    RunResult,
    check_formats,
    environment,
    metrics_frame,
    new_run_id,
    summarize,
    write_run,
)
from occ.scenarios import Scenario, load_scenario, with_size
from occ.statistics import DIVERGENCE_CAUSES


def _metrics(sc: Scenario, outcome: Any) -> pd.DataFrame:
    """The tidy metrics of one learner, with the adversary's own columns: the exact
    expected regret (Rademacher), the excess risk of the averaged iterate (online-to-
    batch), wealth and the comparator's duality gap (portfolios)."""
    stats, batch = outcome.statistics, outcome.batch
    frame = metrics_frame(stats, batch.row_labels, batch.row_seeds)
    adversary, family = sc.adversary, outcome.family
    if hasattr(adversary, "expected_regret"):
        expected = adversary.expected_regret(stats.t, sc.d)
        frame["expected_regret"] = np.tile(expected, stats.regret.shape[0])
    if stats.iterate_sum_along is not None:  # m^T w_bar, kept by the engine
        along = stats.iterate_sum_along / stats.t[None, :]
        frame["excess_risk"] = adversary.excess_risk_along(along, sc.d, sc.domain).ravel()
    elif hasattr(adversary, "excess_risk"):
        w_bar = stats.iterate_sum / stats.t[None, :, None]
        frame["excess_risk"] = adversary.excess_risk(w_bar, sc.domain).ravel()
    if hasattr(adversary, "trading_metrics") and outcome.trajectory is not None:
        for name, values in adversary.trading_metrics(outcome.trajectory, stats.t).items():
            frame[name] = values.ravel()  # turnover, wealth net of costs (portfolios)
    if hasattr(family, "extra_metrics"):
        for name, values in family.extra_metrics(stats.cumulative_loss,
                                                 stats.comparator_loss).items():
            if values.shape[0] != stats.regret.shape[0]:  # per seed: expand to the rows
                values = values[batch.row_seeds]
            frame[name] = values.ravel()
    return frame


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The learners' rows in one table (a learner with none adds nothing: no object
    columns from an empty frame)."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _declaration(outcome: Any, sc: Scenario) -> dict[str, Any]:
    """The learner's declaration for meta.json, with its configured hyperparameters, its
    optimizer-state size in bytes per parameter in float64 (Adam 16, Adafactor 8
    (m+n)/(mn), AdamNMF 8 (m+n) r/(mn), Shampoo 8 (m^2+n^2)/(mn)) and the engine that ran
    it."""
    facts = outcome.facts
    summary = facts.summary()
    # the values this run's learner was built with (a grid's one value per row), where the
    # declaration lists the class's defaults
    learner = outcome.batch.learner
    summary["hyperparameters"] = {
        name: json_ready(getattr(learner, name)) if hasattr(learner, name) else default
        for name, default in summary["hyperparameters"].items()}
    return {**summary, "state_bytes_per_parameter": 8.0 * facts.state_floats / sc.d,
            "engine": outcome.engine}


def simulate_scenario(sc: Scenario, repetitions: np.ndarray, xp: Any, *,
                      chunk: int | None = None, progress: Callable[[int], None] | None = None,
                      keep_trajectories: bool = False, engine: str = "auto",
                      batches: list[LearnerBatch] | None = None) -> list[Any]:
    """The harness's outcomes (one per learner) of scenario ``sc`` for ``repetitions``:
    what :func:`run` tabulates, and what worst-case search scores directly. ``batches``:
    learner batches to run instead of the scenario's own (learner objects)."""
    if batches is None:
        batches = [expand_learner(s.label, s.kind, s.params, sc.domain, repetitions,
                                  sc.shape) for s in sc.learners]
    # a diverged repetition's numbers may overflow: it is marked diverged, not warned about
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return simulate(
            adversary=sc.adversary, domain=sc.domain, learners=batches, d=sc.d, T=sc.T,
            seeds=repetitions, seed=sc.seed, checkpoints=log_checkpoints(sc.T, sc.checkpoints),
            xp=xp, chunk=chunk or sc.chunk or DEFAULT_CHUNK, progress=progress,
            keep_trajectories=keep_trajectories or getattr(sc.adversary, "needs_trajectories",
                                                           False),
            bound_names=list(sc.bounds) if sc.bounds is not None else None,
            engine=engine, start=sc.start_point(),
        )


def _learner_objects(learners: Any, sc: Scenario) -> dict[str, Any] | None:
    """``learners`` as label -> learner on the scenario's domain (None: the file's)."""
    if learners is None:
        return None
    from occ.errors import ParameterError
    from occ.params import check_name

    items = (list(learners.items()) if isinstance(learners, dict)
             else [(getattr(obj, "name", None), obj) for obj in learners])
    if not items:
        raise ParameterError("learners", "give at least one learner")
    out: dict[str, Any] = {}
    for label, learner in items:
        check_name(label, "learners")
        if label in out:
            raise ParameterError(f"learners.{label}", "two learners have this label")
        for method in ("init", "update", "geometry", "facts"):
            if not callable(getattr(learner, method, None)):
                raise ParameterError(f"learners.{label}", f"{type(learner).__name__} defines "
                                     f"no {method}() (the protocol: docs/own-learner.md)")
        if isinstance(learner, type):
            raise ParameterError(f"learners.{label}", "give a learner object "
                                 f"({learner.__name__}(...)), not its class")
        if dataclasses.is_dataclass(learner) and hasattr(learner, "domain"):
            changes: dict[str, Any] = {"domain": sc.domain}
            if getattr(learner, "matrix", False) and sc.shape is not None:
                changes["shape"] = tuple(sc.shape)
            try:
                learner = dataclasses.replace(learner, **changes)
            except ParameterError as exc:
                raise exc.located(sc.path or sc.name, f"learners.{label}") from None
        out[label] = learner
    return out


def _object_entry(learner: Any) -> dict[str, Any]:
    """A learner object's table for meta.json: its class and hyperparameters."""
    from occ.params import describe_fields

    cls = type(learner)
    entry: dict[str, Any] = {"kind": "python", "object": f"{cls.__module__}:{cls.__qualname__}"}
    if dataclasses.is_dataclass(learner):
        for name, _default, _allowed, _doc in describe_fields(cls):
            value = getattr(learner, name)
            entry[name] = value.tolist() if isinstance(value, np.ndarray) else value
    return entry


def run(
    scenario: str | Path | Scenario,
    *,
    T: int | None = None,
    seeds: int | None = None,
    seed: int | None = None,
    backend: str = "numpy",
    chunk: int | None = None,
    out: str | Path | None = None,
    figure_format: str | None = "png",
    table_format: str = "csv",
    progress: Callable[[int], None] | None = None,
    keep_trajectories: bool = False,
    repetitions: np.ndarray | list[int] | None = None,
    engine: str = "auto",
    learners: Any = None,
    summary: bool = True,
    figures: Any = None,
) -> RunResult:
    """Run a named scenario or scenario file and return its tidy results.

    ``learners``: learner objects to run instead of the scenario's own (a mapping
    label -> learner, or a list, labelled by each learner's ``name``); each is rebuilt on
    the scenario's domain, so its hyperparameters are validated as a file's would be.

    ``T``, ``seeds`` and ``seed`` override the file's values. ``repetitions`` runs only those
    repetition indices (a block of a larger run: repetition k gives the same numbers
    whatever block it runs in). ``engine`` is ``"auto"`` (the compiled numba engine where
    it applies, else the reference per-step path), ``"reference"`` or ``"numba"``. With
    ``out``, the run folder
    ``out/<scenario>/<run-id>`` is written (atomically) with tables (``table_format``
    ``"csv"`` or ``"parquet"``), metadata and the figures (``figure_format`` ``"png"``,
    ``"svg"`` or ``"pdf"``; None draws none). ``keep_trajectories`` keeps every iterate
    ``w_t`` (memory grows with T) in ``result.trajectories``. ``progress`` is called with
    the number of steps done in each chunk (each of the two passes counts T steps).
    ``summary = False`` leaves ``result.summary`` empty where nothing is written (a
    sweep's cells, whose summaries are made from the collected tables). ``figures``: where
    the figures are drawn, an object whose ``draw(result, folder, figure_format)`` starts
    them and returns a pending drawing (``occ run`` passes its
    :class:`~occ.figure_worker.FigureWorker`); by default they are drawn in this process.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc = with_size(sc, T, seeds, seed)
    check_formats(figure_format, table_format)  # before any computation
    # a run that cannot fit in this machine's memory is refused before anything is
    # allocated (the CLI also asks for --allow-large above its threshold)
    count = sc.seeds if repetitions is None else max(len(repetitions), 1)
    check_size(sc.path or sc.name, scenario_estimate(sc, seeds=count), allow_large=True)
    repetitions = (np.arange(sc.seeds) if repetitions is None
                   else np.asarray(repetitions, dtype=np.int64))
    xp = get_namespace(backend)
    objects = _learner_objects(learners, sc)
    batches = None
    if objects is not None:
        sc = dataclasses.replace(sc, learners=())
        batches = [LearnerBatch(label, learner,
                                np.array([label] * len(repetitions), dtype=object),
                                repetitions.copy(), 1) for label, learner in objects.items()]
    checkpoints = log_checkpoints(sc.T, sc.checkpoints)
    started = time.perf_counter()
    outcomes = simulate_scenario(sc, repetitions, xp, chunk=chunk, progress=progress,
                                 keep_trajectories=keep_trajectories, engine=engine,
                                 batches=batches)
    wall = time.perf_counter() - started
    names = list(sc.bounds) if sc.bounds is not None else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        metrics = pd.concat([_metrics(sc, o) for o in outcomes], ignore_index=True)
        bounds = _concat([evaluate(o.statistics, o.facts, o.batch.row_labels,
                                   o.batch.row_seeds, names) for o in outcomes], BOUND_COLUMNS)
        facts = _concat([evaluate_facts(o.statistics, o.facts, o.batch.row_labels,
                                        o.batch.row_seeds) for o in outcomes], FACT_COLUMNS)
    if getattr(sc.adversary, "cost", 0.0) > 0:  # the bounds are theorems of the free game
        from occ.adversaries.portfolio import costs_void_bounds

        bounds = costs_void_bounds(bounds, sc.adversary.cost)
    if sc.bounds == ():  # `bounds = []`: regret only, no bound ingredients recorded
        facts = facts.iloc[0:0]
    resolved = sc.resolved()
    if objects is not None:
        resolved["learners"] = {label: _object_entry(learner)
                                for label, learner in objects.items()}
    meta: dict[str, Any] = {
        "scenario": resolved,
        "T": sc.T, "seeds": sc.seeds, "seed": sc.seed, "backend": backend,
        "checkpoints": checkpoints.tolist(),
        "learners": {o.batch.label: _declaration(o, sc) for o in outcomes},
        "engines": {o.batch.label: o.engine for o in outcomes},
        "reference_reasons": {o.batch.label: o.engine_reason for o in outcomes
                              if o.engine == "reference" and o.engine_reason},
        "diverged": {
            str(label): {int(s): int(a) for s, a, lab in
                         zip(o.batch.row_seeds, o.statistics.diverged_at, o.batch.row_labels,
                             strict=True) if a > 0 and lab == label}
            for o in outcomes for label in dict.fromkeys(o.batch.row_labels)
        },
        "diverged_causes": {
            str(label): {int(s): DIVERGENCE_CAUSES[int(c)] for s, c, lab in
                         zip(o.batch.row_seeds, o.statistics.diverged_cause,
                             o.batch.row_labels, strict=True) if c > 0 and lab == label}
            for o in outcomes for label in dict.fromkeys(o.batch.row_labels)
        },
        "grids": {o.batch.label: {"keys": list(o.batch.grid_keys),
                                  "labels": list(dict.fromkeys(o.batch.row_labels)),
                                  "values": [list(v) for v in o.batch.grid_values]}
                  for o in outcomes if o.batch.grid_keys},
        "wall_seconds": wall,
        "engine": engine,
        "versions": environment(),
    }
    with np.errstate(over="ignore", invalid="ignore"):
        table = (summarize(metrics, bounds, facts) if summary or out is not None
                 else pd.DataFrame())
    result = RunResult(metrics, bounds, table, meta, facts=facts)
    if keep_trajectories:
        result.trajectories = {o.batch.label: o.trajectory for o in outcomes}
    if out is not None:
        draw = None
        if figure_format is not None and figures is not None:
            def draw(r: RunResult, folder: Path) -> Any:
                return figures.draw(r, folder, figure_format)
        elif figure_format is not None:  # matplotlib only where figures are drawn
            from occ.plots import plot_all

            def draw(r: RunResult, folder: Path) -> Any:
                plot_all(r, folder, figure_format)

        write_run(result, Path(out), sc.name, new_run_id(sc.seed), plot=draw,
                  table_format=table_format)
    return result
