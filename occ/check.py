"""`occ check`: run scenarios at their check sizes, verify every applicable bound, and
compare final regrets and worst ratios against a committed baseline."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from occ.api import run
from occ.errors import OccError
from occ.results import RunResult, atomic_write, mean_interval
from occ.scenarios import list_scenarios, load_scenario
from occ.textfiles import read_text

BASELINE_TOLERANCE = 1e-6
"""Default relative tolerance written into a new baseline file: runs are deterministic,
so only floating-point differences between machines (BLAS, libm) are allowed."""

BASELINE_COLUMNS = ["scenario", "learner", "quantity", "value", "tolerance"]


def check_table(names: Iterable[str] | None = None, backend: str = "numpy",
                progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Per scenario, learner and bound: the worst ratio regret/bound over every seed and
    checkpoint where the bound applies, the number of violations, and the verdict
    ``ok``, ``VIOLATED`` or ``n/a`` (assumptions never held); the same for the facts
    (Fact 2.1, Lemma C.4) and for the orderings the scenario expects (``FAILED`` when one
    does not hold). Also a row per learner with ``bound = "final_regret_mean"`` for the
    baseline comparison."""
    rows = []
    for name in (list(names) if names else list(list_scenarios())):
        sc = load_scenario(name)
        result = run(sc, T=sc.check_T, seeds=sc.check_seeds, backend=backend)
        if progress is not None:
            progress(1)
        for learner, s in result.summary.set_index("learner").iterrows():
            rows.append({"scenario": sc.name, "learner": learner, "bound": "final_regret_mean",
                         "worst_ratio": s["final_regret_mean"], "checked": np.nan,
                         "violations": 0, "diverged_seeds": s["diverged_seeds"],
                         "verdict": "info"})
        for (learner, bound), group in result.bounds.groupby(["learner", "bound"], sort=False):
            applicable = group[group["applicable"].astype(bool)]
            violations = int(applicable["violated"].sum())
            ratios = applicable["ratio"].dropna()
            rows.append({
                "scenario": sc.name, "learner": learner, "bound": bound,
                "worst_ratio": float(ratios.max()) if len(ratios) else np.nan,
                "checked": len(applicable), "violations": violations,
                "diverged_seeds": int(group[group["note"] == "diverged"]["seed"].nunique()),
                "verdict": "VIOLATED" if violations else ("ok" if len(applicable) else "n/a"),
            })
        rows += expectation_rows(sc.name, sc.expect, result)
        for (learner, fact), group in result.facts.groupby(["learner", "fact"], sort=False):
            violations = int((~group["holds"].astype(bool)).sum())
            ratios = group["ratio"].dropna()
            rows.append({
                "scenario": sc.name, "learner": learner, "bound": fact,
                "worst_ratio": float(ratios.max()) if len(ratios) else np.nan,
                "checked": len(group), "violations": violations, "diverged_seeds": 0,
                "verdict": "VIOLATED" if violations else "ok",
            })
    return pd.DataFrame(rows)


ORDERS = {"regret_order": "regret", "mean_iterate_order": "mean_iterate_0"}
LEVELS = ("average_regret_limit", "average_regret_above", "average_regret_below")
FALLS = ("average_regret_falls",)
Z_CHECKS = ("expected_regret_z", "online_to_batch_z")


def _final_values(result: RunResult, item: str, key: str) -> pd.Series:
    """Per-seed final regret (or mean iterate) of a learner, or final ``learner:bound``."""
    T = result.metrics["t"].max()
    if key in ORDERS:
        rows = result.metrics[(result.metrics["learner"] == item) & (result.metrics["t"] == T)]
        return rows.set_index("seed")[ORDERS[key]]
    learner, bound = item.split(":")
    b = result.bounds
    rows = b[(b["learner"] == learner) & (b["bound"] == bound) & (b["t"] == T)]
    return rows.set_index("seed")["value"]


def _z_rows(scenario: str, expect: dict, result: RunResult) -> list[dict]:
    """``expected_regret_z``: at every checkpoint (t >= 2) the mean regret over seeds is
    within that many standard errors of the exact expected regret (Appendix B).
    ``online_to_batch_z``: at every checkpoint the mean excess risk of the averaged iterate
    exceeds the mean R_t/t by at most that many standard errors of the paired difference
    (Appendix A: E[J(w_bar_T)] - J* <= E[Regret_T]/T, in expectation only)."""
    rows = []
    metrics = result.metrics
    for key, column in (("expected_regret_z", "expected_regret"),
                        ("online_to_batch_z", "excess_risk")):
        if key not in expect or column not in metrics:
            continue
        limit = float(expect[key])
        for learner, group in metrics.groupby("learner", sort=False):
            group = group[group["t"] >= 2]
            if key == "expected_regret_z":
                diff = group["regret"] - group["expected_regret"]
            else:
                diff = group["excess_risk"] - group["regret"] / group["t"]
            by_t = diff.groupby(group["t"])
            se = by_t.std(ddof=1) / np.sqrt(by_t.count())
            z = by_t.mean() / se.where(se > 0)
            worst = float(z.abs().max()) if key == "expected_regret_z" else float(z.max())
            ok = bool(worst <= limit) if np.isfinite(worst) else False
            rows.append({"scenario": scenario, "learner": f"{learner} (|z| <= {limit:g})"
                         if key == "expected_regret_z" else f"{learner} (z <= {limit:g})",
                         "bound": key, "worst_ratio": worst, "checked": int(z.count()),
                         "violations": int(not ok), "diverged_seeds": 0,
                         "verdict": "ok" if ok else "FAILED"})
    return rows


def _falling_rows(scenario: str, expect: dict, result: RunResult) -> list[dict]:
    """``average_regret_falls``: the mean over seeds of R_t/t at the last checkpoint is
    below its value at the first checkpoint t >= T/10 (``worst_ratio``: the ratio of the
    two, which must be < 1)."""
    rows = []
    metrics = result.metrics
    T = metrics["t"].max()
    for name in expect.get("average_regret_falls", []):
        for learner in expand_members(result, name, "average_regret_falls"):
            group = metrics[metrics["learner"] == learner]
            average = (group["regret"] / group["t"]).groupby(group["t"]).mean()
            early = average[average.index >= T / 10].iloc[0]
            ratio = float(average.loc[T] / early) if early != 0 else np.nan
            ok = bool(average.loc[T] < early)
            rows.append({"scenario": scenario, "learner": f"{learner} (R_T/T < R_t/t, "
                         f"t = {int(average[average.index >= T / 10].index[0])})",
                         "bound": "average_regret_falls", "worst_ratio": ratio, "checked": 1,
                         "violations": int(not ok), "diverged_seeds": 0,
                         "verdict": "ok" if ok else "FAILED"})
    return rows


def expand_members(result: RunResult, item: str, key: str) -> list[str]:
    """The learners an ``[expect]`` entry names: a label (``adam``, or a grid member as it
    is labelled, ``adam[eta=0.03]``), a grid's base label meaning every member, and for
    ``bound_order`` the same before ``:bound``. An unknown name is an error naming the
    field and the labels there are."""
    learner, _, bound = item.partition(":") if key == "bound_order" else (item, "", "")
    labels = list(dict.fromkeys(result.metrics["learner"]))
    members = [learner] if learner in labels else [x for x in labels
                                                   if x.startswith(f"{learner}[")]
    if not members:
        raise OccError(f"expect.{key}: no learner {learner!r} in this run; the labels are "
                       f"{', '.join(labels)}")
    return [f"{m}:{bound}" if bound else m for m in members]


def expectation_rows(scenario: str, expect: dict, result: RunResult) -> list[dict]:
    """The orderings a scenario promises (``[expect] regret_order``, ``bound_order``): for
    each consecutive pair a < b, the paired difference b - a over seeds must have a 95%
    interval above 0. Verdict ``ok`` or ``FAILED``; ``worst_ratio`` is mean(a)/mean(b)."""
    rows = []
    T = result.metrics["t"].max()
    tolerance = float(expect.get("limit_tolerance", 0.0))
    for key in LEVELS:
        for name, level in expect.get(key, {}).items():
            for learner in expand_members(result, name, key):
                average = float(_final_values(result, learner, "regret_order").mean() / T)
                ok = {"average_regret_limit": abs(average - level) <= tolerance * abs(level),
                      "average_regret_above": average > level,
                      "average_regret_below": average < level}[key]
                rows.append({"scenario": scenario,
                             "learner": f"{learner} (R_T/T vs {level:g})",
                             "bound": key, "worst_ratio": average, "checked": 1,
                             "violations": int(not ok), "diverged_seeds": 0,
                             "verdict": "ok" if ok else "FAILED"})
    rows += _z_rows(scenario, expect, result)
    rows += _falling_rows(scenario, expect, result)
    for key in ("regret_order", "mean_iterate_order", "bound_order"):
        items = expect.get(key, [])
        pairs = [(a, b) for first, second in zip(items, items[1:], strict=False)
                 for a in expand_members(result, first, key)
                 for b in expand_members(result, second, key)]
        for a, b in pairs:
            va, vb = _final_values(result, a, key), _final_values(result, b, key)
            diff = (vb - va).dropna()
            _, low, _ = mean_interval(diff.to_numpy())
            rows.append({"scenario": scenario, "learner": f"{a} < {b}", "bound": key,
                         "worst_ratio": float(va.mean() / vb.mean()), "checked": len(diff),
                         "violations": int(not low > 0), "diverged_seeds": 0,
                         "verdict": "ok" if low > 0 else "FAILED"})
    return rows


def baseline_rows(table: pd.DataFrame, tolerance: float = BASELINE_TOLERANCE) -> pd.DataFrame:
    """The quantities a baseline pins: final mean regret and worst ratio per bound."""
    kept = table[table["worst_ratio"].notna() & ~table["bound"].isin(
        ["regret_order", "bound_order", *ORDERS, *LEVELS, *Z_CHECKS, *FALLS])]
    return pd.DataFrame({
        "scenario": kept["scenario"], "learner": kept["learner"],
        "quantity": np.where(kept["bound"] == "final_regret_mean", "final_regret_mean",
                             "worst_ratio:" + kept["bound"]),
        "value": kept["worst_ratio"], "tolerance": tolerance,
    })


def read_baseline(path: Path) -> pd.DataFrame:
    """The baseline table; a file that is not one (unreadable, not UTF-8, not CSV, other
    columns, values that are not numbers) is one :class:`OccError` naming it."""
    text = read_text(Path(path), str(path), "baseline")
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise OccError(f"{path}: cannot read the baseline ({reason})") from None
    missing = [c for c in BASELINE_COLUMNS if c not in frame.columns]
    if missing:
        raise OccError(f"{path}: baseline lacks the columns {', '.join(missing)}; "
                       f"expected {', '.join(BASELINE_COLUMNS)}")
    for column in ("value", "tolerance"):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise OccError(f"{path}: baseline column {column!r} must hold numbers")
    return frame


def compare_baseline(table: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """Rows of the baseline (for the scenarios checked) that moved beyond their tolerance,
    disappeared, or are new; empty when everything matches."""
    current = baseline_rows(table).drop(columns="tolerance")
    old = baseline[baseline["scenario"].isin(table["scenario"].unique())]
    merged = old.merge(current, on=["scenario", "learner", "quantity"], how="outer",
                       suffixes=("_baseline", "_now"), indicator=True)
    diff = (merged["value_now"] - merged["value_baseline"]).abs()
    scale = np.maximum(merged["value_baseline"].abs(), merged["value_now"].abs())
    moved = diff > merged["tolerance"] * scale + 1e-12
    merged["problem"] = np.select(
        [merged["_merge"] == "left_only", merged["_merge"] == "right_only", moved],
        ["missing now", "not in baseline", "moved"], default="")
    return merged[merged["problem"] != ""].drop(columns="_merge")


def write_baseline(table: pd.DataFrame, path: Path) -> None:
    """Replace the rows of the checked scenarios in the baseline file (atomically)."""
    fresh = baseline_rows(table)
    if path.is_file():
        old = read_baseline(path)
        fresh = pd.concat([old[~old["scenario"].isin(table["scenario"].unique())], fresh])
    fresh = fresh.sort_values(["scenario", "learner", "quantity"], kind="stable")
    fresh["value"] = [f"{float(v):.17g}" for v in fresh["value"]]  # round-trips exactly
    atomic_write(path, lambda p: fresh.to_csv(p, index=False))
