"""RMSProp (38), Adam (39), AMSGrad (4.2) and AdamW (4.3-4.4), with the notes' errata fixed.

The step, for t = 1, 2, ... (THEORY.md sections 2.4-2.5)::

    g~    = g_t + lambda w_t                     (L2 weight decay: adam, rmsprop, amsgrad)
    m_t   = beta1 m_{t-1} + (1 - beta1) g~,      v_t = beta2 v_{t-1} + (1 - beta2) g~^2
    m^, v^ = m_t/(1 - beta1^t), v_t/(1 - beta2^t)   (bias_correction; else m_t, v_t)
    AMSGrad: v^ = max(v^_{t-1}, v^) (the notes and optax: max of the bias-corrected v), or
             with max_before_bias_correction, vmax = max(vmax, v_t), v^ = vmax/(1 - beta2^t)
             (PyTorch's order; then A_t is not monotone: the divisor shrinks)
    denom = sqrt(v^) + eps  (default: Kingma & Ba, PyTorch, the 4.4 pseudocode)
            or sqrt(v^ + eps) with eps_inside_sqrt (Section 4.1; optax's eps_root)
    eta_t = eta s_t  (the schedule)
    Adam, RMSProp, AMSGrad:  w_{t+1} = Proj(w_t - eta_t m^/denom)
    AdamW, decoupled (4.4, sign corrected, Loshchilov & Hutter): the decay is s_t lambda,
        not multiplied by eta:  w_{t+1} = Proj((1 - s_t lambda) w_t - eta_t m^/denom)
    AdamW, coupled (PyTorch's AdamW): w_{t+1} = Proj(w_t - eta_t (m^/denom + lambda w_t))

``rmsprop`` is the notes' (38): Adam without bias correction (the Tieleman-Hinton RMSProp
has beta1 = 0, the default here; beta1 > 0 adds momentum). A coordinate whose
denominator is 0 (no gradient yet, eps = 0) does not move. A step where the schedule is
0 (a decay to ``final = 0`` at its horizon) is no step; its ``P_t`` is infinite and the
bounds at that checkpoint are reported as not applicable. ``v0`` is an initial value of
the second-moment accumulator (0 in every library's Adam).

Mirror-descent form: only with beta1 = 0 and no weight decay, ``A_t = diag(denom)``,
``P_t = A_t / eta_t`` (the projection uses this geometry in every case). With momentum or
weight decay the step is not mirror descent with gradient g_t and no bound of the notes
applies: the results say "not applicable".
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.params import Boolean, Real, param, validate
from occ.regularizers import DiagonalPrecision
from occ.schedules import Schedule, ScheduleSpec


class AdamState(NamedTuple):
    w: Any  # (R, d)
    count: int
    m: Any  # (R, d) first moment
    v: Any  # (R, d) second moment
    vmax: Any  # (R, d) AMSGrad's running maximum (zeros otherwise)
    p: Any  # (R, d) denom / eta_t of the last step


@dataclasses.dataclass(frozen=True)
class Adam(LearnerConfig):
    """Adam (39) with bias correction; see the module docstring for every flag."""

    eta: Any = param(0.01, Real(0, low_open=True), "base step size (times the schedule)")
    beta1: Any = param(0.9, Real(0, 1, high_open=True), "first-moment decay, in [0, 1)")
    beta2: Any = param(0.999, Real(0, 1, high_open=True), "second-moment decay, in [0, 1)")
    eps: Any = param(1e-8, Real(0), "denominator epsilon")
    weight_decay: Any = param(0.0, Real(0), "L2 weight decay lambda (g + lambda w)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t")
    bias_correction: bool = param(True, Boolean(), "divide the moments by 1 - beta^t")
    eps_inside_sqrt: bool = param(False, Boolean(), "sqrt(v + eps) instead of sqrt(v) + eps")
    v0: Any = param(0.0, Real(0), "initial value of the second-moment accumulator")
    name = "adam"
    amsgrad = False
    max_before_bias_correction = False
    decoupled = False

    def __post_init__(self) -> None:
        validate(self)

    def for_horizon(self, T: int) -> Adam:
        """The learner with its schedule's horizon bound to the run's T where unset."""
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdamState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        zeros = xp.zeros(w.shape, dtype=xp.float64)
        v = zeros + per_row(self.v0, w.shape[0], xp)[:, None]
        return AdamState(w, 0, zeros, v, zeros, zeros)

    def _decay_is_weight_decay(self) -> bool:
        """AdamW decays the iterate; the others add lambda w to the gradient (L2)."""
        return False

    def update(self, state: AdamState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdamState]:
        xp = self._xp(xp, g)
        R = g.shape[0]
        t = state.count + 1
        col = lambda v: per_row(v, R, xp)[:, None]  # noqa: E731
        beta1, beta2, lam = col(self.beta1), col(self.beta2), col(self.weight_decay)
        w = state.w
        if not self._decay_is_weight_decay():
            g = g + lam * w
        m = beta1 * state.m + (1 - beta1) * g
        v = beta2 * state.v + (1 - beta2) * g * g
        correct1 = 1 - beta1**t if self.bias_correction else 1.0
        correct2 = 1 - beta2**t if self.bias_correction else 1.0
        m_hat = m / correct1
        vmax = state.vmax
        if self.amsgrad and self.max_before_bias_correction:
            vmax = xp.maximum(vmax, v)
            v_hat = vmax / correct2
        elif self.amsgrad:
            vmax = xp.maximum(vmax, v / correct2)
            v_hat = vmax
        else:
            v_hat = v / correct2
        eps = col(self.eps)
        denom = xp.sqrt(v_hat + eps) if self.eps_inside_sqrt else xp.sqrt(v_hat) + eps
        s_t = self.schedule.value(t)
        eta_t = col(self.eta) * s_t
        step = xp.where(denom > 0, m_hat / xp.where(denom > 0, denom, 1.0), 0.0)
        if self._decay_is_weight_decay():
            if self.decoupled:
                y = (1 - s_t * lam) * w - eta_t * step
            else:
                y = w - eta_t * (step + lam * w)
        else:
            y = w - eta_t * step
        if s_t > 0:
            p = denom / eta_t
            w_next = self.project(y, DiagonalPrecision(p), xp)
        else:  # the schedule is at 0: no step (w stays in V), infinite precision
            p = xp.full(denom.shape, np.inf, dtype=xp.float64)
            w_next = y
        return w_next, AdamState(w_next, t, m, v, vmax, p)

    def mirror_descent_form(self) -> bool:
        return bool(np.all(np.asarray(self.beta1) == 0)
                    and np.all(np.asarray(self.weight_decay) == 0))

    def geometry(self, state: AdamState) -> DiagonalPrecision | None:
        return DiagonalPrecision(state.p) if self.mirror_descent_form() else None

    def bound_info(self, d: int) -> dict[str, Any]:
        md = self.mirror_descent_form()
        return {"family": self.name, "mirror_descent": md, "constant_A": False,
                "state_floats": (3 if self.amsgrad else 2) * d,  # m, v (and v max)
                "projection_exact": self.projection_exact("diagonal") if md else False,
                "not_mirror_descent": None if md else (
                    "momentum (beta1 > 0) or weight decay: not mirror descent with g_t")}


@dataclasses.dataclass(frozen=True)
class RMSProp(Adam):
    """RMSProp as the notes' (38): Adam without bias correction, beta1 = 0 by default."""

    beta1: Any = param(0.0, Real(0, 1, high_open=True), "momentum (first-moment decay)")
    beta2: Any = param(0.99, Real(0, 1, high_open=True), "second-moment decay, in [0, 1)")
    bias_correction: bool = param(False, Boolean(), "divide the moments by 1 - beta^t")
    name = "rmsprop"


@dataclasses.dataclass(frozen=True)
class AMSGrad(Adam):
    """AMSGrad: the running maximum of the second moment (Reddi et al. 2018; notes 4.2)."""

    max_before_bias_correction: bool = param(
        False, Boolean(), "max of the raw v, then bias-correct (PyTorch); default: max of "
        "the bias-corrected v (the notes, optax; keeps A_t monotone)")
    name = "amsgrad"
    amsgrad = True


@dataclasses.dataclass(frozen=True)
class AdamW(Adam):
    """AdamW (Section 4.4, sign corrected): decoupled decay ``s_t lambda`` by default,
    or the coupled ``eta_t lambda`` of PyTorch's AdamW."""

    weight_decay: Any = param(0.01, Real(0), "weight decay lambda_max")
    decoupled: bool = param(True, Boolean(), "decay s_t lambda (true) or eta_t lambda (false)")
    name = "adamw"

    def _decay_is_weight_decay(self) -> bool:
        return True
