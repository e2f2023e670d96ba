"""Sizes before a run starts: how much memory and time a run would take, against this
machine's physical memory and a configurable threshold.

The estimates are deliberately rough upper bounds (the recorder's per-checkpoint arrays,
each learner's state, full d x d matrices where a learner or bound needs them, the loss
chunks and the tidy tables); they exist to refuse, in one line and before anything is
allocated, a run that cannot fit (``d = 2**70``, ``seeds = 1e9``) and to ask for
``--allow-large`` before one that would take hours (``T = 1e12``).

* A run whose estimated memory exceeds the physical memory is refused, always.
* A run estimated above :func:`thresholds` (default: half the physical memory, or one
  hour of computing; environment ``OCC_LARGE_GIB``, ``OCC_LARGE_SECONDS``) needs
  ``--allow-large``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from occ.errors import OccError

MAX_T = 2**53
"""The largest horizon occ accepts (t is counted exactly in float64)."""
MAX_COUNT = 10**9
"""The largest d, seeds, checkpoints or chunk a file may give (memory refuses far less)."""
CHUNK_BYTES = 3 * 8 * 2**22
"""Loss data in flight: a chunk of at most 2**22 floats, about three copies."""
STEP_SECONDS = 4e-5
"""Interpreter overhead per step and learner on the reference path (pessimistic)."""
FLOPS = 2e8
"""Arithmetic per second assumed for the per-row work (pessimistic)."""


class TooLargeError(OccError):
    """A run too large for this machine, or above the threshold without --allow-large."""


def physical_memory() -> int:
    """Bytes of physical memory (``os.sysconf``); 0 when unknown."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def thresholds() -> tuple[float, float]:
    """(bytes, seconds) above which a run needs --allow-large."""
    physical = physical_memory() or 16 * 2**30
    try:
        gib = float(os.environ.get("OCC_LARGE_GIB", physical / 2 / 2**30))
        seconds = float(os.environ.get("OCC_LARGE_SECONDS", 3600))
    except ValueError:
        raise OccError("OCC_LARGE_GIB and OCC_LARGE_SECONDS must be numbers") from None
    return gib * 2**30, seconds


def gib(n: float) -> str:
    """A byte count for a message: ``3.2 GiB``, ``12 MiB``, ``4.1e+12 GiB``."""
    if n >= 1e6 * 2**30:
        return f"{n / 2**30:.2g} GiB"
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{max(n, 0) / 2**20:.0f} MiB"


def duration(seconds: float) -> str:
    if seconds >= 365 * 86400:
        return f"{seconds / (365 * 86400):.2g} years"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s"


@dataclass(frozen=True)
class Estimate:
    """What a run would need: bytes at its peak and seconds of computing."""

    bytes: float
    seconds: float


def _learner_cost(learner: Any, d: int) -> tuple[float, float]:
    """(floats of state per row, arithmetic per row and step) from the declaration."""
    try:
        facts = learner.facts(d)
        geometry, state = facts.geometry, float(facts.state_floats)
    except Exception:  # a user's learner without facts: assume a diagonal method
        geometry, state = "diagonal", 2.0 * d
    if geometry == "full":
        return state + 4.0 * d * d, 10.0 * float(d) ** 3
    if geometry == "kronecker":
        return state + 4.0 * d, 20.0 * float(d) ** 1.5
    return state + 2.0 * d, 20.0 * d


def estimate(d: int, T: int, seeds: int, checkpoints: int,
             learners: list[tuple[Any, int]], full_bounds: bool = True) -> Estimate:
    """The estimate of a run of ``learners`` (configured learner, grid points) in dimension
    ``d`` over ``T`` steps with ``seeds`` repetitions and about ``checkpoints`` checkpoints.
    Python floats throughout: any size gives a number, never an overflow."""
    d, T, seeds = float(d), float(T), float(seeds)
    K = float(min(checkpoints, T)) + 2.0
    total = 8.0 * 4 * float(checkpoints) + CHUNK_BYTES
    seconds = 0.0
    for learner, grid in learners:
        rows = seeds * max(grid, 1)
        state, work = _learner_cost(learner, int(min(d, 2**62)))
        recorded = d * (K + 8.0)  # comparators at every checkpoint, running sums
        if full_bounds:
            recorded += 2.0 * d * d if d <= 4096 else 0.0  # outer-product sums
        table = K * 300.0  # metrics, bounds and facts rows per checkpoint
        total += 8.0 * rows * (state + recorded + table)
        seconds += 2.0 * T * (STEP_SECONDS + rows * work / FLOPS)
    return Estimate(total, seconds)


def check(what: str, est: Estimate, allow_large: bool) -> None:
    """Refuse a run that cannot fit in memory, or that is above the threshold without
    ``allow_large``, in one line naming ``what`` and the sizes."""
    physical = physical_memory()
    if physical and est.bytes > physical:
        raise TooLargeError(f"{what}: would need about {gib(est.bytes)} of memory; this "
                            f"machine has {gib(physical)}")
    limit_bytes, limit_seconds = thresholds()
    if allow_large:
        return
    if est.bytes > limit_bytes:
        raise TooLargeError(f"{what}: would need about {gib(est.bytes)} of memory (above "
                            f"{gib(limit_bytes)}, OCC_LARGE_GIB); pass --allow-large to run it")
    if est.seconds > limit_seconds:
        raise TooLargeError(f"{what}: would take about {duration(est.seconds)} (above "
                            f"{duration(limit_seconds)}, OCC_LARGE_SECONDS); pass "
                            "--allow-large to run it")


def scenario_estimate(sc: Any, T: int | None = None, seeds: int | None = None) -> Estimate:
    """The estimate of a :class:`~occ.scenarios.Scenario` (optionally at another size)."""
    from occ.batches import grid_parameters

    learners = []
    for spec in sc.learners:
        grid = math.prod(len(spec.params[k]) for k in grid_parameters(spec.kind, spec.params))
        learners.append((getattr(spec, "learner", None) or _configured(sc, spec), grid))
    return estimate(sc.d, T or sc.T, seeds or sc.seeds, sc.checkpoints, learners,
                    full_bounds=sc.bounds != ())


def _configured(sc: Any, spec: Any) -> Any:
    import numpy as np

    from occ.batches import expand_learner

    return expand_learner(spec.label, spec.kind, spec.params, sc.domain, np.arange(1),
                          sc.shape).learner
