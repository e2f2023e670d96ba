"""Declarative parameter constraints, checked the same way for every configurable part.

A learner, adversary or domain is a frozen dataclass whose fields carry a constraint in
their metadata (``param(default, Real(low=0, low_open=True))``). :func:`validate` checks all
of them and raises :class:`~occ.errors.ParameterError` naming the field, the allowed values
and the value given, e.g. ``eta: must be a finite number > 0, got nan``.
Numeric fields may also hold one value per repetition row (a 1-D array), which is how a
grid of hyperparameters folds into the batch axis.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from occ.errors import ParameterError


@dataclass(frozen=True)
class Real:
    """A finite real number in an interval; optionally one value per repetition row."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    per_row: bool = True

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return "a finite number" + (" " + " and ".join(parts) if parts else "")

    def _ok(self, x: float) -> bool:
        if isinstance(x, bool) or not isinstance(x, int | float | np.floating | np.integer):
            return False
        x = float(x)
        if not math.isfinite(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return not (self.high is not None and (x >= self.high if self.high_open else x > self.high))

    def check(self, value: Any) -> Any:
        if self.per_row and isinstance(value, np.ndarray | list | tuple):
            arr = np.asarray(value, dtype=float)
            if arr.ndim != 1 or arr.size == 0 or not all(self._ok(v) for v in arr.tolist()):
                raise ValueError
            return arr
        if not self._ok(value):
            raise ValueError
        return float(value)


@dataclass(frozen=True)
class Integer:
    """An integer in an interval."""

    low: int | None = None
    high: int | None = None

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f">= {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return "an integer" + (" " + " and ".join(parts) if parts else "")

    def check(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int | np.integer):
            raise ValueError
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError
        return int(value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def check(self, value: Any) -> str:
        if value not in self.options:
            raise ValueError
        return value


@dataclass(frozen=True)
class Boolean:
    def describe(self) -> str:
        return "true or false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool | np.bool_):
            raise ValueError
        return bool(value)



@dataclass(frozen=True)
class RealVector:
    """A non-empty list of finite reals (or one number, broadcast). ``dimension``: one entry
    per coordinate, so a list must have d entries (checked by :func:`check_dimension` once
    d is known)."""

    low: float | None = None
    low_open: bool = False
    dimension: bool = False

    def describe(self) -> str:
        bound = "" if self.low is None else f" each {'>' if self.low_open else '>='} {self.low:g}"
        what = "d" if self.dimension else "one or more"
        return f"a number or a list of {what} finite numbers{bound}"

    def check(self, value: Any) -> Any:
        scalar = Real(self.low, None, self.low_open, per_row=False)
        if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
            if any(isinstance(v, bool) or not isinstance(v, int | float | np.number)
                   for v in value):
                raise ValueError
            arr = np.asarray(value, dtype=float)
            if arr.ndim != 1 or arr.size == 0 or not all(scalar._ok(v) for v in arr.tolist()):
                raise ValueError
            return tuple(arr.tolist())
        return scalar.check(value)


@dataclass(frozen=True)
class Preconditioner:
    """A positive diagonal (a list of numbers > 0) or a symmetric positive definite
    matrix (a list of equal-length lists)."""

    def describe(self) -> str:
        return ("a list of numbers > 0 (diagonal A) or a symmetric positive definite "
                "matrix given as a list of rows")

    def check(self, value: Any) -> np.ndarray:
        arr = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(arr)):
            raise ValueError
        if arr.ndim == 1 and arr.size and np.all(arr > 0):
            return arr
        if (arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.size
                and np.allclose(arr, arr.T, rtol=0, atol=1e-12 * np.abs(arr).max())
                and np.linalg.eigvalsh((arr + arr.T) / 2).min() > 0):
            return (arr + arr.T) / 2
        raise ValueError


PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Name:
    """A plain name, safe as a file or folder name: letters, digits, ``-``, ``_`` and ``.``,
    not starting with a dot, at most 100 characters."""

    def describe(self) -> str:
        return ("a plain name (letters, digits, '-', '_', '.', not starting with a dot, "
                "1 to 100 characters)")

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not PLAIN_NAME.fullmatch(value):
            raise ValueError
        return value


class Text:
    """Any string (a file path relative to the scenario, a column list): checked to be a
    string here; what it names is checked where it is used."""

    def describe(self) -> str:
        return "a string"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError
        return value


def check_name(value: Any, field: str) -> str:
    """``value`` as a plain name, or :class:`ParameterError` naming ``field``."""
    try:
        return Name().check(value)
    except ValueError:
        raise ParameterError(field, f"must be {Name().describe()}, got {_show(value)}") from None


Constraint = Real | Integer | Choice | Boolean | RealVector | Preconditioner | Name | Text


def param(default: Any, constraint: Constraint | None = None, doc: str = "") -> Any:
    """A dataclass field with a constraint and a one-line description."""
    return dataclasses.field(default=default, metadata={"constraint": constraint, "doc": doc})


def _show(value: Any, limit: int = 60) -> str:
    """The value as the message shows it: one line, at most ``limit`` characters."""
    text = np.array2string(value, threshold=6) if isinstance(value, np.ndarray) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_dimension(obj: Any, d: int) -> None:
    """Check the fields whose length is the dimension: a :class:`RealVector` with
    ``dimension`` given as a list must have d entries, a :class:`Preconditioner` must be
    d (diagonal) or d x d."""
    for f in dataclasses.fields(obj):
        constraint = f.metadata.get("constraint")
        value = getattr(obj, f.name)
        if isinstance(constraint, RealVector) and constraint.dimension:
            if isinstance(value, tuple) and len(value) not in (1, d):
                raise ParameterError(f.name, f"must have d = {d} entries (or be one number), "
                                     f"got {len(value)}")
        elif isinstance(constraint, Preconditioner) and value is not None:
            shape = np.shape(value)
            if shape[0] != d:
                what = f"{d} numbers" if len(shape) == 1 else f"a {d} x {d} matrix"
                got = f"{shape[0]}" if len(shape) == 1 else f"{shape[0]} x {shape[1]}"
                raise ParameterError(f.name, f"must be {what} for d = {d}, got {got}")


def validate(obj: Any) -> None:
    """Check every constrained field of a frozen dataclass, normalizing values in place.

    ``None`` is accepted for any field whose default is ``None`` (meaning "not set").
    """
    for f in dataclasses.fields(obj):
        constraint = f.metadata.get("constraint")
        if constraint is None:
            continue
        value = getattr(obj, f.name)
        if value is None and f.default is None:
            continue
        try:
            normalized = constraint.check(value)
        except (ValueError, TypeError):
            raise ParameterError(
                f.name, f"must be {constraint.describe()}, got {_show(value)}"
            ) from None
        object.__setattr__(obj, f.name, normalized)


def build(cls: type, table: dict[str, Any], *, passed: Sequence[str] = ()) -> Any:
    """Instantiate a constrained dataclass from a table, rejecting unknown keys.

    ``passed`` names fields set by occ itself (a learner's ``domain``): accepted from
    code, not listed among the parameters a user may give.
    """
    fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in passed]
    names = [f.name for f in fields]
    unknown = sorted(set(table) - set(names) - set(passed), key=str)
    if unknown:
        raise ParameterError(
            str(unknown[0]), f"unknown parameter; allowed: {', '.join(names) or '(none)'}"
        )
    for f in fields:  # a field without a constraint takes the type of its default
        if (f.metadata.get("constraint") is None and isinstance(f.default, str)
                and f.name in table and not isinstance(table[f.name], str)):
            raise ParameterError(f.name, f"must be a string, got {_show(table[f.name])}")
    return cls(**table)


def describe_fields(cls: type) -> list[tuple[str, Any, str, str]]:
    """(name, default, allowed values, doc) for each configurable field, for `occ show`."""
    rows = []
    for f in dataclasses.fields(cls):
        c = f.metadata.get("constraint")
        if not f.init or c is None:
            continue
        rows.append((f.name, f.default, c.describe(), f.metadata.get("doc", "")))
    return rows
