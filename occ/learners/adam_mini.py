"""Adam-mini (Zhang et al. 2024, "Adam-mini: Use Fewer Learning Rates To Gain More",
Algorithm 1; the notes' Section 5.2 TODO): Adam with one second moment per block.

The coordinates are partitioned into blocks b (below). For t = 1, 2, ...::

    m_t   = beta1 m_{t-1} + (1 - beta1) g_t                    (per coordinate)
    v_t,b = beta2 v_{t-1,b} + (1 - beta2) mean_{i in b} g_t,i^2  (one number per block)
    m^ = m_t/(1 - beta1^t),  v^_b = v_t,b/(1 - beta2^t)          (bias correction)
    w_{t+1,i} = Proj((1 - eta_t lambda) w_t,i - eta_t m^_i/(sqrt(v^_b(i)) + eps))

``eta_t = eta s_t`` (the schedule); epsilon outside the root, as Adam's Kingma-Ba form;
the weight decay is decoupled and multiplied by eta_t (the paper's ``- eta lambda w``).
A coordinate whose denominator is 0 (eps = 0, no gradient in its block yet) does not move.

Blocks: ``blocks`` gives one label per coordinate (coordinates with equal labels share a
second moment: a user partition); else ``block_size = k`` cuts the vector into
consecutive blocks of k (the last may be shorter): on a matrix parameter's row-major
vec(W) of shape (m, n), ``block_size = n`` makes the blocks the rows of W (the paper's
partition by output neuron); with neither, the whole parameter is one block. With
``block_size = 1`` Adam-mini is Adam.

Not mirror descent (momentum; with beta1 = 0 and no decay it would be diagonal mirror
descent with a non-monotone A_t, which is not declared): each bound row says why not.
The projection is Euclidean. State: m (d floats) and one v per block.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device
from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Integer, Real, RealVector, param
from occ.schedules import Schedule, ScheduleSpec

DOMAINS = ("unconstrained", "ball", "box")


class AdamMiniState(NamedTuple):
    w: Any  # (R, d)
    count: int
    m: Any  # (R, d) first moment
    v: Any  # (R, B) one second moment per block
    membership: Any  # (d, B) 0/1: coordinate i is in block b (a constant of the partition)


@dataclasses.dataclass(frozen=True)
class AdamMini(LearnerConfig):
    """Adam-mini; see the module docstring."""

    eta: Any = param(0.001, Real(0, low_open=True), "base step size (times the schedule)")
    beta1: Any = param(0.9, Real(0, 1, high_open=True, per_row=False), "first-moment decay")
    beta2: Any = param(0.999, Real(0, 1, high_open=True, per_row=False),
                       "second-moment decay, in [0, 1)")
    eps: Any = param(1e-8, Real(0, per_row=False), "denominator epsilon (outside the root)")
    weight_decay: Any = param(0.0, Real(0, per_row=False), "decoupled decay (times eta_t)")
    block_size: Any = param(None, Integer(low=1),
                            "consecutive blocks of this size (default: one block)")
    blocks: Any = param(None, RealVector(dimension=True),
                        "a block label per coordinate (overrides block_size)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t")
    name = "adam_mini"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return DOMAINS

    def for_horizon(self, T: int) -> AdamMini:
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def schedule_values(self, steps: Any) -> Any:
        return self.schedule.values(steps)

    def block_index(self, d: int) -> np.ndarray:
        """(d,) the block of each coordinate, numbered 0, 1, ... in order of appearance."""
        if self.blocks is not None:
            labels = np.asarray(self.blocks, dtype=float).reshape(-1)
            if labels.size not in (1, d):
                raise ParameterError("blocks", f"must have d = {d} labels (or be one "
                                     f"number), got {labels.size}")
            labels = np.broadcast_to(labels, (d,))
            _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
            order = np.argsort(np.argsort(first))  # number blocks by first appearance
            return order[inverse]
        size = self.block_size if self.block_size is not None else d
        return np.arange(d) // size

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdamMiniState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        index = self.block_index(d)
        B = int(index.max()) + 1
        membership = (index[:, None] == np.arange(B)[None, :]).astype(float)
        return AdamMiniState(w, 0, xp.zeros(w.shape, dtype=xp.float64),
                             xp.zeros((R, B), dtype=xp.float64), to_device(membership, xp))

    def update(self, state: AdamMiniState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdamMiniState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        M = state.membership
        sizes = xp.sum(M, axis=0)  # (B,)
        m = self.beta1 * state.m + (1 - self.beta1) * g
        v = self.beta2 * state.v + (1 - self.beta2) * ((g * g) @ M) / sizes
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        denom = (xp.sqrt(v_hat) + self.eps) @ xp.matrix_transpose(M)  # back to coordinates
        moved = denom > 0
        direction = xp.where(moved, m_hat / xp.where(moved, denom, 1.0), 0.0)
        eta_t = per_row(self.eta, g.shape[0], xp)[:, None] * self.schedule.value(t)
        y = (1 - eta_t * self.weight_decay) * state.w - eta_t * direction
        w_next = self.project(y, None, xp)
        return w_next, AdamMiniState(w_next, t, m, v, M)

    def geometry(self, state: AdamMiniState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        blocks = int(self.block_index(d).max()) + 1
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="Adam-mini: momentum with one second moment per block "
            "(a non-monotone, block-constant A_t): not mirror descent with g_t",
            state_floats=d + blocks, parameters=BoundParameters(eta=self.eta, eps=self.eps))
