"""Online Newton Step (Hazan, Agarwal, Kale 2007, "Logarithmic regret algorithms for
online convex optimization", Machine Learning 69, Algorithm 2 / Theorem 2) on the simplex.

``A_t = eps I + sum_{s<=t} g_s g_s^T``, ``y_{t+1} = w_t - (1/gamma) A_t^{-1} g_t`` and
``w_{t+1} = argmin_{w in simplex} (w - y_{t+1})^T A_t (w - y_{t+1})``, the generalized
projection, solved exactly (:mod:`occ.simplex_qp`, certificate recorded as the largest
Frank-Wolfe gap). This is mirror descent (8) with the precision ``P_t = gamma A_t``,
monotone by construction, so (8), (10), (18) apply too.

For alpha-exp-concave losses (``exp(-alpha l_t)`` concave; the log-wealth loss has
alpha = 1), ``||g_t|| <= G`` and a domain of diameter D, the paper's constants are
``gamma = 1/2 min(1/(4 G D), alpha)`` and ``eps = 1/(gamma^2 D^2)`` (the defaults here),
and its proof gives, for every comparator u (THEORY-style chain, each link a bound occ
checks; see :mod:`occ.bounds`, ``ons*``):

* ``ons``: ``R_T <= 1/(2 gamma) sum_t g_t^T A_t^{-1} g_t + gamma eps/2 ||w_1 - u||^2``
  wherever ``2 gamma <= alpha`` and ``2 gamma |g_t^T (w_t - u)| <= 1/4`` (Lemma 3; occ
  checks the latter through the measured ``2 gamma L D <= 1/4``);
* ``ons_log``: the same with ``sum_t g_t^T A_t^{-1} g_t <= log det(A_T)/det(A_0) <=
  d log(1 + S_T/(d eps))`` (Lemma 11 and AM-GM on the eigenvalues, S_T = sum ||g_t||^2);
* ``ons_theorem``: ``5 (1/alpha + G D) d log T`` (Theorem 2, for T >= 3) with the default
  gamma and eps, where ``L <= G``.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device, to_host
from occ.learners.base import LearnerConfig, as_batch
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Real, param
from occ.regularizers import FullPrecision, decompose
from occ.simplex_qp import simplex_quadratic_projection


class ONSState(NamedTuple):
    w: Any  # (R, d) the iterate to play next
    count: int
    A: Any  # (R, d, d) eps I + sum g g^T
    Q: Any  # (R, d, d) eigenvectors of the last precision gamma A_t
    lam: Any  # (R, d) its eigenvalues
    error: Any  # (R,) their round-off bound
    projection_gap: float  # the largest Frank-Wolfe gap of the projections so far


@dataclasses.dataclass(frozen=True)
class ONS(LearnerConfig):
    """Online Newton Step on the simplex (Hazan, Agarwal, Kale 2007)."""

    alpha: float = param(1.0, Real(0, low_open=True, per_row=False),
                         "exp-concavity of the losses the bounds assume (log-wealth: 1)")
    G: float = param(1.0, Real(0, low_open=True, per_row=False),
                     "a priori bound on ||g_t||_2 (the theorem's G)")
    gamma: Any = param(None, Real(0, low_open=True, per_row=False),
                       "step parameter (default 1/2 min(1/(4 G D), alpha))")
    eps: Any = param(None, Real(0, low_open=True, per_row=False),
                     "A_0 = eps I (default 1/(gamma^2 D^2))")
    name = "ons"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("simplex",)

    def diameter(self, d: int) -> float:
        return self.domain.diameter(d)

    def step_gamma(self, d: int) -> float:
        if self.gamma is not None:
            return float(self.gamma)
        return 0.5 * min(1.0 / (4.0 * self.G * self.diameter(d)), self.alpha)

    def start(self, d: int) -> float:
        if self.eps is not None:
            return float(self.eps)
        return 1.0 / (self.step_gamma(d) ** 2 * self.diameter(d) ** 2)

    def init(self, w1: Any, xp: ModuleType | None = None) -> ONSState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        eye = xp.eye(d, dtype=xp.float64)
        eps, gamma = self.start(d), self.step_gamma(d)
        A = xp.zeros((R, d, d), dtype=xp.float64) + eps * eye
        return ONSState(w, 0, A, xp.zeros((R, d, d), dtype=xp.float64) + eye,
                        xp.full((R, d), gamma * eps, dtype=xp.float64),
                        xp.zeros((R,), dtype=xp.float64), 0.0)

    def update(self, state: ONSState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, ONSState]:
        xp = self._xp(xp, g)
        R, d = g.shape
        gamma = self.step_gamma(d)
        A = state.A + g[:, :, None] * g[:, None, :]
        P = gamma * A
        # every eigenvalue of gamma A_t is >= gamma eps exactly: the floor keeps round-off
        # from turning one into a pseudo-inverse's zero
        Q, lam, error = decompose(P, 1.0, gamma * self.start(d), xp)
        precision = FullPrecision(Q, lam, error)
        y = state.w - precision.solve(g, xp)
        w_next, gaps = simplex_quadratic_projection(to_host(y), to_host(P), to_host(state.w))
        gap = max(state.projection_gap, float(np.max(gaps)) if gaps.size else 0.0)
        w_next = to_device(w_next, xp)
        return w_next, ONSState(w_next, state.count + 1, A, Q, lam, error, gap)

    def geometry(self, state: ONSState) -> FullPrecision:
        return FullPrecision(state.Q, state.lam, state.error)

    def facts(self, d: int) -> LearnerFacts:
        claims = {"ons", "ons_log"}
        if self.gamma is None and self.eps is None:
            claims.add("ons_theorem")
        return self._facts(
            geometry="full", monotone="by_construction", projection_exact=True,
            claims=frozenset(claims), state_floats=d * d,  # A_t
            parameters=BoundParameters(eta=1.0 / self.step_gamma(d), eps=self.start(d),
                                       alpha=self.alpha, G=self.G, D=self.diameter(d),
                                       log_d=math.log(d)))
