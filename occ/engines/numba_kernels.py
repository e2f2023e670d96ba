"""The compiled (numba) kernels of :mod:`occ.engines.numba_engine`, in one module.

No algorithm is written here. Each learner's step is the pair of functions its own module
declares (:class:`occ.learners.facts.KernelStep`) and its reference ``update`` calls on
whole arrays; the kernels compile those very functions for scalars (the three
operations of :mod:`occ.elementwise` get scalar implementations below) and call them per
coordinate. :data:`STEPS` lists the compiled steps: adding a learner to the engine is
its step functions, its ``kernel_step`` declaration and one entry here.

* :func:`run_chunk`: pass 2 with every bound ingredient of the Recorder;
* :func:`advance` and :func:`combine`: the fused regret-only kernel (``bounds = []``).
  Only the losses, ``S``, ``L``, the scalar Fact 2.1 sum, the iterate sums and
  divergence are recorded, so each step of a repetition is one loop over the
  coordinates: loss and ``||g||^2`` terms, the iterate sum, the learner's step, the
  projection (a clip on a box; on a ball the norm in the same loop and the projection
  pass only when the step leaves the ball), the divergence check, and the new iterate
  written in place. What a domain does not need is not compiled into its specialization:
  on a box no norm, no precision store and no projection pass (those arguments are
  None), and a uniform box's bounds are two numbers, not two arrays read every step (W1
  at 100 x 1000 on one thread: 8% less time, W2 24%). On a box coordinates interact only
  through the loss and ``||g_t||^2``, so a row is cut into blocks, each writing per step
  its partial sums, which :func:`combine` then adds in block order. Blocks are fixed by
  ``d`` alone (:func:`occ.engines.numba_engine.blocks`), so a repetition's numbers do
  not depend on the batch size or the thread count; tasks are (repetition, group of its
  blocks), a whole row where the rows keep every thread busy
  (:func:`occ.engines.numba_engine.task_groups`), so one repetition still uses every
  core.

numba's on-disk cache is keyed on this file alone and does not see a change to a step
function in a learner's module: :func:`_invalidate_stale_cache` drops the cached machine
code whenever the source of any compiled step (or of :mod:`occ.elementwise`) changed.
``error_model="numpy"`` and :data:`FASTMATH` let the loops vectorize.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from pathlib import Path

import numpy as np

from occ import elementwise
from occ.domains import SECULAR_MAX_ITERATIONS, SECULAR_TOLERANCE
from occ.learners.adagrad import adagrad_coordinate, adagrad_row
from occ.learners.adam import adam_coordinate, adam_row
from occ.learners.facts import KernelStep
from occ.learners.ogd import ogd_coordinate, ogd_row

try:
    from numba import njit, prange, types
    from numba.extending import overload

    AVAILABLE = True
except ImportError:  # pragma: no cover - the reference path is used instead
    AVAILABLE = False

FASTMATH = {"reassoc", "contract", "arcp"}
"""LLVM may reassociate sums, fuse multiply-adds and use reciprocals, so that the loops
vectorize (5x on this machine); infinities and NaNs keep their meaning (no nnan/ninf).
The results differ from the reference path by round-off only (tests: 1e-10 relative)."""

STEPS = (KernelStep(ogd_row, ogd_coordinate, state=0),
         KernelStep(adagrad_row, adagrad_coordinate, state=1),
         KernelStep(adam_row, adam_coordinate, state=3))
"""The compiled steps, by kernel index (the ``kind`` argument of every kernel); each kernel
has one loop per entry that stores back the ``state`` accumulators the step keeps."""

FLAG_SLOTS = 8
"""The learners' step flags reach the kernels as a tuple of this many ints (padded with
zeros): values, not an array, so the compiler sees them constant over every loop."""

SNAPSHOT_SCALARS = 16
"""Per-checkpoint scalars of :func:`run_chunk`: cumulative loss, S, L, Fact 2.1, w_{t,0},
gradient term, tr(P), min Gamma, max change of Gamma, p_0, loss magnitude, max ||w_t||,
and the four magnitude sums of (8) and (10) (occ.recorder.Recorder)."""

MAGNITUDE_BITS = 0x7FFF_FFFF_FFFF_FFFF
"""All bits of a float64 but its sign: ``bits & MAGNITUDE_BITS`` is the pattern of |x|."""

DIVERGED_ITERATE, DIVERGED_LOSS, DIVERGED_OUTSIDE = 1, 2, 3
"""Codes of occ.statistics.DIVERGENCE_CAUSES."""


def step_index(step: KernelStep) -> int:
    """The kernel index of a learner's declared step (ValueError if none is compiled)."""
    for index, known in enumerate(STEPS):
        if known.row is step.row and known.coordinate is step.coordinate:
            return index
    raise ValueError("this step is not compiled")


def _fingerprint() -> str:
    """A hash of the sources the compiled kernels are built from, beyond this file."""
    parts = [inspect.getsource(elementwise)]
    for step in STEPS:
        parts += [inspect.getsource(step.row), inspect.getsource(step.coordinate)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _invalidate_stale_cache(dispatcher: object) -> None:
    """Remove this module's cached machine code when a step's source changed since it was
    compiled (numba's own check sees this file's timestamp only)."""
    try:
        folder = Path(dispatcher._cache._cache_path)  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - no cache locator (read-only install)
        return
    stamp = folder / f"{Path(__file__).stem}.steps.sha256"
    fingerprint = _fingerprint()
    try:
        if stamp.read_text() == fingerprint:
            return
    except OSError:
        pass
    for cached in folder.glob(f"{Path(__file__).stem}.*.nb[ic]"):
        cached.unlink(missing_ok=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)
    except OSError:  # pragma: no cover - an unwritable cache: numba recompiles anyway
        pass


def _limit(limit: float | np.ndarray, i: int) -> float:
    """A box's bound at coordinate i: the number itself for a uniform box (one register,
    not a stream of loads per step), entry i of the per-coordinate bounds otherwise. This
    and the helpers below are overloaded by type for the kernels, so each
    specialization of :func:`advance` compiles only the work its domain needs."""
    return float(limit) if np.ndim(limit) == 0 else float(limit[i])


def _distance_term(y: float, centre: np.ndarray | None, i: int) -> float:
    """``(y - c_i)^2`` on a ball (its norm test); nothing on a box (``centre`` None)."""
    return 0.0 if centre is None else float((y - centre[i]) ** 2)


def _keep(row: np.ndarray | None, i: int, value: float) -> None:
    """Store the step's precision entry where a ball's projection will read it (``row``
    None on a box: nothing is stored)."""
    if row is not None:
        row[i] = value


def _row_of(rows: np.ndarray | None, r: int) -> np.ndarray | None:
    """Row r of an (R, d) array, or None for an argument a domain does not need."""
    return None if rows is None else rows[r]


def _add_to(row: np.ndarray | None, i: int, value: float) -> None:
    """``row[i] += value`` for a kept sum (the whole iterate sum); nothing where ``row`` is
    None (the run keeps only what its excess risk reads)."""
    if row is not None:
        row[i] += value


def _product(vector: np.ndarray | None, i: int, value: float) -> float:
    """``vector[i] * value`` (a term of ``m^T w_t``); 0 where ``vector`` is None."""
    return 0.0 if vector is None else float(vector[i] * value)


def _store(array: np.ndarray | None, step: int, r: int, b: int, value: float) -> None:
    """``array[step, r, b] = value`` (a block's share of ``m^T w_t``); nothing where None."""
    if array is not None:
        array[step, r, b] = value


if AVAILABLE:

    @overload(elementwise.where)
    def _where(condition, x, y):  # pragma: no cover
        return lambda condition, x, y: x if condition else y

    @overload(elementwise.maximum)
    def _maximum(x, y):  # pragma: no cover
        return lambda x, y: x if x != x or x > y else y

    @overload(elementwise.sqrt)
    def _sqrt(x):  # pragma: no cover
        return lambda x: math.sqrt(x)

    _options = {"error_model": "numpy", "fastmath": FASTMATH}
    COMPILED_STEPS = tuple((njit(**_options)(s.row),
                            njit(inline="always", **_options)(s.coordinate)) for s in STEPS)
    """:data:`STEPS` compiled for scalars: (row, coordinate) dispatchers by kernel index."""
    (_ogd_row, _ogd_coordinate), (_adagrad_row, _adagrad_coordinate), \
        (_adam_row, _adam_coordinate) = COMPILED_STEPS
    @njit(inline="always")
    def _minimum(a, b):  # pragma: no cover
        """numpy.minimum for scalars: a NaN operand gives NaN (Python's min ignores it)."""
        return a if a != a or a < b else b

    @njit(inline="always")
    def _maximum_nan(a, b):  # pragma: no cover
        """numpy.maximum for scalars: a NaN operand gives NaN."""
        return a if a != a or a > b else b

    @njit(inline="always", error_model="numpy")
    def _clip(y, low, high):  # pragma: no cover
        """``y`` clipped to [low, high] with selects (vectorizes); a NaN passes through."""
        y = low if y < low else y
        return high if y > high else y

    @njit(cache=True, error_model="numpy", fastmath=FASTMATH)
    def _project(y, a, spherical, box, lo, hi, centre, radius, out):  # pragma: no cover
        """occ.domains: the clip, the radial projection, or the ball's secular Newton in
        the weighted norm (on ``a / max(a)`` and ``y / ||y - c||``, as there)."""
        d = y.shape[0]
        if box:
            for i in range(d):
                out[i] = min(max(y[i], lo[i]), hi[i])
            return
        norm2 = 0.0
        for i in range(d):
            norm2 += (y[i] - centre[i]) ** 2
        norm = math.sqrt(norm2)
        if norm <= radius:
            for i in range(d):
                out[i] = y[i]
            return
        top = 0.0
        for i in range(d):
            top = max(top, a[i])
        if spherical or not top > 0:
            # min(): fast-math may not turn (y - c) (radius/norm) into ((y - c) radius)/norm,
            # which overflows for iterates far outside a large ball (a barrier; scale < 1)
            scale = min(radius / norm, 1.0)
            for i in range(d):
                out[i] = centre[i] + (y[i] - centre[i]) * scale
            return
        rho = radius / norm
        mu = 0.0
        for _ in range(SECULAR_MAX_ITERATIONS):
            wn2 = 0.0
            for i in range(d):
                ai = a[i] / top
                den = ai + mu
                if den <= 0:
                    den = 1.0
                v = ai * ((y[i] - centre[i]) / norm) / den
                wn2 += v * v
            wn = math.sqrt(wn2)
            if wn <= 0:
                wn = 1.0
            phi = 1.0 / wn - 1.0 / rho
            if abs(phi) * rho <= SECULAR_TOLERANCE:
                break
            dphi = 0.0
            for i in range(d):
                ai = a[i] / top
                den = ai + mu
                if den <= 0:
                    den = 1.0
                az = ai * ((y[i] - centre[i]) / norm)
                dphi += az * az / (den * den * den)
            dphi /= wn * wn * wn
            if dphi <= 0:
                dphi = 1.0
            mu = max(mu - phi / dphi, 0.0)
        for i in range(d):
            ai = a[i] / top
            den = ai + mu
            if den <= 0:
                den = 1.0
            out[i] = centre[i] + ai * ((y[i] - centre[i]) / norm) / den * norm

    @njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
    def run_chunk(kind, step_flags, record_flags, G, t0, schedule, hyper, c_scale, w, acc1,
                  acc2, acc3, scal, p, p_prev, has_prev, lo, hi, centre, radius, box, inside_lo,
                  inside_hi, inside_radius, U, checkpoints, k0_of, cum, S, L, f21, isum, D2,
                  eq8, eq10, grad, gmin, gchg, csq, delta, DA2, diverged, cause, snap_scalar,
                  snap_vector, magnitudes):  # pragma: no cover
        """Advance every row over the chunk ``G`` (R, n, d) starting at step t0 (each row's
        steps contiguous: a repetition's own stream of the adversary's draws), recording
        what :class:`occ.recorder.Recorder` records, in the same order.

        ``step_flags``: the learner's (StepArguments.flags, a tuple of FLAG_SLOTS ints);
        ``record_flags``: [mirror descent, coordinates, constant A, spherical projection,
        distances].
        ``hyper`` (R, k): the learner's per-row StepArguments.hyper. ``inside_*``: V with
        its round-off slack (an iterate outside is a divergence). ``magnitudes`` (R, 6):
        running loss magnitude, max ||w_t||, and the (8)/(10) magnitude sums.
        Snapshot layouts: snap_scalar (R, K, SNAPSHOT_SCALARS), snap_vector (R, K, 2, d).
        """
        R, n, d = G.shape
        K = U.shape[1]
        md, coords, const_a, spherical, distances = (record_flags[0], record_flags[1],
                                                     record_flags[2], record_flags[3],
                                                     record_flags[4])
        largest_bits = np.zeros((R, 2), dtype=np.int64)  # max |p|, max |p_prev| per row
        largest = largest_bits.view(np.float64)
        for r in prange(R):
            y = np.empty(d)
            w_next = np.empty(d)
            for step in range(n):
                t = t0 + step
                g = G[r, step]
                loss = 0.0
                gg = 0.0
                loss_abs = 0.0
                ww = 0.0
                for i in range(d):
                    loss += g[i] * w[r, i]
                    loss_abs += abs(g[i] * w[r, i])
                    gg += g[i] * g[i]
                    ww += w[r, i] * w[r, i]
                cum[r] += loss
                S[r] += gg
                L[r] = max(L[r], math.sqrt(gg))
                if S[r] > 0:
                    f21[r] += gg / math.sqrt(S[r])
                if distances == 1:
                    magnitudes[r, 0] += loss_abs
                    magnitudes[r, 1] = max(magnitudes[r, 1], math.sqrt(ww))
                for i in range(d):
                    isum[r, i] += w[r, i]
                if not (math.isfinite(loss) and math.isfinite(gg)) and diverged[r] == 0:
                    diverged[r] = t
                    cause[r] = DIVERGED_LOSS
                s_t = schedule[step]
                # the learner's step: one loop per compiled step, calling it directly
                wr, pr, m1, m2, m3, hr = w[r], p[r], acc1[r], acc2[r], acc3[r], hyper[r]
                if kind == 0:
                    scalars, scal[r] = _ogd_row(t, s_t, hr, step_flags, scal[r], gg)
                    for i in range(d):
                        y[i], _, _, _, pr[i] = _ogd_coordinate(g[i], wr[i], m1[i], m2[i], m3[i],
                                                               c_scale[i], scalars, step_flags)
                elif kind == 1:
                    scalars, scal[r] = _adagrad_row(t, s_t, hr, step_flags, scal[r], gg)
                    for i in range(d):
                        y[i], m1[i], _, _, pr[i] = _adagrad_coordinate(
                            g[i], wr[i], m1[i], m2[i], m3[i], c_scale[i], scalars, step_flags)
                else:
                    scalars, scal[r] = _adam_row(t, s_t, hr, step_flags, scal[r], gg)
                    for i in range(d):
                        y[i], m1[i], m2[i], m3[i], pr[i] = _adam_coordinate(
                            g[i], wr[i], m1[i], m2[i], m3[i], c_scale[i], scalars, step_flags)
                if s_t > 0:
                    _project(y, p[r], spherical == 1, box, lo, hi, centre, radius, w_next)
                else:  # no step: the schedule is at 0 (infinite precision)
                    for i in range(d):
                        w_next[i] = y[i]
                # the recorder (occ.recorder.Recorder.observe, same order)
                k0 = k0_of[step]
                for k in range(k0, K if distances == 1 else k0):
                    # ||w_t - u||^2 and, for mirror descent, the three quadratic forms of
                    # (8) and (10) in one pass over the coordinates (U's row read once)
                    sq = 0.0
                    qt = 0.0
                    qn = 0.0
                    qp = 0.0
                    if md == 1:
                        for i in range(d):
                            x = w[r, i] - U[r, k, i]
                            xn = w_next[i] - U[r, k, i]
                            sq += x * x
                            qt += p[r, i] * x * x
                            qn += p[r, i] * xn * xn
                            qp += p_prev[r, i] * x * x
                    else:
                        for i in range(d):
                            x = w[r, i] - U[r, k, i]
                            sq += x * x
                    D2[r, k] = max(D2[r, k], sq)
                    if const_a == 1:
                        DA2[r, k] = max(DA2[r, k], sq)
                    if md == 1:
                        if has_prev[r] == 0:
                            qp = 0.0
                        eq8[r, k] += 0.5 * (qt - qn)
                        eq10[r, k] += 0.5 * (qt - qp)
                    if coords == 1:
                        for i in range(d):
                            delta[r, k, i] = max(delta[r, k, i], abs(w[r, i] - U[r, k, i]))
                if coords == 1:
                    for i in range(d):
                        csq[r, i] += g[i] * g[i]
                if md == 1:
                    dual = 0.0
                    low = np.inf
                    change = 0.0
                    q_w = 0.0
                    q_next = 0.0
                    q_prev = 0.0
                    # max |p_i| as a max of the bit patterns of |p_i|, which order as the
                    # numbers do (a float max reduction does not vectorize without
                    # fast-math's no-NaN: 1.25x slower on AdaGrad; a NaN p then gives NaN)
                    p_bits, p_prev_bits = p[r].view(np.int64), p_prev[r].view(np.int64)
                    top_bits = 0
                    top_prev_bits = 0
                    for i in range(d):
                        den = p[r, i] if p[r, i] > 0 else np.inf  # zero precision: no term
                        dual += g[i] * g[i] / den
                        top_bits = max(top_bits, p_bits[i] & MAGNITUDE_BITS)
                        top_prev_bits = max(top_prev_bits, p_prev_bits[i] & MAGNITUDE_BITS)
                        q_w += p[r, i] * w[r, i] * w[r, i]
                        q_next += p[r, i] * w_next[i] * w_next[i]
                        q_prev += p_prev[r, i] * w[r, i] * w[r, i]
                    largest_bits[r, 0] = top_bits
                    largest_bits[r, 1] = top_prev_bits
                    top, top_prev = largest[r, 0], largest[r, 1]
                    if has_prev[r] == 0:
                        q_prev = 0.0
                        top_prev = 0.0
                    if kind == 0:
                        scale = p[r, 0] if p[r, 0] > 0 else 1.0
                        before = p_prev[r, 0] if has_prev[r] == 1 else 0.0
                        low = (p[r, 0] - before) / scale
                        change = abs(low)
                    else:
                        scale = top if top > 0 else 1.0
                        for i in range(d):
                            before = p_prev[r, i] if has_prev[r] == 1 else 0.0
                            diff = p[r, i] - before
                            low = min(low, diff)
                            change = max(change, abs(diff))
                        low /= scale
                        change /= scale
                    grad[r] += 0.5 * dual
                    gmin[r] = _minimum(gmin[r], low)
                    if has_prev[r] == 1:
                        gchg[r] = _maximum_nan(gchg[r], change)
                    magnitudes[r, 2] += 3 * (q_w + dual) + 2 * q_next
                    magnitudes[r, 3] += 5 * top
                    magnitudes[r, 4] += 2 * q_prev
                    magnitudes[r, 5] += 2 * top_prev
                    for i in range(d):
                        p_prev[r, i] = p[r, i]
                    has_prev[r] = 1
                # snapshots at the checkpoints reached at this step
                for k in range(k0, K):
                    if checkpoints[k] == t:
                        trace = 0.0
                        for i in range(d):
                            trace += p[r, i]
                        snap_scalar[r, k, 0] = cum[r]
                        snap_scalar[r, k, 1] = S[r]
                        snap_scalar[r, k, 2] = L[r]
                        snap_scalar[r, k, 3] = f21[r]
                        snap_scalar[r, k, 4] = w[r, 0]
                        snap_scalar[r, k, 5] = grad[r]
                        snap_scalar[r, k, 6] = trace
                        snap_scalar[r, k, 7] = gmin[r]
                        snap_scalar[r, k, 8] = gchg[r]
                        snap_scalar[r, k, 9] = p[r, 0]
                        for j in range(6):
                            snap_scalar[r, k, 10 + j] = magnitudes[r, j]
                        for i in range(d):
                            snap_vector[r, k, 0, i] = isum[r, i]
                            snap_vector[r, k, 1, i] = csq[r, i]
                # w_{t+1} stored, and checked in the same pass: reductions without branches,
                # so that the loop vectorizes (a running max of the excess instead of the
                # count runs 1.45x slower); the flags set here are read only after the chunk
                probe = 0.0  # NaN iff some coordinate is not finite (0 * inf is NaN)
                outside_count = 0  # coordinates outside the box's slack
                norm2 = 0.0
                for i in range(d):
                    x = w_next[i]
                    w[r, i] = x
                    probe += 0.0 * x
                    outside_count += (x < inside_lo[i]) + (x > inside_hi[i])
                    norm2 += (x - centre[i]) * (x - centre[i])
                finite = probe == probe
                inside = outside_count == 0 and (box or math.sqrt(norm2) <= inside_radius)
                if diverged[r] == 0 and not finite:
                    diverged[r] = t
                    cause[r] = DIVERGED_ITERATE
                elif diverged[r] == 0 and not inside:
                    diverged[r] = t
                    cause[r] = DIVERGED_OUTSIDE

    @overload(_limit, inline="always")
    def _limit_impl(limit, i):  # pragma: no cover
        if isinstance(limit, types.Float):
            return lambda limit, i: limit
        return lambda limit, i: limit[i]

    @overload(_distance_term, inline="always")
    def _distance_term_impl(y, centre, i):  # pragma: no cover
        if isinstance(centre, types.NoneType):
            return lambda y, centre, i: 0.0
        return lambda y, centre, i: (y - centre[i]) * (y - centre[i])

    @overload(_keep, inline="always")
    def _keep_impl(row, i, value):  # pragma: no cover
        if isinstance(row, types.NoneType):
            return lambda row, i, value: None

        def store(row, i, value):
            row[i] = value
        return store

    @overload(_add_to, inline="always")
    def _add_to_impl(row, i, value):  # pragma: no cover
        if isinstance(row, types.NoneType):
            return lambda row, i, value: None

        def add(row, i, value):
            row[i] += value
        return add

    @overload(_product, inline="always")
    def _product_impl(vector, i, value):  # pragma: no cover
        if isinstance(vector, types.NoneType):
            return lambda vector, i, value: 0.0
        return lambda vector, i, value: vector[i] * value

    @overload(_store, inline="always")
    def _store_impl(array, step, r, b, value):  # pragma: no cover
        if isinstance(array, types.NoneType):
            return lambda array, step, r, b, value: None

        def store(array, step, r, b, value):
            array[step, r, b] = value
        return store

    @overload(_row_of, inline="always")
    def _row_of_impl(rows, r):  # pragma: no cover
        if isinstance(rows, types.NoneType):
            return lambda rows, r: None
        return lambda rows, r: rows[r]

    @njit(inline="always", error_model="numpy")
    def _fused_tail(gi, wi, y, i, loss, gg, norm2, bad, along, isv, mv, wv, lov, hiv,
                    cv):  # pragma: no cover
        """What :func:`advance` does per coordinate around the step: the loss and
        ``||g||^2`` terms, the iterate sum (where kept) or ``m^T w_t``'s term (where an
        excess risk reads only that), the clip, ``||y - c||^2`` (on a ball) and the
        finiteness probe (``0 * y`` is NaN iff ``y`` is not finite); stores the new
        iterate."""
        _add_to(isv, i, wi)
        y = _clip(y, _limit(lov, i), _limit(hiv, i))
        wv[i] = y
        return (loss + gi * wi, gg + gi * gi, norm2 + _distance_term(y, cv, i),
                bad + 0.0 * y, along + _product(mv, i, wi))

    @njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
    def advance(kind, flags, needs_norm, spherical, G, t0, schedule, hyper, c_scale, w,
                acc1, acc2, acc3, scal, bounds, groups, lo, hi, centre, radius, part_loss,
                part_gg, isum, k0_of, checkpoints, diverged, snap_first, snap_sum, precision,
                outside, direction, part_along, first_sum):  # pragma: no cover
        """Advance every task (row r, group of blocks) over the chunk ``G`` (R, n, d) from
        step t0: step by step, and in each step block by block.

        ``flags``: the learner's step flags (a tuple: constants to the loops);
        ``needs_norm``: its row step reads ``||g_t||^2`` (then the row is one block);
        ``spherical``: a radial projection.
        ``bounds``: the blocks' coordinate boundaries (fixed by d: every partial sum below
        is one block's, whatever the grouping); ``groups``: the block boundaries of the
        tasks (one group per row when there are at least as many rows as threads), so
        that a task reads its row of ``G`` in address order.
        ``lo``/``hi``: the box (two numbers for a uniform box, else (d,) arrays), or
        -inf/+inf on a ball (the clip is then the identity), so the coordinate loops have
        no branch and no conditional store, and vectorize. ``centre``, ``precision``:
        the ball's centre and the (R, d) store of the step's precision that its
        projection reads; both None on a box, where numba then compiles neither the norm
        nor the store nor the projection (:func:`_distance_term`, :func:`_keep`; the
        ``precision is not None`` branch is pruned by type).
        Writes ``part_loss``/``part_gg`` (n, R, B): the block's share of ``<g_t, w_t>`` and
        ``||g_t||^2``; ``diverged`` (R, B): the first step with a non-finite coordinate in
        the block; at checkpoint k ``snap_first`` (R, K) = ``w_{t,0}`` and ``snap_sum``
        (R, K, d) = ``sum_{s<=t} w_s``. ``precision``, ``outside``: (R, d) scratch (no
        allocation inside the parallel loop).
        The iterate sums: ``isum`` (R, d), kept whole where an excess risk reads all of
        ``w_bar``; else None (no store per coordinate: 1.2-1.5x of the kernel at
        100 x 1000), and then ``first_sum`` (R,) keeps the first coordinate's (the
        metrics' ``mean_iterate_0``, in ``snap_sum`` (R, K, 1)) and, where an excess risk
        reads ``w_bar`` only as ``m^T w_bar``, ``direction`` (d,) = m and ``part_along``
        (n, R, B) the blocks' shares of ``m^T w_t`` (None where none is read).
        """
        R, n, d = G.shape
        ng = groups.shape[0] - 1
        for task in prange(R * ng):
            r = task // ng
            group = task - r * ng
            # the task's rows, once (a view per block and step costs two atomic reference
            # counts: 1.2x the whole kernel); coordinates are then indexed i0 + i with
            # unsigned i0 and i, for which numba emits no wraparound code, so the loops
            # vectorize (3-4x)
            wr, isr, pr = w[r], _row_of(isum, r), _row_of(precision, r)
            a1, a2, a3 = acc1[r], acc2[r], acc3[r]
            hyper_r = hyper[r]
            for step in range(n):
                t = t0 + step
                s_t = schedule[step]
                k = k0_of[step]
                at_checkpoint = k < checkpoints.shape[0] and checkpoints[k] == t
                gr = G[r, step]
                for b in range(groups[group], groups[group + 1]):
                    i0 = bounds[b]  # unsigned (numba_engine.blocks)
                    size = bounds[b + 1] - i0
                    first = wr[i0]  # w_{t,0} where b = 0
                    gg_row = 0.0
                    along = 0.0
                    if isum is None:  # noqa: SIM102  (pruned by type: see below)
                        if b == 0:
                            first_sum[r] += first
                    if needs_norm:  # the whole row (nb = 1)
                        for i in range(size):
                            gg_row += gr[i0 + i] * gr[i0 + i]
                    loss = 0.0
                    gg = 0.0
                    bad = 0.0
                    norm2 = 0.0
                    # one loop per compiled step, each calling its step directly (a loop in
                    # a helper taking the step as an argument runs 1.5x slower: measured)
                    if kind == 0:
                        scalars, scal[r] = _ogd_row(t, s_t, hyper_r, flags, scal[r], gg_row)
                        for i in range(size):
                            j = i0 + i
                            gi, wi = gr[j], wr[j]
                            y, _, _, _, p = _ogd_coordinate(gi, wi, a1[j], a2[j], a3[j],
                                                             c_scale[j], scalars, flags)
                            _keep(pr, j, p)
                            loss, gg, norm2, bad, along = _fused_tail(
                                gi, wi, y, j, loss, gg, norm2, bad, along, isr, direction, wr,
                                lo, hi, centre)
                    elif kind == 1:
                        scalars, scal[r] = _adagrad_row(t, s_t, hyper_r, flags, scal[r],
                                                        gg_row)
                        for i in range(size):
                            j = i0 + i
                            gi, wi = gr[j], wr[j]
                            y, a1[j], _, _, p = _adagrad_coordinate(
                                gi, wi, a1[j], a2[j], a3[j], c_scale[j], scalars, flags)
                            _keep(pr, j, p)
                            loss, gg, norm2, bad, along = _fused_tail(
                                gi, wi, y, j, loss, gg, norm2, bad, along, isr, direction, wr,
                                lo, hi, centre)
                    else:
                        scalars, scal[r] = _adam_row(t, s_t, hyper_r, flags, scal[r], gg_row)
                        for i in range(size):
                            j = i0 + i
                            gi, wi = gr[j], wr[j]
                            y, a1[j], a2[j], a3[j], p = _adam_coordinate(
                                gi, wi, a1[j], a2[j], a3[j], c_scale[j], scalars, flags)
                            _keep(pr, j, p)
                            loss, gg, norm2, bad, along = _fused_tail(
                                gi, wi, y, j, loss, gg, norm2, bad, along, isr, direction, wr,
                                lo, hi, centre)
                    # a ball; on a box numba prunes this branch by the argument's type (a lone
                    # `is None` test of an argument: kept apart from the runtime test)
                    if precision is not None:  # noqa: SIM102
                        if s_t > 0 and math.sqrt(norm2) > radius:
                            for i in range(d):  # (R, d) scratch: the step that left the ball
                                outside[r, i] = wr[i]
                            _project(outside[r], pr, spherical, False, lo, hi, centre, radius,
                                     wr)
                            bad = 0.0
                            for i in range(size):
                                bad += 0.0 * wr[i0 + i]
                    part_loss[step, r, b] = loss
                    part_gg[step, r, b] = gg
                    _store(part_along, step, r, b, along)
                    if bad != bad and diverged[r, b] == 0:  # a NaN: a coordinate not finite
                        diverged[r, b] = t
                    if at_checkpoint:
                        if b == 0:
                            snap_first[r, k] = first
                        if isum is None:  # noqa: SIM108
                            if b == 0:
                                snap_sum[r, k, 0] = first_sum[r]
                        else:
                            for i in range(size):
                                snap_sum[r, k, i0 + i] = isr[i0 + i]

    @njit(cache=True, error_model="numpy")
    def combine(part_loss, part_gg, t0, k0_of, checkpoints, cum, S, L, f21, snap_scalar,
                loss_diverged, part_along, along_sum, snap_along):  # pragma: no cover
        """Add the blocks' partial sums in block order and advance the scalar statistics;
        ``snap_scalar`` (R, K, 4): cumulative loss, S, L, Fact 2.1 at the checkpoints;
        ``loss_diverged`` (R,): the first step with a non-finite loss or gradient;
        ``along_sum`` (R,) ``sum_s m^T w_s`` and ``snap_along`` (R, K) at the checkpoints,
        where :func:`advance` kept ``part_along`` (all three None where it did not)."""
        n, R, nb = part_loss.shape
        for r in range(R):
            for step in range(n):
                loss = 0.0
                gg = 0.0
                for b in range(nb):
                    loss += part_loss[step, r, b]
                    gg += part_gg[step, r, b]
                if part_along is not None:
                    along = 0.0
                    for b in range(nb):
                        along += part_along[step, r, b]
                    along_sum[r] += along
                cum[r] += loss
                S[r] += gg
                L[r] = max(L[r], math.sqrt(gg))
                if S[r] > 0:
                    f21[r] += gg / math.sqrt(S[r])
                if not (math.isfinite(loss) and math.isfinite(gg)) and loss_diverged[r] == 0:
                    loss_diverged[r] = t0 + step
                k = k0_of[step]
                if k < checkpoints.shape[0] and checkpoints[k] == t0 + step:
                    snap_scalar[r, k, 0] = cum[r]
                    snap_scalar[r, k, 1] = S[r]
                    snap_scalar[r, k, 2] = L[r]
                    snap_scalar[r, k, 3] = f21[r]
                    if part_along is not None:
                        snap_along[r, k] = along_sum[r]

    @njit(parallel=True, cache=True, error_model="numpy")
    def running_sums(G, total, ends, out):  # pragma: no cover
        """Pass 1 of a linear run: ``total += g_t`` for every step of the chunk ``G``
        (R, n, d), row by row in time order (the additions of ``numpy.cumsum``, bit for bit:
        no fast-math), with ``out[j] = sum_{s<=t} g_s`` at the chunk's step ``ends[j]``."""
        R, n, d = G.shape
        for r in prange(R):
            j = 0
            for step in range(n):
                for i in range(d):
                    total[r, i] = total[r, i] + G[r, step, i]
                if j < ends.shape[0] and ends[j] == step:
                    for i in range(d):
                        out[j, r, i] = total[r, i]
                    j += 1

    _invalidate_stale_cache(run_chunk)
