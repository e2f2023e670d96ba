"""Issue 18's optimizers: every bound row says why it does not apply, the schedule-free
averaged sequence's regret against its reference, and the reductions (Adam-mini with
blocks of one is Adam; SOAP and Muon on a 1 x 1 matrix are Adam one round late and
signum with step p^5(1) eta)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario
from reference import loss_value, reference_game

import occ
from occ.learners import make_learner

RNG = np.random.default_rng(180)
VECTOR = {"adopt": {"eta": 0.1}, "lion": {"eta": 0.01}, "adam_mini": {"eta": 0.05},
          "schedule_free_adamw": {"eta": 0.05}}
MATRIX = {"muon": {"eta": 0.05}, "soap": {"eta": 0.05}}


@pytest.mark.parametrize("name", [*VECTOR, *MATRIX])
def test_every_bound_row_says_why_it_does_not_apply(name: str) -> None:
    matrix = name in MATRIX
    params = {**VECTOR, **MATRIX}[name]
    sc = make_scenario(d=6, shape=[3, 2] if matrix else None, T=30, seeds=2,
                       adversary={"kind": "matrix_linear"} if matrix else
                       {"kind": "linear_gaussian", "mean": 0.2},
                       learners={"x": {"kind": name, **params}})
    result = occ.run(sc)
    reason = make_learner(name, **params, **({"shape": (3, 2)} if matrix else {})).facts(
        6).not_mirror_descent
    assert reason and "not mirror descent" in reason
    bounds = result.bounds
    assert len(bounds) and set(bounds["bound"]) >= {"eq8", "eq10", "eq18"}
    assert not bounds["applicable"].any()
    assert bounds["value"].isna().all() and bounds["ratio"].isna().all()
    assert (bounds["note"] == reason).all()
    assert result.facts.empty


def test_schedule_free_reports_the_regret_of_the_averaged_sequence() -> None:
    """``shadow_regret`` is sum_s l_s(x_s) - comparator loss for the reference loop's x_s
    (quadratic losses: x and y have different losses); other learners leave it empty."""
    case = {"eta": 0.1, "beta1": 0.8, "weight_decay": 0.05}
    sc = make_scenario(adversary={"kind": "quadratic", "centre_norm": 2.0, "condition": 5.0},
                       learners={"sf": {"kind": "schedule_free_adamw", **case},
                                 "lion": {"kind": "lion", "eta": 0.01}}, T=40, seeds=2)
    result = occ.run(sc)
    metrics = result.metrics
    assert metrics[metrics["learner"] == "lion"]["shadow_regret"].isna().all()
    learner = make_learner("schedule_free_adamw", domain=sc.domain, **case)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        x = game["reference"].shadow  # x_1 .. x_{T+1}
        losses = np.array([loss_value(game["family"], game["params"][t], x[t])
                           for t in range(sc.T)])
        rows = metrics[(metrics["learner"] == "sf") & (metrics["seed"] == k)]
        for _, row in rows.iterrows():
            t = int(row["t"])
            expected = losses[:t].sum() - row["comparator_loss"]
            assert row["shadow_regret"] == pytest.approx(expected, rel=1e-11, abs=1e-11)
        assert not np.allclose(rows["shadow_regret"], rows["regret"])


def _trajectory(learner, G: np.ndarray, w1: np.ndarray) -> np.ndarray:
    state = learner.init(w1)
    out = []
    for g in G:
        w, state = learner.update(state, g)
        out.append(w)
    return np.array(out)


def test_adam_mini_with_blocks_of_one_is_adam() -> None:
    G, w1 = RNG.normal(size=(30, 3, 5)), RNG.normal(size=(3, 5))
    common = {"eta": 0.05, "beta1": 0.8, "beta2": 0.9, "eps": 1e-3}
    for mini in ({"block_size": 1}, {"blocks": [0.0, 1.0, 2.0, 3.0, 4.0]}):
        np.testing.assert_allclose(
            _trajectory(make_learner("adam_mini", **common, **mini), G, w1),
            _trajectory(make_learner("adam", **common), G, w1), rtol=1e-13, atol=1e-15)
    # one block on d = 1 is Adam as well
    np.testing.assert_allclose(_trajectory(make_learner("adam_mini", **common), G[:, :, :1],
                                           w1[:, :1]),
                               _trajectory(make_learner("adam", **common), G[:, :, :1],
                                           w1[:, :1]), rtol=1e-13, atol=1e-15)


def test_soap_on_a_1x1_matrix_is_adam_one_round_late() -> None:
    """SOAP's bias corrections sit in the step size (eps not rescaled), occ's Adam's in
    the moments: the same step at eps = 0."""
    G, w1 = RNG.normal(size=(30, 3, 1)), RNG.normal(size=(3, 1))
    common = {"eta": 0.05, "beta1": 0.8, "beta2": 0.9, "eps": 0.0}
    soap = _trajectory(make_learner("soap", **common, precondition_frequency=2,
                                    shape=(1, 1)), G, w1)
    np.testing.assert_array_equal(soap[0], w1)
    adam = _trajectory(make_learner("adam", **common), G[1:], w1)
    np.testing.assert_allclose(soap[1:], adam, rtol=1e-13, atol=1e-15)


def test_muon_on_a_1x1_matrix_is_signum_with_step_p5() -> None:
    a, b, c = 3.4445, -4.7750, 2.0315
    s = 1.0
    for _ in range(5):
        s = a * s + b * s**3 + c * s**5
    assert s == pytest.approx(0.6964364, abs=1e-7)
    G, w1 = RNG.normal(size=(30, 3, 1)), RNG.normal(size=(3, 1))
    beta, eta = 0.9, 0.05
    ours = _trajectory(make_learner("muon", eta=eta, beta=beta, eps=0.0, shape=(1, 1)), G, w1)
    B, w = np.zeros((3, 1)), w1.copy()
    for t in range(30):
        B = beta * B + (1 - beta) * G[t]
        w = w - eta * s * np.sign((1 - beta) * G[t] + beta * B)
        np.testing.assert_allclose(ours[t], w, rtol=1e-13, atol=1e-15)


def test_average_regret_falls_is_checked_both_ways() -> None:
    """On Reddi's cycle, AMSGrad's R_t/t falls from T/10 to T while Adam's rises toward
    2/3: the expectation passes for one and fails for the other."""
    from occ.check import expectation_rows
    from occ.scenarios import load_scenario

    result = occ.run(load_scenario("reddi-cycle"), T=600, seeds=1)
    rows = {r["learner"].split()[0]: r for r in expectation_rows(
        "reddi-cycle", {"average_regret_falls": ["amsgrad", "adam"]}, result)}
    assert rows["amsgrad"]["verdict"] == "ok" and rows["amsgrad"]["worst_ratio"] < 1
    assert rows["adam"]["verdict"] == "FAILED" and rows["adam"]["worst_ratio"] > 1


def test_adam_mini_refuses_a_partition_of_the_wrong_length() -> None:
    from occ.errors import ParameterError

    learner = make_learner("adam_mini", blocks=[0.0, 1.0, 1.0])
    with pytest.raises(ParameterError, match="blocks: must have d = 4 labels"):
        learner.init(np.zeros((1, 4)))
    sc = {"learners": {"x": {"kind": "adam_mini", "blocks": [0.0, 1.0, 1.0]}}}
    with pytest.raises(ParameterError, match="blocks"):
        make_scenario(**sc)


def test_the_panel_figure_draws_every_run(tmp_path) -> None:
    from occ.plots import plot_average_regret_panels

    sc = make_scenario(learners={"sf": {"kind": "schedule_free_adamw", "eta": 0.1},
                                 "lion": {"kind": "lion", "eta": 0.01}}, T=20)
    result = occ.run(sc)
    path = tmp_path / "panels.png"
    plot_average_regret_panels({"a": result, "b": result}, path)
    assert path.stat().st_size > 10_000
