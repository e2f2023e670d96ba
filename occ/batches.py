"""Learner batches: one configured learner with its hyperparameter grid folded into the
repetition axis (rows = grid points x seeds), built from a scenario's learner table.

A hyperparameter given as a list of numbers, where the learner takes one number per row,
forms a grid: ``eta = [0.01, 0.1]`` runs both values side by side on the same losses
(common random numbers), the rows labelled ``label[eta=0.01]`` and ``label[eta=0.1]``.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from occ.errors import ParameterError
from occ.params import Real
from occ.plugins import learner_class, make

DEFAULT_CHUNK = 4096
"""Steps per chunk unless a scenario asks otherwise; :data:`CHUNK_BUDGET_FLOATS` caps it
for large R x d (the numbers never depend on it: tests hold results equal bit for bit)."""
CHUNK_BUDGET_FLOATS = 2**22
"""A chunk of loss data holds at most this many floats (32 MiB) whatever T, R and d."""


def chunk_length(requested: int, rows: int, d: int) -> int:
    """Steps per chunk: the requested length, capped so that memory stays bounded."""
    return max(1, min(requested, CHUNK_BUDGET_FLOATS // max(rows * d, 1)))


@dataclass
class LearnerBatch:
    """One configured learner, its grid folded into the batch axis (rows = grid x seeds)."""

    label: str
    learner: Any
    row_labels: np.ndarray
    row_seeds: np.ndarray
    grid: int
    grid_keys: tuple[str, ...] = ()
    grid_values: tuple[tuple[float, ...], ...] = ()


def grid_parameters(kind: str, params: dict[str, Any]) -> list[str]:
    """The hyperparameters given as a list where the learner takes one number per row:
    those form a grid (a list for a vector-valued field such as ``c`` or ``A`` does not)."""
    cls = learner_class(kind, params)
    fields = {f.name: f.metadata.get("constraint") for f in dataclasses.fields(cls)} if cls else {}
    return [k for k, v in params.items() if isinstance(v, list | tuple)
            and isinstance(fields.get(k), Real) and fields[k].per_row]


def expand_learner(
    label: str, kind: str, params: dict[str, Any], domain: Any, seeds: np.ndarray,
    shape: tuple[int, int] | None = None,
) -> LearnerBatch:
    """Build a learner; list-valued numeric hyperparameters form a grid in the batch axis.
    Matrix learners get the scenario's ``shape``; learners with their own randomness get
    the repetition index of every row."""
    grid_keys = grid_parameters(kind, params)
    for k in grid_keys:
        if not params[k] or any(not isinstance(x, int | float) or isinstance(x, bool)
                                for x in params[k]):
            raise ParameterError(k, f"a grid must be a non-empty list of numbers, "
                                    f"got {params[k]!r}")
    combos = list(itertools.product(*(params[k] for k in grid_keys))) or [()]
    S = len(seeds)
    fixed = {k: v for k, v in params.items() if k not in grid_keys}
    for k, values in zip(grid_keys, zip(*combos, strict=True), strict=True):
        fixed[k] = np.repeat(np.asarray(values, dtype=float), S)
    cls = learner_class(kind, params)
    if cls is not None and getattr(cls, "matrix", False):
        if shape is None:
            raise ParameterError("kind", f"learner {kind!r} works on matrices: give the "
                                 "scenario's shape = [m, n]")
        fixed["shape"] = tuple(shape)
    elif cls is not None and shape is not None and "shape" in {f.name for f in
                                                                dataclasses.fields(cls)}:
        fixed["shape"] = tuple(shape)  # a learner that takes a matrix shape where given
    if cls is not None and "repetitions" in {f.name for f in dataclasses.fields(cls)}:
        fixed["repetitions"] = tuple(np.tile(seeds, len(combos)).tolist())
    passed = {k: fixed.pop(k) for k in ("shape", "repetitions") if k in fixed}
    learner = make(kind, fixed, domain=domain, **passed)
    names = [
        label if not grid_keys else
        f"{label}[{','.join(f'{k}={v:g}' for k, v in zip(grid_keys, combo, strict=True))}]"
        for combo in combos
    ]
    return LearnerBatch(label, learner, np.repeat(np.asarray(names, dtype=object), S),
                        np.tile(seeds, len(combos)), len(combos), tuple(grid_keys),
                        tuple(tuple(float(v) for v in c) for c in combos))


def tile_rows(data: np.ndarray, grid: int) -> np.ndarray:
    """Each repetition's data repeated for the grid's points: (n, S, ...) -> (n, grid S, ...)."""
    return data if grid == 1 else np.tile(data, (1, grid) + (1,) * (data.ndim - 2))
