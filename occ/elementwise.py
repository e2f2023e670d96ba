"""The three elementwise operations a learner's step function may use beyond arithmetic.

A learner's per-coordinate step (for example :func:`occ.learners.adam.adam_coordinate`) is
written once, with ``+ - * / **``, Python conditionals on flags (plain ints or bools), and
these three functions. The reference update calls it on whole arrays of any array-API
namespace (NumPy, CuPy, array-api-strict): each function dispatches on the namespace of
its array operands (``__array_namespace__``; NumPy for Python or NumPy scalars). The
compiled engine calls the very same function on scalars inside its kernels: there
:mod:`occ.engines.numba_kernels` registers scalar implementations of these three
(``numba.extending.overload``), so numba compiles the step function itself, and no
second copy of any algorithm exists.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np


def namespace(*operands: Any) -> ModuleType | None:
    """The array namespace of the first operand that is an array (None for scalars)."""
    for x in operands:
        if isinstance(x, np.ndarray):
            return np
        space = getattr(x, "__array_namespace__", None)
        if space is not None and not isinstance(x, np.generic):
            return space()
    return None


def where(condition: Any, x: Any, y: Any) -> Any:
    """``x`` where ``condition`` holds, else ``y`` (elementwise)."""
    xp = namespace(condition, x, y)
    if xp is None:
        return x if condition else y
    return xp.where(condition, x, y)


def maximum(x: Any, y: Any) -> Any:
    """The elementwise maximum; a NaN operand gives NaN."""
    xp = namespace(x, y)
    if xp is None:
        return x if x != x or x > y else y  # noqa: PLR0124 (NaN propagates)
    return xp.maximum(x, y)


def sqrt(x: Any) -> Any:
    """The elementwise square root."""
    xp = namespace(x)
    return math.sqrt(x) if xp is None else xp.sqrt(x)
