"""The portfolio figure: wealth over time on a log axis (``wealth.png``).

Each learner's wealth (the mean over seeds; net of transaction costs dotted where a cost
rate is set), the best constant rebalanced portfolio of each prefix (dashed black: the
hindsight comparator at every checkpoint) and the baselines (best single stock,
buy-and-hold, uniform CRP; grey) at the run's checkpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from occ.figure_files import save_figure  # noqa: E402

BASELINES = {"best_stock_wealth": ("best stock", ":"), "buy_and_hold_wealth":
             ("buy and hold", "-."), "uniform_crp_wealth": ("uniform CRP", "--")}


def plot_wealth(result: Any, path: Path, title: str = "wealth") -> None:
    """Draw ``wealth.png`` from a portfolio run's metrics (see the module docstring)."""
    m = result.metrics
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, group in m.groupby("learner", sort=False):
        mean = group.groupby("t")["wealth"].mean()
        (line,) = ax.plot(mean.index, mean.values, label=str(label))
        if "net_wealth" in group and (group["net_wealth"] != group["wealth"]).any():
            net = group.groupby("t")["net_wealth"].mean()
            ax.plot(net.index, net.values, ":", color=line.get_color(),
                    label=f"{label} (net of costs)")
    first = m[m["learner"] == m["learner"].iloc[0]].groupby("t")
    ax.plot(first["comparator_wealth"].mean(), "k--", lw=1.5, label="best CRP (hindsight)")
    for column, (name, style) in BASELINES.items():
        if column in m:
            ax.plot(first[column].mean(), style, color="grey", lw=1, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("wealth (start 1)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    save_figure(fig, path)
