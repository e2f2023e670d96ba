"""Mirror descent with a constant preconditioner A: a fixed A given by the user ((19),
(20)), and the hindsight optima of Section 3 chosen from the realized gradients.

``w_{t+1} = Proj^{A}_V(w_t - eta_t A^{-1} g_t)`` with the ``A``-norm projection, so that
``P_t = A / eta_t`` (THEORY.md sections 2.2-2.3):

* ``fixed_preconditioner``: ``A`` from the scenario (a positive diagonal or an SPD matrix),
  ``eta_t = eta`` (``step = "constant"``, bound (20)) or ``c/sqrt(t)`` (``"sqrt"``, (19));
* ``adagrad_oracle`` (hindsight, computed from a first pass over the realized gradients of
  an oblivious linear adversary, per repetition):
  ``form = "eq31"``: ``A = diag(beta_i / |delta_{1,i}|)``, ``eta = 1`` (30)/(31);
  ``form = "eq35"``: ``A = diag(beta_i)``, ``eta = D0`` (35);
  ``form = "eq34"``: ``A = (O_T + eps0 I)^{1/2}``, ``eta = D0`` (33)/(34),
  with ``beta_i = sqrt(sum_t g_{t,i}^2)``, ``delta_{1,i} = |w_{1,i} - u_{T,i}|``,
  ``O_T = sum_t g_t g_t^T``. Where ``delta_{1,i} = 0`` while ``beta_i > 0`` (the comparator
  sits at the start in coordinate i, e.g. when ``G_{T,i} = 0`` exactly) the optimal
  ``A_ii`` is infinite; occ uses ``A_ii = beta_i / (FROZEN_FRACTION * width_i)``, which
  all but freezes the coordinate and adds ``FROZEN_FRACTION * width_i * beta_i / 2`` to
  the (20) value. Bound ``eq31`` is reported as that (20) value at the A used, which is
  exactly ``sum_i |delta_{1,i}| beta_i`` when no coordinate needed it.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device
from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Preconditioner, Real, param, validate
from occ.regularizers import DiagonalPrecision, FullPrecision


class ConstantState(NamedTuple):
    w: Any  # (R, d)
    count: int
    A: Any  # (R, d) diagonal of A, or (R, d) eigenvalues of A when full
    Q: Any  # (R, d, d) eigenvectors of A when full, else None
    inverse_eta: Any  # (R,) 1/eta_t of the last step


class _ConstantPreconditioner(LearnerConfig):
    """Shared step of the constant-A learners; subclasses supply ``A`` and ``eta_t``."""

    def _factors(self, R: int, d: int, xp: ModuleType) -> tuple[Any, Any]:
        raise NotImplementedError

    def _inverse_eta(self, t: int, R: int, d: int, xp: ModuleType) -> Any:
        raise NotImplementedError

    def init(self, w1: Any, xp: ModuleType | None = None) -> ConstantState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        A, Q = self._factors(R, d, xp)
        return ConstantState(w, 0, A, Q, xp.zeros((R,), dtype=xp.float64))

    def update(self, state: ConstantState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, ConstantState]:
        xp = self._xp(xp, g)
        t = state.count + 1
        inverse_eta = self._inverse_eta(t, g.shape[0], g.shape[1], xp)
        new = state._replace(count=t, inverse_eta=inverse_eta)
        precision = self.geometry(new)
        w_next = self.project(state.w - precision.solve(g, xp), precision, xp)
        return w_next, new._replace(w=w_next)

    def geometry(self, state: ConstantState) -> Any:
        return self._scaled(state, state.inverse_eta)

    def preconditioner(self, state: ConstantState) -> Any:
        """The constant ``A`` itself (``P_t = A / eta_t``)."""
        return self._scaled(state, 1.0)

    def inverse_step_size(self, state: ConstantState) -> Any:
        return state.inverse_eta

    @staticmethod
    def _scaled(state: ConstantState, factor: Any) -> Any:
        column = factor[:, None] if not isinstance(factor, float) else factor
        if state.Q is None:
            return DiagonalPrecision(state.A * column)
        return FullPrecision(state.Q, state.A * column)


def _full_factors(matrix: np.ndarray, R: int, xp: ModuleType) -> tuple[Any, Any]:
    lam, Q = np.linalg.eigh(matrix)
    if lam.ndim == 1:
        lam, Q = np.broadcast_to(lam, (R,) + lam.shape), np.broadcast_to(Q, (R,) + Q.shape)
    return to_device(np.ascontiguousarray(lam), xp), to_device(np.ascontiguousarray(Q), xp)


@dataclasses.dataclass(frozen=True)
class FixedPreconditioner(_ConstantPreconditioner):
    """A user-given constant preconditioner A, bounds (19) (``sqrt``) and (20) (``constant``)."""

    A: Any = param(None, Preconditioner(), "the preconditioner: a diagonal or an SPD matrix")
    step: str = param("constant", Choice(("constant", "sqrt")), "eta_t = eta or c/sqrt(t)")
    eta: Any = param(0.1, Real(0, low_open=True), "constant step size")
    c: Any = param(1.0, Real(0, low_open=True), "eta_t = c/sqrt(t)")
    name = "fixed_preconditioner"

    def __post_init__(self) -> None:
        if self.A is None:
            raise ParameterError("A", "is required: a list of numbers > 0 (diagonal) or an "
                                 "SPD matrix (list of rows)")
        validate(self)
        self.check_domain()

    @property
    def kind(self) -> str:
        return "diagonal" if np.ndim(self.A) == 1 else "full"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        if self.A is not None and np.ndim(self.A) == 2:
            return ("unconstrained", "ball", "box")  # no simplex projection for a full A
        return super().allowed_domains

    def _factors(self, R: int, d: int, xp: ModuleType) -> tuple[Any, Any]:
        if self.A.shape[0] != d:
            raise ParameterError("A", f"must be of dimension d = {d}, got {self.A.shape[0]}")
        if self.kind == "diagonal":
            return to_device(np.broadcast_to(self.A, (R, d)).copy(), xp), None
        return _full_factors(self.A, R, xp)

    def _inverse_eta(self, t: int, R: int, d: int, xp: ModuleType) -> Any:
        if self.step == "sqrt":
            return math.sqrt(t) / per_row(self.c, R, xp)
        return 1.0 / per_row(self.eta, R, xp)

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(geometry=self.kind, monotone="by_construction",
                           constant_preconditioner=True,
                           projection_exact=self.projection_exact(self.kind))


FORMS = ("eq31", "eq34", "eq35")

FROZEN_FRACTION = 1e-6
"""(31) with delta_{1,i} = 0: A_ii = beta_i / (FROZEN_FRACTION * coordinate width)."""


@dataclasses.dataclass(frozen=True)
class AdagradOracle(_ConstantPreconditioner):
    """The preconditioner chosen in hindsight: (31), (34) or (35)."""

    form: str = param("eq35", Choice(FORMS), "which hindsight optimum")
    D0: Any = param(None, Real(0, low_open=True),
                    "eta = D0 for eq34/eq35 (default: the domain's diameter)")
    eps0: Any = param(1e-8, Real(0, per_row=False), "eq34: A = (O_T + eps0 I)^{1/2}")
    hindsight_A: Any = dataclasses.field(default=None, compare=False, repr=False)
    name = "adagrad_oracle"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.form != "eq31" and self.D0 is None and not self.domain.bounded:
            raise ParameterError("D0", f"form {self.form!r} on an unbounded domain needs D0")
        if self.form == "eq34" and self.domain.bounded and self.eps0 <= 0:
            raise ParameterError("eps0", "must be > 0 on a bounded domain (A must be > 0)")

    needs_outer_products = property(lambda self: self.form == "eq34")

    @property
    def needs_hindsight(self) -> bool:
        return self.hindsight_A is None

    def step_size(self, d: int) -> float:
        if self.form == "eq31":
            return 1.0
        return float(self.D0) if self.D0 is not None else self.domain.diameter(d)

    def with_hindsight(self, hindsight: Any) -> AdagradOracle:
        beta, delta1 = np.sqrt(hindsight.coordinate_squares), hindsight.delta1
        d = beta.shape[-1]
        if self.form == "eq31":
            width = self.domain.coordinate_widths(d)
            width = np.where(np.isfinite(width), width, np.max(delta1, axis=-1, keepdims=True))
            floor = FROZEN_FRACTION * np.where(width > 0, width, 1.0)
            resolved = (beta / np.where(delta1 > 0, delta1, floor), None)
        elif self.form == "eq35":
            resolved = (beta, None)
        else:
            lam, Q = np.linalg.eigh(hindsight.outer + self.eps0 * np.eye(d))
            resolved = (np.sqrt(np.maximum(lam, self.eps0)), Q)
        new = dataclasses.replace(self)
        object.__setattr__(new, "hindsight_A", resolved)
        return new

    def _factors(self, R: int, d: int, xp: ModuleType) -> tuple[Any, Any]:
        if self.hindsight_A is None:
            raise ParameterError("form", "the hindsight preconditioner needs a first pass: "
                                 "run it through occ.run")
        A, Q = self.hindsight_A
        return to_device(A, xp), None if Q is None else to_device(Q, xp)

    def _inverse_eta(self, t: int, R: int, d: int, xp: ModuleType) -> Any:
        return xp.full((R,), 1.0 / self.step_size(d), dtype=xp.float64)

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        """Bounded domains only: a hindsight preconditioner needs oblivious linear losses,
        whose comparator on R^d is at infinity; no simplex projection for a full A."""
        if self.form == "eq34":
            return ("ball", "box")
        return ("ball", "box", "simplex")

    def facts(self, d: int) -> LearnerFacts:
        A = self.hindsight_A[0] if self.hindsight_A is not None else None
        kind = "full" if self.form == "eq34" else "diagonal"
        claims = {"eq31": {"eq31"}, "eq34": {"eq34", "eq34_literal", "fact21_matrix",
                                             "lemma_c4"}, "eq35": {"eq35", "eq35_literal"}}
        claims = claims[self.form]
        return self._facts(
            geometry=kind, monotone="by_construction", constant_preconditioner=True,
            projection_exact=self.projection_exact(kind), claims=frozenset(claims),
            outer_products=self.form == "eq34",
            parameters=BoundParameters(eta=self.step_size(d), eps0=self.eps0,
                                       A_diagonal=A if self.form == "eq31" else None))
