"""Learners for the sweep tests, registered on import (sweep workers import this module
through ``plugins``): one that fails, one that kills its worker once, and plain OGD on
the same (reference) engine."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

from occ.learners import LEARNERS
from occ.learners.ogd import OGD


@dataclasses.dataclass(frozen=True)
class FailingOGD(OGD):
    name = "failing_ogd"

    def update(self, state, g, xp=None):
        if state.count == 3:
            raise RuntimeError("this cell fails on purpose")
        return super().update(state, g, xp)


@dataclasses.dataclass(frozen=True)
class KilledOnceOGD(OGD):
    """Kills its own worker process the first time it runs (a marker file says so)."""

    name = "killed_once_ogd"

    def update(self, state, g, xp=None):
        marker = Path(os.environ["OCC_TEST_MARKER"])
        if state.count == 2 and not marker.exists():
            marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().update(state, g, xp)


@dataclasses.dataclass(frozen=True)
class PlainOGD(OGD):
    """OGD on the same (reference) engine as the learners above."""

    name = "plain_ogd"


for cls in (FailingOGD, KilledOnceOGD, PlainOGD):
    LEARNERS.setdefault(cls.name, cls)
