"""One BLAS/LAPACK thread while a run decomposes small matrices step by step.

The per-step ``eigh`` of full-matrix AdaGrad or Shampoo works on matrices of side 10-200:
OpenBLAS's threads cost more than they gain there, and on a machine whose cores are
busy with other work they make it many times slower (``eigh`` of a 50 x 50 matrix:
0.18 ms on one thread, 3-15 ms on two threads at load average 1-4, measured on the
2-core development machine). :func:`single_threaded` sets the OpenBLAS libraries that
NumPy and SciPy load (NumPy's ``numpy.linalg``; SciPy's, which numba's LAPACK calls use)
to one thread and restores their counts afterwards. Where no OpenBLAS is found (another
BLAS, another platform) it does nothing. Only the time changes, not the numbers (a full
AdaGrad run gives the same table bit for bit both ways: tests/test_eigen_update.py).
"""

from __future__ import annotations

import ctypes
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

_NAMES = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
          ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
          ("openblas_set_num_threads", "openblas_get_num_threads"))


@cache
def _controls() -> tuple[tuple[object, object], ...]:
    """(set, get) of every OpenBLAS bundled with numpy and scipy that is already loaded."""
    found = []
    for package in ("numpy", "scipy"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent.parent / f"{package}.libs"
        for path in sorted(folder.glob("*openblas*")) if folder.is_dir() else []:
            try:
                library = ctypes.CDLL(str(path))
            except OSError:
                continue
            for setter, getter in _NAMES:
                if hasattr(library, setter) and hasattr(library, getter):
                    found.append((getattr(library, setter), getattr(library, getter)))
                    break
    return tuple(found)


def thread_counts() -> list[int]:
    """The current thread count of each OpenBLAS found (empty where none is)."""
    return [int(get()) for _, get in _controls()]


@contextmanager
def single_threaded(active: bool = True) -> Iterator[None]:
    """One OpenBLAS thread inside the block (where ``active``), the previous counts after."""
    controls = _controls() if active else ()
    before = [int(get()) for _, get in controls]
    try:
        for set_threads, _ in controls:
            set_threads(1)
        yield
    finally:
        for (set_threads, _), count in zip(controls, before, strict=True):
            set_threads(count)
