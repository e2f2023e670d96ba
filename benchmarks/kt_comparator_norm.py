"""Figure for issue 17: final regret against the comparator norm ||u||, per learner.

Runs the scenario ``kt-comparator-norm-1`` (linear losses with a planted mean on a ball,
so the best point in hindsight has ||u|| = the radius) with the ball's radius set to each
of ``--radii``, and plots the mean final regret (and its min/max over seeds) of KT
(magnitude x direction and Hilbert) and of OGD tuned for ||u|| = 1, log-log. The three
radii of the issue (0.01, 1, 100) are the named scenarios kt-comparator-norm-*.

    python benchmarks/kt_comparator_norm.py  # writes docs/figures/kt-comparator-norm.png
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import occ  # noqa: E402
from occ.scenarios import parse_scenario  # noqa: E402

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "kt-comparator-norm-1.toml"


def final_regrets(radius: float, T: int, seeds: int) -> dict[str, np.ndarray]:
    data = tomllib.loads(SCENARIO.read_text())
    data["domain"]["radius"] = radius
    data.pop("expect", None)
    sc = parse_scenario(data, str(SCENARIO), "kt-comparator-norm")
    result = occ.run(sc, T=T, seeds=seeds)
    final = result.metrics[result.metrics["t"] == T]
    return {name: group["regret"].to_numpy() for name, group in final.groupby("learner")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--radii", type=float, nargs="+",
                        default=[0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100])
    parser.add_argument("--T", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("docs/figures/kt-comparator-norm.png"))
    args = parser.parse_args()
    rows = [final_regrets(r, args.T, args.seeds) for r in args.radii]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in rows[0]:
        values = np.array([row[name] for row in rows])
        mean = values.mean(axis=1)
        ax.plot(args.radii, mean, marker="o", label=name)
        ax.fill_between(args.radii, values.min(axis=1), values.max(axis=1), alpha=0.2)
        print(name, " ".join(f"{r:g}:{m:.4g}" for r, m in zip(args.radii, mean, strict=True)))
    ax.set_xscale("log")
    ax.set_yscale("log")  # every final regret here is positive (a planted mean)
    ax.set_xlabel("||u|| (ball radius, the best point in hindsight)")
    ax.set_ylabel(f"final regret at T = {args.T}")
    ax.set_title("KT (no step size) vs OGD tuned for ||u|| = 1")
    ax.legend()
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
