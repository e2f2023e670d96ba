"""The run loop: chunks of time, repetitions in the batch axis, two passes.

Pass 1 finds the comparator ``u_k = argmin_V sum_{t<=tau_k} l_t`` at every checkpoint
from the loss family's running sums: once for all learners when the adversary is
oblivious (the losses do not depend on the learner), or per learner when it is adaptive
(the learner is run, and the realized losses summed). Pass 2 runs every learner again,
deterministically, with the comparators known, and records regret and the bound
ingredients (:mod:`occ.recorder`). Hindsight ("oracle") learners get their step size
from pass 1's statistics.

Randomness: repetition k of a run with base seed s draws from
``SeedSequence(entropy=s, spawn_key=(k, stream))``, one generator per adversary stream,
so its numbers do not depend on how many repetitions run beside it nor on the chunk
size. All learners see the same loss data for a given repetition (common random
numbers); a grid of hyperparameters tiles each repetition's data over its grid points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.backend import to_device, to_host
from occ.batches import DEFAULT_CHUNK, LearnerBatch, chunk_length, tile_rows
from occ.blas_threads import single_threaded
from occ.bounds import recording_for
from occ.engines import numba_engine, scan_engine
from occ.errors import ParameterError
from occ.learners.facts import LearnerFacts
from occ.recorder import Recorder
from occ.roundoff import gamma, operations
from occ.statistics import Recording, Statistics, iterate_needs

ENGINES = ("auto", "reference", "numba")
__all__ = ["DEFAULT_CHUNK", "ENGINES", "LearnerOutcome", "chunk_length", "simulate"]


def log_checkpoints(T: int, count: int = 20) -> np.ndarray:
    """About ``count`` log-spaced integer checkpoints in [1, T], always including 1 and T."""
    points = np.round(np.logspace(0.0, np.log10(T), max(count, 2))).astype(np.int64)
    return np.unique(np.concatenate([[1], np.clip(points, 1, T), [T]]))


def repetition_generators(
    seed: int, repetitions: np.ndarray, streams: tuple[str, ...]
) -> list[dict[str, np.random.Generator]]:
    """One generator per (repetition, stream), independent of the batch composition."""
    return [
        {
            name: np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(int(k), i)))
            )
            for i, name in enumerate(streams)
        }
        for k in repetitions
    ]


@dataclass
class Hindsight:
    """Realized statistics of the whole run, for the hindsight learners (per row)."""

    T: int
    D1: np.ndarray  # (R,) ||w_1 - u_T||
    L: np.ndarray  # (R,) max ||g_t||
    S: np.ndarray  # (R,) sum ||g_t||^2
    coordinate_squares: np.ndarray  # (R, d) sum g_{t,i}^2
    delta1: np.ndarray  # (R, d) |w_1 - u_T|
    outer: np.ndarray | None = None  # (R, d, d) sum g g^T, where a learner needs it
    S_inf: np.ndarray | None = None  # (R,) sum ||g_t||_inf^2

    def tiled(self, grid: int) -> Hindsight:
        tile = lambda a: None if a is None else np.tile(a, (grid,) + (1,) * (a.ndim - 1))  # noqa: E731
        return Hindsight(self.T, tile(self.D1), tile(self.L), tile(self.S),
                         tile(self.coordinate_squares), tile(self.delta1), tile(self.outer),
                         tile(self.S_inf))


class ComparatorTrack:
    """Running loss statistics and the comparator at each checkpoint (pass 1)."""

    def __init__(self, family: Any, domain: Any, checkpoints: np.ndarray, R: int, d: int,
                 xp: ModuleType, outer: bool = False, hindsight: bool = True) -> None:
        self.family, self.domain, self.checkpoints, self.xp = family, domain, checkpoints, xp
        self.hindsight = hindsight  # S, L, squares, S_inf (outer): a hindsight learner's needs
        self.stats = family.stats_init(R, d, xp)
        self.d = d
        self.U: list[Any] = []
        self.values: list[np.ndarray] = []
        self.errors: list[np.ndarray] = []
        self.S = xp.zeros((R,), dtype=xp.float64)
        self.L = xp.zeros((R,), dtype=xp.float64)
        self.squares = xp.zeros((R, d), dtype=xp.float64)
        self.S_inf = xp.zeros((R,), dtype=xp.float64)
        self.outer = xp.zeros((R, d, d), dtype=xp.float64) if outer else None

    def add(self, t: int, params: Any, g: Any) -> None:
        xp = self.xp
        self.stats = self.family.stats_update(self.stats, params, xp)
        gg = xp.sum(g * g, axis=-1)
        self.S = self.S + gg
        self.L = xp.maximum(self.L, xp.sqrt(gg))
        self.squares = self.squares + g * g
        top = xp.max(xp.abs(g), axis=-1)
        self.S_inf = self.S_inf + top * top
        if self.outer is not None:
            self.outer = self.outer + g[:, :, None] * g[:, None, :]
        while len(self.U) < len(self.checkpoints) and self.checkpoints[len(self.U)] == t:
            self.record(t, self.stats)

    def record(self, t: int, stats: Any) -> None:
        """The comparator at checkpoint t, its loss, and the loss's rounding error bound."""
        xp = self.xp
        u, value = self.family.comparator(stats, self.domain, xp)
        magnitude = self.family.comparator_magnitude(stats, u, self.domain, xp)
        self.U.append(u)
        self.values.append(to_host(value))
        self.errors.append(gamma(operations(t, self.d)) * to_host(magnitude))

    def comparators(self) -> tuple[Any, np.ndarray, np.ndarray]:
        return (self.xp.stack(self.U, axis=1), np.stack(self.values, axis=1),
                np.stack(self.errors, axis=1))


class LearnerStepper:
    """Steps one learner batch against the adversary; optionally records or tracks."""

    engine = "reference"
    engine_reason = ""  # why not the compiled engine (set where a run chose)

    def __init__(self, batch: LearnerBatch, adversary: Any, family: Any, w1: Any,
                 xp: ModuleType) -> None:
        self.batch, self.adversary, self.family, self.xp = batch, adversary, family, xp
        self.state = batch.learner.init(w1, xp)
        self.recorder: Recorder | None = None
        self.track: ComparatorTrack | None = None

    def chunk(self, t0: int, data: np.ndarray) -> None:
        xp, learner, family = self.xp, self.batch.learner, self.family
        device = to_device(tile_rows(data, self.batch.grid), xp)
        recorder = self.recorder
        constant = recorder is not None and recorder.recording.constant_preconditioner
        magnitudes = recorder is not None and not recorder.regret_only
        shadow = getattr(learner, "shadow", None)  # a second sequence the learner reports
        for i in range(data.shape[0]):
            t = t0 + i
            w = self.state.w
            params = self.adversary.respond(device[i, ...], w, t, xp)
            g = family.gradient(params, w, xp)
            if recorder is not None and shadow is not None:
                recorder.observe_shadow(family.value(params, shadow(self.state), xp))
            w_next, self.state = learner.update(self.state, g, xp)
            if self.track is not None:
                self.track.add(t, params, g)
            if recorder is not None:
                recorder.observe(
                    t, w, family.value(params, w, xp), g, w_next, learner.geometry(self.state),
                    learner.preconditioner(self.state) if constant else None,
                    learner.inverse_step_size(self.state) if constant else None,
                    family.value_magnitude(params, w, xp) if magnitudes else None)


class DataTrack:
    """Pass 1 for an oblivious adversary: the loss data are the loss parameters.

    For linear losses the running sums are advanced a chunk at a time, seeded by the
    previous total: by ``cumsum`` for small R x d, else row by row into one buffer, or by
    the compiled :func:`occ.engines.numba_kernels.running_sums` (``compiled``): always the
    same sequential additions, so the same numbers whatever the chunk size or path; the
    comparators are formed at the checkpoints only.
    """

    def __init__(self, track: ComparatorTrack, xp: ModuleType, gradient_known: bool,
                 compiled: bool = False, magnitudes: bool = True) -> None:
        self.track, self.xp, self.gradient_known = track, xp, gradient_known
        self.compiled = compiled  # the running sums through numba (the same numbers)
        self.magnitudes = magnitudes  # sum_t ||g_t||, for the comparators' error bounds

    def chunk(self, t0: int, data: np.ndarray) -> None:
        if self.gradient_known and self.xp is np:
            return self._linear_chunk(t0, np.asarray(data, dtype=np.float64))
        device = to_device(data, self.xp)
        for i in range(data.shape[0]):
            params = device[i, ...]
            g = params if self.gradient_known else self.xp.zeros_like(self.track.squares)
            self.track.add(t0 + i, params, g)

    def _linear_chunk(self, t0: int, data: np.ndarray) -> None:
        track = self.track
        n = data.shape[0]
        G, norm_sum = track.stats

        def running(previous: np.ndarray, steps: np.ndarray) -> np.ndarray:
            return np.cumsum(np.concatenate([previous[None], steps]), axis=0)[1:]

        norms = None  # sum_t ||g_t||, for the comparators' error bounds (sequential sums)
        if self.magnitudes:
            norms = running(norm_sum, np.sqrt(np.sum(data * data, axis=-1)))

        if track.hindsight:  # the realized statistics a hindsight learner needs
            gg = np.sum(data * data, axis=-1)
            track.S = running(track.S, gg)[-1]
            track.L = np.maximum(track.L, np.max(np.sqrt(gg), axis=0))
            top = np.max(np.abs(data), axis=-1)
            track.S_inf = running(track.S_inf, top * top)[-1]
            track.squares = running(track.squares, data * data)[-1]
            if track.outer is not None:
                for i in range(n):
                    track.outer = track.outer + data[i][:, :, None] * data[i][:, None, :]
        ends = []  # (step index in the chunk, sum_{s<=t} g_s) at the checkpoints in it
        while (len(track.U) + len(ends) < len(track.checkpoints)
               and track.checkpoints[len(track.U) + len(ends)] < t0 + n):
            ends.append(int(track.checkpoints[len(track.U) + len(ends)]) - t0)
        if self.compiled and data[0].size >= 4096:  # rows in parallel, the same additions
            G = np.ascontiguousarray(G)
            out = np.empty((len(ends), *G.shape))
            numba_engine.running_sums(np.ascontiguousarray(data.transpose(1, 0, 2)), G,
                                      np.asarray(ends, dtype=np.int64), out)
            sums = list(out)
        elif data[0].size >= 4096:  # row by row into one buffer: no (n, R, d) temporary
            G = G.copy()
            sums = []
            for i in range(n):
                np.add(G, data[i], out=G)  # the same additions, in the same order, as cumsum
                if len(sums) < len(ends) and i == ends[len(sums)]:
                    sums.append(G.copy())
        else:
            cumulative = running(G, data)
            sums = [cumulative[i] for i in ends]
            G = cumulative[-1]
        zero = np.zeros(G.shape[0])
        for i, G_t in zip(ends, sums, strict=True):
            track.record(t0 + i, type(track.stats)(G_t, zero if norms is None else norms[i]))
        track.stats = type(track.stats)(G, zero if norms is None else norms[-1])


def drive(adversary: Any, rngs: list, T: int, d: int, chunk: int, consumers: list,
          progress: Callable[[int], None] | None = None) -> None:
    """Feed every consumer the adversary's data for steps 1..T, a chunk at a time.

    Floating-point overflow is not an error here: a diverging learner is recorded as
    diverged at the step its iterate stopped being finite (see :class:`Recorder`).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _drive(adversary, rngs, T, d, chunk, consumers, progress)


def _drive(adversary: Any, rngs: list, T: int, d: int, chunk: int, consumers: list,
           progress: Callable[[int], None] | None) -> None:
    for t0 in range(1, T + 1, chunk):
        t1 = min(t0 + chunk, T + 1)
        data = adversary.draw(rngs, t0, t1, d)
        for consumer in consumers:
            consumer.chunk(t0, data)
        if progress is not None:
            progress(t1 - t0)


@dataclass
class LearnerOutcome:
    """One learner batch's result: its statistics, its declaration, the engine that ran it."""

    batch: LearnerBatch
    statistics: Statistics
    facts: LearnerFacts
    trajectory: np.ndarray | None
    family: Any = None
    engine: str = "reference"
    engine_reason: str = ""  # why the reference path ran it, where it did


def simulate(
    *,
    bound_names: list[str] | None = None,
    adversary: Any,
    domain: Any,
    learners: list[LearnerBatch],
    d: int,
    T: int,
    seeds: np.ndarray,
    seed: int,
    checkpoints: np.ndarray,
    xp: ModuleType,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    keep_trajectories: bool = False,
    engine: str = "auto",
    start: np.ndarray | None = None,
) -> list[LearnerOutcome]:
    """Run every learner batch against the adversary; return their recorded statistics.

    ``start`` (d,) is every row's start point ``w_1`` (default: the domain's ``initial_point``).

    ``engine``: ``"reference"`` (the per-step path), ``"numba"`` (the compiled engine,
    an error where it cannot run a batch) or ``"auto"`` (numba where it can, the
    reference path elsewhere and wherever numba is not installed)."""
    for b in learners:
        b.learner = b.learner.for_horizon(T)
    # small matrices decomposed step by step: one BLAS thread (occ.blas_threads; the same
    # numbers, only faster, and much faster on a busy machine)
    eigen_bound = xp is np and any(b.learner.facts(d).geometry in ("full", "kronecker")
                                   for b in learners)
    with single_threaded(eigen_bound):
        return _simulate(bound_names=bound_names, adversary=adversary, domain=domain,
                         learners=learners, d=d, T=T, seeds=seeds, seed=seed,
                         checkpoints=checkpoints, xp=xp, chunk=chunk, progress=progress,
                         keep_trajectories=keep_trajectories, engine=engine, start=start)


def _simulate(*, bound_names: list[str] | None, adversary: Any, domain: Any,
              learners: list[LearnerBatch], d: int, T: int, seeds: np.ndarray, seed: int,
              checkpoints: np.ndarray, xp: ModuleType, chunk: int,
              progress: Callable[[int], None] | None, keep_trajectories: bool,
              engine: str, start: np.ndarray | None) -> list[LearnerOutcome]:
    if engine not in ENGINES:
        raise ParameterError("engine", f"must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numba" and not numba_engine.AVAILABLE:
        raise ParameterError("engine", "numba is not installed (it is part of occ's base "
                             "install: pip install numba); use 'auto' or 'reference'")
    family = adversary.loss_family(d)
    rngs = repetition_generators(seed, seeds, adversary.streams)
    S = len(seeds)
    chunk = chunk_length(chunk, S * max(b.grid for b in learners), d)
    w1_host = np.broadcast_to(domain.initial_point(d) if start is None else start, (S, d))

    def w1(batch: LearnerBatch) -> Any:
        return to_device(tile_rows(w1_host[None], batch.grid)[0], xp)

    needs_hindsight = [b for b in learners if b.learner.needs_hindsight]
    if needs_hindsight and not (adversary.oblivious and family.name == "linear"):
        raise ParameterError(
            f"learners.{needs_hindsight[0].label}.step",
            "hindsight step sizes need an oblivious linear adversary (gradients known in advance)",
        )

    def pass2_stepper(b: LearnerBatch, U: Any, values: np.ndarray,
                      errors: np.ndarray | None) -> Any:
        facts = b.learner.facts(d)
        recording = recording_for(facts, bound_names)
        fast, reason = (False, "the reference engine was asked for") if engine == "reference" \
            else numba_engine.supported(b.learner, facts, adversary, domain, family, recording,
                                        xp, keep_trajectories)
        if engine == "numba" and not fast:
            raise ParameterError("engine", f"the numba engine cannot run learner {b.label!r}: "
                                 f"{reason}; use 'auto' or 'reference'")
        if fast:
            return numba_engine.NumbaStepper(b, domain, checkpoints, to_host(U), values,
                                             to_host(w1(b)), facts, recording, T, errors,
                                             **iterate_needs(adversary, d))
        if engine == "auto" and facts.chunked:  # a learner's own traceable step, scanned
            chunked, why = scan_engine.supported(b.learner, facts, adversary, domain, family,
                                                 recording, xp, keep_trajectories)
            if chunked:
                return scan_engine.ScanStepper(b, domain, checkpoints, to_host(U), values,
                                               to_host(w1(b)), T,
                                               **iterate_needs(adversary, d))
            reason = f"{reason}; {why}"
        stepper = LearnerStepper(b, adversary, family, w1(b), xp)
        stepper.engine_reason = reason
        stepper.recorder = Recorder(checkpoints, U, values, w1(b), facts, xp, recording,
                                    domain=domain, comparator_error=errors,
                                    keep_trajectory=keep_trajectories)
        return stepper

    # One pass where nothing recorded needs the comparators before the end: an oblivious
    # adversary, the regret alone (bounds = []), no hindsight learner, no KL geometry. The
    # comparators are then found beside the learners and used only at the end (half the
    # adversary's draws of two passes; the same numbers).
    regret_only = Recording(regret_only=True)
    single_pass = adversary.oblivious and not needs_hindsight and not keep_trajectories and all(
        recording_for(facts, bound_names) == regret_only and facts.geometry != "kl"
        for facts in (b.learner.facts(d) for b in learners))

    # Pass 1: comparators at every checkpoint.
    if adversary.oblivious:
        outer = any(getattr(b.learner, "needs_outer_products", False) for b in needs_hindsight)
        track = ComparatorTrack(family, domain, checkpoints, S, d, xp, outer=outer,
                                hindsight=bool(needs_hindsight))
        consumers: list[Any] = [DataTrack(track, xp, family.name == "linear",
                                          engine != "reference" and numba_engine.AVAILABLE,
                                          magnitudes=not single_pass)]
        steppers = []
        if single_pass:
            K = len(checkpoints)
            steppers = [pass2_stepper(b, xp.zeros((S * b.grid, K, d), dtype=xp.float64),
                                      np.zeros((S * b.grid, K)), None) for b in learners]
        drive(adversary, rngs, T, d, chunk, consumers + steppers,
              None if progress is None else (lambda n: progress(2 * n)) if single_pass
              else progress)
        U_shared, values_shared, errors_shared = track.comparators()
        U_host = to_host(U_shared)
        hindsight = Hindsight(
            T=T,
            D1=np.linalg.norm(w1_host - U_host[:, -1, :], axis=-1),
            L=to_host(track.L),
            S=to_host(track.S),
            coordinate_squares=to_host(track.squares),
            delta1=np.abs(w1_host - U_host[:, -1, :]),
            outer=to_host(track.outer) if outer else None,
            S_inf=to_host(track.S_inf),
        )
        comparators = {
            b.label: (to_device(tile_rows(U_host[None], b.grid)[0], xp),
                      tile_rows(values_shared[None], b.grid)[0],
                      tile_rows(errors_shared[None], b.grid)[0])
            for b in learners
        }
        for b in needs_hindsight:
            b.learner = b.learner.with_hindsight(hindsight.tiled(b.grid))
        for stepper, b in zip(steppers, learners, strict=False):
            target = stepper.recorder if stepper.recorder is not None else stepper
            target.set_comparators(*comparators[b.label])
    else:
        steppers = [LearnerStepper(b, adversary, family, w1(b), xp) for b in learners]
        for s, b in zip(steppers, learners, strict=True):
            s.track = ComparatorTrack(family, domain, checkpoints, S * b.grid, d, xp)
        drive(adversary, repetition_generators(seed, seeds, adversary.streams), T, d, chunk,
              steppers, progress)
        comparators = {b.label: s.track.comparators() for s, b in zip(steppers, learners,
                                                                         strict=True)}

    # Pass 2: record.
    if not single_pass:
        steppers = [pass2_stepper(b, *comparators[b.label]) for b in learners]
        drive(adversary, repetition_generators(seed, seeds, adversary.streams), T, d, chunk,
              steppers, progress)
    outcomes = []
    for stepper in steppers:
        rec = stepper.recorder
        facts = stepper.batch.learner.facts(d)
        if rec is None:  # the compiled engine
            outcomes.append(LearnerOutcome(stepper.batch, stepper.statistics(T), facts, None,
                                           family, stepper.engine))
        else:
            trajectory = np.stack(rec.trajectory, axis=0) if rec.trajectory else None
            outcomes.append(LearnerOutcome(stepper.batch, rec.statistics(T), facts,
                                           trajectory, family, stepper.engine,
                                           stepper.engine_reason))
        # what the loss family declares of itself (exp-concavity: ONS's, Cover's bounds)
        outcomes[-1].statistics.exp_concavity = getattr(family, "exp_concavity", None)
        outcomes[-1].statistics.loss = family.name
    return outcomes
