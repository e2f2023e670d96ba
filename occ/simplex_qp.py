"""The generalized (A-norm) projection onto the probability simplex, exactly:
``argmin_{w in simplex} (w - y)^T A (w - y)`` for a symmetric positive definite A.

The primal active-set method for a strictly convex quadratic program (Nocedal & Wright,
*Numerical Optimization*, 2nd ed., Algorithm 16.3) with the constraints ``1^T w = 1``
and ``w >= 0``: on the free set F (the working set is ``w_i = 0`` off F) the equality-
constrained step solves the KKT system ``[[A_FF, 1], [1^T, 0]] [p; nu] = [-r_F; 0]``,
``r = A (w - y)``; a blocking coordinate joins the working set; at a point optimal on F
the bound multipliers ``lambda_i = r_i + nu`` decide (the most negative leaves the
working set; a point reached by a full, unblocked step is optimal on its face, however
small that step: waiting for it to vanish would stall at round-off). It terminates in
finitely many steps at the exact minimizer (to round-off). Warm started from the
previous iterate's support (ONS moves little per step), it usually takes one or two
solves.

Certificate: the objective ``q(w) = (w - y)^T A (w - y)/2`` is convex with gradient r, so
``q(w) - q(w*) <= r^T w - min_i r_i`` (the Frank-Wolfe gap), returned with each row.
"""

from __future__ import annotations

import numpy as np

MAX_ACTIVE_SET_STEPS = 500


def _project_row(y: np.ndarray, A: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float]:
    d = y.size
    w = np.clip(start, 0.0, None)
    w = w / w.sum() if w.sum() > 0 else np.full(d, 1.0 / d)
    free = w > 0
    # the round-off of r = A (w - y): multipliers above -threshold are zero
    threshold = 1e-14 * d * float(np.abs(A).max()) * (1.0 + float(np.abs(y).max()))
    face_optimal = False  # after a full, unblocked step w is the minimizer on its face
    for _ in range(MAX_ACTIVE_SET_STEPS):
        r = A @ (w - y)
        F = np.flatnonzero(free)
        k = F.size
        K = np.empty((k + 1, k + 1))
        K[:k, :k] = A[np.ix_(F, F)]
        K[:k, k] = K[k, :k] = 1.0
        K[k, k] = 0.0
        solution = np.linalg.solve(K, np.concatenate([-r[F], [0.0]]))
        p = solution[:k]
        if face_optimal or np.max(np.abs(p)) <= 1e-15 * max(1.0, float(np.max(np.abs(w)))):
            multipliers = r + solution[k]  # r_i = -nu on F at the face optimum
            multipliers[F] = 0.0
            j = int(np.argmin(multipliers))
            if multipliers[j] >= -threshold:
                break
            free[j] = True
            face_optimal = False
            continue
        negative = p < 0
        alpha, blocking = 1.0, -1
        if negative.any():
            ratios = w[F][negative] / -p[negative]
            i = int(np.argmin(ratios))
            if ratios[i] < 1.0:
                alpha, blocking = float(ratios[i]), int(F[np.flatnonzero(negative)[i]])
        w = w.copy()
        w[F] += alpha * p
        if blocking >= 0:
            w[blocking] = 0.0
            free[blocking] = False
        face_optimal = blocking < 0
        w = np.clip(w, 0.0, None)
        w /= w.sum()
    r = A @ (w - y)
    return w, float(r @ w - r.min())


def simplex_quadratic_projection(y: np.ndarray, A: np.ndarray,
                                 start: np.ndarray | None = None
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(w, gap)`` for a batch: y (R, d), A (R, d, d) SPD, optional feasible starts (R, d)
    (default uniform); ``gap`` (R,) is each row's Frank-Wolfe certificate."""
    y = np.asarray(y, dtype=float)
    R, d = y.shape
    start = np.full((R, d), 1.0 / d) if start is None else np.asarray(start, dtype=float)
    out, gaps = np.empty_like(y), np.empty(R)
    for row in range(R):
        out[row], gaps[row] = _project_row(y[row], A[row], start[row])
    return out, gaps
