"""Compiled fills of NumPy generators: the same numbers, faster.

``Generator.standard_normal(out=...)`` costs ~12-14 ns a number on the development machine;
the same ziggurat of the same ``PCG64`` stream written as a loop under numba (which
implements ``Generator.standard_normal`` with NumPy's algorithm, on the generator's own
bit-generator state) costs ~4.5 ns, and leaves the generator in the same state. Its first
call costs far more (see :data:`COMPILED_AFTER`), so a process uses it only once it has
drawn enough for that to pay. So
:func:`fill_standard_normal` returns the numbers NumPy would, bit for bit
(tests/test_draws.py holds them equal, state included), and releases the GIL: the
adversaries' drawing threads run it in parallel, one generator each. Without numba, or
for another bit generator, it is NumPy's own fill.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

_compiled: Any = None  # the compiled fill, built at its first use; False: no numba
_building = threading.Lock()


def compiled_fill() -> Any:
    """The compiled fill ``(generator, out) -> None``, or None without numba. numba is
    imported here, at the first use, not with this module: every adversary imports it, and
    numba's import (0.3 s) is paid only by a process that compiles something."""
    global _compiled
    if _compiled is None:
        with _building:  # the drawing threads may all ask at once: one builds it
            if _compiled is None:
                _compiled = _build()
    return _compiled or None


def _build() -> Any:
    """The compiled fill, or False without numba."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is in the base install
        return False

    @numba.njit(nogil=True, cache=True)
    def fill(generator: np.random.Generator, out: np.ndarray) -> None:  # pragma: no cover
        flat = out.reshape(-1)
        for i in range(flat.size):
            flat[i] = generator.standard_normal()

    return fill


def aligned_empty(shape: tuple[int, ...], alignment: int = 64) -> np.ndarray:
    """An uninitialised float64 array whose data starts on an ``alignment``-byte boundary.

    NumPy's large allocations start 16 bytes into a page; XLA (jax's CPU client) copies an
    input buffer that is not 64-byte aligned, so the adversaries draw into aligned blocks
    and the chunked engine hands them to jax without a copy."""
    size = int(np.prod(shape))
    pad = alignment // 8
    raw = np.empty(size + pad)
    start = (-raw.ctypes.data % alignment) // 8
    return raw[start:start + size].reshape(shape)


COMPILED_AFTER = 2**26
"""Gaussian numbers a process draws with NumPy before it switches to the compiled fill.
The compiled fill's first call costs 0.4-0.7 s here (numba types the generator and loads
its distributions), and it saves ~8 ns a number, so it pays from ~10^8 numbers: below
this many a run (the default scenario draws 4 * 10^6) never pays that start. The numbers
are the same either way, so where the switch falls changes nothing in any result."""

_drawn = 0  # Gaussian numbers drawn by this process (a racy count only moves the switch)


def fill_standard_normal(generator: np.random.Generator, out: np.ndarray,
                         compiled: bool | None = None) -> None:
    """``generator.standard_normal(out=out)`` for a C-contiguous float64 ``out``: the
    compiled fill where numba is installed, the bit generator is PCG64 and (``compiled``
    None) the process has drawn :data:`COMPILED_AFTER` numbers, or ``compiled`` is True;
    NumPy's own otherwise. The same numbers and the same generator state after."""
    global _drawn
    _drawn += out.size
    if compiled is None:
        compiled = _drawn > COMPILED_AFTER
    fill = compiled_fill() if compiled else None
    if (fill is not None and isinstance(generator.bit_generator, np.random.PCG64)
            and out.dtype == np.float64 and out.flags.c_contiguous):
        fill(generator, out)
    else:
        generator.standard_normal(out=out)
