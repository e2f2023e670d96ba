"""Sweeps: cells, executors, resume after an interruption, failures, a killed worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sweep_plugins  # noqa: F401  (registers the test learners here too)
from click.testing import CliRunner

from occ.cli import cli
from occ.sweeps import load_sweep, run_sweep, status

SWEEP = """
name = "small"
scenarios = ["default", "quadratic-ball"]
T = [10, 20]
seeds = 26
seed_block = 1
checkpoints = 5

[learners.sgd]
kind = "ogd"
eta = {log = [0.01, 1.0], num = 3}

[learners.adamw]
kind = "adamw"
eta = 0.1
decoupled = [true, false]
"""
# 2 scenarios x 2 horizons x (1 sgd cell + 2 adamw cells) x 26 seed blocks = 312 cells


def _sweep_file(tmp_path: Path, text: str = SWEEP) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "sweep.csv")


def test_cells_batch_grids_and_split_the_rest(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep_file(tmp_path))
    assert len(sweep.cells) == 312
    sgd = [c for c in sweep.cells if c.label.startswith("sgd")]
    assert all(c.params["eta"] == pytest.approx([0.01, 0.1, 1.0]) for c in sgd)
    labels = {c.label for c in sweep.cells if c.label.startswith("adamw")}
    assert labels == {"adamw[decoupled=True]", "adamw[decoupled=False]"}
    assert len({c.key for c in sweep.cells}) == 312


def test_executors_and_worker_counts_give_identical_tables(tmp_path: Path) -> None:
    """A local pool with 1 and with 2 workers and a Dask LocalCluster: the same table."""
    text = SWEEP.replace("seeds = 26", "seeds = 3")
    sweep = load_sweep(_sweep_file(tmp_path, text))
    tables = []
    for name, executor, workers in (("one", "local", 1), ("two", "local", 2),
                                    ("dask", "dask", 2)):
        report = run_sweep(sweep, tmp_path / name, executor=executor, workers=workers)
        assert report["status"]["done"] == len(sweep.cells), (name, report)
        assert not report["failed"], report["failed"][:3]
        tables.append(_table(tmp_path / name))
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other, check_exact=True)
    # a repetition's numbers do not depend on its seed block
    whole = load_sweep(_sweep_file(tmp_path, text.replace("seed_block = 1", "seed_block = 3")))
    run_sweep(whole, tmp_path / "whole", workers=2)
    pd.testing.assert_frame_equal(tables[0].drop(columns="cell"),
                                  _table(tmp_path / "whole").drop(columns="cell"),
                                  check_exact=True)


def test_a_sweep_of_312_cells_is_interrupted_resumed_and_matches_dask(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep_file(tmp_path))
    out = tmp_path / "out"
    first = run_sweep(sweep, out, workers=2, max_cells=100)  # as if interrupted
    assert first["computed"] == 100 and status(sweep, out)["done"] == 100
    cells = out / "cells"
    stamps = {p.name: p.stat().st_mtime_ns for p in cells.glob("*.csv")}
    second = run_sweep(sweep, out, workers=2)
    assert second["computed"] == len(sweep.cells) - 100
    assert status(sweep, out) == {"cells": 312, "done": 312, "failed": 0, "pending": 0}
    assert all((cells / name).stat().st_mtime_ns == stamp for name, stamp in stamps.items())
    table = _table(out)
    assert set(table["seed"]) == set(range(26))
    assert len(table) == len(table.drop_duplicates(["scenario", "T", "learner", "seed", "t"]))
    third = run_sweep(sweep, out, workers=2)
    assert third["computed"] == 0
    assert list(out.glob("*.png")) and (out / "sweep_bounds.csv").is_file()
    # the same 312 cells through a Dask LocalCluster: the same table
    dask = run_sweep(sweep, tmp_path / "dask", executor="dask", workers=2)
    assert dask["status"]["done"] == 312 and not dask["failed"]
    pd.testing.assert_frame_equal(table, _table(tmp_path / "dask"), check_exact=True)


FEW = """
name = "few"
scenarios = ["default"]
T = 15
seeds = 4
seed_block = 1

[learners.x]
kind = "{kind}"
eta = 0.1
"""


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    text = FEW.format(kind="failing_ogd") + '\n[learners.y]\nkind = "ogd"\neta = 0.1\n'
    path = _sweep_file(tmp_path, text)
    result = CliRunner().invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o"),
                                      "--workers", "2", "--plugin", "sweep_plugins"],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.count("FAILED cell") == 4 and "fails on purpose" in result.stderr
    errors = list((tmp_path / "o" / "cells").glob("*.error.json"))
    assert len(errors) == 4
    assert status(load_sweep(path), tmp_path / "o")["done"] == 4  # the ogd cells


def test_a_killed_worker_loses_only_its_cell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OCC_TEST_MARKER", str(tmp_path / "marker"))
    sweep = load_sweep(_sweep_file(tmp_path, FEW.format(kind="killed_once_ogd")))
    report = run_sweep(sweep, tmp_path / "o", workers=2, plugins=("sweep_plugins",))
    assert (tmp_path / "marker").exists()  # a worker was killed mid-cell
    assert report["status"]["done"] == 4 and not report["failed"]
    plain = load_sweep(_sweep_file(tmp_path, FEW.format(kind="plain_ogd")))
    run_sweep(plain, tmp_path / "plain", workers=1, plugins=("sweep_plugins",))
    a, b = _table(tmp_path / "o"), _table(tmp_path / "plain")
    pd.testing.assert_frame_equal(a.drop(columns=["learner", "cell"]),
                                  b.drop(columns=["learner", "cell"]), check_exact=True)


def test_cli_status_and_bad_sweep_files(tmp_path: Path) -> None:
    path = _sweep_file(tmp_path, FEW.format(kind="ogd"))
    runner = CliRunner()
    result = runner.invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o"), "--status"])
    assert result.exit_code == 0 and "0 of 4 cells done" in result.stdout
    assert runner.invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o")]).exit_code == 0
    result = runner.invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o"), "--status"])
    assert "4 of 4 cells done" in result.stdout
    for text, needle in (("scenarios = 3\n", "scenarios"), (FEW.format(kind="nope"), "kind"),
                         (FEW.format(kind="ogd").replace("eta = 0.1",
                                                         "eta = {log = [0, 1], num = 3}"),
                          "learners.x.eta")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        result = runner.invoke(cli, ["sweep", str(bad)])
        assert result.exit_code == 2 and "bad.toml" in result.stderr and needle in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_dask_missing_gives_one_line(tmp_path: Path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    path = _sweep_file(tmp_path, FEW.format(kind="ogd"))
    result = CliRunner().invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o"),
                                      "--executor", "dask"])
    assert result.exit_code == 2 and "pip install 'occ[dask]'" in result.stderr


def test_seed_blocks_cover_every_repetition_once() -> None:
    assert np.array_equal(np.arange(7), np.concatenate([np.arange(f, min(f + 3, 7))
                                                        for f in range(0, 7, 3)]))


def test_a_sweep_over_dimensions_draws_regret_against_d(tmp_path: Path) -> None:
    text = ('name = "dims"\nscenarios = ["experts-d4", "experts-d64"]\nT = 50\nseeds = 2\n')
    sweep = load_sweep(_sweep_file(tmp_path, text))
    run_sweep(sweep, tmp_path / "o", workers=1)
    table = _table(tmp_path / "o")
    assert set(table["d"]) == {4, 64}
    assert (tmp_path / "o" / "final_regret_vs_d.png").stat().st_size > 0


def test_the_sweep_checkpoints_are_applied(tmp_path: Path) -> None:
    text = FEW.format(kind="ogd").replace("T = 15", "T = 400\ncheckpoints = 3")
    sweep = load_sweep(_sweep_file(tmp_path, text))
    assert all(c.config["scenario"]["checkpoints"] == 3 for c in sweep.cells)
    run_sweep(sweep, tmp_path / "o", workers=1, max_cells=1)
    table = pd.read_csv(next((tmp_path / "o" / "cells").glob("*[0-9a-f].csv")))
    assert table["t"].nunique() <= 4  # 1, T and about 3 log-spaced points


def test_an_error_in_a_referenced_scenario_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "inner.toml").write_text('d = 3\nT = 10\n[domain]\nkind = "ball"\n'
                                         '[adversary]\nkind = "linear_gaussian"\n'
                                         '[learners.a]\nkind = "ogd"\neta = -1.0\n')
    path = _sweep_file(tmp_path, 'scenarios = ["inner.toml"]\n')
    result = CliRunner().invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "inner.toml: learners.a.eta" in result.stderr and "sweep.toml" not in result.stderr


def test_a_cell_lock_is_exclusive_and_stale_locks_are_removed(tmp_path: Path) -> None:
    from occ.sweeps import CellLock, clean_locks

    first, second = CellLock(tmp_path, "abc"), CellLock(tmp_path, "abc")
    assert first.acquire() and not second.acquire()
    assert clean_locks(tmp_path) == 0 and (tmp_path / "abc.lock").exists()  # held: kept
    first.release()
    assert not (tmp_path / "abc.lock").exists() and second.acquire()
    second.release()
    (tmp_path / "left.lock").write_text("")  # left by a killed runner: nobody holds it
    assert clean_locks(tmp_path) == 1 and not list(tmp_path.glob("*.lock"))


def test_a_task_that_a_broken_pool_left_pending_raises_broken_worker() -> None:
    """CPython 3.11's pool, when a worker dies, fails the tasks it holds without the lock
    its submit takes: a task submitted meanwhile stays pending for ever. The sweep's pool
    fails such a task as the others (the scheduler resubmits it), once."""
    import concurrent.futures as futures
    import types

    from occ.sweeps import BrokenWorkerError, _Pool

    pool = _Pool(1, ())
    try:
        broken = types.SimpleNamespace(_broken="a child process terminated abruptly")
        orphan, never = futures.Future(), futures.Future()
        alive, running = futures.Future(), futures.Future()
        with pool.lock:
            pool.pending[orphan] = (broken, never)
            pool.pending[alive] = (types.SimpleNamespace(_broken=False), running)
        assert isinstance(orphan.exception(timeout=5 * pool.ORPHAN_CHECK_SECONDS),
                          BrokenWorkerError)
        pool._settle(orphan, ["late result"])  # a late relay changes nothing
        assert isinstance(orphan.exception(), BrokenWorkerError)
        assert not alive.done()  # a task of a working pool is left to finish
    finally:
        pool.close()
