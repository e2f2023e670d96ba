"""The portfolio baselines as learners (the best single stock in hindsight is a
comparator: ``best_stock_wealth`` in the portfolio metrics).

* ``uniform_crp``: the uniform constant rebalanced portfolio, ``w_t = (1/d, ..., 1/d)``
  every period (Cover 1991's benchmark);
* ``buy_and_hold``: 1/d of the wealth in each asset at the start, never rebalanced:
  ``w_{t+1} = w_t * x_t / (w_t^T x_t)`` (the weights drift with the prices). Its wealth is
  the mean of the assets' wealths, so its regret against the best single stock is at most
  log d. It reads the relatives from the log-wealth gradient, ``x_t = -g_t`` up to a
  positive factor (``w_t * (-g_t)`` already sums to 1); a gradient that is not a
  portfolio's (a coordinate >= 0) gives a NaN iterate (the repetition is diverged).
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch
from occ.learners.facts import LearnerFacts


class FixedState(NamedTuple):
    w: Any
    count: int


NOT_MIRROR_DESCENT = "not applicable: a baseline portfolio, not a mirror-descent step"


@dataclasses.dataclass(frozen=True)
class UniformCRP(LearnerConfig):
    """The uniform constant rebalanced portfolio."""

    name = "uniform_crp"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("simplex",)

    def init(self, w1: Any, xp: ModuleType | None = None) -> FixedState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        return FixedState(xp.zeros(w.shape, dtype=xp.float64) + 1.0 / w.shape[1], 0)

    def update(self, state: FixedState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, FixedState]:
        return state.w, FixedState(state.w, state.count + 1)

    def geometry(self, state: FixedState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(geometry="none", not_mirror_descent=NOT_MIRROR_DESCENT)


@dataclasses.dataclass(frozen=True)
class BuyAndHold(UniformCRP):
    """Buy and hold: uniform at the start, then the weights drift with the prices."""

    name = "buy_and_hold"

    def update(self, state: FixedState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, FixedState]:
        xp = self._xp(xp, g)
        x = -g
        portfolio = xp.all(x > 0, axis=-1)
        drifted = state.w * x
        w = drifted / xp.sum(drifted, axis=-1)[:, None]
        w = xp.where(portfolio[:, None], w, float("nan"))
        return w, FixedState(w, state.count + 1)

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(geometry="none", not_mirror_descent=NOT_MIRROR_DESCENT)
