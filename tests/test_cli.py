"""Every `occ` command through click's runner, including every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from occ.cli import cli

GOOD = """
description = "a tiny scenario"
d = 3
T = 40
seeds = 2
[check]
T = 30
seeds = 2
[domain]
kind = "ball"
radius = 1.0
[adversary]
kind = "linear_gaussian"
[learners.sgd]
kind = "ogd"
eta = 0.1
"""


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("occ: error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD)
    return path


def test_list_shows_every_scenario_with_a_description() -> None:
    result = invoke("list")
    assert result.exit_code == 0
    names = {p.stem for p in Path("scenarios").glob("*.toml")}
    listed = {line.split()[0] for line in result.stdout.splitlines()}
    assert names == listed
    assert all(len(line.split(None, 1)) == 2 for line in result.stdout.splitlines())


def test_show_prints_the_full_configuration() -> None:
    result = invoke("show", "default")
    assert result.exit_code == 0
    for needle in ("[domain]", 'kind = "ball"', "[learners.sgd_sqrt]", "eps0 = 0.0",
                   'projection = "bregman"', "[adversary]"):
        assert needle in result.stdout


def test_run_writes_a_complete_results_folder(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(scenario_file), "--T", "50", "--seeds", "3", "--seed", "4",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    folders = list((out / "tiny").iterdir())
    assert len(folders) == 1 and f"results: {folders[0]}" in result.stdout
    folder = folders[0]
    for name in ("metrics.csv", "bounds.csv", "summary.csv", "meta.json", "regret.png"):
        assert (folder / name).stat().st_size > 0, name
    metrics = pd.read_csv(folder / "metrics.csv")
    assert list(metrics.columns[:6]) == ["learner", "seed", "t", "cumulative_loss",
                                         "comparator_loss", "regret"]
    assert metrics["t"].max() == 50 and metrics["seed"].nunique() == 3
    bounds = pd.read_csv(folder / "bounds.csv")
    assert list(bounds.columns[:7]) == ["learner", "seed", "t", "bound", "value", "regret",
                                        "ratio"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["seed"] == 4 and meta["T"] == 50 and meta["versions"]["numpy"]
    assert not list(out.rglob("*.partial")) and not list(out.rglob("*.tmp"))


def test_run_by_name(tmp_path: Path) -> None:
    result = invoke("run", "default", "--T", "30", "--seeds", "2", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "default").is_dir()


def test_plot_redraws(scenario_file: Path, tmp_path: Path) -> None:
    invoke("run", str(scenario_file), "--out", str(tmp_path))
    folder = next((tmp_path / "tiny").iterdir())
    (folder / "regret.png").unlink()
    result = invoke("plot", str(folder))
    assert result.exit_code == 0 and (folder / "regret.png").stat().st_size > 0
    one_line_error(invoke("plot", str(tmp_path)), "not a run folder")


def test_check_passes_and_fails(scenario_file: Path, tmp_path: Path, monkeypatch) -> None:
    ok = invoke("check", str(scenario_file))
    assert ok.exit_code == 0 and "OK: every applicable bound holds" in ok.stdout
    assert "eq8" in ok.stdout and "ok" in ok.stdout

    from test_bounds import SignFlipOGD

    from occ.learners import LEARNERS

    monkeypatch.setitem(LEARNERS, SignFlipOGD.name, SignFlipOGD)
    broken = tmp_path / "broken.toml"
    broken.write_text(GOOD.replace('kind = "ogd"', f'kind = "{SignFlipOGD.name}"')
                      .replace("linear_gaussian", "linear_adaptive").replace("T = 30", "T = 300"))
    bad = invoke("check", str(broken))
    assert bad.exit_code == 1 and "VIOLATED" in bad.stdout, bad.output


def test_baseline_roundtrip_and_regression(scenario_file: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.csv"
    written = invoke("check", str(scenario_file), "--update-baseline", "--baseline", str(baseline))
    assert written.exit_code == 0 and baseline.is_file()
    same = invoke("check", str(scenario_file), "--baseline", str(baseline))
    assert same.exit_code == 0, same.output
    frame = pd.read_csv(baseline)
    assert set(frame["quantity"]) >= {"final_regret_mean", "worst_ratio:eq8"}
    frame.loc[frame["quantity"] == "final_regret_mean", "value"] *= 1.001  # a learner moved
    frame.to_csv(baseline, index=False)
    moved = invoke("check", str(scenario_file), "--baseline", str(baseline))
    assert moved.exit_code == 1 and "moved" in moved.stderr
    one_line_error(invoke("check", str(scenario_file), "--baseline", str(tmp_path / "no.csv")),
                   "no.csv")


@pytest.mark.parametrize(("change", "needles"), [
    (lambda s: s.replace("[domain]", "[domain"), ["tiny.toml", "not valid TOML"]),
    (lambda s: s.replace('kind = "ogd"', 'kind = "sgdd"'),
     ["tiny.toml", "learners.sgd.kind", "ogd"]),
    (lambda s: s.replace("eta = 0.1", "eta = nan"), ["tiny.toml", "learners.sgd.eta", "nan"]),
    (lambda s: s.replace("eta = 0.1", "eta = -0.1"), ["learners.sgd.eta", "> 0"]),
    (lambda s: s.replace("radius = 1.0", "radius = -2.0"), ["domain.radius", "> 0", "-2"]),
    (lambda s: s.replace("T = 40", "T = 0", 1), ["tiny.toml", "T", ">= 1"]),
    (lambda s: s.replace("d = 3", "d = 3\nbounds = ['eq99']"), ["bounds", "eq99", "eq8"]),
    (lambda s: s.replace('kind = "linear_gaussian"', 'kind = "linear"'),
     ["adversary.kind", "linear_gaussian"]),
    (lambda s: s.replace("[domain]\nkind = \"ball\"\nradius = 1.0", ""),
     ["domain.kind", "bounded"]),
    (lambda s: "horizon = 5\n" + s, ["horizon", "unknown field"]),
    (lambda s: s.replace("eta = 0.1", "eta = 0.1\ndomain = 3"), ["learners.sgd.domain"]),
    (lambda s: s.replace("eta = 0.1", "eta = 0.1\nsped = 2"), ["learners.sgd.sped", "allowed"]),
])
def test_bad_scenario_files(scenario_file: Path, tmp_path: Path, change, needles) -> None:
    scenario_file.write_text(change(GOOD))
    out = tmp_path / "out"
    one_line_error(invoke("run", str(scenario_file), "--out", str(out)), *needles)
    one_line_error(invoke("check", str(scenario_file)), *needles)
    assert not out.exists()


def test_bad_options_and_names(scenario_file: Path, tmp_path: Path) -> None:
    one_line_error(invoke("run", "no-such-scenario"), "unknown scenario", "default")
    one_line_error(invoke("show", "no-such-scenario"), "unknown scenario")
    one_line_error(invoke("run", str(scenario_file), "--T", "0"), "T", ">= 1")
    one_line_error(invoke("run", str(scenario_file), "--T", "-5"), "T")
    one_line_error(invoke("run", str(scenario_file), "--seeds", "0"), "seeds")
    one_line_error(invoke("run", str(scenario_file), "--T", "ten"), "--T")
    one_line_error(invoke("run", str(scenario_file), "--backend", "tpu"), "backend", "numpy")
    one_line_error(invoke("run", str(tmp_path / "missing.toml")), "missing.toml")
    one_line_error(invoke("frobnicate"), "frobnicate")


def test_cupy_backend_fails_clearly_without_a_gpu(scenario_file: Path) -> None:
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401
    except ImportError:
        one_line_error(invoke("run", str(scenario_file), "--backend", "cupy"), "CuPy")
    else:  # pragma: no cover - only where CuPy and a GPU exist
        pass


def test_failed_run_keeps_earlier_results(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(scenario_file), "--out", str(out)).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    scenario_file.write_text(GOOD.replace("eta = 0.1", "eta = nan"))
    assert invoke("run", str(scenario_file), "--out", str(out)).exit_code == 2
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before == after


class _InterruptedWhileNamed:
    """A descriptor whose ``__set_name__`` is where Ctrl-C lands: Python 3.11 re-raises the
    KeyboardInterrupt as ``RuntimeError: Error calling __set_name__`` (3.12 lets it through),
    as it did when a run's SIGINT arrived while ``occ.learners`` built its dataclasses."""

    def __set_name__(self, owner: type, name: str) -> None:
        raise KeyboardInterrupt


def _build_a_class_and_get_interrupted(*args, **kwargs):
    type("Interrupted", (), {"field": _InterruptedWhileNamed()})


def test_an_interrupt_during_an_import_exits_130_in_one_line(
        scenario_file: Path, monkeypatch, capsys) -> None:
    import occ.scenarios

    monkeypatch.setattr(occ.scenarios, "load_scenario", _build_a_class_and_get_interrupted)
    code = cli.main(["run", str(scenario_file)], standalone_mode=False)
    err = capsys.readouterr().err
    assert code == 130
    assert err == "occ: interrupted; results already written are kept\n"


def test_an_error_with_no_interrupt_behind_it_is_not_called_an_interrupt(
        scenario_file: Path, monkeypatch) -> None:
    import occ.scenarios

    def fails(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(occ.scenarios, "load_scenario", fails)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["run", str(scenario_file)], standalone_mode=False)
