"""Registry of learners: one module per family, registered here by its short name.

``make_learner("ogd", eta=0.1, domain=Ball(1.0))`` validates the hyperparameters and
returns the learner; ``learner.init(w1)`` and ``learner.update(state, g)`` then run on
arrays with a leading repetition axis.
"""

from __future__ import annotations

from typing import Any

from occ.errors import UnknownNameError
from occ.learners.adafactor import Adafactor
from occ.learners.adagrad import AdagradDiagonal, AdagradFull
from occ.learners.adahedge import AdaHedge
from occ.learners.adam import Adam, AdamW, AMSGrad, RMSProp
from occ.learners.adam_mini import AdamMini
from occ.learners.adam_nmf import AdamNMF
from occ.learners.adopt import Adopt
from occ.learners.baselines import BuyAndHold, UniformCRP
from occ.learners.cocob import COCOB
from occ.learners.dog import DoG
from occ.learners.dowg import DoWG
from occ.learners.eg import EG
from occ.learners.fixed import AdagradOracle, FixedPreconditioner
from occ.learners.ftrl import FTRL
from occ.learners.kt import KT
from occ.learners.lion import Lion
from occ.learners.muon import Muon
from occ.learners.ogd import OGD
from occ.learners.ons import ONS
from occ.learners.optimistic import OptimisticOGD
from occ.learners.prodigy import Prodigy
from occ.learners.schedule_free import ScheduleFree
from occ.learners.shampoo import Shampoo
from occ.learners.soap import Soap
from occ.learners.universal import UniversalPortfolio
from occ.params import build

LEARNERS: dict[str, type] = {
    cls.name: cls
    for cls in (OGD, AdagradDiagonal, AdagradFull, FixedPreconditioner, AdagradOracle,
                RMSProp, Adam, AMSGrad, AdamW, EG, Shampoo, Adafactor, AdamNMF, ONS,
                UniversalPortfolio, UniformCRP, BuyAndHold,
                # parameter-free and classical online learners
                KT, FTRL, OptimisticOGD, AdaHedge, COCOB, DoG, DoWG, Prodigy,
                # the optimizers people train with today
                Adopt, Lion, AdamMini, ScheduleFree, Muon, Soap)
}


def make_learner(name: str, **hyperparameters: Any) -> Any:
    """A learner by registered name (``ogd``, ...) with validated hyperparameters."""
    if name not in LEARNERS:
        raise UnknownNameError(f"unknown learner {name!r}; allowed: {', '.join(LEARNERS)}")
    return build(LEARNERS[name], hyperparameters, passed=("domain", "shape", "repetitions"))


__all__ = ["LEARNERS", "make_learner"]
