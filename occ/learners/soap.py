"""SOAP (Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam",
Algorithm 3, as the authors' code github.com/nikhilvyas/SOAP ``soap.py`` computes it):
Adam run in the eigenbasis of Shampoo's (EMA) preconditioner, refreshed every f steps.

For a matrix parameter W (m, n) with gradient G_t; beta_s = ``shampoo_beta`` (default
beta2); k = t - 1 counts the updates (the first round only starts the statistics)::

    round 1:  L = (1 - beta_s) G G^T,  R = (1 - beta_s) G^T G;  Q_L, Q_R = the eigenvectors
              of L + 1e-30 I, R + 1e-30 I in decreasing order of eigenvalue (a basis of
              a rounding-level eigenspace fixed by canonical_completion);  W does not move
    round t >= 2 (update k = t - 1):
      G'  = Q_L^T G Q_R                                  (the gradient in the eigenbasis)
      M   = beta1 M + (1 - beta1) G                      (momentum, used rotated: Q_L^T M Q_R)
      V   = beta2 V + (1 - beta2) G'^2                   (Adam's second moment, in the basis)
      N   = Q_L [(Q_L^T M Q_R) / (sqrt(V) + eps)] Q_R^T
      W   = (1 - eta_t lambda) (W - eta_t sqrt(1 - beta2^k)/(1 - beta1^k) N),  eta_t = eta s_t
      L   = beta_s L + (1 - beta_s) G G^T,   R = beta_s R + (1 - beta_s) G^T G
      every f-th update (k mod f = 0), the refresh of the paper (one power iteration + QR):
        order Q_L's columns by decreasing diag(Q_L^T L Q_L) (V's rows follow them),
        Q_L = qr(L Q_L).Q (the columns from the first dependent one on fixed by
        canonical_completion); likewise Q_R with V's columns

Conventions: epsilon outside the root of the uncorrected V with the bias corrections in
the step size (``correct_bias``; Kingma and Ba's efficient form); decoupled decay applied
after the step (the code's ``p.add_(p, alpha=-lr * wd)``), default 0 here (the code's 0.01
is for training). The code keeps the momentum in the rotated basis and rotates it back
and forth around each refresh; that is the same number as the original-space M above.
No ``normalize_grads``, ``merge_dims`` or ``max_precond_dim`` (every factor is kept).
Where L or R is rank-deficient (rank-1 gradients; m > n), the paper leaves part of the
basis to LAPACK; occ chooses it from the data (:func:`canonical_completion`), so that a
run gives the same numbers on every machine; elsewhere the two are the same.
Projection: Euclidean (Frobenius), after the decay.

On a 1 x 1 matrix the basis is +-1 and SOAP is Adam one round behind (the first gradient
only starts L and R), in Kingma and Ba's efficient form: occ's ``adam`` at eps = 0 (for
eps > 0 it is ``adam`` with eps/sqrt(1 - beta2^k)). Not mirror descent: each
bound row says why. State: M, V (2 m n floats), L, R, Q_L, Q_R (2 (m^2 + n^2)).
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, matrix_view, per_row, vector_view
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Boolean, Integer, Real, param
from occ.roundoff import EPSILON
from occ.schedules import Schedule, ScheduleSpec


class SoapState(NamedTuple):
    w: Any  # (R, m n) or (R, m, n): the caller's layout
    count: int
    M: Any  # (R, m, n) momentum (original space)
    V: Any  # (R, m, n) second moment in the eigenbasis
    L: Any  # (R, m, m)
    Rs: Any  # (R, n, n)
    QL: Any  # (R, m, m)
    QR: Any  # (R, n, n)


def _at_rounding_level(values: Any, xp: ModuleType) -> Any:
    """(R, k) -> (R, k) bool: ``|value| <= k eps max |value|`` per row."""
    k = values.shape[-1]
    top = xp.max(xp.abs(values), axis=-1, keepdims=True)
    return xp.abs(values) <= k * EPSILON * top


def _running_count(flags: Any, xp: ModuleType) -> Any:
    """(R, k) bool -> (R, k) float: how many of ``flags[:, :j+1]`` are set (a product with
    the upper triangle of ones: the array API has no cumulative sum in every namespace)."""
    k = flags.shape[-1]
    upper = xp.astype(xp.arange(k)[:, None] <= xp.arange(k)[None, :], xp.float64)
    return xp.astype(flags, xp.float64) @ upper


def canonical_completion(Q: Any, loose: Any, xp: ModuleType) -> Any:
    """``Q`` (R, k, k) orthonormal, with its ``loose`` columns (R, k) replaced by a basis of
    the orthogonal complement of the others chosen from the data alone.

    Where the statistics are rank-deficient (a rank-1 gradient makes L rank 1), the
    eigenvectors of the zero eigenvalue, and the columns of a QR after the first
    dependent one, are any orthonormal basis of a subspace: the paper and its code keep
    whatever LAPACK returns, and SOAP's trajectory depends on it (Adam is run
    coordinate by coordinate in that basis), so a run differed by 1% in final regret
    between OpenBLAS's Haswell and SkylakeX kernels. occ fixes that basis: pivoted
    Gram-Schmidt on the complement projector ``C = I - Q_kept Q_kept^T`` takes, per
    vector, the lowest-index column of C whose squared norm ``C_jj`` is within rounding
    of the largest, normalizes it and deflates C; the vectors fill the loose positions in
    order. The result is a continuous function of span(Q_kept) (away from ties beyond
    rounding), so machines that agree to rounding on the kept columns agree on the
    basis; a basis changed by signs or a rotation inside the loose subspace gives the
    same run."""
    if not bool(xp.any(loose)):
        return Q
    R, k, _ = Q.shape
    eye = xp.eye(k, dtype=xp.float64)
    kept = Q * xp.astype(~loose, xp.float64)[:, None, :]
    C = eye[None, :, :] - kept @ xp.matrix_transpose(kept)
    count = int(xp.max(xp.sum(xp.astype(loose, xp.int64), axis=-1)))
    columns = xp.arange(k)
    vectors = []
    for _ in range(count):
        diag = xp.sum(C * eye, axis=-1)  # (R, k): the squared norms of C's columns
        top = xp.max(diag, axis=-1, keepdims=True)
        pick = xp.argmax(xp.astype(diag >= top - k * EPSILON, xp.int64), axis=-1)
        onehot = xp.astype(columns[None, :] == pick[:, None], xp.float64)
        column = xp.sum(C * onehot[:, None, :], axis=-1)  # (R, k)
        norm = xp.sqrt(xp.maximum(xp.sum(diag * onehot, axis=-1), 0.0))
        v = column / xp.where(norm > 0, norm, 1.0)[:, None]
        C = C - v[:, :, None] * v[:, None, :]
        vectors.append(v)
    V = xp.stack(vectors, axis=-1)  # (R, k, count)
    index = _running_count(loose, xp) - 1.0  # loose position -> its vector
    select = xp.astype(index[:, None, :] == xp.astype(xp.arange(count), xp.float64)[
        None, :, None], xp.float64)
    return xp.where(loose[:, None, :], V @ select, Q)


def _eigenbasis(S: Any, xp: ModuleType) -> Any:
    """Eigenvectors of S + 1e-30 I, columns in decreasing order of eigenvalue; those of
    eigenvalues at rounding level replaced by :func:`canonical_completion`."""
    eye = xp.eye(S.shape[-1], dtype=xp.float64)
    values, Q = xp.linalg.eigh(S + 1e-30 * eye)
    values, Q = xp.flip(values, axis=-1), xp.flip(Q, axis=-1)
    return canonical_completion(Q, _at_rounding_level(values, xp), xp)


def _sorted_refresh(S: Any, Q: Any, xp: ModuleType) -> tuple[Any, Any]:
    """The paper's refresh: columns of Q ordered by decreasing ``diag(Q^T S Q)``, then
    ``qr(S Q).Q``; returns the new Q and the permutation matrix P (``Q P`` reorders). The
    columns from the first one whose ``|R_jj|`` is at rounding level on (S Q is
    rank-deficient there, and a Householder QR's later columns follow that arbitrary one)
    are replaced by :func:`canonical_completion`."""
    estimate = xp.sum(Q * (S @ Q), axis=-2)  # diag(Q^T S Q), (R, k)
    order = xp.argsort(-estimate, axis=-1, stable=True)
    k = S.shape[-1]
    P = xp.astype(xp.arange(k)[None, :, None] == order[:, None, :], xp.float64)
    Q_new, upper = xp.linalg.qr(S @ (Q @ P))
    diagonal = xp.sum(upper * xp.eye(k, dtype=xp.float64), axis=-1)
    dependent = _running_count(_at_rounding_level(diagonal, xp), xp) > 0
    return canonical_completion(Q_new, dependent, xp), P


@dataclasses.dataclass(frozen=True)
class Soap(LearnerConfig):
    """SOAP; see the module docstring."""

    eta: Any = param(0.003, Real(0, low_open=True), "base step size (times the schedule)")
    beta1: Any = param(0.95, Real(0, 1, high_open=True, per_row=False), "momentum decay")
    beta2: Any = param(0.95, Real(0, 1, high_open=True, per_row=False),
                       "second-moment decay, in [0, 1)")
    shampoo_beta: Any = param(None, Real(0, 1, high_open=True, per_row=False),
                              "decay of L and R (default beta2)")
    eps: Any = param(1e-8, Real(0, per_row=False), "denominator epsilon (outside the root)")
    weight_decay: Any = param(0.0, Real(0, per_row=False), "decoupled decay (times eta_t)")
    precondition_frequency: int = param(10, Integer(low=1), "updates between basis refreshes")
    correct_bias: bool = param(True, Boolean(), "step eta sqrt(1 - beta2^k)/(1 - beta1^k)")
    schedule: Any = param(Schedule(), ScheduleSpec(), "step-size schedule s_t")
    shape: Any = dataclasses.field(default=None, compare=False)
    name = "soap"
    matrix = True

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("unconstrained", "ball", "box")

    def for_horizon(self, T: int) -> Soap:
        return dataclasses.replace(self, schedule=self.schedule.with_horizon(T))

    def schedule_values(self, steps: Any) -> Any:
        return self.schedule.values(steps)

    def _beta_s(self) -> float:
        return float(self.beta2 if self.shampoo_beta is None else self.shampoo_beta)

    def init(self, w1: Any, xp: ModuleType | None = None) -> SoapState:
        xp = self._xp(xp, w1)
        w, (R, m, n) = self._matrix_start(w1, xp)
        z = lambda *s: xp.zeros(s, dtype=xp.float64)  # noqa: E731
        return SoapState(w, 0, z(R, m, n), z(R, m, n), z(R, m, m), z(R, n, n),
                         z(R, m, m), z(R, n, n))

    def update(self, state: SoapState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, SoapState]:
        xp = self._xp(xp, g)
        G, was_matrix = matrix_view(g, self.shape, xp)
        R, m, n = G.shape
        t = state.count + 1
        GT = xp.matrix_transpose(G)
        bs = self._beta_s()
        L = bs * state.L + (1 - bs) * (G @ GT)
        Rs = bs * state.Rs + (1 - bs) * (GT @ G)
        if t == 1:
            return state.w, SoapState(state.w, t, state.M, state.V, L, Rs,
                                      _eigenbasis(L, xp), _eigenbasis(Rs, xp))
        k = t - 1
        QL, QR = state.QL, state.QR
        QLT = xp.matrix_transpose(QL)
        rotated = QLT @ G @ QR
        M = self.beta1 * state.M + (1 - self.beta1) * G
        V = self.beta2 * state.V + (1 - self.beta2) * rotated * rotated
        denom = xp.sqrt(V) + self.eps
        Mr = QLT @ M @ QR
        ratio = xp.where(denom > 0, Mr / xp.where(denom > 0, denom, 1.0), 0.0)
        N = QL @ ratio @ xp.matrix_transpose(QR)
        eta_t = per_row(self.eta, R, xp)[:, None] * self.schedule.value(t)
        factor = (math.sqrt(1 - self.beta2**k) / (1 - self.beta1**k)
                  if self.correct_bias else 1.0)
        W = xp.reshape(state.w, (R, m * n))
        moved = W - eta_t * factor * vector_view(N, False, xp)
        w_next = self.project((1 - eta_t * self.weight_decay) * moved, None, xp)
        if state.w.ndim == 3:
            w_next = xp.reshape(w_next, state.w.shape)
        if k % self.precondition_frequency == 0:
            QL, PL = _sorted_refresh(L, QL, xp)
            QR, PR = _sorted_refresh(Rs, QR, xp)
            V = xp.matrix_transpose(PL) @ V @ PR
        return w_next, SoapState(w_next, t, M, V, L, Rs, QL, QR)

    def geometry(self, state: SoapState) -> None:
        return None

    def state_floats(self, m: int, n: int) -> int:
        return 2 * m * n + 2 * (m * m + n * n)

    def facts(self, d: int) -> LearnerFacts:
        m, n = self.shape if self.shape is not None else (d, 1)
        return self._facts(
            geometry="none", projection_exact=False, matrix_shape=(m, n),
            not_mirror_descent="SOAP: Adam with momentum in a rotating eigenbasis: not "
            "mirror descent with g_t", state_floats=self.state_floats(m, n),
            parameters=BoundParameters(eta=self.eta, eps=self.eps))
