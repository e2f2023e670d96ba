"""Feasible sets V and their projections in a learner's geometry.

``contains(w, xp)`` tells, per row, whether an iterate lies in V within the round-off of
a projection (``gamma(d + PROJECTION_ULPS)`` relative to the set's scale): an iterate
further out means the run has left the problem, and the repetition is marked diverged.

``project(y, xp, precision)`` returns ``argmin_{w in V} ||w - y||_P`` for the learner's
precision ``P`` (THEORY.md section 1): the Euclidean projection when ``P`` is spherical
(or not given), clipping on a box for a diagonal ``P`` (exact: the problem separates), and
the secular-equation solve on an l2 ball for a diagonal ``P``. Arrays carry a leading
repetition axis: ``y`` has shape (R, d).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.errors import ParameterError, UnknownNameError
from occ.params import RealVector, param, validate
from occ.regularizers import (
    DiagonalPrecision,
    FullPrecision,
    KroneckerPrecision,
    Precision,
    ScalarPrecision,
)
from occ.roundoff import PROJECTION_ULPS, gamma

SECULAR_TOLERANCE = 1e-15
"""Relative residual |1/||w~|| - 1/rho| * rho at which the ball projection stops."""

SECULAR_MAX_ITERATIONS = 100

BOX_QP_TOLERANCE = 1e-13
"""The full-matrix box projection stops when the projected gradient is below this,
relative to the gradient's scale (and the step below it relative to the box's scale)."""

BOX_QP_MAX_ITERATIONS = 200


def _vector(value: Any, d: int, xp: ModuleType) -> Any:
    return xp.asarray(np.broadcast_to(np.asarray(value, dtype=float), (d,)).copy())


@dataclass(frozen=True)
class Unconstrained:
    """V = R^d: every projection is the identity."""

    name = "unconstrained"
    bounded = False

    def __post_init__(self) -> None:
        validate(self)

    def check_dimension(self, d: int) -> None:
        return None

    def initial_point(self, d: int) -> np.ndarray:
        return np.zeros(d)

    def project(self, y: Any, xp: ModuleType, precision: Precision | None = None) -> Any:
        return y

    def contains(self, w: Any, xp: ModuleType) -> Any:
        return xp.ones((w.shape[0],), dtype=xp.bool)

    def projection_is_exact(self, precision_kind: str) -> bool:
        return True

    def euclidean_is_bregman(self, precision_kind: str) -> bool:
        return True

    def diameter(self, d: int) -> float:
        return float("inf")

    def coordinate_widths(self, d: int) -> np.ndarray:
        return np.full(d, np.inf)

    def linear_minimum(self, G: Any, xp: ModuleType) -> tuple[Any, Any]:
        raise ParameterError("domain", "linear losses need a bounded domain (ball or box)")


@dataclass(frozen=True)
class Ball:
    """The l2 ball ``{w : ||w - centre||_2 <= radius}``."""

    radius: float = param(1.0, RealVector(low=0, low_open=True), "radius rho > 0")
    centre: Any = param(0.0, RealVector(), "centre: a number (every coordinate) or a list")
    name = "ball"
    bounded = True

    def __post_init__(self) -> None:
        validate(self)
        if isinstance(self.radius, tuple):
            raise ParameterError("radius", f"must be one number > 0, got {list(self.radius)}")

    def check_dimension(self, d: int) -> None:
        if isinstance(self.centre, tuple) and len(self.centre) != d:
            raise ParameterError("centre", f"must have d = {d} entries, got {len(self.centre)}")

    def initial_point(self, d: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.centre, dtype=float), (d,)).copy()

    def projection_is_exact(self, precision_kind: str) -> bool:
        return precision_kind in ("scalar", "diagonal", "full", "kronecker")

    def contains(self, w: Any, xp: ModuleType) -> Any:
        d = w.shape[-1]
        centre = np.broadcast_to(np.asarray(self.centre, dtype=float), (d,))
        slack = gamma(d + PROJECTION_ULPS) * (self.radius + float(np.sqrt(centre @ centre)))
        if not np.any(centre):
            return xp.linalg.vector_norm(w, axis=-1) <= self.radius + slack
        return xp.linalg.vector_norm(w - _vector(self.centre, d, xp), axis=-1) <= (
            self.radius + slack)

    def euclidean_is_bregman(self, precision_kind: str) -> bool:
        """The l2 projection equals the P-norm projection only for a spherical P."""
        return precision_kind == "scalar"

    def diameter(self, d: int) -> float:
        return 2.0 * self.radius

    def coordinate_widths(self, d: int) -> np.ndarray:
        """Upper bounds on ``|w_i - u_i|`` over V: the diameter in every coordinate."""
        return np.full(d, 2.0 * self.radius)

    def project(self, y: Any, xp: ModuleType, precision: Precision | None = None) -> Any:
        c = _vector(self.centre, y.shape[-1], xp)
        z = y - c
        if precision is None or isinstance(precision, ScalarPrecision):
            norm = xp.linalg.vector_norm(z, axis=-1)
            scale = xp.where(norm > self.radius, self.radius / xp.where(norm > 0, norm, 1.0), 1.0)
            return c + z * scale[:, None]
        if isinstance(precision, DiagonalPrecision):
            return c + weighted_ball_projection(z, precision.p, self.radius, xp)
        if isinstance(precision, FullPrecision | KroneckerPrecision):
            # rotate (the ball is rotation invariant; Q_L kron Q_R by (67)), only where the
            # step left the ball: a row inside is its own projection, not rotated back
            outside = xp.linalg.vector_norm(z, axis=-1) > self.radius
            if not bool(xp.any(outside)):
                return c + z  # what each row inside gets below: rows stay independent
            lam = precision.lam if isinstance(precision, FullPrecision) else precision._lam(xp)
            rotated = weighted_ball_projection(precision.rotate(z, xp), lam, self.radius, xp)
            return c + xp.where(outside[:, None], precision.unrotate(rotated, xp), z)
        raise NotImplementedError(f"ball projection for {precision.kind} precision")

    def linear_minimum(self, G: Any, xp: ModuleType) -> tuple[Any, Any]:
        """``argmin_{||u - c|| <= rho} G^T u = c - rho G/||G||`` and its value."""
        c = _vector(self.centre, G.shape[-1], xp)
        norm = xp.linalg.vector_norm(G, axis=-1)
        safe = xp.where(norm > 0, norm, 1.0)
        u = c - self.radius * G / safe[..., None]
        return u, xp.sum(G * c, axis=-1) - self.radius * norm


@dataclass(frozen=True)
class Box:
    """The box ``[low, high]`` (per coordinate; numbers broadcast)."""

    low: Any = param(-1.0, RealVector(), "lower corner: a number or a list")
    high: Any = param(1.0, RealVector(), "upper corner: a number or a list")
    name = "box"
    bounded = True

    def __post_init__(self) -> None:
        validate(self)
        lo, hi = np.asarray(self.low, dtype=float), np.asarray(self.high, dtype=float)
        if lo.shape == hi.shape and np.any(lo > hi) or lo.shape == () and np.any(lo > hi):
            raise ParameterError("high", f"must be >= low everywhere, got low={self.low}, "
                                 f"high={self.high}")

    def check_dimension(self, d: int) -> None:
        for name in ("low", "high"):
            v = getattr(self, name)
            if isinstance(v, tuple) and len(v) != d:
                raise ParameterError(name, f"must have d = {d} entries, got {len(v)}")
        lo, hi = self._bounds(d)
        if np.any(lo > hi):
            raise ParameterError("high", "must be >= low in every coordinate")

    def _bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """``low`` and ``high`` as read-only (d,) arrays (made once per box and d: every
        step's projection and membership test reads them)."""
        return _per_box(_box_bounds, self, d)

    def initial_point(self, d: int) -> np.ndarray:
        lo, hi = self._bounds(d)
        return (lo + hi) / 2.0

    def projection_is_exact(self, precision_kind: str) -> bool:
        return precision_kind in ("scalar", "diagonal", "full", "kronecker")

    def contains(self, w: Any, xp: ModuleType) -> Any:
        lo, hi = self._tolerant_bounds(w.shape[-1])
        return xp.all((w >= xp.asarray(lo)) & (w <= xp.asarray(hi)), axis=-1)

    def _tolerant_bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """The box widened by the projection's rounding, ``gamma_{d + PROJECTION_ULPS}
        max(|low|, |high|)`` on each side: what :meth:`contains` accepts."""
        return _per_box(_tolerant_box_bounds, self, d)

    def euclidean_is_bregman(self, precision_kind: str) -> bool:
        """Clipping is the P-norm projection for every diagonal P (the problem separates)."""
        return precision_kind in ("scalar", "diagonal")

    def diameter(self, d: int) -> float:
        lo, hi = self._bounds(d)
        return float(np.linalg.norm(hi - lo))

    def coordinate_widths(self, d: int) -> np.ndarray:
        lo, hi = self._bounds(d)
        return hi - lo

    def project(self, y: Any, xp: ModuleType, precision: Precision | None = None) -> Any:
        lo, hi = (xp.asarray(v.copy()) for v in self._bounds(y.shape[-1]))
        if isinstance(precision, FullPrecision | KroneckerPrecision):
            return box_quadratic_projection(y, precision.dense(xp), lo, hi, xp)
        return xp.clip(y, lo, hi)

    def linear_minimum(self, G: Any, xp: ModuleType) -> tuple[Any, Any]:
        """``u_i = low_i`` where ``G_i > 0``, ``high_i`` where ``G_i < 0``, the centre where 0."""
        lo, hi = (xp.asarray(v.copy()) for v in self._bounds(G.shape[-1]))
        u = xp.where(G > 0, lo, xp.where(G < 0, hi, (lo + hi) / 2.0))
        return u, xp.sum(G * u, axis=-1)


def _per_box(cached: Any, box: Box, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``cached(box.low, box.high, d)``, computed afresh where the bounds are unhashable
    (a list given from Python)."""
    try:
        return cached(box.low, box.high, d)
    except TypeError:
        return cached.__wrapped__(box.low, box.high, d)


@functools.lru_cache(maxsize=256)
def _box_bounds(low: Any, high: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.broadcast_to(np.asarray(low, dtype=float), (d,))
    hi = np.broadcast_to(np.asarray(high, dtype=float), (d,))
    return lo, hi


@functools.lru_cache(maxsize=256)
def _tolerant_box_bounds(low: Any, high: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = _box_bounds.__wrapped__(low, high, d)
    slack = gamma(d + PROJECTION_ULPS) * np.maximum(np.abs(lo), np.abs(hi))
    lo, hi = lo - slack, hi + slack
    lo.flags.writeable = hi.flags.writeable = False
    return lo, hi


@dataclass(frozen=True)
class Simplex:
    """The probability simplex ``{w >= 0 : sum_i w_i = 1}`` (experts, portfolios)."""

    name = "simplex"
    bounded = True

    def __post_init__(self) -> None:
        validate(self)

    def check_dimension(self, d: int) -> None:
        if d < 2:
            raise ParameterError("d", f"the simplex needs d >= 2, got {d}")

    def initial_point(self, d: int) -> np.ndarray:
        return np.full(d, 1.0 / d)

    def projection_is_exact(self, precision_kind: str) -> bool:
        return precision_kind in ("scalar", "diagonal")

    def contains(self, w: Any, xp: ModuleType) -> Any:
        slack = gamma(w.shape[-1] + PROJECTION_ULPS)
        return xp.all(w >= -slack, axis=-1) & (xp.abs(xp.sum(w, axis=-1) - 1.0) <= slack)

    def euclidean_is_bregman(self, precision_kind: str) -> bool:
        return precision_kind == "scalar"

    def diameter(self, d: int) -> float:
        return float(np.sqrt(2.0))

    def coordinate_widths(self, d: int) -> np.ndarray:
        return np.ones(d)

    def project(self, y: Any, xp: ModuleType, precision: Precision | None = None) -> Any:
        """Euclidean projection onto the simplex by sorting (Held, Wolfe, Crowder 1974;
        Duchi et al. 2008): ``w = max(y - theta, 0)`` with the threshold ``theta`` from the
        sorted coordinates. For a diagonal ``P = diag(a)``: ``w_i = max(y_i - theta/a_i, 0)``
        with ``theta`` from the sorted breakpoints ``a_i y_i`` (exact, no iteration)."""
        if isinstance(precision, DiagonalPrecision):
            return weighted_simplex_projection(y, precision.p, xp)
        if precision is not None and precision.kind != "scalar":
            raise NotImplementedError(f"simplex projection for {precision.kind} precision")
        ones = xp.ones_like(y)
        theta = _simplex_threshold(y, ones, ones > 0, ones[:, 0], xp)
        return xp.maximum(y - theta[:, None], 0.0)

    def linear_minimum(self, G: Any, xp: ModuleType) -> tuple[Any, Any]:
        """The vertex ``e_j`` with ``j = argmin_i G_i`` (the first on ties)."""
        j = xp.argmin(G, axis=-1)
        d = G.shape[-1]
        u = xp.astype(xp.arange(d)[None, :] == j[:, None], G.dtype)
        return u, xp.min(G, axis=-1)


def _simplex_threshold(y: Any, scale: Any, included: Any, mass: Any, xp: ModuleType) -> Any:
    """The theta with ``sum_{i included} max(y_i - theta s_i, 0) = mass`` (``s_i > 0``;
    ``mass >= 0``), exactly, by sorting the breakpoints ``b_i = y_i / s_i`` (Held, Wolfe,
    Crowder 1974 for ``s = 1``; Kiwiel 2008 in general). In descending order of b, the
    coordinates that stay positive are a prefix: the k-th is positive at the solution
    exactly when ``b_(k) > theta_k = (sum_{j<=k} y_(j) - mass) / sum_{j<=k} s_(j)``, the
    solution with the first k positive, so theta is ``theta_rho``, rho the number of such k.
    A row with no positive coordinate (mass 0, or nothing included) gets ``max_i b_i``."""
    breakpoints = xp.where(included, y / xp.where(included, scale, 1.0), -xp.inf)
    order = xp.argsort(-breakpoints, axis=-1)  # ties: either order gives the same theta
    b = xp.take_along_axis(breakpoints, order, axis=-1)
    ys = xp.take_along_axis(xp.where(included, y, 0.0), order, axis=-1)
    ss = xp.take_along_axis(xp.where(included, scale, 0.0), order, axis=-1)
    weights = xp.cumulative_sum(ss, axis=-1)
    candidates = (xp.cumulative_sum(ys, axis=-1) - mass[:, None]) / xp.where(
        weights > 0, weights, 1.0)
    rho = xp.sum(xp.astype(b > candidates, xp.int64), axis=-1)
    index = xp.arange(1, y.shape[-1] + 1)
    chosen = xp.sum(xp.where(index == rho[:, None], candidates, 0.0), axis=-1)
    top = xp.where(xp.isfinite(b[:, 0]), b[:, 0], 0.0)
    return xp.where(rho > 0, chosen, top)


def _capped_simplex(y: Any, mass: Any, free: Any, xp: ModuleType) -> Any:
    """The Euclidean projection of the ``free`` coordinates of y onto
    ``{w >= 0 : sum_free w = mass}`` (0 elsewhere)."""
    mass = xp.maximum(mass, 0.0)
    theta = _simplex_threshold(y, xp.ones_like(y), free, mass, xp)
    return xp.where(free, xp.maximum(y - theta[:, None], 0.0), 0.0)


def weighted_simplex_projection(y: Any, a: Any, xp: ModuleType) -> Any:
    """``argmin_{w in simplex} sum_i a_i (w_i - y_i)^2`` for ``a >= 0``, batched.

    The KKT conditions give ``w_i = max(y_i - theta/a_i, 0)`` with ``sum_i w_i = 1``;
    theta comes exactly from the sorted breakpoints ``a_i y_i``
    (:func:`_simplex_threshold`, on ``a / max_i a_i``: the minimizer does not change when
    a is scaled). A coordinate with ``a_i = 0`` costs nothing (the projection in the
    seminorm, Appendix L.3.1; a learner's coordinate that has seen no gradient): when the
    weighted ones fit, ``sum_{a_i > 0} max(y_i, 0) <= 1``, they keep ``max(y_i, 0)`` and
    the free ones share the remaining mass as the Euclidean projection of their ``y_i``
    onto it (the limit of ``a_i -> 0``); otherwise theta > 0 and the free coordinates are
    0. Any minimizer satisfies the Pythagorean inequality the bounds use."""
    a = a * xp.ones_like(y)
    weighted = a > 0
    free = ~weighted
    kept = xp.sum(xp.where(weighted, xp.maximum(y, 0.0), 0.0), axis=-1)
    fits = xp.any(free, axis=-1) & (kept <= 1.0)
    top = xp.max(a, axis=-1)
    safe = xp.where(weighted, a / xp.where(top > 0, top, 1.0)[:, None], 1.0)
    theta = _simplex_threshold(y, 1.0 / safe, weighted, xp.ones_like(kept), xp)
    w = xp.where(weighted, xp.maximum(y - theta[:, None] / safe, 0.0), 0.0)
    total = xp.sum(w, axis=-1, keepdims=True)
    w = w / xp.where(total > 0, total, 1.0)
    if not bool(xp.any(fits)):
        return w
    seminorm = xp.where(weighted, xp.maximum(y, 0.0),
                        _capped_simplex(y, 1.0 - kept, free, xp))
    return xp.where(fits[:, None], seminorm, w)


def weighted_ball_projection(z: Any, a: Any, radius: float, xp: ModuleType) -> Any:
    """``argmin_{||w|| <= rho} sum_i a_i (w_i - z_i)^2`` for ``a >= 0``, batched over rows.

    Outside the ball the minimizer is ``w_i = a_i z_i / (a_i + mu)`` with the unique
    ``mu > 0`` solving ``||w(mu)|| = rho``. Newton's method on the concave increasing
    ``phi(mu) = 1/||w(mu)|| - 1/rho`` started at ``mu = 0`` (where ``phi < 0``) converges
    monotonically from the left (THEORY.md section 1); it stops when
    ``|phi| rho <= SECULAR_TOLERANCE`` in every row; a converged row is not iterated further,
    so its result does not depend on the other rows of the batch. The minimizer does not
    change when a is scaled, and scales with z and rho, so the iteration runs on
    ``a / max(a)`` and ``z / ||z||`` (no overflow for any finite input). A coordinate with
    ``a_i = 0`` is free (the seminorm) and ends at 0; a row with ``a = 0`` has the
    Euclidean projection. ``a`` has shape (R, d) or (d,).
    """
    a = a * xp.ones_like(z)
    norm = xp.linalg.vector_norm(z, axis=-1)
    outside = norm > radius
    top = xp.max(a, axis=-1)
    spherical = ~(top > 0)  # no weight at all: any point of V is a minimizer
    a = xp.where(spherical[:, None], 1.0, a / xp.where(spherical, 1.0, top)[:, None])
    length = xp.where(outside, norm, 1.0)
    zn = z / length[:, None]
    rho = radius / length
    mu = xp.zeros_like(norm)
    az = a * zn
    for _ in range(SECULAR_MAX_ITERATIONS):
        denom = a + mu[:, None]
        denom = xp.where(denom > 0, denom, 1.0)  # a_i = 0 (a free direction): w_i = 0
        w = az / denom
        wn = xp.linalg.vector_norm(w, axis=-1)
        wn = xp.where(wn > 0, wn, 1.0)
        phi = 1.0 / wn - 1.0 / rho
        residual = xp.where(outside, xp.abs(phi) * rho, 0.0)
        active = residual > SECULAR_TOLERANCE  # converged rows stay put: a row's result
        if not bool(xp.any(active)):            # never depends on the rows beside it
            break
        dphi = xp.sum(az * az / (denom * denom * denom), axis=-1) / (wn * wn * wn)
        dphi = xp.where(dphi > 0, dphi, 1.0)
        mu = xp.where(active, xp.maximum(mu - phi / dphi, 0.0), mu)
    denom = a + mu[:, None]
    w = az / xp.where(denom > 0, denom, 1.0) * length[:, None]
    return xp.where(outside[:, None], w, z)


def box_quadratic_projection(y: Any, P: Any, lo: Any, hi: Any, xp: ModuleType) -> Any:
    """``argmin_{lo <= w <= hi} (w - y)^T P (w - y)`` for a batch of ``P > 0`` (R, d, d).

    Projected Newton (Bertsekas 1982): on the coordinates not held at a bound by the
    gradient, an exact Newton step, then an Armijo backtracking search along the
    projected arc. Stops when the projected gradient ``w - clip(w - grad)`` is at most
    ``BOX_QP_TOLERANCE`` relative to the gradient's scale in every row.
    """
    w = xp.clip(y, lo, hi)
    eye = xp.eye(y.shape[-1], dtype=y.dtype)

    def objective(v: Any) -> Any:
        r = v - y
        return 0.5 * xp.sum(r * xp.squeeze(P @ r[:, :, None], axis=-1), axis=-1)

    for _ in range(BOX_QP_MAX_ITERATIONS):
        grad = xp.squeeze(P @ (w - y)[:, :, None], axis=-1)
        projected = w - xp.clip(w - grad, lo, hi)
        scale = xp.max(xp.abs(grad), axis=-1) + xp.max(xp.abs(P), axis=(-2, -1)) * (
            xp.max(xp.abs(hi - lo)))
        active = xp.max(xp.abs(projected), axis=-1) / scale > BOX_QP_TOLERANCE
        if not bool(xp.any(active)):  # converged rows stay put (batch independence)
            break
        binding = ((w <= lo) & (grad > 0)) | ((w >= hi) & (grad < 0))
        free = ~binding
        pair = free[:, :, None] & free[:, None, :]
        M = xp.where(pair, P, 0.0) + eye * xp.where(free, 0.0, 1.0)[:, :, None]
        direction = xp.squeeze(
            xp.linalg.solve(M, xp.where(free, -grad, 0.0)[:, :, None]), axis=-1)
        f0 = objective(w)
        step = xp.ones_like(f0)
        accepted = xp.zeros(f0.shape, dtype=xp.bool)
        new = w
        for _ in range(60):
            trial = xp.clip(w + step[:, None] * direction, lo, hi)
            decrease = f0 + 1e-4 * xp.sum(grad * (trial - w), axis=-1)
            ok = (objective(trial) <= decrease) & ~accepted
            new = xp.where(ok[:, None], trial, new)
            accepted = accepted | ok
            if bool(xp.all(accepted)):
                break
            step = xp.where(accepted, step, step / 2)
        w = xp.where(active[:, None], new, w)
    return w


DOMAINS: dict[str, type] = {"unconstrained": Unconstrained, "ball": Ball, "box": Box,
                            "simplex": Simplex}


def make_domain(kind: str, **params: Any) -> Any:
    """A domain by name: ``unconstrained``, ``ball``, ``box``, ``simplex``."""
    from occ.params import build

    if kind not in DOMAINS:
        raise UnknownNameError(f"unknown domain {kind!r}; allowed: {', '.join(DOMAINS)}")
    return build(DOMAINS[kind], params)
