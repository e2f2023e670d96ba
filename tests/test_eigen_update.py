"""The shortcuts of the eigendecomposition-bound learners, each held equal to the direct
computation: rank-one eigen-updates (occ.eigen_update) against numpy.linalg.eigh, full
AdaGrad's kept decomposition against a plain per-repetition loop, the recorder's shared
Fact 2.1 against its own decomposition, eigvalsh against eigh."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import occ
from occ import eigen_update
from occ.domains import Ball
from occ.eigen_update import REFRESH, backward_error, rank_one_update
from occ.regularizers import FullPrecision, KroneckerPrecision, safe_eigh, safe_eigvalsh

RELATIVE = 1e-9
needs_numba = pytest.mark.skipif(rank_one_update is None, reason="numba is not installed")


def updates_against_eigh(start: np.ndarray, gradients: np.ndarray) -> None:
    """Update (Q, lam) by every g g^T; after each, the eigenvalues and the matrix
    Q diag(lam) Q^T equal eigh's of the accumulated sum (1e-9 relative), Q stays orthogonal
    and the residual is within backward_error."""
    R, d, _ = start.shape
    lam, Q = np.linalg.eigh(start)
    M = start.copy()
    for k, g in enumerate(gradients, start=1):
        M = M + g[:, :, None] * g[:, None, :]
        Q, lam, ok = rank_one_update(Q, lam, g)
        assert ok.all()
        assert np.all(np.diff(lam, axis=-1) >= 0)  # ascending, as eigh's
        exact = np.linalg.eigvalsh(M)
        top = np.max(np.abs(exact), axis=-1)
        assert np.all(np.max(np.abs(lam - exact), axis=-1) <= RELATIVE * top + 1e-300)
        formed = (Q * lam[:, None, :]) @ Q.transpose(0, 2, 1)
        residual = np.linalg.norm(formed - M, ord=2, axis=(1, 2))
        assert np.all(residual <= backward_error(d, k, top) + 1e-300)
        assert np.max(np.abs(Q.transpose(0, 2, 1) @ Q - np.eye(d))) <= 1e-12


@needs_numba
@pytest.mark.parametrize("d", [1, 2, 7, 30])
def test_rank_one_updates_equal_eigh(d: int) -> None:
    rng = np.random.default_rng(d)
    R = 3
    start = np.zeros((R, d, d)) + 1e-8 * np.eye(d)  # a cluster of d equal eigenvalues
    updates_against_eigh(start, rng.standard_normal((2 * d + 5, R, d)) / np.sqrt(d))


@needs_numba
def test_rank_one_deflation_cases() -> None:
    """Zero gradients, gradients along one eigenvector (z sparse), repeated gradients
    (equal eigenvalues), a zero start (eps0 = 0) and widely spread scales."""
    rng = np.random.default_rng(5)
    d, R = 6, 2
    e = np.eye(d)
    g = [np.zeros((R, d)), np.stack([e[2], e[2]]), np.stack([e[2], 3 * e[4]]),
         np.stack([e[1] + e[2], e[1] + e[2]]), np.stack([e[1] + e[2], e[1] + e[2]]),
         1e-9 * rng.standard_normal((R, d)), 1e6 * rng.standard_normal((R, d))]
    g += list(rng.standard_normal((10, R, d)))
    updates_against_eigh(np.zeros((R, d, d)), np.array(g))
    updates_against_eigh(np.zeros((R, d, d)) + np.diag(np.arange(1.0, d + 1)), np.array(g))


@needs_numba
def test_rows_do_not_depend_on_the_batch() -> None:
    rng = np.random.default_rng(2)
    d = 9
    M = rng.standard_normal((4, d, d))
    lam, Q = np.linalg.eigh(M @ M.transpose(0, 2, 1))
    g = rng.standard_normal((4, d))
    Q_all, lam_all, _ = rank_one_update(Q, lam, g)
    Q_one, lam_one, _ = rank_one_update(Q[2:3], lam[2:3], g[2:3])
    assert np.array_equal(Q_all[2], Q_one[0]) and np.array_equal(lam_all[2], lam_one[0])


def plain_full_adagrad(g: np.ndarray, eps0: float, eta: float) -> np.ndarray:
    """(36) written plainly, one repetition, eigh every step, unit-ball A_t-norm projection
    by bisection on the multiplier: the iterates w_1..w_{T+1}."""
    T, d = g.shape
    O = eps0 * np.eye(d)
    w = np.zeros(d)
    out = [w]
    for t in range(T):
        O = O + np.outer(g[t], g[t])
        lam, Q = np.linalg.eigh(O)
        a = np.sqrt(np.maximum(lam, eps0)) / eta
        y = Q.T @ (w - Q @ ((Q.T @ g[t]) / a))
        if np.linalg.norm(y) > 1.0:  # argmin_{||v|| <= 1} sum a_i (v_i - y_i)^2
            low, high = 0.0, np.max(a) * (np.linalg.norm(y) + 1.0)
            for _ in range(200):
                mu = (low + high) / 2
                if np.linalg.norm(a * y / (a + mu)) > 1.0:
                    low = mu
                else:
                    high = mu
            y = a * y / (a + (low + high) / 2)
        w = Q @ y
        out.append(w)
    return np.array(out)


@needs_numba
def test_full_adagrad_with_updates_equals_the_plain_loop() -> None:
    """More than two refresh intervals, three repetitions, the ball binding often."""
    rng = np.random.default_rng(3)
    R, d, T = 3, 5, 2 * REFRESH + 9
    g = rng.standard_normal((T, R, d))
    learner = occ.make_learner("adagrad_full", domain=Ball(radius=1.0))
    state = learner.init(np.zeros((R, d)))
    updates = []
    iterates = [state.w]
    for t in range(T):
        _, state = learner.update(state, g[t])
        iterates.append(state.w)
        updates.append(state.updates)
    assert max(updates) == REFRESH - 1 and updates.count(0) == 3  # steps 1, 65, 129
    iterates = np.array(iterates)
    for r in range(R):
        plain = plain_full_adagrad(g[:, r], learner.eps0, learner.step_size(d))
        assert np.max(np.abs(iterates[:, r] - plain)) <= 1e-9 * np.max(np.abs(plain))
    # the kept decomposition is O_t's
    lam, _ = np.linalg.eigh(state.O)
    assert np.max(np.abs(state.eig - lam)) <= RELATIVE * np.max(lam)


@needs_numba
def test_full_adagrad_without_numba_path_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """eigh every step (the path of other namespaces) against the updated factors."""
    rng = np.random.default_rng(4)
    R, d, T = 2, 6, 80
    g = rng.standard_normal((T, R, d))
    learner = occ.make_learner("adagrad_full", domain=Ball(radius=1.0))

    def run() -> np.ndarray:
        state = learner.init(np.zeros((R, d)))
        for t in range(T):
            _, state = learner.update(state, g[t])
        return state.w, state.lam, state.error

    w, lam, error = run()
    monkeypatch.setattr("occ.eigen_update.rank_one_update", None)
    w_direct, lam_direct, error_direct = run()
    assert np.max(np.abs(w - w_direct)) <= RELATIVE
    assert np.max(np.abs(lam - lam_direct)) <= RELATIVE * np.max(lam_direct)
    assert np.all(error >= error_direct)  # updates widen the round-off bound, never narrow it


def test_recorder_fact21_shared_equals_its_own_decomposition() -> None:
    """fact21_matrix and the full bound ingredients from the learner's decomposition equal
    those of a run where the precision does not offer it (the recorder's own eigh)."""
    from occ.scenarios import parse_scenario

    sc = parse_scenario({"d": 6, "T": 90, "seeds": 2, "checkpoints": 5,
                         "domain": {"kind": "ball", "radius": 1.0},
                         "adversary": {"kind": "linear_gaussian", "mean": 0.3},
                         "learners": {"full": {"kind": "adagrad_full"}}}, "<t>", "t")
    shared = occ.run(sc).metrics
    assert occ.make_learner("adagrad_full", domain=Ball()).geometry(
        occ.make_learner("adagrad_full", domain=Ball()).update(
            occ.make_learner("adagrad_full", domain=Ball()).init(np.zeros((1, 3))),
            np.ones((1, 3)))[1]).outer is not None  # the shared path is the one taken
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("occ.learners.adagrad.AdagradFull.geometry",
                      lambda self, state: FullPrecision(state.Q, state.lam, state.error))
        own = occ.run(sc).metrics
    numeric = [c for c in shared.columns if shared[c].dtype.kind == "f"]
    assert numeric
    a, b = shared[numeric].to_numpy(), own[numeric].to_numpy()
    scale = np.maximum(np.abs(b), 1.0)
    assert np.all((np.abs(a - b) <= RELATIVE * scale) | (np.isnan(a) & np.isnan(b)))


def test_eigvalsh_equals_eigh_and_marks_bad_rows() -> None:
    rng = np.random.default_rng(6)
    M = rng.standard_normal((3, 8, 8))
    M = M + M.transpose(0, 2, 1)
    M[1, 0, 0] = np.nan
    values = safe_eigvalsh(M, np)
    lam, _ = safe_eigh(M, np)
    assert np.isnan(values[1]).all() and np.isnan(lam[1]).all()
    good = [0, 2]
    assert np.max(np.abs(values[good] - lam[good])) <= RELATIVE * np.max(np.abs(lam[good]))


def test_kronecker_factor_norms_without_decomposition() -> None:
    """Above MAX_DENSE_KRONECKER the factor-wise Gamma uses ||c L^p|| = c max a and
    ||R^p|| = max b: equal to the eigenvalues of the formed factors."""
    rng = np.random.default_rng(7)

    def factors(m: int) -> tuple[np.ndarray, np.ndarray]:
        X = rng.standard_normal((2, m, m))
        lam, Q = np.linalg.eigh(X @ X.transpose(0, 2, 1) + np.eye(m))
        return Q, lam ** 0.25

    QL, a = factors(9)
    QR, b = factors(8)
    P = KroneckerPrecision(QL, a, QR, b, np.array([0.5, 2.0]))
    left, right = P.factors(np)
    assert np.allclose(P.c * a.max(axis=-1), np.abs(np.linalg.eigvalsh(left)).max(axis=-1),
                       rtol=RELATIVE, atol=0)
    assert np.allclose(b.max(axis=-1), np.abs(np.linalg.eigvalsh(right)).max(axis=-1),
                       rtol=RELATIVE, atol=0)


def test_refresh_interval_is_documented() -> None:
    assert REFRESH >= 2
    assert "REFRESH" in (eigen_update.__doc__ or "")


def test_single_threaded_blas_restores_the_counts() -> None:
    from occ.blas_threads import single_threaded, thread_counts

    before = thread_counts()
    with single_threaded():
        assert all(count == 1 for count in thread_counts())
    assert thread_counts() == before
    with single_threaded(active=False):
        assert thread_counts() == before


def test_blas_threads_do_not_change_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full-matrix AdaGrad run (one BLAS thread, as the harness sets) gives the same
    table, bit for bit, as with the library's default thread count."""
    import contextlib

    from occ.scenarios import parse_scenario

    sc = parse_scenario({"d": 40, "T": 40, "seeds": 2, "checkpoints": 4,
                         "domain": {"kind": "ball", "radius": 1.0},
                         "adversary": {"kind": "linear_gaussian", "mean": 0.2},
                         "learners": {"full": {"kind": "adagrad_full"}}}, "<t>", "t")
    one = occ.run(sc).metrics
    monkeypatch.setattr("occ.harness.single_threaded",
                        lambda active=True: contextlib.nullcontext())
    default = occ.run(sc).metrics
    pd.testing.assert_frame_equal(one, default, check_exact=True)
