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


def _save(fig: Any, path: Any) -> None:
    """Lay out, write as PNG (the path may be a temporary name) and close."""
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


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


def _mean_band(group: pd.DataFrame, column: str, scale: np.ndarray | None = None
               ) -> pd.DataFrame:
    """Mean of ``column`` per checkpoint (optionally divided by t) with a 95% band."""
    g = group[~group["diverged"].astype(bool)].copy()
    if scale is not None:
        g[column] = g[column] / g["t"]
    stats = g.groupby("t")[column].agg(["mean", "std", "count"])
    q = scipy_stats.t.ppf(0.975, np.maximum(stats["count"] - 1, 1))
    half = np.where(stats["count"] > 1, q * stats["std"] / np.sqrt(stats["count"]), 0.0)
    stats["low"], stats["high"] = stats["mean"] - half, stats["mean"] + half
    return stats


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
    _save(fig, path)


def plot_average(result: Any, path: Path) -> None:
    """``average_regret.png``: R_t/t per learner (with the levels a scenario derives, e.g.
    the limit of Adam's average regret on Reddi et al.'s cycle), the first coordinate of
    w_t (the iterate of a 1-d counterexample), and the first term of (10) for learners of
    mirror-descent form (it grows when A_t/eta_t shrinks)."""
    metrics = result.metrics
    expect = result.meta.get("scenario", {}).get("expect", {}) or {}
    learners = list(dict.fromkeys(metrics["learner"]))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for i, learner in enumerate(learners):
        color = colors[i % len(colors)]
        group = metrics[metrics["learner"] == learner]
        for ax, column, scale in ((axes[0], "regret", True), (axes[1], "iterate_0", False),
                                  (axes[2], "eq10_first_term", False)):
            if column not in group or group[column].isna().all():
                continue
            band = _mean_band(group, column, group["t"].to_numpy() if scale else None)
            ax.plot(band.index, band["mean"], color=color, lw=1.6, label=learner)
            ax.fill_between(band.index, band["low"], band["high"], color=color, alpha=0.2, lw=0)
    for key, style in (("average_regret_limit", "--"), ("average_regret_above", ":"),
                       ("average_regret_below", "-.")):
        for learner, level in expect.get(key, {}).items():
            axes[0].axhline(level, ls=style, color="0.3", lw=1,
                            label=f"{learner}: {key.replace('average_regret_', '')} {level:.4g}")
    titles = ("average regret R_t / t", "w_t (first coordinate)",
              "first term of (10) (mirror-descent learners)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("t")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)


def plot_sensitivity(result: Any, path: Path) -> bool:
    """``sensitivity.png``: final regret against each grid hyperparameter, per learner,
    with a 95% band over seeds. Returns False where the run has no grid."""
    grids = result.meta.get("grids") or {}
    if not grids:
        return False
    metrics = result.metrics
    T = metrics["t"].max()
    final = metrics[metrics["t"] == T]
    keys = sorted({k for g in grids.values() for k in g["keys"]})
    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for base, grid in grids.items():
            if key not in grid["keys"]:
                continue
            index = grid["keys"].index(key)
            xs, means, lows, highs = [], [], [], []
            for label, values in zip(grid["labels"], grid["values"], strict=True):
                from occ.results import mean_interval

                mean, low, high = mean_interval(final[final["learner"] == label]["regret"])
                xs.append(values[index])
                means.append(mean)
                lows.append(low)
                highs.append(high)
            order = np.argsort(xs)
            x = np.asarray(xs)[order]
            line = ax.plot(x, np.asarray(means)[order], marker="o", label=base)[0]
            ax.fill_between(x, np.asarray(lows)[order], np.asarray(highs)[order],
                            color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(f"final regret at T = {T}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)
    return True


def plot_lower_bound(result: Any, path: Path) -> None:
    """``lower_bound.png`` (Appendix B): each learner's mean regret with its 95% band,
    the exact E|S_T| and its asymptote sqrt(2T/pi), and their ratio."""
    from occ.adversaries.rademacher import asymptotic, expected_abs_sum

    metrics = result.metrics
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    t = np.sort(metrics["t"].unique())
    expected = metrics.groupby("t")["expected_regret"].first().loc[t].to_numpy()
    for learner in dict.fromkeys(metrics["learner"]):
        band = _mean_band(metrics[metrics["learner"] == learner], "regret")
        line = axes[0].plot(band.index, band["mean"], lw=1.4, label=f"{learner} (mean regret)")[0]
        axes[0].fill_between(band.index, band["low"], band["high"], color=line.get_color(),
                             alpha=0.2, lw=0)
        axes[1].plot(band.index, band["mean"] / expected, lw=1.2, color=line.get_color(),
                     label=learner)
    coordinates = expected / expected_abs_sum(t)  # d independent coordinates (or 1)
    axes[0].plot(t, expected, "k--", lw=1.2, label="E|S_T| (exact)")
    axes[0].plot(t, coordinates * asymptotic(t), "k:", lw=1.2, label="sqrt(2T/pi)")
    axes[1].plot(t, coordinates * asymptotic(t) / expected, "k:", label="sqrt(2T/pi) / E|S_T|")
    axes[1].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[1].set_xscale("log")
    axes[0].set_title("mean regret vs the exact expectation E|S_T|", fontsize=10)
    axes[1].set_title("mean regret / E|S_T|", fontsize=10)
    for ax in axes:
        ax.set_xlabel("t")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)


def plot_online_to_batch(result: Any, path: Path) -> None:
    """``online_to_batch.png`` (Appendix A): the excess risk of the averaged iterate
    next to R_t/t, log-log, with a t^{-1/2} guide."""
    metrics = result.metrics
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for learner in dict.fromkeys(metrics["learner"]):
        group = metrics[metrics["learner"] == learner]
        excess = _mean_band(group, "excess_risk")
        line = ax.plot(excess.index, _positive(excess["mean"]), lw=1.6,
                       label=f"{learner}: J(w_bar_t) - J*")[0]
        ax.fill_between(excess.index, _positive(excess["low"]), _positive(excess["high"]),
                        color=line.get_color(), alpha=0.2, lw=0)
        average = _mean_band(group, "regret", scale=group["t"].to_numpy())
        ax.plot(average.index, _positive(average["mean"]), ls="--", color=line.get_color(),
                lw=1.2, label=f"{learner}: R_t / t")
    t = np.sort(metrics["t"].unique()).astype(float)
    first = float(metrics[metrics["t"] == t.max()]["excess_risk"].mean())
    if first > 0:
        ax.plot(t, first * np.sqrt(t.max() / t), color="0.5", ls=":", label=r"$\propto t^{-1/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_title("online-to-batch: excess risk of the averaged iterate", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_memory(result: Any, path: Path) -> None:
    """``memory.png``: final mean regret against optimizer-state bytes per parameter."""
    learners = result.meta.get("learners", {})
    T = result.metrics["t"].max()
    final = result.metrics[result.metrics["t"] == T].groupby("learner")["regret"].mean()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for label, info in learners.items():
        size = info.get("state_bytes_per_parameter")
        if size is None or label not in final:
            continue
        ax.scatter([size], [final[label]], s=40)
        ax.annotate(label, (size, final[label]), fontsize=8, xytext=(4, 4),
                    textcoords="offset points")
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("optimizer state, bytes per parameter (float64)")
    ax.set_ylabel(f"final mean regret at T = {T}")
    ax.set_title("regret against optimizer-state size", fontsize=10)
    ax.grid(True, alpha=0.3)
    _save(fig, path)


def plot_all(result: Any, folder: Path) -> list[Path]:
    """Draw every figure of a run into ``folder``, each written atomically."""
    from occ.results import atomic_write

    folder = Path(folder)
    name = result.meta.get("scenario", {}).get("name", folder.name)
    written = []
    atomic_write(folder / "regret.png", lambda p: plot_run(result, p, title=f"{name}: regret"))
    written.append(folder / "regret.png")
    atomic_write(folder / "average_regret.png", lambda p: plot_average(result, p))
    written.append(folder / "average_regret.png")
    if result.meta.get("grids"):
        atomic_write(folder / "sensitivity.png", lambda p: plot_sensitivity(result, p))
        written.append(folder / "sensitivity.png")
    if result.meta.get("scenario", {}).get("shape"):
        atomic_write(folder / "memory.png", lambda p: plot_memory(result, p))
        written.append(folder / "memory.png")
    if "expected_regret" in result.metrics:
        atomic_write(folder / "lower_bound.png", lambda p: plot_lower_bound(result, p))
        written.append(folder / "lower_bound.png")
    if "excess_risk" in result.metrics:
        atomic_write(folder / "online_to_batch.png", lambda p: plot_online_to_batch(result, p))
        written.append(folder / "online_to_batch.png")
    if "comparator_wealth" in result.metrics:  # portfolios (occ.portfolio_plots)
        from occ.portfolio_plots import plot_wealth

        atomic_write(folder / "wealth.png", lambda p: plot_wealth(result, p, f"{name}: wealth"))
        written.append(folder / "wealth.png")
    return written


def _plot_dimension(final: pd.DataFrame, bounds: pd.DataFrame, path: Path) -> None:
    """Final regret (mean, 95% band) and each learner's tightest applicable bound against
    the dimension d, per learner and horizon: EG's sqrt(T log d) against OGD's d."""
    from occ.results import mean_interval

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for (learner, T), group in final.groupby(["learner", "T"]):
        points = []
        for d, rows in group.groupby("d"):
            points.append((d, *mean_interval(rows["regret"])))
        points.sort()
        x = [p[0] for p in points]
        line = axes[0].plot(x, [p[1] for p in points], marker="o", label=f"{learner}, T={T}")[0]
        axes[0].fill_between(x, [p[2] for p in points], [p[3] for p in points],
                             color=line.get_color(), alpha=0.2, lw=0)
        mine = bounds[(bounds["learner"] == learner) & (bounds["T"] == T)
                      & bounds["applicable"].astype(bool) & bounds["bound"].str.match(
                          r"^(eg_tuned|eq24|eq22|eq27|eq37)$")]
        for bound, rows in mine.groupby("bound"):
            curve = rows.groupby("d")["value"].mean()
            axes[1].plot(curve.index, curve.to_numpy(), marker="o", ls="--",
                         label=f"{learner}: {bound}, T={T}")
    for ax, title in zip(axes, ("final regret against d", "bound at T against d"),
                         strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("d")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    _save(fig, path)


def plot_sweep(table: pd.DataFrame, bounds: pd.DataFrame, sweep: Any, folder: Path) -> list[Path]:
    """The sweep figures: final regret against each swept hyperparameter per learner
    (mean with a 95% band over seeds), against the dimension d where the scenarios
    differ in d, and the mean ratio regret/bound against T."""
    from occ.results import atomic_write, mean_interval

    written = []
    final = table[table["t"] == table["T"]]
    for label, names in sweep.swept.items():
        for name in dict.fromkeys(names):
            rows = final[final["learner"].str.startswith(label)]
            if name in rows:  # a value that split cells: a column
                groups = rows.groupby(["scenario", "T", name])
                xs = lambda key: key[2]  # noqa: E731
            else:  # a batched grid: in the learner's label
                pattern = rf"\[(?:.*,)?{name}=([^,\]]+)"
                values = rows["learner"].str.extract(pattern)[0].astype(float)
                rows = rows.assign(_value=values)
                groups = rows.groupby(["scenario", "T", "_value"])
                xs = lambda key: key[2]  # noqa: E731
            series: dict[tuple, list] = {}
            for key, group in groups:
                mean, low, high = mean_interval(group["regret"])
                series.setdefault(key[:2], []).append((xs(key), mean, low, high))
            path = folder / f"final_regret_vs_{label}_{name}.png"

            def draw(p: Path, series: dict = series, name: str = name, label: str = label) -> None:
                fig, ax = plt.subplots(figsize=(6.5, 4.5))
                for (scenario, T), points in sorted(series.items()):
                    points = sorted(points, key=lambda v: float(v[0]))
                    x = [float(v[0]) for v in points]
                    line = ax.plot(x, [v[1] for v in points], marker="o",
                                   label=f"{scenario}, T={T}")[0]
                    ax.fill_between(x, [v[2] for v in points], [v[3] for v in points],
                                    color=line.get_color(), alpha=0.2, lw=0)
                if all(float(v[0]) > 0 for pts in series.values() for v in pts):
                    ax.set_xscale("log")
                ax.set_xlabel(name)
                ax.set_ylabel("final regret (mean, 95% band)")
                ax.set_title(f"{label}: final regret against {name}", fontsize=10)
                ax.grid(True, alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=7)
                _save(fig, p)

            atomic_write(path, draw)
            written.append(path)
    if "d" in final and final["d"].nunique() > 1:
        path = folder / "final_regret_vs_d.png"
        atomic_write(path, lambda p: _plot_dimension(final, bounds, p))
        written.append(path)
    applicable = bounds[bounds["applicable"].astype(bool) & bounds["ratio"].notna()]
    if len(applicable):
        path = folder / "ratio_vs_T.png"

        def draw_ratio(p: Path) -> None:
            fig, ax = plt.subplots(figsize=(6.5, 4.5))
            base = applicable.assign(base=applicable["learner"].str.replace(r"\[.*", "",
                                                                            regex=True))
            for (scenario, learner, bound), group in base.groupby(["scenario", "base", "bound"]):
                curve = group.groupby("T")["ratio"].mean()
                if len(curve) > 1:
                    ax.plot(curve.index, curve.to_numpy(), marker="o", lw=1,
                            label=f"{scenario}/{learner}/{bound}")
            ax.set_xscale("log")
            ax.set_xlabel("T")
            ax.set_ylabel("mean regret / bound at T")
            ax.set_title("regret / bound against T", fontsize=10)
            ax.grid(True, alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6, ncol=2)
            _save(fig, p)

        atomic_write(path, draw_ratio)
        written.append(path)
    return written
