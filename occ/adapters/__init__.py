"""Library optimizers as occ learners: ``kind = "optax"`` and ``kind = "torch"``.

``adapter_class("optax", "adam")`` is a learner class whose fields are the keyword
arguments of ``optax.adam`` (read from its signature, validated like any learner's), and
whose ``init``/``update`` run the library's own step, then project onto V (Euclidean).
The library is imported only here, on first use: ``import occ`` imports neither jax nor
torch. See docs/own-learner.md.
"""

from __future__ import annotations

from typing import Any

from occ.errors import ParameterError

_CLASSES: dict[tuple[str, str], type] = {}
EXTRAS = {"optax": "occ[optax]", "torch": "occ[torch]"}


def adapter_class(kind: str, target: Any, field: str) -> type:
    """The learner class wrapping ``target`` of library ``kind`` (cached per process)."""
    if not isinstance(target, str) or not target.strip():
        raise ParameterError(field, f"must be the name of a {kind} optimizer, got {target!r}")
    key = (kind, target)
    if key not in _CLASSES:
        if kind == "optax":
            from occ.adapters.optax_learner import optax_class as make
        else:
            from occ.adapters.torch_learner import torch_class as make
        try:
            import importlib

            for module in ("jax", "optax") if kind == "optax" else ("torch",):
                importlib.import_module(module)
        except ImportError as exc:
            raise ParameterError(field, f"kind {kind!r} needs {kind}: pip install "
                                 f"'{EXTRAS[kind]}' ({exc})") from None
        _CLASSES[key] = make(target, field)
    return _CLASSES[key]


__all__ = ["adapter_class"]
