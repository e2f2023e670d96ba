"""occ: an online convex optimization regret simulator.

>>> import occ
>>> result = occ.run("default", T=1000, seeds=5)      # doctest: +SKIP
>>> result.summary                                      # doctest: +SKIP
>>> learner = occ.make_learner("ogd", eta=0.1)
"""

from __future__ import annotations

from occ.api import run  # noqa: E402
from occ.learners import LEARNERS, make_learner  # noqa: E402
from occ.scenarios import list_scenarios, load_scenario  # noqa: E402
from occ.version import __version__  # noqa: E402

__all__ = ["LEARNERS", "__version__", "list_scenarios", "load_scenario", "make_learner", "run"]
