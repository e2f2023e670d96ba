"""The Adam family: schedules, reductions between variants, scale invariance, the Reddi
et al. counterexamples, and what the bounds say about momentum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

import occ
from occ.check import check_table
from occ.domains import Box, Unconstrained
from occ.errors import ParameterError
from occ.learners import make_learner
from occ.schedules import Schedule


def test_schedules_closed_forms() -> None:
    assert Schedule().value(7) == 1.0
    assert Schedule(kind="inverse_sqrt").value(16) == 0.25
    lin = Schedule(kind="warmup_linear", warmup=10, final=0.2, horizon=110)
    assert [lin.value(t) for t in (5, 10, 60, 110, 500)] == pytest.approx(
        [0.5, 1.0, 0.6, 0.2, 0.2])
    cos = Schedule(kind="warmup_cosine", warmup=10, final=0.0, horizon=110)
    assert [cos.value(t) for t in (10, 60, 110)] == pytest.approx([1.0, 0.5, 0.0], abs=1e-15)
    wsd = Schedule(kind="wsd", warmup=10, decay=0.2, final=0.1, horizon=100)
    assert [wsd.value(t) for t in (5, 50, 80, 90, 100)] == pytest.approx(
        [0.5, 1.0, 1.0, 0.55, 0.1])


def _run(learner, g: np.ndarray, w1: np.ndarray | None = None) -> np.ndarray:
    state = learner.init(np.zeros(g.shape[1:]) if w1 is None else w1)
    out = []
    for t in range(g.shape[0]):
        w, state = learner.update(state, g[t])
        out.append(w)
    return np.array(out)


G = np.random.default_rng(0).normal(size=(60, 3, 4)) * np.array([1e-2, 1, 10, 0.5])


def test_adam_without_momentum_and_correction_is_rmsprop() -> None:
    adam = make_learner("adam", eta=0.1, beta1=0.0, beta2=0.9, eps=1e-6,
                        bias_correction=False)
    rms = make_learner("rmsprop", eta=0.1, beta2=0.9, eps=1e-6)
    np.testing.assert_array_equal(_run(adam, G), _run(rms, G))


def test_adamw_reductions() -> None:
    adam = make_learner("adam", eta=0.1)
    np.testing.assert_array_equal(_run(make_learner("adamw", eta=0.1, weight_decay=0.0), G),
                                  _run(adam, G))
    # decoupled decay s_t lambda equals the coupled eta_t lambda when eta = 1
    dec = make_learner("adamw", eta=1.0, weight_decay=0.05, schedule="inverse_sqrt")
    cou = make_learner("adamw", eta=1.0, weight_decay=0.05, schedule="inverse_sqrt",
                       decoupled=False)
    w1 = np.ones((3, 4))
    np.testing.assert_allclose(_run(dec, G, w1), _run(cou, G, w1), rtol=1e-12, atol=1e-15)
    # with zero gradients the decoupled step is pure decay: w_{t+1} = (1 - s_t lambda) w_t
    w = _run(make_learner("adamw", eta=0.3, weight_decay=0.1), np.zeros((5, 1, 2)),
             np.ones((1, 2)))
    np.testing.assert_allclose(w[:, 0, 0], 0.9 ** np.arange(1, 6), rtol=1e-15)


def test_amsgrad_equals_adam_when_the_second_moment_never_shrinks() -> None:
    g = np.ones((30, 2, 3)) * np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(_run(make_learner("amsgrad", eta=0.1), g),
                               _run(make_learner("adam", eta=0.1), g), rtol=1e-14)


def test_amsgrad_max_orders_differ() -> None:
    """The notes' max of the bias-corrected v differs from PyTorch's max of the raw v."""
    notes = _run(make_learner("amsgrad", eta=0.1), G)
    torch = _run(make_learner("amsgrad", eta=0.1, max_before_bias_correction=True), G)
    assert np.abs(notes - torch).max() > 1e-3


@pytest.mark.parametrize("domain", [Unconstrained(), Box(low=-1.0, high=1.0)])
def test_scale_invariance_with_eps_zero(domain) -> None:
    """Section 4.1 and erratum E13: g -> c g (coordinate-wise) leaves Adam's iterates
    unchanged for c > 0 when eps = 0; for c < 0 the coordinate's step flips sign."""
    c = np.array([1e-3, 1e3, 7.0, 0.2])
    learner = make_learner("adam", eta=0.05, eps=0.0, domain=domain)
    base = _run(learner, G)
    np.testing.assert_allclose(_run(learner, G * c), base, rtol=1e-13, atol=1e-15)
    if domain.name == "unconstrained":
        flipped = np.array([1.0, -1.0, 1.0, -2.0])
        np.testing.assert_allclose(_run(learner, G * flipped), base * np.sign(flipped),
                                   rtol=1e-13, atol=1e-15)


def test_scale_invariance_deviation_grows_with_eps() -> None:
    """The scenario's grid over eps, against the same losses with c = 1: eps = 0 gives
    the same iterates; the deviation grows with eps."""
    scaled = occ.load_scenario("adam-scale-invariance")
    result = occ.run(scaled, T=300, seeds=3, keep_trajectories=True)
    import dataclasses

    plain = dataclasses.replace(scaled, adversary=dataclasses.replace(
        scaled.adversary, coordinate_scale=1.0))
    reference = occ.run(plain, T=300, seeds=3, keep_trajectories=True)
    a, b = result.trajectories["adam"], reference.trajectories["adam"]
    deviation = np.abs(a - b).max(axis=(0, 2)).reshape(5, 3).max(axis=1)  # per eps
    assert deviation[0] <= 1e-12
    assert np.all(np.diff(deviation) > 0), deviation
    assert deviation[-1] > 0.1


def test_beta2_must_be_below_one() -> None:
    """Erratum E15: beta2 in [0, 1)."""
    with pytest.raises(ParameterError, match=r"beta2: must be a finite number >= 0 and < 1"):
        make_learner("adam", beta2=1.0)


def test_momentum_is_not_mirror_descent() -> None:
    sc = make_scenario(learners={"m": {"kind": "adam", "eta": 0.1},
                                 "r": {"kind": "rmsprop", "eta": 0.1},
                                 "w": {"kind": "adamw", "eta": 0.1, "beta1": 0.0}})
    result = occ.run(sc)
    b = result.bounds
    for label in ("m", "w"):
        mine = b[b.learner == label]
        assert set(mine["bound"]) == {"eq8", "eq10", "eq18"}
        assert not mine["applicable"].any() and mine["value"].isna().all()
        assert mine["note"].str.contains("not mirror descent").all()
        assert result.metrics[result.metrics.learner == label]["eq10_first_term"].isna().all()
    r = b[b.learner == "r"]
    assert r[r.bound.isin(["eq8", "eq10"])]["applicable"].all()


def test_amsgrad_notes_order_is_monotone_rmsprop_is_not() -> None:
    sc = make_scenario(adversary={"kind": "linear_sparse", "exponent": 0.5},
                       learners={"ams": {"kind": "amsgrad", "beta1": 0.0, "eta": 0.2},
                                 "rms": {"kind": "rmsprop", "eta": 0.2, "beta2": 0.5}},
                       T=200)
    m = occ.run(sc).metrics
    final = m[m.t == 200].set_index("learner")["monotone_min"]
    assert (final.loc["ams"] >= -1e-12).all()
    assert (final.loc["rms"] < -1e-3).all()


def test_reddi_counterexamples() -> None:
    """Adam's iterate goes to +1 and its average regret to the derived constant;
    AMSGrad's iterate goes to -1 and its average regret to 0 (check sizes)."""
    table = check_table(["reddi-cycle", "reddi-online", "reddi-stochastic"])
    expectations = table[table["bound"].str.contains("order|average_regret")]
    assert len(expectations) == 7 and (expectations["verdict"] == "ok").all(), expectations
    assert not table["verdict"].isin(["VIOLATED", "FAILED"]).any()
    cycle = occ.run("reddi-cycle", T=3000)
    final = cycle.metrics[cycle.metrics.t == 3000].set_index("learner")
    assert (final.loc["adam", "iterate_0"] > 0.99).all()
    assert (final.loc["amsgrad", "iterate_0"] < -0.99).all()
    average = final.loc["adam", "regret"].mean() / 3000
    assert average == pytest.approx(2 * (3 - 2) / 3, rel=0.02)
    # (18) is not claimed for Adam: Gamma_t is not >= 0 on this instance (erratum E4)
    b = cycle.bounds
    assert not b[(b.learner == "adam") & (b.bound == "eq18") & (b.t == 3000)]["applicable"].any()
    assert math.isfinite(b[(b.learner == "adam") & (b.bound == "eq10")]["value"].max())
