"""Krichevsky-Trofimov (KT) coin betting: parameter-free online linear optimization.

Orabona and Pal (2016), "Coin betting and parameter-free online learning" (NeurIPS),
Section 4: a bettor with initial wealth ``eps`` bets ``x_t = beta_t Wealth_{t-1}`` on the
coin ``c_t = -g_t / G`` (``|c_t| <= 1``), with the KT fraction
``beta_t = (sum_{s<t} c_s) / t``, and ``Wealth_t = Wealth_{t-1} + c_t x_t``. Its regret
against every comparator u (their Corollary 5, from the KT potential's wealth lower bound
``Wealth_T >= eps exp((sum c)^2/(2T)) / (e sqrt(pi T))`` and ``e^2 pi <= 24``) is

    ``R_T(u) <= G (eps + |u| sqrt(T ln(1 + 24 T^2 u^2 / eps^2)))``.

The forms (``form``), all centred at ``w_1`` (the bets are offsets ``x_t = w_t - w_1``,
so ``|u|`` reads ``||u - w_1||``):

* ``coordinate``: one 1-d bettor per coordinate (in d = 1 the bettor itself); the bound
  is the sum over coordinates of the 1-d bound at ``|u_i - w_{1,i}|`` (``kt_coordinate``);
* ``hilbert``: their Hilbert-space bettor, ``x_t = (sum_{s<t} c_s / t) Wealth_{t-1}``
  with ``Wealth_t = Wealth_{t-1} + <c_t, x_t>`` (Corollary 5 with ``||u||``, ``kt_hilbert``);
* ``reduction``: Cutkosky and Orabona (2018), "Black-box reductions for parameter-free
  online learning in Banach spaces" (COLT), Algorithm 1: ``x_t = z_t y_t`` with the
  magnitude ``z_t`` a 1-d KT bettor on ``s_t = <g_t, y_t>/G`` and the direction ``y_t``
  OGD on the unit ball with ``eta_t = sqrt(2)/sqrt(sum_{s<=t} ||g_s/G||^2)`` (their
  Theorem 2: ``R_T(u) <= R^z_T(||u||) + ||u|| R^y_T(u/||u||)``; with ``D <= 2`` on the unit
  ball, (27) gives ``R^y_T <= 2 sqrt(2 sum ||g/G||^2)``), bound ``kt_reduction``.

On a bounded domain V the learner plays ``w_t = Proj_V(w_1 + x_t)`` (Euclidean) and feeds
its inner bettor ``g~_t = (g_t + ||g_t|| n_t)/2``, ``n_t`` the unit normal
``(w~_t - w_t)/||w~_t - w_t||`` of the distance function at the unprojected point (0
inside V): Cutkosky and Orabona (2018), Theorem 3, ``R^V_T(u) <= 2 R_T(u)`` for u in V,
with ``||g~_t|| <= ||g_t||``. Every bound then carries the factor 2.

Not of mirror-descent form: no step ``w - P^{-1} g``; the bounds need ``||g_t||_2 <= G``
(checked on the run).
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Real, param

FORMS = ("reduction", "hilbert", "coordinate")
DIRECTION_STEP = math.sqrt(2.0)  # D0 of the direction's AdaGrad-norm step on the unit ball


class KTState(NamedTuple):
    w: Any  # (R, d) the point to play next, Proj_V(w_1 + x)
    count: int
    centre: Any  # (R, d) w_1
    x: Any  # (R, d) the bet (offset from w_1) before projection
    wealth: Any  # (R, d) coordinate form, else (R,)
    coin_sum: Any  # (R, d) sum of c_s (reduction: (R,) the magnitude's coins)
    direction: Any  # (R, d) y_t (reduction), else unused zeros
    direction_squares: Any  # (R,) sum ||g~_s/G||^2 (reduction)


def kt_fraction(coin_sum: Any, t: int) -> Any:
    """``beta_{t+1} = (sum_{s<=t} c_s)/(t + 1)``, the KT bet for the next round."""
    return coin_sum / (t + 1)


@dataclasses.dataclass(frozen=True)
class KT(LearnerConfig):
    """KT coin betting (Orabona and Pal 2016) and its reductions to R^d and to V."""

    form: str = param("reduction", Choice(FORMS), "1-d bettors per coordinate, the "
                      "Hilbert-space bettor, or magnitude x direction (Cutkosky-Orabona)")
    eps: Any = param(1.0, Real(0, low_open=True), "initial wealth")
    G: Any = param(1.0, Real(0, low_open=True), "a priori bound on ||g_t||_2 (coins g/G)")
    name = "kt"

    def init(self, w1: Any, xp: ModuleType | None = None) -> KTState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        eps = per_row(self.eps, R, xp)
        zeros = xp.zeros((R, d), dtype=xp.float64)
        wealth = zeros + eps[:, None] if self.form == "coordinate" else eps
        coin_sum = xp.zeros((R,), dtype=xp.float64) if self.form == "reduction" else zeros
        return KTState(w, 0, w, zeros, wealth, coin_sum, zeros,
                       xp.zeros((R,), dtype=xp.float64))

    def _inner_gradient(self, state: KTState, g: Any, xp: ModuleType) -> Any:
        """``g_t/G``, or on a bounded V ``(g_t + ||g_t|| n_t)/(2G)`` (Theorem 3)."""
        R = g.shape[0]
        g = g / per_row(self.G, R, xp)[:, None]
        if self.domain.name == "unconstrained":
            return g
        outside = state.centre + state.x - state.w
        gap = xp.linalg.vector_norm(outside, axis=-1)
        normal = xp.where(gap[:, None] > 0, outside / xp.where(gap > 0, gap, 1.0)[:, None], 0.0)
        return (g + xp.linalg.vector_norm(g, axis=-1)[:, None] * normal) / 2

    def update(self, state: KTState, g: Any, xp: ModuleType | None = None) -> tuple[Any, KTState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        c = -self._inner_gradient(state, g, xp)
        direction, squares = state.direction, state.direction_squares
        if self.form == "coordinate":
            wealth = state.wealth + c * state.x
            coin_sum = state.coin_sum + c
            x = kt_fraction(coin_sum, t) * wealth
        elif self.form == "hilbert":
            wealth = state.wealth + xp.sum(c * state.x, axis=-1)
            coin_sum = state.coin_sum + c
            x = kt_fraction(coin_sum, t) * wealth[:, None]
        else:
            magnitude = kt_fraction(state.coin_sum, t - 1) * state.wealth  # z_t
            coin = xp.sum(c * direction, axis=-1)  # -<g~_t, y_t>
            wealth = state.wealth + coin * magnitude
            coin_sum = state.coin_sum + coin
            squares = squares + xp.sum(c * c, axis=-1)
            root = xp.sqrt(squares)
            step = xp.where(root > 0, DIRECTION_STEP / xp.where(root > 0, root, 1.0), 0.0)
            y = direction + step[:, None] * c  # y_t - eta_t g~_t
            norm = xp.linalg.vector_norm(y, axis=-1)
            direction = y * xp.where(norm > 1.0, 1.0 / xp.where(norm > 0, norm, 1.0), 1.0)[
                :, None]
            x = (kt_fraction(coin_sum, t) * wealth)[:, None] * direction
        w_next = self.domain.project(state.centre + x, xp, None)
        return w_next, KTState(w_next, t, state.centre, x, wealth, coin_sum, direction, squares)

    def geometry(self, state: KTState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="coin betting: the bet is a fraction of the wealth, not a "
                               "step w_t - P_t^-1 g_t",
            claims=frozenset({f"kt_{self.form}"}),
            state_floats={"coordinate": 3 * d, "hilbert": 2 * d + 1,
                          "reduction": 2 * d + 3}[self.form],
            parameters=BoundParameters(
                eps=self.eps, G_bound=self.G,
                reduction_factor=1.0 if self.domain.name == "unconstrained" else 2.0))
