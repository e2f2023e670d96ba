"""``occ run``'s figure worker (occ/figure_worker.py): the figures it draws are the files
drawn in line, byte for byte; a worker that dies or cannot draw leaves a warning and the
tables; a worker dies with its command (SIGKILL) and is killed on Ctrl-C; where threads
run, or JAX, torch or CuPy is loaded, figures are drawn in line. Real processes, Linux."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from occ.figure_worker import unusable_reason

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the worker forks with PR_SET_PDEATHSIG (Linux)")

ROOT = Path(__file__).resolve().parent.parent
OCC = str(Path(sys.executable).with_name("occ"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=300)


def test_the_workers_figures_are_the_files_drawn_in_line(tmp_path: Path) -> None:
    """The same run written twice, figures by the worker (two processes: one per figure)
    and in line: every figure file is identical. A scenario with four figures (a lower
    bound run: regret, average regret, lower bound, online to batch) splits 2 + 2."""
    done = _python("""
        import occ.api
        from occ.figure_worker import FigureWorker, unusable_reason
        assert unusable_reason() == "", unusable_reason()
        for name in ("default", "lower-bound"):
            with FigureWorker.start() as worker:
                a = occ.api.run(name, T=300, seeds=3, out="worker", figures=worker)
            b = occ.api.run(name, T=300, seeds=3, out="inline")
            assert not a.warnings and not b.warnings, (a.warnings, b.warnings)
            print(a.path, b.path)
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    pairs = [[tmp_path / f for f in line.split()] for line in done.stdout.splitlines()]
    assert len(pairs) == 2
    counts = []
    for worker_folder, inline_folder in pairs:
        figures = sorted(p.name for p in Path(inline_folder).glob("*.png"))
        assert sorted(p.name for p in Path(worker_folder).glob("*.png")) == figures
        for name in figures:
            assert (Path(worker_folder) / name).read_bytes() == \
                (Path(inline_folder) / name).read_bytes(), name
        counts.append(len(figures))
    assert counts[0] == 2 and counts[1] >= 3, counts


def _run_with_a_worker(setup: str, tmp_path: Path) -> tuple[Path, str]:
    """``setup`` (Python lines, before the fork), then the default scenario written with a
    worker: the run folder and its warnings."""
    done = _python(setup + """
        with FigureWorker.start() as worker:
            prepare(worker)
            result = occ.api.run("default", T=100, seeds=2, out="out", figures=worker)
        print(result.path)
        print(result.warnings)
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    folder, warnings = done.stdout.splitlines()
    return tmp_path / folder, warnings


def test_a_worker_that_died_leaves_a_warning_and_the_tables(tmp_path: Path) -> None:
    folder, warnings = _run_with_a_worker("""
        import os, signal
        import occ.api
        from occ.figure_worker import FigureWorker
        def prepare(worker):
            os.kill(worker.pid, signal.SIGKILL)
        """, tmp_path)
    assert "figures not drawn: the figure process failed" in warnings
    names = {p.name for p in Path(folder).iterdir()}
    assert {"metrics.csv", "bounds.csv", "summary.csv", "meta.json"} <= names
    assert not {n for n in names if n.endswith(".png")}


def test_a_figure_the_worker_cannot_draw_is_named_and_the_others_are_drawn(
        tmp_path: Path) -> None:
    """The worker's helper draws average_regret.png; a failure there is reported by name
    through both processes, and regret.png is still drawn."""
    folder, warnings = _run_with_a_worker("""
        import occ.api, occ.plots
        from occ.figure_worker import FigureWorker
        def broken(result, path):
            raise ValueError("no average today")
        occ.plots.plot_average = broken  # before the fork: the worker has it too
        def prepare(worker):
            pass
        """, tmp_path)
    assert "average_regret.png (ValueError: no average today)" in warnings
    assert (Path(folder) / "regret.png").stat().st_size > 0
    assert not (Path(folder) / "average_regret.png").exists()


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(x) for x in text}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_the_worker_ends_with_its_command(tmp_path: Path, how: int) -> None:
    """``occ run`` killed (SIGKILL: the worker dies with it) or interrupted (SIGINT: the
    command kills it, then removes its staging folder) while the run simulates: no worker
    outlives it by 5 s and nothing is left in the results folder."""
    process = subprocess.Popen([OCC, "run", "default", "--T", "400000", "--seeds", "4"],
                               cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and process.poll() is None:
            workers = _children(process.pid)
            if workers and list(tmp_path.glob("results/default/*.partial")) == [] and \
                    "numba" in Path(f"/proc/{process.pid}/maps").read_text():
                break
            time.sleep(0.02)
        assert process.poll() is None and workers, "the run ended before the kill"
        os.kill(process.pid, how)
        _, err = process.communicate(timeout=60)
        if how == signal.SIGINT:
            assert process.returncode == 130, err
            assert "Traceback" not in err.decode()
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in workers), "a figure worker outlived its command"
        if how == signal.SIGINT:
            assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_figures_are_drawn_in_line_where_threads_or_thread_pools_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert "threads running" in unusable_reason()
    finally:
        stop.set()
        thread.join()
    monkeypatch.setattr("threading.active_count", lambda: 1)  # whatever runs here
    for name in ("jax", "torch", "cupy"):  # other tests of this process may import them
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert unusable_reason() == ""
    monkeypatch.setitem(sys.modules, "jax", object())
    assert unusable_reason() == "jax imported"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert unusable_reason() == "no PR_SET_PDEATHSIG on darwin"


def test_occ_run_uses_the_worker_and_says_nothing_of_it(tmp_path: Path) -> None:
    """The command as a user runs it (test_the_worker_ends_with_its_command sees the
    worker among its children): the figures written, nothing on stderr, and no process
    left holding the command's output pipes once it has exited (``run`` returns when both
    pipes close)."""
    done = subprocess.run([OCC, "run", "default", "--T", "200", "--seeds", "2", "--quiet"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    folder = tmp_path / done.stdout.strip().splitlines()[-1].split("results: ", 1)[1]
    assert {p.name for p in folder.glob("*.png")} == {"regret.png", "average_regret.png"}
    assert [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".partial"))] == []


def test_after_occ_run_the_process_ends_without_teardown_and_loses_no_output(
        tmp_path: Path) -> None:
    """``occ run`` ends with ``os._exit`` once its folder is in place (occ.cli's
    _allow_quick_exit): the exit code and every line it printed still arrive through
    pipes, and an error exit keeps its code and its line."""
    done = subprocess.run([OCC, "run", "default", "--T", "200", "--seeds", "2", "--quiet"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("results: ") and len(lines) > 3
    assert (tmp_path / lines[-1].split("results: ", 1)[1] / "meta.json").exists()
    bad = subprocess.run([OCC, "run", "default", "--T", "0"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("occ: error:"), bad.stderr


def test_the_quick_exit_is_refused_while_another_thread_or_a_child_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from occ import cli

    monkeypatch.setitem(cli._QUICK_EXIT, "allowed", False)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        cli._allow_quick_exit()
        assert cli._QUICK_EXIT["allowed"] is False
    finally:
        stop.set()
        thread.join()
    alone = _python("""
        import multiprocessing
        from occ import cli
        cli._allow_quick_exit()
        print(cli._QUICK_EXIT["allowed"])
        child = multiprocessing.get_context("fork").Process(target=input)
        child.start()
        cli._allow_quick_exit()
        print(cli._QUICK_EXIT["allowed"])
        child.kill()
        """, Path.cwd())
    assert alone.stdout.split() == ["True", "False"], alone.stderr
