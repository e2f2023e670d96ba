"""Muon (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks",
kellerjordan.github.io/posts/muon; github.com/KellerJordan/Muon): momentum orthogonalized
by a Newton-Schulz iteration, for matrix parameters W of shape (m, n).

For t = 1, 2, ... with B_0 = 0::

    B_t = beta B_{t-1} + (1 - beta) G_t                   (EMA momentum)
    M_t = (1 - beta) G_t + beta B_t  (nesterov)  or  B_t
        (bias_correction, optax's form: beta B_t/(1 - beta^(t+1)) + (1 - beta) G_t/(1 - beta^t),
         or B_t/(1 - beta^t) without Nesterov)
    O_t = NS_5(M_t):  X = M/(||M||_F + eps)  (transposed first when m > n), then 5 times
          A = X X^T,  X = a X + (b A + c A^2) X,  (a, b, c) = (3.4445, -4.7750, 2.0315)
    W_{t+1} = Proj((1 - eta_t lambda) W_t - eta_t scale O_t),  eta_t = eta s_t

The quintic's coefficients maximize its slope at 0; five iterations map every singular
value of X into roughly [0.7, 1.2], an approximate U V^T of the SVD M = U S V^T (not exact:
that is the published algorithm). ``lr_scale``: ``original`` scale = sqrt(max(1, m/n))
(Jordan's code and torch.optim.Muon's default ``adjust_lr_fn="original"``, A/B = rows over
columns), ``moonlight`` scale = 0.2 sqrt(max(m, n)) (Liu et al. 2025, "Muon is Scalable for
LLM Training": the update's RMS matched to AdamW's; torch's ``"match_rms_adamw"``, optax's
``consistent_rms=0.2``), ``none`` scale = 1. The decay is decoupled and multiplied by the
unscaled eta_t (torch, optax and Jordan's code agree).

Library conventions (checked in the installed sources, torch 2.13 ``torch/optim/_muon.py``
and optax 0.2.8 ``optax/contrib/_muon.py``): torch's momentum is this EMA
(``buf.lerp_(grad, 1 - momentum)``, Nesterov ``grad.lerp(buf, momentum)``), its
normalization ``X/max(||X||_F, eps)`` (eps = 1e-7) and it runs the iteration in
bfloat16; optax bias-corrects the momentum (``bias_correction = true`` here), normalizes
by ``||X||_F + eps`` (eps = 1e-8) and, its weights acting as ``x W``, scales by
sqrt(max(1, n/m)) for W of shape (m, n): optax on W^T is occ on W.

On a 1 x 1 matrix NS_5 maps M to sign(M) p^5(|M|/(|M| + eps)) with p(s) = a s + b s^3 +
c s^5 (p^5(1) = 0.6964 at eps = 0): Muon is then signum, the sign of the momentum, with step
0.6964 eta_t. Not mirror descent (momentum, and an orthogonalized direction): each bound
row says why not. The projection is Euclidean (Frobenius). State: B, m n floats.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, matrix_view, per_row, vector_view
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Boolean, Choice, Integer, Real, param
from occ.schedules import Schedule, ScheduleSpec

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""Jordan's quintic Newton-Schulz coefficients (a, b, c) (torch, optax: the same)."""
LR_SCALES = ("original", "moonlight", "none")


def newton_schulz(M: Any, steps: int, eps: float, xp: ModuleType) -> Any:
    """``NS_steps(M)`` of a batch (R, m, n): Frobenius-normalized, then the quintic."""
    a, b, c = NS_COEFFICIENTS
    transposed = M.shape[-2] > M.shape[-1]
    X = xp.matrix_transpose(M) if transposed else M
    norm = xp.sqrt(xp.sum(X * X, axis=(-2, -1)))[:, None, None] + eps
    X = xp.where(norm > 0, X / xp.where(norm > 0, norm, 1.0), 0.0)
    for _ in range(steps):
        A = X @ xp.matrix_transpose(X)
        X = a * X + (b * A + c * (A @ A)) @ X
    return xp.matrix_transpose(X) if transposed else X


class MuonState(NamedTuple):
    w: Any  # (R, m n) or (R, m, n): the caller's layout
    count: int
    B: Any  # (R, m, n) momentum


@dataclasses.dataclass(frozen=True)
class Muon(LearnerConfig):
    """Muon; see the module docstring."""

    eta: Any = param(0.02, Real(0, low_open=True), "base step size (times the schedule)")
    beta: Any = param(0.95, Real(0, 1, high_open=True, per_row=False), "momentum decay")
    nesterov: bool = param(True, Boolean(), "Nesterov momentum (1 - beta) G + beta B")
    bias_correction: bool = param(False, Boolean(), "divide by 1 - beta^t (optax)")
    ns_steps: int = param(5, Integer(low=0, high=20), "Newton-Schulz iterations")
    eps: Any = param(1e-7, Real(0, per_row=False), "X = M / (||M||_F + eps)")
    lr_scale: str = param("original", Choice(LR_SCALES),
                          "sqrt(max(1, m/n)), 0.2 sqrt(max(m, n)) or 1")
    weight_decay: Any = param(0.0, Real(0, per_row=False), "decoupled decay (times eta_t)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t")
    shape: Any = dataclasses.field(default=None, compare=False)
    name = "muon"
    matrix = True

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("unconstrained", "ball", "box")

    def for_horizon(self, T: int) -> Muon:
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def schedule_values(self, steps: Any) -> Any:
        return self.schedule.values(steps)

    def scale(self, m: int, n: int) -> float:
        if self.lr_scale == "original":
            return math.sqrt(max(1.0, m / n))
        if self.lr_scale == "moonlight":
            return 0.2 * math.sqrt(max(m, n))
        return 1.0

    def init(self, w1: Any, xp: ModuleType | None = None) -> MuonState:
        xp = self._xp(xp, w1)
        w, (R, m, n) = self._matrix_start(w1, xp)
        return MuonState(w, 0, xp.zeros((R, m, n), dtype=xp.float64))

    def update(self, state: MuonState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, MuonState]:
        xp = self._xp(xp, g)
        G, was_matrix = matrix_view(g, self.shape, xp)
        R, m, n = G.shape
        t = state.count + 1
        beta = self.beta
        B = beta * state.B + (1 - beta) * G
        if self.bias_correction and self.nesterov:
            M = beta * B / (1 - beta ** (t + 1)) + (1 - beta) * G / (1 - beta**t)
        elif self.bias_correction:
            M = B / (1 - beta**t)
        else:
            M = (1 - beta) * G + beta * B if self.nesterov else B
        O = newton_schulz(M, self.ns_steps, float(self.eps), xp)  # noqa: E741
        eta_t = per_row(self.eta, R, xp)[:, None] * self.schedule.value(t)
        W = xp.reshape(state.w, (R, m * n))
        step = eta_t * (self.scale(m, n) * vector_view(O, False, xp) + self.weight_decay * W)
        w_next = self._matrix_step(state.w, step, None, was_matrix, xp)
        return w_next, MuonState(w_next, t, B)

    def geometry(self, state: MuonState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        m, n = self.shape if self.shape is not None else (d, 1)
        return self._facts(
            geometry="none", projection_exact=False, matrix_shape=(m, n),
            not_mirror_descent="Muon: momentum orthogonalized by Newton-Schulz: not "
            "mirror descent with g_t", state_floats=m * n,
            parameters=BoundParameters(eta=self.eta))
