"""occ: an online convex optimization regret simulator.

>>> import occ
>>> result = occ.run("default", T=1000, seeds=5)      # doctest: +SKIP
>>> result.summary                                      # doctest: +SKIP
>>> learner = occ.make_learner("ogd", eta=0.1)
>>> worst = occ.search("reddi-cycle", learner="adam", T=10_000)   # doctest: +SKIP

The names below are imported on first use, so that ``import occ.cli`` (the command) is
quick and a Ctrl-C while it starts is handled by the command, not shown as a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

from occ.version import __version__

_EXPORTS = {"run": "occ.api", "LEARNERS": "occ.learners", "make_learner": "occ.learners",
            "list_scenarios": "occ.named", "load_scenario": "occ.scenarios",
            "register_learner": "occ.plugins", "Learner": "occ.learners.base",
            "LearnerFacts": "occ.learners.facts", "BoundParameters": "occ.learners.facts",
            "param": "occ.params", "Real": "occ.params", "Boolean": "occ.params",
            "Choice": "occ.params", "Integer": "occ.params"}
"""The public names; the learner protocol (``Learner``, ``LearnerFacts``, ``param``,
``register_learner``) is described in docs/own-learner.md."""

__all__ = ["LEARNERS", "BoundParameters", "Boolean", "Choice", "Integer", "Learner",
           "LearnerFacts", "Real", "__version__", "list_scenarios", "load_scenario",
           "make_learner", "param", "register_learner", "run", "search"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'occ' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
