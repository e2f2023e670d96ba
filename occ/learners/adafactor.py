"""Adafactor (Section 5.1, corrected: errata E16-E17): a rank-1 factored second moment.

For a matrix parameter (R, m, n) (or its row-major vec with ``shape = (m, n)``)::

    C_t = G_t^2 + eps1                                   (eps1 keeps zero rows positive)
    a_t = beta a_{t-1} + (1 - beta) C_t 1_n              (row sums, in R^m)
    s_t = beta s_{t-1} + (1 - beta) C_t^T 1_m            (column sums, in R^n)
    V_t = a_t s_t^T / ((1 - beta^t) 1_m^T a_t)           (bias-corrected rank-1 I-divergence
                                                          NMF of the EMA of G^2)
    M_t = G_t (beta1 = 0), or the bias-corrected EMA of G_t
    W_{t+1} = Proj(W_t - eta M_t / (sqrt(V_t) + eps))

The original paper's extras (update clipping, relative step size, beta2_t = 1 - t^-0.8)
are not in the notes and not here. Mirror-descent form only with beta1 = 0:
``A_t = diag(vec(sqrt(V_t)) + eps)``, not monotone. State: m + n floats per matrix.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, matrix_view, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Real, param
from occ.regularizers import DiagonalPrecision


class AdafactorState(NamedTuple):
    w: Any
    count: int
    a: Any  # (R, m) row sums
    s: Any  # (R, n) column sums
    momentum: Any  # (R, m, n) (zeros when beta1 = 0)
    p: Any  # (R, m n) precision of the last step


@dataclasses.dataclass(frozen=True)
class Adafactor(LearnerConfig):
    """Adafactor without the paper's extras; see the module docstring."""

    eta: Any = param(0.01, Real(0, low_open=True), "step size")
    beta: Any = param(0.999, Real(0, 1, high_open=True, per_row=False), "second-moment decay")
    beta1: Any = param(0.0, Real(0, 1, high_open=True, per_row=False), "momentum (0: none)")
    eps: Any = param(1e-8, Real(0, per_row=False), "denominator epsilon")
    eps1: Any = param(1e-30, Real(0, per_row=False), "added to G^2 (keeps rows positive)")
    shape: Any = dataclasses.field(default=None, compare=False)
    name = "adafactor"
    matrix = True

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("unconstrained", "ball", "box")

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdafactorState:
        xp = self._xp(xp, w1)
        w, (R, m, n) = self._matrix_start(w1, xp)
        z = lambda *s: xp.zeros(s, dtype=xp.float64)  # noqa: E731
        return AdafactorState(w, 0, z(R, m), z(R, n), z(R, m, n), z(R, m * n))

    def update(self, state: AdafactorState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdafactorState]:
        xp = self._xp(xp, g)
        G, was_matrix = matrix_view(g, self.shape, xp)
        R, m, n = G.shape
        t = state.count + 1
        C = G * G + self.eps1
        a = self.beta * state.a + (1 - self.beta) * xp.sum(C, axis=-1)
        s = self.beta * state.s + (1 - self.beta) * xp.sum(C, axis=-2)
        total = (1 - self.beta**t) * xp.sum(a, axis=-1)
        V = a[:, :, None] * s[:, None, :] / total[:, None, None]
        if self.beta1 > 0:
            momentum = self.beta1 * state.momentum + (1 - self.beta1) * G
            M = momentum / (1 - self.beta1**t)
        else:
            momentum, M = state.momentum, G
        denom = xp.sqrt(V) + self.eps
        eta = per_row(self.eta, R, xp)
        p = xp.reshape(denom, (R, m * n)) / eta[:, None]
        step = xp.reshape(M / denom, (R, m * n)) * eta[:, None]
        w_next = self._matrix_step(state.w, step, DiagonalPrecision(p), was_matrix, xp)
        return w_next, AdafactorState(w_next, t, a, s, momentum, p)

    def geometry(self, state: AdafactorState) -> DiagonalPrecision | None:
        return DiagonalPrecision(state.p) if self.beta1 == 0 else None

    def state_floats(self, m: int, n: int) -> int:
        return m + n + (m * n if self.beta1 > 0 else 0)

    def facts(self, d: int) -> LearnerFacts:
        m, n = self.shape if self.shape is not None else (d, 1)
        md = self.beta1 == 0
        return self._facts(
            geometry="diagonal" if md else "none",
            not_mirror_descent="" if md else "momentum: not mirror descent with g_t",
            projection_exact=self.projection_exact("diagonal") if md else False,
            matrix_shape=(m, n), state_floats=self.state_floats(m, n),
            parameters=BoundParameters(eta=self.eta, eps=self.eps))
