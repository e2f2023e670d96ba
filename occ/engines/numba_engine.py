"""The compiled (numba) engine for pass 2 of oblivious linear runs.

Accepted: oblivious adversaries with linear losses on a ball or a box; learners ``ogd``
(every step rule), ``adagrad_diag`` (every scaling), ``rmsprop``, ``adam``, ``amsgrad``,
``adamw`` (every flag and schedule: the schedule is evaluated in Python per chunk); both
projections; the bound ingredients of :class:`occ.recorder.Recorder` with the optional
``coordinates`` and ``constant_A`` statistics; NumPy arrays. Everything else runs on the
reference path. One fused pass per step and repetition computes the loss, the learner's
step, its projection and the running sums and maxima of the recorder; repetitions are
split across cores with ``prange`` (each row is independent, so the numbers do not depend
on the thread count or on the other rows). ``error_model="numpy"`` and ``FASTMATH`` let
the loops vectorize.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    import numba  # noqa: F401  (its thread count is set through this module)
    from numba import njit, prange

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


if AVAILABLE:

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
            scale = radius / norm
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
        """Advance every row over the chunk ``G`` (n, R, d) starting at step t0.

        ``flags``: [ogd step | adam: bias_correction, eps_inside, amsgrad, max_before,
        decoupled (1) / coupled (2) / none (0)], md, coordinates, constant_A, euclidean,
        distances (0: regret only).
        ``hyper`` (R, 6): ogd [eta, c, D0]; adagrad [eta, eps]; adam [eta, beta1, beta2,
        eps, weight_decay]. Snapshot layouts: snap_scalar (R, K, 10), snap_vector (R, K, 2, d).
        """
        n, R, d = G.shape
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
                g = G[step, r]
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
        self.w = w1.copy()
        self.acc1, self.acc2, self.acc3, self.scal = z(R, d), z(R, d), z(R, d), z(R)
        self.p, self.p_prev, self.has_prev = z(R, d), z(R, d), np.zeros(R, dtype=np.int64)
        self.cum, self.S, self.L, self.f21 = z(R), z(R), z(R), z(R)
        self.isum, self.D2, self.eq8, self.eq10 = z(R, d), z(R, K), z(R, K), z(R, K)
        self.grad, self.gmin, self.gchg = z(R), np.full(R, np.inf), z(R)
        self.csq, self.delta, self.DA2 = z(R, d), z(R, K, d), z(R, K)
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
            self.geometry = (np.zeros(d), np.zeros(d), centre, float(domain.radius), False)

    def chunk(self, t0: int, data: np.ndarray) -> None:
        from occ.harness import _tile

        G = np.ascontiguousarray(_tile(data, self.batch.grid), dtype=np.float64)
        n = G.shape[0]
        steps = np.arange(t0, t0 + n)
        k0 = np.searchsorted(self.checkpoints, steps, side="left").astype(np.int64)
        schedule = np.ones(n)
        if self.kind == KIND_ADAM:
            schedule = self.learner.schedule.values(steps)
        lo, hi, centre, radius, box = self.geometry
        run_chunk(self.kind, self.flags, G, t0, schedule, self.hyper, self.c_scale, self.w,
                  self.acc1, self.acc2, self.acc3, self.scal, self.p, self.p_prev,
                  self.has_prev, lo, hi, centre, radius, box, self.U, self.checkpoints, k0,
                  self.cum, self.S, self.L, self.f21, self.isum, self.D2, self.eq8, self.eq10,
                  self.grad, self.gmin, self.gchg, self.csq, self.delta, self.DA2,
                  self.diverged, self.snap_scalar, self.snap_vector)

    def statistics(self, T: int) -> Statistics:
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
