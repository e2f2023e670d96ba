"""AdaHedge: Hedge with the learning rate tuned by the mixability gap.

de Rooij, van Erven, Grunwald and Koolen (2014), "Follow the leader if you can, hedge if
you must" (JMLR 15), Section 2 and the code of their Figure 1. With the cumulative losses
``L_{t-1} = sum_{s<t} l_s`` of the K experts (here ``l_t = g_t``, the gradient of the
linear loss on the simplex) and the cumulative mixability gap ``Delta_{t-1}``:

* ``eta_t = ln K / Delta_{t-1}`` (``+inf`` while ``Delta = 0``: follow the leader, uniform
  on the experts of least loss);
* ``w_t ∝ exp(-eta_t (L_{t-1} - min L_{t-1}))``, the Hedge loss ``h_t = w_t . l_t``;
* the mix loss ``M(eta, L) = min L - ln(sum_k exp(-eta (L_k - min L))/K)/eta`` and the gap
  ``delta_t = max(0, h_t - (M(eta_t, L_t) - M(eta_t, L_{t-1})))`` (the ``max`` is the paper's
  guard against round-off), ``Delta_t = Delta_{t-1} + delta_t``.

The weights are invariant under rescaling and translation of the losses: no range is
needed. Their Theorem 8 bounds the regret by the losses alone, with
``L^- = sum_t min_k l_{t,k}``, ``L^+ = sum_t max_k l_{t,k}``, ``S = max_t (max_k l_{t,k} -
min_k l_{t,k})`` and ``L* = min_k L_{T,k}`` (bound ``adahedge``):

    ``R_T <= 2 sqrt(S (L* - L^-)(L^+ - L*)/(L^+ - L^-) ln K) + S (16/3 ln K + 2)``.

Not a mirror-descent step of occ's form (the rate is re-tuned on the whole past):
no geometry is declared.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any, NamedTuple

from occ.learners.base import LearnerConfig, as_batch
from occ.learners.facts import BoundParameters, LearnerFacts


class AdaHedgeState(NamedTuple):
    w: Any  # (R, K) weights to play next
    count: int
    loss_sum: Any  # (R, K) L_t
    gap: Any  # (R,) Delta_t


def mix(eta: Any, L: Any, xp: ModuleType) -> tuple[Any, Any]:
    """``(w, M)``: the Hedge weights at rate eta (per row; inf: uniform on the leaders)
    and the mix loss ``M(eta, L)`` of the paper's Figure 1."""
    K = L.shape[-1]
    low = xp.min(L, axis=-1, keepdims=True)
    infinite = ~xp.isfinite(eta)
    finite_eta = xp.where(infinite, 1.0, eta)[:, None]
    leaders = xp.astype(low == L, xp.float64)
    weights = xp.where(infinite[:, None], leaders, xp.exp(-finite_eta * (L - low)))
    total = xp.sum(weights, axis=-1)
    M = low[:, 0] - xp.where(infinite, 0.0, xp.log(total / K) / finite_eta[:, 0])
    return weights / total[:, None], M


def rate(gap: Any, K: int, xp: ModuleType) -> Any:
    """``eta = ln K / Delta`` (inf while Delta = 0)."""
    return xp.where(gap > 0, math.log(K) / xp.where(gap > 0, gap, 1.0), math.inf)


@dataclasses.dataclass(frozen=True)
class AdaHedge(LearnerConfig):
    """AdaHedge (de Rooij et al. 2014) on the simplex of experts."""

    name = "adahedge"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("simplex",)

    def init(self, w1: Any, xp: ModuleType | None = None) -> AdaHedgeState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, K = w.shape
        zeros = xp.zeros((R, K), dtype=xp.float64)
        return AdaHedgeState(zeros + 1.0 / K, 0, zeros, xp.zeros((R,), dtype=xp.float64))

    def update(self, state: AdaHedgeState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, AdaHedgeState]:
        xp = self._xp(xp, g)
        K = g.shape[-1]
        eta = rate(state.gap, K, xp)
        w, before = mix(eta, state.loss_sum, xp)
        hedge = xp.sum(w * g, axis=-1)
        loss_sum = state.loss_sum + g
        _, after = mix(eta, loss_sum, xp)
        gap = state.gap + xp.maximum(0.0, hedge - (after - before))
        w_next, _ = mix(rate(gap, K, xp), loss_sum, xp)
        return w_next, AdaHedgeState(w_next, state.count + 1, loss_sum, gap)

    def geometry(self, state: AdaHedgeState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="AdaHedge re-tunes eta_t = ln K / Delta_{t-1} on the whole "
                               "past: exponential weights, not occ's mirror-descent step",
            claims=frozenset({"adahedge"}), state_floats=d,  # L_t (Delta is per row)
            parameters=BoundParameters(log_d=math.log(d)))
