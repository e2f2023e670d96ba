"""A scenario as a TOML file: what `occ show` prints and `occ new` writes.

The text is a valid scenario file that loads back to the same scenario (tested for every
named scenario): every default filled in, unset optional fields left out (TOML has no
null), tables before their sub-tables.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

__all__ = ["scenario_toml", "toml_value"]

NOT_WRITTEN = ("path",)  # where the file was read from: not a field of the file
DEFAULTS_BY_ABSENCE = {"bounds": "all that apply"}  # "every bound that applies" is no key


def toml_value(value: Any) -> str:
    """A TOML literal for a scalar or a list of scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # JSON's string escapes are TOML's basic-string escapes (control characters as \uXXXX);
        # TOML also forbids a bare DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML literal for {value!r}")


def _plain(value: Any) -> Any:
    """A configuration object (a schedule) as its table; NumPy scalars as numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "item") and not isinstance(value, list | tuple | str):
        return value.item()
    return value


def _written(table: dict[str, Any], top: bool = False) -> dict[str, Any]:
    """The entries a file states: no None, no top-level key whose absence means its value
    or that is not a field of the file."""
    table = {k: _plain(v) for k, v in table.items()}
    return {k: v for k, v in table.items() if v is not None and not (top and (
        k in NOT_WRITTEN or DEFAULTS_BY_ABSENCE.get(k, object()) == v))}


def _table(table: dict[str, Any], prefix: str) -> list[str]:
    table = _written(table, top=not prefix)
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    lines = [f"{k} = {toml_value(v)}" for k, v in scalars.items()]
    for k, v in table.items():
        if isinstance(v, dict):
            inner = _table(v, f"{prefix}{k}.")
            has_scalars = any(not isinstance(x, dict) for x in _written(_plain(v)).values())
            header = [f"[{prefix}{k}]"] if has_scalars or not v else []
            lines += ["", *header, *inner] if header else inner
    return lines


def scenario_toml(resolved: dict[str, Any]) -> str:
    """The file text of a scenario's ``resolved()`` configuration."""
    resolved = dict(resolved)
    description = str(resolved.pop("description", "")).strip()
    body = "\n".join(_table(resolved, "")).strip("\n")
    quoted = description.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'description = """{quoted}"""\n{body}\n'
