"""The array namespace: NumPy by default, CuPy on a GPU, any array-API namespace in tests.

Kernels never import numpy or cupy for computation; they receive ``xp``. Adversaries draw
their randomness on the host with NumPy (so every backend sees the same numbers) and the
harness moves each chunk to the namespace with :func:`to_device`. Results come back to
the host only at checkpoints, with :func:`to_host`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from occ.errors import BackendError

BACKENDS = ("numpy", "cupy", "array_api_strict")


def get_namespace(name: str = "numpy") -> ModuleType:
    """The array namespace called ``name``; a clear error where it cannot be used."""
    if name == "numpy":
        return np
    if name == "cupy":
        try:
            cupy = importlib.import_module("cupy")
        except ImportError:
            raise BackendError(
                "backend 'cupy' needs CuPy: install it with `pip install occ[cupy]` "
                "on a machine with an NVIDIA GPU and CUDA 12"
            ) from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise BackendError(f"backend 'cupy': no usable GPU ({exc})") from None
        if count < 1:
            raise BackendError("backend 'cupy': CuPy is installed but no GPU was found")
        return cupy
    if name == "array_api_strict":
        try:
            return importlib.import_module("array_api_strict")
        except ImportError:
            raise BackendError(
                "backend 'array_api_strict' needs `pip install array-api-strict`"
            ) from None
    raise BackendError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")


def namespace_of(x: Any) -> ModuleType:
    """The namespace an array belongs to (NumPy for plain Python data)."""
    if hasattr(x, "__array_namespace__"):
        return x.__array_namespace__()
    return np


def to_device(x: np.ndarray, xp: ModuleType) -> Any:
    """A host array in namespace ``xp`` (float64)."""
    if xp is np:
        return np.asarray(x, dtype=np.float64)
    return xp.asarray(np.ascontiguousarray(x, dtype=np.float64))


def to_host(x: Any) -> np.ndarray:
    """Any backend's array as a NumPy array (a copy only where needed)."""
    if isinstance(x, np.ndarray | float | int | np.generic):
        return np.asarray(x)
    if hasattr(x, "get"):  # cupy
        return x.get()
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    return np.asarray(x)
