"""COCOB-Backprop: continuous coin betting per coordinate, as ``optax.contrib.cocob``.

Orabona and Tommasi (2017), "Training deep networks without learning rates through coin
betting" (NeurIPS), Algorithm 2; the update of ``optax.contrib.scale_by_cocob`` (optax
0.2.8, ``optax/contrib/_cocob.py``), coordinate by coordinate, with ``L_0 = eps`` and
``G_0 = theta_0 = Reward_0 = 0``:

    ``L_t = max(L_{t-1}, |g_t|)``,   ``G_t = G_{t-1} + |g_t|``,   ``theta_t = theta_{t-1} - g_t``,
    ``Reward_t = max(Reward_{t-1} - g_t (w_t - w_1), 0)``,
    ``w_{t+1} = w_1 + theta_t (L_t + Reward_t) / (L_t max(G_t + L_t, alpha L_t))``.

optax's ``learning_rate`` multiplies the gradient before this transformation (and its
``weight_decay`` adds ``wd w_t`` first); here both are the identity: ``learning_rate = 1``,
``weight_decay = 0``. On a bounded V the point is projected (Euclidean), ``w_{t+1} =
Proj_V(...)``, and ``w_t`` in the reward is the played point (optax has no projection).

Regret only: the paper proves no regret bound for this backprop variant (its truncated
reward and the ``alpha`` cap on the bet are heuristics); see the declaration.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Real, param


class COCOBState(NamedTuple):
    w: Any  # (R, d) w_t to play next
    count: int
    centre: Any  # (R, d) w_1
    theta: Any  # (R, d) minus the sum of gradients
    scale: Any  # (R, d) L_t
    absolute_sum: Any  # (R, d) G_t
    reward: Any  # (R, d) Reward_t


@dataclasses.dataclass(frozen=True)
class COCOB(LearnerConfig):
    """COCOB-Backprop (Orabona and Tommasi 2017, Algorithm 2), optax's convention."""

    alpha: Any = param(100.0, Real(0, low_open=True), "cap on the bet fraction (1/alpha)")
    eps: Any = param(1e-8, Real(0, low_open=True), "initial L_0 (optax: eps)")
    name = "cocob"

    def init(self, w1: Any, xp: ModuleType | None = None) -> COCOBState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        zeros = xp.zeros(w.shape, dtype=xp.float64)
        eps = per_row(self.eps, w.shape[0], xp)[:, None]
        return COCOBState(w, 0, w, zeros, zeros + eps, zeros, zeros)

    def update(self, state: COCOBState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, COCOBState]:
        xp = self._xp(xp, g)
        alpha = per_row(self.alpha, g.shape[0], xp)[:, None]
        scale = xp.maximum(state.scale, xp.abs(g))
        absolute_sum = state.absolute_sum + xp.abs(g)
        reward = xp.maximum(state.reward - g * (state.w - state.centre), 0.0)
        theta = state.theta - g
        bet = theta / (scale * xp.maximum(absolute_sum + scale, alpha * scale)) * (scale + reward)
        w_next = self.domain.project(state.centre + bet, xp, None)
        return w_next, COCOBState(w_next, state.count + 1, state.centre, theta, scale,
                                  absolute_sum, reward)

    def geometry(self, state: COCOBState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="COCOB-Backprop bets a fraction of a truncated reward: "
                               "regret only, the paper proves no bound for this variant",
            state_floats=5 * d, parameters=BoundParameters(eps=self.eps))
