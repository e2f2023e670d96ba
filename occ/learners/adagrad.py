"""AdaGrad: diagonal (Sections 3.1, 3.1.1, 3.3) and full-matrix (Section 3.2) preconditioners.

Both are mirror descent with a monotone preconditioner and project in their own
``A_t``-norm (THEORY.md sections 2.2-2.3):

* ``adagrad_diag``: ``s_t = eps0 + sum_{l<=t} g_l^2`` and
  ``w_{t+1} = Proj^{A_t}_V(w_t - eta c g_t / (sqrt(s_t) + eps))`` (elementwise), i.e.
  ``A_t = diag(sqrt(s_t) + eps) / c`` with the per-coordinate scaling ``c``:
  ``scaling = "none"``: ``c = 1`` (eq. (37), the form every library uses);
  ``"D0"``: ``c = D0`` with ``eta = 1`` (Section 3.1.1, the 3 D/2 bound);
  ``"per_coordinate"``: ``c_i`` a bound on ``delta_i = max_t |w_{t,i} - u_i|`` (eq. (32)).
  ``eps`` is added *outside* the square root (PyTorch's ``Adagrad``; optax's
  ``scale_by_rss`` puts its epsilon inside); ``eps0`` is the initial accumulator (PyTorch's
  ``initial_accumulator_value``, optax's ``initial_accumulator_value``, default 0.1 there,
  0 here as in the notes). A coordinate whose gradients have all been 0 has ``A_ii = 0``
  and does not move.
* ``adagrad_full``: ``O_t = eps0 I + sum g g^T``, ``A_t = O_t^{1/2}``, constant
  ``eta = D0`` (eq. (36)). ``O_t^{1/2}`` comes from the eigendecomposition of ``O_t``,
  kept from step to step: the previous factors updated by the rank-one ``g_t g_t^T``
  (secular equation, :mod:`occ.eigen_update`; equal to ``eigh``'s to round-off, with its
  round-off bound) and recomputed by a batched ``eigh`` every ``eigen_update.REFRESH``
  steps; the recorder's Fact 2.1 reuses it. Eigenvalues are
  floored at ``eps0`` (round-off only: ``O_t >= eps0 I`` exactly); with ``eps0 = 0`` zero
  eigenvalues stay zero and the step uses the pseudo-inverse (``g_t`` lies in the range
  of ``O_t``). The ``A_t``-norm projection needs ``A_t > 0``, so ``eps0 > 0`` is required
  on a bounded domain.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device
from occ.elementwise import sqrt, where
from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, KernelStep, LearnerFacts, StepArguments
from occ.params import Choice, Real, RealVector, param
from occ.regularizers import DiagonalPrecision, FullPrecision, eigen_power, safe_eigh

SCALINGS = ("none", "D0", "per_coordinate")
CLAIMS = {"none": {"eq32", "eq37"}, "D0": {"eq32", "sec311", "sec311_dinf", "sec311_literal"},
          "per_coordinate": {"eq32", "eq32_literal"}}
"""The bounds of Sections 3.1.1 and 3.3 each scaling meets ((32) holds for every one)."""


def adagrad_row(t: int, s_t: Any, hyper: Any, flags: Any, row_state: Any,
                gg: Any) -> tuple[Any, Any]:
    """Diagonal AdaGrad has no step-level quantity but its constants: ``eps`` and
    ``1/eta`` (``hyper = (eta, eps)``)."""
    return (hyper[1], 1.0 / hyper[0]), row_state


def adagrad_coordinate(g: Any, w: Any, s: Any, a2: Any, a3: Any, inverse_c: Any,
                       scalars: Any, flags: Any) -> tuple[Any, Any, Any, Any, Any]:
    """(37) with the scale c: ``s_t = s_{t-1} + g^2``, the precision
    ``p = (sqrt(s_t) + eps)/(eta c)`` (computed as ``(sqrt(s_t) + eps) (1/eta) (1/c)``, the
    per-coordinate constant being ``1/c``) and ``y = w - g/p``: one root and one division
    per coordinate. A coordinate whose gradients have all been 0 has ``p = 0`` and does
    not move (``g = 0`` there)."""
    eps, inverse_eta = scalars
    s = s + g * g
    root = sqrt(s)
    seen = root > 0
    p = where(seen, root + eps, 1.0) * (inverse_eta * inverse_c)
    return w - g / p, s, a2, a3, where(seen, p, 0.0)


class DiagonalState(NamedTuple):
    w: Any  # (R, d) iterate to play next
    count: int
    s: Any  # (R, d) eps0 + sum g^2
    p: Any  # (R, d) precision of the last step, (sqrt(s) + eps) / (eta c)


@dataclasses.dataclass(frozen=True)
class AdagradDiagonal(LearnerConfig):
    """Diagonal AdaGrad (37), with the per-coordinate scalings of 3.1.1 and (32)."""

    eta: Any = param(1.0, Real(0, low_open=True), "global step size")
    eps: Any = param(0.0, Real(0), "added outside the square root")
    eps0: Any = param(0.0, Real(0), "initial accumulator s_0")
    scaling: str = param("none", Choice(SCALINGS), "per-coordinate scale c of A_t = "
                         "diag(sqrt(s_t)+eps)/c: none (c = 1), D0, per_coordinate")
    D0: Any = param(None, Real(0, low_open=True),
                    "c = D0 for scaling D0 (default: the domain's diameter)")
    c: Any = param(None, RealVector(low=0, low_open=True, dimension=True),
                   "c_i for scaling per_coordinate (default: the domain's width in i)")
    name = "adagrad_diag"
    kernel_step = KernelStep(adagrad_row, adagrad_coordinate, state=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scaling == "D0" and self.D0 is None and not self.domain.bounded:
            raise ParameterError("D0", "scaling 'D0' on an unbounded domain needs D0 > 0")
        if self.scaling == "per_coordinate" and self.c is None and not self.domain.bounded:
            raise ParameterError("c", "scaling 'per_coordinate' on an unbounded domain needs c")

    def scale(self, d: int) -> np.ndarray:
        """The per-coordinate ``c`` (d,)."""
        if self.scaling == "D0":
            return np.full(d, self.D0 if self.D0 is not None else self.domain.diameter(d))
        if self.scaling == "per_coordinate":
            if self.c is None:
                return self.domain.coordinate_widths(d)
            c = np.broadcast_to(np.asarray(self.c, dtype=float), (d,))
            if isinstance(self.c, tuple) and len(self.c) != d:
                raise ParameterError("c", f"must have d = {d} entries, got {len(self.c)}")
            return c.copy()
        return np.ones(d)

    def step_arguments(self, d: int) -> StepArguments:
        return StepArguments(hyper=(self.eta, self.eps), flags=(0,),
                             accumulators=(self.eps0, 0.0, 0.0), scale=1.0 / self.scale(d))

    def init(self, w1: Any, xp: ModuleType | None = None) -> DiagonalState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        s = xp.zeros((R, d), dtype=xp.float64) + per_row(self.eps0, R, xp)[:, None]
        return DiagonalState(w, 0, s, xp.zeros((R, d), dtype=xp.float64))

    def update(self, state: DiagonalState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, DiagonalState]:
        xp = self._xp(xp, g)
        R, d = g.shape
        args = self.step_arguments(d)
        scalars, _ = adagrad_row(state.count + 1, 1.0, self._step_columns(args.hyper, R, xp),
                                 args.flags, None, None)
        y, s, _, _, p = adagrad_coordinate(g, state.w, state.s, 0.0, 0.0,
                                           to_device(args.scale, xp), scalars, args.flags)
        precision = DiagonalPrecision(p)
        w_next = self.project(y, precision, xp)
        return w_next, DiagonalState(w_next, state.count + 1, s, p)

    def geometry(self, state: DiagonalState) -> DiagonalPrecision:
        return DiagonalPrecision(state.p)

    def facts(self, d: int) -> LearnerFacts:
        eta = np.asarray(self.eta, dtype=float).reshape(-1, 1)
        return self._facts(
            geometry="diagonal", monotone="by_construction",
            projection_exact=self.projection_exact("diagonal"),
            claims=frozenset(CLAIMS[self.scaling]), state_floats=d,  # s_t
            parameters=BoundParameters(
                c_effective=eta * self.scale(d)[None, :], eps=self.eps, eps0=self.eps0,
                D0=self.scale(d)[0] if self.scaling == "D0" else None, eta=self.eta))


class FullState(NamedTuple):
    w: Any  # (R, d)
    count: int
    O: Any  # (R, d, d) eps0 I + sum g g^T
    Q: Any  # (R, d, d) eigenvectors of the last A_t
    lam: Any  # (R, d) eigenvalues of the last precision A_t / eta
    error: Any  # (R,) round-off bound of that precision (occ.regularizers.decompose)
    eig: Any = None  # (R, d) eigenvalues of O_t in the basis Q, ascending
    updates: int = 0  # rank-one updates of (Q, eig) since the last eigh (occ.eigen_update)
    eps0: float = 0.0  # O_0 = eps0 I: O_t - eps0 I = sum g g^T has eigenvalues eig - eps0


@dataclasses.dataclass(frozen=True)
class AdagradFull(LearnerConfig):
    """Full-matrix AdaGrad (36): ``A_t = (eps0 I + sum g g^T)^{1/2}``, constant eta = D0."""

    eta: Any = param(None, Real(0, low_open=True),
                     "constant step size D0 (default: the domain's diameter)")
    eps0: Any = param(1e-8, Real(0, per_row=False), "initial accumulator O_0 = eps0 I")
    name = "adagrad_full"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("unconstrained", "ball", "box")  # no simplex projection in a full geometry

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eta is None and not self.domain.bounded:
            raise ParameterError("eta", "on an unbounded domain give eta (the D0 of (36))")
        if self.domain.bounded and self.eps0 <= 0:
            raise ParameterError("eps0", "must be > 0 on a bounded domain: the A_t-norm "
                                 "projection needs A_t > 0")

    def step_size(self, d: int) -> Any:
        return self.eta if self.eta is not None else self.domain.diameter(d)

    def init(self, w1: Any, xp: ModuleType | None = None) -> FullState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        eye = xp.eye(d, dtype=xp.float64)
        O = xp.zeros((R, d, d), dtype=xp.float64) + self.eps0 * eye
        return FullState(w, 0, O, xp.zeros((R, d, d), dtype=xp.float64) + eye,
                         xp.zeros((R, d), dtype=xp.float64), xp.zeros((R,), dtype=xp.float64),
                         None, 0, float(self.eps0))

    def update(self, state: FullState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, FullState]:
        xp = self._xp(xp, g)
        R, d = g.shape
        O = state.O + g[:, :, None] * g[:, None, :]
        lam, Q, updates = self._decompose(state, O, g, xp)
        root, error = eigen_power(lam, 0.5, self.eps0, xp, updates)
        eta = per_row(self.step_size(d), R, xp)
        precision = FullPrecision(Q, root / eta[:, None], error / eta)
        w_next = self.project(state.w - precision.solve(g, xp), precision, xp)
        return w_next, FullState(w_next, state.count + 1, O, Q, precision.lam, precision.error,
                                 lam, updates, float(self.eps0))

    @staticmethod
    def _decompose(state: FullState, O: Any, g: Any, xp: ModuleType) -> tuple[Any, Any, int]:
        """``O_t = Q diag(lam) Q^T``: the previous factors updated by ``g g^T``
        (:func:`occ.eigen_update.rank_one_update`, NumPy with numba) for
        ``eigen_update.REFRESH - 1`` steps out of ``REFRESH``, else (the first step, every
        ``REFRESH``-th, a non-finite gradient, a failed update, other namespaces) ``eigh``
        of the accumulated ``O_t``. Returns ``(lam, Q, updates since that eigh)``."""
        from occ.eigen_update import REFRESH, rank_one_update  # numba: only where used

        if (rank_one_update is not None and xp is np and state.eig is not None
                and state.updates + 1 < REFRESH and bool(np.all(np.isfinite(g)))):
            Q, lam, ok = rank_one_update(state.Q, state.eig, g)
            if bool(np.all(ok)):
                return lam, Q, state.updates + 1
        lam, Q = safe_eigh(O, xp)
        return lam, Q, 0

    def geometry(self, state: FullState) -> FullPrecision:
        """``P_t = O_t^{1/2}/eta``, with the eigenvalues of ``O_t - eps0 I`` (Fact 2.1's
        matrix) in the same basis: the recorder reuses this step's decomposition."""
        outer = None if state.eig is None else state.eig - state.eps0
        return FullPrecision(state.Q, state.lam, state.error, outer)

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="full", monotone="by_construction",
            projection_exact=self.projection_exact("full"),
            claims=frozenset({"eq36", "eq36_literal", "fact21_matrix", "lemma_c4"}),
            outer_products=True, state_floats=d * d,  # O_t
            parameters=BoundParameters(eta=self.step_size(d), eps0=self.eps0))
