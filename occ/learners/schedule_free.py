"""Schedule-free AdamW (Defazio et al. 2024, "The Road Less Scheduled", NeurIPS 2024,
Algorithm 1), as the authors' reference code (``AdamWScheduleFreeReference``) computes it.

Three sequences: z (the base AdamW-without-momentum iterates), x (their weighted average,
the sequence meant for evaluation) and y (the interpolation where the gradient is taken).
With z_1 = x_1 = w_1, v_0 = 0, for t = 1, 2, ...::

    y_t     = (1 - beta1) z_t + beta1 x_t            (the point played: g_t = grad l_t(y_t))
    v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2
    gamma_t = eta s_t sqrt(1 - beta2^t)              (s_t: the schedule, e.g. a warmup)
    z_{t+1} = Proj(z_t - gamma_t (g_t/(sqrt(v_t) + eps) + lambda y_t))
    c_{t+1} = gamma_max,t^2 / sum_{i<=t} gamma_max,i^2,  gamma_max,t = max_{i<=t} gamma_i
    x_{t+1} = (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}

Conventions: the bias correction enters as the factor ``sqrt(1 - beta2^t)`` of the step
with epsilon outside the root of the uncorrected v (the paper and the reference code);
the decay lambda is taken at y and multiplied by gamma_t; the averaging weights are
``gamma_max^2`` (``weight_lr_power = 2``, ``r = 0``; the paper's gamma_t^2 whenever the steps
do not decrease). ``weight_bias_corrected = false`` takes the weights from ``eta s_t``
alone, as ``optax.contrib.schedule_free_adamw`` does (optax also puts epsilon after the
bias correction, ``g/(sqrt(v/(1 - beta2^t)) + eps)``, and decays with ``eta s_t lambda``; with
``eps = 0`` and ``lambda = 0`` the two coincide).

**Which sequence is played.** The learner plays y_t: it is where the loss is incurred and
the gradient taken, so occ's regret is the regret of y. The averaged sequence x, the one
the paper evaluates, is in the state (``state.x``) and is reported by
:meth:`ScheduleFree.shadow`: the harness records its loss at every step and the metrics
carry ``shadow_regret`` (the regret of x_t against the same comparator), see
docs/results-format.md. With projection, z stays in V and x, y are convex combinations
of points of V.

Not mirror descent (an interpolation of an average and a preconditioned iterate): each
bound row says why not. The projection is Euclidean. State: z and v (2 floats per
coordinate, as the reference code keeps them; x = (y - (1 - beta1) z)/beta1), which occ
also keeps as x to report it.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Boolean, Real, param
from occ.schedules import Schedule, ScheduleSpec

DOMAINS = ("unconstrained", "ball", "box")


class ScheduleFreeState(NamedTuple):
    w: Any  # (R, d): y_t, the point played next
    count: int
    z: Any  # (R, d)
    x: Any  # (R, d): the averaged sequence (reported as the shadow iterate)
    v: Any  # (R, d)
    weight_sum: Any  # (R,) sum of gamma_max^2
    gamma_max: Any  # (R,)


@dataclasses.dataclass(frozen=True)
class ScheduleFree(LearnerConfig):
    """Schedule-free AdamW; see the module docstring."""

    eta: Any = param(0.0025, Real(0, low_open=True), "base step size (times the schedule)")
    beta1: Any = param(0.9, Real(0, 1, per_row=False), "interpolation y = (1-b1) z + b1 x")
    beta2: Any = param(0.999, Real(0, 1, high_open=True, per_row=False),
                       "second-moment decay, in [0, 1)")
    eps: Any = param(1e-8, Real(0, per_row=False), "denominator epsilon (outside the root)")
    weight_decay: Any = param(0.0, Real(0, per_row=False), "decay lambda at y (times gamma_t)")
    weight_bias_corrected: bool = param(
        True, Boolean(), "averaging weights from gamma_t (with sqrt(1 - beta2^t), the "
        "paper) or from eta s_t (optax)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t (a warmup)")
    name = "schedule_free_adamw"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return DOMAINS

    def for_horizon(self, T: int) -> ScheduleFree:
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def schedule_values(self, steps: Any) -> Any:
        return self.schedule.values(steps)

    def init(self, w1: Any, xp: ModuleType | None = None) -> ScheduleFreeState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        zero = xp.zeros((w.shape[0],), dtype=xp.float64)
        return ScheduleFreeState(w, 0, w, w, xp.zeros(w.shape, dtype=xp.float64), zero, zero)

    def update(self, state: ScheduleFreeState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, ScheduleFreeState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        y = state.w
        v = self.beta2 * state.v + (1 - self.beta2) * g * g
        base = per_row(self.eta, g.shape[0], xp) * self.schedule.value(t)  # (R,)
        correction = math.sqrt(1 - self.beta2**t)
        gamma = base * correction
        denom = xp.sqrt(v) + self.eps
        direction = xp.where(denom > 0, g / xp.where(denom > 0, denom, 1.0), 0.0)
        z = self.project(state.z - gamma[:, None] * (direction + self.weight_decay * y),
                         None, xp)
        gamma_max = xp.maximum(state.gamma_max, gamma if self.weight_bias_corrected else base)
        weight = gamma_max * gamma_max
        weight_sum = state.weight_sum + weight
        c = xp.where(weight_sum > 0, weight / xp.where(weight_sum > 0, weight_sum, 1.0), 0.0)
        x = (1 - c[:, None]) * state.x + c[:, None] * z
        y_next = (1 - self.beta1) * z + self.beta1 * x
        return y_next, ScheduleFreeState(y_next, t, z, x, v, weight_sum, gamma_max)

    def shadow(self, state: ScheduleFreeState) -> Any:
        """The averaged sequence x_t at the round where ``state.w = y_t`` is played."""
        return state.x

    def geometry(self, state: ScheduleFreeState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="schedule-free AdamW: plays an interpolation of an average "
            "and a preconditioned iterate: not mirror descent with g_t",
            state_floats=2 * d, parameters=BoundParameters(eta=self.eta, eps=self.eps))
