"""Finding named scenarios and sweeps: ./scenarios and ./sweeps first, then the ones shipped
with occ as package data. Light on purpose (no NumPy, no SciPy): `occ list` imports only
this."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from occ.errors import ScenarioError
from occ.textfiles import read_text

__all__ = ["list_scenarios", "packaged", "scenario_directories"]


def packaged(folder: str) -> Path | None:
    """The folder of named files shipped in the package (``occ._scenarios`` is the
    repository's ``scenarios/``, ``occ._sweeps`` its ``sweeps/``), wherever occ is
    installed; None if absent."""
    try:
        root = resources.files(f"occ._{folder}")
    except ModuleNotFoundError:
        return None
    path = Path(str(root))
    return path if path.is_dir() else None


def scenario_directories() -> list[Path]:
    """Where named scenarios are looked up: ./scenarios, then the ones shipped with occ."""
    here = Path.cwd() / "scenarios"
    return [p for p in dict.fromkeys([here, packaged("scenarios")]) if p is not None
            and p.is_dir()]


def list_scenarios() -> dict[str, str]:
    """Every named scenario with the first line of its description."""
    found: dict[str, str] = {}
    for directory in scenario_directories():
        for path in sorted(directory.glob("*.toml")):
            if path.stem in found:
                continue
            try:
                description = tomllib.loads(read_text(path, str(path))).get("description", "")
            except (ScenarioError, tomllib.TOMLDecodeError):
                description = "(unreadable: run `occ show` for the error)"
            if not isinstance(description, str):
                description = "(description is not a string: run `occ show` for the error)"
            found[path.stem] = description.strip().splitlines()[0] if description.strip() else ""
    return found
