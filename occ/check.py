"""`occ check`: run scenarios at their check sizes, verify every applicable bound, and
compare final regrets and worst ratios against a committed baseline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from occ.api import run
from occ.errors import OccError
from occ.results import atomic_write
from occ.scenarios import list_scenarios, load_scenario

BASELINE_TOLERANCE = 1e-6
"""Default relative tolerance written into a new baseline file: runs are deterministic,
so only floating-point differences between machines (BLAS, libm) are allowed."""

BASELINE_COLUMNS = ["scenario", "learner", "quantity", "value", "tolerance"]


def check_table(names: Iterable[str] | None = None, backend: str = "numpy") -> pd.DataFrame:
    """Per scenario, learner and bound: the worst ratio regret/bound over every seed and
    checkpoint where the bound applies, the number of violations, and the verdict
    ``ok``, ``VIOLATED`` or ``n/a`` (assumptions never held). Also a row per learner
    with ``bound = "final_regret_mean"`` for the baseline comparison."""
    rows = []
    for name in (list(names) if names else list(list_scenarios())):
        sc = load_scenario(name)
        result = run(sc, T=sc.check_T, seeds=sc.check_seeds, backend=backend)
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
    return pd.DataFrame(rows)


def baseline_rows(table: pd.DataFrame, tolerance: float = BASELINE_TOLERANCE) -> pd.DataFrame:
    """The quantities a baseline pins: final mean regret and worst ratio per bound."""
    kept = table[table["worst_ratio"].notna()]
    return pd.DataFrame({
        "scenario": kept["scenario"], "learner": kept["learner"],
        "quantity": np.where(kept["bound"] == "final_regret_mean", "final_regret_mean",
                             "worst_ratio:" + kept["bound"]),
        "value": kept["worst_ratio"], "tolerance": tolerance,
    })


def read_baseline(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise OccError(f"{path}: cannot read the baseline ({exc})") from None
    missing = [c for c in BASELINE_COLUMNS if c not in frame.columns]
    if missing:
        raise OccError(f"{path}: baseline lacks the columns {', '.join(missing)}; "
                       f"expected {', '.join(BASELINE_COLUMNS)}")
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
