from __future__ import annotations

import copy
from typing import Any

import pytest

from occ.scenarios import Scenario, parse_scenario

BASE: dict[str, Any] = {
    "d": 4,
    "T": 60,
    "seeds": 3,
    "seed": 7,
    "checkpoints": 8,
    "domain": {"kind": "ball", "radius": 1.0},
    "adversary": {"kind": "linear_gaussian", "mean": 0.3},
    "learners": {"sgd": {"kind": "ogd", "step": "constant", "eta": 0.1}},
}


def make_scenario(**overrides: Any) -> Scenario:
    """A small scenario from BASE with top-level keys replaced."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(overrides))
    return parse_scenario(data, "<test>", "test")


@pytest.fixture
def scenario_factory():
    return make_scenario
