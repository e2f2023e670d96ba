"""The best-CRP solver (occ.adversaries.bcrp) against planted optima and scipy, on every
prefix length, including prefixes shorter than the number of assets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from occ.adversaries.bcrp import best_crp, crp_gap


def planted(n: int, d: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Relatives X (n, d) whose best CRP is a chosen u* with support of size k.

    KKT for ``max sum_t log(u^T x_t)``: ``g_i(u*) = sum_t x_{t,i}/w_t = n`` on the support
    and ``< n`` off it. Take any ``r_t > 0`` (the planted 1/w_t) and ``x_{t,i} = a_{t,i}/r_t``:
    on the support ``A = 1 1^T + E`` with ``E u* = 0`` and ``1^T E = 0`` (so ``u*^T x_t =
    1/r_t`` and every column of g equals n), off it columns of A summing to 0.9 n."""
    rng = np.random.default_rng(seed)
    u = np.zeros(d)
    support = rng.choice(d, size=k, replace=False)
    u[support] = rng.dirichlet(np.ones(k)) * 0.9 + 0.1 / k
    us = u[support]
    E = rng.normal(size=(n, k))
    E -= E.mean(axis=0)  # column sums 0
    E -= np.outer(E @ us, us) / (us @ us)  # E u* = 0 (keeps the column sums at 0)
    E *= 0.5 / max(np.abs(E).max(), 1e-300)
    A = np.empty((n, d))
    A[:, support] = 1.0 + E
    others = np.setdiff1d(np.arange(d), support)
    B = rng.uniform(0.2, 1.0, size=(n, others.size))
    A[:, others] = B / B.sum(axis=0) * 0.9 * n
    r = rng.uniform(0.5, 2.0, size=n)
    return A / r[:, None], u


def f(X: np.ndarray, u: np.ndarray) -> float:
    return float(np.sum(np.log(X @ u)))


@pytest.mark.parametrize(("n", "d", "k"), [(1, 5, 1), (3, 8, 2), (4, 20, 3), (50, 6, 3),
                                           (200, 30, 5), (40, 40, 1), (500, 4, 4)])
def test_planted_optimum_is_found_and_certified(n: int, d: int, k: int) -> None:
    for seed in range(3):
        X, u_star = planted(n, d, k, seed)
        assert crp_gap(X, u_star) <= 1e-12 * n  # the construction is optimal
        s = best_crp(X)
        assert s.gap <= 1e-9 and crp_gap(X, s.u) == pytest.approx(s.gap, abs=1e-12)
        assert s.value >= f(X, u_star) - 1e-9  # never below the planted optimum
        assert s.value <= f(X, u_star) + 1e-9 * max(1, n)  # and the optimum is optimal
        assert np.all(s.u >= 0) and s.u.sum() == pytest.approx(1.0, abs=1e-14)
        if n >= 4 * d:  # strictly concave: the optimum is unique
            np.testing.assert_allclose(s.u, u_star, atol=1e-6)


def scipy_crp(X: np.ndarray) -> float:
    """An independent solver: SLSQP from the centre and from near the best asset."""
    n, d = X.shape
    best = -np.inf
    for start in (np.full(d, 1 / d), np.eye(d)[np.argmax(X.sum(axis=0))] * 0.9 + 0.1 / d):
        r = optimize.minimize(lambda u: -np.sum(np.log(X @ u)), start,
                              jac=lambda u: -(X / (X @ u)[:, None]).sum(axis=0),
                              method="SLSQP", bounds=[(0, 1)] * d,
                              constraints=[{"type": "eq", "fun": lambda u: u.sum() - 1,
                                            "jac": lambda u: np.ones(d)}],
                              options={"ftol": 1e-13, "maxiter": 200})
        u = np.clip(r.x, 0, None)
        best = max(best, f(X, u / u.sum()))
    return best


@pytest.mark.parametrize("d", [3, 12, 30])
def test_never_below_scipy_on_random_markets_and_every_prefix(d: int) -> None:
    rng = np.random.default_rng(d)
    X = np.exp(rng.normal(0.0005, 0.03, size=(80, d)) + rng.normal(0, 0.01, size=d))
    X[rng.random(X.shape) < 0.02] *= 1.5  # a few jumps
    u = None
    for n in (1, 2, 3, 5, 8, 13, 21, 34, 55, 80):  # prefixes, warm started
        s = best_crp(X[:n], u)
        cold = best_crp(X[:n])
        assert s.gap <= 1e-9 and cold.gap <= 1e-9
        assert s.value == pytest.approx(cold.value, abs=2e-9)
        assert s.value >= scipy_crp(X[:n]) - 1e-12
        u = s.u


def test_support_moves_both_ways_from_a_warm_start() -> None:
    """A warm start on the wrong vertex, and one on the whole simplex, both reach the
    planted optimum: coordinates enter and leave."""
    X, u_star = planted(300, 10, 3, 11)
    wrong = np.zeros(10)
    wrong[np.argmin(u_star)] = 1.0
    for start in (wrong, np.full(10, 0.1)):
        s = best_crp(X, start)
        assert s.gap <= 1e-9
        np.testing.assert_allclose(s.u, u_star, atol=1e-6)


def test_one_period_is_the_best_asset_and_ties_are_certified() -> None:
    x = np.array([[1.0, 1.3, 0.9, 1.3, 1.1]])
    s = best_crp(x)
    assert s.gap <= 1e-12 and s.value == pytest.approx(np.log(1.3), abs=1e-15)
    assert s.u[[0, 2, 4]].sum() <= 1e-12
