"""Exponentiated gradient: mirror descent on the simplex with the negative entropy (53),
the multiplicative update (60).

``log w_{t+1} = log w_t - eta_t g_t - logsumexp(log w_t - eta_t g_t)``, computed in log
space so that any ``|eta g|`` (tested to 1e3 and beyond) keeps every weight finite and
the weights summing to 1: no overflow, and no underflow to an all-zero vector.
``w_1`` is uniform. Step sizes (THEORY.md section 3, EG bounds):

* ``constant``: ``eta``;
* ``tuned``: ``eta = sqrt(2 log d / (L_inf^2 T))`` for gradients with
  ``||g_t||_inf <= L_inf`` over the horizon T (bound ``L_inf sqrt(2 T log d)``);
* ``anytime``: ``eta_t = sqrt(2 log d / (L_inf^2 t))`` (no horizon needed);
* ``hindsight``: ``eta = sqrt(2 log d / sum_t ||g_t||_inf^2)`` from a first pass
  (oblivious adversaries), bound ``sqrt(2 log d sum_t ||g_t||_inf^2)``.

Geometry: KL, not the A-weighted family: the psi is 1-strongly convex w.r.t. the l1 norm
on the simplex (Pinsker), the dual norm is l_inf, and ``D_psi(u, w) = KL(u, w)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Integer, Real, param

STEPS = ("constant", "tuned", "anytime", "hindsight")


@dataclass(frozen=True)
class KLGeometry:
    """The KL geometry of one EG step: ``eta_t`` (R,) and ``log w_t``, ``log w_{t+1}``."""

    eta: Any
    log_w: Any
    log_w_next: Any
    kind = "kl"


class EGState(NamedTuple):
    w: Any  # (R, d) weights to play next
    count: int
    log_w: Any  # (R, d) their logarithms (exact, never -inf)
    log_w_previous: Any  # (R, d) log w_t of the last step
    eta: Any  # (R,) eta_t of the last step


def logsumexp(x: Any, xp: ModuleType) -> Any:
    """``log sum_i exp(x_i)`` over the last axis, stable for any finite x."""
    top = xp.max(x, axis=-1, keepdims=True)
    return xp.squeeze(top, axis=-1) + xp.log(xp.sum(xp.exp(x - top), axis=-1))


@dataclasses.dataclass(frozen=True)
class EG(LearnerConfig):
    """Exponentiated gradient (60) on the simplex, in log space."""

    step: str = param("tuned", Choice(STEPS), "step-size rule")
    eta: Any = param(0.1, Real(0, low_open=True), "constant step size (step = constant)")
    L_inf: Any = param(1.0, Real(0, low_open=True), "a priori bound on ||g_t||_inf")
    horizon: Any = param(None, Integer(low=1), "T for step = tuned (default: the run's T)")
    name = "eg"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("simplex",)

    @property
    def needs_hindsight(self) -> bool:
        return self.step == "hindsight" and not isinstance(self.eta, np.ndarray)

    def with_hindsight(self, hindsight: Any) -> EG:
        d = hindsight.coordinate_squares.shape[-1]
        eta = np.sqrt(2 * math.log(d) / np.where(hindsight.S_inf > 0, hindsight.S_inf, 1.0))
        return self.replace(eta=eta)

    def for_horizon(self, T: int) -> EG:
        return self if self.horizon is not None else self.replace(horizon=T)

    def step_size(self, t: int, R: int, d: int, xp: ModuleType) -> Any:
        if self.step in ("constant", "hindsight"):
            return per_row(self.eta, R, xp)
        if self.step == "tuned" and self.horizon is None:
            raise ParameterError("horizon", "step 'tuned' needs the horizon T")
        n = self.horizon if self.step == "tuned" else t
        return math.sqrt(2 * math.log(d) / n) / per_row(self.L_inf, R, xp)

    def init(self, w1: Any, xp: ModuleType | None = None) -> EGState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        log_w = xp.zeros((R, d), dtype=xp.float64) - math.log(d)
        return EGState(xp.exp(log_w), 0, log_w, log_w, xp.zeros((R,), dtype=xp.float64))

    def update(self, state: EGState, g: Any, xp: ModuleType | None = None) -> tuple[Any, EGState]:
        xp = self._xp(xp, g)
        if self.needs_hindsight:
            raise ParameterError("step", "'hindsight' needs a first pass: run it through "
                                 "occ.run, or give eta per row")
        R, d = g.shape
        t = state.count + 1
        eta = self.step_size(t, R, d, xp)
        logits = state.log_w - eta[:, None] * g
        log_w = logits - logsumexp(logits, xp)[:, None]
        w = xp.exp(log_w)
        return w, EGState(w, t, log_w, state.log_w, eta)

    def geometry(self, state: EGState) -> KLGeometry:
        return KLGeometry(state.eta, state.log_w_previous, state.log_w)

    def facts(self, d: int) -> LearnerFacts:
        claims = {"eg_eq8", "eg_anytime"} | {
            "constant": {"eg_constant"}, "tuned": {"eg_constant", "eg_tuned"},
            "hindsight": {"eg_constant", "eg_hindsight"}, "anytime": set()}[self.step]
        return self._facts(geometry="kl", claims=frozenset(claims),
                           state_floats=0,  # the log-weights are the iterate
                           parameters=BoundParameters(L_inf=self.L_inf, log_d=math.log(d)))
