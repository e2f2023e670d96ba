"""DoG, "distance over gradients": Ivgi, Hinder and Carmon (2023), "DoG is SGD's best
friend: a parameter-free dynamic step size schedule" (ICML), eq. (1) / Algorithm 1, as
``optax.contrib.dog`` (optax 0.2.8, ``optax/contrib/_dog.py``, ``scale_by_dog``):

    ``rbar_t = max(r_eps, max_{s<=t} ||w_s - w_1||)``,   ``eta_t = rbar_t / sqrt(sum_{s<=t}
    ||g_s||^2 + eps)``,   ``w_{t+1} = Proj_V(w_t - eta_t g_t)``.

``init``: ``distance`` takes ``r_eps`` as given; ``heuristic`` (optax's default, with
``r_eps = 1e-6``) uses ``r_eps (1 + ||w_1||)``. optax's ``learning_rate`` (a factor after
the step) is 1 here; its ``init_step = ("learning_rate", eta_0)`` form is not offered.

A scalar step: mirror descent with ``P_t = I/eta_t``, so (8) and (10) apply; ``eta_t`` may
grow as ``rbar_t`` grows, so (18) applies only where ``1/eta_t`` is measured
non-decreasing. The paper's guarantees are for stochastic convex optimization (a weighted
average of the iterates, weights ``rbar_t``), not a regret bound: none is claimed.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Real, param
from occ.regularizers import ScalarPrecision

INITS = ("heuristic", "distance")


class DoGState(NamedTuple):
    w: Any  # (R, d) w_t to play next
    count: int
    centre: Any  # (R, d) w_1
    rbar: Any  # (R,) max distance so far (at least r_eps)
    squares: Any  # (R,) sum ||g_s||^2
    p: Any  # (R,) 1/eta_t of the last step


@dataclasses.dataclass(frozen=True)
class DoG(LearnerConfig):
    """Distance over gradients (Ivgi et al. 2023), optax's convention."""

    init_step: str = param("heuristic", Choice(INITS), "r_eps as given, or r_eps (1 + ||w_1||)")
    r_eps: Any = param(1e-6, Real(0, low_open=True), "initial distance estimate")
    eps: Any = param(1e-8, Real(0, low_open=True), "added to sum ||g||^2 (optax: eps)")
    name = "dog"

    def init(self, w1: Any, xp: ModuleType | None = None) -> DoGState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R = w.shape[0]
        r = per_row(self.r_eps, R, xp)
        if self.init_step == "heuristic":
            r = r * (1.0 + xp.linalg.vector_norm(w, axis=-1))
        zeros = xp.zeros((R,), dtype=xp.float64)
        return DoGState(w, 0, w, r, zeros, zeros)

    def update(self, state: DoGState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, DoGState]:
        xp = self._xp(xp, g)
        rbar = xp.maximum(state.rbar, xp.linalg.vector_norm(state.w - state.centre, axis=-1))
        squares = state.squares + xp.sum(g * g, axis=-1)
        root = xp.sqrt(squares + per_row(self.eps, g.shape[0], xp))
        eta = rbar / root
        precision = ScalarPrecision(root / rbar)
        w_next = self.project(state.w - eta[:, None] * g, precision, xp)
        return w_next, DoGState(w_next, state.count + 1, state.centre, rbar, squares,
                                precision.p)

    def geometry(self, state: DoGState) -> ScalarPrecision:
        return ScalarPrecision(state.p)

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="scalar", monotone="measured",
            projection_exact=self.projection_exact("scalar"),
            state_floats=d + 2,  # w_1, rbar and the sum of squares
            parameters=BoundParameters(eps=self.eps))
