"""An object imported from its dotted path, with one clear error naming the field.

Shared by the ways in for learners occ does not ship (:mod:`occ.plugins`' ``kind =
"python"``) and the library adapters (:mod:`occ.adapters`: ``transform``, ``optimizer``),
so that neither imports the other.
"""

from __future__ import annotations

import importlib
from typing import Any

from occ.errors import ParameterError


def import_object(path: Any, field: str) -> Any:
    """``package.module:Name`` (or ``package.module.Name``) imported, or one clear error
    naming ``field``."""
    if not isinstance(path, str) or not path.strip():
        raise ParameterError(field, f"must be 'package.module:Name', got {path!r}")
    module_name, sep, attribute = path.partition(":")
    if not sep:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise ParameterError(field, f"must be 'package.module:Name', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ParameterError(field, f"cannot import module {module_name!r} "
                             f"({type(exc).__name__}: {exc})") from None
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ParameterError(field, f"module {module_name!r} has no attribute "
                                 f"{attribute!r}")
        value = getattr(value, part)
    return value
