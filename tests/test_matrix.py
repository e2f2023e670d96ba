"""Matrix parameters: the Kronecker identities, Shampoo against explicit mirror descent,
Adafactor's rank-1 NMF, AdamNMF's mass conservation, (42), and the Shampoo bound."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

import occ
from occ.check import check_table
from occ.domains import Ball, Unconstrained
from occ.kronecker import nearest_kronecker, rearrange
from occ.learners import make_learner
from occ.regularizers import KroneckerPrecision

RNG = np.random.default_rng(0)


def _spd(k: int) -> np.ndarray:
    B = RNG.normal(size=(k, k))
    return B @ B.T + 0.1 * np.eye(k)


def test_kronecker_identities() -> None:
    A, X, B = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 5)), RNG.normal(size=(5, 2))
    # (67) row-major: vec(A X B) = (A kron B^T) vec(X)
    np.testing.assert_allclose((A @ X @ B).reshape(-1), np.kron(A, B.T) @ X.reshape(-1),
                               rtol=1e-12, atol=1e-12)
    P, Q = _spd(3), _spd(4)
    # (72) tr(P kron Q) = tr(P) tr(Q); (73) (P kron Q)^p = P^p kron Q^p
    assert np.trace(np.kron(P, Q)) == pytest.approx(np.trace(P) * np.trace(Q), rel=1e-13)
    for p in (0.25, 0.5, -0.25, -0.5):
        np.testing.assert_allclose(
            np.real(linalg.fractional_matrix_power(np.kron(P, Q), p)),
            np.kron(np.real(linalg.fractional_matrix_power(P, p)),
                    np.real(linalg.fractional_matrix_power(Q, p))), rtol=1e-9, atol=1e-10)


def test_rearrangement_and_nearest_kronecker() -> None:
    """G.1: rearrange(A kron B) = vec(A) vec(B)^T; it is an involution with the swapped
    shape parameters; the nearest Kronecker product recovers A kron B exactly."""
    A, B = RNG.normal(size=(3, 2)), RNG.normal(size=(4, 5))
    H = np.kron(A, B)
    np.testing.assert_allclose(rearrange(H, 3, 4, 2, 5), np.outer(A.reshape(-1), B.reshape(-1)),
                               rtol=1e-14)
    G = RNG.normal(size=(12, 10))
    np.testing.assert_array_equal(rearrange(rearrange(G, 3, 4, 2, 5), 3, 2, 4, 5), G)
    A2, B2 = nearest_kronecker(H, 3, 4, 2, 5)
    np.testing.assert_allclose(np.kron(A2, B2), H, rtol=1e-10, atol=1e-12)


def test_kronecker_precision_against_dense() -> None:
    R, m, n = 2, 3, 4
    L, Rm = np.stack([_spd(m) for _ in range(R)]), np.stack([_spd(n) for _ in range(R)])
    a, QL = np.linalg.eigh(L)
    b, QR = np.linalg.eigh(Rm)
    c = np.array([0.5, 2.0])
    P = KroneckerPrecision(QL, a, QR, b, c)
    dense = np.stack([c[r] * np.kron(L[r], Rm[r]) for r in range(R)])
    np.testing.assert_allclose(P.dense(np), dense, rtol=1e-12)
    x = RNG.normal(size=(R, m * n))
    np.testing.assert_allclose(P.quad(x, np), np.einsum("ri,rij,rj->r", x, dense, x), rtol=1e-12)
    np.testing.assert_allclose(P.solve(x, np), np.linalg.solve(dense, x[:, :, None])[:, :, 0],
                               rtol=1e-10)
    np.testing.assert_allclose(P.trace(0, np), np.trace(dense, axis1=1, axis2=2), rtol=1e-13)
    # the Frobenius-ball projection in the Kronecker norm against a generic solver
    from reference import reference_projection

    y = RNG.normal(size=(R, m * n)) * 3
    ours = Ball(radius=1.0).project(y, np, P)
    for r in range(R):
        np.testing.assert_allclose(ours[r], reference_projection(Ball(radius=1.0), y[r],
                                                                 dense[r]), atol=1e-10)


def test_shampoo_is_mirror_descent_with_the_explicit_kronecker_preconditioner() -> None:
    """(40) = (41): W - eta L^{-1/4} G R^{-1/4} equals w - eta (L^{1/4} kron R^{1/4})^{-1} g."""
    m, n, T = 3, 2, 20
    G = RNG.normal(size=(T, 1, m, n))
    learner = make_learner("shampoo", eta=0.3, domain=Unconstrained(), shape=(m, n))
    state = learner.init(np.zeros((1, m, n)))
    L, Rs, w = 1e-6 * np.eye(m), 1e-6 * np.eye(n), np.zeros(m * n)
    for t in range(T):
        W, state = learner.update(state, G[t])
        g = G[t, 0]
        L, Rs = L + g @ g.T, Rs + g.T @ g
        A = np.kron(np.real(linalg.fractional_matrix_power(L, 0.25)),
                    np.real(linalg.fractional_matrix_power(Rs, 0.25)))
        w = w - 0.3 * np.linalg.solve(A, g.reshape(-1))
        np.testing.assert_allclose(W[0].reshape(-1), w, rtol=1e-9, atol=1e-11)


def test_adafactor_second_moment_is_the_rank_one_nmf() -> None:
    """V_t = (row sums)(column sums)/total of the bias-corrected EMA of G^2 + eps1; with a
    fixed G it is C 1 1^T C / (1^T C 1), which equals C when C is rank one."""
    m, n = 4, 3
    u, v = RNG.uniform(0.5, 2, size=m), RNG.uniform(0.5, 2, size=n)
    G = np.sqrt(np.outer(u, v))[None]  # G^2 has rank one
    learner = make_learner("adafactor", eta=0.1, beta=0.9, eps=0.0, eps1=0.0,
                           domain=Unconstrained(), shape=(m, n))
    state = learner.init(np.zeros((1, m, n)))
    for _ in range(5):
        W_before = state.w
        W, state = learner.update(state, G)
        # V = G^2 exactly, so the step is eta sign(G) = eta
        np.testing.assert_allclose(W_before - W, 0.1 * np.ones((1, m, n)), rtol=1e-12)
    C = RNG.uniform(size=(m, n))
    V = C.sum(1)[:, None] * C.sum(0)[None, :] / C.sum()
    learner = make_learner("adafactor", eta=1.0, beta=0.5, eps=0.0, eps1=0.0,
                           domain=Unconstrained(), shape=(m, n))
    state = learner.init(np.zeros((1, m, n)))
    _, state = learner.update(state, np.sqrt(C)[None])
    np.testing.assert_allclose(state.p.reshape(m, n), np.sqrt(V), rtol=1e-12)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_adam_nmf_preserves_the_mass(rank) -> None:
    """The blockwise EM keeps sum(A_t B_t) = sum(G_t^2) after every step (erratum E20)."""
    m, n = 5, 4
    learner = make_learner("adam_nmf", eta=0.05, rank=rank, domain=Unconstrained(),
                           shape=(m, n), repetitions=(0, 1))
    state = learner.init(np.zeros((2, m, n)))
    for _ in range(40):
        G = RNG.normal(size=(2, m, n)) * RNG.uniform(0.01, 10)
        _, state = learner.update(state, G)
        np.testing.assert_allclose(np.sum(state.A @ state.B, axis=(1, 2)),
                                   np.sum(G**2, axis=(1, 2)), rtol=1e-9)


def test_adam_nmf_rank_one_is_sign_descent() -> None:
    u, v = RNG.normal(size=4), RNG.normal(size=3)
    G = np.outer(u, v)[None]
    learner = make_learner("adam_nmf", eta=0.2, rank=1, eps=0.0, domain=Unconstrained(),
                           shape=(4, 3))
    state = learner.init(np.zeros((1, 4, 3)))
    W, state = learner.update(state, G)
    np.testing.assert_allclose(W, -0.2 * np.sign(G), rtol=1e-9)


def test_inequality_42_constant_is_tight() -> None:
    """(42) needs sqrt(r): for G = [I_r 0; 0 0] the best constant is exactly sqrt(r), and
    the Shampoo runs' recorded ratio is 1 (tight) at t = 1 on rank-1 gradients."""
    m = n = 4
    for r in (1, 2, 3):
        G = np.zeros((m, n))
        G[:r, :r] = np.eye(r)
        g = G.reshape(-1)
        O_root = np.outer(g, g) / np.linalg.norm(g)  # (g g^T)^{1/2} for one gradient
        K = np.kron(np.real(linalg.fractional_matrix_power(G @ G.T + 1e-300 * np.eye(m), 0.25)),
                    np.real(linalg.fractional_matrix_power(G.T @ G + 1e-300 * np.eye(n), 0.25)))
        assert np.linalg.eigvalsh(np.sqrt(r) * K - O_root).min() >= -1e-9
        if r > 1:
            assert np.linalg.eigvalsh(np.sqrt(r - 1) * K - O_root).min() < -0.1
    result = occ.run("matrix-rank1", T=50, seeds=2)
    eq42 = result.facts[result.facts.fact == "eq42"]
    assert eq42["holds"].all()
    assert eq42[eq42.t == 1]["lhs"].to_numpy() == pytest.approx(1.0, abs=1e-12)


def test_matrix_scenarios_hold_every_bound() -> None:
    """The Shampoo bound, (42), Fact 2.1 and Lemma C.4 hold over all seeds at check size."""
    table = check_table(["matrix-rank1", "matrix-rank4"])
    assert not table["verdict"].isin(["VIOLATED", "FAILED"]).any()
    shampoo = table[table["bound"].isin(["shampoo", "shampoo_literal", "eq42"])]
    assert len(shampoo) == 6 and (shampoo["verdict"] == "ok").all()


def test_state_sizes_in_meta() -> None:
    result = occ.run("matrix-memory", T=20, seeds=1)
    sizes = {k: v["state_bytes_per_parameter"] for k, v in result.meta["learners"].items()}
    m, n = 16, 12
    assert sizes["adam"] == 16.0
    assert sizes["adafactor"] == pytest.approx(8 * (m + n) / (m * n))
    for r in (1, 2, 4):
        assert sizes[f"adam_nmf_r{r}"] == pytest.approx(8 * (m + n) * r / (m * n))
