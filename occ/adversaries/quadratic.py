"""Quadratic adversary ``l_t(w) = 1/2 (w - x_t)^T H (w - x_t)``."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import QuadraticLoss, log_spaced, stack_streams
from occ.params import Real, param, validate


@dataclass(frozen=True)
class Quadratic:
    """Oblivious random centres ``x_t = c + noise xi_t`` with ``c = centre_norm 1/sqrt(d)``
    and ``H = diag(h)``, ``h`` log-spaced from 1 down to ``1/condition`` (condition number
    ``condition``). With ``centre_norm`` above a ball's radius the projection is active."""

    centre_norm: float = param(1.5, Real(0, per_row=False), "||c||_2 of the mean centre")
    noise: float = param(1.0, Real(0, per_row=False), "standard deviation of the centres")
    condition: float = param(100.0, Real(1, per_row=False), "condition number of H")
    name = "quadratic"
    oblivious = True
    streams = ("noise",)

    def __post_init__(self) -> None:
        validate(self)

    def loss_family(self, d: int) -> QuadraticLoss:
        return QuadraticLoss(h=log_spaced(1.0, 1.0 / self.condition, d))

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        xi = stack_streams(rngs, "noise", "standard_normal", t1 - t0, d)
        return self.centre_norm / np.sqrt(d) + self.noise * xi

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data
