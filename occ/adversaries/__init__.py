"""Registry of adversaries: one module per family, registered here by name."""

from __future__ import annotations

from typing import Any

from occ.adversaries.base import Adversary, LinearLoss, LossFamily, QuadraticLoss
from occ.adversaries.experts import ExpertsAdaptive, ExpertsDrift, ExpertsRandom
from occ.adversaries.linear import (
    LinearAdaptive,
    LinearBernoulli,
    LinearDrift,
    LinearGaussian,
    LinearPeriodic,
    LinearSparse,
)
from occ.adversaries.matrix import MatrixLeastSquares, MatrixLinear
from occ.adversaries.policy import LinearPolicy
from occ.adversaries.portfolio import Portfolio
from occ.adversaries.quadratic import Quadratic
from occ.adversaries.rademacher import Rademacher
from occ.adversaries.sequence import LinearSequence
from occ.adversaries.stochastic import LeastSquares
from occ.errors import UnknownNameError
from occ.params import build

ADVERSARIES: dict[str, type] = {
    cls.name: cls
    for cls in (LinearGaussian, LinearSparse, LinearDrift, LinearAdaptive, LinearPeriodic,
                LinearBernoulli, Quadratic, ExpertsRandom, ExpertsDrift, ExpertsAdaptive,
                Rademacher, Portfolio, LeastSquares, MatrixLinear, MatrixLeastSquares,
                LinearSequence, LinearPolicy)
}


def make_adversary(kind: str, **params: Any) -> Adversary:
    """An adversary by registered name with its parameters validated."""
    if kind not in ADVERSARIES:
        raise UnknownNameError(f"unknown adversary {kind!r}; allowed: {', '.join(ADVERSARIES)}")
    return build(ADVERSARIES[kind], params)


__all__ = [
    "ADVERSARIES", "Adversary", "LinearLoss", "LossFamily", "QuadraticLoss", "make_adversary",
]
