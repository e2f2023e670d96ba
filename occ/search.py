"""Worst-case search: the adversary of a family under which a learner does worst.

``occ.search(scenario, learner=LABEL, family=KIND)`` (the module is callable: the same as
``occ.search.search``) maximizes an objective of one learner's
run over the parameters of an adversary family with CMA-ES (Hansen's ``cma`` package),
restarted with a doubled population (IPOP, Auger and Hansen 2005) whenever a run of it
stops, until ``budget`` evaluations are spent. Each generation is ONE batched run: the
candidates are decoded into scenario adversaries (validated as a file's would be) and
stacked on the repetition axis (:func:`occ.adversaries.rows.stack`), candidate ``k`` on
row ``k``, so a generation costs about one run.

Families (the search variables ``x`` map onto the family's explicit parameters, always
within the norm bound ``L``):

* ``linear_sequence``: ``x`` in R^{T d}; ``g_t = L x_t / max(1, ||x_t||_2)`` (``l2``) or
  ``L clip(x_t, -1, 1)`` (``linf``);
* ``linear_periodic``: ``x`` in R^P (``P = period``); ``pattern = s clip(x, -1, 1)`` with
  ``s = L`` (``linf``, or d = 1) or ``L / sqrt(d)`` (``l2``: the pattern fills every
  coordinate);
* ``linear_policy``: ``x`` in R^{d d + d}, ``A`` and ``b`` of ``g_t = L normalize(A w_t +
  b)`` (or the sign rule, from the scenario's adversary).

Objectives, of the learner's run at the horizon T: ``regret`` (R_T), ``average_regret``
(R_T / T), and ``ratio:BOUND``: the largest ratio R_t / bound_t over the checkpoints
where the bound applies (0 where it never does). A bound is a theorem: a candidate with
``regret - bound > error budget`` (the verdict's ``violated``) is a counterexample,
hence a bug in occ, and the result says so.

The output folder holds ``best.toml`` (a complete scenario: the source scenario with the
found adversary, the one learner, one repetition; ``occ run`` reproduces the objective
to the last digit, which the search itself checks by replaying it), ``search.csv`` (one
row per evaluation) and ``search.png`` (objective per evaluation, best so far).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import tomllib
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occ.adversaries import make_adversary
from occ.adversaries.rows import stack
from occ.atomic import atomic_write
from occ.batches import expand_learner, grid_parameters
from occ.bounds import BOUNDS, get_bound
from occ.errors import OccError, ParameterError
from occ.scenario_file import scenario_toml
from occ.scenarios import Scenario, load_scenario, parse_scenario, with_size

FAMILIES = ("linear_sequence", "linear_periodic", "linear_policy")
NORMS = ("l2", "linf")
SIGMA0 = 0.5
"""CMA-ES's initial step size, in the units of ``x`` (|x| = 1 is the norm bound)."""
DEFAULT_BUDGET = 1000
DIAGONAL_ABOVE = 400
"""Above this many variables CMA-ES adapts a diagonal covariance only (sep-CMA: memory
and time linear in the dimension instead of quadratic)."""


@dataclass(frozen=True)
class Space:
    """What a family's parameters are decoded against."""

    T: int
    d: int
    period: int
    L: float
    norm: str
    rule: str


def size(family: str, space: Space) -> int:
    """The number of search variables of ``family``."""
    return {"linear_sequence": space.T * space.d, "linear_periodic": space.period,
            "linear_policy": space.d * space.d + space.d}[family]


def benign_start(family: str, space: Space) -> np.ndarray:
    """The first run's start: a constant gradient (every learner then heads for the
    comparator): ``x = 0.5`` for the periodic pattern and the policy's offset ``b``
    (``A = 0``); zero gradients for the sequence."""
    n = size(family, space)
    if family == "linear_sequence":
        return np.zeros(n)
    if family == "linear_periodic":
        return np.full(n, 0.5)
    x = np.zeros(n)
    x[space.d * space.d:] = 0.5
    return x


def decode(family: str, x: np.ndarray, space: Space) -> dict[str, Any]:
    """The adversary table of search point ``x`` (arrays: :func:`_file_table` writes
    them as a scenario file states them, the same numbers)."""
    x = np.asarray(x, dtype=float)
    L, d = space.L, space.d
    if family == "linear_sequence":
        u = x.reshape(space.T, d)
        if space.norm == "l2":
            g = L * u / np.maximum(1.0, np.sqrt(np.sum(u * u, axis=-1)))[:, None]
        else:
            g = L * np.clip(u, -1.0, 1.0)
        return {"kind": family, "gradients": g, "L": L, "norm": space.norm}
    if family == "linear_periodic":
        scale = L if space.norm == "linf" or d == 1 else L / math.sqrt(d)
        return {"kind": family, "pattern": scale * np.clip(x, -1.0, 1.0)}
    return {"kind": family, "A": x[:d * d].reshape(d, d), "b": x[d * d:], "L": L,
            "norm": space.norm, "rule": space.rule}


def _file_table(table: dict[str, Any]) -> dict[str, Any]:
    """The table with its arrays as lists of Python floats (TOML writes each float's
    shortest repr, which reads back to the same double)."""
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in table.items()}


def parse_objective(objective: str) -> tuple[str, str | None]:
    """``("regret" | "average_regret" | "ratio", bound name or None)``."""
    kind, _, bound = objective.partition(":")
    if kind in ("regret", "average_regret") and not bound:
        return kind, None
    if kind == "ratio" and bound in BOUNDS:
        return kind, bound
    raise OccError(f"--objective: must be regret, average_regret or ratio:BOUND with BOUND "
                   f"one of {', '.join(BOUNDS)}, got {objective!r}")


@dataclass
class SearchResult:
    """The best objective found, its scenario (the text of best.toml and the parsed
    scenario), every evaluation, and whether a theorem was broken."""

    objective: str
    best_value: float
    replayed_value: float
    scenario_text: str
    scenario: Scenario
    history: pd.DataFrame
    counterexample: bool
    violations: int
    path: Path | None = None
    wall_seconds: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)


def _objective_values(result: Any, kind: str, bound: str | None, T: int, rows: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate (repetition row): the objective, and whether a bound was violated."""
    if kind in ("regret", "average_regret"):
        final = result.metrics[result.metrics["t"] == T].set_index("seed")["regret"]
        values = final.reindex(range(rows)).to_numpy(dtype=float)
        violated = np.zeros(rows, dtype=bool)
        if kind == "average_regret":
            values = values / T
    else:
        values, violated = _ratios(result.bounds[result.bounds["bound"] == bound], rows)
    return np.where(np.isfinite(values), values, -np.inf), violated


def _space(sc: Scenario, family: str, T: int, period: int | None, L: float | None,
           norm: str | None) -> Space:
    """The decoding space: L, norm and rule from the options, else from the scenario's
    adversary where it states them, else L = 1 in l2 (the normalize rule)."""
    adversary = sc.adversary
    L = L if L is not None else float(getattr(adversary, "L", 1.0))
    norm = norm if norm is not None else getattr(adversary, "norm", "l2")
    if not (isinstance(L, int | float) and math.isfinite(L) and L > 0):
        raise OccError(f"--L: must be a finite number > 0, got {L!r}")
    if norm not in NORMS:
        raise OccError(f"--norm: must be one of {', '.join(NORMS)}, got {norm!r}")
    if period is None:
        period = len(adversary.pattern) if family == "linear_periodic" and hasattr(
            adversary, "pattern") else 3
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        raise OccError(f"--period: must be an integer >= 1, got {period!r}")
    return Space(T, sc.d, period, float(L), norm, getattr(adversary, "rule", "normalize"))


def _learner_spec(sc: Scenario, label: str | None) -> Any:
    labels = [s.label for s in sc.learners]
    if label is None:
        if len(labels) > 1:
            raise OccError(f"--learner: the scenario has several learners, name one of "
                           f"{', '.join(labels)}")
        label = labels[0]
    spec = next((s for s in sc.learners if s.label == label), None)
    if spec is None:
        raise OccError(f"--learner: must be one of {', '.join(labels)}, got {label!r}")
    if grid_parameters(spec.kind, spec.params):
        raise OccError(f"--learner: {label!r} is a grid of hyperparameters; search one point "
                       "of it (a learner table with one value each)")
    return spec


def _base_scenario(sc: Scenario, spec: Any, family: str, space: Space, bounds: Any,
                   start: np.ndarray) -> tuple[Scenario, dict[str, Any]]:
    """The scenario every candidate is run in (one learner, the horizon, the objective's
    bounds), validated through a scenario file of the start point's adversary."""
    resolved = sc.resolved()
    resolved.update(T=space.T, seeds=1, check={"T": space.T, "seeds": 1},
                    name=f"{sc.name}-worst-{spec.label}")
    resolved.pop("expect", None)  # the source's expectations name its other learners
    resolved["learners"] = {spec.label: resolved["learners"][spec.label]}
    resolved["bounds"] = bounds if bounds is not None else "all that apply"
    resolved["adversary"] = _file_table(decode(family, start, space))
    text = scenario_toml(resolved)
    parsed = parse_scenario(tomllib.loads(text), f"{sc.path or sc.name} (searched over "
                            f"{family})", resolved["name"])
    if any(f.name == "repetitions" for f in dataclasses.fields(
            expand_learner(spec.label, spec.kind, spec.params, sc.domain, np.arange(1),
                           sc.shape).learner)):
        raise OccError(f"--learner: {spec.label!r} ({spec.kind}) draws its own randomness "
                       "per repetition; search needs a deterministic learner")
    return parsed, resolved


def search(
    scenario: str | Path | Scenario,
    *,
    learner: str | None = None,
    family: str = "linear_periodic",
    T: int | None = None,
    period: int | None = None,
    objective: str = "average_regret",
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    population: int | None = None,
    L: float | None = None,
    norm: str | None = None,
    out: str | Path | None = None,
    figure_format: str | None = "png",
    progress: Callable[[int], None] | None = None,
) -> SearchResult:
    """Maximize ``objective`` for ``learner`` over ``family``'s parameters (module doc).

    ``T`` overrides the scenario's horizon; ``period`` is the periodic family's pattern
    length (default: the scenario's pattern's, else 3); ``budget`` the number of
    candidate runs; ``seed`` CMA-ES's seed; ``population`` the first run's population
    (default CMA-ES's ``4 + 3 ln n``); ``L``/``norm`` the gradients' bound (default: the
    scenario's adversary's, else 1 in l2). With ``out``, writes ``best.toml``,
    ``search.csv`` and ``search.png`` there (atomically). ``progress`` is called with the
    evaluations done after each generation."""

    started = time.perf_counter()
    if family not in FAMILIES:
        raise OccError(f"--family: must be one of {', '.join(FAMILIES)}, got {family!r}")
    for name, value, low in (("--budget", budget, 1), ("--seed", seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise OccError(f"{name}: must be an integer >= {low}, got {value!r}")
    if population is not None and (not isinstance(population, int) or population < 2):
        raise OccError(f"--population: must be an integer >= 2, got {population!r}")
    kind, bound = parse_objective(objective)
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc = with_size(sc, T=T)
    spec = _learner_spec(sc, learner)
    if bound is not None:
        facts = expand_learner(spec.label, spec.kind, spec.params, sc.domain, np.arange(1),
                               sc.shape).learner.facts(sc.d)
        if not get_bound(bound).relevant(facts):
            raise OccError(f"--objective: bound {bound!r} does not concern learner "
                           f"{spec.label!r} ({spec.kind})")
    space = _space(sc, family, sc.T, period, L, norm)
    n = size(family, space)
    x0 = benign_start(family, space)
    base, resolved = _base_scenario(sc, spec, family, space,
                                    [bound] if bound is not None else [], x0)
    from occ.api import run

    def generation(X: list[np.ndarray]) -> tuple[list[dict], np.ndarray, np.ndarray]:
        tables = [decode(family, x[:n], space) for x in X]
        return (tables, *_evaluate(base, tables, kind, bound))

    rows, best, runs = _maximize(generation, x0, budget, seed, population, progress)
    history = pd.DataFrame(rows)
    violations = int(history["violated"].sum())
    resolved = dict(resolved)
    resolved["adversary"] = _file_table(best["table"])
    resolved["bounds"] = ("all that apply" if sc.bounds is None  # the source's, and BOUND
                          else sorted(set(sc.bounds) | ({bound} if bound else set())))
    resolved["description"] = (
        f"Worst case found by occ search for learner {spec.label!r} ({spec.kind}) over "
        f"the family {family} of {sc.name}: {objective} = {best['value']!r} at T = {sc.T} "
        f"({len(history)} evaluations, {runs} CMA-ES runs, seed {seed}).")
    text = scenario_toml(resolved)
    found = parse_scenario(tomllib.loads(text), "best.toml", resolved["name"])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        replay = run(found, figure_format=None)
    replayed, replay_broken = _objective_values(replay, kind, bound, found.T, 1)
    outcome = SearchResult(objective, best["value"], float(replayed[0]), text, found, history,
                           bool(violations or replay_broken.any()), violations,
                           wall_seconds=time.perf_counter() - started)
    if kind == "ratio" and not (history["objective"] > 0).any():
        outcome.notes.append(f"no candidate has a positive ratio to bound {bound}: it "
                             "applied nowhere or the regret stayed <= 0 (occ run best.toml "
                             "says why a bound does not apply)")
    if outcome.replayed_value != outcome.best_value:
        outcome.notes.append(f"best.toml replays {objective} = {outcome.replayed_value!r}, "
                             f"the batched run gave {outcome.best_value!r}")
    if out is not None:
        outcome.path = write_search(outcome, Path(out), figure_format)
    return outcome


def _maximize(generation: Callable, x0: np.ndarray, budget: int, seed: int,
              population: int | None, progress: Callable[[int], None] | None
              ) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """CMA-ES with IPOP restarts on ``generation`` (search points -> their tables,
    objectives, violation flags), maximizing, until ``budget`` evaluations: the first run
    from ``x0``, each later one from a uniform point of [-1, 1]^n with twice the
    population. Returns one row per evaluation, the best table and value, and the
    number of runs."""
    import cma

    n = len(x0)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    best: dict[str, Any] = {"value": -np.inf, "table": None}
    spent, generations, runs, popsize = 0, 0, 0, population
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while spent < budget:
            options = {"seed": int(rng.integers(1, 2**31 - 1)), "verbose": -9,
                       "CMA_diagonal": n > DIAGONAL_ABOVE, "tolfun": 1e-13, "tolx": 1e-13}
            if popsize is not None:
                options["popsize"] = popsize
            start = x0 if runs == 0 else rng.uniform(-1.0, 1.0, n)
            if n == 1:  # CMA-ES needs two variables: a constant one beside
                start = np.append(start, 0.0)
            es = cma.CMAEvolutionStrategy(start, SIGMA0, options)
            popsize, runs = es.popsize, runs + 1
            while not es.stop() and spent < budget:
                X = [np.asarray(x) for x in es.ask()][:budget - spent]
                tables, values, broken = generation(X)
                generations += 1
                for k, (value, table) in enumerate(zip(values, tables, strict=True)):
                    if best["table"] is None or value > best["value"]:
                        best = {"value": float(value), "table": table}
                    rows.append({"evaluation": spent + k + 1, "generation": generations,
                                 "restart": runs, "objective": float(value),
                                 "violated": bool(broken[k]), "best_so_far": best["value"]})
                spent += len(X)
                if progress is not None:
                    progress(len(X))
                if len(X) == es.popsize:  # a generation cut by the budget is not told
                    es.tell(X, [-v if np.isfinite(v) else 1e300 for v in values])
            popsize = 2 * popsize
    return rows, best, runs


def _evaluate(base: Scenario, tables: list[dict], kind: str, bound: str | None
              ) -> tuple[np.ndarray, np.ndarray]:
    """One generation as one batched run: candidate k on repetition row k, scored from
    the harness's statistics as :func:`occ.run` tabulates them (the final replay of
    best.toml through :func:`occ.run` checks that the two agree to the last digit)."""
    from occ.api import simulate_scenario
    from occ.bounds import evaluate

    members = []
    for table in tables:
        params = {k: v for k, v in table.items() if k != "kind"}
        try:
            members.append(make_adversary(table["kind"], **params))
        except ParameterError as exc:  # a decoder's bug: never a user's input
            raise OccError(f"search produced an invalid adversary: {exc}") from None
    rows = len(members)
    batch = dataclasses.replace(base, adversary=stack(members), seeds=rows)
    (outcome,) = simulate_scenario(batch, np.arange(rows), np)
    stats = outcome.statistics
    violated = np.zeros(rows, dtype=bool)
    if kind in ("regret", "average_regret"):
        values = stats.regret[:, -1] / (base.T if kind == "average_regret" else 1)
    else:
        frame = evaluate(stats, outcome.facts, outcome.batch.row_labels,
                         outcome.batch.row_seeds, [bound])
        values, violated = _ratios(frame, rows)
    return np.where(np.isfinite(values), values, -np.inf), violated


def _ratios(bounds: pd.DataFrame, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per repetition row: the worst ratio where the bound applies (0 where it never
    does), and whether it was violated anywhere."""
    values, violated = np.zeros(rows), np.zeros(rows, dtype=bool)
    if len(bounds):
        ok = bounds[bounds["applicable"].astype(bool)]
        worst = ok.groupby("seed")["ratio"].max().dropna()
        values[worst.index.to_numpy(dtype=int)] = worst.to_numpy(dtype=float)
        broken = bounds[bounds["violated"].astype(bool)]["seed"].unique()
        violated[np.asarray(broken, dtype=int)] = True
    return values, violated


def write_search(outcome: SearchResult, folder: Path, figure_format: str | None = "png"
                 ) -> Path:
    """``best.toml``, ``search.csv`` and the progress figure in ``folder`` (atomically,
    each file renamed into place once complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "best.toml",
                 lambda p: p.write_text(outcome.scenario_text, encoding="utf-8"))
    atomic_write(folder / "search.csv", lambda p: outcome.history.to_csv(p, index=False))
    if figure_format is not None:
        plot_search(outcome, folder / f"search.{figure_format}")
    return folder


def plot_search(outcome: SearchResult, path: Path) -> Path:
    """The objective of every evaluation and the best so far, against evaluations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = outcome.history
    fig, ax = plt.subplots(figsize=(7, 4))
    finite = history[np.isfinite(history["objective"])]
    ax.scatter(finite["evaluation"], finite["objective"], s=4, color="0.6",
               label="candidate")
    ax.plot(history["evaluation"], history["best_so_far"], color="C3", label="best so far")
    for start in history.groupby("restart")["evaluation"].min().iloc[1:]:
        ax.axvline(start, color="0.85", lw=0.8, zorder=0)
    if outcome.objective.startswith("ratio:"):
        ax.axhline(1.0, color="k", ls="--", lw=0.8, label="bound (ratio 1)")
    ax.set_xlabel("evaluation")
    ax.set_ylabel(outcome.objective)
    ax.set_title(f"{outcome.scenario.name}: best {outcome.best_value:.6g}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    from occ.figure_files import save_figure

    atomic_write(path, lambda p: save_figure(fig, p), keep_suffix=True)
    return path


class _CallableModule(types.ModuleType):
    """This module, callable: ``occ.search(...)`` is :func:`search` (``import occ.search``
    binds the module to ``occ.search``, so the module itself takes the call)."""

    def __call__(self, *args: Any, **kwargs: Any) -> SearchResult:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
