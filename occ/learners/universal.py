"""Cover's universal portfolio (Cover 1991, "Universal portfolios", Math. Finance 1;
the bound of Cover & Ordentlich 1996, IEEE Trans. Inf. Theory 42, for the uniform prior).

``w_{t+1} = int b S_t(b) dmu(b) / int S_t(b) dmu(b)`` with ``S_t(b) = prod_{s<=t} b^T x_s``
the wealth of the constant rebalanced portfolio b and mu uniform on the simplex
(Dirichlet(1, ..., 1)). The learner sees gradients of the log-wealth loss,
``g_t = -x_t / (w_t^T x_t)``; ``-g_t`` is ``x_t`` up to a positive factor, which cancels in
the ratio, so ``x_t = -g_t`` is used. A gradient with a coordinate >= 0 is not one of a
portfolio: the iterate is then NaN (the run marks the repetition diverged).

Regret against the best CRP: ``R_T <= (d - 1) log(T + 1)`` (bound ``up_cover``), for the
exact integral.

* ``exact`` (``method = "auto"`` with d = 2, or d = 3 and T <= :data:`EXACT_HORIZON_3`):
  ``S_t`` is a homogeneous polynomial of degree t in b; with ``E[b^alpha] = alpha! (d-1)!
  / (t + d - 1)!`` under Dirichlet(1) the weighted coefficients
  ``a_alpha = c_alpha E[b^alpha]`` obey ``a'_alpha = sum_i x_i a_{alpha - e_i} alpha_i /
  (t + d)`` (all terms positive: no cancellation, normalized every step) and
  ``w_{t+1,i} = sum_alpha a_alpha (alpha_i + 1) / ((t + d) sum_alpha a_alpha)``.
  Cost O(t^(d-1) d) at step t.
* ``sample`` (every other case): Cover's algorithm for the empirical prior mu_N of N
  Dirichlet(1) draws b_1..b_N (seeded; the same for every repetition):
  ``w_{t+1} = sum_j b_j S_t(b_j) / sum_j S_t(b_j)``, in log space. Its wealth is exactly
  the mean of the sampled CRPs' wealths, a Monte Carlo estimate of the exact one with
  relative standard error ``sqrt((N/ESS - 1)/N)`` estimated from the effective sample size
  ``ESS = (sum_j S_j)^2 / sum_j S_j^2`` (:func:`monte_carlo_error`). The (d - 1) log(T + 1)
  bound is a theorem for the exact integral only, so this method claims no bound; its
  ratio to the bound is reported by the portfolio benchmark.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from occ.backend import to_device, to_host
from occ.learners.base import LearnerConfig, as_batch
from occ.learners.facts import BoundParameters, LearnerFacts
from occ.params import Choice, Integer, param

EXACT_HORIZON_3 = 500
"""With d = 3 the exact integral costs O(T^3) in all; beyond this horizon ``auto`` samples."""


class UniversalState(NamedTuple):
    w: Any  # (R, d)
    count: int
    a: Any  # exact: (R, t+1, ..., t+1) the weighted coefficients (normalized); sample: None
    log_wealth: Any  # sample: (R, N) log S_t(b_j); exact: None


@functools.lru_cache(maxsize=8)
def _sampled_prior(n: int, d: int, seed: int) -> np.ndarray:
    """N Dirichlet(1) portfolios (read-only), a function of (N, d, seed) alone."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed,
                                                                     spawn_key=(d,))))
    b = rng.dirichlet(np.ones(d), size=n)
    b.setflags(write=False)
    return b


def monte_carlo_error(log_wealth: np.ndarray) -> np.ndarray:
    """Relative standard error of the sampled wealth ``mean_j S_j`` per row, from the
    effective sample size (see the module docstring)."""
    top = log_wealth.max(axis=-1, keepdims=True)
    s = np.exp(log_wealth - top)
    n = s.shape[-1]
    ess = s.sum(axis=-1) ** 2 / np.sum(s * s, axis=-1)
    return np.sqrt(np.maximum(n / ess - 1.0, 0.0) / n)


@dataclasses.dataclass(frozen=True)
class UniversalPortfolio(LearnerConfig):
    """Cover's universal portfolio with the uniform prior, exact or sampled."""

    method: str = param("auto", Choice(("auto", "sample")),
                        "auto: the exact integral where feasible (d = 2, or d = 3 and "
                        "T <= 500), else sampling; sample: always sample")
    samples: int = param(4096, Integer(low=1), "N, the number of Dirichlet(1) portfolios")
    seed: int = param(0, Integer(low=0), "seed of the sampled prior")
    horizon: Any = param(None, Integer(low=1), "T (set by the run)")
    name = "universal"

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return ("simplex",)

    def for_horizon(self, T: int) -> UniversalPortfolio:
        return self if self.horizon is not None else self.replace(horizon=T)

    def exact(self, d: int) -> bool:
        if self.method == "sample":
            return False
        return d == 2 or (d == 3 and (self.horizon or 0) <= EXACT_HORIZON_3)

    def init(self, w1: Any, xp: ModuleType | None = None) -> UniversalState:
        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        R, d = w.shape
        uniform = xp.zeros((R, d), dtype=xp.float64) + 1.0 / d
        if self.exact(d):
            return UniversalState(uniform, 0, np.ones((R,) + (1,) * (d - 1)), None)
        return UniversalState(uniform, 0, None, np.zeros((R, self.samples)))

    def update(self, state: UniversalState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, UniversalState]:
        xp = self._xp(xp, g)
        x = -to_host(g)
        R, d = x.shape
        bad = ~np.all(x > 0, axis=-1)
        x = np.where(bad[:, None], 1.0, x)
        t = state.count + 1
        if state.a is not None:
            a = self._exact_step(state.a, x, t, d)
            w = self._exact_weights(a, t, d)
            log_wealth = None
        else:
            b = _sampled_prior(self.samples, d, self.seed)
            # elementwise products and sums, not BLAS: a row's numbers do not depend on
            # the other rows of the batch
            log_wealth = state.log_wealth + np.log(np.sum(x[:, None, :] * b[None], axis=-1))
            top = log_wealth.max(axis=-1, keepdims=True)
            mass = np.exp(log_wealth - top)
            w = np.sum(mass[:, :, None] * b[None], axis=1) / mass.sum(axis=-1, keepdims=True)
            a = None
        w = np.where(bad[:, None], np.nan, w)
        w_next = to_device(w, xp)
        return w_next, UniversalState(w_next, t, a, log_wealth)

    @staticmethod
    def _degrees(t: int, d: int) -> tuple[list[np.ndarray], np.ndarray]:
        """alpha_1..alpha_{d-1} on the grid of degree t, and alpha_d = t - sum."""
        grids = np.meshgrid(*[np.arange(t + 1)] * (d - 1), indexing="ij")
        last = t - sum(grids)
        return grids, last

    def _exact_step(self, a: np.ndarray, x: np.ndarray, t: int, d: int) -> np.ndarray:
        """The coefficients of degree t from those of degree t - 1 (see the docstring)."""
        R = a.shape[0]
        grids, last = self._degrees(t, d)
        valid = last >= 0
        new = np.zeros((R,) + (t + 1,) * (d - 1))
        inner = (slice(None),) + (slice(0, t),) * (d - 1)
        # the last variable: alpha_d = t - sum(alpha_<d) grows by one, alpha_<d unchanged
        new[inner] += x[:, d - 1].reshape((R,) + (1,) * (d - 1)) * a * np.where(
            valid[(slice(0, t),) * (d - 1)], last[(slice(0, t),) * (d - 1)], 0)
        for i in range(d - 1):  # alpha_i grows by one
            index = [slice(None)] + [slice(0, t)] * (d - 1)
            index[1 + i] = slice(1, t + 1)
            new[tuple(index)] += x[:, i].reshape((R,) + (1,) * (d - 1)) * a * grids[i][
                tuple(index[1:])]
        new = np.where(valid, new, 0.0) / (t + d - 1)
        return new / new.reshape(R, -1).sum(axis=1).reshape((R,) + (1,) * (d - 1))

    def _exact_weights(self, a: np.ndarray, t: int, d: int) -> np.ndarray:
        grids, last = self._degrees(t, d)
        R = a.shape[0]
        flat = a.reshape(R, -1)
        total = flat.sum(axis=1)
        powers = [*grids, np.maximum(last, 0)]
        w = np.stack([(flat * (p.reshape(-1) + 1.0)).sum(axis=1) for p in powers], axis=1)
        return w / ((t + d) * total[:, None])

    def geometry(self, state: UniversalState) -> None:
        return None

    def facts(self, d: int) -> LearnerFacts:
        exact = self.exact(d)
        return self._facts(
            geometry="none",
            not_mirror_descent="not applicable: Cover's universal portfolio is a mixture of "
                               "constant rebalanced portfolios, not a mirror-descent step",
            claims=frozenset({"up_cover"} if exact else set()),
            state_floats=0 if exact else self.samples,
            parameters=BoundParameters(log_d=math.log(d)))
