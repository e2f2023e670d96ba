"""ADOPT (Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with Any beta2 with the
Optimal Rate", NeurIPS 2024, arXiv 2411.02853: Algorithm 1, with the clipped momentum update
of the revised paper and of the authors' code github.com/iShohei220/adopt, whose default
``clip_lambda = step**0.25`` they recommend over the unclipped Algorithm 1).

ADOPT normalizes the gradient by the *previous* second moment, then takes momentum of the
normalized gradient (Adam's order reversed), so the divisor is independent of g_t::

    round 1:  v_1 = g_1^2                   (the paper's v_0 = g_0^2; w does not move)
    round t >= 2, with k = t - 1 (the paper's step index):
      n_t = g_t / max(sqrt(v_{t-1}), eps)    (eps outside the root, as a floor)
      n_t = clip(n_t, -k^(1/4), k^(1/4))     (clipping = true; false: Algorithm 1 as printed)
      m_t = beta1 m_{t-1} + (1 - beta1) n_t  (m_1 = 0)
      w_{t+1} = Proj(w_t - eta_t m_t),       eta_t = eta s_t (the schedule, at round t)
      v_t = beta2 v_{t-1} + (1 - beta2) g_t^2

No bias correction (none in the paper), no weight decay (the authors' optional
``weight_decay``/``decouple`` are not here). A coordinate whose floor is 0 (eps = 0, no
gradient yet) takes n = 0. This is the order and the clip of the authors' code and of
``optax.contrib.adopt`` (``use_clipping=True``, ``clip_value_fn = x**0.25`` of the step
count k, ``nesterov=False``): same ``b1, b2, eps``, ``learning_rate = eta``.
The projection is Euclidean (the step has no preconditioner of its own).

Not mirror descent: the step is momentum of normalized (and clipped) gradients, so no
bound of the notes applies (each bound row says why). State: m and v, 2 floats per
coordinate.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Boolean, Real, param
from occ.schedules import Schedule, ScheduleSpec

DOMAINS = ("unconstrained", "ball", "box")


class AdoptState(NamedTuple):
    w: Any  # (R, d)
    count: int
    m: Any  # (R, d) momentum of the normalized gradients
    v: Any  # (R, d) second moment, one round behind the gradient it divides


@dataclasses.dataclass(frozen=True)
class Adopt(LearnerConfig):
    """ADOPT; see the module docstring."""

    eta: Any = param(0.001, Real(0, low_open=True), "base step size (times the schedule)")
    beta1: Any = param(0.9, Real(0, 1, high_open=True, per_row=False), "momentum decay")
    beta2: Any = param(0.9999, Real(0, 1, high_open=True, per_row=False),
                       "second-moment decay, in [0, 1)")
    eps: Any = param(1e-6, Real(0, per_row=False), "floor of sqrt(v): max(sqrt(v), eps)")
    clipping: bool = param(True, Boolean(), "clip n_t to [-k^1/4, k^1/4] (Algorithm 2)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t")
    name = "adopt"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return DOMAINS

    def for_horizon(self, T: int) -> Adopt:
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def schedule_values(self, steps: Any) -> Any:
        return self.schedule.values(steps)

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdoptState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        zeros = xp.zeros(w.shape, dtype=xp.float64)
        return AdoptState(w, 0, zeros, zeros)

    def update(self, state: AdoptState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdoptState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        if t == 1:
            return state.w, AdoptState(state.w, t, state.m, g * g)
        floor = xp.maximum(xp.sqrt(state.v), xp.asarray(float(self.eps), dtype=xp.float64))
        n = xp.where(floor > 0, g / xp.where(floor > 0, floor, 1.0), 0.0)
        if self.clipping:
            c = float(t - 1) ** 0.25
            n = xp.clip(n, -c, c)
        m = self.beta1 * state.m + (1 - self.beta1) * n
        eta_t = per_row(self.eta, g.shape[0], xp)[:, None] * self.schedule.value(t)
        w_next = self.project(state.w - eta_t * m, None, xp)
        v = self.beta2 * state.v + (1 - self.beta2) * g * g
        return w_next, AdoptState(w_next, t, m, v)

    def geometry(self, state: AdoptState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="ADOPT: momentum of gradients normalized by the previous "
            "second moment (and clipped): not mirror descent with g_t",
            state_floats=2 * d, parameters=BoundParameters(eta=self.eta, eps=self.eps))
