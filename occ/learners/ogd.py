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
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.elementwise import sqrt, where
from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, KernelStep, LearnerFacts, StepArguments
from occ.params import Choice, Real, param
from occ.regularizers import ScalarPrecision

STEPS = ("constant", "sqrt", "adagrad_norm", "oracle23", "oracle25")
STEP_RULES = {"constant": 0, "oracle23": 0, "oracle25": 0, "sqrt": 1, "adagrad_norm": 2}
"""The kernel's code of each step rule (the oracles are constant steps once resolved)."""
CLAIMS = {"constant": {"eq22"}, "oracle23": {"eq22", "eq23"}, "oracle25": {"eq22", "eq25"},
          "sqrt": {"eq24"}, "adagrad_norm": {"eq27", "eq27_literal"}}
"""The bounds of Section 2.1 each step rule meets (THEORY.md 2.12)."""


def ogd_row(t: int, s_t: Any, hyper: Any, flags: Any, S: Any, gg: Any) -> tuple[Any, Any]:
    """``eta_t`` and ``P_t = 1/eta_t`` of (21): ``eta`` (rule 0), ``c/sqrt(t)`` (rule 1), or
    AdaGrad-norm (26) ``D0/sqrt(S_t)`` with ``S_t = eps0 + sum_{s<=t} ||g_s||^2`` (rule 2;
    no step while ``S_t = 0``). ``hyper = (eta, c, D0)``, ``flags = (rule,)``."""
    rule = flags[0]
    S = S + gg
    if rule == 0:
        step = hyper[0]
        p = 1.0 / step
    elif rule == 1:
        root = sqrt(t * 1.0)
        step = hyper[1] / root
        p = root / hyper[1]
    else:
        root = sqrt(S)
        p = root / hyper[2]
        step = where(root > 0, hyper[2] / where(root > 0, root, 1.0), 0.0)
    return (step, p), S


def ogd_coordinate(g: Any, w: Any, a1: Any, a2: Any, a3: Any, c: Any, scalars: Any,
                   flags: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``y = w_t - eta_t g_t`` (projected afterwards); no coordinate state."""
    step, p = scalars
    return w - g * step, a1, a2, a3, p


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
    kernel_step = KernelStep(ogd_row, ogd_coordinate, state=0)

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        """A hindsight step (oracle23/25) needs oblivious linear losses: bounded domains."""
        if self.step in ("oracle23", "oracle25"):
            return ("ball", "box", "simplex")
        return super().allowed_domains

    def __post_init__(self) -> None:
        super().__post_init__()
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

    def step_arguments(self, d: int) -> StepArguments:
        D0 = self.distance_parameter(d) if self.step == "adagrad_norm" else 1.0
        return StepArguments(hyper=(self.eta, self.c, D0), flags=(STEP_RULES[self.step],),
                             row_state=self.eps0, needs_row_norm=self.step == "adagrad_norm")

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
        R, d = g.shape
        t = state.count + 1
        args = self.step_arguments(d)
        gg = xp.sum(g * g, axis=-1)[:, None]
        scalars, S = ogd_row(t, 1.0, self._step_columns(args.hyper, R, xp), args.flags,
                             state.grad_sq_sum[:, None], gg)
        y, _, _, _, _ = ogd_coordinate(g, state.w, 0.0, 0.0, 0.0, 1.0, scalars, args.flags)
        precision = ScalarPrecision(scalars[1][:, 0])
        w_next = self.project(y, precision, xp)
        return w_next, OGDState(w_next, t, S[:, 0], precision.p)

    def geometry(self, state: OGDState) -> ScalarPrecision:
        return ScalarPrecision(state.p)

    def preconditioner(self, state: OGDState) -> ScalarPrecision:
        """The constant ``A = I`` (``P_t = I / eta_t``)."""
        return ScalarPrecision(state.p * 0.0 + 1.0)

    def inverse_step_size(self, state: OGDState) -> Any:
        return state.p

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="scalar", monotone="by_construction", constant_preconditioner=True,
            claims=frozenset(CLAIMS[self.step]),
            state_floats=1 if self.step == "adagrad_norm" else 0,  # the scalar sum S_t
            parameters=BoundParameters(
                eta=self.eta, c=self.c, eps0=self.eps0,
                D0=self.distance_parameter(d) if self.step == "adagrad_norm" else None))
