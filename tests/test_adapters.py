"""The optax and torch.optim adapters (``kind = "optax"``, ``kind = "torch"``): the same
regret as occ's own learner with the matching conventions, a grid over a library keyword,
torch's per-repetition and elementwise layouts equal, occ's projection after each
library step (against a plain loop calling torch directly), the declarations, the
errors, and lazy imports. jax, optax and torch are in the ``test`` extra."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import optax
import pandas as pd
import pytest
import torch

import occ
from occ.adversaries.linear import LinearGaussian
from occ.cli import cli
from occ.errors import ParameterError
from occ.scenarios import parse_scenario
from occ.statistics import DIVERGENCE_CAUSES, iterate_needs

ROOT = Path(__file__).resolve().parent.parent
ADAM = {"occ": {"kind": "adam", "eta": 0.01},
        "torch": {"kind": "torch", "optimizer": "Adam", "lr": 0.01},
        "optax": {"kind": "optax", "transform": "adam", "learning_rate": 0.01}}


def scenario(learners: dict, domain: dict | None = None, T: int = 120, d: int = 5,
             adversary: dict | None = None, **extra) -> object:
    return parse_scenario({"d": d, "T": T, "seeds": 3, "checkpoints": 6,
                           "domain": domain or {"kind": "unconstrained"},
                           "adversary": adversary or {"kind": "quadratic"},
                           "learners": learners, **extra}, "<test>", "adapters")


def final_regret(result: occ.results.RunResult, label: str) -> np.ndarray:
    m = result.metrics
    return m[(m.learner == label) & (m.t == m.t.max())].sort_values("seed").regret.to_numpy()


@pytest.mark.parametrize("domain", [None, {"kind": "box", "low": -50.0, "high": 50.0}])
def test_torch_and_optax_adam_give_occs_adam_regret(domain: dict | None) -> None:
    result = occ.run(scenario(ADAM, domain), keep_trajectories=True)
    reference = final_regret(result, "occ")
    assert np.all(np.abs(reference) > 1e-3)  # a regret worth comparing
    for label in ("torch", "optax"):
        np.testing.assert_allclose(final_regret(result, label), reference, rtol=1e-9)
        np.testing.assert_allclose(result.trajectories[label], result.trajectories["occ"],
                                   rtol=1e-9, atol=1e-12)
    if domain is not None:  # the box never binds on this run
        assert np.abs(result.trajectories["occ"]).max() < 10.0


def test_occ_run_on_the_command_line_with_both_adapters(tmp_path: Path, capsys) -> None:
    file = tmp_path / "library.toml"
    file.write_text(textwrap.dedent("""
        d = 4
        T = 60
        seeds = 2
        checkpoints = 4
        [domain]
        kind = "unconstrained"
        [adversary]
        kind = "quadratic"
        [learners.reference]
        kind = "adam"
        eta = 0.01
        [learners.torch_adam]
        kind = "torch"
        optimizer = "Adam"
        lr = 0.01
        [learners.optax_adam]
        kind = "optax"
        transform = "adam"
        learning_rate = 0.01
        """))
    code = cli.main(["run", str(file), "--out", str(tmp_path / "out"), "--no-plots",
                     "--quiet"], standalone_mode=False)
    assert code in (0, None), capsys.readouterr().err
    metrics = pd.read_csv(next((tmp_path / "out").rglob("metrics.csv")))
    last = metrics[metrics.t == 60].sort_values("seed")
    reference = last[last.learner == "reference"].regret.to_numpy()
    for label in ("torch_adam", "optax_adam"):
        np.testing.assert_allclose(last[last.learner == label].regret, reference, rtol=1e-9)
    assert cli.main(["check", str(file), "--quiet"], standalone_mode=False) in (0, None)


def test_torch_elementwise_equals_one_tensor_per_repetition() -> None:
    result = occ.run(scenario({
        "rows": {"kind": "torch", "optimizer": "RMSprop", "lr": 0.05, "momentum": 0.5},
        "batched": {"kind": "torch", "optimizer": "RMSprop", "lr": 0.05, "momentum": 0.5,
                    "elementwise": True}}, {"kind": "ball", "radius": 0.5}))
    m = result.metrics
    pd.testing.assert_frame_equal(
        m[m.learner == "rows"].drop(columns="learner").reset_index(drop=True),
        m[m.learner == "batched"].drop(columns="learner").reset_index(drop=True))


def torch_adam_projected_loop(G: np.ndarray, radius: float, lr: float) -> np.ndarray:
    """torch.optim.Adam on one repetition, each step projected onto the l2 ball and
    written back into the parameter, written plainly: the iterates w_1..w_T."""
    p = torch.nn.Parameter(torch.zeros(G.shape[1], dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=lr)
    out = []
    for g in G:
        out.append(p.detach().numpy().copy())
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        with torch.no_grad():
            norm = torch.linalg.vector_norm(p)
            if norm > radius:
                p.mul_(radius / norm)
    return np.array(out)


def test_occ_projects_after_each_library_step_and_says_so() -> None:
    sc = scenario({"t": {"kind": "torch", "optimizer": "Adam", "lr": 0.2},
                   "o": {"kind": "optax", "transform": "adam", "learning_rate": 0.2}},
                  {"kind": "ball", "radius": 0.3}, T=60, adversary={"kind": "linear_gaussian",
                                                                    "mean": 1.0})
    result = occ.run(sc, keep_trajectories=True)
    from occ.harness import repetition_generators

    G = sc.adversary.draw(repetition_generators(sc.seed, np.arange(3), sc.adversary.streams),
                          1, sc.T + 1, sc.d)
    for k in range(3):
        loop = torch_adam_projected_loop(G[:, k, :], 0.3, 0.2)
        assert np.linalg.norm(loop, axis=-1).max() > 0.3 - 1e-12  # the projection binds
        for label in ("t", "o"):
            np.testing.assert_allclose(result.trajectories[label][:, k, :], loop, rtol=1e-9,
                                       atol=1e-12)
    for label in ("t", "o"):
        declared = result.meta["learners"][label]
        assert declared["geometry"] == "none"
        assert "Euclidean projection onto V (ball)" in declared["note"]
        rows = result.bounds[result.bounds.learner == label]
        assert len(rows) and not rows.applicable.any()
        assert rows.note.str.contains("projects each of its steps onto V").all()


def test_a_grid_over_a_library_keyword_equals_separate_runs() -> None:
    grid = occ.run(scenario({"o": {"kind": "optax", "transform": "sgd",
                                   "learning_rate": [0.01, 0.1], "momentum": 0.5},
                             "t": {"kind": "torch", "optimizer": "SGD", "lr": [0.01, 0.1],
                                   "momentum": 0.5}}))
    for lr in (0.01, 0.1):
        single = occ.run(scenario({"o": {"kind": "optax", "transform": "sgd",
                                         "learning_rate": lr, "momentum": 0.5}}))
        for label, key in (("o", "learning_rate"), ("t", "lr")):
            np.testing.assert_allclose(final_regret(grid, f"{label}[{key}={lr:g}]"),
                                       final_regret(single, "o"), rtol=1e-9)


def test_a_sweep_grid_over_an_adapter_keyword(tmp_path: Path) -> None:
    from occ.sweeps import load_sweep, run_cell

    (tmp_path / "base.toml").write_text(textwrap.dedent("""
        d = 3
        T = 40
        seeds = 2
        checkpoints = 3
        [domain]
        kind = "unconstrained"
        [adversary]
        kind = "quadratic"
        [learners.x]
        kind = "ogd"
        """))
    (tmp_path / "s.toml").write_text(textwrap.dedent("""
        scenarios = ["base.toml"]
        [learners.oadam]
        kind = "optax"
        transform = "adam"
        learning_rate = {log = [0.001, 0.1], num = 3}
        [learners.tadam]
        kind = "torch"
        optimizer = "Adam"
        lr = [0.001, 0.1]
        amsgrad = [false, true]
        """))
    sweep = load_sweep(tmp_path / "s.toml")
    assert len(sweep.cells) == 3  # the numeric grids batch; amsgrad splits into two cells
    assert sorted(c.label for c in sweep.cells) == ["oadam", "tadam[amsgrad=False]",
                                                    "tadam[amsgrad=True]"]
    for cell in sweep.cells:  # what a worker runs, from the cell's own contents
        outcome = run_cell(cell)
        assert outcome["status"] == "done", outcome
        labels = set(pd.read_csv(io.StringIO(outcome["metrics"])).learner)
        grid = ({"oadam[learning_rate=0.001]", "oadam[learning_rate=0.01]",
                 "oadam[learning_rate=0.1]"} if cell.kind == "optax"
                else {f"{cell.label}[lr=0.001]", f"{cell.label}[lr=0.1]"})
        assert labels == grid


def test_library_keywords_are_validated_and_named(tmp_path: Path) -> None:
    cases = [({"kind": "optax", "transform": "no_such_transform"}, "transform",
              "optax has no 'no_such_transform'"),
             ({"kind": "torch", "optimizer": "Nope"}, "optimizer", "torch.optim has no"),
             ({"kind": "torch", "optimizer": "occ.learners.ogd:OGD"}, "optimizer",
              "not a torch.optim.Optimizer"),
             ({"kind": "optax", "transform": "adam"}, "learning_rate", "is required"),
             ({"kind": "optax", "transform": "adam", "learning_rate": 0.1, "bogus": 1},
              "bogus", "unknown parameter"),
             ({"kind": "torch", "optimizer": "Adam", "amsgrad": 3}, "amsgrad",
              "true or false"),
             ({"kind": "optax"}, "transform", "needs transform")]
    for table, field, says in cases:
        with pytest.raises(ParameterError, match=says) as info:
            scenario({"lib": table})
        assert info.value.field == f"learners.lib.{field}", info.value


def test_a_dotted_path_names_an_optax_function() -> None:
    result = occ.run(scenario({"a": {"kind": "optax", "transform": "optax.adam",
                                     "learning_rate": 0.01},
                               "b": ADAM["occ"]}))
    np.testing.assert_allclose(final_regret(result, "a"), final_regret(result, "b"),
                               rtol=1e-9)


def test_x64_stays_scoped_and_occ_imports_no_library() -> None:
    occ.run(scenario({"o": ADAM["optax"]}, T=5))
    assert not jax.config.jax_enable_x64  # the user's jax keeps its own setting
    assert jax.numpy.zeros(1).dtype == np.float32
    assert optax.adam(0.1) is not None
    code = ("import sys, occ, occ.cli, occ.api, occ.scenarios, occ.sweeps, occ.plugins, "
            "occ.conform; occ.run('default', T=3, seeds=1); "
            "bad = [m for m in ('jax', 'torch', 'optax') if m in sys.modules]; "
            "assert not bad, bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("adversary", [{"kind": "linear_gaussian", "mean": 0.5},
                                       {"kind": "linear_sparse", "bias": 0.6}])
@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 0.8},
                                    {"kind": "box", "low": -0.5, "high": 0.5}])
def test_the_chunked_engine_equals_the_per_step_path(domain: dict, adversary: dict) -> None:
    """optax declares a chunked step: a regret-only oblivious linear run goes through one
    jitted scan per chunk (checkpoints inside chunks, a padded last chunk, a grid of two
    row groups) and gives the per-step reference path's numbers: with the sums of
    ``m^T w_t`` that the Gaussian adversary's excess risk reads, and with only the first
    coordinate of the iterate sums (sparse: no excess risk)."""
    sc = parse_scenario({"d": 6, "T": 150, "seeds": 3, "chunk": 32, "checkpoints": 12,
                         "domain": domain, "bounds": [], "adversary": adversary,
                         "learners": {"o": {"kind": "optax", "transform": "adam",
                                            "learning_rate": [0.02, 0.3]}}}, "<test>", "scan")
    chunked, reference = occ.run(sc), occ.run(sc, engine="reference")
    assert chunked.meta["engines"] == {"o": "chunked"}
    assert reference.meta["engines"] == {"o": "reference"}
    columns = [c for c in reference.metrics.columns if c != "learner"]
    np.testing.assert_allclose(chunked.metrics[columns].to_numpy(float),
                               reference.metrics[columns].to_numpy(float),
                               rtol=1e-12, atol=1e-12)
    assert (chunked.metrics.learner == reference.metrics.learner).all()
    assert ("excess_risk" in chunked.metrics) == (adversary["kind"] == "linear_gaussian")
    # with bounds asked for, the run records them on the reference path
    assert occ.run(dataclasses.replace(sc, bounds=None)).meta["engines"] == {"o": "reference"}


@dataclasses.dataclass(frozen=True)
class WholeSumGaussian(LinearGaussian):
    """An excess risk that reads every coordinate of w_bar, and declares no direction."""

    excess_risk_direction = None

    def excess_risk(self, w_bar: np.ndarray, domain: object) -> np.ndarray:
        return np.sum(w_bar * w_bar * np.arange(1, w_bar.shape[-1] + 1), axis=-1)


def test_the_chunked_engine_keeps_the_whole_iterate_sums_an_excess_risk_reads() -> None:
    """An adversary whose excess risk is not linear in w_bar gets the whole iterate sums
    (with checkpoints inside chunks), as on the per-step path."""
    sc = parse_scenario({"d": 5, "T": 120, "seeds": 2, "chunk": 32, "checkpoints": 10,
                         "domain": {"kind": "ball", "radius": 0.7}, "bounds": [],
                         "adversary": {"kind": "linear_gaussian", "mean": 0.4},
                         "learners": {"o": {"kind": "optax", "transform": "adam",
                                            "learning_rate": 0.1}}}, "<test>", "whole")
    sc = dataclasses.replace(sc, adversary=WholeSumGaussian(mean=0.4))
    assert iterate_needs(sc.adversary, 5) == {"iterate_sums": True}
    chunked, reference = occ.run(sc), occ.run(sc, engine="reference")
    assert chunked.meta["engines"] == {"o": "chunked"}
    np.testing.assert_allclose(chunked.metrics["excess_risk"], reference.metrics["excess_risk"],
                               rtol=1e-12, atol=1e-15)
    moved = chunked.metrics[chunked.metrics.t > 1]  # w_1 = 0: nothing to read at t = 1
    assert (moved["excess_risk"] > 0).all()


def test_the_chunked_engine_marks_a_diverging_repetition_where_the_reference_does() -> None:
    sc = parse_scenario({"d": 3, "T": 40, "seeds": 2, "chunk": 16, "bounds": [],
                         "domain": {"kind": "ball", "radius": 1.0},
                         "adversary": {"kind": "linear_gaussian"},
                         "learners": {"o": {"kind": "optax", "transform": "sgd",
                                            "learning_rate": [0.1, 1e308]}}}, "<test>", "div")
    chunked, reference = occ.run(sc), occ.run(sc, engine="reference")
    assert reference.meta["diverged"]["o[learning_rate=1e+308]"]  # both rows, mid-chunk
    assert chunked.meta["diverged"] == reference.meta["diverged"]
    assert chunked.meta["diverged_causes"] == reference.meta["diverged_causes"]


def test_the_chunked_engine_finds_where_each_row_diverges_in_later_chunks() -> None:
    """The chunked engine checks the iterates' finiteness once per chunk and runs a chunk
    again with the per-step probe only where a live row ends it non-finite: a row whose
    step overflows in the second chunk (t = 25), one in the padded last chunk (t = 37) and
    one that never diverges get the reference path's steps and causes. The overflowing
    gradients are finite, but their squares' sum is not: that is not a loss divergence."""
    gradients = [[0.1, -0.05]] * 40
    gradients[24], gradients[36] = [1e200, 0.0], [0.0, -1e250]
    sc = parse_scenario({"d": 2, "T": 40, "seeds": 1, "chunk": 16, "bounds": [],
                         "domain": {"kind": "ball", "radius": 1.0},
                         "adversary": {"kind": "linear_sequence", "gradients": gradients,
                                       "L": 1e300, "norm": "linf"},
                         "learners": {"o": {"kind": "optax", "transform": "sgd",
                                            "learning_rate": [0.1, 1e90, 1e200]}}},
                        "<test>", "div-late")
    chunked, reference = occ.run(sc), occ.run(sc, engine="reference")
    assert chunked.meta["engines"] == {"o": "chunked"}
    assert reference.meta["diverged"] == {"o[learning_rate=0.1]": {},
                                          "o[learning_rate=1e+90]": {0: 37},
                                          "o[learning_rate=1e+200]": {0: 25}}
    assert set(reference.meta["diverged_causes"]["o[learning_rate=1e+90]"].values()) == {
        DIVERGENCE_CAUSES[1]}
    assert chunked.meta["diverged"] == reference.meta["diverged"]
    assert chunked.meta["diverged_causes"] == reference.meta["diverged_causes"]
    columns = ["regret", "cumulative_loss"]
    live = chunked.metrics.learner == "o[learning_rate=0.1]"
    np.testing.assert_allclose(chunked.metrics.loc[live, columns].to_numpy(float),
                               reference.metrics.loc[live, columns].to_numpy(float),
                               rtol=1e-12, atol=1e-12)


def test_occ_show_writes_an_adapter_table_that_loads_back(tmp_path: Path) -> None:
    from occ.scenario_file import scenario_toml
    from occ.scenarios import load_scenario

    file = tmp_path / "lib.toml"
    file.write_text(textwrap.dedent("""
        d = 4
        T = 20
        [domain]
        kind = "unconstrained"
        [adversary]
        kind = "quadratic"
        [learners.t]
        kind = "torch"
        optimizer = "Adam"
        lr = [0.01, 0.1]
        betas = [0.8, 0.99]
        [learners.o]
        kind = "optax"
        transform = "adam"
        learning_rate = 0.01
        """))
    first = load_scenario(file).resolved()
    assert first["learners"]["t"]["betas"] == [0.8, 0.99]
    assert first["learners"]["o"] == {"kind": "optax", "transform": "adam",
                                      "projection": "euclidean", "learning_rate": 0.01,
                                      "b1": 0.9, "b2": 0.999, "eps": 1e-08, "eps_root": 0.0,
                                      "mu_dtype": None, "nesterov": False}
    shown = tmp_path / "shown.toml"
    shown.write_text(scenario_toml(first))
    assert load_scenario(shown).resolved()["learners"] == first["learners"]


def test_a_missing_library_is_one_line_naming_the_extra(monkeypatch) -> None:
    from occ import adapters

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    monkeypatch.setattr(adapters, "_CLASSES", {})
    with pytest.raises(ParameterError, match=r"learners\.t\.optimizer: kind 'torch' needs "
                       r"torch: pip install 'occ\[torch\]'"):
        scenario({"t": {"kind": "torch", "optimizer": "Adam"}})
