"""Prodigy: Mishchenko and Defazio (2023), "Prodigy: an expeditiously adaptive
parameter-free learner" (arXiv:2306.06101), Algorithm 3 (Adam form), as
``optax.contrib.prodigy`` (optax 0.2.8, ``optax/contrib/_prodigy.py``), one repetition
row at a time, with ``k = t - 1`` steps taken before step t, ``d_0 = estim_lr0``:

    ``bc = sqrt(1 - beta2^t)/(1 - beta1^t)``,  ``dlr = d_k bc``,  ``dg = d_k g_t``,
    ``m = beta1 m + (1 - beta1) dg``,  ``v = beta2 v + (1 - beta2) dg^2``,
    ``s = beta3 s + c_k dg / d_0`` (``c_k = d_k`` with ``safeguard_warmup``, else ``dlr``),
    ``r = beta3 r + (d_k/d_0) dlr <g_t, w_1 - w_t>``,
    ``d_{k+1} = max(d_k, coef r / ||s||_1)``,
    ``w_{t+1} = Proj_V(w_t - wd dlr w_t - dlr m / (sqrt(v) + d_{k+1} eps))``

(note the updated ``d_{k+1}`` in the epsilon, as optax), ``beta3 = sqrt(beta2)`` by
default; optax's ``learning_rate`` schedule is the constant 1. One departure: where
``||s||_1 = 0`` (every gradient so far 0) the estimate is kept (optax divides 0 by 0
and its iterate becomes NaN).

Momentum and a changing D estimate: no mirror-descent form, and the paper's guarantees
are convergence rates for convex optimization (of a weighted average), not a regret
bound: regret only.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Boolean, Real, param


class ProdigyState(NamedTuple):
    w: Any  # (R, d) w_t to play next
    count: int
    centre: Any  # (R, d) w_1
    m: Any  # (R, d) first moment of d g
    v: Any  # (R, d) second moment of d g
    s: Any  # (R, d) the weighted sum behind the denominator
    estimate: Any  # (R,) d_k
    numerator: Any  # (R,) r_k


@dataclasses.dataclass(frozen=True)
class Prodigy(LearnerConfig):
    """Prodigy (Mishchenko and Defazio 2023), optax's convention."""

    beta1: float = param(0.9, Real(0, 1, high_open=True, per_row=False), "momentum")
    beta2: float = param(0.999, Real(0, 1, high_open=True, per_row=False), "second-moment decay")
    beta3: Any = param(None, Real(0, 1, high_open=True, per_row=False),
                       "decay of the D estimate's sums (default sqrt(beta2))")
    eps: float = param(1e-8, Real(0, per_row=False), "epsilon, times the D estimate")
    estim_lr0: float = param(1e-6, Real(0, low_open=True, per_row=False), "initial estimate d_0")
    estim_lr_coef: float = param(1.0, Real(0, low_open=True, per_row=False),
                                 "factor on the D estimate")
    weight_decay: float = param(0.0, Real(0, per_row=False), "AdamW-style decay")
    safeguard_warmup: bool = param(False, Boolean(), "d_k instead of dlr in the sum s")
    name = "prodigy"

    def init(self, w1: Any, xp: ModuleType | None = None) -> ProdigyState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R = w.shape[0]
        zeros = xp.zeros(w.shape, dtype=xp.float64)
        return ProdigyState(w, 0, w, zeros, zeros, zeros,
                            xp.full((R,), float(self.estim_lr0), dtype=xp.float64),
                            xp.zeros((R,), dtype=xp.float64))

    def update(self, state: ProdigyState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, ProdigyState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        b1, b2 = float(self.beta1), float(self.beta2)
        b3 = math.sqrt(b2) if self.beta3 is None else float(self.beta3)
        d0, dk = float(self.estim_lr0), state.estimate[:, None]
        bc = math.sqrt(1 - b2**t) / (1 - b1**t)
        dlr = dk * bc
        dg = dk * g
        m = b1 * state.m + (1 - b1) * dg
        v = b2 * state.v + (1 - b2) * dg * dg
        s = b3 * state.s + (dk if self.safeguard_warmup else dlr) * dg / d0
        progress = xp.sum(g * (state.centre - state.w), axis=-1)
        numerator = b3 * state.numerator + (dk / d0 * dlr)[:, 0] * progress
        denominator = xp.sum(xp.abs(s), axis=-1)
        ratio = xp.where(denominator > 0, float(self.estim_lr_coef) * numerator
                         / xp.where(denominator > 0, denominator, 1.0), 0.0)
        estimate = xp.maximum(state.estimate, ratio)
        step = (float(self.weight_decay) * dlr * state.w
                + dlr * m / (xp.sqrt(v) + estimate[:, None] * float(self.eps)))
        w_next = self.domain.project(state.w - step, xp, None)
        return w_next, ProdigyState(w_next, t, state.centre, m, v, s, estimate, numerator)

    def geometry(self, state: ProdigyState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="Prodigy: Adam momentum with a growing D estimate; regret only "
                               "(the paper's rates are for convex optimization, not regret)",
            state_floats=4 * d + 2, parameters=BoundParameters(eps=self.eps))
