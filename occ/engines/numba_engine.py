"""The compiled (numba) engine for pass 2 of oblivious linear runs.

It runs a learner batch when (:func:`supported`): numba is installed, the arrays are
NumPy's, the adversary is oblivious with linear losses on a ball or a box, and the
learner's *exact class* declares a compiled step (``kernel_step``, see
:class:`occ.learners.facts.LearnerFacts`: a subclass that changes ``update`` runs on the
reference path unless it declares its own). The kernels call the very step functions
the reference ``update`` calls (:mod:`occ.engines.numba_kernels`); every flag and
schedule of the declared learners is covered, both projections, and the bound
ingredients of :class:`occ.recorder.Recorder` with the optional ``coordinates`` and
``constant_preconditioner`` statistics. One fused pass per step and repetition computes
the loss, the step, its projection and the running sums and maxima of the recorder;
repetitions are split across cores with ``prange`` (each row is independent, so the
numbers do not depend on the thread count or on the other rows). A scenario with
``bounds = []`` runs the fused regret-only kernel instead, split into (repetition,
coordinate block) tasks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from occ.batches import LearnerBatch, tile_rows
from occ.engines import numba_kernels
from occ.engines.numba_kernels import AVAILABLE, SNAPSHOT_SCALARS
from occ.learners.base import per_row
from occ.learners.facts import LearnerFacts
from occ.roundoff import PROJECTION_ULPS, gamma
from occ.statistics import Recording, Statistics

if AVAILABLE:
    import numba  # its thread count: set through this module, read by the regret kernel

    from occ.engines.numba_kernels import running_sums  # noqa: F401  (pass 1's sums)

BLOCK = 512
"""Coordinates per block of the regret-only kernel on a box (a row's last block may be
shorter). Each block costs about 85 ns a step beyond its coordinates' work (its row
scalars, four reductions, the loop's set-up): 3 extra blocks a step were 0.26 s of 2.2 s at
R x d = 100 x 1000 with 256; 512 still splits a repetition of d > 512 over two cores."""
KERNEL_RECORDING = Recording(regret_only=True, coordinates=True, constant_preconditioner=True)
"""The optional statistics the kernels record (everything else: the reference path)."""


def blocks(d: int, separable: bool) -> np.ndarray:
    """Block boundaries ``[0, b_1, ..., d]`` of the regret-only kernel: :data:`BLOCK`
    coordinates each where the coordinates are independent (``separable``: a box), one
    block otherwise. They depend on ``d`` alone, never on the batch or the threads."""
    if not separable:
        return np.array([0, d], dtype=np.uint64)
    return np.unique(np.append(np.arange(0, d, BLOCK, dtype=np.uint64), np.uint64(d)))


def task_groups(blocks: int, R: int, threads: int) -> np.ndarray:
    """Block boundaries of the regret-only kernel's tasks: every block of a row in one task
    where the rows alone keep ``threads`` busy (the task then reads its row of the chunk in
    address order: 1.35x faster at R x d = 100 x 1000 than a task per block, whose reads
    jump a row of d coordinates every BLOCK of them), else each row's blocks split into
    enough groups for every thread. The numbers do not depend on it: each block's partial
    sums are the same loop over the same coordinates whichever task runs them."""
    count = min(blocks, max(1, -(-threads // max(R, 1))))
    return np.unique(np.linspace(0, blocks, count + 1).round().astype(np.int64))


def supported(learner: Any, facts: LearnerFacts, adversary: Any, domain: Any, family: Any,
              recording: Recording, xp: Any, keep_trajectories: bool) -> tuple[bool, str]:
    """``(True, "")`` where this engine can run the learner batch, else ``(False, why)``."""
    if not AVAILABLE:
        return False, "numba is not installed (pip install numba): the reference path ran it"
    if xp is not np:
        return False, "it runs NumPy arrays only"
    if keep_trajectories:
        return False, "it does not keep trajectories"
    if not adversary.oblivious or family.name != "linear":
        return False, "it takes oblivious linear losses only"
    if domain.name not in ("ball", "box"):
        return False, "it takes a ball or a box only"
    if not facts.kernel:
        return False, (f"learner {learner.name!r} of class {type(learner).__name__} "
                       "declares no compiled step")
    if learner.needs_hindsight:
        return False, "a hindsight step size is resolved after pass 1"
    if (recording | KERNEL_RECORDING) != KERNEL_RECORDING or (
            recording.constant_preconditioner and facts.geometry != "scalar"):
        return False, "its bounds need statistics the kernel does not record"
    return True, ""


def staggered_zeros(R: int, d: int, count: int) -> list[np.ndarray]:
    """``count`` zero (R, d) arrays in one 64-byte aligned buffer, array k starting
    ``k * 4096/count`` bytes (mod 4096) after array 0.

    The kernels stream the same row of every state array in one loop. Arrays that happen
    to start at nearby addresses modulo 4096 make loads look dependent on recent stores to
    another array (4K aliasing): measured here, a 15-25x slowdown of the regret kernel at
    R x d = 100 x 1000 for some allocations and not others. Spreading the starts over the
    page makes the speed independent of where the allocator put them."""
    size = R * d
    spacing = (4096 // count) // 64 * 64
    stride = size + (spacing - size * 8) % 4096 // 8  # elements between array starts
    buffer = np.zeros(stride * count + 8)
    start = (-buffer.ctypes.data % 64) // 8
    return [buffer[start + k * stride: start + k * stride + size].reshape(R, d)
            for k in range(count)]


def _per_row_matrix(values: tuple[Any, ...], R: int) -> np.ndarray:
    """The learner's per-row hyperparameters as an (R, k) array (the kernels' ``hyper``)."""
    out = np.zeros((R, max(len(values), 1)))
    for j, value in enumerate(values):
        out[:, j] = per_row(value, R, np)
    return out


class NumbaStepper:
    """Pass 2 of one learner batch through the compiled kernel; the same interface and the
    same :class:`Statistics` as ``LearnerStepper`` + ``Recorder`` on the reference path."""

    engine = "numba"

    def __init__(self, batch: LearnerBatch, domain: Any, checkpoints: np.ndarray, U: np.ndarray,
                 comparator_loss: np.ndarray, w1: np.ndarray, facts: LearnerFacts,
                 recording: Recording, T: int, comparator_error: np.ndarray | None = None,
                 iterate_sums: bool = True, direction: np.ndarray | None = None) -> None:
        """``iterate_sums``, ``direction``: what a regret-only run keeps of the iterate
        sums (:func:`occ.statistics.iterate_needs`): the whole ``sum_s w_s``; or its first
        coordinate only, with ``sum_s m^T w_s`` where ``direction`` = m is given. A run
        recording every bound keeps the whole sum."""
        learner = batch.learner
        self.batch, self.learner, self.facts, self.T = batch, learner, facts, T
        R, d = w1.shape
        K = U.shape[1]
        self.checkpoints = np.asarray(checkpoints, dtype=np.int64)
        self.U = np.ascontiguousarray(U, dtype=np.float64)
        self.comparator_loss = comparator_loss
        self.comparator_error = comparator_error
        self.w1 = w1.copy()
        z = lambda *s: np.zeros(s)  # noqa: E731
        rows = staggered_zeros(R, d, 9)
        self.w, self.acc1, self.acc2, self.acc3, self.isum, self.csq = rows[:6]
        self.p, self.p_prev, self.outside = rows[6:]  # outside: the regret kernel's scratch
        self.w[...] = w1
        self.has_prev = np.zeros(R, dtype=np.int64)
        self.cum, self.S, self.L, self.f21 = z(R), z(R), z(R), z(R)
        self.D2, self.eq8, self.eq10 = z(R, K), z(R, K), z(R, K)
        self.grad, self.gmin, self.gchg = z(R), np.full(R, np.inf), z(R)
        self.delta, self.DA2 = z(R, K, d), z(R, K)
        self.diverged = np.zeros(R, dtype=np.int64)
        self.cause = np.zeros(R, dtype=np.int64)
        self.snap_scalar, self.snap_vector = z(R, K, SNAPSHOT_SCALARS), z(R, K, 2, d)
        self.magnitudes = z(R, 6)
        self.recording = recording
        self.regret_only = recording.regret_only
        self.md = facts.euclidean and not self.regret_only
        arguments = learner.step_arguments(d)
        step = type(learner).kernel_step
        self.kind = numba_kernels.step_index(step)
        self.step_flags = tuple(int(f) for f in arguments.flags) + (0,) * (
            numba_kernels.FLAG_SLOTS - len(arguments.flags))
        self.hyper = _per_row_matrix(arguments.hyper, R)
        for target, start in zip((self.acc1, self.acc2, self.acc3), arguments.accumulators,
                                 strict=True):
            target += per_row(start, R, np)[:, None]
        self.scal = per_row(arguments.row_state, R, np).copy()
        self.c_scale = (np.ones(d) if arguments.scale is None
                        else np.ascontiguousarray(arguments.scale, dtype=np.float64))
        self.needs_norm = arguments.needs_row_norm
        self.spherical = facts.geometry == "scalar" or learner.projection == "euclidean"
        self.record_flags = np.array([int(self.md), int(recording.coordinates),
                                      int(recording.constant_preconditioner),
                                      int(self.spherical), int(not self.regret_only)],
                                     dtype=np.int64)
        slack = gamma(d + PROJECTION_ULPS)
        if domain.name == "box":
            lo, hi = domain._bounds(d)
            self.geometry = (np.ascontiguousarray(lo), np.ascontiguousarray(hi), np.zeros(d),
                             0.0, True)
            pad = slack * np.maximum(np.abs(lo), np.abs(hi))
            self.inside = (lo - pad, hi + pad, np.inf)
        else:
            centre = np.broadcast_to(np.asarray(domain.centre, dtype=float), (d,)).copy()
            self.geometry = (np.full(d, -np.inf), np.full(d, np.inf), centre,
                             float(domain.radius), False)
            self.inside = (np.full(d, -np.inf), np.full(d, np.inf),
                           float(domain.radius) + slack * (float(domain.radius)
                                                           + float(np.linalg.norm(centre))))
        if self.regret_only:  # the fused regret-only kernel
            self.bounds = blocks(d, domain.name == "box" and not self.needs_norm)
            self.diverged_block = np.zeros((R, len(self.bounds) - 1), dtype=np.int64)
            self.keep_sums = iterate_sums
            self.direction = (None if iterate_sums or direction is None
                              else np.ascontiguousarray(direction, dtype=np.float64))
            self.snap_first = z(R, K)
            self.iterate_snapshots = z(R, K, d if iterate_sums else 1)
            self.first_sum, self.along_sum = z(R), z(R)
            self.snap_along = None if self.direction is None else z(R, K)
            lo, hi, centre, radius, box = self.geometry
            if box:  # neither a centre nor a precision store; a uniform box as two numbers
                uniform = bool(np.all(lo == lo[0]) and np.all(hi == hi[0]))
                self.advance_geometry = ((float(lo[0]), float(hi[0])) if uniform else (lo, hi)
                                         ) + (None, radius)
                self.advance_precision = None
            else:
                self.advance_geometry = (lo, hi, centre, radius)
                self.advance_precision = self.p

    def set_comparators(self, U: np.ndarray, comparator_loss: np.ndarray,
                        comparator_error: np.ndarray | None = None) -> None:
        """The comparators, known only after a single-pass (regret-only) run."""
        self.U = np.ascontiguousarray(U, dtype=np.float64)
        self.comparator_loss = comparator_loss
        self.comparator_error = comparator_error

    def chunk(self, t0: int, data: np.ndarray) -> None:
        # repetition-major (R, n, d): free where the adversary drew each repetition's
        # stream into its own contiguous block (stack_streams), a copy otherwise
        G = np.ascontiguousarray(tile_rows(data, self.batch.grid).transpose(1, 0, 2),
                                 dtype=np.float64)
        n = G.shape[1]
        steps = np.arange(t0, t0 + n)
        k0 = np.searchsorted(self.checkpoints, steps, side="left").astype(np.int64)
        schedule = np.asarray(self.learner.schedule_values(steps), dtype=np.float64)
        lo, hi, centre, radius, box = self.geometry
        if self.regret_only:
            shape = (n, G.shape[0], len(self.bounds) - 1)
            part_loss, part_gg = np.empty(shape), np.empty(shape)
            part_along = None if self.direction is None else np.empty(shape)
            along = (None, None) if part_along is None else (self.along_sum, self.snap_along)
            numba_kernels.advance(self.kind, self.step_flags, self.needs_norm,
                                  self.spherical,
                                  G, t0, schedule, self.hyper, self.c_scale, self.w, self.acc1,
                                  self.acc2, self.acc3, self.scal, self.bounds,
                                  task_groups(len(self.bounds) - 1, G.shape[0],
                                              numba.get_num_threads()), *self.advance_geometry,
                                  part_loss, part_gg, self.isum if self.keep_sums else None,
                                  k0, self.checkpoints, self.diverged_block, self.snap_first,
                                  self.iterate_snapshots, self.advance_precision, self.outside,
                                  self.direction, part_along, self.first_sum)
            numba_kernels.combine(part_loss, part_gg, t0, k0, self.checkpoints, self.cum,
                                  self.S, self.L, self.f21, self.snap_scalar, self.diverged,
                                  part_along, *along)
            return
        inside_lo, inside_hi, inside_radius = self.inside
        numba_kernels.run_chunk(
            self.kind, self.step_flags, self.record_flags, G, t0, schedule,
            self.hyper,
            self.c_scale, self.w, self.acc1, self.acc2, self.acc3, self.scal, self.p,
            self.p_prev, self.has_prev, lo, hi, centre, radius, box, inside_lo, inside_hi,
            inside_radius, self.U, self.checkpoints, k0, self.cum, self.S, self.L, self.f21,
            self.isum, self.D2, self.eq8, self.eq10, self.grad, self.gmin, self.gchg,
            self.csq, self.delta, self.DA2, self.diverged, self.cause, self.snap_scalar,
            self.snap_vector, self.magnitudes)

    def statistics(self, T: int) -> Statistics:
        """Everything recorded, in :class:`Statistics` (overflow of a diverged repetition's
        numbers is not an error: it is marked diverged)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._statistics(T)

    def _statistics(self, T: int) -> Statistics:
        s, v = self.snap_scalar, self.snap_vector
        iterate_sum, along = v[:, :, 0, :].copy(), None
        if self.regret_only:  # the fused kernel's outputs in the general layout
            s[:, :, 4] = self.snap_first
            iterate_sum = self.iterate_snapshots.copy()  # (R, K, d) or (R, K, 1)
            along = None if self.snap_along is None else self.snap_along.copy()
            blocked = np.where(self.diverged_block > 0, self.diverged_block, T + 1).min(axis=1)
            loss = np.where(self.diverged > 0, self.diverged, T + 1)  # from combine()
            first = np.minimum(blocked, loss)
            self.cause = np.where(first > T, 0, np.where(blocked <= loss, 1, 2))
            self.diverged = np.where(first <= T, first, 0)
        md = self.md
        rec = self.recording
        coords, const = rec.coordinates, rec.constant_preconditioner
        D1 = np.linalg.norm(self.w1[:, None, :] - self.U, axis=-1)
        d = self.w1.shape[1]
        u_norm2 = np.sum(self.U * self.U, axis=-1)
        magnitudes: dict[str, Any] = {}
        if not self.regret_only:
            magnitudes = dict(loss_magnitude=s[:, :, 10].copy(),
                              iterate_norm_max=s[:, :, 11].copy(),
                              comparator_norm=np.sqrt(u_norm2),
                              comparator_error=self.comparator_error)
        if md:
            eq8 = s[:, :, 12] + s[:, :, 13] * u_norm2
            magnitudes |= dict(eq8_magnitude=eq8,
                               eq10_magnitude=eq8 + s[:, :, 14] + s[:, :, 15] * u_norm2)
        ogd = self.facts.geometry == "scalar"
        return Statistics(
            t=self.checkpoints, T=T, d=d, cumulative_loss=s[:, :, 0].copy(),
            comparator_loss=np.asarray(self.comparator_loss), S=s[:, :, 1].copy(),
            L=s[:, :, 2].copy(), D=np.sqrt(self.D2), D1=D1, fact21_scalar=s[:, :, 3].copy(),
            iterate_0=s[:, :, 4].copy(), iterate_sum=iterate_sum, iterate_sum_along=along,
            diverged_at=self.diverged.copy(), diverged_cause=self.cause.copy(),
            eq8_first=self.eq8.copy() if md else None,
            eq10_first=self.eq10.copy() if md else None,
            gradient_term=s[:, :, 5].copy() if md else None,
            trace_P=(s[:, :, 9] * d if ogd else s[:, :, 6].copy()) if md else None,
            gamma_min=s[:, :, 7].copy() if md else None,
            monotone_slack=s[:, :, 7].copy() if md else None,  # exact: no decomposition
            gamma_change=s[:, :, 8].copy() if md else None,
            coordinate_squares=v[:, :, 1, :].copy() if coords else None,
            delta=self.delta.copy() if coords else None,
            Dinf=self.delta.max(axis=-1) if coords else None,
            delta1=np.abs(self.w1[:, None, :] - self.U) if coords else None,
            DA2=self.DA2.copy() if const else None,
            D1A2=D1**2 if const else None,
            A_largest=np.ones(self.w1.shape[0]) if const else None,  # A = I (OGD)
            inverse_eta=s[:, :, 9].copy() if const else None,
            **magnitudes,
        )

    recorder = None
    track = None
