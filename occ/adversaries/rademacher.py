"""The Rademacher lower-bound enemy of Appendix B, and its exact expected regret.

``l_t(w) = -x_t w`` on ``V = [-1, 1]`` (the notes' {-1, 1} is not convex; erratum E29)
with ``x_t`` iid uniform on {+1, -1}, independent of the learner. For any learner whose
``w_t`` depends only on ``x_{<t}``, ``E[Regret_T] = E|S_T|``, ``S_T = sum_t x_t``, exactly:

    E|S_T| = T C(T-1, floor((T-1)/2)) / 2^(T-1)

(THEORY.md section 3). In d dimensions (the box [-1, 1]^d, independent coordinates) it is
``d E|S_T|``. With ``form = "experts"`` the same game is played on the 2-simplex: the two
experts' losses are ``(-x_t, +x_t)`` (w = +1 and w = -1), and the regret is the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import LinearLoss, stack_streams
from occ.errors import ParameterError
from occ.params import Choice, param, validate


def expected_abs_sum(T: int | np.ndarray) -> np.ndarray:
    """``E|S_T|`` for a sum of T Rademacher variables, exact (``lgamma`` for large T;
    ``math.comb`` agrees to 1e-13 relative, tested)."""
    T = np.atleast_1d(np.asarray(T, dtype=np.int64))
    out = np.empty(T.shape)
    for i, n in enumerate(T.tolist()):
        k = (n - 1) // 2
        log = math.lgamma(n) - math.lgamma(k + 1) - math.lgamma(n - k) - (n - 1) * math.log(2)
        out[i] = n * math.exp(log)
    return out


def expected_abs_sum_exact(T: int) -> float:
    """The same with exact integers (for moderate T)."""
    from fractions import Fraction

    return float(Fraction(T * math.comb(T - 1, (T - 1) // 2), 2 ** (T - 1)))


def asymptotic(T: int | np.ndarray) -> np.ndarray:
    """``sqrt(2T/pi)``, the large-T equivalent of ``E|S_T|``."""
    return np.sqrt(2 * np.asarray(T, dtype=float) / np.pi)


def within_from(relative: float, limit: int = 100_000) -> int:
    """The smallest T0 such that ``|E|S_T| / sqrt(2T/pi) - 1| <= relative`` for every
    ``T0 <= T <= limit`` (the deviation is ``1/(4T) + O(T^-2)``, so it stays within after)."""
    T = np.arange(1, limit + 1)
    bad = np.abs(expected_abs_sum(T) / asymptotic(T) - 1) > relative
    return int(T[bad].max() + 1) if bad.any() else 1


@dataclass(frozen=True)
class Rademacher:
    """Oblivious ``g_t = -x_t`` (each coordinate an independent Rademacher sign)."""

    form: str = param("box", Choice(("box", "experts")),
                      "box: V = [-1, 1]^d; experts: two experts with losses (-x_t, x_t)")
    name = "rademacher"
    oblivious = True
    streams = ("signs",)

    def __post_init__(self) -> None:
        validate(self)

    def loss_family(self, d: int) -> LinearLoss:
        if self.form == "experts" and d != 2:
            raise ParameterError("d", f"form 'experts' plays on two experts: d = 2, got {d}")
        return LinearLoss()

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        width = 1 if self.form == "experts" else d
        x = np.where(stack_streams(rngs, "signs", "random", t1 - t0, width) < 0.5, 1.0, -1.0)
        return np.concatenate([-x, x], axis=-1) if self.form == "experts" else -x

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data

    def expected_regret(self, T: np.ndarray, d: int) -> np.ndarray:
        """``E[Regret_T]`` for every learner: ``E|S_T|`` per independent coordinate."""
        return (1 if self.form == "experts" else d) * expected_abs_sum(T)
