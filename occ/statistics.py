"""What a run records about one learner batch: the statistics every bound is a function of.

Both engines fill the same :class:`Statistics` (the reference :class:`occ.recorder.Recorder`
and the compiled :class:`occ.engines.numba_engine.NumbaStepper`); :mod:`occ.bounds` reads
it and knows nothing of how it was recorded. Arrays are on the host, (R, K) per
repetition row and checkpoint unless stated.

Beside the quantities themselves it holds their *magnitudes* (sums of the absolute values
of everything accumulated into them, :mod:`occ.roundoff`), from which each verdict's
floating-point error budget is computed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

DIVERGENCE_CAUSES = {
    1: "a non-finite iterate",
    2: "a non-finite loss or gradient",
    3: "an iterate outside the feasible set",
    4: "a failed eigendecomposition",
}
"""Why a repetition was marked diverged (``Statistics.diverged_cause``)."""


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
    # (R, K, d) sum_{s<=t} w_s; (R, K, 1), its first coordinate only, where no excess risk
    # reads the rest (the chunked engine)
    iterate_sum: np.ndarray
    diverged_at: np.ndarray  # (R,) step at which the repetition left the problem, 0 if never
    diverged_cause: np.ndarray | None = None  # (R,) int code of DIVERGENCE_CAUSES, 0 if none
    # magnitudes behind the error budget of every verdict (occ.roundoff)
    loss_magnitude: np.ndarray | None = None  # sum_t of |terms| of l_t(w_t)
    comparator_error: np.ndarray | None = None  # absolute error bound of comparator_loss
    iterate_norm_max: np.ndarray | None = None  # max_{t<=tau} ||w_t||_2
    # (R, K) sum_{s<=t} m^T w_s, where the adversary's excess risk reads w_bar only as
    # m^T w_bar (excess_risk_direction) and the engine kept that in place of the sum
    iterate_sum_along: np.ndarray | None = None
    comparator_norm: np.ndarray | None = None  # ||u_tau||_2
    eq8_magnitude: np.ndarray | None = None  # (8)'s terms and the per-step identity's inputs
    eq10_magnitude: np.ndarray | None = None  # the same for (10)
    # the mirror-descent family (precision P_t = A_t / eta_t)
    eq8_first: np.ndarray | None = None
    eq10_first: np.ndarray | None = None
    gradient_term: np.ndarray | None = None
    trace_P: np.ndarray | None = None
    gamma_min: np.ndarray | None = None  # min_t lambda_min(Gamma_t) / ||P_t||
    monotone_slack: np.ndarray | None = None  # min_t (lambda_min(Gamma_t) + its round-off)/||P_t||
    gamma_change: np.ndarray | None = None
    coordinate_squares: np.ndarray | None = None  # (R, K, d)
    delta: np.ndarray | None = None  # (R, K, d)
    delta1: np.ndarray | None = None  # (R, K, d) |w_1 - u|
    Dinf: np.ndarray | None = None
    DA2: np.ndarray | None = None
    D1A2: np.ndarray | None = None
    A_largest: np.ndarray | None = None  # (R,) lambda_max(A) of a constant preconditioner
    inverse_eta: np.ndarray | None = None
    trace_root_O: np.ndarray | None = None
    sum_root_diagonal_O: np.ndarray | None = None
    fact21_matrix: np.ndarray | None = None
    # the entropy geometry (EG)
    kl_first: np.ndarray | None = None  # sum_t (KL(u,w_t) - KL(u,w_{t+1}))/eta_t
    kl_magnitude: np.ndarray | None = None
    kl_start: np.ndarray | None = None  # KL(u, w_1)
    kl_max: np.ndarray | None = None  # max_t KL(u, w_t)
    kl_gradient_term: np.ndarray | None = None  # 1/2 sum_t eta_t ||g_t||_inf^2
    S_inf: np.ndarray | None = None  # sum_t ||g_t||_inf^2
    L_inf: np.ndarray | None = None  # max_t ||g_t||_inf
    eta: np.ndarray | None = None  # eta_t at the checkpoint (KL learners)
    eta_nonincreasing: np.ndarray | None = None  # (R, K) bool
    # matrix parameters
    max_rank: np.ndarray | None = None  # max_t rank(G_t)
    eq42_ratio: np.ndarray | None = None  # lambda_max(B^-1/2 (O + r eps I)^1/2 B^-1/2)
    # a second sequence the learner reports (schedule-free: the average x_t; see ``shadow``)
    shadow_cumulative_loss: np.ndarray | None = None  # sum_{s<=t} l_s(x_s)
    # online-learning extras (issue 17): optimism's variation, the experts' loss ranges
    gradient_variation: np.ndarray | None = None  # sum_t ||g_t - g_{t-1}||^2 (g_0 = 0)
    loss_low_sum: np.ndarray | None = None  # L^- = sum_t min_i g_{t,i}
    loss_high_sum: np.ndarray | None = None  # L^+ = sum_t max_i g_{t,i}
    loss_range: np.ndarray | None = None  # S = max_t (max_i g_{t,i} - min_i g_{t,i})
    # the loss family's declaration: l_t is alpha-exp-concave (ONS, universal portfolio)
    exp_concavity: float | None = None
    loss: str | None = None  # the loss family's name (log_wealth: the portfolio game)

    @property
    def regret(self) -> np.ndarray:
        return self.cumulative_loss - self.comparator_loss

    @property
    def diverged(self) -> np.ndarray:
        """(R, K) true where the repetition had diverged at or before the checkpoint."""
        at = self.diverged_at[:, None]
        return (at > 0) & (at <= self.t[None, :])

    def distance_error(self) -> np.ndarray:
        """(R, K) absolute error bound of any recorded distance ``||w_t - u||`` (l2, l_inf
        or per coordinate): the subtraction and the length-d sum, on the stored numbers."""
        from occ.roundoff import gamma

        if self.iterate_norm_max is None or self.comparator_norm is None:
            return np.zeros_like(self.regret)
        return gamma(self.d + 2) * (self.iterate_norm_max + self.comparator_norm)

    def with_distances_inflated(self) -> Statistics:
        """The statistics with every distance raised by its error bound: every bound is
        nondecreasing in its distances, so the difference of a bound's values here and as
        recorded bounds the error the distances carry into it."""
        e = self.distance_error()
        ev = e[:, :, None]
        grown = {"D": self.D + e, "D1": self.D1 + e}
        if self.delta is not None:
            grown |= {"delta": self.delta + ev, "Dinf": self.Dinf + e}
        if self.delta1 is not None:
            grown["delta1"] = self.delta1 + ev
        if self.DA2 is not None and self.A_largest is not None:
            root_a = np.sqrt(self.A_largest)[:, None]
            grown["DA2"] = (np.sqrt(self.DA2) + root_a * e) ** 2
            grown["D1A2"] = (np.sqrt(self.D1A2) + root_a * e) ** 2
        return replace(self, **grown)


@dataclass(frozen=True)
class Recording:
    """Which optional statistics a run records: the union of what its bounds need.

    * ``regret_only`` (a scenario with ``bounds = []``): none of the distances and bound
      ingredients, only the losses, S, L and the iterates' sums;
    * ``coordinates``: per-coordinate ``sum_t g_{t,i}^2`` (``beta_i^2``),
      ``delta_i = max_t |w_{t,i} - u_i|`` and ``Dinf = max_i delta_i``;
    * ``constant_preconditioner``: for a constant ``A`` (``P_t = A/eta_t``):
      ``D_A^2 = max_t ||w_t - u||_A^2``, ``D_{A,1}^2`` and ``1/eta_tau``;
    * ``outer_products``: ``O_t = sum g g^T`` with ``tr(O_tau^{1/2})``,
      ``sum_i sqrt((O_tau)_ii)`` (Lemma C.4) and the left side of the matrix Fact 2.1;
    * ``matrix_rank``: ``max_t rank(G_t)`` of matrix gradients;
    * ``kronecker_42``: the generalized eigenvalue of (42) at the checkpoints;
    * ``gradient_variation``: ``sum_t ||g_t - g_{t-1}||^2`` with ``g_0 = 0`` (optimism);
    * ``loss_ranges``: ``sum_t min_i g_{t,i}``, ``sum_t max_i g_{t,i}`` and
      ``max_t (max_i g_{t,i} - min_i g_{t,i})``, the experts' loss ranges (AdaHedge).
    """

    regret_only: bool = False
    coordinates: bool = False
    constant_preconditioner: bool = False
    outer_products: bool = False
    matrix_rank: bool = False
    kronecker_42: bool = False
    gradient_variation: bool = False
    loss_ranges: bool = False

    def __or__(self, other: Recording) -> Recording:
        return Recording(**{f.name: getattr(self, f.name) or getattr(other, f.name)
                            for f in dataclasses.fields(self)})


def iterate_needs(adversary: Any, d: int) -> dict[str, Any]:
    """What of the iterate sums the adversary's excess risk reads, as the regret engines'
    keywords (``NumbaStepper``, ``ScanStepper``): nothing (no excess risk; the first
    coordinate's sum is kept for ``mean_iterate_0``), ``sum_s m^T w_s``
    (``excess_risk_direction``: a risk linear in ``w_bar``), or the whole sum."""
    if not hasattr(adversary, "excess_risk"):
        return {"iterate_sums": False}
    direction = getattr(adversary, "excess_risk_direction", None)
    if direction is None:
        return {"iterate_sums": True}
    return {"iterate_sums": False, "direction": np.asarray(direction(d), dtype=np.float64)}
