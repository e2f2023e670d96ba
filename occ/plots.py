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

from occ.bounds import IDENTITIES  # noqa: E402
from occ.figure_files import save_figure  # noqa: E402
from occ.intervals import t_quantile  # noqa: E402


def _grid_layout(fig: Any, rows: int, cols: int, legend: float, caption: float = 0.3,
                 legend_each: bool = True) -> None:
    """Fixed margins in inches, computed once (``tight_layout`` measures every text and
    costs seconds): room for a legend of width ``legend`` right of each panel (or, with
    ``legend_each`` False, right of the last column only), titles, axis labels and a
    caption line at the bottom."""
    width, height = fig.get_size_inches()
    left, top, below = 0.8, 0.35, 0.55
    between = legend + left if legend_each else left
    axes_width = (width - left - legend - (cols - 1) * between) / cols
    axes_height = (height - caption) / rows - top - below
    fig.subplots_adjust(left=left / width, right=1 - legend / width,
                        wspace=between / axes_width,
                        top=1 - top / height, bottom=(below + caption) / height,
                        hspace=(top + below) / axes_height)


def _band(group: pd.DataFrame) -> pd.DataFrame:
    """Mean regret per checkpoint and the 95% interval of the mean over seeds."""
    g = group[~group["diverged"].astype(bool)].groupby("t")["regret"]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()})
    q = t_quantile(0.975, np.maximum(out["n"] - 1, 1))
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
    q = t_quantile(0.975, np.maximum(stats["count"] - 1, 1))
    half = np.where(stats["count"] > 1, q * stats["std"] / np.sqrt(stats["count"]), 0.0)
    stats["low"], stats["high"] = stats["mean"] - half, stats["mean"] + half
    return stats


def _guide(ax: Any, t: np.ndarray, anchor: float) -> None:
    if np.isfinite(anchor) and anchor > 0:
        ax.plot(t, anchor * np.sqrt(t / t.max()), color="0.6", lw=0.8, ls=":",
                label="\u221d \u221at")


LEARNER_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                  "#e377c2", "#17becf", "#bcbd22")
"""Learners' colours; bounds are drawn in :data:`BOUND_COLORS`, never in a learner's."""
BOUND_COLORS = ("0.15", "0.45", "#5a3d99", "#7a5c00", "#006d6f", "0.65")
BOUND_STYLES = ("--", "-.", (0, (5, 1.5)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (8, 2, 1, 2)))
BAND_CAPTION = ("lines: mean over seeds (diverged repetitions left out); bands: 95% "
                "t-interval of the mean")


def learner_color(index: int) -> str:
    return LEARNER_COLORS[index % len(LEARNER_COLORS)]


def _legend_outside(ax: Any, fontsize: int = 7) -> None:
    """The legend to the right of the axes, where it covers no curve."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, frameon=False)


def _title(ax: Any, text: str) -> None:
    """The panel's title at the fixed height ``y = 1`` (plus matplotlib's pad): an
    automatic title position measures every tick label of the axes on each draw (0.32 s
    of the default scenario's two figures; there are no top tick labels to avoid)."""
    ax.set_title(text, fontsize=10, y=1.0)


def _caption(fig: Any, text: str) -> None:
    """One line under the figure saying what is drawn."""
    fig.text(0.01, 0.005, text, fontsize=7, color="0.3", ha="left", va="bottom")




def regret_figure(result: Any, title: str | None = None) -> Any:
    """The figure of ``regret.png``: an overview of R_t / sqrt(t) for every learner (a
    linear y axis: a flat line is sqrt(t) regret), then one log-log panel per learner with
    its regret, its 95% band (clipped at the axis' bottom, never cut into slivers) and
    each bound where it applies (markers where it applies at a single checkpoint)."""
    metrics, bounds = result.metrics, result.bounds
    learners = list(dict.fromkeys(metrics["learner"]))
    panels = len(learners) + 1
    cols = min(2, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.4 * cols, 3.8 * rows), squeeze=False)
    overview = axes.flat[0]
    for i, learner in enumerate(learners):
        color = learner_color(i)
        band = _band(metrics[metrics["learner"] == learner])
        t = band.index.to_numpy().astype(float)
        root = np.sqrt(t)
        overview.plot(t, band["mean"] / root, color=color, lw=1.6, label=learner)
        overview.fill_between(t, band["low"] / root, band["high"] / root, color=color,
                              alpha=0.2, lw=0)
        ax = axes.flat[i + 1]
        mine = bounds[(bounds["learner"] == learner) & bounds["applicable"].astype(bool)]
        curves = [(name, rows_b.groupby("t")["value"].mean())
                  for name, rows_b in mine.groupby("bound", sort=False)]
        positive = [v for v in [band["mean"].to_numpy(), *[c.to_numpy() for _, c in curves]]
                    for v in [np.asarray(v, dtype=float)] if np.any(v > 0)]
        floor = min(float(np.min(v[v > 0])) for v in positive) / 3 if positive else 1e-12
        ax.plot(t, _positive(band["mean"]), color=color, lw=2.0, zorder=4,
                label=f"{learner}: regret")
        ax.fill_between(t, np.maximum(band["low"], floor), np.maximum(band["high"], floor),
                        color=color, alpha=0.2, lw=0, zorder=3)
        for j, (name, curve) in enumerate(curves):
            identity = name in IDENTITIES
            single = len(curve) == 1
            ax.plot(curve.index, _positive(curve.to_numpy()),
                    ls="none" if single else BOUND_STYLES[j % len(BOUND_STYLES)],
                    marker="D" if single else None, ms=5,
                    lw=0.8 if identity else 1.2, zorder=2 if identity else 3,
                    color=BOUND_COLORS[j % len(BOUND_COLORS)],
                    label=f"{name}"
                    + (f" (at t = {int(curve.index[0])} only)" if single else ""))
        _guide(ax, t, float(band["mean"].iloc[-1]))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
        _title(ax, learner)
        ax.set_ylabel("cumulative regret")
    overview.set_xscale("log")
    overview.set_ylabel("R\u209c / \u221at")
    _title(overview, title or "regret / \u221at")
    for ax in axes.flat[:panels]:
        ax.set_xlabel("t")
        ax.grid(True, which="major", alpha=0.3)
        _legend_outside(ax)
    for ax in axes.flat[panels:]:
        ax.axis("off")
    _caption(fig, BAND_CAPTION + "; bounds: mean over seeds where they apply, grey and "
             "dashed")
    _grid_layout(fig, rows, cols, legend=2.4)
    return fig


def plot_run(result: Any, path: Path, title: str | None = None) -> None:
    """Write ``regret.png`` (:func:`regret_figure`)."""
    save_figure(regret_figure(result, title), path, layout=False)


def _coordinate_range(domain: dict[str, Any]) -> tuple[float, float]:
    """The range of the first coordinate over V (for the iterate's band)."""
    kind = domain.get("kind")
    if kind == "box":
        low, high = domain.get("low", -1.0), domain.get("high", 1.0)
        first = lambda v: float(v[0] if isinstance(v, list) else v)  # noqa: E731
        return first(low), first(high)
    if kind == "ball":
        centre = domain.get("centre", 0.0)
        c = float(centre[0] if isinstance(centre, list) else centre)
        radius = float(domain.get("radius", 1.0))
        return c - radius, c + radius
    if kind == "simplex":
        return 0.0, 1.0
    return -np.inf, np.inf


def average_figure(result: Any) -> Any:
    """The figure of ``average_regret.png``: R_t/t per learner (with the levels a scenario
    derives, e.g. the limit of Adam's average regret on Reddi et al.'s cycle), the first
    coordinate of w_t (its band clipped to V) and, where recorded, the first term of (10)
    (it grows when A_t/eta_t shrinks). Panels without data are not drawn."""
    metrics = result.metrics
    scenario = result.meta.get("scenario", {}) or {}
    expect = scenario.get("expect", {}) or {}
    low_w, high_w = _coordinate_range(scenario.get("domain", {}) or {})
    learners = list(dict.fromkeys(metrics["learner"]))
    specs = [("regret", True, "average regret R_t / t", "R\u209c / t"),
             ("iterate_0", False, "first coordinate of w_t", "w\u209c,\u2081"),
             ("eq10_first_term", False, "first term of (10) (mirror-descent learners)",
              "first term of (10)")]
    specs = [s for s in specs if s[0] in metrics and metrics[s[0]].notna().any()]
    fig, axes = plt.subplots(1, len(specs), figsize=(6.2 * len(specs), 4.0), squeeze=False)
    for i, learner in enumerate(learners):
        group = metrics[metrics["learner"] == learner]
        for ax, (column, scale, _, _) in zip(axes.flat, specs, strict=True):
            if group[column].isna().all():
                continue
            band = _mean_band(group, column, group["t"].to_numpy() if scale else None)
            low, high = band["low"], band["high"]
            if column == "iterate_0":
                low, high = np.clip(low, low_w, high_w), np.clip(high, low_w, high_w)
            ax.plot(band.index, band["mean"], color=learner_color(i), lw=1.6, label=learner)
            ax.fill_between(band.index, low, high, color=learner_color(i), alpha=0.2, lw=0)
    for key, style in (("average_regret_limit", "--"), ("average_regret_above", ":"),
                       ("average_regret_below", "-.")):
        for learner, level in expect.get(key, {}).items():
            axes.flat[0].axhline(level, ls=style, color="0.3", lw=1,
                                 label=f"{learner}: {key.replace('average_regret_', '')} "
                                       f"{level:.4g}")
    for ax, (_, _, title, ylabel) in zip(axes.flat, specs, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel(ylabel)
        _title(ax, title)
        ax.grid(True, alpha=0.3)
    _legend_outside(axes.flat[-1])
    _caption(fig, BAND_CAPTION)
    _grid_layout(fig, 1, len(specs), legend=2.2, legend_each=False)  # one legend
    return fig


def plot_average(result: Any, path: Path) -> None:
    """Write ``average_regret.png`` (:func:`average_figure`)."""
    save_figure(average_figure(result), path, layout=False)


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
                from occ.intervals import mean_interval

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
    save_figure(fig, path)
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
    _title(axes[0], "mean regret vs the exact expectation E|S_T|")
    _title(axes[1], "mean regret / E|S_T|")
    for ax in axes:
        ax.set_xlabel("t")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    save_figure(fig, path)


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
        ax.plot(t, first * np.sqrt(t.max() / t), color="0.5", ls=":", label="\u221d 1/\u221at")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    _title(ax, "online-to-batch: excess risk of the averaged iterate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path)


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
    _title(ax, "regret against optimizer-state size")
    ax.grid(True, alpha=0.3)
    save_figure(fig, path)


def plot_average_regret_panels(results: dict[str, Any], path: Path) -> None:
    """R_t/t (mean over seeds) against t, one panel per run (e.g. the three
    modern-on-reddi instances), one line per learner; a learner's ``shadow_regret`` (a
    second sequence it reports) dashed in the same colour."""
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2),
                             squeeze=False)
    for ax, (title, result) in zip(axes[0], results.items(), strict=True):
        metrics = result.metrics
        for i, (learner, group) in enumerate(metrics.groupby("learner", sort=False)):
            mean = group.groupby("t")[["regret", "shadow_regret"]].mean()
            t = mean.index.to_numpy(dtype=float)
            ax.plot(t, mean["regret"] / t, color=learner_color(i), lw=1.4, label=learner)
            if mean["shadow_regret"].notna().any():
                ax.plot(t, mean["shadow_regret"] / t, color=learner_color(i), lw=1.1,
                        ls="--", label=f"{learner} (shadow)")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_xlabel("t")
        ax.set_ylabel("R_t / t")
        _title(ax, title)
        ax.grid(True, alpha=0.3)
    _legend_outside(axes[0][-1])
    save_figure(fig, path)


def _plot_wealth(result: Any, path: Path, title: str) -> None:
    from occ.portfolio_plots import plot_wealth

    plot_wealth(result, path, title)


def plot_all(result: Any, folder: Path, figure_format: str = "png") -> list[Path]:
    """Draw every figure of a run into ``folder`` as ``figure_format`` (png, svg or pdf),
    each written atomically; returns the files written. A figure that cannot be drawn is
    skipped and the others are drawn; then :class:`~occ.errors.FigureError` lists what
    was skipped."""
    jobs = figure_jobs(result, folder, figure_format)
    raise_failures(draw_figures(jobs))
    return [path for path, _ in jobs]


def figure_jobs(result: Any, folder: Path, figure_format: str = "png"
                ) -> list[tuple[Path, Any]]:
    """The figures a run has, in order, as ``(path, draw)`` pairs: ``draw(path)`` writes
    one figure (regret and average regret always; the others where the run has what
    they show)."""
    folder = Path(folder)
    name = result.meta.get("scenario", {}).get("name", folder.name)
    metrics = result.metrics
    figures = [
        ("regret", True, lambda p: plot_run(result, p, title=f"{name}: regret")),
        ("average_regret", True, lambda p: plot_average(result, p)),
        ("sensitivity", bool(result.meta.get("grids")), lambda p: plot_sensitivity(result, p)),
        ("memory", bool(result.meta.get("scenario", {}).get("shape")),
         lambda p: plot_memory(result, p)),
        ("lower_bound", "expected_regret" in metrics, lambda p: plot_lower_bound(result, p)),
        ("online_to_batch", "excess_risk" in metrics and bool((metrics.get(
            "excess_risk", pd.Series(dtype=float)) > 0).any()),
         lambda p: plot_online_to_batch(result, p)),
        ("wealth", "comparator_wealth" in metrics,  # portfolios (occ.portfolio_plots)
         lambda p: _plot_wealth(result, p, f"{name}: wealth")),
    ]
    return [(folder / f"{stem}.{figure_format}", draw) for stem, wanted, draw in figures
            if wanted]


def draw_figures(jobs: list[tuple[Path, Any]]) -> dict[Path, str]:
    """Draw ``jobs`` (:func:`figure_jobs`) one after the other, each written atomically;
    returns why each figure not drawn was not, by path."""
    from occ.atomic import atomic_write

    return _draw_jobs(jobs, lambda path, draw: atomic_write(path, draw, keep_suffix=True))


def raise_failures(failed: dict[Path, str]) -> None:
    """:class:`~occ.errors.FigureError` naming the figures not drawn, if any."""
    from occ.errors import FigureError

    error = FigureError.naming(failed)
    if error is not None:
        raise error


def _draw_one(path: Path, draw: Any, write: Any) -> str:
    """Draw one figure; ``""`` or why it was not drawn."""
    try:
        write(path, draw)
        return ""
    except Exception as exc:  # reported by plot_all; the other figures are still drawn
        plt.close("all")
        return f"{path.name} ({type(exc).__name__}: {exc})"


def _draw_jobs(jobs: list[tuple[Path, Any]], write: Any) -> dict[Path, str]:
    """Draw every figure, one after the other; returns why each figure not drawn was not,
    by path (the CLI draws them in processes started before the run:
    :mod:`occ.figure_worker`)."""
    return {path: why for path, draw in jobs if (why := _draw_one(path, draw, write))}


def _plot_dimension(final: pd.DataFrame, bounds: pd.DataFrame, path: Path) -> None:
    """Final regret (mean, 95% band) and each learner's tightest applicable bound against
    the dimension d, per learner and horizon: EG's sqrt(T log d) against OGD's d."""
    from occ.intervals import mean_interval

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
        _title(ax, title)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_sweep(table: pd.DataFrame, bounds: pd.DataFrame, sweep: Any, folder: Path) -> list[Path]:
    """The sweep figures: final regret against each swept hyperparameter per learner
    (mean with a 95% band over seeds), against the dimension d where the scenarios
    differ in d, and the mean ratio regret/bound against T."""
    from occ.atomic import atomic_write
    from occ.intervals import mean_interval

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
                _title(ax, f"{label}: final regret against {name}")
                ax.grid(True, alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=7)
                save_figure(fig, p)

            atomic_write(path, draw)
            written.append(path)
    if "d" in final:
        for number, family in enumerate(dimension_families(sweep)):
            rows = final[final["scenario"].isin(family)]
            if rows["d"].nunique() < 2:
                continue
            path = folder / ("final_regret_vs_d.png" if number == 0
                             else f"final_regret_vs_d_{number + 1}.png")
            atomic_write(path, lambda p, rows=rows: _plot_dimension(
                rows, bounds[bounds["scenario"].isin(rows["scenario"].unique())], p))
            written.append(path)
    applicable = bounds[bounds["applicable"].astype(bool) & bounds["ratio"].notna()]
    if len(applicable):
        path = folder / "ratio_vs_T.png"
        atomic_write(path, lambda p: _plot_ratio_against_T(applicable, p))
        written.append(path)
    return written


def dimension_families(sweep: Any) -> list[list[str]]:
    """The sweep's scenarios grouped by everything but their dimension (and name, text,
    size and seeds): final regret against d is drawn within a family only, never across
    scenarios that differ in more than d."""
    families: dict[str, list[str]] = {}
    seen = set()
    for cell in getattr(sweep, "cells", ()):
        config = dict(cell.config.get("scenario", {}))
        name = config.get("name", cell.scenario)
        if name in seen:
            continue
        seen.add(name)
        for key in ("name", "description", "path", "d", "shape", "seed", "seeds", "T",
                    "check", "checkpoints", "chunk"):
            config.pop(key, None)
        families.setdefault(repr(sorted(config.items(), key=str)), []).append(name)
    return [names for names in families.values() if len(names) > 1]


def _plot_ratio_against_T(applicable: pd.DataFrame, path: Path) -> None:
    save_figure(ratio_against_T_figure(applicable), path)


def ratio_against_T_figure(applicable: pd.DataFrame) -> Any:
    """The worst ratio regret/bound at T against T, per scenario, learner and bound: the
    maximum over seeds and over the members of a learner's grid (a grid under study is
    never averaged away); colours and line styles are never repeated."""
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    at_T = applicable[applicable["t"] == applicable["T"]] if "t" in applicable else applicable
    base = at_T.assign(base=at_T["learner"].str.replace(r"\[.*", "", regex=True))
    palette = plt.cm.tab20.colors
    curves = [(key, group.groupby("T")["ratio"].max())
              for key, group in base.groupby(["scenario", "base", "bound"])]
    curves = [(key, curve) for key, curve in curves if len(curve) > 1]
    for i, ((scenario, learner, bound), curve) in enumerate(curves):
        ax.plot(curve.index, curve.to_numpy(), marker="o", lw=1,
                color=palette[i % len(palette)],
                ls=BOUND_STYLES[(i // len(palette)) % len(BOUND_STYLES)],
                label=f"{scenario}/{learner}/{bound}")
    ax.set_xscale("log")
    ax.set_xlabel("T")
    ax.set_ylabel("worst regret / bound at T")
    _title(ax, "worst ratio over seeds and grid members, against T")
    ax.grid(True, alpha=0.3)
    _legend_outside(ax, fontsize=6)
    return fig
