"""Online recording of regret and bound ingredients, in memory independent of T.

The comparators ``u_k`` of all checkpoints ``tau_1 < ... < tau_K`` are known before the
recorded pass (DESIGN.md, "Recording and bounds"), so every quantity a bound needs is a
running sum or maximum over the steps ``t <= tau_k`` for which checkpoint k is still
ahead ("active"). Per step the cost is O(R * K_active * d), where K_active, the number of
checkpoints at or after t, averages a few for log-spaced checkpoints.

Recorded, per repetition and checkpoint (THEORY.md section 0, 7):

* ``cumulative_loss``, ``S = sum ||g_t||^2``, ``L = max ||g_t||_2``;
* ``D = max_t ||w_t - u||_2``, ``D1 = ||w_1 - u||_2``;
* for learners of mirror-descent form, with precision ``P_t = A_t/eta_t``:
  the first terms of (8) and (10), the gradient term ``1/2 sum g^T P_t^{-1} g``,
  ``tr(P_tau)``, ``P_tau`` itself when spherical (``1/eta_tau``), and the monotonicity
  diagnostics ``min_t lambda_min(Gamma_t)/||P_t||`` and ``max_{t>=2} |Gamma_t|/||P_t||``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from occ.backend import to_host


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
    diverged_at: np.ndarray  # (R,) step of the first non-finite iterate, 0 if none
    eq8_first: np.ndarray | None = None
    eq10_first: np.ndarray | None = None
    gradient_term: np.ndarray | None = None
    trace_P: np.ndarray | None = None
    scalar_P: np.ndarray | None = None
    gamma_min: np.ndarray | None = None
    gamma_change: np.ndarray | None = None
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
        keep_trajectory: bool = False,
    ) -> None:
        self.xp = xp
        self.checkpoints = np.asarray(checkpoints)
        self.U = comparators  # (R, K, d)
        self.comparator_loss = comparator_loss
        R, K, d = comparators.shape
        self.R, self.K, self.d = R, K, d
        z = lambda *shape: xp.zeros(shape, dtype=xp.float64)  # noqa: E731
        self.cum_loss, self.S, self.L = z(R), z(R), z(R)
        self.D2 = z(R, K)
        self.D1 = xp.linalg.vector_norm(w1[:, None, :] - comparators, axis=-1)
        self.mirror_descent = mirror_descent
        if mirror_descent:
            self.eq8, self.eq10, self.grad_term = z(R, K), z(R, K), z(R)
            self.gamma_min = xp.full((R,), np.inf, dtype=xp.float64)
            self.gamma_change = z(R)
            self.previous = None
        self.diverged_at = np.zeros(R, dtype=np.int64)
        self.snapshots: dict[str, list[np.ndarray]] = {}
        self.next_checkpoint = 0
        self.trajectory: list[np.ndarray] | None = [] if keep_trajectory else None

    def observe(self, t: int, w: Any, loss: Any, g: Any, w_next: Any, precision: Any) -> None:
        """Record step t: iterate ``w_t``, loss ``l_t(w_t)``, gradient, ``w_{t+1}``, ``P_t``."""
        xp = self.xp
        if self.trajectory is not None:
            self.trajectory.append(to_host(w).copy())
        k0 = self.next_checkpoint
        self.cum_loss = self.cum_loss + loss
        gg = xp.sum(g * g, axis=-1)
        self.S = self.S + gg
        self.L = xp.maximum(self.L, xp.sqrt(gg))
        x = w[:, None, :] - self.U[:, k0:, :]
        squared = xp.sum(x * x, axis=-1)
        self.D2[:, k0:] = xp.maximum(self.D2[:, k0:], squared)
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
            self._snapshot(precision)
            self.next_checkpoint += 1

    def _quad(self, precision: Any, x: Any, squared: Any) -> Any:
        """``x^T P x``, reusing ``||x||^2`` when ``P`` is spherical."""
        if precision.kind == "scalar":
            return precision.p[:, None] * squared
        return precision.quad(x, self.xp)

    def _snapshot(self, precision: Any) -> None:
        values = {"cumulative_loss": self.cum_loss, "S": self.S, "L": self.L}
        if self.mirror_descent:
            values["gradient_term"] = self.grad_term
            values["trace_P"] = precision.trace(self.d, self.xp)
            values["gamma_min"] = self.gamma_min
            values["gamma_change"] = self.gamma_change
            if precision.kind == "scalar":
                values["scalar_P"] = precision.p
        for key, value in values.items():
            self.snapshots.setdefault(key, []).append(to_host(value).copy())

    def statistics(self, T: int) -> Statistics:
        """Everything recorded, on the host."""
        if self.next_checkpoint != self.K:
            raise RuntimeError("the run ended before its last checkpoint")
        snap = {k: np.stack(v, axis=1) for k, v in self.snapshots.items()}
        return Statistics(
            t=self.checkpoints,
            T=T,
            d=self.d,
            cumulative_loss=snap["cumulative_loss"],
            comparator_loss=to_host(self.comparator_loss),
            S=snap["S"],
            L=snap["L"],
            D=np.sqrt(to_host(self.D2)),
            D1=to_host(self.D1),
            diverged_at=self.diverged_at,
            eq8_first=to_host(self.eq8) if self.mirror_descent else None,
            eq10_first=to_host(self.eq10) if self.mirror_descent else None,
            gradient_term=snap.get("gradient_term"),
            trace_P=snap.get("trace_P"),
            scalar_P=snap.get("scalar_P"),
            gamma_min=snap.get("gamma_min"),
            gamma_change=snap.get("gamma_change"),
        )
