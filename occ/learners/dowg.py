"""DoWG, "distance over weighted gradients": Khaled, Mishchenko and Jin (2023), "DoWG
unleashed: an efficient universal parameter-free gradient descent method" (NeurIPS),
Algorithm 1, as ``optax.contrib.dowg`` (optax 0.2.8, ``optax/contrib/_dog.py``,
``scale_by_dowg``):

    ``rbar_t^2 = max(rbar_{t-1}^2, ||w_t - w_1||^2)``,  ``v_t = v_{t-1} + rbar_t^2 ||g_t||^2``,
    ``eta_t = rbar_t^2 / (sqrt(v_t) + eps)``,  ``w_{t+1} = Proj_V(w_t - eta_t g_t)``,

with ``rbar_0^2 = r0_sq`` (optax's ``init_estim_sq_dist``; its default, None, means
``eps``, here ``r0_sq = 1e-4``) and ``v_0 = 0``; optax's ``learning_rate`` is 1. A scalar
step (``P_t = I/eta_t``): (8) and (10) apply, (18) where ``1/eta_t`` is measured
non-decreasing. The paper's guarantees are convergence rates for convex optimization
(deterministic, of a weighted average of the iterates), not a regret bound: none is claimed.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Real, param
from occ.regularizers import ScalarPrecision


class DoWGState(NamedTuple):
    w: Any  # (R, d) w_t to play next
    count: int
    centre: Any  # (R, d) w_1
    rbar_sq: Any  # (R,) the squared distance estimate
    weighted: Any  # (R,) v_t = sum rbar_s^2 ||g_s||^2
    p: Any  # (R,) 1/eta_t of the last step


@dataclasses.dataclass(frozen=True)
class DoWG(LearnerConfig):
    """Distance over weighted gradients (Khaled et al. 2023), optax's convention."""

    r0_sq: Any = param(1e-4, Real(0, low_open=True), "initial squared distance estimate")
    eps: Any = param(1e-4, Real(0, low_open=True), "added to sqrt(v_t) (optax: eps)")
    name = "dowg"

    def init(self, w1: Any, xp: ModuleType | None = None) -> DoWGState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R = w.shape[0]
        zeros = xp.zeros((R,), dtype=xp.float64)
        return DoWGState(w, 0, w, per_row(self.r0_sq, R, xp), zeros, zeros)

    def update(self, state: DoWGState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, DoWGState]:
        xp = self._xp(xp, g)
        moved = state.w - state.centre
        rbar_sq = xp.maximum(state.rbar_sq, xp.sum(moved * moved, axis=-1))
        weighted = state.weighted + rbar_sq * xp.sum(g * g, axis=-1)
        denominator = xp.sqrt(weighted) + per_row(self.eps, g.shape[0], xp)
        eta = rbar_sq / denominator
        precision = ScalarPrecision(denominator / rbar_sq)
        w_next = self.project(state.w - eta[:, None] * g, precision, xp)
        return w_next, DoWGState(w_next, state.count + 1, state.centre, rbar_sq, weighted,
                                 precision.p)

    def geometry(self, state: DoWGState) -> ScalarPrecision:
        return ScalarPrecision(state.p)

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="scalar", monotone="measured",
            projection_exact=self.projection_exact("scalar"),
            state_floats=d + 2,  # w_1, rbar^2 and v_t
            parameters=BoundParameters(eps=self.eps))
