"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2
and Program 1): the sign of an interpolated momentum, with decoupled weight decay.

For t = 1, 2, ... with m_0 = 0::

    c_t     = beta1 m_{t-1} + (1 - beta1) g_t          (interpolation, used for the step)
    w_{t+1} = Proj(w_t - eta_t (sign(c_t) + lambda w_t)),   eta_t = eta s_t
    m_t     = beta2 m_{t-1} + (1 - beta2) g_t          (the momentum that is kept)

``sign(0) = 0``. The decay is decoupled from the gradient but multiplied by the step size,
as in the paper's Program 1 (``update = sign(...) + wd * theta; theta -= lr * update``),
``optax.lion`` (``weight_decay`` added before ``scale_by_learning_rate``) and the authors'
PyTorch code (``p *= 1 - lr * wd``, the same number). No epsilon, no bias correction.
The projection is Euclidean.

Not mirror descent: a sign step of a momentum, so no bound of the notes applies (each
bound row says why). State: m, 1 float per coordinate.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Real, param
from occ.schedules import Schedule, ScheduleSpec

DOMAINS = ("unconstrained", "ball", "box")


class LionState(NamedTuple):
    w: Any  # (R, d)
    count: int
    m: Any  # (R, d) momentum (beta2)


@dataclasses.dataclass(frozen=True)
class Lion(LearnerConfig):
    """Lion; see the module docstring."""

    eta: Any = param(1e-4, Real(0, low_open=True), "base step size (times the schedule)")
    beta1: Any = param(0.9, Real(0, 1, per_row=False), "interpolation weight of the step")
    beta2: Any = param(0.99, Real(0, 1, per_row=False), "momentum decay")
    weight_decay: Any = param(0.0, Real(0, per_row=False), "decay lambda (times eta_t)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t")
    name = "lion"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return DOMAINS

    def for_horizon(self, T: int) -> Lion:
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def schedule_values(self, steps: Any) -> Any:
        return self.schedule.values(steps)

    def init(self, w1: Any, xp: ModuleType | None = None) -> LionState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        return LionState(w, 0, xp.zeros(w.shape, dtype=xp.float64))

    def update(self, state: LionState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, LionState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        c = self.beta1 * state.m + (1 - self.beta1) * g
        eta_t = per_row(self.eta, g.shape[0], xp)[:, None] * self.schedule.value(t)
        y = state.w - eta_t * (xp.sign(c) + self.weight_decay * state.w)
        w_next = self.project(y, None, xp)
        m = self.beta2 * state.m + (1 - self.beta2) * g
        return w_next, LionState(w_next, t, m)

    def geometry(self, state: LionState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="Lion: the sign of an interpolated momentum: not mirror "
            "descent with g_t", state_floats=d, parameters=BoundParameters(eta=self.eta))
