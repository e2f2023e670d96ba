"""Online recording of regret and bound ingredients, in memory independent of T.

The comparators ``u_k`` of all checkpoints ``tau_1 < ... < tau_K`` are known before the
recorded pass (DESIGN.md, "Recording and bounds"), so every quantity a bound needs is a
running sum or maximum over the steps ``t <= tau_k`` for which checkpoint k is still
ahead ("active"). Per step the cost is O(R * K_active * d), where K_active, the number of
checkpoints at or after t, averages a few for log-spaced checkpoints.

Always recorded, per repetition and checkpoint (THEORY.md sections 0, 7):
``cumulative_loss``, ``S = sum ||g_t||^2``, ``L = max ||g_t||_2``,
``D = max_t ||w_t - u||_2``, ``D1 = ||w_1 - u||_2``, and the left side of the scalar
Fact 2.1, ``sum_t ||g_t||^2 / sqrt(S_t)``. For learners of mirror-descent form, with
precision ``P_t = A_t/eta_t``: the first terms of (8) and (10), the gradient term
``1/2 sum g^T P_t^{-1} g``, ``tr(P_tau)``, and the monotonicity diagnostics
``min_t lambda_min(Gamma_t)/||P_t||`` and ``max_{t>=2} |Gamma_t|/||P_t||``.

Recorded where a bound asks for them (``needs``):

* ``"coordinates"``: per-coordinate ``sum_t g_{t,i}^2`` (``beta_i^2``),
  ``delta_i = max_t |w_{t,i} - u_i|`` and ``Dinf = max_i delta_i``;
* ``"constant_A"``: for a constant preconditioner ``A`` (``P_t = A/eta_t``):
  ``D_A^2 = max_t ||w_t - u||_A^2``, ``D_{A,1}^2`` and ``1/eta_tau``;
* ``"regret_only"`` (a scenario with ``bounds = []``): none of the distances and bound
  ingredients, only the losses, S, L and the iterates' sums;
* ``"outer"``: ``O_t = sum g g^T`` with ``tr(O_tau^{1/2})``, ``sum_i sqrt((O_tau)_ii)``
  (Lemma C.4) and the left side of the matrix Fact 2.1,
  ``sum_t g_t^T O_t^{+1/2} g_t`` (pseudo-inverse root, a batched ``eigh`` per step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from occ.backend import to_host
from occ.regularizers import inverse_root


@dataclass
class Statistics:
    """Recorded quantities on the host; arrays are (R, K) unless stated."""

    t: np.ndarray  # (K,) checkpoints
    T: int
    d: int
    cumulative_loss: np.ndarray
    comparator_loss: np.ndarray
    S: np.ndarray
    L: np.ndarray
    D: np.ndarray
    D1: np.ndarray
    fact21_scalar: np.ndarray
    iterate_0: np.ndarray  # first coordinate of w_t at the checkpoints
    iterate_sum: np.ndarray  # (R, K, d) sum_{s<=t} w_s
    diverged_at: np.ndarray  # (R,) step of the first non-finite iterate, 0 if none
    eq8_first: np.ndarray | None = None
    eq10_first: np.ndarray | None = None
    gradient_term: np.ndarray | None = None
    trace_P: np.ndarray | None = None
    gamma_min: np.ndarray | None = None
    gamma_change: np.ndarray | None = None
    coordinate_squares: np.ndarray | None = None  # (R, K, d)
    delta: np.ndarray | None = None  # (R, K, d)
    delta1: np.ndarray | None = None  # (R, K, d) |w_1 - u|
    Dinf: np.ndarray | None = None
    DA2: np.ndarray | None = None
    D1A2: np.ndarray | None = None
    inverse_eta: np.ndarray | None = None
    trace_root_O: np.ndarray | None = None
    sum_root_diagonal_O: np.ndarray | None = None
    fact21_matrix: np.ndarray | None = None
    kl_first: np.ndarray | None = None  # sum_t (KL(u,w_t) - KL(u,w_{t+1}))/eta_t
    kl_start: np.ndarray | None = None  # KL(u, w_1)
    kl_max: np.ndarray | None = None  # max_t KL(u, w_t)
    kl_gradient_term: np.ndarray | None = None  # 1/2 sum_t eta_t ||g_t||_inf^2
    S_inf: np.ndarray | None = None  # sum_t ||g_t||_inf^2
    L_inf: np.ndarray | None = None  # max_t ||g_t||_inf
    eta: np.ndarray | None = None  # eta_t at the checkpoint (KL learners)
    eta_nonincreasing: np.ndarray | None = None  # (R, K) bool
    max_rank: np.ndarray | None = None  # max_t rank(G_t) (matrix learners)
    eq42_ratio: np.ndarray | None = None  # lambda_max(B^-1/2 (O + r eps I)^1/2 B^-1/2)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def regret(self) -> np.ndarray:
        return self.cumulative_loss - self.comparator_loss

    @property
    def diverged(self) -> np.ndarray:
        """(R, K) true where the repetition had diverged at or before the checkpoint."""
        at = self.diverged_at[:, None]
        return (at > 0) & (at <= self.t[None, :])


class Recorder:
    """Accumulates the statistics of one learner over a run (arrays in namespace ``xp``)."""

    def __init__(
        self,
        checkpoints: np.ndarray,
        comparators: Any,
        comparator_loss: np.ndarray,
        w1: Any,
        mirror_descent: bool,
        xp: ModuleType,
        needs: frozenset[str] = frozenset(),
        keep_trajectory: bool = False,
        kl: bool = False,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.xp = xp
        self.checkpoints = np.asarray(checkpoints)
        self.U = comparators  # (R, K, d)
        self.comparator_loss = comparator_loss
        R, K, d = comparators.shape
        self.R, self.K, self.d = R, K, d
        z = lambda *shape: xp.zeros(shape, dtype=xp.float64)  # noqa: E731
        self.cum_loss, self.S, self.L, self.fact21_scalar = z(R), z(R), z(R), z(R)
        self.iterate_sum = z(R, d)  # sum_{s<=t} w_s: the averaged iterate of online-to-batch
        self.D2 = z(R, K)
        self.w1 = w1
        self.D1 = xp.linalg.vector_norm(w1[:, None, :] - comparators, axis=-1)
        self.regret_only = "regret_only" in needs
        self.mirror_descent = mirror_descent and not self.regret_only
        if mirror_descent:
            self.eq8, self.eq10, self.grad_term = z(R, K), z(R, K), z(R)
            self.gamma_min = xp.full((R,), np.inf, dtype=xp.float64)
            self.gamma_change = z(R)
            self.previous = None
        self.needs = needs
        self.kl = kl
        self.info = info or {}
        if "matrix_rank" in needs:
            self.max_rank = xp.zeros((R,), dtype=xp.float64)
        if kl:  # entropy geometry (EG): (8) with KL and the l_inf dual norm
            self.kl_first, self.kl_max = z(R, K), xp.full((R, K), -np.inf, dtype=xp.float64)
            safe = xp.where(comparators > 0, comparators, 1.0)
            self.u_log_u = xp.sum(xp.where(comparators > 0, comparators * xp.log(safe), 0.0),
                                  axis=-1)  # (R, K), 0 log 0 = 0
            self.kl_start = None
            self.kl_grad, self.S_inf, self.L_inf = z(R), z(R), z(R)
            self.eta_previous, self.eta_increased = None, np.zeros((R,), dtype=bool)
        if "coordinates" in needs:
            self.coordinate_squares = z(R, d)
            self.delta = z(R, K, d)
        if "constant_A" in needs:
            self.DA2 = z(R, K)
            self.D1A2 = None
        if "outer" in needs:
            self.O = z(R, d, d)
            self.fact21_matrix = z(R)
        self.diverged_at = np.zeros(R, dtype=np.int64)
        self.snapshots: dict[str, list[np.ndarray]] = {}
        self.next_checkpoint = 0
        self.trajectory: list[np.ndarray] | None = [] if keep_trajectory else None

    def set_comparators(self, comparators: Any, comparator_loss: np.ndarray) -> None:
        """The comparators, known only after a single-pass run (regret only: nothing
        recorded before the end depends on them)."""
        self.U, self.comparator_loss = comparators, comparator_loss
        self.D1 = self.xp.linalg.vector_norm(self.w1[:, None, :] - comparators, axis=-1)

    def observe(self, t: int, w: Any, loss: Any, g: Any, w_next: Any, precision: Any,
                preconditioner: Any = None, inverse_eta: Any = None) -> None:
        """Record step t: iterate ``w_t``, loss ``l_t(w_t)``, gradient, ``w_{t+1}``, ``P_t``
        and, for a constant-A learner, ``A`` and ``1/eta_t``."""
        xp = self.xp
        if self.trajectory is not None:
            self.trajectory.append(to_host(w).copy())
        k0 = self.next_checkpoint
        self.cum_loss = self.cum_loss + loss
        self.iterate_sum = self.iterate_sum + w
        gg = xp.sum(g * g, axis=-1)
        self.S = self.S + gg
        self.L = xp.maximum(self.L, xp.sqrt(gg))
        self.fact21_scalar = self.fact21_scalar + xp.where(
            self.S > 0, gg / xp.sqrt(xp.where(self.S > 0, self.S, 1.0)), 0.0)
        if self.regret_only:  # no distances, no bound ingredients
            x = squared = None
        else:
            x = w[:, None, :] - self.U[:, k0:, :]
            squared = xp.sum(x * x, axis=-1)
            self.D2[:, k0:] = xp.maximum(self.D2[:, k0:], squared)
        if "coordinates" in self.needs:
            self.coordinate_squares = self.coordinate_squares + g * g
            self.delta[:, k0:, :] = xp.maximum(self.delta[:, k0:, :], xp.abs(x))
        if "constant_A" in self.needs:
            if self.D1A2 is None:
                self.D1A2 = preconditioner.quad(self.w1[:, None, :] - self.U, xp)
            self.DA2[:, k0:] = xp.maximum(self.DA2[:, k0:], self._quad(preconditioner, x,
                                                                       squared))
            self.inverse_eta = inverse_eta
        if "matrix_rank" in self.needs:
            m, n = self.info["shape"]
            singular = xp.linalg.svdvals(xp.reshape(g, (g.shape[0], m, n)))
            tolerance = max(m, n) * 2.220446049250313e-16 * xp.max(singular, axis=-1)
            rank = xp.sum(xp.astype(singular > tolerance[:, None], xp.float64), axis=-1)
            self.max_rank = xp.maximum(self.max_rank, rank)
        if "outer" in self.needs:
            self.O = self.O + g[:, :, None] * g[:, None, :]
            Q, root = inverse_root(self.O, -0.5, 0.0, xp)
            y = xp.squeeze(g[:, None, :] @ Q, axis=1)
            self.fact21_matrix = self.fact21_matrix + xp.sum(root * y * y, axis=-1)
        if self.kl:
            self._observe_kl(k0, g, precision)
        if self.mirror_descent:
            xn = w_next[:, None, :] - self.U[:, k0:, :]
            qt = self._quad(precision, x, squared)
            self.eq8[:, k0:] += 0.5 * (qt - precision.quad(xn, xp))
            before = 0.0 if self.previous is None else self._quad(self.previous, x, squared)
            self.eq10[:, k0:] += 0.5 * (qt - before)
            self.grad_term = self.grad_term + 0.5 * precision.dual_quad(g, xp)
            low, change = precision.gamma_extremes(self.previous, xp)
            self.gamma_min = xp.minimum(self.gamma_min, low)
            if self.previous is not None:
                self.gamma_change = xp.maximum(self.gamma_change, change)
            self.previous = precision
        finite = to_host(xp.all(xp.isfinite(w_next), axis=-1))
        if not finite.all():
            newly = (~finite) & (self.diverged_at == 0)
            self.diverged_at[newly] = t
        while self.next_checkpoint < self.K and self.checkpoints[self.next_checkpoint] == t:
            self._snapshot(precision, w)
            self.next_checkpoint += 1

    def _observe_kl(self, k0: int, g: Any, geometry: Any) -> None:
        """``(KL(u, w_t) - KL(u, w_{t+1}))/eta_t = u^T (log w_{t+1} - log w_t)/eta_t``, the
        running max of ``KL(u, w_t) = sum u log u - u^T log w_t``, and the l_inf terms."""
        xp = self.xp
        U = self.U[:, k0:, :]
        cross = xp.sum(U * geometry.log_w[:, None, :], axis=-1)
        if self.kl_start is None:
            self.kl_start = self.u_log_u - xp.sum(self.U * geometry.log_w[:, None, :], axis=-1)
        moved = xp.sum(U * (geometry.log_w_next - geometry.log_w)[:, None, :], axis=-1)
        self.kl_first[:, k0:] += moved / geometry.eta[:, None]
        self.kl_max[:, k0:] = xp.maximum(self.kl_max[:, k0:], self.u_log_u[:, k0:] - cross)
        top = xp.max(xp.abs(g), axis=-1)
        self.S_inf = self.S_inf + top * top
        self.L_inf = xp.maximum(self.L_inf, top)
        self.kl_grad = self.kl_grad + 0.5 * geometry.eta * top * top
        if self.eta_previous is not None:
            self.eta_increased |= to_host(geometry.eta > self.eta_previous * (1 + 1e-12))
        self.eta_previous = geometry.eta

    def _inequality_42(self, precision: Any) -> Any:
        """(42) with the eps start (THEORY.md section 3, Shampoo bound):
        ``(O_t + r eps I)^{1/2} <= sqrt(r) (L_t^{1/4} kron R_t^{1/4}) = B``, r the largest rank
        so far, as the largest generalized eigenvalue ``lambda_max(B^{-1/2} O^{1/2} B^{-1/2})``
        (at most 1 where (42) holds; 1 is tight)."""
        from occ.regularizers import KroneckerPrecision

        xp = self.xp
        r = xp.maximum(self.max_rank, 1.0)
        ones = xp.ones_like(precision.c)
        B = KroneckerPrecision(precision.QL, precision.a, precision.QR, precision.b, ones)
        lam = B._lam(xp) * xp.sqrt(r)[:, None]
        # eigenvalues of O at round-off level are exact zeros (O_t has rank <= t r), so the
        # eps directions get exactly sqrt(r eps) rather than sqrt(noise + r eps)
        Q, mu = inverse_root(self.O, 1.0, 0.0, xp)
        root = xp.sqrt(mu + (r * self.info["eps"])[:, None])
        O_root = (Q * root[:, None, :]) @ xp.matrix_transpose(Q)
        # B^{-1/2} O^{1/2} B^{-1/2} in B's eigenbasis (Q_L kron Q_R), scaled by lam^{-1/2}
        basis = KroneckerPrecision(precision.QL, xp.ones_like(precision.a), precision.QR,
                                   xp.ones_like(precision.b), ones)
        rotated = basis.rotate(xp.matrix_transpose(basis.rotate(O_root, xp)), xp)
        scale = 1.0 / xp.sqrt(lam)
        M = rotated * scale[:, :, None] * scale[:, None, :]
        return xp.max(xp.linalg.eigvalsh((M + xp.matrix_transpose(M)) / 2), axis=-1)

    def _quad(self, precision: Any, x: Any, squared: Any) -> Any:
        """``x^T P x``, reusing ``||x||^2`` when ``P`` is spherical."""
        if precision.kind == "scalar":
            return precision.p[:, None] * squared
        return precision.quad(x, self.xp)

    def _snapshot(self, precision: Any, w: Any) -> None:
        xp = self.xp
        values = {"cumulative_loss": self.cum_loss, "S": self.S, "L": self.L,
                  "fact21_scalar": self.fact21_scalar, "iterate_0": w[:, 0],
                  "iterate_sum": self.iterate_sum}
        if self.mirror_descent:
            values["gradient_term"] = self.grad_term
            values["trace_P"] = precision.trace(self.d, xp)
            values["gamma_min"] = self.gamma_min
            values["gamma_change"] = self.gamma_change
        if self.kl:
            values |= {"kl_gradient_term": self.kl_grad, "S_inf": self.S_inf,
                       "L_inf": self.L_inf, "eta": precision.eta,
                       "eta_nonincreasing": ~self.eta_increased}
        if "coordinates" in self.needs:
            values["coordinate_squares"] = self.coordinate_squares
        if "constant_A" in self.needs:
            values["inverse_eta"] = self.inverse_eta
        if "matrix_rank" in self.needs:
            values["max_rank"] = self.max_rank
        if "kronecker_42" in self.needs:
            values["eq42_ratio"] = self._inequality_42(precision)
        if "outer" in self.needs:
            lam = xp.maximum(xp.linalg.eigvalsh(self.O), 0.0)
            values["trace_root_O"] = xp.sum(xp.sqrt(lam), axis=-1)
            diagonal = xp.sum(self.O * xp.eye(self.d, dtype=xp.float64), axis=-1)
            values["sum_root_diagonal_O"] = xp.sum(xp.sqrt(diagonal), axis=-1)
            values["fact21_matrix"] = self.fact21_matrix
        for key, value in values.items():
            self.snapshots.setdefault(key, []).append(to_host(value).copy())

    def statistics(self, T: int) -> Statistics:
        """Everything recorded, on the host."""
        if self.next_checkpoint != self.K:
            raise RuntimeError("the run ended before its last checkpoint")
        snap = {k: np.stack(v, axis=1) for k, v in self.snapshots.items()}
        host = lambda name: to_host(getattr(self, name)) if hasattr(self, name) else None  # noqa: E731
        delta = host("delta") if "coordinates" in self.needs else None
        return Statistics(
            t=self.checkpoints, T=T, d=self.d,
            cumulative_loss=snap["cumulative_loss"],
            comparator_loss=to_host(self.comparator_loss),
            S=snap["S"], L=snap["L"], D=np.sqrt(to_host(self.D2)), D1=to_host(self.D1),
            fact21_scalar=snap["fact21_scalar"], iterate_0=snap["iterate_0"],
            iterate_sum=snap["iterate_sum"],
            diverged_at=self.diverged_at,
            eq8_first=host("eq8") if self.mirror_descent else None,
            eq10_first=host("eq10") if self.mirror_descent else None,
            gradient_term=snap.get("gradient_term"), trace_P=snap.get("trace_P"),
            gamma_min=snap.get("gamma_min"), gamma_change=snap.get("gamma_change"),
            coordinate_squares=snap.get("coordinate_squares"), delta=delta,
            Dinf=delta.max(axis=-1) if delta is not None else None,
            delta1=np.abs(to_host(self.w1)[:, None, :] - to_host(self.U))
            if "coordinates" in self.needs else None,
            DA2=host("DA2") if "constant_A" in self.needs else None,
            D1A2=host("D1A2") if "constant_A" in self.needs else None,
            inverse_eta=snap.get("inverse_eta"), trace_root_O=snap.get("trace_root_O"),
            sum_root_diagonal_O=snap.get("sum_root_diagonal_O"),
            fact21_matrix=snap.get("fact21_matrix"),
            kl_first=host("kl_first") if self.kl else None,
            kl_start=host("kl_start") if self.kl else None,
            kl_max=host("kl_max") if self.kl else None,
            kl_gradient_term=snap.get("kl_gradient_term"), S_inf=snap.get("S_inf"),
            L_inf=snap.get("L_inf"), eta=snap.get("eta"),
            eta_nonincreasing=snap.get("eta_nonincreasing"),
            max_rank=snap.get("max_rank"), eq42_ratio=snap.get("eq42_ratio"),
        )
