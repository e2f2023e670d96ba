"""The floating-point error model behind every verdict (Higham, "Accuracy and Stability of
Numerical Algorithms", 2nd ed., section 3.1).

In IEEE double precision each operation rounds with relative error at most the unit
roundoff ``u = 2^-53``. A sum of ``n`` terms computed in any order, and an inner product
of length ``n``, err by at most ``gamma(n) * sum |terms|`` with ``gamma(n) = n u / (1 - n u)``
(Higham's (3.4) and Lemma 3.1); reassociation and fused multiply-adds, which the compiled
engine allows, keep that bound. occ records, beside each accumulated quantity, the sum of
the absolute values of everything that went into it (its *magnitude*), and a verdict's
error budget is ``gamma(n)`` times the magnitudes of the two numbers compared, with ``n``
the longest chain of operations behind them (:func:`operations`).
"""

from __future__ import annotations

import numpy as np

UNIT = 2.0**-53
"""The unit roundoff of IEEE double precision."""

EPSILON = 2.0 * UNIT
"""Machine epsilon (the spacing of doubles at 1): below ``k EPSILON`` times the largest of
k values, a value is rounding noise (numpy.linalg.matrix_rank's rule, as occ applies it to
eigenvalues, singular values and a QR's diagonal)."""

PROJECTION_ULPS = 1024
"""Operations charged for a projection: the iterative ones stop at a relative accuracy
of at most ``SECULAR_TOLERANCE = 1e-15`` (ball, about 5 u) and ``BOX_QP_TOLERANCE = 1e-13``
(a box in a full geometry, about 450 u); 1024 u covers both, and the eigendecompositions
of the full and Kronecker geometries (backward error ``d u ||A||``) with d <= 1024."""


def gamma(n: int | np.ndarray) -> float | np.ndarray:
    """``n u / (1 - n u)``: the relative error bound of a length-n sum or inner product (a
    Python float for an integer n, an array for an array)."""
    if isinstance(n, int | np.integer):
        nu = int(n) * UNIT
        return nu / (1.0 - nu)
    nu = np.asarray(n, dtype=float) * UNIT
    return nu / (1.0 - nu)


def operations(T: int, d: int) -> int:
    """The longest chain of roundings behind a recorded sum at horizon T in dimension d:
    T steps of accumulation, a length-d inner product per step, and a projection."""
    return int(T) + int(d) + PROJECTION_ULPS
