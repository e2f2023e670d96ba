"""Rank-one updates of a symmetric eigendecomposition: ``Q' diag(lam') Q'^T = Q diag(lam) Q^T
+ g g^T`` without a new ``eigh`` (Bunch, Nielsen & Sorensen 1978; Gu & Eisenstat 1994).

In the old basis the update is ``diag(lam) + z z^T`` with ``z = Q^T g``. Deflation first
(as LAPACK's ``dlaed2``, tolerance ``tol = 8 eps max(max|lam|, max|z/||z|||)``): a
component with ``||z|| |z_j / ||z||| <= tol`` keeps its eigenpair, and of two eigenvalues
with ``|(lam_j - lam_i) c s| <= tol`` (``c, s`` the Givens rotation that zeroes ``z_i``)
one is kept after the rotation. The ``k`` others are the roots of the secular equation
``1 + rho sum_i w_i^2/(delta_i - x) = 0`` with eigenvectors ``(D - x)^{-1} w``, found by
LAPACK's ``dlaed9`` (``dlaed4`` for each root, then Gu and Eisenstat's recomputed ``w``,
which keeps the vectors numerically orthogonal); the new vectors are ``Q[:, kept] S``
(``d k^2`` flops against ``eigh``'s ``~9 d^3``). Eigenvalues stay sorted ascending.

Each update is backward stable: it is the exact update of a matrix within
``UPDATE_ERROR * d * eps * ||M||_2`` of the one given (deflation at ``8 eps ||M||``, the
secular roots and the product ``Q S`` at ``gamma_d``, Higham section 3.5), so after ``k``
updates the factors are those of a matrix within ``k`` times that of ``O_t``; the caller
recomputes by ``eigh`` every ``REFRESH`` updates (:func:`backward_error` states the
bound used; tests hold the factors equal to ``eigh``'s to 1e-9 relative and the measured
residual under that bound).

Compiled with numba where it is installed and the arrays are NumPy's (repetitions in
parallel, each row independent of the others); elsewhere :func:`rank_one_update` is
``None`` and callers use ``eigh``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from occ.roundoff import EPSILON as EPS
from occ.roundoff import gamma

REFRESH = 64
"""Rank-one updates between two full eigendecompositions (``eigh`` of the accumulated
matrix), which reset the drift of the updated factors."""
UPDATE_ERROR = 4.0
"""Backward error of one update in units of ``d eps ||M||_2`` (deflation 8 eps, secular
roots and vectors ~ d eps, the product Q S gamma_d): a constant that the tests check
against the measured residual ``||Q diag(lam) Q^T - M||_F``."""

try:
    import numba
    from numba.extending import get_cython_function_address
except ImportError:  # pragma: no cover - numba is in the base install
    numba = None



def backward_error(d: int, updates: Any, top: Any) -> Any:
    """``||M_exact - Q diag(lam) Q^T||_2`` bound after ``updates`` rank-one updates since the
    last ``eigh`` (``updates = 0``: ``eigh``'s own ``gamma_d d ||M||``)."""
    return (gamma(d) * d + updates * UPDATE_ERROR * d * EPS) * top


rank_one_update = None

if numba is not None:
    import llvmlite.binding

    # LAPACK's dlaed9 from SciPy's Cython bindings, bound by symbol name (not as a ctypes
    # global) so that the compiled functions can be cached on disk
    llvmlite.binding.add_symbol(
        "occ_lapack_dlaed9", get_cython_function_address("scipy.linalg.cython_lapack", "dlaed9"))
    _dlaed9 = numba.types.ExternalFunction(
        "occ_lapack_dlaed9", numba.types.void(*([numba.types.voidptr] * 13)))

    @numba.njit(cache=True)
    def _update_one(Q: np.ndarray, lam: np.ndarray, g: np.ndarray, Q_out: np.ndarray,
                    lam_out: np.ndarray) -> int:  # pragma: no cover - compiled
        d = lam.shape[0]
        z = Q.T @ g
        rho = 0.0
        for i in range(d):
            rho += z[i] * z[i]
        if rho == 0.0:
            Q_out[:, :] = Q
            lam_out[:] = lam
            return 0
        norm = np.sqrt(rho)
        z = z / norm
        D = lam.copy()
        V = Q.copy()
        top_lam, top_z = 0.0, 0.0
        for i in range(d):
            top_lam = max(top_lam, abs(D[i]))
            top_z = max(top_z, abs(z[i]))
        tol = 8.0 * EPS * max(top_lam, top_z)
        kept = np.empty(d, dtype=np.int64)
        deflated = np.empty(d, dtype=np.int64)
        k, m = 0, 0
        previous = -1
        for j in range(d):
            if rho * abs(z[j]) <= tol:
                deflated[m] = j
                m += 1
                continue
            if previous < 0:
                previous = j
                continue
            s, c = z[previous], z[j]
            tau = np.hypot(c, s)
            t = D[j] - D[previous]
            c, s = c / tau, -s / tau
            if abs(t * c * s) <= tol:  # rotate columns (previous, j), zero z[previous]
                z[j], z[previous] = tau, 0.0
                for r in range(d):
                    x, y = V[r, previous], V[r, j]
                    V[r, previous], V[r, j] = c * x + s * y, c * y - s * x
                low = D[previous] * c * c + D[j] * s * s
                D[j] = D[previous] * s * s + D[j] * c * c
                D[previous] = low
                deflated[m] = previous
                m += 1
            else:
                kept[k] = previous
                k += 1
            previous = j
        if previous >= 0:
            kept[k] = previous
            k += 1
        values = np.empty(d)
        vectors = np.empty((d, d))
        for i in range(m):
            values[k + i] = D[deflated[i]]
            vectors[:, k + i] = V[:, deflated[i]]
        if k > 0:
            poles = np.empty(k)
            w = np.empty(k)
            for i in range(k):
                poles[i] = D[kept[i]]
                w[i] = z[kept[i]]
            scale = 0.0
            for i in range(k):
                scale += w[i] * w[i]
            w = w / np.sqrt(scale)  # unit w, as dlaed4 assumes
            rho_k = np.empty(1)
            rho_k[0] = rho * scale
            roots = np.empty(k)
            work = np.empty((k, k))  # Fortran order is the transpose of C's: S^T below
            S = np.empty((k, k))
            ints = np.array([k, 1, k, k, k, k, 0], dtype=np.int32)
            _dlaed9(ints[0:].ctypes, ints[1:].ctypes, ints[2:].ctypes, ints[3:].ctypes,
                    roots.ctypes, work.ctypes, ints[4:].ctypes, rho_k.ctypes, poles.ctypes,
                    w.ctypes, S.ctypes, ints[5:].ctypes, ints[6:].ctypes)
            if ints[6] != 0:
                return int(ints[6])
            basis = np.empty((d, k))
            for i in range(k):
                basis[:, i] = V[:, kept[i]]
            vectors[:, :k] = basis @ S.T  # S (Fortran, column j = vector j) read as C: S^T
            values[:k] = roots
        order = np.argsort(values, kind="mergesort")
        for i in range(d):
            lam_out[i] = values[order[i]]
            Q_out[:, i] = vectors[:, order[i]]
        return 0

    @numba.njit(parallel=True, cache=True)
    def _update_rows(Q: np.ndarray, lam: np.ndarray, g: np.ndarray, Q_out: np.ndarray,
                     lam_out: np.ndarray, info: np.ndarray) -> None:  # pragma: no cover
        for r in numba.prange(Q.shape[0]):
            info[r] = _update_one(Q[r], lam[r], g[r], Q_out[r], lam_out[r])

    @numba.njit(cache=True)
    def _update_row(Q: np.ndarray, lam: np.ndarray, g: np.ndarray, Q_out: np.ndarray,
                    lam_out: np.ndarray, info: np.ndarray) -> None:  # pragma: no cover
        info[0] = _update_one(Q[0], lam[0], g[0], Q_out[0], lam_out[0])

    def rank_one_update(Q: np.ndarray, lam: np.ndarray,  # noqa: F811
                        g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(Q', lam', ok)`` with ``Q' diag(lam') Q'^T = Q diag(lam) Q^T + g g^T`` per row;
        ``Q`` (R, d, d), ``lam`` (R, d) ascending, ``g`` (R, d); ``ok`` (R,) is False where
        LAPACK's secular solver failed (that row's factors are then not usable)."""
        R, d = lam.shape
        Q_out, lam_out = np.empty((R, d, d)), np.empty((R, d))
        info = np.zeros(R, dtype=np.int64)
        rows = _update_rows if R > 1 else _update_row  # one row: no thread pool
        rows(np.ascontiguousarray(Q, dtype=np.float64),
                     np.ascontiguousarray(lam, dtype=np.float64),
                     np.ascontiguousarray(g, dtype=np.float64), Q_out, lam_out, info)
        return Q_out, lam_out, info == 0
