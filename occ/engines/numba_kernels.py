"""The compiled (numba) kernels of :mod:`occ.engines.numba_engine`, in one module.

numba's on-disk cache is keyed on the source file of each function and does not see a
change to a compiled callee in another file, so every kernel that calls another lives
here. ``error_model="numpy"`` and :data:`FASTMATH` let the loops vectorize.

* :func:`run_chunk`: pass 2 with every bound ingredient of the Recorder;
* :func:`advance` and :func:`combine`: the fused regret-only kernel (``bounds = []``).
  Only the losses, ``S``, ``L``, the scalar Fact 2.1 sum, the iterate sums and
  divergence are recorded, so each step of a repetition is one loop over the
  coordinates: loss and ``||g||^2`` terms, the iterate sum, the state update, the step,
  the projection (a clip on a box; on a ball the norm in the same loop and the
  projection pass only when the step leaves the ball), the divergence check, and the new
  iterate written in place. Work is split into tasks (repetition, block of coordinates);
  on a box coordinates interact only through the loss and ``||g_t||^2``, which each task
  writes per step as partial sums that :func:`combine` then adds in block order. Blocks
  are fixed by ``d`` alone (:func:`occ.engines.numba_engine.blocks`), so a repetition's
  numbers do not depend on the batch size or the thread count, and one repetition still
  uses every core.
"""

from __future__ import annotations

import math

import numpy as np

from occ.engines.numba_engine import (
    AVAILABLE,
    FASTMATH,
    SECULAR_MAX_ITERATIONS,
    SECULAR_TOLERANCE,
)

if AVAILABLE:
    from numba import njit, prange

    @njit(cache=True, error_model="numpy", fastmath=FASTMATH)
    def _project(y, a, spherical, box, lo, hi, centre, radius, out):  # pragma: no cover
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
        if spherical:
            # min(): fast-math may not turn (y - c) (radius/norm) into ((y - c) radius)/norm,
            # which overflows for iterates far outside a large ball (a barrier; scale < 1)
            scale = min(radius / norm, 1.0)
            for i in range(d):
                out[i] = centre[i] + (y[i] - centre[i]) * scale
            return
        mu = 0.0
        for _ in range(SECULAR_MAX_ITERATIONS):
            wn2 = 0.0
            for i in range(d):
                den = a[i] + mu
                if den <= 0:
                    den = 1.0
                v = a[i] * (y[i] - centre[i]) / den
                wn2 += v * v
            wn = math.sqrt(wn2)
            if wn <= 0:
                wn = 1.0
            phi = 1.0 / wn - 1.0 / radius
            if abs(phi) * radius <= SECULAR_TOLERANCE:
                break
            dphi = 0.0
            for i in range(d):
                den = a[i] + mu
                if den <= 0:
                    den = 1.0
                az = a[i] * (y[i] - centre[i])
                dphi += az * az / (den * den * den)
            dphi /= wn * wn * wn
            if dphi <= 0:
                dphi = 1.0
            mu = max(mu - phi / dphi, 0.0)
        for i in range(d):
            den = a[i] + mu
            if den <= 0:
                den = 1.0
            out[i] = centre[i] + a[i] * (y[i] - centre[i]) / den

    @njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
    def run_chunk(kind, flags, G, t0, schedule, hyper, c_scale, w, acc1, acc2, acc3, scal,
                  p, p_prev, has_prev, lo, hi, centre, radius, box, U, checkpoints, k0_of,
                  cum, S, L, f21, isum, D2, eq8, eq10, grad, gmin, gchg, csq, delta, DA2,
                  diverged, snap_scalar, snap_vector):  # pragma: no cover
        """Advance every row over the chunk ``G`` (R, n, d) starting at step t0 (each row's
        steps contiguous: a repetition's own stream of the adversary's draws).

        ``flags``: [ogd step | adam: bias_correction, eps_inside, amsgrad, max_before,
        decoupled (1) / coupled (2) / none (0)], md, coordinates, constant_A, euclidean,
        distances (0: regret only).
        ``hyper`` (R, 6): ogd [eta, c, D0]; adagrad [eta, eps]; adam [eta, beta1, beta2,
        eps, weight_decay]. Snapshot layouts: snap_scalar (R, K, 10), snap_vector (R, K, 2, d).
        """
        R, n, d = G.shape
        K = U.shape[1]
        ogd_step, bias, inside, ams, before, decay = (flags[0], flags[0], flags[1], flags[2],
                                                      flags[3], flags[4])
        md, coords, const_a, euclid = flags[5], flags[6], flags[7], flags[8]
        distances = flags[9]
        for r in prange(R):
            y = np.empty(d)
            a_proj = np.empty(d)
            w_next = np.empty(d)
            for step in range(n):
                t = t0 + step
                g = G[r, step]
                loss = 0.0
                gg = 0.0
                for i in range(d):
                    loss += g[i] * w[r, i]
                    gg += g[i] * g[i]
                cum[r] += loss
                S[r] += gg
                L[r] = max(L[r], math.sqrt(gg))
                if S[r] > 0:
                    f21[r] += gg / math.sqrt(S[r])
                for i in range(d):
                    isum[r, i] += w[r, i]
                # the learner's step: p (precision) and y (unprojected); branch-free loops
                spherical = True
                finite_p = True
                if kind == 0:
                    scal[r] += gg
                    if ogd_step == 0:
                        pr = 1.0 / hyper[r, 0]
                    elif ogd_step == 1:
                        pr = math.sqrt(t) / hyper[r, 1]
                    else:
                        pr = math.sqrt(scal[r]) / hyper[r, 2]
                    step_size = 1.0 / pr if pr > 0 else 0.0
                    for i in range(d):
                        p[r, i] = pr
                        y[i] = w[r, i] - g[i] * step_size
                elif kind == 1:
                    spherical = False
                    eps, eta = hyper[r, 1], hyper[r, 0]
                    for i in range(d):
                        acc1[r, i] += g[i] * g[i]
                    for i in range(d):
                        root = math.sqrt(acc1[r, i])
                        value = (root + eps) / (eta * c_scale[i])
                        p[r, i] = value if root > 0 else 0.0
                        den = p[r, i] if p[r, i] > 0 else 1.0
                        y[i] = w[r, i] - g[i] / den
                else:
                    spherical = False
                    b1, b2, eps, lam = hyper[r, 1], hyper[r, 2], hyper[r, 3], hyper[r, 4]
                    s_t = schedule[step]
                    eta_t = hyper[r, 0] * s_t
                    c1 = 1.0 - b1 ** t if bias == 1 else 1.0
                    c2 = 1.0 - b2 ** t if bias == 1 else 1.0
                    finite_p = s_t > 0
                    l2 = lam if decay == 0 else 0.0
                    shrink = 1.0 - s_t * lam if decay == 1 else 1.0
                    coupled = lam if decay == 2 else 0.0
                    inverse_eta = 1.0 / eta_t if finite_p else np.inf
                    for i in range(d):
                        gi = g[i] + l2 * w[r, i]
                        acc1[r, i] = b1 * acc1[r, i] + (1 - b1) * gi
                        acc2[r, i] = b2 * acc2[r, i] + (1 - b2) * gi * gi
                    for i in range(d):
                        if ams == 1 and before == 1:
                            acc3[r, i] = max(acc3[r, i], acc2[r, i])
                            v_hat = acc3[r, i] / c2
                        elif ams == 1:
                            acc3[r, i] = max(acc3[r, i], acc2[r, i] / c2)
                            v_hat = acc3[r, i]
                        else:
                            v_hat = acc2[r, i] / c2
                        den = math.sqrt(v_hat + eps) if inside == 1 else math.sqrt(v_hat) + eps
                        safe = den if den > 0 else 1.0
                        direction = (acc1[r, i] / c1) / safe if den > 0 else 0.0
                        y[i] = shrink * w[r, i] - eta_t * (direction + coupled * w[r, i])
                        p[r, i] = den * inverse_eta if finite_p else np.inf
                if not finite_p:
                    for i in range(d):
                        w_next[i] = y[i]
                else:
                    for i in range(d):
                        a_proj[i] = p[r, i]
                    _project(y, a_proj, spherical or euclid == 1, box, lo, hi, centre, radius,
                             w_next)
                # the recorder (occ.recorder.Recorder.observe, same order)
                k0 = k0_of[step]
                for k in range(k0, K if distances == 1 else k0):
                    sq = 0.0
                    for i in range(d):
                        x = w[r, i] - U[r, k, i]
                        sq += x * x
                    D2[r, k] = max(D2[r, k], sq)
                    if const_a == 1:
                        DA2[r, k] = max(DA2[r, k], sq)
                    if md == 1:
                        qt = 0.0
                        qn = 0.0
                        qp = 0.0
                        for i in range(d):
                            x = w[r, i] - U[r, k, i]
                            xn = w_next[i] - U[r, k, i]
                            qt += p[r, i] * x * x
                            qn += p[r, i] * xn * xn
                            qp += p_prev[r, i] * x * x
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
                    top = 0.0
                    low = np.inf
                    change = 0.0
                    for i in range(d):
                        den = p[r, i] if p[r, i] > 0 else np.inf  # zero precision: no term
                        dual += g[i] * g[i] / den
                    for i in range(d):
                        top = max(top, abs(p[r, i]))
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
                    gmin[r] = min(gmin[r], low)
                    if has_prev[r] == 1:
                        gchg[r] = max(gchg[r], change)
                    for i in range(d):
                        p_prev[r, i] = p[r, i]
                    has_prev[r] = 1
                finite = True
                for i in range(d):
                    if not math.isfinite(w_next[i]):
                        finite = False
                if not finite and diverged[r] == 0:
                    diverged[r] = t
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
                        for i in range(d):
                            snap_vector[r, k, 0, i] = isum[r, i]
                            snap_vector[r, k, 1, i] = csq[r, i]
                for i in range(d):
                    w[r, i] = w_next[i]

    @njit(inline="always", error_model="numpy")
    def _clip(y, low, high):  # pragma: no cover
        """``y`` clipped to [low, high] with selects (vectorizes); a NaN passes through."""
        y = low if y < low else y
        return high if y > high else y

    @njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
    def advance(kind, flags, G, t0, schedule, hyper, c_scale, w, acc1, acc2, acc3, scal,
                bounds, lo, hi, centre, radius, box, part_loss, part_gg, isum, k0_of,
                checkpoints, diverged, snap_first, snap_sum, precision,
                outside):  # pragma: no cover
        """Advance every task (row r, block b) over the chunk ``G`` (R, n, d) from step t0.

        ``flags`` as for :func:`run_chunk` ([ogd step | adam flags...], ..., euclidean at 8).
        ``lo``/``hi``: the box, or -inf/+inf on a ball (the clip is then the identity), so
        the coordinate loops have no branch and no conditional store, and vectorize.
        Writes ``part_loss``/``part_gg`` (n, R, B): the block's share of ``<g_t, w_t>`` and
        ``||g_t||^2``; ``diverged`` (R, B): the first step with a non-finite coordinate in
        the block; at checkpoint k ``snap_first`` (R, K) = ``w_{t,0}`` and ``snap_sum``
        (R, K, d) = ``sum_{s<=t} w_s``. ``precision``, ``outside``: (R, d) scratch (no
        allocation inside the parallel loop).
        """
        R, n, d = G.shape
        nb = bounds.shape[0] - 1
        ogd_step, bias, inside, ams, before, decay = (flags[0], flags[0], flags[1], flags[2],
                                                      flags[3], flags[4])
        euclid = flags[8]
        for task in prange(R * nb):
            r = task // nb
            b = task - r * nb
            i0, i1 = bounds[b], bounds[b + 1]
            p = precision[r]  # (R, d) scratch: the precision, for the ball's projection
            spherical = kind == 0 or euclid == 1
            # views of the block, indexed from 0: numba then knows every index is >= 0 and
            # emits no wraparound code, so the loops vectorize (3-4x)
            size = i1 - i0
            wv, isv, pv = w[r, i0:i1], isum[r, i0:i1], p[i0:i1]
            m1, m2, m3 = acc1[r, i0:i1], acc2[r, i0:i1], acc3[r, i0:i1]
            lov, hiv, cv, csv = lo[i0:i1], hi[i0:i1], centre[i0:i1], c_scale[i0:i1]
            for step in range(n):
                t = t0 + step
                first = wv[0]  # w_{t,0} where b = 0
                gv = G[r, step, i0:i1]
                loss = 0.0
                gg = 0.0
                bad = 0.0
                norm2 = 0.0
                finite_p = True  # eta_t > 0 (an Adam schedule at 0: no step, no projection)
                if kind == 0:
                    # OGD: eta_t from the step rule (AdaGrad-norm: the whole row's S, nb = 1)
                    if ogd_step == 0:
                        step_size = hyper[r, 0]
                    elif ogd_step == 1:
                        step_size = hyper[r, 1] / math.sqrt(t)
                    else:
                        for i in range(size):
                            gg += gv[i] * gv[i]
                        scal[r] += gg
                        gg = 0.0
                        root = math.sqrt(scal[r])
                        step_size = hyper[r, 2] / root if root > 0 else 0.0
                    for i in range(size):
                        gi = gv[i]
                        wi = wv[i]
                        loss += gi * wi
                        gg += gi * gi
                        isv[i] += wi
                        y = wi - gi * step_size
                        y = _clip(y, lov[i], hiv[i])
                        norm2 += (y - cv[i]) * (y - cv[i])
                        bad += 0.0 * y  # NaN iff some y is not finite
                        wv[i] = y
                elif kind == 1:
                    eta, eps = hyper[r, 0], hyper[r, 1]
                    for i in range(size):
                        gi = gv[i]
                        wi = wv[i]
                        loss += gi * wi
                        gg += gi * gi
                        isv[i] += wi
                        total = m1[i] + gi * gi
                        m1[i] = total
                        root = math.sqrt(total)
                        seen = root > 0  # an unseen coordinate: precision 0, no step
                        den = root + eps if seen else 1.0
                        scale = eta * csv[i]
                        y = wi - gi * scale / den
                        pv[i] = den / scale if seen else 0.0
                        y = _clip(y, lov[i], hiv[i])
                        norm2 += (y - cv[i]) * (y - cv[i])
                        bad += 0.0 * y
                        wv[i] = y
                else:
                    b1, b2, eps, lam = hyper[r, 1], hyper[r, 2], hyper[r, 3], hyper[r, 4]
                    s_t = schedule[step]
                    eta_t = hyper[r, 0] * s_t
                    c1 = 1.0 - b1 ** t if bias == 1 else 1.0
                    c2 = 1.0 - b2 ** t if bias == 1 else 1.0
                    l2 = lam if decay == 0 else 0.0
                    shrink = 1.0 - s_t * lam if decay == 1 else 1.0
                    coupled = lam if decay == 2 else 0.0
                    finite_p = s_t > 0
                    inverse_eta = 1.0 / eta_t if finite_p else np.inf
                    eps_in = eps if inside == 1 else 0.0
                    eps_out = 0.0 if inside == 1 else eps
                    amsgrad = ams == 1
                    raw_max = before == 1  # AMSGrad: max before the bias correction
                    for i in range(size):
                        gi = gv[i]
                        wi = wv[i]
                        loss += gi * wi
                        gg += gi * gi
                        isv[i] += wi
                        gl = gi + l2 * wi
                        m = b1 * m1[i] + (1 - b1) * gl
                        v = b2 * m2[i] + (1 - b2) * gl * gl
                        m1[i] = m
                        m2[i] = v
                        corrected = v / c2
                        top = max(m3[i], v if raw_max else corrected)
                        m3[i] = top if amsgrad else m3[i]
                        v_hat = ((top / c2 if raw_max else top) if amsgrad else corrected)
                        den = math.sqrt(v_hat + eps_in) + eps_out
                        safe = den if den > 0 else 1.0
                        direction = (m / c1) / safe if den > 0 else 0.0
                        y = shrink * wi - eta_t * (direction + coupled * wi)
                        pv[i] = den * inverse_eta if finite_p else np.inf
                        y = _clip(y, lov[i], hiv[i])
                        norm2 += (y - cv[i]) * (y - cv[i])
                        bad += 0.0 * y
                        wv[i] = y
                if not box and finite_p and math.sqrt(norm2) > radius:
                    for i in range(d):  # (R, d) scratch: the step that left the ball
                        outside[r, i] = w[r, i]
                    _project(outside[r], p, spherical, False, lo, hi, centre, radius, w[r])
                    bad = 0.0
                    for i in range(size):
                        bad += 0.0 * wv[i]
                part_loss[step, r, b] = loss
                part_gg[step, r, b] = gg
                if bad != bad and diverged[r, b] == 0:  # a NaN: some coordinate not finite
                    diverged[r, b] = t
                k = k0_of[step]
                if k < checkpoints.shape[0] and checkpoints[k] == t:
                    if b == 0:
                        snap_first[r, k] = first
                    snap_sum[r, k, i0:i1] = isv

    @njit(cache=True, error_model="numpy")
    def combine(part_loss, part_gg, t0, k0_of, checkpoints, cum, S, L, f21,
                snap_scalar):  # pragma: no cover
        """Add the blocks' partial sums in block order and advance the scalar statistics;
        ``snap_scalar`` (R, K, 4): cumulative loss, S, L, Fact 2.1 at the checkpoints."""
        n, R, nb = part_loss.shape
        for r in range(R):
            for step in range(n):
                loss = 0.0
                gg = 0.0
                for b in range(nb):
                    loss += part_loss[step, r, b]
                    gg += part_gg[step, r, b]
                cum[r] += loss
                S[r] += gg
                L[r] = max(L[r], math.sqrt(gg))
                if S[r] > 0:
                    f21[r] += gg / math.sqrt(S[r])
                k = k0_of[step]
                if k < checkpoints.shape[0] and checkpoints[k] == t0 + step:
                    snap_scalar[r, k, 0] = cum[r]
                    snap_scalar[r, k, 1] = S[r]
                    snap_scalar[r, k, 2] = L[r]
                    snap_scalar[r, k, 3] = f21[r]

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
