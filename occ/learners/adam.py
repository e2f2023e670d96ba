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

from occ.elementwise import maximum, sqrt, where
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, KernelStep, LearnerFacts, StepArguments
from occ.params import Boolean, Real, param
from occ.regularizers import DiagonalPrecision
from occ.schedules import Schedule, ScheduleSpec

DECAY_NONE, DECAY_DECOUPLED, DECAY_COUPLED = 0, 1, 2
"""How weight decay enters (``flags[4]``): as L2 (``g + lambda w``, adam, rmsprop, amsgrad)
or as AdamW's decay of the iterate, decoupled (``s_t lambda``) or coupled (``eta_t lambda``)."""


def adam_row(t: int, s_t: Any, hyper: Any, flags: Any, row_state: Any,
             gg: Any) -> tuple[Any, Any]:
    """The step-level quantities of (39): ``eta_t = eta s_t``, the bias corrections
    ``1 - beta^t`` (or 1), the epsilons inside and outside the root, and the weight decay
    as L2, decoupled shrink ``1 - s_t lambda`` or coupled ``lambda``.
    ``hyper = (eta, beta1, beta2, eps, lambda)``, ``flags = (bias_correction,
    eps_inside_sqrt, amsgrad, max_before_bias_correction, decay)``."""
    eta, beta1, beta2, eps, lam = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
    bias, inside, decay = flags[0], flags[1], flags[4]
    correct1 = 1.0 - beta1**t if bias else 1.0
    correct2 = 1.0 - beta2**t if bias else 1.0
    l2 = lam if decay == DECAY_NONE else 0.0
    shrink = 1.0 - s_t * lam if decay == DECAY_DECOUPLED else 1.0
    coupled = lam if decay == DECAY_COUPLED else 0.0
    eps_in = eps if inside else 0.0
    eps_out = 0.0 if inside else eps
    eta_t = eta * s_t
    inverse_eta = 1.0 / where(eta_t > 0, eta_t, 1.0)
    # the corrections as a step size and a reciprocal: one division per coordinate, not three
    step = eta_t / correct1
    inverse_correct2 = 1.0 / correct2
    return (eta_t, inverse_eta, beta1, beta2, step, inverse_correct2, eps_in, eps_out, l2,
            shrink, coupled), row_state


def adam_coordinate(g: Any, w: Any, m: Any, v: Any, vmax: Any, c: Any, scalars: Any,
                    flags: Any) -> tuple[Any, Any, Any, Any, Any]:
    """One coordinate of (38)/(39)/AMSGrad/AdamW (module docstring): the moments, the
    (optional) running maximum, ``denom = sqrt(v^ + eps_in) + eps_out``, the step
    ``y = shrink w - (step m/denom + eta_t coupled w)`` with ``step = eta_t/(1 - beta1^t)``
    (``eta_t m^/denom`` as PyTorch's ``step_size = lr/bias_correction1`` computes it) and
    ``p = denom (1/eta_t)`` (infinite where ``eta_t = 0``: no step). ``v^ = v r2`` with the
    reciprocal ``r2 = 1/(1 - beta2^t)``: one division (``m/denom``) and one root per
    coordinate. A coordinate with ``denom = 0`` does not move."""
    (eta_t, inverse_eta, beta1, beta2, step, inverse_correct2, eps_in, eps_out, l2, shrink,
     coupled) = scalars
    amsgrad, raw_max = flags[2], flags[3]
    g = g + l2 * w
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    if amsgrad:  # a flag (a Python int on every path): plain Adam computes no maximum
        vmax = maximum(vmax, v if raw_max else v * inverse_correct2)
        v_hat = vmax * inverse_correct2 if raw_max else vmax
    else:
        v_hat = v * inverse_correct2
    denom = sqrt(v_hat + eps_in) + eps_out
    moved = denom > 0
    direction = where(moved, m / where(moved, denom, 1.0), 0.0)
    y = shrink * w - (step * direction + eta_t * coupled * w)
    p = where(eta_t > 0, denom * inverse_eta, np.inf)
    return y, m, v, vmax, p


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
    kernel_step = KernelStep(adam_row, adam_coordinate)
    amsgrad = False
    max_before_bias_correction = False
    decoupled = False

    def for_horizon(self, T: int) -> Adam:
        """The learner with its schedule's horizon bound to the run's T where unset."""
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def _decay(self) -> int:
        """AdamW decays the iterate; the others add lambda w to the gradient (L2)."""
        return DECAY_NONE

    def schedule_values(self, steps: np.ndarray) -> np.ndarray:
        return self.schedule.values(steps)

    def step_arguments(self, d: int) -> StepArguments:
        flags = (int(self.bias_correction), int(self.eps_inside_sqrt), int(self.amsgrad),
                 int(self.max_before_bias_correction), self._decay())
        return StepArguments(hyper=(self.eta, self.beta1, self.beta2, self.eps,
                                    self.weight_decay), flags=flags,
                             accumulators=(0.0, self.v0, 0.0))

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdamState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        zeros = xp.zeros(w.shape, dtype=xp.float64)
        v = zeros + per_row(self.v0, w.shape[0], xp)[:, None]
        return AdamState(w, 0, zeros, v, zeros, zeros)

    def update(self, state: AdamState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdamState]:
        xp = self._xp(xp, g)
        R, d = g.shape
        t = state.count + 1
        args = self.step_arguments(d)
        s_t = self.schedule.value(t)
        scalars, _ = adam_row(t, s_t, self._step_columns(args.hyper, R, xp), args.flags,
                              None, None)
        y, m, v, vmax, p = adam_coordinate(g, state.w, state.m, state.v, state.vmax, 1.0,
                                           scalars, args.flags)
        # a step where the schedule is 0 is no step: w stays in V, the precision is infinite
        w_next = self.project(y, DiagonalPrecision(p), xp) if s_t > 0 else y
        return w_next, AdamState(w_next, t, m, v, vmax, p)

    def mirror_descent_form(self) -> bool:
        return bool(np.all(np.asarray(self.beta1) == 0)
                    and np.all(np.asarray(self.weight_decay) == 0))

    def geometry(self, state: AdamState) -> DiagonalPrecision | None:
        return DiagonalPrecision(state.p) if self.mirror_descent_form() else None

    def _monotone(self) -> str:
        """AMSGrad in the notes' order with a non-increasing schedule is monotone: the
        running maximum of the bias-corrected ``v`` never decreases, nor does ``1/eta_t``."""
        nonincreasing = self.schedule.kind in ("constant", "inverse_sqrt")
        return ("by_construction" if self.amsgrad and not self.max_before_bias_correction
                and nonincreasing else "measured")

    def facts(self, d: int) -> LearnerFacts:
        md = self.mirror_descent_form()
        return self._facts(
            geometry="diagonal" if md else "none", monotone=self._monotone(),
            not_mirror_descent="" if md else (
                "momentum (beta1 > 0) or weight decay: not mirror descent with g_t"),
            projection_exact=self.projection_exact("diagonal") if md else False,
            state_floats=(3 if self.amsgrad else 2) * d,  # m, v (and v max)
            parameters=BoundParameters(eta=self.eta, eps=self.eps))


@dataclasses.dataclass(frozen=True)
class RMSProp(Adam):
    """RMSProp as the notes' (38): Adam without bias correction, beta1 = 0 by default."""

    beta1: Any = param(0.0, Real(0, 1, high_open=True), "momentum (first-moment decay)")
    beta2: Any = param(0.99, Real(0, 1, high_open=True), "second-moment decay, in [0, 1)")
    bias_correction: bool = param(False, Boolean(), "divide the moments by 1 - beta^t")
    name = "rmsprop"
    kernel_step = KernelStep(adam_row, adam_coordinate)


@dataclasses.dataclass(frozen=True)
class AMSGrad(Adam):
    """AMSGrad: the running maximum of the second moment (Reddi et al. 2018; notes 4.2)."""

    max_before_bias_correction: bool = param(
        False, Boolean(), "max of the raw v, then bias-correct (PyTorch); default: max of "
        "the bias-corrected v (the notes, optax; keeps A_t monotone)")
    name = "amsgrad"
    kernel_step = KernelStep(adam_row, adam_coordinate)
    amsgrad = True


@dataclasses.dataclass(frozen=True)
class AdamW(Adam):
    """AdamW (Section 4.4, sign corrected): decoupled decay ``s_t lambda`` by default,
    or the coupled ``eta_t lambda`` of PyTorch's AdamW."""

    weight_decay: Any = param(0.01, Real(0), "weight decay lambda_max")
    decoupled: bool = param(True, Boolean(), "decay s_t lambda (true) or eta_t lambda (false)")
    name = "adamw"
    kernel_step = KernelStep(adam_row, adam_coordinate)

    def _decay(self) -> int:
        return DECAY_DECOUPLED if self.decoupled else DECAY_COUPLED
