"""An adaptive linear adversary with a small parametrized policy: ``g_t`` from ``w_t``.

``v_t = A w_t + b`` and

* ``rule = "normalize"``: ``g_t = L v_t / ||v_t||`` (``g_t = 0`` where ``v_t = 0``);
* ``rule = "sign"``: ``g_t = s sign(v_t)`` coordinate-wise (``sign(0) = 0``), with
  ``s = L`` for the ``linf`` bound and ``s = L / sqrt(d)`` for ``l2``,

so ``||g_t|| <= L`` in the stated norm. ``A = 0`` gives the fixed gradient of ``b``;
``A = I, b = 0`` with ``sign`` punishes the learner where it stands (``g_t^T w_t >= 0``,
the rule of ``linear_adaptive`` without its noise). Worst-case search
(:mod:`occ.search`) tunes ``A`` and ``b``. The losses depend on the learner, so the
comparators and bounds use the realized gradients (the harness replays the run).

The step data are the row's index into the policy table (one policy per row: 0 from a
scenario, the candidate from :class:`PolicyRows` in a search), so a batch of candidate
policies runs as one batched run through the same :func:`policy_gradient`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import LinearLoss
from occ.adversaries.sequence import NORMS
from occ.errors import ParameterError
from occ.params import Choice, Real, RealVector, param, validate

RULES = ("normalize", "sign")


@dataclass(frozen=True)
class Matrix:
    """A number (``a I``) or a list of d rows of d finite numbers (checked once d is
    known)."""

    def describe(self) -> str:
        return "a number (a times the identity) or a list of d rows of d finite numbers"

    def check(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, list | tuple):
            rows = []
            for row in value:
                if not isinstance(row, list | tuple):
                    raise ValueError
                rows.append(RealVector().check(list(row)))
                if not isinstance(rows[-1], tuple):
                    raise ValueError
            if not rows or len({len(r) for r in rows}) != 1:
                raise ValueError
            return tuple(rows)
        return Real(per_row=False).check(value)


def policy_gradient(A: Any, b: Any, index: Any, w: Any, L: float, norm: str, rule: str,
                    xp: ModuleType) -> Any:
    """``g`` (R, d) of every row: ``v = A[k] w + b[k]`` with ``k`` the row's policy index,
    then the rule above. ``A`` (C, d, d), ``b`` (C, d), ``index`` (R,) integers."""
    Ak, bk = xp.take(A, index, axis=0), xp.take(b, index, axis=0)
    v = xp.sum(Ak * w[:, None, :], axis=-1) + bk
    d = w.shape[-1]
    if rule == "sign":
        scale = L if norm == "linf" else L / float(np.sqrt(d))
        return scale * xp.sign(v)
    size = (xp.sqrt(xp.sum(v * v, axis=-1)) if norm == "l2" else xp.max(xp.abs(v), axis=-1))
    safe = xp.where(size > 0, size, 1.0)
    return xp.where(size[:, None] > 0, (L / safe)[:, None] * v, 0.0)


@dataclass(frozen=True)
class LinearPolicy:
    """Adaptive ``g_t = L normalize(A w_t + b)`` or ``L sign(A w_t + b)`` (module doc)."""

    A: Any = param(0.0, Matrix(), "the policy's matrix (d x d, or a number: a I)")
    b: Any = param(1.0, RealVector(dimension=True), "the policy's offset (a number or d)")
    L: float = param(1.0, Real(0, low_open=True, per_row=False), "the norm bound on g_t")
    norm: str = param("l2", Choice(NORMS), "the norm of the bound: l2 or linf")
    rule: str = param("normalize", Choice(RULES), "normalize (g = L v/||v||) or sign")
    name = "linear_policy"
    oblivious = False
    streams = ()

    def __post_init__(self) -> None:
        validate(self)

    def loss_family(self, d: int) -> LinearLoss:
        self.arrays(d)  # the dimensions, once d is known
        return LinearLoss()

    def arrays(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """``A`` (d, d) and ``b`` (d,) as arrays."""
        return _arrays(self.A, self.b, d)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        return np.zeros((t1 - t0, len(rngs), 1))  # every row plays policy 0: this one

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        A, b = self.arrays(w.shape[-1])
        index = xp.astype(data[:, 0], xp.int64)
        return policy_gradient(xp.asarray(A[None]), xp.asarray(b[None]), index, w, self.L,
                               self.norm, self.rule, xp)


@functools.lru_cache(maxsize=64)
def _arrays(A: Any, b: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(A, tuple):
        matrix = np.asarray(A, dtype=float)
        if matrix.shape != (d, d):
            raise ParameterError("A", f"must be {d} x {d} for d = {d}, got "
                                 f"{matrix.shape[0]} x {matrix.shape[1]}")
    else:
        matrix = float(A) * np.eye(d)
    vector = np.asarray(b, dtype=float)
    if vector.ndim == 1 and vector.size not in (1, d):
        raise ParameterError("b", f"must have d = {d} entries (or be one number), got "
                             f"{vector.size}")
    return matrix, np.broadcast_to(vector, (d,)).copy()
