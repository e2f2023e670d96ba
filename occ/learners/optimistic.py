"""Optimistic online gradient descent with the hint ``m_t = g_{t-1}`` (``m_1 = 0``), or a
hint of the user's, ``m_t = m`` for ``t >= 2`` (``hint``: a number or d numbers, e.g. a
known mean of the gradients; ``m_1 = 0`` since ``w_1`` is the start point), in two forms
(``form``):

* ``omd``, optimistic mirror descent with the Euclidean regularizer: Rakhlin and
  Sridharan (2013), "Online learning with predictable sequences" (COLT), Section 2, and
  Chiang et al. (2012), "Online optimization with gradual variations" (COLT):
  ``w_t = Proj_V(v_t - eta m_t)``, ``v_{t+1} = Proj_V(v_t - eta g_t)``, ``v_1 = w_1``;
* ``ftrl``, optimistic FTRL (dual averaging with the hint added to the dual sum):
  ``w_t = Proj_V(w_1 - eta (sum_{s<t} g_s + m_t))`` (Orabona, "A modern introduction to
  online learning", Section 7.11, with ``psi = ||w - w_1||^2/(2 eta)``).

Projections are Euclidean. For every u in V (linear, or by convexity convex losses), in
the OMD form the two projection inequalities and ``<g - m, w_t - v_{t+1}> <= eta/2
||g - m||^2 + ||w_t - v_{t+1}||^2/(2 eta)`` (Rakhlin and Sridharan's Lemma 1 with
``R = ||.||^2/(2 eta)``) telescope, and in the FTRL form the optimistic FTRL lemma
(Orabona, Theorem 7.35, 1/eta-strongly convex regularizer) gives the same bound:

    ``R_T(u) <= ||u - w_1||^2/(2 eta) + eta/2 sum_t ||g_t - m_t||^2``  (bound ``optimistic``),

so slowly changing gradients (or gradients near the user's hint) cost little while an
adversarial sequence costs at most ``eta/2 sum ||g_t - g_{t-1}||^2 <= 2 eta L^2 T``. The
recorder sums ``||g_t - m_t||^2`` with the same hints (the declaration's ``hint``). The
played point is not a mirror-descent iterate of g_t: no geometry is declared.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device
from occ.errors import ParameterError
from occ.learners.base import LearnerConfig, as_batch, per_row
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Real, RealVector, param

FORMS = ("omd", "ftrl")


class OptimisticState(NamedTuple):
    w: Any  # (R, d) w_t to play next
    count: int
    v: Any  # (R, d) the secondary iterate v_t (omd), or sum_{s<t} g_s (ftrl)
    hint: Any  # (R, d) m_t = g_{t-1}
    centre: Any  # (R, d) w_1


@dataclasses.dataclass(frozen=True)
class OptimisticOGD(LearnerConfig):
    """Optimistic OGD (mirror descent or FTRL form), the last gradient or a fixed hint,
    constant step."""

    form: str = param("omd", Choice(FORMS), "optimistic mirror descent, or optimistic FTRL")
    eta: Any = param(0.1, Real(0, low_open=True), "constant step size")
    hint: Any = param(None, RealVector(dimension=True),
                      "a fixed hint m_t = m for t >= 2 (a number or d numbers; default: the "
                      "last gradient g_{t-1})")
    name = "optimistic"

    def hint_vector(self, d: int) -> Any:
        """The fixed hint as (d,) floats, or None (the last gradient is the hint)."""
        if self.hint is None:
            return None
        if isinstance(self.hint, tuple) and len(self.hint) != d:
            raise ParameterError("hint", f"must have d = {d} entries, got {len(self.hint)}")
        return np.broadcast_to(np.asarray(self.hint, dtype=float), (d,)).copy()

    def init(self, w1: Any, xp: ModuleType | None = None) -> OptimisticState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        zeros = xp.zeros(w.shape, dtype=xp.float64)
        return OptimisticState(w, 0, w if self.form == "omd" else zeros, zeros, w)

    def update(self, state: OptimisticState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, OptimisticState]:
        xp = self._xp(xp, g)
        eta = per_row(self.eta, g.shape[0], xp)[:, None]
        fixed = self.hint_vector(g.shape[1])
        m = g if fixed is None else xp.zeros_like(g) + to_device(fixed, xp)  # m_{t+1}
        if self.form == "omd":
            v = self.domain.project(state.v - eta * g, xp, None)
            w_next = self.domain.project(v - eta * m, xp, None)
        else:
            v = state.v + g  # the dual sum
            w_next = self.domain.project(state.centre - eta * (v + m), xp, None)
        return w_next, OptimisticState(w_next, state.count + 1, v, m, state.centre)

    def geometry(self, state: OptimisticState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False,
            not_mirror_descent="optimistic: the played point adds the hint g_{t-1}, not a "
                               "mirror-descent step with g_t",
            claims=frozenset({"optimistic"}),
            state_floats=2 * d if self.form == "omd" else 3 * d,  # v_t (or the sum), hint
            parameters=BoundParameters(eta=self.eta, hint=self.hint_vector(d)))
