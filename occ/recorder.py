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

Recorded where a bound asks for them: the fields of :class:`occ.statistics.Recording`.

Beside each accumulated quantity the recorder keeps its magnitude (:mod:`occ.roundoff`):
the sum of the losses' absolute terms, ``max_t ||w_t||``, and for (8)/(10) the sums of
``u^T P u``-type terms of every input of the per-step identity, from which the verdicts'
error budgets are computed. A repetition is marked diverged at the first step where its
loss or gradient is not finite, its next iterate is not finite or lies outside V by more
than round-off, or its preconditioner's eigendecomposition failed; no verdict is given
for it from that step on.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from occ.backend import to_device, to_host
from occ.learners.facts import LearnerFacts
from occ.regularizers import eigen_power, inverse_root, safe_eigvalsh
from occ.roundoff import EPSILON
from occ.statistics import Recording, Statistics

Statistics = Statistics  # re-exported: the recorder's product


class Recorder:
    """Accumulates the statistics of one learner over a run (arrays in namespace ``xp``)."""

    def __init__(
        self,
        checkpoints: np.ndarray,
        comparators: Any,
        comparator_loss: np.ndarray,
        w1: Any,
        facts: LearnerFacts,
        xp: ModuleType,
        recording: Recording | None = None,
        domain: Any = None,
        comparator_error: np.ndarray | None = None,
        keep_trajectory: bool = False,
    ) -> None:
        self.xp = xp
        self.checkpoints = np.asarray(checkpoints)
        self.U = comparators  # (R, K, d)
        self.comparator_loss = comparator_loss
        self.comparator_error = comparator_error
        R, K, d = comparators.shape
        self.R, self.K, self.d = R, K, d
        z = lambda *shape: xp.zeros(shape, dtype=xp.float64)  # noqa: E731
        self.cum_loss, self.S, self.L, self.fact21_scalar = z(R), z(R), z(R), z(R)
        self.loss_magnitude, self.norm_max = z(R), z(R)
        self.iterate_sum = z(R, d)  # sum_{s<=t} w_s: the averaged iterate of online-to-batch
        self.shadow_loss = None  # sum_{s<=t} l_s(x_s) of a learner's reported second sequence
        self.D2 = z(R, K)
        self.w1 = w1
        self.D1 = xp.linalg.vector_norm(w1[:, None, :] - comparators, axis=-1)
        recording = recording if recording is not None else Recording()
        self.facts, self.domain, self.recording = facts, domain, recording
        self.regret_only = recording.regret_only
        self.mirror_descent = facts.euclidean and not self.regret_only
        if self.mirror_descent:
            self.eq8, self.eq10, self.grad_term = z(R, K), z(R, K), z(R)
            self.gamma_min = xp.full((R,), np.inf, dtype=xp.float64)
            self.monotone_slack = xp.full((R,), np.inf, dtype=xp.float64)
            self.gamma_change = z(R)
            self.previous = None
            # magnitudes of the per-step identity behind (8) and (10) (occ.roundoff):
            # per row sum_t of the P-weighted squares of w_t, w_{t+1} and P^-1 g_t, and of
            # lambda_max(P_t), lambda_max(P_{t-1}) (their ||u||^2 terms, per checkpoint)
            self.eq8_rows, self.eq8_top = z(R), z(R)
            self.eq10_rows, self.eq10_top = z(R), z(R)
        self.kl = facts.geometry == "kl" and not self.regret_only
        if recording.matrix_rank:
            self.max_rank = xp.zeros((R,), dtype=xp.float64)
        if self.kl:  # entropy geometry (EG): (8) with KL and the l_inf dual norm
            self.kl_first, self.kl_max = z(R, K), xp.full((R, K), -np.inf, dtype=xp.float64)
            self.kl_magnitude = z(R, K)
            safe = xp.where(comparators > 0, comparators, 1.0)
            self.u_log_u = xp.sum(xp.where(comparators > 0, comparators * xp.log(safe), 0.0),
                                  axis=-1)  # (R, K), 0 log 0 = 0
            self.kl_start = None
            self.kl_grad, self.S_inf, self.L_inf = z(R), z(R), z(R)
            self.eta_previous, self.eta_increased = None, np.zeros((R,), dtype=bool)
        if recording.coordinates:
            self.coordinate_squares = z(R, d)
            self.delta = z(R, K, d)
        if recording.constant_preconditioner:
            self.DA2 = z(R, K)
            self.D1A2 = None
            self.A_largest = None
        if recording.gradient_variation:
            self.variation, self.previous_gradient = z(R), z(R, d)
        if recording.loss_ranges:
            self.low_sum, self.high_sum, self.range_max = z(R), z(R), z(R)
        if recording.outer_products:
            self.O = z(R, d, d)
            self.fact21_matrix = z(R)
        self.diverged_at = np.zeros(R, dtype=np.int64)
        self.diverged_cause = np.zeros(R, dtype=np.int64)
        self.snapshots: dict[str, list[np.ndarray]] = {}
        self.next_checkpoint = 0
        self.trajectory: list[np.ndarray] | None = [] if keep_trajectory else None

    def set_comparators(self, comparators: Any, comparator_loss: np.ndarray,
                        comparator_error: np.ndarray | None = None) -> None:
        """The comparators, known only after a single-pass run (regret only: nothing
        recorded before the end depends on them)."""
        self.U, self.comparator_loss = comparators, comparator_loss
        self.comparator_error = comparator_error
        self.D1 = self.xp.linalg.vector_norm(self.w1[:, None, :] - comparators, axis=-1)

    def _diverge(self, t: int, bad: Any, cause: int) -> None:
        bad = to_host(bad)
        if bad.any():
            newly = bad & (self.diverged_at == 0)
            self.diverged_at[newly] = t
            self.diverged_cause[newly] = cause

    def observe_shadow(self, loss: Any) -> None:
        """The loss ``l_t(x_t)`` of the second sequence a learner reports (``shadow``: the
        averaged x of schedule-free AdamW), recorded before :meth:`observe` of step t."""
        self.shadow_loss = loss if self.shadow_loss is None else self.shadow_loss + loss

    def observe(self, t: int, w: Any, loss: Any, g: Any, w_next: Any, precision: Any,
                preconditioner: Any = None, inverse_eta: Any = None,
                loss_magnitude: Any = None) -> None:
        """Record step t: iterate ``w_t``, loss ``l_t(w_t)`` (and the sum of its terms'
        absolute values), gradient, ``w_{t+1}``, ``P_t`` and, for a constant-A learner,
        ``A`` and ``1/eta_t``."""
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
        self._diverge(t, ~(xp.isfinite(loss) & xp.all(xp.isfinite(g), axis=-1)), 2)
        if self.regret_only:  # no distances, no bound ingredients
            x = squared = None
        else:
            if loss_magnitude is not None:
                self.loss_magnitude = self.loss_magnitude + loss_magnitude
            self.norm_max = xp.maximum(self.norm_max, xp.linalg.vector_norm(w, axis=-1))
            x = w[:, None, :] - self.U[:, k0:, :]
            squared = xp.sum(x * x, axis=-1)
            self.D2[:, k0:] = xp.maximum(self.D2[:, k0:], squared)
        if self.recording.coordinates:
            self.coordinate_squares = self.coordinate_squares + g * g
            self.delta[:, k0:, :] = xp.maximum(self.delta[:, k0:, :], xp.abs(x))
        if self.recording.constant_preconditioner:
            if self.D1A2 is None:
                self.D1A2 = preconditioner.quad(self.w1[:, None, :] - self.U, xp)
                self.A_largest = preconditioner.largest(xp)
            self.DA2[:, k0:] = xp.maximum(self.DA2[:, k0:], self._quad(preconditioner, x,
                                                                       squared))
            self.inverse_eta = inverse_eta
        if self.recording.matrix_rank:
            m, n = self.facts.matrix_shape
            singular = xp.linalg.svdvals(xp.reshape(g, (g.shape[0], m, n)))
            tolerance = max(m, n) * EPSILON * xp.max(singular, axis=-1)
            rank = xp.sum(xp.astype(singular > tolerance[:, None], xp.float64), axis=-1)
            self.max_rank = xp.maximum(self.max_rank, rank)
        if self.recording.gradient_variation:
            change = g - self.previous_gradient  # m_t: 0 at t = 1, then g_{t-1} or m
            self.variation = self.variation + xp.sum(change * change, axis=-1)
            fixed = self.facts.parameters.hint
            self.previous_gradient = (g if fixed is None
                                      else xp.zeros_like(g) + to_device(fixed, xp))
        if self.recording.loss_ranges:
            low, high = xp.min(g, axis=-1), xp.max(g, axis=-1)
            self.low_sum, self.high_sum = self.low_sum + low, self.high_sum + high
            self.range_max = xp.maximum(self.range_max, high - low)
        if self.recording.outer_products:
            self.O = self.O + g[:, :, None] * g[:, None, :]
            if getattr(precision, "outer", None) is not None:  # the learner's decomposition
                Q, root = precision.Q, eigen_power(precision.outer, -0.5, 0.0, xp)[0]
            else:
                Q, root = inverse_root(self.O, -0.5, 0.0, xp)
            y = xp.squeeze(g[:, None, :] @ Q, axis=1)
            self.fact21_matrix = self.fact21_matrix + xp.sum(root * y * y, axis=-1)
        if self.kl:
            self._observe_kl(k0, g, precision)
        if self.mirror_descent:
            self._observe_mirror_descent(t, k0, w, g, w_next, x, squared, precision)
        self._diverge(t, ~xp.all(xp.isfinite(w_next), axis=-1), 1)
        if self.domain is not None:
            self._diverge(t, ~self.domain.contains(w_next, xp), 3)
        while self.next_checkpoint < self.K and self.checkpoints[self.next_checkpoint] == t:
            self._snapshot(precision, w)
            self.next_checkpoint += 1

    def _observe_mirror_descent(self, t: int, k0: int, w: Any, g: Any, w_next: Any, x: Any,
                                squared: Any, precision: Any) -> None:
        """(8), (10), the gradient term, Gamma_t and the magnitudes of the per-step identity
        ``g^T (w_t - u) = (||u - w_t||^2_P - ||u - w~||^2_P)/2 + g^T P^-1 g/2``
        (``w~ = w_t - P^-1 g_t``): its inputs w_t, w_{t+1}, ``P^-1 g`` and u are each
        rounded, so the identity holds to ``gamma_n`` times ``3 (|w|_P^2 + |P^-1 g|_P^2
        + |u|_P^2) + 2 (|w_{t+1}|_P^2 + |u|_P^2)`` (``(a + b + c)^2 <= 3 (a^2 + b^2 + c^2)``),
        with ``|u|_P^2 <= lambda_max(P) ||u||^2``; in a rotated geometry (full, Kronecker)
        the squares are ``lambda_max(P)`` times Euclidean ones, times d for the rotation."""
        xp = self.xp
        xn = w_next[:, None, :] - self.U[:, k0:, :]
        qt = self._quad(precision, x, squared)
        self.eq8[:, k0:] += 0.5 * (qt - precision.quad(xn, xp))
        before = 0.0 if self.previous is None else self._quad(self.previous, x, squared)
        self.eq10[:, k0:] += 0.5 * (qt - before)
        dual = precision.dual_quad(g, xp)
        self.grad_term = self.grad_term + 0.5 * dual
        top = precision.largest(xp)
        if precision.kind in ("scalar", "diagonal"):
            inputs = 3 * (precision.quad(w, xp) + dual) + 2 * precision.quad(w_next, xp)
            previous = 0.0 if self.previous is None else self.previous.quad(w, xp)
        else:
            norm2 = lambda v: xp.sum(v * v, axis=-1)  # noqa: E731
            step = precision.solve(g, xp)
            inputs = self.d * top * (3 * (norm2(w) + norm2(step)) + 2 * norm2(w_next))
            previous = 0.0 if self.previous is None else (
                self.d * self.previous.largest(xp) * norm2(w))
        previous_top = 0.0 if self.previous is None else self.previous.largest(xp)
        self.eq8_rows = self.eq8_rows + inputs
        self.eq8_top = self.eq8_top + 5 * top
        self.eq10_rows = self.eq10_rows + 2 * previous
        self.eq10_top = self.eq10_top + 2 * previous_top
        low, change, tolerance = precision.gamma_extremes(self.previous, xp)
        self.gamma_min = xp.minimum(self.gamma_min, low)
        self.monotone_slack = xp.minimum(self.monotone_slack, low + tolerance)
        if self.previous is not None:
            self.gamma_change = xp.maximum(self.gamma_change, change)
        self.previous = precision
        for part in (getattr(precision, "error", None), getattr(precision, "a_error", None),
                     getattr(precision, "b_error", None)):
            if part is not None:
                self._diverge(t, ~xp.isfinite(part), 4)

    def _observe_kl(self, k0: int, g: Any, geometry: Any) -> None:
        """``(KL(u, w_t) - KL(u, w_{t+1}))/eta_t = u^T (log w_{t+1} - log w_t)/eta_t``, the
        running max of ``KL(u, w_t) = sum u log u - u^T log w_t``, and the l_inf terms.
        The magnitude of the per-step inequality's inputs: ``log w_{t+1} = log w_t - eta g
        - logsumexp``, each rounded, ``2 u^T (|log w_t| + |log w_{t+1}| + eta |g|)/eta``."""
        xp = self.xp
        U = self.U[:, k0:, :]
        cross = xp.sum(U * geometry.log_w[:, None, :], axis=-1)
        if self.kl_start is None:
            self.kl_start = self.u_log_u - xp.sum(self.U * geometry.log_w[:, None, :], axis=-1)
        moved = xp.sum(U * (geometry.log_w_next - geometry.log_w)[:, None, :], axis=-1)
        eta = geometry.eta[:, None]
        self.kl_first[:, k0:] += moved / eta
        spread = xp.abs(geometry.log_w) + xp.abs(geometry.log_w_next) + geometry.eta[
            :, None] * xp.abs(g)
        self.kl_magnitude[:, k0:] += 2 * xp.sum(U * spread[:, None, :], axis=-1) / eta
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
        root = xp.sqrt(mu + (r * self.facts.parameters.eps)[:, None])
        O_root = (Q * root[:, None, :]) @ xp.matrix_transpose(Q)
        # B^{-1/2} O^{1/2} B^{-1/2} in B's eigenbasis (Q_L kron Q_R), scaled by lam^{-1/2}
        basis = KroneckerPrecision(precision.QL, xp.ones_like(precision.a), precision.QR,
                                   xp.ones_like(precision.b), ones)
        rotated = basis.rotate(xp.matrix_transpose(basis.rotate(O_root, xp)), xp)
        scale = 1.0 / xp.sqrt(lam)
        M = rotated * scale[:, :, None] * scale[:, None, :]
        return xp.max(safe_eigvalsh((M + xp.matrix_transpose(M)) / 2, xp), axis=-1)

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
        if self.shadow_loss is not None:
            values["shadow_cumulative_loss"] = self.shadow_loss
        if not self.regret_only:
            values |= {"loss_magnitude": self.loss_magnitude, "norm_max": self.norm_max}
        if self.mirror_descent:
            values |= {"gradient_term": self.grad_term, "trace_P": precision.trace(self.d, xp),
                       "gamma_min": self.gamma_min, "monotone_slack": self.monotone_slack,
                       "gamma_change": self.gamma_change, "eq8_rows": self.eq8_rows,
                       "eq8_top": self.eq8_top, "eq10_rows": self.eq10_rows,
                       "eq10_top": self.eq10_top}
        if self.kl:
            values |= {"kl_gradient_term": self.kl_grad, "S_inf": self.S_inf,
                       "L_inf": self.L_inf, "eta": precision.eta,
                       "eta_nonincreasing": ~self.eta_increased}
        if self.recording.coordinates:
            values["coordinate_squares"] = self.coordinate_squares
        if self.recording.constant_preconditioner:
            values["inverse_eta"] = self.inverse_eta
        if self.recording.matrix_rank:
            values["max_rank"] = self.max_rank
        if self.recording.gradient_variation:
            values["gradient_variation"] = self.variation
        if self.recording.loss_ranges:
            values |= {"loss_low_sum": self.low_sum, "loss_high_sum": self.high_sum,
                       "loss_range": self.range_max}
        if self.recording.kronecker_42:
            values["eq42_ratio"] = self._inequality_42(precision)
        if self.recording.outer_products:
            lam = xp.maximum(safe_eigvalsh(self.O, xp), 0.0)
            values["trace_root_O"] = xp.sum(xp.sqrt(lam), axis=-1)
            diagonal = xp.sum(self.O * xp.eye(self.d, dtype=xp.float64), axis=-1)
            values["sum_root_diagonal_O"] = xp.sum(xp.sqrt(diagonal), axis=-1)
            values["fact21_matrix"] = self.fact21_matrix
        for key, value in values.items():
            self.snapshots.setdefault(key, []).append(to_host(value).copy())

    def statistics(self, T: int) -> Statistics:
        """Everything recorded, on the host (overflow of a diverged repetition's numbers is
        not an error: it is marked diverged)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._statistics(T)

    def _statistics(self, T: int) -> Statistics:
        if self.next_checkpoint != self.K:
            raise RuntimeError("the run ended before its last checkpoint")
        snap = {k: np.stack(v, axis=1) for k, v in self.snapshots.items()}
        host = lambda name: to_host(getattr(self, name)) if hasattr(self, name) else None  # noqa: E731
        rec = self.recording
        delta = host("delta") if rec.coordinates else None
        U = to_host(self.U)
        u_norm2 = np.sum(U * U, axis=-1)
        magnitudes = {}
        if not self.regret_only:
            magnitudes = dict(
                loss_magnitude=snap["loss_magnitude"], iterate_norm_max=snap["norm_max"],
                comparator_norm=np.sqrt(u_norm2),
                comparator_error=None if self.comparator_error is None
                else to_host(self.comparator_error))
        if self.mirror_descent:
            eq8 = snap["eq8_rows"] + snap["eq8_top"] * u_norm2 * self._rotation()
            magnitudes |= dict(eq8_magnitude=eq8, eq10_magnitude=eq8 + snap["eq10_rows"]
                               + snap["eq10_top"] * u_norm2 * self._rotation())
        return Statistics(
            t=self.checkpoints, T=T, d=self.d,
            cumulative_loss=snap["cumulative_loss"],
            comparator_loss=to_host(self.comparator_loss),
            S=snap["S"], L=snap["L"], D=np.sqrt(to_host(self.D2)), D1=to_host(self.D1),
            fact21_scalar=snap["fact21_scalar"], iterate_0=snap["iterate_0"],
            iterate_sum=snap["iterate_sum"],
            diverged_at=self.diverged_at, diverged_cause=self.diverged_cause,
            eq8_first=host("eq8") if self.mirror_descent else None,
            eq10_first=host("eq10") if self.mirror_descent else None,
            gradient_term=snap.get("gradient_term"), trace_P=snap.get("trace_P"),
            gamma_min=snap.get("gamma_min"), monotone_slack=snap.get("monotone_slack"),
            gamma_change=snap.get("gamma_change"),
            coordinate_squares=snap.get("coordinate_squares"), delta=delta,
            Dinf=delta.max(axis=-1) if delta is not None else None,
            delta1=np.abs(to_host(self.w1)[:, None, :] - U) if rec.coordinates else None,
            DA2=host("DA2") if rec.constant_preconditioner else None,
            D1A2=host("D1A2") if rec.constant_preconditioner else None,
            A_largest=host("A_largest") if rec.constant_preconditioner else None,
            inverse_eta=snap.get("inverse_eta"), trace_root_O=snap.get("trace_root_O"),
            sum_root_diagonal_O=snap.get("sum_root_diagonal_O"),
            fact21_matrix=snap.get("fact21_matrix"),
            kl_first=host("kl_first") if self.kl else None,
            kl_magnitude=host("kl_magnitude") if self.kl else None,
            kl_start=host("kl_start") if self.kl else None,
            kl_max=host("kl_max") if self.kl else None,
            kl_gradient_term=snap.get("kl_gradient_term"), S_inf=snap.get("S_inf"),
            L_inf=snap.get("L_inf"), eta=snap.get("eta"),
            eta_nonincreasing=snap.get("eta_nonincreasing"),
            max_rank=snap.get("max_rank"), eq42_ratio=snap.get("eq42_ratio"),
            shadow_cumulative_loss=snap.get("shadow_cumulative_loss"),
            gradient_variation=snap.get("gradient_variation"),
            loss_low_sum=snap.get("loss_low_sum"), loss_high_sum=snap.get("loss_high_sum"),
            loss_range=snap.get("loss_range"),
            **magnitudes,
        )

    def _rotation(self) -> int:
        """The factor d of a rotated geometry's Euclidean squares (Recorder docstring)."""
        return 1 if self.facts.geometry in ("scalar", "diagonal") else self.d
