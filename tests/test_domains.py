"""Projections and linear minimizers against scipy.optimize on random instances."""

from __future__ import annotations

import numpy as np
import pytest
from reference import euclidean_projection, simplex_projection_by_supports, solver_projection
from scipy import optimize

from occ.domains import (
    Ball,
    Box,
    Simplex,
    Unconstrained,
    weighted_ball_projection,
    weighted_simplex_projection,
)
from occ.errors import ParameterError
from occ.regularizers import DiagonalPrecision, ScalarPrecision


def test_weighted_ball_projection_matches_solver() -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        d = int(rng.integers(1, 8))
        radius = float(rng.uniform(0.2, 2.0))
        y = rng.normal(size=d) * rng.uniform(0.1, 4.0)
        a = np.exp(rng.normal(size=d) * 2.0)
        ours = weighted_ball_projection(y[None], a[None], radius, np)[0]
        ref = solver_projection(Ball(radius=radius), y, a)
        np.testing.assert_allclose(ours, ref, atol=1e-6)
        # KKT: on the sphere when y is outside, and a (y - w) = mu w with mu >= 0
        if np.linalg.norm(y) > radius:
            assert abs(np.linalg.norm(ours) - radius) <= 1e-13 * radius
            pull = a * (y - ours)
            mu = pull @ ours / (ours @ ours)
            assert mu >= 0
            np.testing.assert_allclose(pull, mu * ours, rtol=0, atol=1e-10 * np.abs(pull).max())
        else:
            np.testing.assert_array_equal(ours, y)


def test_weighted_simplex_projection_equals_the_enumeration_of_supports() -> None:
    """The sorted-breakpoint threshold against an independent reference: the best feasible
    minimizer on the affine hull of each of the 2^d - 1 supports. Weights spread over six
    orders of magnitude, tied breakpoints, a row already on the simplex, and whole batches
    (a row's result does not depend on the others)."""
    rng = np.random.default_rng(7)
    rows_y, rows_a = [], []
    for _ in range(60):
        d = int(rng.integers(1, 7))
        y = rng.normal(size=d) * rng.uniform(0.1, 5.0)
        a = np.exp(rng.normal(size=d) * 3.0)
        rows_y.append(y)
        rows_a.append(a)
    rows_y += [np.array([0.5, 0.5, -1.0]), np.array([0.2, 0.3, 0.5]), np.array([2.0, 2.0, 2.0])]
    rows_a += [np.array([1.0, 1.0, 3.0]), np.array([4.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])]
    for y, a in zip(rows_y, rows_a, strict=True):
        ours = weighted_simplex_projection(y[None], a[None], np)[0]
        exact = simplex_projection_by_supports(y, np.diag(a))
        np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-12 * max(1.0, np.abs(y).max()))
        assert np.all(ours >= 0) and abs(ours.sum() - 1) <= 8 * np.finfo(float).eps
    y = rng.normal(size=(9, 5))
    a = np.exp(rng.normal(size=(9, 5)))
    batch = Simplex().project(y, np, DiagonalPrecision(a))
    for r in range(9):
        np.testing.assert_array_equal(
            batch[r], Simplex().project(y[r:r + 1], np, DiagonalPrecision(a[r:r + 1]))[0])


def test_weighted_projection_is_identity_inside_and_batched() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=(5, 3)) * 0.1
    a = rng.uniform(0.5, 2, size=(5, 3))
    np.testing.assert_array_equal(Ball(radius=1.0).project(y, np, DiagonalPrecision(a)), y)
    far = rng.normal(size=(5, 3)) * 5
    rows = Ball(radius=1.0).project(far, np, DiagonalPrecision(a))
    for r in range(5):
        single = Ball(radius=1.0).project(far[r:r + 1], np, DiagonalPrecision(a[r:r + 1]))
        np.testing.assert_allclose(rows[r], single[0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("domain", [
    Ball(radius=1.5, centre=[0.5, -0.2, 0.1]), Box(low=[-1, 0, -2], high=[1, 0.5, 2]),
    Unconstrained(),
])
def test_euclidean_projection_matches_reference(domain) -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=(20, 3)) * 3
    ours = domain.project(y, np, ScalarPrecision(np.ones(20)))
    for r in range(20):
        np.testing.assert_allclose(ours[r], euclidean_projection(domain, y[r]), atol=1e-14)


def test_box_projection_with_diagonal_precision_is_clipping() -> None:
    rng = np.random.default_rng(3)
    box = Box(low=-1.0, high=1.0)
    y = rng.normal(size=(4, 6)) * 3
    a = rng.uniform(0.1, 10, size=(4, 6))
    ours = box.project(y, np, DiagonalPrecision(a))
    for r in range(4):
        res = optimize.minimize(lambda w, r=r: np.sum(a[r] * (w - y[r]) ** 2), np.zeros(6),
                                method="L-BFGS-B", bounds=[(-1, 1)] * 6,
                                options={"ftol": 1e-15, "gtol": 1e-12})
        np.testing.assert_allclose(ours[r], res.x, atol=1e-6)


@pytest.mark.parametrize("domain", [Ball(radius=0.7, centre=[1.0, 0.0, -1.0, 0.5]),
                                    Box(low=[-1, -2, 0, 0], high=[1, 0, 3, 0.1])])
def test_linear_minimum_matches_linear_programming(domain) -> None:
    rng = np.random.default_rng(4)
    G = rng.normal(size=(10, 4))
    u, value = domain.linear_minimum(G, np)
    for r in range(10):
        if domain.name == "box":
            res = optimize.linprog(G[r], bounds=list(zip(domain.low, domain.high, strict=True)))
            best = res.fun
        else:
            c = np.asarray(domain.centre)
            inside = {"type": "ineq", "fun": lambda w, c=c: domain.radius**2 - np.sum((w - c) ** 2)}
            res = optimize.minimize(lambda w, r=r: G[r] @ w, c, method="SLSQP",
                                    constraints=[inside], options={"ftol": 1e-15})
            best = res.fun
        assert value[r] == pytest.approx(best, rel=1e-7, abs=1e-9)
        assert G[r] @ u[r] == pytest.approx(value[r], rel=1e-13)


def test_domain_validation_messages() -> None:
    with pytest.raises(ParameterError, match=r"radius: must be a number .*got -1"):
        Ball(radius=-1.0)
    with pytest.raises(ParameterError, match="high"):
        Box(low=1.0, high=-1.0)


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    B = rng.normal(size=(d, d)) * np.exp(rng.normal(size=d))
    return B @ B.T + 1e-3 * np.eye(d)


def test_full_precision_projections_match_solver() -> None:
    """The A-norm projection for a full A on a ball (rotation + secular equation) and on a
    box (projected Newton) against scipy on random (A, point, set) triples."""
    from occ.regularizers import FullPrecision

    rng = np.random.default_rng(5)
    for _ in range(25):
        d = int(rng.integers(2, 7))
        A = _spd(rng, d)
        lam, Q = np.linalg.eigh(A)
        y = rng.normal(size=d) * rng.uniform(0.5, 4)
        precision = FullPrecision(Q[None], lam[None])
        ball = Ball(radius=float(rng.uniform(0.3, 2)), centre=0.0)
        box = Box(low=float(-rng.uniform(0.2, 1.5)), high=float(rng.uniform(0.2, 1.5)))
        for domain in (ball, box):
            ours = domain.project(y[None], np, precision)[0]
            cost = lambda w, y=y, A=A: (w - y) @ A @ (w - y)  # noqa: E731
            if domain is ball:
                cons = [{"type": "ineq", "fun": lambda w, r=ball.radius: r**2 - w @ w}]
                res = optimize.minimize(cost, np.zeros(d), method="SLSQP", constraints=cons,
                                        options={"ftol": 1e-15, "maxiter": 2000})
                ref = euclidean_projection(ball, res.x)
                assert np.linalg.norm(ours) <= ball.radius * (1 + 1e-12)
            else:
                res = optimize.minimize(cost, np.zeros(d), jac=lambda w, y=y, A=A: 2 * A @ (w - y),
                                        method="L-BFGS-B", bounds=[(box.low, box.high)] * d,
                                        options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 10000})
                ref = res.x
                assert np.all(ours >= box.low - 1e-15) and np.all(ours <= box.high + 1e-15)
            # never worse than the solver, and the same point
            assert cost(ours) <= cost(ref) + 1e-9 * max(1.0, cost(ref))
            np.testing.assert_allclose(ours, ref, atol=1e-5)
