"""Cells per second of a sweep on the local process pool with 1 and 2 workers.

Runs the same 96-cell sweep (small cells: two scenarios, T = 200, one seed per cell) in
fresh folders and prints the wall time, cells per second and the speed-up of 2 workers
(each run starts a fresh pool: spawned workers import occ and load the compiled kernels),
then the cells' own compute warm in this process. Asserts nothing.
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
seeds = 24
seed_block = 1

[learners.sgd]
kind = "ogd"
eta = {log = [0.01, 1.0], num = 4}

[learners.adam]
kind = "adam"
eta = {log = [0.001, 0.1], num = 4}
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(SWEEP)
        sweep = load_sweep(path)
        rates = {}
        for workers in (1, 2):
            start = time.perf_counter()
            report = run_sweep(sweep, Path(tmp) / f"w{workers}", workers=workers)
            wall = time.perf_counter() - start
            rates[workers] = report["computed"] / wall
            print(f"{workers} worker(s): {report['computed']} cells in {wall:6.2f} s = "
                  f"{rates[workers]:6.2f} cells/s (collection and figures included)")
        print(f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}x")
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
