"""Kronecker-product helpers of Appendix G (row-major vec throughout, THEORY.md section 4).

* (67) ``vec(A X B) = (A kron B^T) vec(X)`` for row-major vec;
* (72) ``tr(A kron B) = tr(A) tr(B)``; (73) ``(A kron B)^p = A^p kron B^p`` for PSD A, B;
* (69)-(71) ``rearrange``: ``H in R^{mn x dl}`` to ``R^{md x nl}`` with
  ``rearrange(A kron B) = vec(A) vec(B)^T``, so the nearest Kronecker product to H in
  Frobenius norm comes from the top singular pair of ``rearrange(H)`` (Corollary G.2).
  KroneckerPrecision relies on (67) and (72); the tests check all of them.
"""

from __future__ import annotations

import numpy as np


def rearrange(H: np.ndarray, m: int, n: int, d: int, l: int) -> np.ndarray:
    """``(i1, j1, i2, j2) -> (i1, i2, j1, j2)``: the (m n x d l) matrix H, viewed as blocks
    ``H[(i1, j1), (i2, j2)]`` with A of shape (m, d) and B of shape (n, l), becomes
    ``R[(i1, i2), (j1, j2)]`` of shape (m d, n l). Applying it again with the shape
    parameters (m, d, n, l) swapped to (m, n, d, l) undoes it."""
    return H.reshape(m, n, d, l).transpose(0, 2, 1, 3).reshape(m * d, n * l)


def nearest_kronecker(H: np.ndarray, m: int, n: int, d: int, l: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` minimizing ``||H - A kron B||_F`` with A (m x d), B (n x l): the top
    singular pair of ``rearrange(H)`` (Corollary G.2)."""
    U, s, Vt = np.linalg.svd(rearrange(H, m, n, d, l))
    return (np.sqrt(s[0]) * U[:, 0]).reshape(m, d), (np.sqrt(s[0]) * Vt[0]).reshape(n, l)
