"""Follow the regularized leader with a quadratic regularizer and lazy projection (dual
averaging): Orabona, "A modern introduction to online learning" (arXiv:1912.13213),
Chapter 7, with ``psi_t(w) = ||w - w_1||^2 / (2 a_t)`` on V:

    ``w_t = argmin_{w in V} <sum_{s<t} g_s, w> + ||w - w_1||^2/(2 a_t)
          = Proj_V(w_1 - a_t sum_{s<t} g_s)``

(lazy: the projection is of the whole dual sum, never of the previous iterate), with
``a_t = eta`` (``step = constant``) or ``a_t = c/sqrt(t)`` (``step = sqrt``). The
regularizer is ``1/a_t``-strongly convex and non-decreasing in t, so Corollary 7.9 (with
``psi_{T+1} = psi_T``) gives, for every u in V and linear (or, by convexity, convex) losses,

    ``R_T(u) <= ||u - w_1||^2/(2 a_T) + 1/2 sum_t a_t ||g_t||^2``,

which is ``D_1^2/(2 eta) + eta/2 S_T`` (bound ``ftrl``) and, with
``sum_{t<=T} 1/sqrt(t) <= 2 sqrt(T)``, ``(D_1^2/(2c) + c L^2) sqrt(T)`` (``ftrl_sqrt``).
On R^d with a constant eta this is OGD; in general it is not the greedy mirror-descent step
of (8), so it declares no geometry.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Real, param

STEPS = ("constant", "sqrt")


class FTRLState(NamedTuple):
    w: Any  # (R, d) w_t to play next
    count: int
    centre: Any  # (R, d) w_1
    gradient_sum: Any  # (R, d) sum_{s<=t} g_s


@dataclasses.dataclass(frozen=True)
class FTRL(LearnerConfig):
    """Dual averaging: FTRL with ``||w - w_1||^2/(2 a_t)`` and lazy Euclidean projection."""

    step: str = param("constant", Choice(STEPS), "a_t = eta, or a_t = c/sqrt(t)")
    eta: Any = param(0.1, Real(0, low_open=True), "constant a_t (step = constant)")
    c: Any = param(1.0, Real(0, low_open=True), "a_t = c/sqrt(t) (step = sqrt)")
    name = "ftrl"

    def scale(self, t: int, R: int, xp: ModuleType) -> Any:
        """``a_t`` (R,) of round t."""
        if self.step == "constant":
            return per_row(self.eta, R, xp)
        return per_row(self.c, R, xp) / math.sqrt(t)

    def init(self, w1: Any, xp: ModuleType | None = None) -> FTRLState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        return FTRLState(w, 0, w, xp.zeros(w.shape, dtype=xp.float64))

    def update(self, state: FTRLState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, FTRLState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        total = state.gradient_sum + g
        a = self.scale(t + 1, g.shape[0], xp)  # a_{t+1}, the regularizer of w_{t+1}
        w_next = self.domain.project(state.centre - a[:, None] * total, xp, None)
        return w_next, FTRLState(w_next, t, state.centre, total)

    def geometry(self, state: FTRLState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="FTRL with lazy projection: w_{t+1} projects w_1 - a sum g, "
                               "not w_t - eta g_t",
            claims=frozenset({"ftrl" if self.step == "constant" else "ftrl_sqrt"}),
            state_floats=d,  # the dual sum
            parameters=BoundParameters(eta=self.eta, c=self.c))
