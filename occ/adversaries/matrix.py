"""Adversaries on matrix parameters W (m x n), held as row-major vec(W) of length m n.

* ``matrix_linear``: ``l_t(W) = <G_t, W>`` with ``G_t = mean M_0 + (1/sqrt(r)) sum_{k<=r}
  u_k v_k^T`` (u_k ~ N(0, I_m), v_k ~ N(0, I_n)): rank at most r (+1 with a mean);
  ``M_0 = 1_m 1_n^T / sqrt(m n)``. Linear losses: the comparator on a Frobenius ball is
  ``-rho sum G_t / ||sum G_t||_F``.
* ``matrix_least_squares``: ``l_t(W) = ||W X_t - Y_t||_F^2 / 2`` with ``X_t`` (n x k)
  Gaussian and ``Y_t = W* X_t + noise`` for a planted ``W*``; the comparator is the
  (I kron M)-norm projection of ``C M^+`` onto V, from the running sums
  ``M = sum X X^T``, ``C = sum Y X^T``, ``c = sum ||Y||_F^2`` (row-major vec:
  ``tr(W M W^T) = vec(W)^T (I_m kron M) vec(W)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import LinearLoss, stack_streams
from occ.errors import ParameterError
from occ.params import Integer, Real, param, validate
from occ.regularizers import KroneckerPrecision, inverse_root


def _shape(shape: Any) -> tuple[int, int]:
    if shape is None:
        raise ParameterError("shape", "matrix adversaries need the scenario's shape = [m, n]")
    return int(shape[0]), int(shape[1])


@dataclass(frozen=True)
class MatrixLinear:
    """Linear losses with rank-r gradient matrices (see the module docstring)."""

    rank: int = param(1, Integer(low=1), "r: G_t is a sum of r random outer products")
    mean: float = param(0.3, Real(per_row=False), "weight of the fixed mean matrix M_0")
    shape: Any = dataclasses.field(default=None, compare=False)
    name = "matrix_linear"
    oblivious = True
    streams = ("left", "right")

    def __post_init__(self) -> None:
        validate(self)

    def loss_family(self, d: int) -> LinearLoss:
        m, n = _shape(self.shape)
        if m * n != d:
            raise ParameterError("shape", f"m n = {m * n} must equal d = {d}")
        return LinearLoss()

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        m, n = _shape(self.shape)
        steps, S, r = t1 - t0, len(rngs), self.rank
        u = stack_streams(rngs, "left", "standard_normal", steps, m * r).reshape(steps, S, m, r)
        v = stack_streams(rngs, "right", "standard_normal", steps, n * r).reshape(steps, S, r, n)
        G = (u @ v) / np.sqrt(r) + self.mean / np.sqrt(m * n)
        return G.reshape(steps, S, m * n)

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data


@dataclass(frozen=True)
class MatrixLeastSquaresLoss:
    """``||W X - Y||_F^2 / 2``; parameters ``[vec(X) (n k), vec(Y) (m k)]`` per row."""

    m: int
    n: int
    k: int
    name = "matrix_least_squares"

    def _split(self, params: Any, xp: ModuleType) -> tuple[Any, Any]:
        R = params.shape[0]
        X = xp.reshape(params[:, : self.n * self.k], (R, self.n, self.k))
        Y = xp.reshape(params[:, self.n * self.k:], (R, self.m, self.k))
        return X, Y

    def _residual(self, params: Any, w: Any, xp: ModuleType) -> tuple[Any, Any]:
        X, Y = self._split(params, xp)
        W = xp.reshape(w, (w.shape[0], self.m, self.n))
        return W @ X - Y, X

    def value(self, params: Any, w: Any, xp: ModuleType) -> Any:
        residual, _ = self._residual(params, w, xp)
        return 0.5 * xp.sum(residual * residual, axis=(-2, -1))

    def value_magnitude(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """``||W||_F^2 ||X||_F^2 + ||Y||_F^2`` bounds the terms of ``||W X - Y||^2 / 2``."""
        X, Y = self._split(params, xp)
        sq = lambda A: xp.sum(A * A, axis=(-2, -1))  # noqa: E731
        return xp.sum(w * w, axis=-1) * sq(X) + sq(Y)

    def comparator_magnitude(self, stats: Any, u: Any, domain: Any, xp: ModuleType) -> Any:
        """``tr(M) ||U||_F^2 + c`` (M = sum X X^T, c = sum ||Y||_F^2)."""
        M, _, c = stats
        trace = xp.sum(M * xp.eye(M.shape[-1], dtype=M.dtype), axis=(-2, -1))
        return trace * xp.sum(u * u, axis=-1) + c

    def gradient(self, params: Any, w: Any, xp: ModuleType) -> Any:
        residual, X = self._residual(params, w, xp)
        G = residual @ xp.matrix_transpose(X)
        return xp.reshape(G, (G.shape[0], self.m * self.n))

    def stats_init(self, R: int, d: int, xp: ModuleType) -> Any:
        z = lambda *s: xp.zeros(s, dtype=xp.float64)  # noqa: E731
        return (z(R, self.n, self.n), z(R, self.m, self.n), z(R))

    def stats_update(self, stats: Any, params: Any, xp: ModuleType) -> Any:
        M, C, c = stats
        X, Y = self._split(params, xp)
        XT = xp.matrix_transpose(X)
        return (M + X @ XT, C + Y @ XT, c + xp.sum(Y * Y, axis=(-2, -1)))

    def comparator(self, stats: Any, domain: Any, xp: ModuleType) -> tuple[Any, Any]:
        M, C, c = stats
        R = M.shape[0]
        QR, b = inverse_root(M, 1.0, 0.0, xp)
        eye = xp.zeros((R, self.m, self.m), dtype=xp.float64) + xp.eye(self.m, dtype=xp.float64)
        H = KroneckerPrecision(eye, xp.ones((R, self.m), dtype=xp.float64), QR, b,
                               xp.ones((R,), dtype=xp.float64))
        Z = H.solve(xp.reshape(C, (R, self.m * self.n)), xp)  # vec(C M^+)
        if domain.name == "ball":
            U = domain.project(Z, xp, H)
        elif domain.name == "unconstrained":
            U = Z
        else:
            raise ParameterError("domain", "matrix least squares comparators are implemented "
                                 "on a (Frobenius) ball or R^d")
        Um = xp.reshape(U, (R, self.m, self.n))
        value = 0.5 * xp.sum((Um @ M) * Um, axis=(-2, -1)) - xp.sum(Um * C, axis=(-2, -1))
        return U, value + 0.5 * c


@dataclass(frozen=True)
class MatrixLeastSquares:
    """``||W X_t - Y_t||_F^2 / 2`` with a planted ``W*`` of Frobenius norm ``planted_norm``."""

    k: int = param(4, Integer(low=1), "columns of X_t")
    planted_norm: float = param(0.5, Real(0, per_row=False), "||W*||_F")
    planted_seed: int = param(0, Integer(low=0), "seed of the planted direction")
    noise: float = param(0.1, Real(0, per_row=False), "standard deviation of Y - W* X")
    shape: Any = dataclasses.field(default=None, compare=False)
    name = "matrix_least_squares"
    oblivious = True
    streams = ("features", "noise")

    def __post_init__(self) -> None:
        validate(self)

    def planted(self) -> np.ndarray:
        m, n = _shape(self.shape)
        W = np.random.default_rng(self.planted_seed).standard_normal((m, n))
        return self.planted_norm * W / np.linalg.norm(W)

    def loss_family(self, d: int) -> MatrixLeastSquaresLoss:
        m, n = _shape(self.shape)
        if m * n != d:
            raise ParameterError("shape", f"m n = {m * n} must equal d = {d}")
        return MatrixLeastSquaresLoss(m, n, self.k)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        m, n = _shape(self.shape)
        steps, S, k = t1 - t0, len(rngs), self.k
        X = stack_streams(rngs, "features", "standard_normal", steps, n * k)
        X = X.reshape(steps, S, n, k)
        noise = stack_streams(rngs, "noise", "standard_normal", steps, m * k)
        Y = self.planted() @ X + self.noise * noise.reshape(steps, S, m, k)
        return np.concatenate([X.reshape(steps, S, n * k), Y.reshape(steps, S, m * k)], axis=-1)

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data
