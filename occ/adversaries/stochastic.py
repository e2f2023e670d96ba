"""A stochastic adversary for online-to-batch conversion (Appendix A): iid examples from
a population with a known minimizer.

Least squares on a synthetic linear model: ``a_t ~ N(0, I_d)``, ``b_t = a_t^T w* + noise
xi_t``, ``l_t(w) = (a_t^T w - b_t)^2 / 2``. The population risk is
``J(w) = ||w - w*||^2/2 + noise^2/2``, so on a ball or R^d its minimizer over V is the
Euclidean projection of w*, and the excess risk of the averaged iterate
``w_bar_T = (1/T) sum_t w_t`` is ``(||w_bar - w*||^2 - ||Proj(w*) - w*||^2)/2`` exactly.
The comparator (the empirical minimizer over V) comes from the running sums
``M = sum a a^T``, ``v = sum b a``, ``c = sum b^2``: the M-norm projection of the least
squares solution onto V.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import stack_streams
from occ.errors import ParameterError
from occ.params import Real, param, validate
from occ.regularizers import FullPrecision, inverse_root


@dataclass(frozen=True)
class LeastSquaresLoss:
    """``l_t(w) = (a_t^T w - b_t)^2 / 2``; parameters ``[a_t, b_t]`` of shape (R, d + 1)."""

    name = "least_squares"

    def value(self, params: Any, w: Any, xp: ModuleType) -> Any:
        r = xp.sum(params[:, :-1] * w, axis=-1) - params[:, -1]
        return 0.5 * r * r

    def value_magnitude(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """``(|a|^T |w| + |b|)^2 / 2 <= ||a||^2 ||w||^2 + b^2``."""
        a, b = params[:, :-1], params[:, -1]
        return xp.sum(a * a, axis=-1) * xp.sum(w * w, axis=-1) + b * b

    def gradient(self, params: Any, w: Any, xp: ModuleType) -> Any:
        r = xp.sum(params[:, :-1] * w, axis=-1) - params[:, -1]
        return params[:, :-1] * r[:, None]

    def comparator_magnitude(self, stats: Any, u: Any, domain: Any, xp: ModuleType) -> Any:
        """``sum_t (||a_t||^2 ||u||^2 + b_t^2) = tr(M) ||u||^2 + c``."""
        M, _, c = stats
        trace = xp.sum(M * xp.eye(M.shape[-1], dtype=M.dtype), axis=(-2, -1))
        return trace * xp.sum(u * u, axis=-1) + c

    def stats_init(self, R: int, d: int, xp: ModuleType) -> Any:
        return (xp.zeros((R, d, d), dtype=xp.float64), xp.zeros((R, d), dtype=xp.float64),
                xp.zeros((R,), dtype=xp.float64))

    def stats_update(self, stats: Any, params: Any, xp: ModuleType) -> Any:
        M, v, c = stats
        a, b = params[:, :-1], params[:, -1]
        return (M + a[:, :, None] * a[:, None, :], v + b[:, None] * a, c + b * b)

    def comparator(self, stats: Any, domain: Any, xp: ModuleType) -> tuple[Any, Any]:
        M, v, c = stats
        Q, lam = inverse_root(M, 1.0, 0.0, xp)
        precision = FullPrecision(Q, lam)
        z = precision.solve(v, xp)  # the least-squares solution (pseudo-inverse)
        if domain.name not in ("ball", "unconstrained"):
            raise ParameterError("domain", "least squares comparators are implemented on a "
                                 "ball or R^d")
        u = domain.project(z, xp, precision) if domain.name != "unconstrained" else z
        Mu = xp.squeeze(M @ u[:, :, None], axis=-1)
        return u, 0.5 * xp.sum(u * Mu, axis=-1) - xp.sum(v * u, axis=-1) + 0.5 * c


@dataclass(frozen=True)
class LeastSquares:
    """iid least-squares examples with ``w* = w_star_norm e_1`` and Gaussian noise."""

    w_star_norm: float = param(0.5, Real(0, per_row=False), "||w*||")
    noise: float = param(0.5, Real(0, per_row=False), "standard deviation of b - a^T w*")
    name = "least_squares"
    oblivious = True
    streams = ("features", "noise")

    def __post_init__(self) -> None:
        validate(self)

    def w_star(self, d: int) -> np.ndarray:
        w = np.zeros(d)
        w[0] = self.w_star_norm
        return w

    def loss_family(self, d: int) -> LeastSquaresLoss:
        return LeastSquaresLoss()

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        a = stack_streams(rngs, "features", "standard_normal", t1 - t0, d)
        xi = stack_streams(rngs, "noise", "standard_normal", t1 - t0, 1)
        b = a @ self.w_star(d)[:, None] + self.noise * xi
        return np.concatenate([a, b], axis=-1)

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data

    def excess_risk(self, w_bar: np.ndarray, domain: Any) -> np.ndarray:
        """``J(w_bar) - min_V J`` for averaged iterates w_bar of shape (..., d)."""
        d = w_bar.shape[-1]
        star = self.w_star(d)
        best = domain.project(star[None], np)[0] if domain.name != "unconstrained" else star
        return 0.5 * (np.sum((w_bar - star) ** 2, axis=-1) - np.sum((best - star) ** 2))
