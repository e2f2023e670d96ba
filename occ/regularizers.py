"""Bregman generators of the A-weighted Euclidean family, psi_t(x) = 1/2 ||x||^2_{A_t} (52).

A mirror-descent learner of this family takes the step ``w~ = w_t - eta_t A_t^{-1} g_t``
and projects in the ``A_t``-norm. Every quantity that the bounds (8)-(20) need depends on
``(A_t, eta_t)`` only through the *precision* ``P_t = A_t / eta_t``:

* step: ``w~ = w_t - P_t^{-1} g_t``;
* (8) per step: ``(||u - w_t||^2_{P_t} - ||u - w_{t+1}||^2_{P_t}) / 2 + g_t^T P_t^{-1} g_t / 2``;
* (10) per step: ``(||w_t - u||^2_{P_t} - ||w_t - u||^2_{P_{t-1}}) / 2`` with ``P_0 = 0``;
* (13)/(18): ``D^2 tr(A_T)/(2 eta_T) = D^2 tr(P_T) / 2``;
* monotone means ``Gamma_t = P_t - P_{t-1} >= 0``.

So a learner reports its geometry as a precision object. A zero precision entry means an
infinite step size on a coordinate whose gradients have all been zero; the step there is 0
and so is its contribution to the dual norm (THEORY.md section 0, "Positive definiteness").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from occ.roundoff import EPSILON, gamma


def _expand(p: Any, ndim: int, xp: ModuleType) -> Any:
    """Reshape a per-row array (R,) so that it broadcasts against (R, ..., d) sums."""
    return xp.reshape(p, (p.shape[0],) + (1,) * (ndim - 2))


@dataclass(frozen=True)
class ScalarPrecision:
    """``P_t = p_t I`` (OGD, AdaGrad-norm: ``A = I``, ``p = 1/eta_t``); ``p`` has shape (R,)."""

    p: Any
    kind = "scalar"

    def solve(self, g: Any, xp: ModuleType) -> Any:
        """``P^{-1} g`` (zero where ``p = 0``)."""
        safe = xp.where(self.p > 0, self.p, 1.0)
        return xp.where(self.p[:, None] > 0, g / safe[:, None], 0.0)

    def quad(self, x: Any, xp: ModuleType) -> Any:
        """``x^T P x`` over the last axis of x, shape (R, ..., d) -> (R, ...)."""
        return _expand(self.p, x.ndim, xp) * xp.sum(x * x, axis=-1)

    def dual_quad(self, g: Any, xp: ModuleType) -> Any:
        """``g^T P^{-1} g`` for g of shape (R, d); zero where ``p = 0``."""
        safe = xp.where(self.p > 0, self.p, 1.0)
        return xp.where(self.p > 0, xp.sum(g * g, axis=-1) / safe, 0.0)

    def trace(self, d: int, xp: ModuleType) -> Any:
        return self.p * d

    def largest(self, xp: ModuleType) -> Any:
        """``lambda_max(P)`` per row."""
        return self.p

    def gamma_extremes(
        self, previous: ScalarPrecision | None, xp: ModuleType
    ) -> tuple[Any, Any, Any]:
        """Min and max-abs eigenvalue of ``P_t - P_{t-1}``, relative to ``||P_t||_2``, and the
        round-off of that minimum (0: the entries are compared exactly)."""
        before = 0.0 if previous is None else previous.p
        scale = xp.where(self.p > 0, self.p, 1.0)
        diff = (self.p - before) / scale
        return diff, xp.abs(diff), xp.zeros_like(diff)


@dataclass(frozen=True)
class DiagonalPrecision:
    """``P_t = diag(p_t)``, ``p`` of shape (R, d) (diagonal AdaGrad, RMSProp, beta1 = 0 Adam)."""

    p: Any
    kind = "diagonal"

    def solve(self, g: Any, xp: ModuleType) -> Any:
        safe = xp.where(self.p > 0, self.p, 1.0)
        return xp.where(self.p > 0, g / safe, 0.0)

    def quad(self, x: Any, xp: ModuleType) -> Any:
        if x.ndim == 2:
            return xp.sum(self.p * x * x, axis=-1)
        p = xp.reshape(self.p, (self.p.shape[0],) + (1,) * (x.ndim - 2) + (self.p.shape[-1],))
        return xp.sum(p * x * x, axis=-1)

    def dual_quad(self, g: Any, xp: ModuleType) -> Any:
        safe = xp.where(self.p > 0, self.p, 1.0)
        return xp.sum(xp.where(self.p > 0, g * g / safe, 0.0), axis=-1)

    def trace(self, d: int, xp: ModuleType) -> Any:
        return xp.sum(self.p, axis=-1)

    def largest(self, xp: ModuleType) -> Any:
        return xp.max(self.p, axis=-1)

    def gamma_extremes(
        self, previous: DiagonalPrecision | None, xp: ModuleType
    ) -> tuple[Any, Any, Any]:
        before = 0.0 if previous is None else previous.p
        diff = self.p - before
        scale = xp.max(xp.abs(self.p), axis=-1)
        scale = xp.where(scale > 0, scale, 1.0)
        low = xp.min(diff, axis=-1) / scale
        return low, xp.max(xp.abs(diff), axis=-1) / scale, xp.zeros_like(low)


@dataclass(frozen=True)
class FullPrecision:
    """``P_t = Q diag(lam) Q^T`` from an eigendecomposition; ``Q`` (R, d, d), ``lam`` (R, d);
    ``error`` (R,), where known, bounds ``||P - P_exact||_2`` from the decomposition's
    round-off (:func:`decompose`).

    Zero eigenvalues act as a pseudo-inverse: ``P^{-1} g`` and ``g^T P^{-1} g`` drop the
    null directions (full-matrix AdaGrad's gradients lie in the range of ``O_t``).

    ``outer`` (R, d), where the learner knows it, holds the eigenvalues of
    ``O_t = sum_{s<=t} g_s g_s^T`` in the same basis ``Q`` (full-matrix AdaGrad's ``A_t`` is a
    function of ``O_t``): the recorder's Fact 2.1 then reuses this decomposition instead of
    computing its own (one eigendecomposition per step, shared).
    """

    Q: Any
    lam: Any
    error: Any = None
    outer: Any = None
    kind = "full"
    _dense: dict = field(default_factory=dict, compare=False, repr=False)

    def rotate(self, x: Any, xp: ModuleType) -> Any:
        """Coordinates of x in the eigenbasis, ``Q^T x``, for x of shape (R, ..., d)."""
        if x.ndim == 2:
            return xp.squeeze(x[:, None, :] @ self.Q, axis=1)
        return x @ self.Q

    def unrotate(self, y: Any, xp: ModuleType) -> Any:
        """``Q y`` for y of shape (R, d)."""
        return xp.squeeze(y[:, None, :] @ xp.matrix_transpose(self.Q), axis=1)

    def solve(self, g: Any, xp: ModuleType) -> Any:
        y = self.rotate(g, xp)
        safe = xp.where(self.lam > 0, self.lam, 1.0)
        return self.unrotate(xp.where(self.lam > 0, y / safe, 0.0), xp)

    def quad(self, x: Any, xp: ModuleType) -> Any:
        y = self.rotate(x, xp)
        lam = self.lam if x.ndim == 2 else xp.reshape(
            self.lam, (self.lam.shape[0],) + (1,) * (x.ndim - 2) + (self.lam.shape[-1],))
        return xp.sum(lam * y * y, axis=-1)

    def dual_quad(self, g: Any, xp: ModuleType) -> Any:
        y = self.rotate(g, xp)
        safe = xp.where(self.lam > 0, self.lam, 1.0)
        return xp.sum(xp.where(self.lam > 0, y * y / safe, 0.0), axis=-1)

    def trace(self, d: int, xp: ModuleType) -> Any:
        return xp.sum(self.lam, axis=-1)

    def largest(self, xp: ModuleType) -> Any:
        return xp.max(self.lam, axis=-1)

    def dense(self, xp: ModuleType) -> Any:
        """``P`` as an (R, d, d) matrix (formed once per precision: ``Gamma_t`` uses it as
        ``P_t`` at step t and as ``P_{t-1}`` at step t + 1)."""
        if "P" not in self._dense:
            self._dense["P"] = (self.Q * self.lam[:, None, :]) @ xp.matrix_transpose(self.Q)
        return self._dense["P"]

    def roundoff(self, xp: ModuleType) -> Any:
        """A bound on ``||dense(P) - P_exact||_2``: the decomposition's error and that of
        forming ``Q diag(lam) Q^T`` (``gamma_d ||P||`` per entry, d of them per row)."""
        d = self.lam.shape[-1]
        formed = gamma(2 * d) * d * xp.max(xp.abs(self.lam), axis=-1)
        return formed if self.error is None else formed + self.error

    def gamma_extremes(self, previous: FullPrecision | None,
                       xp: ModuleType) -> tuple[Any, Any, Any]:
        diff = self.dense(xp)
        tolerance = self.roundoff(xp)
        if previous is not None:
            diff = diff - previous.dense(xp)
            tolerance = tolerance + previous.roundoff(xp)
        eigenvalues = safe_eigvalsh(diff, xp)
        scale = xp.max(xp.abs(self.lam), axis=-1)
        scale = xp.where(scale > 0, scale, 1.0)
        d = diff.shape[-1]  # eigvalsh's own backward error on the difference
        tolerance = tolerance + gamma(d) * d * xp.max(xp.abs(eigenvalues), axis=-1)
        return (xp.min(eigenvalues, axis=-1) / scale,
                xp.max(xp.abs(eigenvalues), axis=-1) / scale, tolerance / scale)


def safe_eigh(matrix: Any, xp: ModuleType) -> tuple[Any, Any]:
    """``eigh`` of a batch of symmetric matrices where a row that cannot be decomposed (a
    non-finite entry, or LAPACK's non-convergence) gives NaN eigenvalues and vectors in
    that row alone: the repetition is then marked diverged, and the others go on."""
    return _safe_decomposition(matrix, xp, vectors=True)


def safe_eigvalsh(matrix: Any, xp: ModuleType) -> Any:
    """The eigenvalues of :func:`safe_eigh` (NaN in a row that cannot be decomposed), by
    ``eigvalsh``: no eigenvectors are formed (LAPACK's ``syevd`` with ``jobz = 'N'``,
    about half the work of ``eigh``; the same eigenvalues to ``eigh``'s own round-off)."""
    return _safe_decomposition(matrix, xp, vectors=False)[0]


def _safe_decomposition(matrix: Any, xp: ModuleType, vectors: bool) -> tuple[Any, Any]:
    d = matrix.shape[-1]
    eye = xp.eye(d, dtype=matrix.dtype)
    finite = xp.all(xp.isfinite(xp.reshape(matrix, (matrix.shape[0], d * d))), axis=-1)
    clean = xp.where(finite[:, None, None], matrix, eye)

    def one(m: Any) -> tuple[Any, Any]:
        return xp.linalg.eigh(m) if vectors else (xp.linalg.eigvalsh(m), None)

    try:
        lam, Q = one(clean)
    except np.linalg.LinAlgError:  # non-convergence somewhere: row by row
        lams, Qs, ok = [], [], []
        for r in range(matrix.shape[0]):
            try:
                lam_r, Q_r = one(clean[r])
                ok.append(True)
            except np.linalg.LinAlgError:
                lam_r, Q_r = xp.ones((d,), dtype=matrix.dtype), eye
                ok.append(False)
            lams.append(lam_r)
            Qs.append(Q_r)
        lam, Q = xp.stack(lams), (xp.stack(Qs) if vectors else None)
        finite = finite & xp.asarray(ok)
    nan = float("nan")
    return (xp.where(finite[:, None], lam, nan),
            xp.where(finite[:, None, None], Q, nan) if vectors else None)


def decompose(matrix: Any, power: float, floor: float, xp: ModuleType) -> tuple[Any, Any, Any]:
    """Eigen-factors of ``M^power`` for a batch of symmetric PSD matrices (R, d, d), with a
    bound on their round-off.

    ``M = Q diag(lam) Q^T`` by ``eigh``. With ``floor > 0`` eigenvalues are floored at it
    (round-off can make a PSD matrix's smallest eigenvalues slightly negative). With
    ``floor = 0`` eigenvalues at or below ``d * 2.2e-16 * lam_max`` (round-off of an exact
    zero, as in numpy.linalg.pinv's rcond) are zero, and ``0 ** power`` is read as 0: a
    pseudo-inverse for negative powers. Returns ``(Q, lam ** power, error)``: ``error`` (R,)
    bounds ``|f(lam_i) - f(lam_i exact)|`` for ``f(x) = max(x, floor)^power`` over the
    eigenvalues, whose backward error is ``delta = gamma_d d ||M||_2`` (``eigh`` is
    backward stable; Higham section 20); NaN in a row that could not be decomposed.
    """
    lam, Q = safe_eigh(matrix, xp)
    values, error = eigen_power(lam, power, floor, xp)
    return Q, values, error


def eigen_power(lam: Any, power: float, floor: float, xp: ModuleType,
                updates: int = 0) -> tuple[Any, Any]:
    """``(f(lam), error)`` of :func:`decompose` for eigenvalues ``lam`` (R, d) that are
    already known (computed by ``eigh``, or kept by a learner's own decomposition); with
    ``updates`` rank-one updates since the last ``eigh``, the backward error ``delta`` is
    :func:`occ.eigen_update.backward_error`'s."""
    d = lam.shape[-1]
    top = xp.max(xp.abs(lam), axis=-1)
    from occ.eigen_update import backward_error  # numba and LAPACK: only where used

    delta = backward_error(d, updates, top)[:, None]

    def f(x: Any) -> Any:
        if floor > 0:
            x = xp.maximum(x, floor)
        else:
            cutoff = d * EPSILON * top
            x = xp.where(x > cutoff[:, None], x, 0.0)
        positive = x > 0
        return xp.where(positive, xp.where(positive, x, 1.0) ** power, 0.0)

    values = f(lam)
    error = xp.max(xp.abs(f(lam + delta) - f(lam - delta)), axis=-1)
    return values, error


def inverse_root(matrix: Any, power: float, floor: float, xp: ModuleType) -> tuple[Any, Any]:
    """``(Q, lam ** power)`` of :func:`decompose`, without the error bound."""
    Q, values, _ = decompose(matrix, power, floor, xp)
    return Q, values


MAX_DENSE_KRONECKER = 64
"""Up to this m n the monotonicity of a Kronecker precision is measured exactly (dense
eigenvalues of Gamma_t); above it, by the sufficient factor-wise condition."""


@dataclass(frozen=True)
class KroneckerPrecision:
    """``P = c (Q_L diag(a) Q_L^T) kron (Q_R diag(b) Q_R^T)`` on row-major ``vec(W)``
    (Shampoo's ``A_t/eta = L_t^{1/4} kron R_t^{1/4} / eta``, (41)); arrays (R, m, m), (R, m),
    (R, n, n), (R, n) and ``c`` (R,). Vectors have shape (R, ..., m n). Its eigenbasis is
    ``Q_L kron Q_R`` with eigenvalues ``c a_i b_j``, and ``(Q_L kron Q_R)^T vec(X) =
    vec(Q_L^T X Q_R)`` (67): nothing of size (m n)^2 is formed. ``a_error``, ``b_error``
    (R,), where known, bound the factors' round-off (:func:`decompose`)."""

    QL: Any
    a: Any
    QR: Any
    b: Any
    c: Any
    a_error: Any = None
    b_error: Any = None
    kind = "kronecker"

    @property
    def shape(self) -> tuple[int, int]:
        return self.a.shape[-1], self.b.shape[-1]

    def _matrices(self, x: Any, xp: ModuleType) -> Any:
        m, n = self.shape
        return xp.reshape(x, x.shape[:-1] + (m, n))

    def _factor(self, Q: Any, extra: int) -> Any:
        return Q if extra == 0 else Q[(slice(None),) + (None,) * extra]

    def rotate(self, x: Any, xp: ModuleType) -> Any:
        X = self._matrices(x, xp)
        extra = x.ndim - 2
        QL, QR = self._factor(self.QL, extra), self._factor(self.QR, extra)
        Y = xp.matrix_transpose(QL) @ X @ QR
        return xp.reshape(Y, x.shape)

    def unrotate(self, y: Any, xp: ModuleType) -> Any:
        Y = self._matrices(y, xp)
        X = self.QL @ Y @ xp.matrix_transpose(self.QR)
        return xp.reshape(X, y.shape)

    def _lam(self, xp: ModuleType) -> Any:
        grid = self.c[:, None, None] * self.a[:, :, None] * self.b[:, None, :]
        return xp.reshape(grid, (grid.shape[0], grid.shape[1] * grid.shape[2]))

    def solve(self, g: Any, xp: ModuleType) -> Any:
        lam = self._lam(xp)
        y = self.rotate(g, xp)
        safe = xp.where(lam > 0, lam, 1.0)
        return self.unrotate(xp.where(lam > 0, y / safe, 0.0), xp)

    def quad(self, x: Any, xp: ModuleType) -> Any:
        y = self.rotate(x, xp)
        lam = self._lam(xp)
        if x.ndim > 2:
            lam = xp.reshape(lam, (lam.shape[0],) + (1,) * (x.ndim - 2) + (lam.shape[-1],))
        return xp.sum(lam * y * y, axis=-1)

    def dual_quad(self, g: Any, xp: ModuleType) -> Any:
        lam = self._lam(xp)
        y = self.rotate(g, xp)
        safe = xp.where(lam > 0, lam, 1.0)
        return xp.sum(xp.where(lam > 0, y * y / safe, 0.0), axis=-1)

    def trace(self, d: int, xp: ModuleType) -> Any:
        """(72): ``tr(A kron B) = tr(A) tr(B)``."""
        return self.c * xp.sum(self.a, axis=-1) * xp.sum(self.b, axis=-1)

    def largest(self, xp: ModuleType) -> Any:
        return self.c * xp.max(self.a, axis=-1) * xp.max(self.b, axis=-1)

    def roundoff(self, xp: ModuleType) -> Any:
        """A bound on ``||dense(P) - P_exact||_2``: the factors' decomposition errors
        (``c (e_a max b + max a e_b + e_a e_b)``) and forming the dense product."""
        m, n = self.shape
        top_a, top_b = xp.max(xp.abs(self.a), axis=-1), xp.max(xp.abs(self.b), axis=-1)
        formed = gamma(2 * (m + n)) * (m + n) * top_a * top_b
        if self.a_error is not None:
            ea, eb = self.a_error, self.b_error
            formed = formed + ea * top_b + top_a * eb + ea * eb
        return self.c * formed

    def factors(self, xp: ModuleType) -> tuple[Any, Any]:
        """The dense factors ``c Q_L diag(a) Q_L^T`` and ``Q_R diag(b) Q_R^T``."""
        left = (self.QL * self.a[:, None, :]) @ xp.matrix_transpose(self.QL)
        right = (self.QR * self.b[:, None, :]) @ xp.matrix_transpose(self.QR)
        return left * self.c[:, None, None], right

    def dense(self, xp: ModuleType) -> Any:
        """``P`` as an (R, m n, m n) matrix (row-major Kronecker product), for small m n."""
        left, right = self.factors(xp)
        m, n = self.shape
        K = left[:, :, None, :, None] * right[:, None, :, None, :]
        return xp.reshape(K, (K.shape[0], m * n, m * n))

    def gamma_extremes(self, previous: KroneckerPrecision | None,
                       xp: ModuleType) -> tuple[Any, Any, Any]:
        """Exact (dense eigenvalues of ``P_t - P_{t-1}``) for ``m n <= MAX_DENSE_KRONECKER``,
        with the round-off of both precisions. Above, the sufficient condition of (75):
        both factor differences PSD (with the scale folded into the left factor), each
        within its own round-off; it may call a monotone sequence non-monotone, never the
        reverse."""
        m, n = self.shape
        scale = xp.max(self._lam(xp), axis=-1)
        scale = xp.where(scale > 0, scale, 1.0)
        if m * n <= MAX_DENSE_KRONECKER:
            diff = self.dense(xp) - (0.0 if previous is None else previous.dense(xp))
            tolerance = self.roundoff(xp) + (0.0 if previous is None
                                             else previous.roundoff(xp))
            eigenvalues = safe_eigvalsh(diff, xp)
            tolerance = tolerance + gamma(m * n) * m * n * xp.max(xp.abs(eigenvalues), axis=-1)
            return (xp.min(eigenvalues, axis=-1) / scale,
                    xp.max(xp.abs(eigenvalues), axis=-1) / scale, tolerance / scale)
        left, right = self.factors(xp)
        if previous is None:
            low = xp.zeros_like(scale)
            return low, low, low
        old_left, old_right = previous.factors(xp)
        dl = safe_eigvalsh(left - old_left, xp)
        dr = safe_eigvalsh(right - old_right, xp)
        # ||left||_2, ||right||_2: the factors' own eigenvalues c a and b (no decomposition;
        # the eigenvalues of the formed products differ by their round-off alone)
        top_l = self.c * xp.max(xp.abs(self.a), axis=-1)
        top_r = xp.max(xp.abs(self.b), axis=-1)
        low = xp.minimum(xp.min(dl, axis=-1) / top_l, xp.min(dr, axis=-1) / top_r)
        change = xp.maximum(xp.max(xp.abs(dl), axis=-1) / top_l,
                            xp.max(xp.abs(dr), axis=-1) / top_r)
        # relative round-off of each factor and of its difference
        own = (self.roundoff(xp) + previous.roundoff(xp)) / scale
        return low, change, own + gamma(m + n) * (m + n) * 2


Precision = ScalarPrecision | DiagonalPrecision | FullPrecision | KroneckerPrecision
