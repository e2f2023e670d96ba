"""Several adversaries of one family side by side, one per repetition row.

Worst-case search (:mod:`occ.search`) evaluates a generation of candidate adversaries as
one batched run: candidate ``k`` is repetition row ``k``. :func:`stack` builds the
batch from the candidates themselves (each validated as a scenario file's adversary
would be), so row ``k`` sees exactly the losses that candidate alone gives in ``occ run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.policy import LinearPolicy, policy_gradient


@dataclass(frozen=True)
class CandidateRows:
    """Oblivious candidates: row ``k``'s loss data are candidate ``k``'s own draw (with
    row ``k``'s generators), side by side on the repetition axis."""

    members: tuple

    @property
    def name(self) -> str:
        return self.members[0].name

    oblivious = True

    @property
    def streams(self) -> tuple[str, ...]:
        return self.members[0].streams

    def loss_family(self, d: int) -> Any:
        for member in self.members:
            member.loss_family(d)
        return self.members[0].loss_family(d)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> Any:
        if len(rngs) != len(self.members):
            raise ValueError(f"{len(self.members)} candidates need as many repetitions, "
                             f"got {len(rngs)}")
        return np.concatenate([m.draw([r], t0, t1, d) for m, r in
                               zip(self.members, rngs, strict=True)], axis=1)

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data


@dataclass(frozen=True)
class PolicyRows:
    """Candidate :class:`LinearPolicy` adversaries (one ``L``, norm and rule): row ``k``
    plays policy ``k`` through the same :func:`policy_gradient`."""

    members: tuple
    tables: dict = field(default_factory=dict, compare=False, repr=False)  # by d
    name = "linear_policy"
    oblivious = False
    streams = ()

    def loss_family(self, d: int) -> Any:
        for member in self.members:
            member.loss_family(d)
        return self.members[0].loss_family(d)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        index = np.arange(len(rngs), dtype=float)
        return np.broadcast_to(index[None, :, None], (t1 - t0, len(rngs), 1)).copy()

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        d = w.shape[-1]
        first = self.members[0]
        if d not in self.tables:
            self.tables[d] = (np.stack([m.arrays(d)[0] for m in self.members]),
                              np.stack([m.arrays(d)[1] for m in self.members]))
        A, b = self.tables[d]
        index = xp.astype(data[:, 0], xp.int64)
        return policy_gradient(xp.asarray(A), xp.asarray(b), index, w, first.L, first.norm,
                               first.rule, xp)


def stack(members: list) -> Any:
    """The candidates as one adversary whose row ``k`` is candidate ``k``."""
    members = tuple(members)
    if all(isinstance(m, LinearPolicy) for m in members):
        first = members[0]
        if any((m.L, m.norm, m.rule) != (first.L, first.norm, first.rule) for m in members):
            raise ValueError("stacked policies must share L, norm and rule")
        return PolicyRows(members)
    if not all(m.oblivious for m in members):
        raise ValueError("only oblivious adversaries or linear policies stack")
    return CandidateRows(members)
