"""Learner configurations generated from the declarations, never from lists of names.

For a learner class, :func:`combinations` enumerates every choice of its ``Choice`` and
``Boolean`` hyperparameters (and the kinds of a schedule), and :func:`numeric` is a
hypothesis strategy for every other hyperparameter, drawn from its constraint
(:mod:`occ.params`). A constraint the generator does not know raises
:class:`UncoveredError`, which fails ``test_every_declared_hyperparameter_is_generated``: a
learner cannot declare a parameter the tests do not exercise.

Which domains, parameter shapes, engines and adversaries a learner takes also come from
its declaration (:class:`occ.learners.facts.LearnerFacts`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from occ.domains import make_domain
from occ.errors import ParameterError
from occ.params import Boolean, Choice, Integer, Preconditioner, Real, RealVector
from occ.schedules import KINDS as SCHEDULE_KINDS
from occ.schedules import ScheduleSpec

SET_BY_OCC = ("domain", "shape", "repetitions")
"""Fields occ sets itself (the scenario's domain and shape, the repetition indices)."""
DOMAINS = {
    "unconstrained": {"kind": "unconstrained"},
    "ball": {"kind": "ball", "radius": 1.0, "centre": 0.1},
    "box": {"kind": "box", "low": -1.0, "high": 0.5},
    "simplex": {"kind": "simplex"},
}
"""One instance of every domain kind a learner may declare."""


class UncoveredError(Exception):
    """A hyperparameter whose constraint the generator cannot draw."""


def hyperparameters(cls: type) -> list[Any]:
    return [h for h in cls.hyperparameters() if h.name not in SET_BY_OCC]


def discrete(constraint: Any) -> list[Any] | None:
    """Every value of a finite constraint, or None for a numeric one."""
    if isinstance(constraint, Choice):
        return list(constraint.options)
    if isinstance(constraint, Boolean):
        return [False, True]
    if isinstance(constraint, ScheduleSpec):
        return list(SCHEDULE_KINDS)
    return None


def combinations(cls: type) -> list[dict[str, Any]]:
    """Every combination of the finite hyperparameters of ``cls``."""
    finite = [(h.name, discrete(h.constraint)) for h in hyperparameters(cls)]
    finite = [(name, values) for name, values in finite if values is not None]
    names = [name for name, _ in finite]
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(values for _, values in finite))]


def _real(c: Real, ends: bool) -> st.SearchStrategy:
    """Finite reals in the interval, spread over scales; with ``ends``, also its closed
    ends (a decay of 0, an epsilon of 0)."""
    low = c.low if c.low is not None else -10.0
    high = c.high if c.high is not None else None
    if high is not None and high <= 1.0 and low >= 0.0:  # a decay rate in [0, 1)
        top = high - 1e-3 if c.high_open else high
        values = st.floats(low + 0.05, top)
        if ends:
            values = values | st.sampled_from([low, top])
        return values.filter(lambda x: not (c.low_open and x == low))
    if low >= 0.0:  # a scale: log-uniform over five decades, and 0 where allowed
        scaled = st.floats(-4.0, 1.0).map(lambda e: max(low, 0.0) + 10.0**e)
        return scaled if c.low_open or not ends else scaled | st.just(float(low))
    return st.floats(low, high if high is not None else 10.0)


def numeric(constraint: Any, d: int, ends: bool = True) -> st.SearchStrategy:
    """A strategy for one non-finite hyperparameter of a learner in dimension d; ``ends``:
    the closed ends of intervals too (see :func:`configuration`)."""
    if isinstance(constraint, Real):
        return _real(constraint, ends)
    if isinstance(constraint, Integer):
        low = constraint.low if constraint.low is not None else 0
        return st.integers(low, constraint.high if constraint.high is not None else low + 4)
    if isinstance(constraint, RealVector):
        low = (constraint.low or 0.0) + (1e-2 if constraint.low_open else 0.0)
        item = st.floats(low, low + 4.0)
        return item | st.lists(item, min_size=d, max_size=d)
    if isinstance(constraint, Preconditioner):
        diagonal = st.lists(st.floats(0.2, 4.0), min_size=d, max_size=d)
        full = st.integers(0, 2**32 - 1).map(lambda s: _spd(d, s))
        return diagonal | full
    raise UncoveredError(f"no strategy for the constraint {constraint!r}")


def _spd(d: int, seed: int) -> list[list[float]]:
    B = np.random.default_rng(seed).normal(size=(d, d))
    return (B @ B.T / d + 0.2 * np.eye(d)).tolist()


@st.composite
def configuration(draw: Any, cls: type, combo: dict[str, Any], d: int,
                  ends: bool = True, optional: bool = True) -> dict[str, Any]:
    """The finite choices ``combo`` with every other hyperparameter drawn; optional ones
    (default None) are left unset or drawn. ``ends = False`` keeps decays and epsilons off
    0: at ``beta2 = eps = 0`` Adam's step is ``m_t / |g_t|``, a map whose sensitivity to
    a rounding difference grows without bound over a run (the engines then agree step by
    step, not over a long run: tested at short horizons with ``ends = True``).
    ``optional = False`` draws the optional ones too (some choices need them: a step
    rule's distance parameter on an unbounded domain)."""
    params = dict(combo)
    for h in hyperparameters(cls):
        if h.name in params or discrete(h.constraint) is not None:
            continue
        strategy = numeric(h.constraint, d, ends)
        if h.default is None and optional:
            strategy = st.none() | strategy
        value = draw(strategy)
        if value is not None:
            params[h.name] = value
    return params


def configurations(draw: Any, cls: type, domain: str, d: int, ends: bool = True,
                   label: str = "") -> dict[str, dict[str, Any]]:
    """One drawn configuration per combination of the class's finite choices that builds
    on ``domain`` (drawn again with every optional parameter set where the first draw
    does not build), keyed ``c0, c1, ...``."""
    found = {}
    for i, combo in enumerate(combinations(cls) or [{}]):
        for optional in (True, False):
            params = draw(configuration(cls, combo, d, ends, optional), label=f"{label}#{i}")
            if build(cls, params, domain, d, (2, 2)) is not None:
                found[f"c{i}"] = {"kind": cls.name, **params}
                break
    return found


def build(cls: type, params: dict[str, Any], domain: str, d: int,
          shape: tuple[int, int] | None = None) -> Any | None:
    """The learner, or None where its own validation refuses the combination (a choice
    that needs a parameter, eps0 = 0 on a bounded domain, ...)."""
    extra = {"shape": shape} if cls.matrix else {}
    try:
        return cls(domain=make_domain(**DOMAINS[domain]), **params, **extra)
    except ParameterError:
        return None


def allowed_domains(cls: type) -> list[str]:
    """The domain kinds the class's default configuration declares."""
    for combo in combinations(cls) or [{}]:
        for domain in DOMAINS:
            learner = build(cls, defaults(cls, combo), domain, 4, (2, 2))
            if learner is not None:
                return [k for k in DOMAINS if k in learner.allowed_domains]
    return []


def defaults(cls: type, combo: dict[str, Any]) -> dict[str, Any]:
    """``combo`` with a value for every required hyperparameter (no default)."""
    params = dict(combo)
    for h in hyperparameters(cls):
        if h.name not in params and h.default is None and isinstance(h.constraint,
                                                                     Preconditioner):
            params[h.name] = [1.0, 2.0, 0.5, 3.0]
    return params


def finite_or_none(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isfinite(x))
