"""The best constant rebalanced portfolio (BCRP): ``max_{u in simplex} f(u)``,
``f(u) = sum_t log(u^T x_t)``, exactly, with a duality-gap certificate.

Method: an active-set Newton method on the faces of the simplex (Nocedal & Wright,
*Numerical Optimization*, 2nd ed., ch. 16.5, applied to this concave program). On the
current support S it takes the Newton step of the equality-constrained problem
``max f`` on ``{u_S : 1^T u_S = 1}``: with ``w_t = u^T x_t``, ``g = X^T (1/w)`` and
``M = X_S^T diag(1/w^2) X_S`` it solves the KKT system

    [[M, 1], [1^T, 0]] [p; nu] = [g_S; 0]

(least squares where M is singular, as it is on every prefix shorter than |S|: then f is
constant along the null directions, the system is consistent and the minimum-norm step
is taken). The step length is the exact maximizer of the concave ``phi(a) = f(u + a p)``
on ``[0, a_max]`` (``a_max`` the ratio test that keeps ``u >= 0``), found from
``phi'(a) = sum_t x_t^T p / (w_t + a x_t^T p)``, which is computed without the
cancellation of ``f`` itself. A coordinate the step drives to 0 leaves S; the coordinate
with the largest ``g_j - n`` outside S enters when it violates optimality by more than
the spread of ``g`` on S (if its Newton component is not positive, a Frank-Wolfe step
towards the vertex ``e_j`` is taken instead, an ascent direction since ``g_j > n``).
Support changes go both ways, so a warm start from the previous checkpoint's solution
is always safe.

Certificate: ``u^T g = sum_t w_t / w_t = n`` exactly, and concavity gives
``f(u*) - f(u) <= g^T (u* - u) <= max_i g_i - n``, the duality gap. It is computed as
``max_i sum_t (x_{t,i}/w_t - 1)`` (terms of size ``|x/w - 1|``, pairwise summed), so its
rounding error is ``gamma_n sum_t |x_{t,i}/w_t - 1|``, far below the tolerance.
Rows are scaled by their largest entry first (``x_t / max_i x_{t,i}``): that changes f
by a constant, leaves ``x/w`` and the gap unchanged, and keeps every ``w_t`` in (0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAP_TARGET = 1e-11
"""The duality gap the solver aims for (the comparator accepts 1e-9)."""


@dataclass(frozen=True)
class CRPSolution:
    """The solver's answer: weights, ``f(u)`` (unscaled data), the duality gap, the
    number of Newton/Frank-Wolfe iterations."""

    u: np.ndarray
    value: float
    gap: float
    iterations: int

    def __iter__(self):  # noqa: ANN204  (u, value, gap), as the former tuple
        return iter((self.u, self.value, self.gap))


def _excess(X: np.ndarray, wealth: np.ndarray) -> np.ndarray:
    """``g_i - n = sum_t (x_{t,i}/w_t - 1)`` per asset, pairwise summed."""
    ratio = X / wealth[:, None] - 1.0
    return np.sum(np.ascontiguousarray(ratio.T), axis=1)


def _line_search(Xp: np.ndarray, wealth: np.ndarray, a_max: float) -> float:
    """The maximizer on ``[0, a_max]`` of the concave ``phi(a) = sum_t log(w_t + a z_t)``,
    ``z = X p`` (``phi'(0) > 0`` assumed): ``a_max`` if ``phi'(a_max) >= 0``, else the root
    of ``phi'`` by Newton's method safeguarded by bisection."""
    def slope(a: float) -> tuple[float, float]:
        q = Xp / (wealth + a * Xp)
        return float(np.sum(q)), -float(np.sum(q * q))

    top = a_max
    if np.isfinite(top):
        s, _ = slope(top * (1 - 1e-15))
        if s >= 0:
            return top
    else:  # an unbounded ray with phi' > 0 everywhere cannot happen for a bounded f
        top = 1.0
        while slope(top)[0] > 0:
            top *= 2.0
    low, high, a = 0.0, top, min(1.0, top / 2)
    for _ in range(200):
        s, h = slope(a)
        if s > 0:
            low = a
        else:
            high = a
        step = a - s / h if h < 0 else (low + high) / 2
        a_next = step if low < step < high else (low + high) / 2
        if abs(a_next - a) <= 1e-16 * max(1.0, a) or high - low <= 1e-16 * high:
            a = a_next
            break
        a = a_next
    return low if slope(a)[0] < 0 and low > 0 else a


def _newton_direction(X: np.ndarray, wealth: np.ndarray, excess: np.ndarray,
                      support: np.ndarray) -> np.ndarray:
    """The Newton step on the face of ``support`` (zero outside it)."""
    Xs = X[:, support] / wealth[:, None]
    k = Xs.shape[1]
    K = np.zeros((k + 1, k + 1))
    K[:k, :k] = Xs.T @ Xs
    K[:k, k] = K[k, :k] = 1.0
    rhs = np.concatenate([excess[support], [0.0]])  # g_S - n 1: the same p, nu shifted
    try:
        solution = np.linalg.solve(K, rhs)
        if not np.all(np.isfinite(solution)) or np.linalg.cond(K) > 1e14:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(K, rhs, rcond=1e-14)[0]
    p = np.zeros(X.shape[1])
    p[support] = solution[:k]
    p[support] -= np.mean(p[support])  # sum p = 0 to rounding
    return p


def best_crp(X: np.ndarray, start: np.ndarray | None = None, *,
             target: float = GAP_TARGET, max_iterations: int | None = None) -> CRPSolution:
    """The best constant rebalanced portfolio of price relatives ``X`` (n, d) > 0.

    ``start``: a point of the simplex to start from (the previous checkpoint's solution;
    default uniform). Returns the best point found, with its certified gap."""
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    top = X.max(axis=1)
    Xn = X / top[:, None]
    u = np.full(d, 1.0 / d) if start is None else np.clip(np.asarray(start, float), 0, None)
    u = u / u.sum()
    support = u > 0
    limit = max_iterations if max_iterations is not None else 100 + 20 * d
    best_u, best_gap = u.copy(), np.inf
    iterations = 0
    for _ in range(limit):
        iterations += 1
        wealth = Xn @ u
        excess = _excess(Xn, wealth)
        gap = float(excess.max())
        if gap < best_gap:
            best_u, best_gap = u.copy(), gap
        if gap <= target:
            break
        inside = excess[support]
        spread = float(inside.max() - inside.min())
        outside = np.where(support, -np.inf, excess)
        j = int(np.argmax(outside))
        entering = bool(outside[j] > max(spread, target))
        work = support.copy()
        if entering:
            work[j] = True
        p = _newton_direction(Xn, wealth, excess, work)
        if entering and p[j] <= 0:
            p = -u.copy()
            p[j] += 1.0  # Frank-Wolfe: towards the vertex e_j
            work = support.copy()
            work[j] = True
        negative = work & (p < 0)
        a_max = float(np.min(u[negative] / -p[negative])) if negative.any() else np.inf
        slope0 = float(excess @ p)
        if not slope0 > 0:  # no ascent left at this precision
            break
        a = _line_search(Xn @ p, wealth, a_max)
        u_next = u + a * p
        if np.isfinite(a_max) and a >= a_max:
            blocking = negative & (u / np.where(negative, -p, 1.0) <= a_max * (1 + 1e-12))
            u_next[blocking] = 0.0
        u_next = np.clip(u_next, 0.0, None)
        u_next[~work] = 0.0
        if not u_next.sum() > 0:
            break
        u = u_next / u_next.sum()
        support = u > 0
    else:
        wealth = Xn @ u
        gap = float(_excess(Xn, wealth).max())
        if gap < best_gap:
            best_u, best_gap = u.copy(), gap
    value = float(np.sum(np.log(X @ best_u)))
    return CRPSolution(best_u, value, best_gap, iterations)


def crp_gap(X: np.ndarray, u: np.ndarray) -> float:
    """The duality gap ``max_i g_i(u) - n`` of any point u of the simplex (a certificate:
    ``f(u*) - f(u)`` is at most this)."""
    Xn = X / X.max(axis=1, keepdims=True)
    return float(_excess(Xn, Xn @ u).max())
