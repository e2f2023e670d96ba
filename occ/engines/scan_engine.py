"""The chunked engine for learners that declare ``chunked`` (the optax adapter): a whole
time chunk of an oblivious linear, regret-only run as one ``jax.lax.scan`` under
``jax.jit``.

It runs a learner batch when (:func:`supported`) the learner declares a traceable step
(``LearnerFacts.chunked``: ``scan_groups(R)`` gives, per row group, the vmapped init and
step of the library), the arrays are NumPy's, the adversary is oblivious with linear
losses on R^d, a ball or a box, the run records the regret only (``bounds = []``) and no
trajectory is kept. Per step and row the scan computes what :class:`occ.recorder.Recorder`
records in regret-only mode: the loss ``<g_t, w_t>``, ``||g_t||^2``, the first
coordinate of ``w_t``, the running sum of the iterates (kept at the checkpoints), the
library step and then the domain's own Euclidean projection (the domain's ``project``
called with ``jax.numpy`` as its namespace), and whether ``w_{t+1}`` is finite. The
running sums over steps (cumulative loss, S, L, the scalar Fact 2.1) are formed here on
the host in the recorder's order. The step is the library's own function, the same one
the per-step ``update`` calls: never a second definition; a test holds the two paths
equal. Every chunk has the run's chunk length (the last one is padded with inactive
steps), so the scan compiles once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from occ.batches import LearnerBatch, tile_rows
from occ.learners.facts import LearnerFacts
from occ.statistics import Recording, Statistics

DOMAINS = ("unconstrained", "ball", "box")
PIECE = 8
"""Steps per call of the padded program (segments that end at a checkpoint)."""
PROGRAMS: dict[tuple[Any, ...], tuple[Any, Any]] = {}
"""Compiled scans by (step, masked, domain); the step is kept so its id stays unique."""


def supported(learner: Any, facts: LearnerFacts, adversary: Any, domain: Any, family: Any,
              recording: Recording, xp: Any, keep_trajectories: bool) -> tuple[bool, str]:
    """``(True, "")`` where this engine can run the batch, else ``(False, why)``."""
    if not facts.chunked:
        return False, f"learner {learner.name!r} declares no chunked step"
    if xp is not np:
        return False, "the chunked engine runs NumPy arrays only"
    if keep_trajectories:
        return False, "the chunked engine keeps no trajectories"
    if not adversary.oblivious or family.name != "linear":
        return False, "the chunked engine takes oblivious linear losses only"
    if domain.name not in DOMAINS:
        return False, f"the chunked engine projects onto {', '.join(DOMAINS)} only"
    if recording != Recording(regret_only=True):
        return False, "the chunked engine records the regret only (bounds = [])"
    return True, ""


class ScanStepper:
    """Pass 2 of one learner batch in jitted scans; the same interface and the same
    regret-only :class:`Statistics` as ``LearnerStepper`` + ``Recorder``."""

    engine = "chunked"
    recorder = None
    track = None

    def __init__(self, batch: LearnerBatch, domain: Any, checkpoints: np.ndarray, U: Any,
                 comparator_loss: np.ndarray, w1: np.ndarray, T: int) -> None:
        import jax
        import jax.numpy as jnp

        self.batch, self.domain, self.T = batch, domain, T
        self.checkpoints = np.asarray(checkpoints, dtype=np.int64)
        self.set_comparators(U, comparator_loss)
        self.w1 = np.asarray(w1, dtype=np.float64)
        R, d = self.w1.shape
        K = len(self.checkpoints)
        self.R, self.K = R, K
        z = lambda *s: np.zeros(s)  # noqa: E731
        self.cum, self.S, self.L, self.f21 = z(R), z(R), z(R), z(R)
        self.snap = {k: z(R, K) for k in ("cum", "S", "L", "f21", "w0")}
        self.isum_snap = z(R, K, d)
        self.diverged_at = np.zeros(R, dtype=np.int64)
        self.diverged_cause = np.zeros(R, dtype=np.int64)
        self.pending = np.zeros(R, dtype=np.int64)  # first bad step of a segment, per cause
        self.pending_cause = np.zeros(R, dtype=np.int64)
        self.checkpoint_index = {int(t): k for k, t in enumerate(self.checkpoints)}
        self.length: int | None = None
        self.staging: dict[tuple[int, ...], np.ndarray] = {}
        self.groups = []
        with jax.enable_x64(True):
            for rows, init, step in batch.learner.scan_groups(R):
                rows = slice(None) if np.array_equal(rows, np.arange(R)) else rows
                w = jnp.asarray(self.w1[rows])
                carry = (w, init(w), jnp.zeros_like(w))
                self.groups.append((rows, carry, self._scan(step, False),
                                    self._scan(step, True)))

    def set_comparators(self, U: Any, comparator_loss: np.ndarray,
                        comparator_error: np.ndarray | None = None) -> None:
        self.U = np.asarray(U, dtype=np.float64)
        self.comparator_loss = comparator_loss

    def _scan(self, step: Any, masked: bool) -> Any:
        """The jitted scan of a row group's step over a chunk: ``masked`` takes an
        ``active`` flag per step (a chunk shorter than the compiled length, padded).
        Cached per (step function, domain): a learner's second pass and its next run
        reuse the compiled program."""
        key = (id(step), masked, repr(self.domain))
        if key not in PROGRAMS or PROGRAMS[key][0] is not step:
            PROGRAMS[key] = (step, self._compile(step, masked))
        return PROGRAMS[key][1]

    def _compile(self, step: Any, masked: bool) -> Any:
        import jax
        import jax.numpy as jnp

        domain = self.domain

        def body(carry: Any, x: Any) -> tuple[Any, Any]:
            w, s, isum = carry
            g, on = x if masked else (x, True)
            loss = jnp.sum(g * w, axis=-1)
            gg = jnp.sum(g * g, axis=-1)
            y, s_next = step(w, s, g)
            w_next = domain.project(y, jnp, None)
            finite = jnp.all(jnp.isfinite(w_next), axis=-1)
            out = (loss, gg, w[:, 0], finite)
            if not masked:
                return (w_next, s_next, isum + w), out
            keep = lambda a, b: jnp.where(on, a, b)  # noqa: E731
            return (keep(w_next, w), jax.tree.map(keep, s_next, s), keep(isum + w, isum)), out

        def chunk(carry: Any, G: Any, active: Any = None) -> Any:
            return jax.lax.scan(body, carry, (G, active) if masked else G)

        return jax.jit(chunk)

    def _device(self, block: np.ndarray, length: int) -> Any:
        """``block`` padded with zero steps to ``length``, as a jax array that shares an
        aligned staging buffer's memory (jax copies what is not 64-byte aligned, so occ
        stages it once itself). The results of a call are read before the buffer is
        staged again."""
        import jax

        n = block.shape[0]
        if n == length and block.flags.c_contiguous and block.ctypes.data % 64 == 0:
            return jax.device_put(block)
        shape = (length, *block.shape[1:])
        if shape not in self.staging:
            size = int(np.prod(shape))
            raw = np.empty(size + 8)
            start = (-raw.ctypes.data % 64) // 8
            self.staging[shape] = raw[start:start + size].reshape(shape)
        stage = self.staging[shape]
        np.copyto(stage[:n], block)
        stage[n:] = 0.0
        return jax.device_put(stage)

    def chunk(self, t0: int, data: np.ndarray) -> None:
        """Steps t0 .. t0 + n - 1, in segments that end at each checkpoint inside."""
        G = np.asarray(tile_rows(data, self.batch.grid), dtype=np.float64)
        n = G.shape[0]
        if self.length is None:
            self.length = n
        steps = np.arange(t0, t0 + n)
        inside = self.checkpoints[(self.checkpoints >= t0) & (self.checkpoints < t0 + n)]
        ends = sorted(set((inside - t0 + 1).tolist()) | {n})
        start = 0
        for end in ends:
            self._segment(G[start:end], steps[start:end])
            start = end

    def _segment(self, G: np.ndarray, steps: np.ndarray) -> None:
        import jax
        import jax.numpy as jnp

        n, L = G.shape[0], self.length
        M = min(PIECE, L)  # a shorter segment runs in padded pieces of M steps
        outputs = [np.empty((n, self.R)) for _ in range(3)] + [np.empty((n, self.R), bool)]
        groups = []
        with jax.enable_x64(True):
            for rows, carry, full, masked in self.groups:
                block = G if isinstance(rows, slice) and rows == slice(None) else G[:, rows, :]
                if n == L:
                    carry, out = full(carry, self._device(block, L))
                    pieces = [(0, out)]
                else:
                    pieces = []
                    for a in range(0, n, M):
                        k = min(M, n - a)
                        carry, out = masked(carry, self._device(block[a:a + k], M),
                                            jnp.asarray(np.arange(M) < k))
                        pieces.append((a, [np.asarray(v)[:k] for v in out]))
                for a, out in pieces:
                    for target, value in zip(outputs, out, strict=True):
                        value = np.asarray(value)
                        target[a:a + len(value), rows] = value[:n - a]
                groups.append((rows, carry, full, masked))
        self.groups = groups
        self._accumulate(steps, *outputs)
        t = int(steps[-1])
        if t in self.checkpoint_index:
            k = self.checkpoint_index[t]
            for rows, carry, _, _ in self.groups:
                self.isum_snap[rows, k] = np.asarray(carry[2])

    def _accumulate(self, steps: np.ndarray, losses: np.ndarray, norms: np.ndarray,
                    first: np.ndarray, finite: np.ndarray) -> None:
        """The recorder's running sums and maxima over the segment, in its order (a
        cumulative sum adds step by step, as the recorder does)."""

        def running(previous: np.ndarray, values: np.ndarray) -> np.ndarray:
            return np.cumsum(np.concatenate([previous[None], values]), axis=0)[1:]

        cum = running(self.cum, losses)
        S = running(self.S, norms)
        L = np.maximum.accumulate(np.concatenate([self.L[None], np.sqrt(norms)]), axis=0)[1:]
        f21 = running(self.f21, np.where(S > 0, norms / np.sqrt(np.where(S > 0, S, 1.0)),
                                         0.0))
        for bad, cause in ((~(np.isfinite(losses) & np.isfinite(norms)), 2), (~finite, 1)):
            hit = bad.any(axis=0) & (self.diverged_at == 0)
            at = steps[np.argmax(bad, axis=0)]
            earlier = hit & ((self.pending == 0) | (at < self.pending))
            self.pending = np.where(earlier, at, self.pending)
            self.pending_cause = np.where(earlier, cause, self.pending_cause)
        newly = (self.pending > 0) & (self.diverged_at == 0)
        self.diverged_at[newly] = self.pending[newly]
        self.diverged_cause[newly] = self.pending_cause[newly]
        self.cum, self.S, self.L, self.f21 = cum[-1], S[-1], L[-1], f21[-1]
        t = int(steps[-1])
        if t in self.checkpoint_index:
            k = self.checkpoint_index[t]
            for key, value in (("cum", cum), ("S", S), ("L", L), ("f21", f21),
                               ("w0", first)):
                self.snap[key][:, k] = value[-1]

    def statistics(self, T: int) -> Statistics:
        D1 = np.linalg.norm(self.w1[:, None, :] - self.U, axis=-1)
        return Statistics(
            t=self.checkpoints, T=T, d=self.w1.shape[1],
            cumulative_loss=self.snap["cum"].copy(),
            comparator_loss=np.asarray(self.comparator_loss), S=self.snap["S"].copy(),
            L=self.snap["L"].copy(), D=np.zeros((self.R, self.K)), D1=D1,
            fact21_scalar=self.snap["f21"].copy(), iterate_0=self.snap["w0"].copy(),
            iterate_sum=self.isum_snap.copy(), diverged_at=self.diverged_at.copy(),
            diverged_cause=self.diverged_cause.copy())
