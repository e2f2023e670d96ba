"""Every learner's typed declaration is complete, consistent and exercised.

The tests that use declarations (engine equivalence, bounds holding, reference loops)
generate their cases from them (:mod:`generated`); these tests make sure that nothing a
learner declares escapes the generator, and that what it declares is true of its run.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_scenario
from generated import (
    DOMAINS,
    UncoveredError,
    allowed_domains,
    build,
    combinations,
    defaults,
    discrete,
    hyperparameters,
    numeric,
)

import occ
from occ.bounds import BOUNDS, FACTS
from occ.learners import LEARNERS
from occ.learners.adam import Adam
from occ.learners.facts import EUCLIDEAN_GEOMETRIES, LearnerFacts
from occ.params import Real

NAMES = sorted(LEARNERS)


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_hyperparameter_is_generated(name: str) -> None:
    """A learner that declares a parameter the generator cannot draw fails here."""
    for h in hyperparameters(LEARNERS[name]):
        if discrete(h.constraint) is None:
            try:
                numeric(h.constraint, 4)
            except UncoveredError as exc:
                pytest.fail(f"{name}.{h.name}: {exc}")


@pytest.mark.parametrize("name", NAMES)
def test_every_combination_builds_on_some_allowed_domain(name: str) -> None:
    cls = LEARNERS[name]
    domains = allowed_domains(cls)
    assert domains, f"{name} builds on no domain"
    for combo in combinations(cls):
        built = [build(cls, defaults(cls, combo), d, 4, (2, 2)) for d in domains]
        assert any(b is not None for b in built), (name, combo)


@pytest.mark.parametrize("name", NAMES)
def test_the_declaration_is_typed_and_consistent(name: str) -> None:
    cls = LEARNERS[name]
    for domain in allowed_domains(cls):
        learner = build(cls, defaults(cls, {}), domain, 4, (2, 2))
        if learner is None:
            continue
        facts = learner.facts(4)
        assert isinstance(facts, LearnerFacts)
        assert facts.family == name
        assert facts.domains == learner.allowed_domains and domain in facts.domains
        assert facts.claims <= set(BOUNDS) | set(FACTS), facts.claims - set(BOUNDS) - set(FACTS)
        assert facts.kernel == ("kernel_step" in vars(cls) and cls.kernel_step is not None)
        assert facts.parameter == ("matrix" if cls.matrix else "vector")
        assert facts.state_floats >= 0
        assert {h.name for h in facts.hyperparameters} == {
            h.name for h in cls.hyperparameters()}
        if facts.geometry == "none":
            assert facts.not_mirror_descent, "a learner without geometry says why"


@pytest.mark.parametrize("name", NAMES)
def test_domains_it_does_not_declare_are_refused(name: str) -> None:
    cls = LEARNERS[name]
    allowed = allowed_domains(cls)
    for domain in set(DOMAINS) - set(allowed):
        assert build(cls, defaults(cls, {}), domain, 4, (2, 2)) is None, (name, domain)


def test_a_subclass_inherits_no_kernel_and_no_guarantee_of_a_changed_update() -> None:
    @dataclasses.dataclass(frozen=True)
    class Kept(Adam):
        name = "kept"

    @dataclasses.dataclass(frozen=True)
    class Changed(Adam):
        name = "changed"

        def update(self, state, g, xp=None):  # noqa: ANN001, ANN201
            return super().update(state, 2 * g, xp)

    amsgrad = LEARNERS["amsgrad"]()
    assert amsgrad.facts(3).monotone == "by_construction" and amsgrad.facts(3).kernel
    for cls in (Kept, Changed):
        facts = cls().facts(3)
        assert not facts.kernel  # a compiled step belongs to its exact class
    assert Changed().facts(3).monotone == "measured" and Changed().facts(3).claims == set()


@pytest.mark.parametrize("name", NAMES)
def test_monotone_by_construction_is_true_of_the_run(name: str) -> None:
    """What a learner declares monotone by construction is measured monotone (within the
    round-off of its decomposition) on a run where every step moves."""
    cls = LEARNERS[name]
    domain = next((d for d in ("ball", "box") if d in allowed_domains(cls)), None)
    if domain is None:  # the simplex learners: the entropy geometry has no Gamma_t
        assert allowed_domains(cls) == ["simplex"]
        return
    checked = 0
    # each combination at its defaults, and with every closed lower end taken (beta1 = 0,
    # no weight decay: the configurations of mirror-descent form)
    lows = {h.name: h.constraint.low for h in hyperparameters(cls)
            if isinstance(h.constraint, Real) and h.constraint.low is not None
            and not h.constraint.low_open}
    configurations = [defaults(cls, c) for c in combinations(cls)]
    configurations += [{**lows, **c} for c in configurations]
    for params in configurations:
        learner = build(cls, params, domain, 4, (2, 2))
        if learner is None:
            continue
        facts = learner.facts(4)
        if facts.monotone != "by_construction" or facts.geometry not in EUCLIDEAN_GEOMETRIES:
            continue
        matrix = cls.matrix
        sc = make_scenario(
            d=4, shape=[2, 2] if matrix else None, T=30, seeds=2,
            domain=DOMAINS[domain] if domain != "box" else {"kind": "box", "low": -1, "high": 1},
            adversary={"kind": "matrix_linear"} if matrix else {"kind": "linear_gaussian"},
            learners={"x": {"kind": name, **params}})
        slack = occ.run(sc, engine="reference").metrics["monotone_slack"].to_numpy()
        assert np.all(slack >= 0), (name, params, slack.min())
        checked += 1
    if name in ("amsgrad", "adagrad_full", "shampoo", "ogd"):  # the non-trivial claims
        assert checked
