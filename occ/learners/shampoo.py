"""Shampoo (40) for matrix parameters, with sum statistics, bias-corrected EMA statistics
(6.1), and the idealized iteration of Appendix I.1 (exponent corrected, errata E26-E27).

Parameters ``W`` of shape (R, m, n), or row-major ``vec(W)`` of shape (R, m n) with
``shape = (m, n)``. With ``L_0 = eps I_m``, ``R_0 = eps I_n`` (THEORY.md 2.8-2.10):

* ``statistics = "sum"``: ``L_t = L_{t-1} + G_t G_t^T``, ``R_t = R_{t-1} + G_t^T G_t``;
* ``statistics = "ema"``: ``L_t = beta L_{t-1} + (1 - beta) G G^T`` (likewise R), used
  bias-corrected, ``L_t/(1 - beta^t) + eps I``;
* ``root = "quarter"`` (Shampoo): ``W_{t+1} = Proj(W_t - eta L_t^{-1/4} G_t R_t^{-1/4})``,
  i.e. mirror descent with ``A_t = L_t^{1/4} kron R_t^{1/4}`` on row-major vec(W) (41);
* ``root = "idealized"`` (I.1): ``W - eta tr(L)^{+1/2} L^{-1/2} G R^{-1/2}``, i.e.
  ``A_t = tr(L_t)^{-1/2} L_t^{1/2} kron R_t^{1/2}``.

Inverse roots come from a batched ``eigh`` with eigenvalues floored at ``eps``;
``recompute_every = k`` refreshes them every k steps (the default 1 recomputes each
step; in between, the last factors are used, and the statistics keep accumulating: the
learner stays mirror descent with a monotone A_t, but the Shampoo bound and (42), which
compare A_t with the current O_t, are then not claimed). The
projection is in the ``A_t``-norm (the Frobenius ball is rotated into ``Q_L kron Q_R``).
The default ``eta = D0/sqrt(2 r)`` is the Shampoo bound's, with ``r = min(m, n)`` (always
at least the rank of every G_t) and ``D0`` the domain's diameter.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, matrix_view, per_row, vector_view
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Integer, Real, param
from occ.regularizers import KroneckerPrecision, decompose

MAX_OUTER = 400
"""Up to this m n, runs record O_t = sum vec(G) vec(G)^T and check (42), Fact 2.1 and
Lemma C.4 with dense (m n)^2 matrices."""


class ShampooState(NamedTuple):
    w: Any  # (R, m n) or (R, m, n): the iterate in the caller's layout
    count: int
    L: Any  # (R, m, m) statistics
    R: Any  # (R, n, n)
    QL: Any  # eigen-factors of the last preconditioner
    a: Any
    QR: Any
    b: Any
    c: Any  # (R,) scale of the precision
    a_error: Any  # (R,) round-off bounds of a and b (occ.regularizers.decompose)
    b_error: Any


@dataclasses.dataclass(frozen=True)
class Shampoo(LearnerConfig):
    """Shampoo: Kronecker-factored AdaGrad for matrix parameters."""

    eta: Any = param(None, Real(0, low_open=True),
                     "step size (default D0/sqrt(2 min(m, n)), the Shampoo bound's)")
    eps: Any = param(1e-6, Real(0, low_open=True, per_row=False), "L_0 = eps I, R_0 = eps I")
    statistics: str = param("sum", Choice(("sum", "ema")), "sums (40) or bias-corrected EMA")
    beta: Any = param(0.99, Real(0, 1, high_open=True, per_row=False), "EMA decay")
    root: str = param("quarter", Choice(("quarter", "idealized")),
                      "L^-1/4 G R^-1/4 (Shampoo) or tr(L)^1/2 L^-1/2 G R^-1/2 (I.1)")
    recompute_every: int = param(1, Integer(low=1), "steps between inverse-root updates")
    r: Any = param(None, Integer(low=1), "rank bound for the default eta (default min(m, n))")
    shape: Any = dataclasses.field(default=None, compare=False)
    name = "shampoo"
    matrix = True

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("unconstrained", "ball", "box")  # no simplex projection in a Kronecker geometry

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eta is None and not self.domain.bounded:
            raise ParameterError("eta", "on an unbounded domain give eta")

    def rank_bound(self, m: int, n: int) -> int:
        return self.r if self.r is not None else min(m, n)

    def step_size(self, m: int, n: int) -> Any:
        if self.eta is not None:
            return self.eta
        return self.domain.diameter(m * n) / math.sqrt(2 * self.rank_bound(m, n))

    def init(self, w1: Any, xp: ModuleType | None = None) -> ShampooState:
        xp = self._xp(xp, w1)
        w, (R, m, n) = self._matrix_start(w1, xp)
        eye_m, eye_n = xp.eye(m, dtype=xp.float64), xp.eye(n, dtype=xp.float64)
        zeros_m = xp.zeros((R, m, m), dtype=xp.float64)
        zeros_n = xp.zeros((R, n, n), dtype=xp.float64)
        start = 0.0 if self.statistics == "ema" else self.eps
        zero = xp.zeros((R,), dtype=xp.float64)
        return ShampooState(w, 0, zeros_m + start * eye_m, zeros_n + start * eye_n,
                            zeros_m + eye_m, xp.zeros((R, m), dtype=xp.float64),
                            zeros_n + eye_n, xp.zeros((R, n), dtype=xp.float64),
                            zero, zero, zero)

    def _factors(self, L: Any, Rs: Any, t: int, eta: Any, xp: ModuleType) -> tuple:
        m, n = L.shape[-1], Rs.shape[-1]
        if self.statistics == "ema":
            correction = 1 - self.beta**t
            L = L / correction + self.eps * xp.eye(m, dtype=xp.float64)
            Rs = Rs / correction + self.eps * xp.eye(n, dtype=xp.float64)
        power = 0.25 if self.root == "quarter" else 0.5
        QL, a, a_error = decompose(L, power, self.eps, xp)
        QR, b, b_error = decompose(Rs, power, self.eps, xp)
        c = 1.0 / eta
        if self.root == "idealized":
            trace = xp.sum(L * xp.eye(m, dtype=xp.float64), axis=(-2, -1))
            c = c / xp.sqrt(trace)
        return QL, a, QR, b, c, a_error, b_error

    def update(self, state: ShampooState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, ShampooState]:
        xp = self._xp(xp, g)
        G, was_matrix = matrix_view(g, self.shape, xp)
        R, m, n = G.shape
        t = state.count + 1
        GT = xp.matrix_transpose(G)
        if self.statistics == "sum":
            L, Rs = state.L + G @ GT, state.R + GT @ G
        else:
            L = self.beta * state.L + (1 - self.beta) * (G @ GT)
            Rs = self.beta * state.R + (1 - self.beta) * (GT @ G)
        if (t - 1) % self.recompute_every == 0:
            eta = per_row(self.step_size(m, n), R, xp)
            factors = self._factors(L, Rs, t, eta, xp)
        else:
            factors = state[4:]
        precision = KroneckerPrecision(*factors)
        step = precision.solve(vector_view(G, False, xp), xp)
        w_next = self._matrix_step(state.w, step, precision, was_matrix, xp)
        return w_next, ShampooState(w_next, t, L, Rs, *factors)

    def geometry(self, state: ShampooState) -> KroneckerPrecision:
        return KroneckerPrecision(*state[4:])

    def state_floats(self, m: int, n: int) -> int:
        """Optimizer state per matrix: the statistics L (m^2) and R (n^2)."""
        return m * m + n * n

    def facts(self, d: int) -> LearnerFacts:
        """Sums with the quarter root are mirror descent with a monotone Kronecker A_t
        ((40), (41), (75)) at every recomputation interval; the Shampoo bound and (42)
        compare A_t with the current O_t, so they are claimed for fresh roots only."""
        m, n = self.shape if self.shape is not None else (d, 1)
        sums = self.statistics == "sum" and self.root == "quarter"
        fresh = sums and self.recompute_every == 1
        outer = m * n <= MAX_OUTER
        claims = set()
        if fresh:
            claims |= {"shampoo"} | ({"shampoo_literal"} if self.eta is None else set())
            claims |= {"eq42"} if outer else set()
        if outer:
            claims |= {"fact21_matrix", "lemma_c4"}
        return self._facts(
            geometry="kronecker", monotone="by_construction" if sums else "measured",
            projection_exact=self.projection_exact("kronecker"), claims=frozenset(claims),
            outer_products=outer, matrix_shape=(m, n), state_floats=self.state_floats(m, n),
            parameters=BoundParameters(eta=self.step_size(m, n), r0=self.rank_bound(m, n),
                                       eps=self.eps, D0=self.domain.diameter(m * n)))


