"""Adversaries for prediction with expert advice on the simplex: l_t(w) = g_t^T w with
g_t in [0, 1]^d the experts' losses."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import LinearAdversary, stack_streams
from occ.params import Real, param


@dataclass(frozen=True)
class ExpertsRandom(LinearAdversary):
    """Oblivious: each expert's loss is Bernoulli with mean ``0.5`` except expert 1's,
    ``0.5 - gap``: a best expert exists but hides in the noise."""

    gap: float = param(0.1, Real(0, 0.5, per_row=False), "how much better expert 1 is")
    name = "experts_random"
    streams = ("losses",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        u = stack_streams(rngs, "losses", "random", t1 - t0, d)
        mean = np.full(d, 0.5)
        mean[0] -= self.gap
        return (u < mean).astype(float)


@dataclass(frozen=True)
class ExpertsDrift(LinearAdversary):
    """Oblivious "hidden best expert" drift: losses Bernoulli(0.5), except the current
    best expert's, Bernoulli(0.5 - gap); the best expert moves to the next one every
    ``period`` steps, so the best fixed expert in hindsight is a compromise."""

    gap: float = param(0.3, Real(0, 0.5, per_row=False), "advantage of the current best")
    period: float = param(500.0, Real(1, per_row=False), "steps before the best expert moves")
    name = "experts_drift"
    streams = ("losses",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        u = stack_streams(rngs, "losses", "random", t1 - t0, d)
        best = ((np.arange(t0, t1) - 1) // int(self.period)) % d
        mean = np.full((t1 - t0, 1, d), 0.5)
        mean[np.arange(t1 - t0), 0, best] -= self.gap
        return (u < mean).astype(float)


@dataclass(frozen=True)
class ExpertsAdaptive(LinearAdversary):
    """Adaptive: loss 1 on the expert the learner trusts most (the largest weight, the
    first on ties), 0 elsewhere, plus ``noise`` times a uniform loss on every expert."""

    noise: float = param(0.0, Real(0, 1, per_row=False), "scale of extra uniform losses")
    name = "experts_adaptive"
    oblivious = False
    streams = ("noise",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        return self.noise * stack_streams(rngs, "noise", "random", t1 - t0, d)

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        top = xp.argmax(w, axis=-1)
        hit = xp.astype(xp.arange(w.shape[-1])[None, :] == top[:, None], w.dtype)
        return xp.minimum(hit + data, 1.0)
