"""The chunked engine for learners that declare ``chunked`` (the optax adapter): a whole
time chunk of an oblivious linear, regret-only run as one ``jax.lax.scan`` under
``jax.jit``.

It runs a learner batch when (:func:`supported`) the learner declares a traceable step
(``LearnerFacts.chunked``: ``scan_groups(R)`` gives, per row group, the vmapped init and
step of the library), the arrays are NumPy's, the adversary is oblivious with linear
losses on a ball or a box (linear losses need a bounded set), the run records the regret
only (``bounds = []``) and no trajectory is kept. Per step and row the scan computes
what :class:`occ.recorder.Recorder` records in regret-only mode: the loss
``<g_t, w_t>``, ``||g_t||^2``, the first coordinate of ``w_t``, the running sum of the
iterates (kept at the checkpoints, where the adversary's excess risk reads them), the
library step and then the domain's own Euclidean projection (the domain's ``project``
called with ``jax.numpy`` as its namespace). The running sums over steps (cumulative
loss, S, L, the scalar Fact 2.1) are formed on the host in the recorder's order, and
whether ``g_t`` is finite is read from the chunk where ``||g_t||^2`` is not (a finite
``g_t`` can overflow it). (``||g_t||^2`` on the host, while the scan runs, took 14 ms a
chunk at 100 x 1000 against the scan's 3: XLA's threads and NumPy's share the cores.)
The step is the library's own function, the same one the per-step ``update`` calls:
never a second definition; a test holds the two paths equal.

Whether ``w_{t+1}`` is finite is checked per chunk, not per step: a loss ``<g_t, w_t>`` is
finite only where ``w_t`` is (``0 inf`` is NaN), so a row whose losses in the chunk and
whose last iterate are finite had every iterate finite inside it. Where a row not yet
diverged fails that, the chunk is run again from its saved start with the per-step probe
(the sum of ``0 w_{t+1}``, NaN iff a coordinate is not) to find the step, as the recorder
does; a per-step probe in every chunk cost 10-15% of the scan.

One call per chunk and row group: the scan reads the chunk as the adversary drew it,
repetition-major and 64-byte aligned, so jax takes it without a copy; the checkpoints
inside the chunk keep their iterate sums in snapshot slots of the same call (a chunk
without one runs the program without slots). Every chunk has the run's chunk length (the
last one is padded with steps that leave the carry unchanged), so each program compiles
once. jax runs a call asynchronously: a chunk's outputs are read after the next chunk's
call is dispatched, so the host's sums overlap the scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from occ.batches import LearnerBatch, tile_rows
from occ.draws import aligned_empty
from occ.learners.facts import LearnerFacts
from occ.statistics import Recording, Statistics

DOMAINS = ("ball", "box")
def jax_x64() -> Any:
    """jax's float64 mode, for this engine's calls only (the user's setting is kept)."""
    import jax

    return jax.enable_x64(True)


PROGRAMS: dict[tuple[Any, ...], tuple[Any, Any]] = {}
"""Compiled scans by (step, masked, probe, domain); the step is kept so its id stays
unique."""



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
                 comparator_loss: np.ndarray, w1: np.ndarray, T: int,
                 iterate_sums: bool = True, direction: np.ndarray | None = None) -> None:
        """``iterate_sums``: keep ``sum_{s<=t} w_s`` whole at the checkpoints (an
        online-to-batch adversary's excess risk reads it); without, only its first
        coordinate (the metrics' ``mean_iterate_0``) is kept, summed on the host from the
        first coordinates the scan returns, and the scan carries no sum: each step is then
        one pass fewer over the iterates. ``direction`` (d,): the scan also returns
        ``m^T w_t`` per step, and the host keeps ``sum_s m^T w_s`` (an excess risk linear
        in ``w_bar``: :func:`iterate_needs`), a reduction in place of a pass that reads and
        writes the sum."""
        import jax
        import jax.numpy as jnp

        self.batch, self.domain, self.T = batch, domain, T
        self.iterate_sums = iterate_sums
        self.direction = direction
        self.checkpoints = np.asarray(checkpoints, dtype=np.int64)
        self.set_comparators(U, comparator_loss)
        self.w1 = np.asarray(w1, dtype=np.float64)
        R, d = self.w1.shape
        K = len(self.checkpoints)
        self.R, self.K = R, K
        z = lambda *s: np.zeros(s)  # noqa: E731
        self.cum, self.S, self.L, self.f21 = z(R), z(R), z(R), z(R)
        self.snap = {k: z(R, K) for k in ("cum", "S", "L", "f21", "w0", "along")}
        self.along = z(R)  # sum_{s<=t} m^T w_s, with a direction
        self.isum_snap = z(R, K, d if iterate_sums else 1)
        self.first_sum = z(R)  # sum_{s<=t} of w_s's first coordinate
        self.diverged_at = np.zeros(R, dtype=np.int64)
        self.diverged_cause = np.zeros(R, dtype=np.int64)
        self.pending = np.zeros(R, dtype=np.int64)  # first bad step of a chunk, per cause
        self.pending_cause = np.zeros(R, dtype=np.int64)
        self.length: int | None = None
        self.slot_count = 1
        self.in_flight: tuple[Any, ...] | None = None  # the last chunk's pending results
        self.groups = []
        self.programs: dict[tuple[Any, ...], Any] = {}
        with jax.enable_x64(True):
            for rows, init, step in batch.learner.scan_groups(R):
                rows = slice(None) if np.array_equal(rows, np.arange(R)) else rows
                w = jnp.asarray(self.w1[rows])
                carry = (w, init(w), jnp.zeros_like(w) if iterate_sums else None)
                self.groups.append((rows, carry, step))

    def set_comparators(self, U: Any, comparator_loss: np.ndarray,
                        comparator_error: np.ndarray | None = None) -> None:
        self.U = np.asarray(U, dtype=np.float64)
        self.comparator_loss = comparator_loss

    def _scan(self, step: Any, masked: bool, probe: bool) -> Any:
        """The jitted scan of a row group's step over a chunk: ``masked`` takes an
        ``active`` flag per step (a chunk shorter than the compiled length, padded);
        ``probe`` also returns, per step, whether ``w_{t+1}`` is finite. Cached per (step
        function, domain): a learner's second pass and its next run reuse the compiled
        program."""
        key = (id(step), masked, probe, self.iterate_sums, repr(self.direction),
               repr(self.domain))
        if key not in PROGRAMS or PROGRAMS[key][0] is not step:
            PROGRAMS[key] = (step, self._compile(step, masked, probe))
        return PROGRAMS[key][1]

    def _compile(self, step: Any, masked: bool, probe: bool) -> Any:
        import jax
        import jax.numpy as jnp

        domain = self.domain
        direction = None if self.direction is None else jnp.asarray(self.direction)

        def body(carry: Any, g: Any, mark: Any, on: Any) -> tuple[Any, Any]:
            w, s, isum, snaps = carry
            loss = jnp.sum(g * w, axis=-1)
            gg = jnp.sum(g * g, axis=-1)
            y, s_next = step(w, s, g)
            w_next = domain.project(y, jnp, None)
            isum_next = None if isum is None else isum + w
            # a checkpoint at this step keeps sum_{s<=t} w_s in its slot; other steps write
            # the scratch slot at the end (an in-place update, no branch)
            if snaps is not None:  # a chunk with checkpoints inside
                slot = jnp.where(mark >= 0, mark, snaps.shape[0] - 1)
                snaps = jax.lax.dynamic_update_index_in_dim(snaps, isum_next, slot, 0)
            out = (loss, gg, w[:, 0])
            if direction is not None:  # m^T w_t
                out += (jnp.sum(w * direction, axis=-1),)
            if probe:  # NaN iff a coordinate of w_{t+1} is not finite (0 inf, 0 NaN are NaN):
                # one fused sum, where all(isfinite(.)) runs as a separate pass
                out += (jnp.sum(0.0 * w_next, axis=-1),)
            if on is None:
                return (w_next, s_next, isum_next, snaps), out
            keep = lambda a, b: jnp.where(on, a, b)  # noqa: E731
            return (keep(w_next, w), jax.tree.map(keep, s_next, s),
                    jax.tree.map(keep, isum_next, isum), snaps), out

        def program(carry: Any, G: Any, marks: Any, count: Any = None, *,
                    slots: int) -> Any:
            """Every step j of the chunk ``G`` (R, L, d), repetition-major as drawn (step j
            reads the rows' slices ``G[:, j]``); ``marks[j]``: the snapshot slot of a
            checkpoint at step j, else -1; ``count`` (masked): the steps that are real,
            the rest of a padded chunk leaving the carry unchanged. Also returns, per row,
            whether the last iterate is finite at the chunk's end."""
            w, s, isum = carry

            def one(c: Any, j: Any) -> Any:
                g = jax.lax.dynamic_index_in_dim(G, j, 1, keepdims=False)
                return body(c, g, marks[j], None if count is None else j < count)

            start = (w, s, isum, jnp.zeros((slots + 1, *w.shape), w.dtype) if slots else None)
            (w, s, isum, snaps), out = jax.lax.scan(one, start, jnp.arange(G.shape[1]))
            return (w, s, isum), out, snaps, jnp.isfinite(jnp.sum(0.0 * w, axis=-1))

        # the carry is not donated: the first one may share the memory of the caller's w1
        # (jax takes aligned NumPy arrays without a copy); donating it saved nothing measurable
        return jax.jit(program, static_argnames=("slots",))

    def _device(self, block: np.ndarray, length: int) -> Any:
        """``block`` (R, n, d) as a jax array of ``length`` steps: the block itself where
        it is whole and 64-byte aligned (jax then shares its memory: the adversaries draw
        into aligned blocks), else padded with zero steps in an aligned copy."""
        import jax

        n = block.shape[1]
        if n == length and block.flags.c_contiguous and block.ctypes.data % 64 == 0:
            return jax.device_put(block)
        stage = aligned_empty((block.shape[0], length, *block.shape[2:]))
        np.copyto(stage[:, :n], block)
        stage[:, n:] = 0.0
        return jax.device_put(stage)

    def _slots(self, length: int) -> int:
        """Snapshot slots per chunk: the most checkpoints any chunk of ``length`` holds."""
        first = (self.checkpoints - 1) // length
        return int(np.bincount(first).max()) if len(first) else 1

    def chunk(self, t0: int, data: np.ndarray) -> None:
        """Steps t0 .. t0 + n - 1 in one call per row group; the checkpoints inside are
        kept in the call's snapshot slots."""
        # repetition-major (R, n, d): free where the adversary drew each repetition's
        # stream into its own contiguous block (stack_streams), a copy otherwise
        G = np.ascontiguousarray(tile_rows(data, self.batch.grid).transpose(1, 0, 2),
                                 dtype=np.float64)
        n = G.shape[1]
        if self.length is None:
            self.length, self.slot_count = n, self._slots(n)
        L = self.length
        steps = np.arange(t0, t0 + n)
        inside = np.flatnonzero((self.checkpoints >= t0) & (self.checkpoints < t0 + n))
        marks = np.full(L, -1, dtype=np.int32)
        marks[self.checkpoints[inside] - t0] = np.arange(len(inside), dtype=np.int32)
        calls = []
        with jax_x64():
            for index, (rows, start, step) in enumerate(self.groups):
                block = self._device(G if isinstance(rows, slice) else G[rows], L)
                # two programs, not one per count; no slots where no sum is kept
                slots = self.slot_count if len(inside) and self.iterate_sums else 0
                call = (block, marks, slots, None if n == L else n)
                carry, out, snaps, finite = self._call(step, start, call, probe=False)
                self.groups[index] = (rows, carry, step)
                calls.append((rows, step, start, call, out, snaps, finite))
        # jax runs the calls asynchronously: the previous chunk's results are read while
        # these compute (the block and the chunk's start stay referenced, and unchanged,
        # until it is collected)
        previous, self.in_flight = self.in_flight, (steps, inside, G, calls)
        if previous is not None:
            self._collect(*previous)

    def _call(self, step: Any, carry: Any, call: tuple[Any, ...], probe: bool) -> Any:
        """One chunk's call of the row group's program (padded where ``count`` is set)."""
        block, marks, slots, count = call
        key = (id(step), count is not None, probe)
        if key not in self.programs:
            self.programs[key] = self._scan(step, count is not None, probe)
        if count is None:
            return self.programs[key](carry, block, marks, slots=slots)
        return self.programs[key](carry, block, marks, count, slots=slots)

    @staticmethod
    def _data_finite(G: np.ndarray, norms: np.ndarray) -> np.ndarray:
        """Whether every coordinate of ``g_t`` is finite, (n, R), as the recorder asks (a
        finite ``g_t`` may overflow ``||g_t||^2``): read from the chunk ``G`` (R, n, d) only
        where the square sum ``norms`` (n, R) is not finite."""
        finite = np.isfinite(norms)
        steps, rows = np.nonzero(~finite)
        finite[steps, rows] = np.all(np.isfinite(G[rows, steps]), axis=-1)
        return finite

    def _collect(self, steps: np.ndarray, inside: np.ndarray, G: np.ndarray,
                 calls: list[Any]) -> None:
        """A dispatched chunk's outputs into the running statistics. A row group with a row
        not yet diverged whose last iterate, or a loss of the chunk, is not finite runs the
        chunk again from its start with the per-step probe, which says at which step."""
        n = len(steps)
        losses, norms, first, along = (np.empty((n, self.R)) for _ in range(4))
        finite = np.ones((n, self.R), dtype=bool)
        with jax_x64():
            for rows, step, start, call, out, snaps, end_finite in calls:
                losses[:, rows] = np.asarray(out[0])[:n]
                norms[:, rows] = np.asarray(out[1])[:n]
                first[:, rows] = np.asarray(out[2])[:n]
                if self.direction is not None:
                    along[:, rows] = np.asarray(out[3])[:n]
                for slot, k in enumerate(inside if snaps is not None else ()):
                    self.isum_snap[rows, k] = np.asarray(snaps[slot])
                ended = np.asarray(end_finite) & np.isfinite(losses[:, rows]).all(axis=0)
                if not ended[self.diverged_at[rows] == 0].all():
                    probe = np.asarray(self._call(step, start, call, probe=True)[1][-1])[:n]
                    finite[:, rows] = probe == probe
        self._accumulate(steps, inside, losses, norms, self._data_finite(G, norms), first,
                         finite, along)

    def _accumulate(self, steps: np.ndarray, inside: np.ndarray, losses: np.ndarray,
                    norms: np.ndarray, data_finite: np.ndarray, first: np.ndarray,
                    finite: np.ndarray, along: np.ndarray) -> None:
        """The recorder's running sums and maxima over the chunk, in its order (a
        cumulative sum adds step by step, as the recorder does), kept at the checkpoints
        ``inside`` it: the steps' losses, ``||g_t||^2``, whether ``g_t`` and ``w_{t+1}`` are
        finite, the first coordinates of ``w_t`` and (with a direction) ``m^T w_t``, each
        (n, R)."""

        def running(previous: np.ndarray, values: np.ndarray) -> np.ndarray:
            return np.cumsum(np.concatenate([previous[None], values]), axis=0)[1:]

        cum = running(self.cum, losses)
        S = running(self.S, norms)
        L = np.maximum.accumulate(np.concatenate([self.L[None], np.sqrt(norms)]), axis=0)[1:]
        f21 = running(self.f21, np.where(S > 0, norms / np.sqrt(np.where(S > 0, S, 1.0)),
                                         0.0))
        for bad, cause in ((~(np.isfinite(losses) & data_finite), 2), (~finite, 1)):
            hit = bad.any(axis=0) & (self.diverged_at == 0)
            at = steps[np.argmax(bad, axis=0)]
            earlier = hit & ((self.pending == 0) | (at < self.pending))
            self.pending = np.where(earlier, at, self.pending)
            self.pending_cause = np.where(earlier, cause, self.pending_cause)
        newly = (self.pending > 0) & (self.diverged_at == 0)
        self.diverged_at[newly] = self.pending[newly]
        self.diverged_cause[newly] = self.pending_cause[newly]
        self.cum, self.S, self.L, self.f21 = cum[-1], S[-1], L[-1], f21[-1]
        at = self.checkpoints[inside] - steps[0]
        if not self.iterate_sums:  # the first coordinate's sum, in the scan's order
            first_sum = running(self.first_sum, first)
            self.first_sum = first_sum[-1]
            self.isum_snap[:, inside, 0] = first_sum[at].T
        if self.direction is not None:
            along_sum = running(self.along, along)
            self.along = along_sum[-1]
            self.snap["along"][:, inside] = along_sum[at].T
        for key, value in (("cum", cum), ("S", S), ("L", L), ("f21", f21), ("w0", first)):
            self.snap[key][:, inside] = value[at].T

    def statistics(self, T: int) -> Statistics:
        if self.in_flight is not None:
            self._collect(*self.in_flight)
            self.in_flight = None
        D1 = np.linalg.norm(self.w1[:, None, :] - self.U, axis=-1)
        return Statistics(
            t=self.checkpoints, T=T, d=self.w1.shape[1],
            cumulative_loss=self.snap["cum"].copy(),
            comparator_loss=np.asarray(self.comparator_loss), S=self.snap["S"].copy(),
            L=self.snap["L"].copy(), D=np.zeros((self.R, self.K)), D1=D1,
            fact21_scalar=self.snap["f21"].copy(), iterate_0=self.snap["w0"].copy(),
            iterate_sum=self.isum_snap.copy(), diverged_at=self.diverged_at.copy(),
            iterate_sum_along=(None if self.direction is None
                               else self.snap["along"].copy()),
            diverged_cause=self.diverged_cause.copy())
