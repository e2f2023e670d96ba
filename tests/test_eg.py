"""Beyond Euclidean: exponentiated gradient, the Rademacher lower bound, online-to-batch,
and online portfolio selection."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from conftest import make_scenario

import occ
from occ.adversaries.portfolio import best_crp
from occ.adversaries.rademacher import (
    asymptotic,
    expected_abs_sum,
    expected_abs_sum_exact,
    within_from,
)
from occ.check import check_table
from occ.domains import Simplex
from occ.errors import OccError, ParameterError
from occ.learners import make_learner


def test_eg_is_multiplicative_weights_in_closed_form() -> None:
    """Constant eta: w_{T+1} is proportional to w_1 exp(-eta sum_t g_t)."""
    rng = np.random.default_rng(0)
    g = rng.uniform(size=(50, 3, 6))
    learner = make_learner("eg", step="constant", eta=0.3, domain=Simplex())
    state = learner.init(np.full((3, 6), 1 / 6))
    for t in range(50):
        w, state = learner.update(state, g[t])
        expected = np.exp(-0.3 * g[: t + 1].sum(axis=0))
        np.testing.assert_allclose(w, expected / expected.sum(axis=1, keepdims=True),
                                   rtol=1e-12)


@pytest.mark.parametrize("scale", [1e3, 1e6, 1e12])
def test_eg_stays_finite_for_extreme_gradients(scale) -> None:
    rng = np.random.default_rng(1)
    learner = make_learner("eg", step="constant", eta=1.0, domain=Simplex())
    state = learner.init(np.full((4, 5), 0.2))
    for _ in range(30):
        w, state = learner.update(state, rng.normal(size=(4, 5)) * scale)
        assert np.all(np.isfinite(w)) and np.all(np.isfinite(state.log_w))
        np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-14)
        assert np.all(w >= 0)


def test_simplex_projection_matches_solver() -> None:
    from scipy import optimize

    rng = np.random.default_rng(2)
    y = rng.normal(size=(10, 5)) * 2
    ours = Simplex().project(y, np)
    for r in range(10):
        res = optimize.minimize(lambda w, r=r: np.sum((w - y[r]) ** 2), np.full(5, 0.2),
                                method="SLSQP", bounds=[(0, 1)] * 5,
                                constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                                options={"ftol": 1e-15})
        np.testing.assert_allclose(ours[r], res.x, atol=1e-7)


def test_expected_abs_sum_exact_values() -> None:
    """E|S_T| against the brute-force binomial sum for T <= 60 and THEORY.md's table."""
    for T in range(1, 61):
        brute = sum(Fraction(math.comb(T, k), 2**T) * abs(2 * k - T) for k in range(T + 1))
        assert expected_abs_sum_exact(T) == pytest.approx(float(brute), rel=1e-15)
        assert expected_abs_sum(T)[0] == pytest.approx(float(brute), rel=1e-12)
    table = {1: 1.0, 2: 1.0, 3: 1.5, 10: 2.4609, 11: 2.7070, 100: 7.9589, 1000: 25.2250,
             5000: 56.4161}
    for T, value in table.items():
        assert expected_abs_sum(T)[0] == pytest.approx(value, abs=5e-5)
    assert asymptotic(5000) == pytest.approx(56.4190, abs=5e-5)


def test_asymptote_within_one_percent_from_26() -> None:
    """sqrt(2T/pi) is within 1% of E|S_T| for all T >= 26, within 0.1% for T >= 250."""
    assert within_from(0.01) == 26
    assert within_from(0.001) == 250


def test_lower_bound_every_learner_matches_the_exact_expectation() -> None:
    """OGD, AdaGrad-norm, diagonal AdaGrad on [-1, 1] and EG (two variants) and OGD on two
    experts: mean regret within 4 standard errors of E|S_T| at every checkpoint."""
    table = check_table(["lower-bound", "lower-bound-experts"])
    rows = table[table["bound"] == "expected_regret_z"]
    assert len(rows) == 6
    assert (rows["verdict"] == "ok").all(), rows
    assert (rows["checked"] >= 15).all()


def test_online_to_batch() -> None:
    """E[J(w_bar_T)] - J* <= E[Regret_T]/T (3 standard errors), and the excess risk is the
    closed form of the population."""
    table = check_table(["online-to-batch", "online-to-batch-least-squares"])
    rows = table[table["bound"] == "online_to_batch_z"]
    assert len(rows) == 6 and (rows["verdict"] == "ok").all(), rows
    sc = occ.load_scenario("online-to-batch")
    w_bar = np.array([[0.1, -0.2] + [0.0] * 8])
    mu = np.full(10, 0.15)
    expected = w_bar @ mu + np.linalg.norm(mu)
    np.testing.assert_allclose(sc.adversary.excess_risk(w_bar, sc.domain), expected)
    result = occ.run(sc, T=2000, seeds=20)
    final = result.metrics[result.metrics.t == 2000]
    for _, group in final.groupby("learner"):
        assert group["excess_risk"].mean() < 0.25  # decays: it starts at ||mu|| = 0.47


def test_eg_grows_like_log_d_and_ogd_like_d() -> None:
    """experts-d4 against experts-d1024 at T = 2000: EG's guarantee L_inf sqrt(2 T log d)
    grows by sqrt(log 1024/log 4) = sqrt(5), OGD's (24) with L^2 ~ d; and EG's regret
    stays below OGD's at both sizes."""
    bound, ratio = {}, {}
    for name in ("experts-d4", "experts-d1024"):
        result = occ.run(name, T=2000, seeds=4)
        final = result.metrics[result.metrics.t == 2000].groupby("learner")["regret"].mean()
        ratio[name] = final["ogd_simplex"] / final["eg"]
        b = result.bounds[(result.bounds.t == 2000) & result.bounds.applicable]
        bound[name] = b.groupby("bound")["value"].mean()
    eg_growth = bound["experts-d1024"]["eg_tuned"] / bound["experts-d4"]["eg_tuned"]
    ogd_growth = bound["experts-d1024"]["eq24"] / bound["experts-d4"]["eq24"]
    assert eg_growth == pytest.approx(math.sqrt(5), rel=1e-12)
    assert ogd_growth > 10
    assert ratio["experts-d1024"] > 1.2 and ratio["experts-d4"] > 1.2, ratio


def test_eg_bounds_hold_and_eq8_is_exact_at_t1() -> None:
    sc = make_scenario(domain={"kind": "simplex"}, adversary={"kind": "experts_adaptive"},
                       d=6, T=300, learners={"c": {"kind": "eg", "step": "constant",
                                                   "eta": 0.2},
                                             "a": {"kind": "eg", "step": "anytime"}})
    b = occ.run(sc).bounds
    assert b["applicable"].sum() > 0 and not b["violated"].any()
    assert set(b["bound"]) == {"eg_eq8", "eg_constant", "eg_anytime"}


def test_best_crp_known_solutions() -> None:
    """Cover's example: the best CRP holds 1/2 of each asset; a dominating asset is the
    whole portfolio; the gap certificate is tiny; a grid search never beats it."""
    X = np.array([[1.0, 2.0], [1.0, 0.5]] * 50)
    u, f, gap = best_crp(X)
    np.testing.assert_allclose(u, [0.5, 0.5], atol=1e-9)
    assert f == pytest.approx(50 * math.log(1.5 * 0.75), rel=1e-12)
    assert gap <= 1e-9
    rng = np.random.default_rng(3)
    dominated = rng.uniform(0.5, 1.5, size=(40, 3))
    dominated[:, 1] = dominated.max(axis=1) * 1.01
    u, _, gap = best_crp(dominated)
    np.testing.assert_allclose(u, [0, 1, 0], atol=1e-9)
    X = rng.uniform(0.8, 1.25, size=(200, 3))
    u, f, gap = best_crp(X)
    assert gap <= 1e-9
    grid = [np.array([a, b, 1 - a - b]) for a, b in product(np.linspace(0, 1, 41), repeat=2)
            if a + b <= 1]
    assert f >= max(np.sum(np.log(X @ v)) for v in grid) - 1e-12


def test_portfolio_scenario_reports_wealth_and_certificate() -> None:
    result = occ.run("portfolio-cover", T=1000)
    final = result.metrics[result.metrics.t == 1000]
    np.testing.assert_allclose(final["comparator_wealth"], 1.125**500, rtol=1e-9)
    np.testing.assert_allclose(final["wealth"], np.exp(-final["cumulative_loss"]))
    assert (final["comparator_gap"] <= 1e-9).all()
    assert (final["regret"] > 0).all()
    assert not result.bounds["violated"].any()


def test_portfolio_bad_inputs(tmp_path) -> None:
    def scenario(**adversary):
        return make_scenario(d=2, domain={"kind": "simplex"},
                             adversary={"kind": "portfolio", **adversary},
                             learners={"e": {"kind": "eg", "step": "constant"}})
    with pytest.raises(ParameterError, match="path: cannot read"):
        scenario(path=str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n1,-1\n")
    with pytest.raises(ParameterError, match="must be a finite number > 0"):
        scenario(path=str(bad))
    short = tmp_path / "short.csv"
    short.write_text("1,2\n1,0.5\n")
    with pytest.raises(ParameterError, match="T: must be <= 2"):
        scenario(path=str(short))
    good = tmp_path / "good.csv"
    good.write_text("\n".join("1,2" if t % 2 else "1,0.5" for t in range(100)))
    sc = scenario(path=str(good))
    with pytest.raises(OccError, match="exceeds its 100 periods"):
        occ.run(sc, T=200)
