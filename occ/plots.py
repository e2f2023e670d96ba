"""Regret-vs-bound figures: log-log regret per learner with a band over seeds, each
applicable bound dashed, and a sqrt(t) guide."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats as scipy_stats  # noqa: E402


def _band(group: pd.DataFrame) -> pd.DataFrame:
    """Mean regret per checkpoint and the 95% interval of the mean over seeds."""
    g = group[~group["diverged"].astype(bool)].groupby("t")["regret"]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()})
    q = scipy_stats.t.ppf(0.975, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, q * out["sd"] / np.sqrt(out["n"]), 0.0)
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


def _positive(values: pd.Series | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.where(v > 0, v, np.nan)


def _guide(ax: Any, t: np.ndarray, anchor: float) -> None:
    if np.isfinite(anchor) and anchor > 0:
        ax.plot(t, anchor * np.sqrt(t / t.max()), color="0.6", lw=0.8, ls=":",
                label=r"$\propto\sqrt{t}$")


def plot_run(result: Any, path: Path, title: str | None = None) -> None:
    """Draw ``regret.png`` for a run: one panel per learner with its bounds, and one
    panel with every learner's regret together."""
    metrics, bounds = result.metrics, result.bounds
    learners = list(dict.fromkeys(metrics["learner"]))
    panels = len(learners) + 1
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    overview = axes.flat[0]
    for i, learner in enumerate(learners):
        color = colors[i % len(colors)]
        band = _band(metrics[metrics["learner"] == learner])
        t = band.index.to_numpy()
        for ax in (overview, axes.flat[i + 1]):
            ax.plot(t, _positive(band["mean"]), color=color, lw=1.8, label=f"{learner} regret")
            ax.fill_between(t, _positive(band["low"]), _positive(band["high"]), color=color,
                            alpha=0.2, lw=0)
        ax = axes.flat[i + 1]
        mine = bounds[(bounds["learner"] == learner) & bounds["applicable"].astype(bool)]
        styles = ["--", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1))]
        for j, (name, rows_b) in enumerate(mine.groupby("bound", sort=False)):
            curve = rows_b.groupby("t")["value"].mean()
            ax.plot(curve.index, _positive(curve.to_numpy()), ls=styles[j % len(styles)], lw=1.0,
                    color=plt.cm.tab10(j % 10), label=name)
        _guide(ax, t, float(band["mean"].iloc[-1]))
        ax.set_title(learner, fontsize=10)
    _guide(overview, metrics["t"].unique().astype(float),
           float(metrics[metrics["t"] == metrics["t"].max()]["regret"].mean()))
    overview.set_title(title or "regret (mean, 95% band over seeds)", fontsize=10)
    for ax in axes.flat[:panels]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel("cumulative regret")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes.flat[panels:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
