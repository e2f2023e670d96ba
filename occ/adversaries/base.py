"""What every adversary provides: a loss family (value, gradient, comparator) and loss data.

An adversary draws its randomness on the host, a time chunk at a time, from one NumPy
generator per (repetition, stream): ``draw(rngs, t0, t1, d)`` returns an array whose first
axis is time and second the repetition, and every stream is consumed by a single call
per chunk in time order, so a repetition's numbers do not depend on the chunk size or on
the other repetitions. An *oblivious* adversary's data are the loss parameters; an
*adaptive* one maps data and the learner's current iterate to the loss parameters in
``respond`` (array namespace ``xp`` passed in, never imported).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple, Protocol

import numpy as np

from occ.draws import aligned_empty, fill_standard_normal


class LossFamily(Protocol):
    """A class of convex losses ``l_t(w) = f(params_t, w)`` with an exact comparator.

    ``value_magnitude`` and ``comparator_magnitude`` bound the sums of the absolute values
    of the terms behind ``value`` and the comparator's loss (upper bounds suffice): times
    ``gamma_n`` (:mod:`occ.roundoff`) they bound the rounding error of the regret."""

    name: str

    def value(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """``l_t(w)`` per row, shape (R,)."""

    def value_magnitude(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """The sum of the absolute values of the terms of ``l_t(w)``, per row."""

    def comparator_magnitude(self, stats: Any, u: Any, domain: Any, xp: ModuleType) -> Any:
        """The same for ``sum_t l_t(u)`` as computed from the statistics, per row."""

    def gradient(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """``grad l_t(w)``, shape (R, d)."""

    def stats_init(self, R: int, d: int, xp: ModuleType) -> Any:
        """Sufficient statistics of an empty loss sequence."""

    def stats_update(self, stats: Any, params: Any, xp: ModuleType) -> Any:
        """Statistics after adding one loss."""

    def comparator(self, stats: Any, domain: Any, xp: ModuleType) -> tuple[Any, Any]:
        """``u = argmin_{V} sum_t l_t`` and ``sum_t l_t(u)``, per row."""


class Adversary(Protocol):
    name: str
    oblivious: bool
    streams: tuple[str, ...]

    def loss_family(self, d: int) -> LossFamily: ...

    def draw(self, rngs: list[dict[str, np.random.Generator]], t0: int, t1: int, d: int) -> Any:
        """Loss data for steps ``t0 <= t < t1`` (1-based), shape (t1 - t0, S, ...)."""

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        """Loss parameters at step t from that step's data and the iterate ``w_t``."""


class LinearStats(NamedTuple):
    """The running sums of linear losses: ``G = sum_t g_t`` and ``sum_t ||g_t||_2``."""

    G: Any  # (R, d)
    norm_sum: Any  # (R,)


@dataclass(frozen=True)
class LinearLoss:
    """``l_t(w) = g_t^T w``; the comparator is the domain's linear minimizer of ``G = sum g_t``.

    Magnitudes: ``sum_i |g_i w_i|`` per step; the comparator's ``G^T u`` (or the ball's
    ``G^T c - rho ||G||``) errs by at most ``gamma_n sum_i |u_i| sum_t |g_{t,i}| <=
    gamma_n ||u||_2 sum_t ||g_t||_2`` (Cauchy-Schwarz), with ``||u||`` raised to
    ``||u|| + 2 rho_V`` for the ball's form (``rho_V`` the set's radius about its centre)."""

    name = "linear"

    def value(self, params: Any, w: Any, xp: ModuleType) -> Any:
        return xp.sum(params * w, axis=-1)

    def value_magnitude(self, params: Any, w: Any, xp: ModuleType) -> Any:
        return xp.sum(xp.abs(params * w), axis=-1)

    def gradient(self, params: Any, w: Any, xp: ModuleType) -> Any:
        return params

    def stats_init(self, R: int, d: int, xp: ModuleType) -> LinearStats:
        return LinearStats(xp.zeros((R, d), dtype=xp.float64), xp.zeros((R,), dtype=xp.float64))

    def stats_update(self, stats: LinearStats, params: Any, xp: ModuleType) -> LinearStats:
        return LinearStats(stats.G + params, stats.norm_sum + xp.linalg.vector_norm(params,
                                                                                   axis=-1))

    def comparator(self, stats: LinearStats, domain: Any, xp: ModuleType) -> tuple[Any, Any]:
        return domain.linear_minimum(stats.G, xp)

    def comparator_magnitude(self, stats: LinearStats, u: Any, domain: Any,
                             xp: ModuleType) -> Any:
        spread = 2 * float(getattr(domain, "radius", 0.0)) if domain.name == "ball" else 0.0
        return stats.norm_sum * (xp.linalg.vector_norm(u, axis=-1) + spread)


@dataclass(frozen=True)
class QuadraticLoss:
    """``l_t(w) = 1/2 (w - x_t)^T H (w - x_t)`` with a fixed ``H = diag(h) > 0``.

    The comparator is the H-norm projection of the mean ``x_bar = X / n`` onto V
    (THEORY.md section 0), and its loss ``1/2 (n u^T H u - 2 u^T H X + sum_t x_t^T H x_t)``
    comes from the running sums ``(n, X, Q)``.
    """

    h: np.ndarray
    name = "quadratic"

    def _h(self, xp: ModuleType) -> Any:
        return xp.asarray(self.h.copy())

    def value(self, params: Any, w: Any, xp: ModuleType) -> Any:
        r = w - params
        return 0.5 * xp.sum(self._h(xp) * r * r, axis=-1)

    def value_magnitude(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """``1/2 sum_i h_i (|w_i| + |x_i|)^2 <= sum_i h_i (w_i^2 + x_i^2)``."""
        return xp.sum(self._h(xp) * (w * w + params * params), axis=-1)

    def gradient(self, params: Any, w: Any, xp: ModuleType) -> Any:
        return self._h(xp) * (w - params)

    def stats_init(self, R: int, d: int, xp: ModuleType) -> Any:
        return (0, xp.zeros((R, d), dtype=xp.float64), xp.zeros((R,), dtype=xp.float64))

    def stats_update(self, stats: Any, params: Any, xp: ModuleType) -> Any:
        n, X, Q = stats
        return (n + 1, X + params, Q + xp.sum(self._h(xp) * params * params, axis=-1))

    def comparator(self, stats: Any, domain: Any, xp: ModuleType) -> tuple[Any, Any]:
        from occ.regularizers import DiagonalPrecision

        n, X, Q = stats
        h = self._h(xp)
        mean = X / max(n, 1)
        u = domain.project(mean, xp, DiagonalPrecision(h * xp.ones_like(mean)))
        value = 0.5 * (n * xp.sum(h * u * u, axis=-1) - 2.0 * xp.sum(h * u * X, axis=-1) + Q)
        return u, value

    def comparator_magnitude(self, stats: Any, u: Any, domain: Any, xp: ModuleType) -> Any:
        """``sum_t sum_i h_i (u_i^2 + x_{t,i}^2) = n u^T H u + Q``."""
        n, X, Q = stats
        return n * xp.sum(self._h(xp) * u * u, axis=-1) + Q


class LinearAdversary:
    """Defaults for an adversary with linear losses (subclasses are frozen dataclasses):
    validated parameters, and, when oblivious, data that are the gradients whatever the
    learner plays. An adaptive one sets ``oblivious = False`` and overrides ``respond``."""

    oblivious = True

    def __post_init__(self) -> None:
        from occ.params import validate

        validate(self)

    def loss_family(self, d: int) -> LinearLoss:
        return LinearLoss()

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data


def log_spaced(first: float, last: float, d: int) -> np.ndarray:
    """``d`` values from ``first`` to ``last``, evenly spaced on a log scale."""
    if d == 1:
        return np.array([first], dtype=float)
    return np.exp(np.linspace(np.log(first), np.log(last), d))


PARALLEL_DRAW_MINIMUM = 1 << 16
"""Draws of at least this many numbers in all are spread over threads (see
:func:`stack_streams`)."""


def _draw_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


@functools.lru_cache(maxsize=1)
def _draw_pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="occ-draw")


if hasattr(os, "register_at_fork"):  # a forked child has none of its parent's threads
    os.register_at_fork(after_in_child=_draw_pool.cache_clear)


def stack_streams(
    rngs: list[dict[str, np.random.Generator]], stream: str, method: str, n: int, d: int,
    transform: Callable[[np.ndarray], None] | None = None,
) -> np.ndarray:
    """Draw ``(n, d)`` from each repetition's ``stream``; return them as (n, S, d), a view
    of a repetition-major (S, n, d) array (each repetition's draws contiguous).

    ``standard_normal`` and ``random`` fill in place and release the GIL, so for large
    draws the repetitions are spread over the cores' threads: each generator fills its own
    block, so the numbers are the same whatever the threads (2 cores: 1.75x faster).
    ``standard_normal`` is NumPy's ziggurat compiled once the process has drawn enough for
    its start to pay (:func:`occ.draws.fill_standard_normal`: the same numbers, ~3x
    faster). The block is 64-byte aligned (:func:`occ.draws.aligned_empty`).
    ``transform`` (in place, elementwise) is applied to each repetition's (n, d) block in
    the same thread, right after its draw."""
    out = aligned_empty((len(rngs), n, d))  # jax takes it without a copy

    def fill(s: int) -> None:
        draw = getattr(rngs[s][stream], method)
        if method == "standard_normal":  # compiled, the same numbers (occ.draws)
            fill_standard_normal(rngs[s][stream], out[s])
        elif method == "random":
            draw(out=out[s])  # fills in place, no temporary
        else:
            out[s] = draw(size=(n, d))
        if transform is not None:
            transform(out[s])

    threads = min(_draw_threads(), len(rngs))
    if (threads > 1 and method in ("standard_normal", "random")
            and out.size >= PARALLEL_DRAW_MINIMUM):
        list(_draw_pool(threads).map(fill, range(len(rngs))))
    else:
        for s in range(len(rngs)):
            fill(s)
    return out.transpose(1, 0, 2)
