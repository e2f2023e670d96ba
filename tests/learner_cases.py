"""Test parameters for every registered learner (each learner provides its own, like
river's ``_unit_test_params``). The common tests iterate this table; a registered learner
without an entry fails ``test_every_registered_learner_has_cases``."""

from __future__ import annotations

LEARNER_CASES: dict[str, list[dict]] = {
    "ogd": [
        {"step": "constant", "eta": 0.1},
        {"step": "sqrt", "c": 0.7},
        {"step": "adagrad_norm", "D0": 2.0},
        {"step": "adagrad_norm", "D0": 1.5, "eps0": 0.3},
    ],
}
