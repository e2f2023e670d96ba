"""The public learner protocol (docs/own-learner.md) and its four ways in: the example of
the page runs as written, with and without a geometry; ``kind = "python"``;
``occ.register_learner`` and learner objects in ``occ.run``; an installed package's
``occ.learners`` entry point, in ``occ list --learners`` and in sweeps on the local pool
and on a Dask LocalCluster."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import occ
from occ import plugins
from occ.cli import cli
from occ.learners import LEARNERS
from occ.scenarios import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "own-learner.md"


def doc_example() -> str:
    """The first Python block of docs/own-learner.md, as written there."""
    return re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)


@pytest.fixture
def example_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The page's example as an importable module ``own_learner_example``."""
    (tmp_path / "own_learner_example.py").write_text(doc_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "own_learner_example", raising=False)
    return "own_learner_example"


def scenario(learners: dict, T: int = 80, domain: dict | None = None, **extra) -> object:
    return parse_scenario({"d": 4, "T": T, "seeds": 3, "checkpoints": 6,
                           "domain": domain or {"kind": "ball", "radius": 1.0},
                           "adversary": {"kind": "linear_gaussian", "mean": 0.3},
                           "learners": learners, **extra}, "<test>", "protocol")


def heavy_ball_loop(G: np.ndarray, c: float, beta: float, radius: float) -> np.ndarray:
    """The example's update written plainly, one repetition: its iterates w_1..w_T."""
    w, m, out = np.zeros(G.shape[1]), np.zeros(G.shape[1]), []
    for t, g in enumerate(G, start=1):
        out.append(w.copy())
        m = beta * m + g
        y = w - c / np.sqrt(t) * m
        norm = np.linalg.norm(y)
        w = y if norm <= radius else y * (radius / norm)
    return np.array(out)


def test_the_documented_example_is_about_thirty_lines() -> None:
    assert 25 <= len(doc_example().strip().splitlines()) <= 45


@pytest.mark.parametrize("beta", [0.0, 0.6])
def test_the_example_runs_from_a_scenario_by_its_import_path(example_module: str,
                                                             beta: float) -> None:
    sc = scenario({"hb": {"kind": "python", "object": f"{example_module}:HeavyBall",
                          "c": 0.3, "beta": beta}})
    result = occ.run(sc, keep_trajectories=True)
    # its iterates are the plain loop's on the same gradients (linear: g_t = the data)
    from occ.harness import repetition_generators

    rngs = repetition_generators(sc.seed, np.arange(3), sc.adversary.streams)
    G = sc.adversary.draw(rngs, 1, sc.T + 1, sc.d)
    W = result.trajectories["hb"]
    for k in range(3):
        np.testing.assert_allclose(W[:, k, :], heavy_ball_loop(G[:, k, :], 0.3, beta, 1.0),
                                   rtol=1e-12, atol=1e-14)
    final = result.metrics[result.metrics.t == sc.T]
    expected = np.array([np.sum(G[:, k, :] * W[:, k, :]) for k in range(3)])
    np.testing.assert_allclose(final.sort_values("seed").cumulative_loss, expected,
                               rtol=1e-12)
    bounds = result.bounds
    if beta == 0:  # scalar geometry: the generic mirror-descent bounds apply and hold
        applied = set(bounds[bounds.applicable].bound)
        assert {"eq8", "eq10", "eq18"} <= applied
        assert not bounds.violated.any()
        assert result.meta["learners"]["hb"]["geometry"] == "scalar"
    else:  # no geometry: every bound row says so; regret and the lower bound remain
        rows = bounds[bounds.bound.isin(["eq8", "eq10", "eq18", "eq20"])]
        assert len(rows) and not rows.applicable.any()
        assert set(rows.note) == {"not applicable: the learner declares no geometry"}
        assert np.isfinite(final.regret).all()
        assert result.meta["learners"]["hb"]["geometry"] == "none"


def test_a_bad_object_path_is_one_line_naming_file_and_field(tmp_path: Path,
                                                             capsys) -> None:
    for path, says in (("no_such_module_xyz:Thing", "cannot import module"),
                       ("occ.learners.ogd:NoSuchClass", "has no attribute"),
                       ("occ.learners.ogd:STEPS", "is not a learner class"),
                       ("just_a_name", "must be 'package.module:Name'")):
        file = tmp_path / "bad.toml"
        file.write_text(textwrap.dedent(f"""
            d = 3
            T = 10
            [domain]
            kind = "ball"
            [adversary]
            kind = "linear_gaussian"
            [learners.mine]
            kind = "python"
            object = "{path}"
            """))
        code = cli.main(["run", str(file), "--out", str(tmp_path / "r")],
                        standalone_mode=False)
        err = capsys.readouterr().err
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "bad.toml" in lines[0], err
        assert "learners.mine.object" in lines[0] and says in lines[0], lines[0]
        assert not (tmp_path / "r").exists()


def test_register_learner_and_a_learner_object_in_run(example_module: str) -> None:
    module = __import__(example_module)
    assert "heavy_ball" not in LEARNERS
    try:
        assert occ.register_learner(module.HeavyBall) is module.HeavyBall
        _register_and_run(module, example_module)
    finally:
        LEARNERS.pop("heavy_ball", None)


def _register_and_run(module: object, example_module: str) -> None:
    by_name = occ.run(scenario({"hb": {"kind": "heavy_ball", "c": 0.4}}))
    by_path = occ.run(scenario({"hb": {"kind": "python",
                                       "object": f"{example_module}:HeavyBall", "c": 0.4}}))
    as_object = occ.run(scenario({"x": {"kind": "ogd"}}),
                        learners={"hb": module.HeavyBall(c=0.4)})
    for other in (by_path, as_object):
        pd.testing.assert_frame_equal(by_name.metrics, other.metrics)
    assert as_object.meta["scenario"]["learners"]["hb"]["object"].endswith(":HeavyBall")
    with pytest.raises(occ.errors.ParameterError, match="occ's own learners"):
        occ.register_learner(type("Fake", (module.HeavyBall,), {"name": "adam"}))
    with pytest.raises(occ.errors.ParameterError, match="defines no init"):
        occ.run(scenario({"x": {"kind": "ogd"}}), learners={"bad": object()})


def test_a_list_for_a_hyperparameter_that_takes_one_number_names_the_field(
        example_module: str) -> None:
    with pytest.raises(occ.errors.ParameterError, match=r"learners\.hb\.beta: must be"):
        scenario({"hb": {"kind": "python", "object": f"{example_module}:HeavyBall",
                         "beta": [0.0, 0.5]}})


ENTRY_POINTS = ("[occ.learners]\nplugin_heavy_ball = fakepkg.learners:HeavyBall\n"
                "plugin_broken = fakepkg.missing:Nothing\n")
SWEEP = """
name = "plugged"
scenarios = ["plugged.toml"]
seeds = 4
seed_block = 2
"""
PLUGGED = """
d = 3
T = 30
seeds = 4
checkpoints = 4
[domain]
kind = "ball"
[adversary]
kind = "linear_gaussian"
[learners.hb]
kind = "plugin_heavy_ball"
c = 0.2
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake installed distribution ``fakepkg`` with an ``occ.learners`` entry point, on
    sys.path here and on PYTHONPATH for the sweep's worker processes (local pool and Dask
    both start theirs with this environment); its registration is undone afterwards."""
    site = tmp_path / "site"
    (site / "fakepkg").mkdir(parents=True)
    (site / "fakepkg" / "__init__.py").write_text("")
    (site / "fakepkg" / "learners.py").write_text(doc_example())
    info = site / "fakepkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(ROOT),
                                                      os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    LEARNERS.pop("plugin_heavy_ball", None)
    plugins.LOAD_ERRORS.pop("plugin_broken", None)
    for name in [m for m in sys.modules if m.startswith("fakepkg")]:
        del sys.modules[name]


def test_an_installed_plugin_is_listed_and_runs_in_sweeps_on_every_executor(
        installed_plugin: Path, capsys) -> None:
    assert cli.main(["list", "--learners"], standalone_mode=False) in (0, None)
    listing = capsys.readouterr().out
    assert re.search(r"^plugin_heavy_ball\s+\(plugin\) fakepkg\.learners:HeavyBall",
                     listing, re.M), listing
    assert re.search(r"^plugin_broken\s+\(plugin failed to load\) fakepkg\.missing:Nothing: "
                     "ModuleNotFoundError", listing, re.M), listing
    with pytest.raises(occ.errors.ParameterError, match=r"learners\.x\.kind: learner "
                       "'plugin_broken' \\(an installed plugin\\) failed to load"):
        scenario({"x": {"kind": "plugin_broken"}})
    (installed_plugin / "plugged.toml").write_text(PLUGGED)
    (installed_plugin / "plugged_sweep.toml").write_text(SWEEP)
    tables = []
    for executor in ("local", "dask"):
        out = installed_plugin / executor
        code = cli.main(["sweep", "plugged_sweep.toml", "--executor", executor,
                         "--workers", "1", "--out", str(out), "--quiet"], standalone_mode=False)
        assert code == 0, capsys.readouterr()
        tables.append(pd.read_csv(out / "sweep.csv"))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert set(tables[0].learner) == {"hb"} and len(set(tables[0].seed)) == 4
    # the same numbers as the plugin's class run here, in one block
    single = occ.run("plugged.toml").metrics
    final = tables[0][tables[0].t == 30].sort_values("seed").regret.to_numpy()
    np.testing.assert_allclose(final, single[single.t == 30].sort_values("seed").regret,
                               rtol=1e-12)
