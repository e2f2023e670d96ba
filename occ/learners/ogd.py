"""Online gradient descent / SGD (21), ``w_{t+1} = Proj_V(w_t - eta_t g_t)``.

Step-size rules (THEORY.md section 2.1), all with ``A_t = I``:

* ``constant``: ``eta_t = eta`` (bounds (20), (22));
* ``sqrt``: ``eta_t = c / sqrt(t)`` (bound (24));
* ``adagrad_norm``: ``eta_t = D0 / sqrt(eps0 + sum_{s<=t} ||g_s||^2)`` (26), bound (27); the
  step is skipped while the sum is 0 (every gradient so far was 0);
* ``oracle23``: ``eta = D_1 / (L sqrt(T))`` from a first pass over the realized losses (23);
* ``oracle25``: ``eta = D_1 / sqrt(S_T)``, ``S_T = sum ||g_t||^2`` (25).

The Euclidean projection is the Bregman projection here, so every bound of the
A-weighted family applies with ``P_t = I / eta_t``.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.params import Choice, Real, param, validate
from occ.regularizers import ScalarPrecision

STEPS = ("constant", "sqrt", "adagrad_norm", "oracle23", "oracle25")


class OGDState(NamedTuple):
    w: Any  # (R, d) the iterate w_t to play next
    count: int  # steps taken so far
    grad_sq_sum: Any  # (R,) eps0 + sum_{s<=t} ||g_s||^2
    p: Any  # (R,) precision 1/eta_t of the last step


@dataclasses.dataclass(frozen=True)
class OGD(LearnerConfig):
    """Projected online gradient descent with the step-size rules above."""

    step: str = param("constant", Choice(STEPS), "step-size rule")
    eta: Any = param(0.1, Real(0, low_open=True), "constant step size (step = constant)")
    c: Any = param(1.0, Real(0, low_open=True), "eta_t = c/sqrt(t) (step = sqrt)")
    D0: Any = param(None, Real(0, low_open=True),
                    "distance parameter of (26) (default: the domain's diameter)")
    eps0: Any = param(0.0, Real(0), "initial accumulator of sum ||g||^2 (adagrad_norm)")
    name = "ogd"

    def __post_init__(self) -> None:
        validate(self)
        if self.step == "adagrad_norm" and self.D0 is None and not self.domain.bounded:
            raise ParameterError("D0", "step 'adagrad_norm' on an unbounded domain needs D0 > 0")

    @property
    def needs_hindsight(self) -> bool:
        return self.step in ("oracle23", "oracle25") and not isinstance(self.eta, np.ndarray)

    def with_hindsight(self, hindsight: Any) -> OGD:
        """The oracle's step size from the realized statistics of a first pass (per row)."""
        D1 = hindsight.D1
        if self.step == "oracle23":
            eta = D1 / (hindsight.L * np.sqrt(hindsight.T))
        else:
            eta = D1 / np.sqrt(hindsight.S)
        eta = np.where(np.isfinite(eta) & (eta > 0), eta, 1.0)  # degenerate: any eta is optimal
        return self.replace(eta=eta)

    def distance_parameter(self, d: int) -> float | np.ndarray:
        return self.D0 if self.D0 is not None else self.domain.diameter(d)

    def init(self, w1: Any, xp: ModuleType | None = None) -> OGDState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R = w.shape[0]
        return OGDState(w, 0, per_row(self.eps0, R, xp), xp.zeros((R,), dtype=xp.float64))

    def update(self, state: OGDState, g: Any, xp: ModuleType | None = None) -> tuple[Any, OGDState]:
        xp = self._xp(xp, g)
        if self.needs_hindsight:
            raise ParameterError("step", f"{self.step!r} needs hindsight statistics: run it "
                                 "through occ.run, or give eta explicitly per row")
        R = g.shape[0]
        t = state.count + 1
        S = state.grad_sq_sum + xp.sum(g * g, axis=-1)
        if self.step == "adagrad_norm":
            p = xp.sqrt(S) / per_row(self.distance_parameter(g.shape[-1]), R, xp)
        elif self.step == "sqrt":
            p = math.sqrt(t) / per_row(self.c, R, xp)
        else:
            p = 1.0 / per_row(self.eta, R, xp)
        precision = ScalarPrecision(p)
        w_next = self.project(state.w - precision.solve(g, xp), precision, xp)
        return w_next, OGDState(w_next, t, S, p)

    def geometry(self, state: OGDState) -> ScalarPrecision:
        return ScalarPrecision(state.p)

    def preconditioner(self, state: OGDState) -> ScalarPrecision:
        """The constant ``A = I`` (``P_t = I / eta_t``)."""
        return ScalarPrecision(state.p * 0.0 + 1.0)

    def inverse_step_size(self, state: OGDState) -> Any:
        return state.p

    def bound_info(self, d: int) -> dict[str, Any]:
        return {
            "family": "ogd",
            "step": self.step,
            "mirror_descent": True,
            "constant_A": True,
            "eta": self.eta,
            "c": self.c,
            "D0": self.distance_parameter(d) if self.step == "adagrad_norm" else None,
            "eps0": self.eps0,
            "projection_exact": True,
            "state_floats": 1 if self.step == "adagrad_norm" else 0,  # the scalar sum S_t
        }
