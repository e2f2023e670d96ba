"""Step-size schedules s_t in [0, 1], usable by every learner: ``eta_t = eta s_t``.

A schedule is a small frozen object with ``value(t)`` for t = 1, 2, ...; decaying
schedules decay over ``horizon`` steps (default: the run's T, bound by the harness).

* ``constant``: ``s_t = 1``;
* ``inverse_sqrt``: ``s_t = 1/sqrt(t)`` (the ``alpha/sqrt(t)`` of Reddi et al. 2018);
* ``warmup_linear``: ``t/W`` for ``t <= W``, then linear from 1 to ``final`` at the horizon;
* ``warmup_cosine``: ``t/W`` for ``t <= W``, then ``final + (1 - final)(1 + cos(pi x))/2``
  with ``x = (t - W)/(H - W)``;
* ``wsd`` (warmup-stable-decay): ``t/W``, then 1, then linear to ``final`` over the last
  ``decay`` fraction of the horizon.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from occ.errors import ParameterError
from occ.params import Choice, Integer, Real, param, validate

KINDS = ("constant", "inverse_sqrt", "warmup_linear", "warmup_cosine", "wsd")


@dataclass(frozen=True)
class Schedule:
    kind: str = param("constant", Choice(KINDS), "schedule shape")
    warmup: int = param(0, Integer(low=0), "warmup steps W")
    final: float = param(0.0, Real(0, 1, per_row=False), "final value s_T of a decay")
    decay: float = param(0.2, Real(0, 1, low_open=True, per_row=False),
                         "wsd: fraction of the horizon spent decaying")
    horizon: Any = param(None, Integer(low=1), "steps to decay over (default: the run's T)")

    def __post_init__(self) -> None:
        validate(self)

    @property
    def decays(self) -> bool:
        return self.kind in ("warmup_linear", "warmup_cosine", "wsd")

    def with_horizon(self, T: int) -> Schedule:
        return self if self.horizon is not None else dataclasses.replace(self, horizon=T)

    def values(self, steps: Any) -> Any:
        """``s_t`` for an array of steps (vectorized where the form allows)."""
        import numpy as np

        steps = np.asarray(steps, dtype=float)
        if self.kind == "constant":
            return np.ones_like(steps)
        if self.kind == "inverse_sqrt":
            return 1.0 / np.sqrt(steps)
        return np.array([self.value(int(t)) for t in steps])

    def value(self, t: int) -> float:
        """``s_t`` for step t >= 1."""
        if self.kind == "constant":
            return 1.0
        if self.kind == "inverse_sqrt":
            return 1.0 / math.sqrt(t)
        W = self.warmup
        if t <= W:
            return t / W
        H = self.horizon if self.horizon is not None else t
        if self.kind == "wsd":
            start = max(W, H - self.decay * H)
            x = 0.0 if t <= start else min(1.0, (t - start) / max(H - start, 1))
            return 1.0 - (1.0 - self.final) * x
        x = min(1.0, (t - W) / max(H - W, 1))
        if self.kind == "warmup_linear":
            return 1.0 - (1.0 - self.final) * x
        return self.final + (1.0 - self.final) * (1 + math.cos(math.pi * x)) / 2


@dataclass(frozen=True)
class ScheduleSpec:
    """Constraint: a schedule kind (a string), a table of its fields, or a Schedule."""

    def describe(self) -> str:
        return (f"a schedule: one of {', '.join(KINDS)}, or a table "
                "{kind = ..., warmup = ..., final = ..., decay = ..., horizon = ...}")

    def check(self, value: Any) -> Schedule:
        if isinstance(value, Schedule):
            return value
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, dict):
            raise ValueError
        fields = {f.name for f in dataclasses.fields(Schedule)}
        if set(value) - fields:
            raise ValueError
        try:
            return Schedule(**value)
        except ParameterError:
            raise ValueError from None
