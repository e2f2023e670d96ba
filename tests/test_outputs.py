"""Output robustness: results written before figures, a failing figure reported and the
run kept, the umask honoured, stale staging folders removed, unusable outputs and bad
baselines found before any computing, damaged run folders refused, sizes refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from bad_inputs import scenario, toml_document
from click.testing import CliRunner

from occ.cli import cli
from occ.results import clean_stale, usable_folder


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(toml_document(scenario()))
    return path


@pytest.fixture
def umask():
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


def test_files_and_folders_honour_the_umask(scenario_file: Path, tmp_path: Path,
                                            umask: int) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(scenario_file), "--out", str(out)).exit_code == 0
    modes = _modes(out)
    folder = next(p for p in modes if p.count("/") == 1)
    assert modes[folder] == 0o777 & ~umask, oct(modes[folder])
    files = {p: m for p, m in modes.items() if p.endswith((".csv", ".json", ".png"))}
    assert files and all(m == 0o666 & ~umask for m in files.values()), files


def test_a_failing_figure_keeps_the_run(scenario_file: Path, tmp_path: Path,
                                        monkeypatch) -> None:
    import occ.plots

    def broken(result, path, title=None):
        raise RuntimeError("no font today")

    monkeypatch.setattr(occ.plots, "plot_run", broken)
    out = tmp_path / "out"
    result = invoke("run", str(scenario_file), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert ("WARNING: figures not drawn: regret.png (RuntimeError: no font today)"
            in result.stderr), result.stderr
    folder = next((out / "tiny").iterdir())
    assert (folder / "average_regret.png").stat().st_size > 0  # the others are drawn
    assert not (folder / "regret.png").exists()
    redraw = invoke("plot", str(folder))
    assert redraw.exit_code == 1 and "regret.png" in redraw.stderr
    for name in ("metrics.csv", "bounds.csv", "summary.csv", "meta.json"):
        assert (folder / name).stat().st_size > 0
    assert not list(out.rglob("*.partial"))


def test_stale_staging_of_a_dead_process_is_removed(scenario_file: Path,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(scenario_file), "--out", str(out)).exit_code == 0
    parent = out / "tiny"
    import socket

    from occ.atomic import owner_tag

    host = owner_tag().rsplit("-", 1)[0]
    dead = parent / f".20260101-000000-seed0.~{host}-999999999~abc.partial"
    dead.mkdir()
    (dead / "metrics.csv").write_text("half")
    tmp = parent / f".metrics.csv.~{host}-999999999~xyz.tmp"
    tmp.write_text("half")
    alive = parent / f".20260101-000000-seed0.~{host}-{os.getpid()}~abc.partial"
    alive.mkdir()
    other = parent / ".20260101-000000-seed0.~otherhost-1~abc.partial"
    other.mkdir()
    assert socket.gethostname()
    assert invoke("run", str(scenario_file), "--out", str(out)).exit_code == 0
    assert not dead.exists() and not tmp.exists()
    assert alive.exists() and other.exists()  # a live process's, another host's: kept
    assert clean_stale(parent) == []


def test_an_unusable_out_is_found_before_computing(scenario_file: Path, tmp_path: Path,
                                                   monkeypatch) -> None:
    import occ.api

    def never(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(occ.api, "run", never)
    (tmp_path / "afile").write_text("x")
    for out, needle in ((str(tmp_path / "afile" / "sub"), "afile"), ("", "--out")):
        result = invoke("run", str(scenario_file), "--out", out)
        assert result.exit_code == 2 and needle in result.stderr, result.output


def test_an_out_without_permission_is_refused(scenario_file: Path, tmp_path: Path) -> None:
    """A folder nobody may write in: mode 0500; for root (whom modes do not stop, as in CI)
    the same folder made immutable (chattr +i stops root on ext4 and xfs) or, on a file
    system without that, /proc (where no one can create an entry)."""
    import shutil
    import subprocess

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    chattr = shutil.which("chattr")
    immutable = os.geteuid() == 0 and chattr is not None and subprocess.run(
        [chattr, "+i", str(locked)], capture_output=True).returncode == 0
    if os.geteuid() == 0 and not immutable:
        locked = Path("/proc")
    try:
        result = invoke("run", str(scenario_file), "--out", str(locked / "x"))
        assert result.exit_code == 2 and "cannot write" in result.stderr, result.stderr
        assert not (locked / "x").exists()
    finally:
        if immutable:
            subprocess.run([chattr, "-i", str(locked)], check=True)


def test_usable_folder_reports_read_only(tmp_path: Path, monkeypatch) -> None:
    """A folder where nothing can be created (read-only, no permission), as the kernel
    says it: the probe is a real mkdir, so this holds for root as well."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(Exception, match="cannot write in .* \\(Permission denied\\)"):
        usable_folder(tmp_path / "x")


def test_a_bad_baseline_is_found_before_the_check(scenario_file: Path, tmp_path: Path,
                                                  monkeypatch) -> None:
    import occ.check

    def never(*args, **kwargs):
        raise AssertionError("the check ran")

    monkeypatch.setattr(occ.check, "check_table", never)
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("scenario,learner\nx,y\n")
    result = invoke("check", str(scenario_file), "--baseline", str(garbage))
    assert result.exit_code == 2 and "garbage.csv" in result.stderr


def test_plot_refuses_a_truncated_run_and_redraws_a_good_one(scenario_file: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(scenario_file), "--out", str(out)).exit_code == 0
    folder = next((out / "tiny").iterdir())
    (folder / "regret.png").unlink()
    assert invoke("plot", str(folder)).exit_code == 0
    assert (folder / "regret.png").stat().st_size > 0
    metrics = folder / "metrics.csv"
    lines = metrics.read_text().splitlines(keepends=True)
    metrics.write_text("".join(lines[:-2]))  # cut at a line end: rows are missing
    result = invoke("plot", str(folder))
    assert result.exit_code == 2 and "rows" in result.stderr and "damaged" in result.stderr
    assert pd.read_csv(metrics).shape[0] == len(lines) - 3  # the file itself untouched


def test_large_runs_need_the_flag_and_impossible_ones_are_refused(scenario_file: Path,
                                                                  tmp_path: Path,
                                                                  monkeypatch) -> None:
    result = invoke("run", str(scenario_file), "--T", str(10**12), "--out", str(tmp_path))
    assert result.exit_code == 2 and "--allow-large" in result.stderr
    result = invoke("run", str(scenario_file), "--seeds", str(10**9), "--allow-large",
                    "--out", str(tmp_path))
    assert result.exit_code == 2 and "this machine has" in result.stderr
    monkeypatch.setenv("OCC_LARGE_SECONDS", "1e-9")  # the threshold is configurable
    result = invoke("run", str(scenario_file), "--out", str(tmp_path / "a"))
    assert result.exit_code == 2 and "OCC_LARGE_SECONDS" in result.stderr
    result = invoke("run", str(scenario_file), "--out", str(tmp_path / "a"), "--allow-large")
    assert result.exit_code == 0, result.output


def test_long_runs_show_progress_without_a_terminal(scenario_file: Path, tmp_path: Path,
                                                    monkeypatch) -> None:
    import occ.cli

    monkeypatch.setattr(occ.cli, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(occ.cli, "PROGRESS_EVERY", 0.0)
    result = invoke("run", str(scenario_file), "--out", str(tmp_path))
    assert result.exit_code == 0 and "% of 40 steps" in result.stderr, result.stderr


def test_named_scenarios_fit_under_the_default_threshold() -> None:
    from occ.limits import check, scenario_estimate
    from occ.scenarios import list_scenarios, load_scenario

    for name in list_scenarios():
        sc = load_scenario(name)
        check(name, scenario_estimate(sc), allow_large=False)  # raises if not


def test_committed_sweeps_fit_under_the_default_threshold() -> None:
    from occ.sweeps import check_size, load_sweep

    for path in sorted(Path(__file__).resolve().parent.parent.glob("sweeps/*.toml")):
        sweep = load_sweep(path)
        assert sweep.estimate.seconds > 0 and sweep.estimate.bytes > 0
        check_size(sweep, allow_large=False)  # raises if not


@pytest.mark.parametrize(("d", "T", "seeds", "checkpoints"), [
    (2**70, 10, 1, 5), (10, 2**80, 1, 5), (10, 10, 10**12, 5), (10, 10, 1, 10**12)])
def test_estimates_of_any_size_are_numbers_and_refused(d, T, seeds, checkpoints) -> None:
    from occ.errors import OccError
    from occ.learners import make_learner
    from occ.limits import TooLargeError, check, estimate

    learner = make_learner("ogd", eta=0.1)
    est = estimate(d, T, seeds, checkpoints, [(learner, 1)])
    assert est.bytes > 0 and est.seconds > 0
    with pytest.raises(TooLargeError) as refused:
        check("x.toml", est, allow_large=False)
    assert isinstance(refused.value, OccError) and "x.toml" in str(refused.value)
    small = estimate(10, 100, 2, 5, [(learner, 1)])
    check("x.toml", small, allow_large=False)  # the control: a small run passes


def test_a_bad_threshold_setting_is_one_line(monkeypatch) -> None:
    from occ.errors import OccError
    from occ.limits import thresholds

    monkeypatch.setenv("OCC_LARGE_GIB", "lots")
    with pytest.raises(OccError, match="OCC_LARGE_GIB"):
        thresholds()


def test_the_python_api_refuses_what_cannot_fit(scenario_file: Path) -> None:
    import occ
    from occ.limits import TooLargeError

    with pytest.raises(TooLargeError, match="would need about"):
        occ.run(str(scenario_file), seeds=10**9)


def test_meta_records_each_learners_configured_hyperparameters(tmp_path: Path) -> None:
    """meta.json's ``hyperparameters`` are the values the scenario set (a grid's one value
    per row), not the class's defaults; the defaults stay for what the file left out."""
    import json

    from occ.api import run
    from occ.learners.ogd import OGD
    from occ.scenarios import parse_scenario

    data = {"d": 3, "T": 5, "seeds": 1, "domain": {"kind": "ball", "radius": 1.0},
            "adversary": {"kind": "linear_gaussian"},
            "learners": {"sqrt": {"kind": "ogd", "step": "sqrt", "c": 0.5},
                         "grid": {"kind": "ogd", "eta": [0.01, 0.3]}}}
    result = run(parse_scenario(data, "<test>", "meta"), out=tmp_path, figure_format=None)
    folder = next(tmp_path.rglob("meta.json"))
    meta = json.loads(folder.read_text())
    assert meta["learners"].keys() == result.meta["learners"].keys()
    defaults = {h.name: h.default for h in OGD.hyperparameters()}
    sqrt = meta["learners"]["sqrt"]["hyperparameters"]
    assert sqrt == defaults | {"step": "sqrt", "c": 0.5}
    grid = meta["learners"]["grid"]["hyperparameters"]
    assert grid["eta"] == [0.01, 0.3] and grid["step"] == defaults["step"]
