"""Cells per second of a sweep on the local process pool with 1 and 2 workers.

Runs the same sweep of small cells (two scenarios, T = 200, one seed per cell: 96 cells,
or ``4 --seeds`` of them) in fresh folders and prints, for 1 and 2 workers, the wall time
and cells per second in three phases, timed by the sweep's own progress callback: the
pool's start with the first task (spawned workers import occ and load the compiled
kernels), the cells after the first one is written (the workers warm), and the tables
and figures after the last cell; then the cells' own compute warm in this process.
Asserts nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from occ.sweeps import group_cells, load_sweep, run_cells, run_sweep

SWEEP = """
name = "bench"
scenarios = ["default", "quadratic-ball"]
T = 200
seeds = SEEDS
seed_block = 1

[learners.sgd]
kind = "ogd"
eta = {log = [0.01, 1.0], num = 4}

[learners.adam]
kind = "adam"
eta = {log = [0.001, 0.1], num = 4}
"""


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=24, help="cells per configuration")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(SWEEP.replace("SEEDS", str(args.seeds)))
        sweep = load_sweep(path)
        rates = {}
        print(f"sweep of {len(sweep.cells)} small cells (T = 200, one seed a cell)")
        for workers in (1, 2):
            stamps: list[float] = []
            start = time.perf_counter()
            report = run_sweep(sweep, Path(tmp) / f"w{workers}", workers=workers,
                               progress=lambda _, s=stamps: s.append(time.perf_counter()))
            end = time.perf_counter()
            n = report["computed"]
            rates[workers] = n / (end - start)
            first = 1  # the cells after the first one written: the workers are warm
            warm = (n - first) / (stamps[-1] - stamps[0]) if n > first else float("nan")
            print(f"{workers} worker(s): {n} cells in {end - start:6.2f} s = "
                  f"{rates[workers]:6.2f} cells/s whole (load {os.getloadavg()[0]:.1f}): pool "
                  f"start and first cell {stamps[0] - start:.2f} s; then {n - first} cells "
                  f"in {stamps[-1] - stamps[0]:.2f} s = {warm:.1f} cells/s warm; tables and "
                  f"figures {end - stamps[-1]:.2f} s")
        print(f"speed-up with 2 workers (whole): {rates[2] / rates[1]:.2f}x")
        # the cells' own compute, warm (this process: imports and compiled kernels loaded),
        # as the tasks the pool gets (occ.sweeps.group_cells): what the fixed costs of a
        # fresh pool (spawn, imports) and of the collection and figures come on top of
        tasks = group_cells(list(sweep.cells), 1)
        run_cells(tasks[0])
        start = time.perf_counter()
        for task in tasks:
            run_cells(task)
        wall = time.perf_counter() - start
        print(f"warm, in this process: {len(sweep.cells)} cells in {len(tasks)} tasks, "
              f"{wall:6.2f} s = {len(sweep.cells) / wall:6.1f} cells/s on one core "
              f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
