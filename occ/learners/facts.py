"""The typed declaration every learner makes about itself (public: ``occ.LearnerFacts``).

Everything in occ that needs a fact about a learner reads it here: the harness (which
engine, which statistics to record), the recorder (the geometry), the compiled engine
(whether this exact class has a compiled step), the bounds (which theorems can apply and
with which constants), the tests (every choice of every hyperparameter on every allowed
domain) and the listings. Nothing keeps its own list of learner names.

A learner returns its facts from ``facts(d)`` for a run in dimension d. The fields:

* ``geometry``: the mirror-descent geometry of the step, ``w_{t+1} = Proj^{A_t}(w_t -
  eta_t A_t^{-1} g_t)`` with ``A_t`` ``"scalar"`` (a multiple of I), ``"diagonal"``,
  ``"full"`` or ``"kronecker"``; ``"kl"`` for the negative-entropy geometry (EG); or
  ``"none"``: the learner declares no geometry (momentum, weight decay, any optimizer
  without a mirror-descent form). A learner with a geometry returns its precision
  ``P_t = A_t/eta_t`` from ``geometry(state)`` (:mod:`occ.regularizers`); the bounds that
  need only that apply to it, and with ``"none"`` every bound row says why not.
* ``monotone``: whether ``Gamma_t = P_t - P_{t-1} >= 0`` for all t, which (13) and (18)
  need: ``"by_construction"`` (the learner guarantees it, e.g. AdaGrad's sums), or
  ``"measured"`` (tested on each run within the round-off of the decomposition).
* ``claims``: the learner-specific bounds and facts (names in :data:`occ.bounds.BOUNDS`
  and :data:`occ.bounds.FACTS`) whose assumptions the learner's step rule meets, as in
  the table of THEORY.md section 2.12; each is still checked against the run's
  measured assumptions. The generic bounds of the family ((8), (10), (18), and (19),
  (20) for a constant preconditioner) need no claim.
* ``parameters``: the constants those bounds read (step size, distance parameter, ...).
* ``chunked``: the learner offers ``scan_groups(R)``, per row group a traceable (jax)
  init and step, so that :mod:`occ.engines.scan_engine` runs a whole chunk of an
  oblivious regret-only run as one scan (the optax adapter);
* ``kernel``: a compiled step exists for this exact class (``kernel_step`` declared on
  the class itself, not inherited: a subclass that changes ``update`` runs on the
  reference path unless it declares its own).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Geometry = Literal["scalar", "diagonal", "full", "kronecker", "kl", "none"]
Monotonicity = Literal["by_construction", "measured"]
Parameter = Literal["vector", "matrix"]

EUCLIDEAN_GEOMETRIES = ("scalar", "diagonal", "full", "kronecker")
ALL_DOMAINS = ("unconstrained", "ball", "box", "simplex")


@dataclass(frozen=True)
class Hyperparameter:
    """One configurable field of a learner: its constraint (:mod:`occ.params`) and value."""

    name: str
    constraint: Any
    default: Any
    doc: str


@dataclass(frozen=True)
class BoundParameters:
    """The constants of a learner's step that its bounds' formulas read (None: not used).

    Scalars or one value per repetition row (a grid folded into the batch axis)."""

    eta: Any = None  # the constant step size (OGD, full AdaGrad's D0, Shampoo's eta, ...)
    c: Any = None  # eta_t = c / sqrt(t)
    D0: Any = None  # the distance parameter of (26), 3.1.1 and the Shampoo bound
    eps: Any = None  # an epsilon added to A_t ((32), 3.1.1, Shampoo's eps start)
    eps0: Any = None  # an initial accumulator (beta_i -> sqrt(beta_i^2 + eps0))
    hint: Any = None  # (d,) optimism's fixed hint m (None: the last gradient g_{t-1})
    c_effective: Any = None  # (rows or 1, d): eta c_i of diagonal AdaGrad
    A_diagonal: Any = None  # (rows, d): the hindsight A of (31)
    L_inf: Any = None  # the a priori bound of EG's tuned step
    log_d: float | None = None  # log d (EG)
    r0: int | None = None  # the rank bound of Shampoo's default step
    alpha: float | None = None  # the exp-concavity ONS is tuned for
    G: float | None = None  # the a priori gradient bound of ONS's theorem
    D: float | None = None  # the domain's diameter (ONS)
    G_bound: Any = None  # the a priori ||g_t||_2 bound a parameter-free learner scales by
    reduction_factor: float | None = None  # 2 on a bounded V (constraint-set reduction), 1 on R^d



def json_ready(value: Any) -> Any:
    """``value`` with arrays, NumPy scalars and collections as plain lists and numbers (a
    frozenset sorted)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, frozenset | tuple | list):
        return [json_ready(v) for v in sorted(value, key=str)] if isinstance(
            value, frozenset) else [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value

@dataclass(frozen=True)
class LearnerFacts:
    """A learner's declaration: see the module docstring for each field."""

    family: str
    geometry: Geometry
    monotone: Monotonicity = "measured"
    not_mirror_descent: str = ""  # why the learner has no geometry (shown on bound rows)
    constant_preconditioner: bool = False  # A constant over the run (P_t = A / eta_t)
    projection_exact: bool = True  # w_{t+1} is the exact Bregman projection of the step
    claims: frozenset[str] = frozenset()
    outer_products: bool = False  # record O_t = sum g g^T (Fact 2.1, Lemma C.4)
    matrix_shape: tuple[int, int] | None = None  # (m, n) of a matrix parameter
    state_floats: int = 0  # optimizer state per parameter vector (or matrix), in floats
    kernel: bool = False
    domains: tuple[str, ...] = ALL_DOMAINS
    parameter: Parameter = "vector"
    hyperparameters: tuple[Hyperparameter, ...] = ()
    parameters: BoundParameters = field(default_factory=BoundParameters)
    note: str = ""  # what occ does around the learner's own step (an adapter's projection)
    chunked: bool = False  # offers scan_groups(R): a traceable step for occ.engines.scan_engine

    @property
    def mirror_descent(self) -> bool:
        return self.geometry != "none"

    @property
    def euclidean(self) -> bool:
        """Of the A-weighted Euclidean family ((8)-(20) in their Euclidean form)."""
        return self.geometry in EUCLIDEAN_GEOMETRIES

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view (meta.json, ``occ list --learners``)."""
        out = {f.name: json_ready(getattr(self, f.name)) for f in dataclasses.fields(self)
               if f.name not in ("hyperparameters", "parameters")}
        out["mirror_descent"] = self.mirror_descent
        out["hyperparameters"] = {h.name: json_ready(h.default) for h in self.hyperparameters}
        parameters = dataclasses.asdict(self.parameters)
        out["parameters"] = {k: json_ready(v) for k, v in parameters.items()
                             if v is not None and k not in ("c_effective", "A_diagonal")}
        return out


@dataclass(frozen=True)
class KernelStep:
    """A learner's step written once, for the reference update and the compiled kernels.

    * ``row(t, s_t, hyper, flags, row_state, gg) -> (scalars, row_state)``: the step-level
      quantities of repetition rows at step t (a step size, bias corrections, ...);
      ``s_t`` is the schedule's value, ``gg = ||g_t||^2`` (read only where
      :attr:`StepArguments.needs_row_norm`), ``row_state`` one number per row;
    * ``coordinate(g, w, a1, a2, a3, c, scalars, flags) -> (y, a1, a2, a3, p)``: the
      update of one coordinate (or of whole arrays): ``y`` the unprojected next iterate,
      ``a1..a3`` the coordinate's state, ``p`` the precision ``A_t/eta_t`` of the step in
      that coordinate, ``c`` a per-coordinate constant.

    Both use only arithmetic, conditionals on ``flags`` and :mod:`occ.elementwise`, so the
    same function runs on arrays (``hyper`` a tuple of (R, 1) columns) and, compiled by
    numba, on scalars.
    """

    row: Callable[..., Any]
    coordinate: Callable[..., Any]
    state: int = 3  # how many of the coordinate state a1, a2, a3 the step uses


@dataclass(frozen=True)
class StepArguments:
    """What a :class:`KernelStep` is called with for one learner configuration."""

    hyper: tuple[Any, ...]  # per-row values: a number or a length-R array each
    flags: tuple[int, ...]  # the integer switches of the step's variants
    accumulators: tuple[Any, Any, Any] = (0.0, 0.0, 0.0)  # initial a1, a2, a3 (per row)
    row_state: Any = 0.0  # initial per-row state
    scale: np.ndarray | None = None  # (d,) the step's per-coordinate constant (None: 1)
    needs_row_norm: bool = False  # the row step reads ||g_t||^2
