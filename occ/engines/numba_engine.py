"""The compiled (numba) engine for pass 2 of oblivious linear runs.

Accepted: oblivious adversaries with linear losses on a ball or a box; learners ``ogd``
(every step rule), ``adagrad_diag`` (every scaling), ``rmsprop``, ``adam``, ``amsgrad``,
``adamw`` (every flag and schedule: the schedule is evaluated in Python per chunk); both
projections; the bound ingredients of :class:`occ.recorder.Recorder` with the optional
``coordinates`` and ``constant_A`` statistics; NumPy arrays. Everything else runs on the
reference path. One fused pass per step and repetition computes the loss, the learner's
step, its projection and the running sums and maxima of the recorder; repetitions are
split across cores with ``prange`` (each row is independent, so the numbers do not depend
on the thread count or on the other rows). A scenario with ``bounds = []`` runs the fused
regret-only kernel instead, split into (repetition, coordinate block) tasks. The kernels
themselves are in :mod:`occ.engines.numba_kernels`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import numba  # noqa: F401  (its thread count is set through this module)

    AVAILABLE = True
except ImportError:  # pragma: no cover - the reference path is used instead
    AVAILABLE = False

from occ.recorder import Statistics

KIND_OGD, KIND_ADAGRAD, KIND_ADAM = 0, 1, 2
FASTMATH = {"reassoc", "contract", "arcp"}
"""LLVM may reassociate sums, fuse multiply-adds and use reciprocals, so that the loops
vectorize (5x on this machine); infinities and NaNs keep their meaning (no nnan/ninf).
The results differ from the reference path by round-off only (tests: 1e-10 relative)."""
OGD_STEPS = {"constant": 0, "oracle23": 0, "oracle25": 0, "sqrt": 1, "adagrad_norm": 2}
SECULAR_TOLERANCE = 1e-15
SECULAR_MAX_ITERATIONS = 100
BLOCK = 256
"""Coordinates per task of the regret-only kernel on a box (a row's last block may be
shorter)."""


def blocks(d: int, separable: bool) -> np.ndarray:
    """Block boundaries ``[0, b_1, ..., d]`` of the regret-only kernel: :data:`BLOCK`
    coordinates each where the coordinates are independent (``separable``: a box), one
    block otherwise. They depend on ``d`` alone, never on the batch or the threads."""
    if not separable:
        return np.array([0, d], dtype=np.int64)
    return np.unique(np.append(np.arange(0, d, BLOCK, dtype=np.int64), d))


def supported(learner: Any, adversary: Any, domain: Any, family: Any, needs: frozenset,
              xp: Any, keep_trajectories: bool) -> bool:
    """Whether this engine can run the learner batch (else: the reference path)."""
    from occ.learners.adagrad import AdagradDiagonal
    from occ.learners.adam import Adam
    from occ.learners.ogd import OGD

    if not AVAILABLE or xp is not np or keep_trajectories:
        return False
    if not adversary.oblivious or family.name != "linear" or domain.name not in ("ball", "box"):
        return False
    if not needs <= {"coordinates", "constant_A", "regret_only"}:
        return False
    if type(learner) in (OGD, AdagradDiagonal) or isinstance(learner, Adam):
        return not learner.needs_hindsight
    return False


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


class NumbaStepper:
    """Pass 2 of one learner batch through the compiled kernel; the same interface and the
    same :class:`Statistics` as ``LearnerStepper`` + ``Recorder`` on the reference path."""

    def __init__(self, batch: Any, domain: Any, checkpoints: np.ndarray, U: np.ndarray,
                 comparator_loss: np.ndarray, w1: np.ndarray, info: dict, needs: frozenset,
                 T: int) -> None:
        from occ.learners.adagrad import AdagradDiagonal
        from occ.learners.adam import Adam
        from occ.learners.base import per_row

        learner = batch.learner
        self.batch, self.learner, self.info, self.T = batch, learner, info, T
        R, d = w1.shape
        K = U.shape[1]
        self.checkpoints = np.asarray(checkpoints, dtype=np.int64)
        self.U = np.ascontiguousarray(U, dtype=np.float64)
        self.comparator_loss = comparator_loss
        self.w1 = w1.copy()
        z = lambda *s: np.zeros(s)  # noqa: E731
        rows = staggered_zeros(R, d, 9)
        self.w, self.acc1, self.acc2, self.acc3, self.isum, self.csq = rows[:6]
        self.p, self.p_prev, self.outside = rows[6:]  # outside: the regret kernel's scratch
        self.w[...] = w1
        self.scal, self.has_prev = z(R), np.zeros(R, dtype=np.int64)
        self.cum, self.S, self.L, self.f21 = z(R), z(R), z(R), z(R)
        self.D2, self.eq8, self.eq10 = z(R, K), z(R, K), z(R, K)
        self.grad, self.gmin, self.gchg = z(R), np.full(R, np.inf), z(R)
        self.delta, self.DA2 = z(R, K, d), z(R, K)
        self.diverged = np.zeros(R, dtype=np.int64)
        self.snap_scalar, self.snap_vector = z(R, K, 10), z(R, K, 2, d)
        regret_only = "regret_only" in needs
        md = bool(info["mirror_descent"]) and not regret_only
        flags = np.zeros(10, dtype=np.int64)
        hyper = np.zeros((R, 6))
        self.c_scale = np.ones(d)
        if isinstance(learner, Adam):
            self.kind = KIND_ADAM
            flags[0] = int(learner.bias_correction)
            flags[1] = int(learner.eps_inside_sqrt)
            flags[2] = int(learner.amsgrad)
            flags[3] = int(learner.max_before_bias_correction)
            flags[4] = (1 if learner.decoupled else 2) if learner._decay_is_weight_decay() else 0
            for j, name in enumerate(("eta", "beta1", "beta2", "eps", "weight_decay")):
                hyper[:, j] = per_row(getattr(learner, name), R, np)
            self.acc2 += per_row(learner.v0, R, np)[:, None]
        elif isinstance(learner, AdagradDiagonal):
            self.kind = KIND_ADAGRAD
            hyper[:, 0] = per_row(learner.eta, R, np)
            hyper[:, 1] = per_row(learner.eps, R, np)
            self.acc1 += per_row(learner.eps0, R, np)[:, None]
            self.c_scale = np.asarray(learner.scale(d), dtype=np.float64)
        else:
            self.kind = KIND_OGD
            flags[0] = OGD_STEPS[learner.step]
            hyper[:, 0] = per_row(learner.eta, R, np)
            hyper[:, 1] = per_row(learner.c, R, np)
            if learner.step == "adagrad_norm":
                hyper[:, 2] = per_row(learner.distance_parameter(d), R, np)
            self.scal += per_row(learner.eps0, R, np)
        flags[5] = int(md)
        flags[6] = int("coordinates" in needs)
        flags[7] = int("constant_A" in needs)
        flags[8] = int(learner.projection == "euclidean")
        flags[9] = int(not regret_only)
        self.flags, self.hyper, self.needs, self.md = flags, hyper, needs, md
        if domain.name == "box":
            lo, hi = domain._bounds(d)
            self.geometry = (np.ascontiguousarray(lo), np.ascontiguousarray(hi), np.zeros(d),
                             0.0, True)
        else:
            centre = np.broadcast_to(np.asarray(domain.centre, dtype=float), (d,)).copy()
            self.geometry = (np.full(d, -np.inf), np.full(d, np.inf), centre,
                             float(domain.radius), False)
        self.regret_only = regret_only
        if regret_only:  # the fused regret-only kernel
            separable = domain.name == "box" and not (
                self.kind == KIND_OGD and flags[0] == OGD_STEPS["adagrad_norm"])
            self.bounds = blocks(d, separable)
            self.diverged_block = np.zeros((R, len(self.bounds) - 1), dtype=np.int64)
            self.snap_first, self.iterate_snapshots = z(R, K), z(R, K, d)

    def set_comparators(self, U: np.ndarray, comparator_loss: np.ndarray) -> None:
        """The comparators, known only after a single-pass (regret-only) run."""
        self.U = np.ascontiguousarray(U, dtype=np.float64)
        self.comparator_loss = comparator_loss

    def chunk(self, t0: int, data: np.ndarray) -> None:
        from occ.engines import numba_kernels
        from occ.harness import _tile

        # repetition-major (R, n, d): free where the adversary drew each repetition's
        # stream into its own contiguous block (stack_streams), a copy otherwise
        G = np.ascontiguousarray(_tile(data, self.batch.grid).transpose(1, 0, 2),
                                 dtype=np.float64)
        n = G.shape[1]
        steps = np.arange(t0, t0 + n)
        k0 = np.searchsorted(self.checkpoints, steps, side="left").astype(np.int64)
        schedule = np.ones(n)
        if self.kind == KIND_ADAM:
            schedule = self.learner.schedule.values(steps)
        lo, hi, centre, radius, box = self.geometry
        if self.regret_only:
            shape = (n, G.shape[0], len(self.bounds) - 1)
            part_loss, part_gg = np.empty(shape), np.empty(shape)
            numba_kernels.advance(self.kind, self.flags, G, t0, schedule, self.hyper,
                                 self.c_scale, self.w, self.acc1, self.acc2, self.acc3,
                                 self.scal, self.bounds, lo, hi, centre, radius, box,
                                 part_loss, part_gg, self.isum, k0, self.checkpoints,
                                 self.diverged_block, self.snap_first, self.iterate_snapshots,
                                 self.p, self.outside)
            numba_kernels.combine(part_loss, part_gg, t0, k0, self.checkpoints, self.cum,
                                 self.S, self.L, self.f21, self.snap_scalar)
            return
        numba_kernels.run_chunk(
            self.kind, self.flags, G, t0, schedule, self.hyper, self.c_scale, self.w, self.acc1,
            self.acc2, self.acc3, self.scal, self.p, self.p_prev, self.has_prev, lo, hi, centre,
            radius, box, self.U, self.checkpoints, k0, self.cum, self.S, self.L, self.f21,
            self.isum, self.D2, self.eq8, self.eq10, self.grad, self.gmin, self.gchg, self.csq,
            self.delta, self.DA2, self.diverged, self.snap_scalar, self.snap_vector)

    def statistics(self, T: int) -> Statistics:
        if self.regret_only:  # the fused kernel's outputs in the general layout
            self.snap_scalar[:, :, 4] = self.snap_first
            self.snap_vector[:, :, 0, :] = self.iterate_snapshots
            first = np.where(self.diverged_block > 0, self.diverged_block, T + 1).min(axis=1)
            self.diverged = np.where(first <= T, first, 0)
        s, v = self.snap_scalar, self.snap_vector
        md = self.md
        coords = "coordinates" in self.needs
        const = "constant_A" in self.needs
        D1 = np.linalg.norm(self.w1[:, None, :] - self.U, axis=-1)
        return Statistics(
            t=self.checkpoints, T=T, d=self.w1.shape[1], cumulative_loss=s[:, :, 0].copy(),
            comparator_loss=np.asarray(self.comparator_loss), S=s[:, :, 1].copy(),
            L=s[:, :, 2].copy(), D=np.sqrt(self.D2), D1=D1, fact21_scalar=s[:, :, 3].copy(),
            iterate_0=s[:, :, 4].copy(), iterate_sum=v[:, :, 0, :].copy(),
            diverged_at=self.diverged.copy(),
            eq8_first=self.eq8.copy() if md else None,
            eq10_first=self.eq10.copy() if md else None,
            gradient_term=s[:, :, 5].copy() if md else None,
            trace_P=(s[:, :, 9] * self.w1.shape[1] if self.kind == KIND_OGD else s[:, :, 6].copy())
            if md else None,
            gamma_min=s[:, :, 7].copy() if md else None,
            gamma_change=s[:, :, 8].copy() if md else None,
            coordinate_squares=v[:, :, 1, :].copy() if coords else None,
            delta=self.delta.copy() if coords else None,
            Dinf=self.delta.max(axis=-1) if coords else None,
            delta1=np.abs(self.w1[:, None, :] - self.U) if coords else None,
            DA2=self.DA2.copy() if const else None,
            D1A2=D1**2 if const else None,
            inverse_eta=s[:, :, 9].copy() if const else None,
        )

    recorder = None
    track = None
