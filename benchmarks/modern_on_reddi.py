"""Issue 18's optimizers on the three Reddi et al. instances, and the memory table.

Runs ``modern-on-reddi-cycle``, ``-online`` and ``-stochastic`` at their T (10^5) and
``matrix-memory``, prints the README's tables (final R_T/T per learner and instance, with
the regret of schedule-free AdamW's average x; final regret against optimizer-state bytes
per parameter), each run's wall time with the machine's load, and the ``[expect]`` verdicts
at the full T; draws ``modern-on-reddi.png`` (R_t/t, one panel per instance) and copies
``matrix-memory``'s ``memory.png`` into ``--figures``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

import occ
from occ.check import expectation_rows
from occ.plots import plot_average_regret_panels
from occ.scenarios import load_scenario

INSTANCES = ("cycle", "online", "stochastic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, default=Path("docs/figures"))
    parser.add_argument("--T", type=int, default=None, help="override the scenarios' T")
    args = parser.parse_args()
    args.figures.mkdir(parents=True, exist_ok=True)
    results, columns = {}, {}
    for name in INSTANCES:
        sc = load_scenario(f"modern-on-reddi-{name}")
        load = os.getloadavg()[0]
        start = time.perf_counter()
        result = occ.run(sc, T=args.T)
        wall = time.perf_counter() - start
        T = result.metrics["t"].max()
        print(f"{sc.name}: T = {T}, {sc.seeds} seeds, {wall:.1f} s (load {load:.2f})")
        for row in expectation_rows(sc.name, sc.expect, result):
            print(f"  {row['verdict']:6} {row['bound']}: {row['learner']} {row['worst_ratio']:.4g}")
        final = result.metrics[result.metrics["t"] == T].groupby("learner", sort=False)
        columns[name] = final["regret"].mean() / T
        columns[f"{name} mean w"] = final["mean_iterate_0"].mean()
        shadow = final["shadow_regret"].mean() / T
        for learner, value in shadow.dropna().items():
            columns.setdefault(f"{name} (x)", pd.Series(dtype=float))[learner] = value
        results[f"{name} (T = {T})"] = result
    keys = [k for name in INSTANCES for k in (name, f"{name} mean w")]
    table = pd.DataFrame({k: columns[k] for k in keys})
    print("\n| learner | " + " | ".join(keys) + " |")
    print("| --- | " + " | ".join("---" for _ in keys) + " |")
    for learner, row in table.iterrows():
        print(f"| `{learner}` | " + " | ".join(f"{v:.4f}" for v in row) + " |")
    for name in INSTANCES:
        for learner, value in columns.get(f"{name} (x)", pd.Series(dtype=float)).items():
            print(f"{name}: {learner}'s average x: R_T/T = {value:.4f}")
    plot_average_regret_panels(results, args.figures / "modern-on-reddi.png")
    memory = load_scenario("matrix-memory")
    with tempfile.TemporaryDirectory() as folder:
        result = occ.run(memory, out=folder)
        T = result.metrics["t"].max()
        final = result.metrics[result.metrics["t"] == T].groupby("learner", sort=False)
        print("\n| learner | state bytes per parameter | final mean regret |")
        print("| --- | --- | --- |")
        for learner, regret in final["regret"].mean().items():
            size = result.meta["learners"][learner]["state_bytes_per_parameter"]
            print(f"| `{learner}` | {size:.3g} | {regret:.1f} |")
        shutil.copyfile(Path(result.path) / "memory.png", args.figures / "matrix-memory.png")


if __name__ == "__main__":
    main()
