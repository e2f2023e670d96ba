"""Adversaries: comparators against scipy.optimize, and per-repetition determinism."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario
from reference import reference_game, solver_comparator

import occ
import occ.adversaries
from occ.adversaries import ADVERSARIES, make_adversary
from occ.errors import ParameterError, UnknownNameError
from occ.harness import repetition_generators

ADVERSARY_CASES = {
    "linear_gaussian": {"mean": 0.2},
    "linear_sparse": {"exponent": 1.2, "bias": 0.5},
    "linear_drift": {"period": 30.0},
    "linear_adaptive": {},
    "linear_periodic": {"pattern": [3.0, -1.0, -1.0, 0.5]},
    "linear_bernoulli": {"high": 5.0, "low": -1.0, "p": 0.2},
    "quadratic": {"centre_norm": 1.7, "condition": 20.0},
}
DOMAINS = [
    {"kind": "ball", "radius": 0.8, "centre": [0.1, 0.0, -0.2, 0.3]},
    {"kind": "box", "low": [-1.0, -0.5, 0.0, -2.0], "high": [1.0, 0.5, 0.3, 0.0]},
    {"kind": "unconstrained"},
]


def test_every_registered_adversary_has_cases() -> None:
    assert set(ADVERSARIES) == set(ADVERSARY_CASES)


@pytest.mark.parametrize("kind", list(ADVERSARY_CASES))
@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d["kind"])
def test_comparator_matches_scipy(kind, domain) -> None:
    adversary = make_adversary(kind, **ADVERSARY_CASES[kind])
    if adversary.loss_family(4).name == "linear" and domain["kind"] == "unconstrained":
        pytest.raises(ParameterError, make_scenario, domain=domain,
                      adversary={"kind": kind, **ADVERSARY_CASES[kind]})
        return
    sc = make_scenario(domain=domain, adversary={"kind": kind, **ADVERSARY_CASES[kind]},
                       learners={"x": {"kind": "ogd", "step": "sqrt", "c": 0.5}}, T=40, seeds=2)
    result = occ.run(sc)
    learner = occ.make_learner("ogd", step="sqrt", c=0.5, domain=sc.domain)
    for k in range(2):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k)
        rows = result.metrics.query("seed == @k")
        for tau, value in zip(rows["t"], rows["comparator_loss"], strict=True):
            _, best = solver_comparator(game["family"], sc.domain, game["params"][:tau])
            # the closed form is never worse than the solver, and they agree closely
            assert value <= best + 1e-9 * max(1.0, abs(best))
            assert value == pytest.approx(best, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("kind", list(ADVERSARY_CASES))
def test_draws_do_not_depend_on_chunking_or_batch(kind) -> None:
    """Repetition k's data are the same whatever the chunk size and the other repetitions."""
    adversary = make_adversary(kind, **ADVERSARY_CASES[kind])
    full = adversary.draw(repetition_generators(11, np.arange(4), adversary.streams), 1, 101, 5)
    pieces = []
    rngs = repetition_generators(11, np.arange(4), adversary.streams)
    for t0, t1 in ((1, 8), (8, 9), (9, 64), (64, 101)):
        pieces.append(adversary.draw(rngs, t0, t1, 5))
    np.testing.assert_array_equal(np.concatenate(pieces), full)
    alone = adversary.draw(repetition_generators(11, np.array([2]), adversary.streams), 1, 101, 5)
    np.testing.assert_array_equal(alone[:, 0], full[:, 2])
    other_seed = adversary.draw(repetition_generators(12, np.arange(4), adversary.streams),
                                1, 101, 5)
    # a deterministic adversary (no random stream) ignores the seed
    assert np.array_equal(other_seed, full) == (adversary.streams == ())


def test_adaptive_adversary_punishes_the_iterate() -> None:
    adversary = make_adversary("linear_adaptive")
    data = np.abs(np.random.default_rng(0).normal(size=(3, 4)))
    w = np.array([[0.5, -0.5, 0.0, -1e-9]] * 3)
    g = adversary.respond(data, w, 1, np)
    assert np.all(g * w >= 0)
    np.testing.assert_array_equal(np.abs(g), data)


def test_unknown_adversary_and_bad_parameter() -> None:
    with pytest.raises(UnknownNameError, match="unknown adversary 'linear'; allowed: "):
        make_adversary("linear")
    with pytest.raises(ParameterError, match=r"condition: must be a finite number >= 1"):
        make_adversary("quadratic", condition=0.5)
