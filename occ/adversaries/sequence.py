"""An explicit gradient sequence ``l_t(w) = g_t^T w``, ``g_1..g_T`` listed in the scenario.

The family that worst-case search (:mod:`occ.search`) writes for short horizons: every
gradient is stated, so ``occ run`` replays the found sequence exactly. The gradients are
checked against a stated norm bound ``||g_t|| <= L`` (``l2`` or ``linf``) within the
round-off of computing the norm (``gamma(d + 1) L``, :mod:`occ.roundoff`): a vector whose
exact norm is ``L`` may compute a norm one rounding above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import LinearLoss
from occ.errors import ParameterError
from occ.params import Choice, Real, param, validate
from occ.roundoff import gamma

NORMS = ("l2", "linf")


def vector_norms(g: np.ndarray, norm: str) -> np.ndarray:
    """``||g||_2`` or ``||g||_inf`` along the last axis."""
    return np.sqrt(np.sum(g * g, axis=-1)) if norm == "l2" else np.max(np.abs(g), axis=-1)


def check_bounded(g: np.ndarray, L: float, norm: str, field: str) -> None:
    """Every row of ``g`` (..., d) within ``||.|| <= L`` up to the norm's round-off, or a
    :class:`ParameterError` naming ``field`` and the first row outside."""
    d = g.shape[-1]
    norms = vector_norms(g, norm).reshape(-1)
    over = np.flatnonzero(norms > L * (1.0 + gamma(d + 1)))
    if over.size:
        i = int(over[0])
        raise ParameterError(field, f"entry {i + 1} has {norm} norm {norms[i]:.17g} > L = "
                             f"{L:g}; every gradient must satisfy ||g_t||_{norm[1:]} <= L")


@dataclass(frozen=True)
class GradientList:
    """A non-empty list of gradients: all finite numbers (each fills every coordinate) or
    all lists of d finite numbers (d checked once known). Held as a read-only array:
    (T,) or (T, d)."""

    def describe(self) -> str:
        return ("a list of gradients g_1..g_T: each a number (every coordinate), or each a "
                "list of d finite numbers")

    def check(self, value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray):  # from code (a search's candidates)
            if value.dtype.kind not in "fiu":
                raise ValueError
            array = value.astype(float)
        else:
            if not isinstance(value, Sequence) or isinstance(value, str) or not value:
                raise ValueError
            rows = [tuple(_finite(v) for v in entry)
                    if isinstance(entry, Sequence) and not isinstance(entry, str)
                    else _finite(entry) for entry in value]
            if not (all(isinstance(r, float) for r in rows)
                    or all(isinstance(r, tuple) and len(r) == len(rows[0]) for r in rows)):
                raise ValueError
            array = np.asarray(rows, dtype=float)
        if array.ndim not in (1, 2) or not array.size or not np.all(np.isfinite(array)):
            raise ValueError
        array.setflags(write=False)
        return array


def _finite(value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float | np.number)
            or not np.isfinite(value)):
        raise ValueError
    return float(value)


def gradient_array(gradients: np.ndarray, d: int, field: str = "gradients") -> np.ndarray:
    """The gradients as a (T, d) array (a number fills every coordinate)."""
    if gradients.ndim == 1:
        return np.repeat(gradients[:, None], d, axis=1)
    if gradients.shape[1] != d:
        raise ParameterError(field, f"has {gradients.shape[1]} numbers per gradient; each "
                             f"must have d = {d} (or be one number)")
    return gradients


@dataclass(frozen=True, eq=False)
class LinearSequence:
    """Oblivious, deterministic: ``g_t = gradients[t - 1]`` for ``t = 1..T``, with the
    horizon at most the number listed. Every repetition sees the same sequence."""

    gradients: Any = param((1.0,), GradientList(), "g_1..g_T, one entry per step")
    L: float = param(1.0, Real(0, low_open=True, per_row=False),
                     "the norm bound: ||g_t|| <= L for every t")
    norm: str = param("linf", Choice(NORMS), "the norm of the bound: l2 or linf")
    tables: dict = field(default_factory=dict, init=False, compare=False, repr=False)
    name = "linear_sequence"
    oblivious = True
    streams = ()

    def __post_init__(self) -> None:
        validate(self)

    @property
    def horizon(self) -> int:
        """The longest horizon this sequence defines."""
        return len(self.gradients)

    def table(self, d: int) -> np.ndarray:
        """The gradients as a (T, d) array, checked against the norm bound (once per d)."""
        if d not in self.tables:
            g = gradient_array(self.gradients, d)
            check_bounded(g, self.L, self.norm, "gradients")
            self.tables[d] = g
        return self.tables[d]

    def loss_family(self, d: int) -> LinearLoss:
        self.table(d)  # the dimension and the norm bound, once d is known
        return LinearLoss()

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        if t1 - 1 > self.horizon:
            raise ParameterError("T", f"must be <= {self.horizon}, the gradients listed in "
                                 "adversary.gradients")
        values = self.table(d)[t0 - 1:t1 - 1]
        return np.broadcast_to(values[:, None, :], (t1 - t0, len(rngs), d)).copy()

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data
