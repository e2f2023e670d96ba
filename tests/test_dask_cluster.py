"""A sweep on a real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes
started here in another directory, the client in its own with relative paths (a named
scenario, a scenario file beside the sweep, a relative --out). The workers never read or
write a file of the client's: the cells carry their scenario's contents and their
results come back to the client. The table equals the local pool's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("dask.distributed", reason="needs dask[distributed] (pip install "
                    "'occ[dask]')")
DASK = shutil.which("dask", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")]))
pytestmark = pytest.mark.skipif(DASK is None, reason="the `dask` command is not installed")

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """
d = 5
T = 50
seeds = 3
checkpoints = 5
[domain]
kind = "box"
[adversary]
kind = "linear_sparse"
[learners.ada]
kind = "adagrad_diag"
eta = 0.5
"""

SWEEP = """
name = "distributed"
scenarios = ["default", "mine.toml"]
T = [20, 40]
seeds = 4
seed_block = 2
[learners.sgd]
kind = "ogd"
eta = {log = [0.01, 1.0], num = 3}
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _spawn(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, env=_env(), start_new_session=True,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_sweep_on_a_real_cluster_started_elsewhere_equals_the_local_pool(
        tmp_path: Path) -> None:
    cluster, client = tmp_path / "cluster", tmp_path / "client"
    (client / "study").mkdir(parents=True)
    cluster.mkdir()
    (client / "study" / "sweep.toml").write_text(SWEEP)
    (client / "study" / "mine.toml").write_text(SCENARIO)
    address_file = cluster / "scheduler.json"
    scheduler = _spawn([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                        "--no-dashboard", "--scheduler-file", str(address_file)],
                       cluster, cluster / "scheduler.log")
    workers = None
    try:
        deadline = time.monotonic() + 30
        while not address_file.is_file() and time.monotonic() < deadline:
            assert scheduler.poll() is None, (cluster / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        workers = _spawn([DASK, "worker", address, "--nworkers", "2", "--nthreads", "1",
                          "--no-dashboard", "--local-directory", str(cluster / "space")],
                         cluster, cluster / "workers.log")
        ran = subprocess.run([sys.executable, "-m", "occ.cli", "sweep", "study/sweep.toml",
                              "--executor", "dask", "--scheduler", address,
                              "--out", "results/dask"], cwd=client, env=_env(),
                             capture_output=True, text=True, timeout=180)
        assert ran.returncode == 0, (ran.stdout, ran.stderr,
                                     (cluster / "workers.log").read_text()[-3000:])
        local = subprocess.run([sys.executable, "-m", "occ.cli", "sweep", "study/sweep.toml",
                                "--workers", "2", "--out", "results/local"], cwd=client,
                               env=_env(), capture_output=True, text=True, timeout=180)
        assert local.returncode == 0, local.stderr
    finally:
        if workers is not None:
            _stop(workers)
        _stop(scheduler)
    dask_table = pd.read_csv(client / "results" / "dask" / "sweep.csv")
    local_table = pd.read_csv(client / "results" / "local" / "sweep.csv")
    assert len(dask_table) and set(dask_table["scenario"]) == {"default", "mine"}
    pd.testing.assert_frame_equal(dask_table, local_table, check_exact=True)
    # the workers wrote nothing of the sweep's in their own directory
    assert not list(cluster.rglob("*.csv")) and not (cluster / "results").exists()
