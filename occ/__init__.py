"""occ: an online convex optimization regret simulator.

>>> import occ
>>> result = occ.run("default", T=1000, seeds=5)      # doctest: +SKIP
>>> result.summary                                      # doctest: +SKIP
>>> learner = occ.make_learner("ogd", eta=0.1)

The names below are imported on first use (PEP 562), so that ``occ --help`` and
``occ list`` do not pay for NumPy, SciPy, pandas and numba.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from occ.version import __version__

_LAZY = {"run": "occ.api", "LEARNERS": "occ.learners", "make_learner": "occ.learners",
         "list_scenarios": "occ.named", "load_scenario": "occ.scenarios"}

__all__ = ["LEARNERS", "__version__", "list_scenarios", "load_scenario", "make_learner", "run"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'occ' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
