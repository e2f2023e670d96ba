"""AdamNMF (Appendix K.2, corrected: errata E18-E21): a rank-r factored second moment
updated by one blockwise EM step of I-divergence NMF per iteration.

For a matrix parameter (R, m, n), ``C_t = G_t^2`` and factors ``A`` (m x r), ``B``
(r x n) initialized iid Unif(0, eps_init) (strictly positive), one *blockwise* round::

    A_t = A ⊙ ((C ⊘ (A B)) B^T) ⊘ (1_m (B 1_n)^T)        update A first,
    B_t = B ⊙ (A_t^T (C ⊘ (A_t B))) ⊘ ((A_t^T 1_m) 1_n^T)  then B from the new A
    W_{t+1} = Proj(W_t - eta G_t ⊘ (sqrt(A_t B_t) + eps))

The notes' (96) updates both factors from the old pair at once; that does not preserve
the total mass and diverges (E20). The blockwise round keeps ``sum(A_t B_t) = sum(G_t^2)``
after every step (tested). Factors are floored at ``FACTOR_FLOOR`` and the denominators
guarded, since a rank-2 component can underflow to 0 and give 0/0 (THEORY.md 2.7).
There is no averaging over time: for r = 1 and rank-1 G_t the step is ``eta sign(G_t)``.
Mirror-descent form ``A_t = diag(vec(sqrt(A_t B_t)) + eps)``, not monotone. State:
(m + n) r floats. The initial factors are drawn per repetition from
``SeedSequence(entropy=seed, spawn_key=(repetition,))``.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device
from occ.learners.base import LearnerConfig, matrix_view, per_row, vector_view
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Integer, Real, param
from occ.regularizers import DiagonalPrecision

FACTOR_FLOOR = 1e-150


class AdamNMFState(NamedTuple):
    w: Any
    count: int
    A: Any  # (R, m, r)
    B: Any  # (R, r, n)
    p: Any  # (R, m n)


def _guarded(numerator: Any, denominator: Any, xp: ModuleType) -> Any:
    """``numerator / denominator`` with 0 where the denominator is 0 (0/0 guarded)."""
    return xp.where(denominator > 0, numerator / xp.where(denominator > 0, denominator, 1.0),
                    0.0)


@dataclasses.dataclass(frozen=True)
class AdamNMF(LearnerConfig):
    """AdamNMF with the blockwise EM step; see the module docstring."""

    eta: Any = param(0.01, Real(0, low_open=True), "step size")
    rank: int = param(1, Integer(low=1), "rank r of the factored second moment")
    eps: Any = param(1e-8, Real(0, per_row=False), "denominator epsilon")
    eps_init: Any = param(1e-2, Real(0, low_open=True, per_row=False),
                          "initial factors iid Unif(0, eps_init)")
    seed: int = param(0, Integer(low=0), "seed of the initial factors")
    shape: Any = dataclasses.field(default=None, compare=False)
    repetitions: Any = dataclasses.field(default=None, compare=False)
    name = "adam_nmf"
    matrix = True

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("unconstrained", "ball", "box")

    def _initial_factors(self, R: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        reps = np.arange(R) if self.repetitions is None else np.asarray(self.repetitions)
        A = np.empty((R, m, self.rank))
        B = np.empty((R, self.rank, n))
        for row, k in enumerate(reps.tolist()):
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(k),)))
            A[row] = rng.uniform(0, self.eps_init, size=(m, self.rank))
            B[row] = rng.uniform(0, self.eps_init, size=(self.rank, n))
        return np.maximum(A, FACTOR_FLOOR), np.maximum(B, FACTOR_FLOOR)

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdamNMFState:
        xp = self._xp(xp, w1)
        w, (R, m, n) = self._matrix_start(w1, xp)
        A, B = self._initial_factors(R, m, n)
        return AdamNMFState(w, 0, to_device(A, xp), to_device(B, xp),
                            xp.zeros((R, m * n), dtype=xp.float64))

    def update(self, state: AdamNMFState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdamNMFState]:
        xp = self._xp(xp, g)
        G, was_matrix = matrix_view(g, self.shape, xp)
        R, m, n = G.shape
        C = G * G
        A, B = state.A, state.B
        ratio = _guarded(C, A @ B, xp)
        A = A * _guarded(ratio @ xp.matrix_transpose(B),
                         xp.sum(B, axis=-1)[:, None, :] * xp.ones_like(A), xp)
        A = xp.maximum(A, FACTOR_FLOOR)
        ratio = _guarded(C, A @ B, xp)  # recompute with the new A (blockwise EM)
        B = B * _guarded(xp.matrix_transpose(A) @ ratio,
                         xp.sum(A, axis=-2)[:, :, None] * xp.ones_like(B), xp)
        B = xp.maximum(B, FACTOR_FLOOR)
        denom = xp.sqrt(A @ B) + self.eps
        eta = per_row(self.eta, R, xp)
        p = xp.reshape(denom, (R, m * n)) / eta[:, None]
        precision = DiagonalPrecision(p)
        step = precision.solve(vector_view(G, False, xp), xp)
        w_next = self._matrix_step(state.w, step, precision, was_matrix, xp)
        return w_next, AdamNMFState(w_next, state.count + 1, A, B, p)

    def geometry(self, state: AdamNMFState) -> DiagonalPrecision:
        return DiagonalPrecision(state.p)

    def state_floats(self, m: int, n: int) -> int:
        return (m + n) * self.rank

    def facts(self, d: int) -> LearnerFacts:
        m, n = self.shape if self.shape is not None else (d, 1)
        return self._facts(geometry="diagonal",
                           projection_exact=self.projection_exact("diagonal"),
                           matrix_shape=(m, n), state_floats=self.state_floats(m, n),
                           parameters=BoundParameters(eta=self.eta, eps=self.eps))
