"""The fixed cost of `occ run` beside its simulation, for a small and a large run.

For each size, in fresh processes (median of --repeat runs): the whole command
`occ run default --T T --seeds S` (wall clock), `import occ.api` alone, and from the run's
own meta.json the simulation time; the rest (tables, figures, writing, numba's cache load)
is the difference. Also the same command with --no-plots. Prints figures with the
machine's load; asserts nothing. The issue's target: the whole small command within
2 x simulation + 1 s.

``--python PATH`` times another environment's interpreter, e.g. a fresh venv with a plain
``pip install .`` (what a newcomer has): the test environment's extras (pyarrow, JAX,
torch) make ``import pandas`` and the plugin scan slower there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(T: int, seeds: int, repeat: int, python: str) -> dict[str, float]:
    OCC = [python, "-m", "occ.cli"]
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        whole, bare, simulation = [], [], []
        for _ in range(repeat):
            whole.append(_timed(OCC + ["run", "default", "--T", str(T), "--seeds", str(seeds)],
                                cwd))
            run = max((cwd / "results" / "default").iterdir())
            simulation.append(json.loads((run / "meta.json").read_text())["wall_seconds"])
            bare.append(_timed(OCC + ["run", "default", "--T", str(T), "--seeds", str(seeds),
                                      "--no-plots"], cwd))
        imports = [_timed([python, "-c", "import occ.api"], cwd) for _ in range(repeat)]
    return {"command": statistics.median(whole), "no_plots": statistics.median(bare),
            "import": statistics.median(imports), "simulation": statistics.median(simulation)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the environment to time (default: this one)")
    args = parser.parse_args()
    print(f"python: {args.python}")
    print(f"load average before: {os.getloadavg()}")
    print(f"{'run':>22} {'command':>8} {'no plots':>9} {'import':>7} {'simulation':>11} "
          f"{'fixed':>6} {'target 2 sim + 1':>17}")
    for T, seeds in ((200, 2), (10_000, 20)):
        m = measure(T, seeds, args.repeat, args.python)
        fixed = m["command"] - m["simulation"]
        print(f"{f'T = {T}, seeds = {seeds}':>22} {m['command']:8.2f} {m['no_plots']:9.2f} "
              f"{m['import']:7.2f} {m['simulation']:11.2f} {fixed:6.2f} "
              f"{2 * m['simulation'] + 1:17.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
