"""Independent slow references, written from the formulas of THEORY.md, one repetition at
a time with plain Python loops. They share no code with occ's kernels except the
adversary's ``draw`` (which defines the random loss data) and its ``respond`` for
adaptive adversaries (which defines the game)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import linalg, optimize

from occ.harness import repetition_generators


# ----------------------------------------------------------------------------- losses
def _matrix_parts(family: Any, params: np.ndarray, w: np.ndarray):
    m, n, k = family.m, family.n, family.k
    X, Y = params[: n * k].reshape(n, k), params[n * k:].reshape(m, k)
    return X, Y, w.reshape(m, n)


def loss_value(family: Any, params: np.ndarray, w: np.ndarray) -> float:
    if family.name == "matrix_least_squares":
        X, Y, W = _matrix_parts(family, params, w)
        return 0.5 * float(np.sum((W @ X - Y) ** 2))
    if family.name == "linear":
        return float(sum(p * x for p, x in zip(params, w, strict=True)))
    if family.name == "least_squares":
        return 0.5 * float(params[:-1] @ w - params[-1]) ** 2
    if family.name == "log_wealth":
        return -math.log(float(params @ w))
    if family.name == "quadratic":
        return 0.5 * float(sum(h * (x - p) ** 2 for h, x, p in zip(family.h, w, params,
                                                                   strict=True)))
    raise NotImplementedError(family.name)


def loss_gradient(family: Any, params: np.ndarray, w: np.ndarray) -> np.ndarray:
    if family.name == "matrix_least_squares":
        X, Y, W = _matrix_parts(family, params, w)
        return ((W @ X - Y) @ X.T).reshape(-1)
    if family.name == "linear":
        return np.array(params, dtype=float)
    if family.name == "least_squares":
        return params[:-1] * float(params[:-1] @ w - params[-1])
    if family.name == "log_wealth":
        return -params / float(params @ w)
    if family.name == "quadratic":
        return np.array([h * (x - p) for h, x, p in zip(family.h, w, params, strict=True)])
    raise NotImplementedError(family.name)


# ------------------------------------------------------------------------- projections
def euclidean_projection(domain: Any, y: np.ndarray) -> np.ndarray:
    """Plain Euclidean projection, coordinate by coordinate where possible."""
    if domain.name == "unconstrained":
        return y.copy()
    if domain.name == "simplex":  # bisection on the threshold of max(y - theta, 0)
        low, high = float(y.min()) - 1.0, float(y.max())
        for _ in range(200):
            mid = (low + high) / 2
            if sum(max(v - mid, 0.0) for v in y) > 1:
                low = mid
            else:
                high = mid
        return np.array([max(v - high, 0.0) for v in y])
    if domain.name == "box":
        lo = np.broadcast_to(np.asarray(domain.low, dtype=float), y.shape)
        hi = np.broadcast_to(np.asarray(domain.high, dtype=float), y.shape)
        return np.array([min(max(v, a), b) for v, a, b in zip(y, lo, hi, strict=True)])
    if domain.name == "ball":
        c = np.broadcast_to(np.asarray(domain.centre, dtype=float), y.shape)
        z = y - c
        n = math.sqrt(sum(v * v for v in z))
        return y.copy() if n <= domain.radius else c + z * (domain.radius / n)
    raise NotImplementedError(domain.name)


def solver_projection(domain: Any, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``argmin_{w in V} sum a_i (w_i - y_i)^2`` by a generic constrained solver."""
    d = y.size
    objective = lambda w: float(np.sum(a * (w - y) ** 2))  # noqa: E731
    jac = lambda w: 2 * a * (w - y)  # noqa: E731
    c = np.broadcast_to(np.asarray(domain.centre, dtype=float), (d,))
    cons = [{"type": "ineq", "fun": lambda w: domain.radius**2 - np.sum((w - c) ** 2),
             "jac": lambda w: -2 * (w - c)}]
    start = c + (y - c) * min(1.0, 0.5 * domain.radius / max(np.linalg.norm(y - c), 1e-300))
    res = optimize.minimize(objective, start, jac=jac, constraints=cons, method="SLSQP",
                            options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


def solver_comparator(family: Any, domain: Any, params: np.ndarray) -> tuple[np.ndarray, float]:
    """Best fixed point in hindsight of ``sum_t l_t`` over V, by scipy.optimize."""
    T, d = params.shape
    if family.name == "linear":
        G = params.sum(axis=0)
        fun, jac = (lambda w: float(G @ w)), (lambda w: G)
    elif family.name == "quadratic":
        h = family.h
        X, Q, n = params.sum(axis=0), float(np.sum(h * params**2)), T
        fun = lambda w: 0.5 * (n * np.sum(h * w * w) - 2 * np.sum(h * w * X) + Q)  # noqa: E731
        jac = lambda w: h * (n * w - X)  # noqa: E731
    elif family.name == "matrix_least_squares":
        m, n, k = family.m, family.n, family.k
        Xs = params[:, : n * k].reshape(T, n, k)
        Ys = params[:, n * k:].reshape(T, m, k)
        d = m * n

        def fun(w):
            W = w.reshape(m, n)
            return 0.5 * float(sum(np.sum((W @ X - Y) ** 2) for X, Y in zip(Xs, Ys, strict=True)))

        def jac(w):
            W = w.reshape(m, n)
            return sum((W @ X - Y) @ X.T for X, Y in zip(Xs, Ys, strict=True)).reshape(-1)
    elif family.name == "least_squares":
        d = d - 1
        A, b = params[:, :-1], params[:, -1]
        fun = lambda w: 0.5 * float(np.sum((A @ w - b) ** 2))  # noqa: E731
        jac = lambda w: A.T @ (A @ w - b)  # noqa: E731
    else:  # log wealth
        fun = lambda w: -float(np.sum(np.log(params @ w)))  # noqa: E731
        jac = lambda w: -(params / (params @ w)[:, None]).sum(axis=0)  # noqa: E731
    if domain.name == "box" and family.name == "linear":
        lo = np.broadcast_to(np.asarray(domain.low, dtype=float), (d,))
        hi = np.broadcast_to(np.asarray(domain.high, dtype=float), (d,))
        res = optimize.linprog(G, bounds=list(zip(lo, hi, strict=True)), method="highs")
        return res.x, float(res.fun)
    if domain.name == "simplex":
        floor = 1e-12 if family.name == "log_wealth" else 0.0
        res = optimize.minimize(fun, np.full(d, 1.0 / d), jac=jac, method="SLSQP",
                                bounds=[(floor, 1.0)] * d,
                                constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                                options={"ftol": 1e-15, "maxiter": 1000})
        u = np.clip(res.x, 0, None)
        u = u / u.sum()
        return u, float(fun(u))
    if domain.name == "unconstrained":
        res = optimize.minimize(fun, np.zeros(d), jac=jac, method="BFGS",
                                options={"gtol": 1e-12})
    elif domain.name == "ball":
        c = np.broadcast_to(np.asarray(domain.centre, dtype=float), (d,))
        cons = [{"type": "ineq", "fun": lambda w: domain.radius**2 - np.sum((w - c) ** 2),
                 "jac": lambda w: -2 * (w - c)}]
        res = optimize.minimize(fun, c.copy(), jac=jac, constraints=cons, method="SLSQP",
                                options={"ftol": 1e-15, "maxiter": 1000})
    else:
        lo = np.broadcast_to(np.asarray(domain.low, dtype=float), (d,))
        hi = np.broadcast_to(np.asarray(domain.high, dtype=float), (d,))
        res = optimize.minimize(fun, (lo + hi) / 2, jac=jac, method="L-BFGS-B",
                                bounds=list(zip(lo, hi, strict=True)),
                                options={"ftol": 1e-15, "gtol": 1e-12})
    u = euclidean_projection(domain, res.x)  # solvers may end slightly outside V
    return u, float(fun(u))


# ------------------------------------------------------------------ A-norm projection
def _ball_bisection(z: np.ndarray, a: np.ndarray, radius: float) -> np.ndarray:
    """argmin_{||w|| <= rho} sum a_i (w_i - z_i)^2 by bisection on the multiplier mu
    (a different algorithm from occ's Newton iteration)."""
    norm = lambda mu: math.sqrt(sum((ai * zi / (ai + mu)) ** 2 if ai + mu > 0 else 0.0  # noqa: E731
                                    for ai, zi in zip(a, z, strict=True)))
    if math.sqrt(sum(v * v for v in z)) <= radius:
        return z.copy()
    low, high = 0.0, 1.0
    while norm(high) > radius:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if norm(mid) > radius:
            low = mid
        else:
            high = mid
    mu = high
    return np.array([ai * zi / (ai + mu) if ai + mu > 0 else 0.0
                     for ai, zi in zip(a, z, strict=True)])


def simplex_projection_by_supports(y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``argmin_{w in simplex} (w - y)^T M (w - y)``, M > 0, by enumeration: the minimizer
    is the minimizer on the affine hull of its support S (``w_S = 1``-summing solution of
    ``M_SS w_S + nu 1 = (M y)_S``), so the best feasible one over all 2^d - 1 supports is it
    (small d only)."""
    d = len(y)
    best, best_value = None, math.inf
    for mask in range(1, 2**d):
        S = [i for i in range(d) if mask >> i & 1]
        k = len(S)
        K = np.zeros((k + 1, k + 1))
        K[:k, :k] = M[np.ix_(S, S)]
        K[:k, k] = K[k, :k] = 1.0
        rhs = np.concatenate([(M @ y)[S], [1.0]])
        w = np.zeros(d)
        w[S] = np.linalg.solve(K, rhs)[:k]
        if np.all(w >= -1e-15):
            w = np.maximum(w, 0.0)
            value = float((w - y) @ M @ (w - y))
            if value < best_value:
                best, best_value = w / w.sum(), value
    return best


def reference_projection(domain: Any, y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``argmin_{w in V} (w - y)^T M (w - y)`` for a dense PSD ``M`` (d, d)."""
    if domain.name == "unconstrained":
        return y.copy()
    if domain.name == "simplex":
        if np.allclose(M, M[0, 0] * np.eye(len(y))):
            return euclidean_projection(domain, y)
        return simplex_projection_by_supports(y, M)
    diagonal = np.count_nonzero(M - np.diag(np.diag(M))) == 0
    if domain.name == "box":
        if diagonal or np.allclose(M, M[0, 0] * np.eye(len(y))):
            return euclidean_projection(domain, y)
        lo = np.broadcast_to(np.asarray(domain.low, dtype=float), y.shape)
        hi = np.broadcast_to(np.asarray(domain.high, dtype=float), y.shape)
        lam, Q = np.linalg.eigh(M)
        root = Q @ np.diag(np.sqrt(np.maximum(lam, 0))) @ Q.T
        res = optimize.lsq_linear(root, root @ y, bounds=(lo, hi), method="bvls", tol=1e-15)
        return res.x
    c = np.broadcast_to(np.asarray(domain.centre, dtype=float), y.shape)
    if diagonal:
        return c + _ball_bisection(y - c, np.diag(M).copy(), domain.radius)
    lam, Q = np.linalg.eigh(M)
    return c + Q @ _ball_bisection(Q.T @ (y - c), lam, domain.radius)


# ----------------------------------------------------------------------------- learners
def ogd_step_size(learner: Any, t: int, grad_sq_sum: float, d: int, row: int = 0) -> float:
    """eta_t of OGD from THEORY.md 2.1 (inf where AdaGrad-norm has seen only zeros)."""
    pick = lambda v: float(v[row]) if isinstance(v, np.ndarray) else float(v)  # noqa: E731
    if learner.step == "sqrt":
        return pick(learner.c) / math.sqrt(t)
    if learner.step == "adagrad_norm":
        D0 = pick(learner.D0) if learner.D0 is not None else learner.domain.diameter(d)
        return D0 / math.sqrt(grad_sq_sum) if grad_sq_sum > 0 else math.inf
    return pick(learner.eta)


def _pinv_solve(P: np.ndarray, g: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(P, rcond=1e-13, hermitian=True) @ g


class ReferenceLearner:
    """Per-step precision ``P_t`` (dense) of each registered learner, from THEORY.md 2.x."""

    def __init__(self, learner: Any, d: int, hindsight: dict[str, Any] | None = None) -> None:
        self.learner, self.d, self.t = learner, d, 0
        self.grad_sq_sum = float(getattr(learner, "eps0", 0.0) or 0.0)
        self.s = np.full(d, float(getattr(learner, "eps0", 0.0) or 0.0))
        self.O = float(getattr(learner, "eps0", 0.0) or 0.0) * np.eye(d)
        self.hindsight = hindsight

    def _shampoo(self, g: np.ndarray) -> np.ndarray:
        """(41): P_t = (L_t^{1/4} kron R_t^{1/4}) / eta as a dense Kronecker product, with
        fractional matrix powers from scipy (I.1 idealized: tr(L)^{-1/2} L^{1/2} kron R^{1/2})."""
        L = self.learner
        m, n = L.shape
        G = g.reshape(m, n)
        if self.t == 1:
            start = 0.0 if L.statistics == "ema" else L.eps
            self.Lf, self.Rf = start * np.eye(m), start * np.eye(n)
        if L.statistics == "sum":
            self.Lf, self.Rf = self.Lf + G @ G.T, self.Rf + G.T @ G
        else:
            self.Lf = L.beta * self.Lf + (1 - L.beta) * G @ G.T
            self.Rf = L.beta * self.Rf + (1 - L.beta) * G.T @ G
        if (self.t - 1) % L.recompute_every == 0:
            Lm, Rm = self.Lf, self.Rf
            if L.statistics == "ema":
                Lm = Lm / (1 - L.beta**self.t) + L.eps * np.eye(m)
                Rm = Rm / (1 - L.beta**self.t) + L.eps * np.eye(n)
            power = 0.25 if L.root == "quarter" else 0.5
            left = np.real(linalg.fractional_matrix_power(Lm, power))
            right = np.real(linalg.fractional_matrix_power(Rm, power))
            A = np.kron((left + left.T) / 2, (right + right.T) / 2)
            if L.root == "idealized":
                A = A / math.sqrt(np.trace(Lm))
            self.shampoo_P = A / L.step_size(m, n)
        return self.shampoo_P

    def step(self, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(w~_{t+1}, P_t)``: the unprojected step and the projection geometry."""
        from reference_modern import STEPS, modern_step

        if self.learner.name in STEPS:  # issue 18's optimizers (tests/reference_modern.py)
            return modern_step(self, w, g)
        from online_reference import ONLINE_REFERENCES

        if self.learner.name in ONLINE_REFERENCES:  # projected by the reference itself
            if not hasattr(self, "online"):
                self.online = ONLINE_REFERENCES[self.learner.name](self.learner, self.d,
                                                                    self.domain)
            return self.online.step(w, g), None
        if self.learner.name in ("adam", "rmsprop", "amsgrad", "adamw"):
            return self._adam(w, g)
        if self.learner.name == "eg":
            return self._eg(w, g), None
        if self.learner.name == "universal":
            return self._universal(g), None
        if self.learner.name == "uniform_crp":
            return np.full(self.d, 1.0 / self.d), None
        if self.learner.name == "buy_and_hold":  # each asset's holding grows by x_i
            x = -np.asarray(g, dtype=float)
            if not np.all(x > 0):
                return np.full(self.d, np.nan), None
            held = [wi * xi for wi, xi in zip(w, x, strict=True)]
            return np.array(held) / math.fsum(held), None
        if self.learner.name == "adafactor":
            return self._adafactor(w, g)
        if self.learner.name == "adam_nmf":
            return self._adam_nmf(w, g)
        P = self.precision(g)
        return w - _pinv_solve(P, g), P

    def _adafactor(self, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Section 5.1 with E16-E17: row and column sums of G^2 + eps1, entry by entry."""
        L = self.learner
        m, n = L.shape
        self.t += 1
        t = self.t
        G = g.reshape(m, n)
        if t == 1:
            self.rows, self.cols, self.mom = np.zeros(m), np.zeros(n), np.zeros((m, n))
        C = G * G + L.eps1
        for i in range(m):
            self.rows[i] = L.beta * self.rows[i] + (1 - L.beta) * math.fsum(C[i, :])
        for j in range(n):
            self.cols[j] = L.beta * self.cols[j] + (1 - L.beta) * math.fsum(C[:, j])
        total = (1 - L.beta**t) * math.fsum(self.rows)
        if L.beta1 > 0:
            self.mom = L.beta1 * self.mom + (1 - L.beta1) * G
            M = self.mom / (1 - L.beta1**t)
        else:
            M = G
        denom = np.array([[math.sqrt(self.rows[i] * self.cols[j] / total) + L.eps
                           for j in range(n)] for i in range(m)])
        y = w - L.eta * (M / denom).reshape(-1)
        return y, np.diag(denom.reshape(-1) / L.eta)

    def _adam_nmf(self, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """K.2 with the blockwise EM of E19-E20, index by index (eq. (95))."""
        L = self.learner
        m, n = L.shape
        r = L.rank
        self.t += 1
        if self.t == 1:
            rng = np.random.default_rng(np.random.SeedSequence(L.seed,
                                                               spawn_key=(self.repetition,)))
            self.A = np.maximum(rng.uniform(0, L.eps_init, size=(m, r)), 1e-150)
            self.B = np.maximum(rng.uniform(0, L.eps_init, size=(r, n)), 1e-150)
        G = g.reshape(m, n)
        C = G * G
        A, B = self.A, self.B
        AB = A @ B
        A_new = np.empty_like(A)
        for i in range(m):
            for k in range(r):
                num = sum(C[i, j] * B[k, j] / AB[i, j] for j in range(n) if AB[i, j] > 0)
                A_new[i, k] = max(A[i, k] * num / B[k, :].sum(), 1e-150)
        AB = A_new @ B
        B_new = np.empty_like(B)
        for k in range(r):
            for j in range(n):
                num = sum(A_new[i, k] * C[i, j] / AB[i, j] for i in range(m) if AB[i, j] > 0)
                B_new[k, j] = max(B[k, j] * num / A_new[:, k].sum(), 1e-150)
        self.A, self.B = A_new, B_new
        denom = np.sqrt(A_new @ B_new) + L.eps
        y = w - L.eta * (G / denom).reshape(-1)
        return y, np.diag(denom.reshape(-1) / L.eta)

    def _universal(self, g: np.ndarray) -> np.ndarray:
        """Cover (1991): ``int b S_t(b) db / int S_t(b) db`` over the simplex with
        ``x_s = -g_s``. Exact: S_t is a polynomial of degree t, integrated by Gauss-Legendre
        rules exact for its degree (d = 2 on [0, 1]; d = 3 on the triangle through the
        collapsed coordinates b = (u, (1 - u) v, (1 - u)(1 - v)), Jacobian 1 - u); sampled:
        the same mixture over N Dirichlet(1) portfolios drawn by the documented recipe."""
        L, d = self.learner, self.d
        if not hasattr(self, "up_x"):
            self.up_x = []
        x = -np.asarray(g, dtype=float)
        if not np.all(x > 0):
            return np.full(d, np.nan)
        self.up_x.append(x)
        X = np.array(self.up_x)
        t = len(self.up_x)
        if L.exact(d):
            n = t // 2 + 3
            nodes, weights = np.polynomial.legendre.leggauss(n)
            u, wu = (nodes + 1) / 2, weights / 2
            if d == 2:
                B = np.stack([u, 1 - u], axis=1)
                mass = wu
            else:
                U, V = np.meshgrid(u, u, indexing="ij")
                B = np.stack([U.ravel(), ((1 - U) * V).ravel(), ((1 - U) * (1 - V)).ravel()],
                             axis=1)
                mass = (np.outer(wu, wu) * (1 - U)).ravel()
        else:
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                entropy=L.seed, spawn_key=(d,))))
            B = rng.dirichlet(np.ones(d), size=L.samples)
            mass = np.ones(len(B))
        logS = np.array([math.fsum(math.log(float(b @ xs)) for xs in X) for b in B])
        S = mass * np.exp(logS - logS.max())
        return np.array([math.fsum(S * B[:, i]) for i in range(d)]) / math.fsum(S)

    def _eg(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        """(60): w_{t+1,i} = w_{t,i} exp(-eta_t g_i) / sum_j w_{t,j} exp(-eta_t g_j), with the
        exponent shifted by its maximum (exact algebra, no overflow)."""
        L, d = self.learner, self.d
        self.t += 1
        if L.step in ("constant", "hindsight"):
            eta = float(np.asarray(L.eta).reshape(-1)[0])
        else:
            n = L.horizon if L.step == "tuned" else self.t
            eta = math.sqrt(2 * math.log(d) / n) / L.L_inf
        exponents = [math.log(wi) - eta * gi for wi, gi in zip(w, g, strict=True)]
        top = max(exponents)
        weights = [math.exp(e - top) for e in exponents]
        total = math.fsum(weights)
        return np.array([v / total for v in weights])

    def _adam(self, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Section 4.4's pseudocode, coordinate by coordinate (errata E8-E11 applied)."""
        L, d = self.learner, self.d
        self.t += 1
        t = self.t
        if t == 1:
            self.m, self.v, self.vmax = np.zeros(d), np.full(d, float(L.v0)), np.zeros(d)
        b1, b2, lam = float(L.beta1), float(L.beta2), float(L.weight_decay)
        s_t = L.schedule.value(t)
        eta_t = float(L.eta) * s_t
        y, p = np.empty(d), np.empty(d)
        for i in range(d):
            gi = g[i] + (lam * w[i] if L.name != "adamw" else 0.0)
            self.m[i] = b1 * self.m[i] + (1 - b1) * gi
            self.v[i] = b2 * self.v[i] + (1 - b2) * gi * gi
            c1 = 1 - b1**t if L.bias_correction else 1.0
            c2 = 1 - b2**t if L.bias_correction else 1.0
            m_hat = self.m[i] / c1
            if L.name == "amsgrad" and L.max_before_bias_correction:
                self.vmax[i] = max(self.vmax[i], self.v[i])
                v_hat = self.vmax[i] / c2
            elif L.name == "amsgrad":
                self.vmax[i] = max(self.vmax[i], self.v[i] / c2)
                v_hat = self.vmax[i]
            else:
                v_hat = self.v[i] / c2
            den = math.sqrt(v_hat + L.eps) if L.eps_inside_sqrt else math.sqrt(v_hat) + L.eps
            direction = m_hat / den if den > 0 and eta_t > 0 else 0.0
            if L.name == "adamw" and L.decoupled:
                y[i] = (1 - s_t * lam) * w[i] - eta_t * direction
            elif L.name == "adamw":
                y[i] = w[i] - eta_t * (direction + lam * w[i])
            else:
                y[i] = w[i] - eta_t * direction
            p[i] = den / eta_t if eta_t > 0 else math.inf
        return y, np.diag(p)

    def precision(self, g: np.ndarray) -> np.ndarray:
        L, d = self.learner, self.d
        self.t += 1
        if L.name == "ogd":
            self.grad_sq_sum += float(g @ g)
            eta = ogd_step_size(L, self.t, self.grad_sq_sum, d)
            return np.eye(d) / eta if math.isfinite(eta) else np.zeros((d, d))
        if L.name == "adagrad_diag":
            self.s = self.s + g * g
            c = L.eta * L.scale(d)
            return np.diag([(math.sqrt(si) + L.eps) / ci if si > 0 else 0.0
                            for si, ci in zip(self.s, c, strict=True)])
        if L.name == "shampoo":
            return self._shampoo(g)
        if L.name == "ons":  # Hazan, Agarwal, Kale 2007: A_t = eps I + sum g g^T, P = gamma A_t
            D = math.sqrt(2.0)  # the simplex's diameter
            gamma = L.gamma if L.gamma is not None else 0.5 * min(1 / (4 * L.G * D), L.alpha)
            eps = L.eps if L.eps is not None else 1 / (gamma**2 * D**2)
            if self.t == 1:
                self.ons_A = eps * np.eye(d)
            self.ons_A = self.ons_A + np.outer(g, g)
            return gamma * self.ons_A
        if L.name == "adagrad_full":
            self.O = self.O + np.outer(g, g)
            root = np.real(linalg.sqrtm(self.O))
            return (root + root.T) / 2 / L.step_size(d)
        if L.name == "fixed_preconditioner":
            A = np.diag(L.A) if L.A.ndim == 1 else L.A
            eta = L.c / math.sqrt(self.t) if L.step == "sqrt" else L.eta
            return A / eta
        if L.name == "adagrad_oracle":
            h = self.hindsight
            beta = np.sqrt(h["squares"])
            if L.form == "eq31":
                return np.diag([b / dl if dl > 0 else 0.0
                                for b, dl in zip(beta, h["delta1"], strict=True)])
            D0 = L.step_size(d)
            if L.form == "eq35":
                return np.diag(beta) / D0
            root = np.real(linalg.sqrtm(h["outer"] + L.eps0 * np.eye(d)))
            return (root + root.T) / 2 / D0
        raise NotImplementedError(L.name)


def reference_game(learner: Any, adversary: Any, domain: Any, d: int, T: int, seed: int,
                   repetition: int, row: int = 0, w1: Any = None) -> dict[str, Any]:
    """Play one repetition with plain loops from ``w1`` (the scenario's start point; None:
    the domain's centre). Returns iterates w_1..w_{T+1}, gradients, losses, loss
    parameters, the step sizes (OGD) and the precisions P_t (dense)."""
    family = adversary.loss_family(d)
    rngs = repetition_generators(seed, np.array([repetition]), adversary.streams)
    data = adversary.draw(rngs, 1, T + 1, d)[:, 0]
    w1 = np.asarray(domain.initial_point(d) if w1 is None else w1, dtype=float)
    hindsight = None
    if learner.name == "adagrad_oracle":  # realized statistics of an oblivious linear game
        G = data.sum(axis=0)
        hindsight = {"squares": np.sum(data**2, axis=0), "outer": data.T @ data,
                     "delta1": np.abs(w1 - reference_linear_comparator(domain, G))}
    reference = ReferenceLearner(learner.for_horizon(T), d, hindsight)
    reference.repetition = repetition
    reference.domain = domain
    w = w1
    iterates, grads, losses, params_all, etas, precisions = [w.copy()], [], [], [], [], []
    for t in range(1, T + 1):
        params = np.asarray(adversary.respond(data[t - 1][None], w[None], t, np))[0]
        g = loss_gradient(family, params, w)
        losses.append(loss_value(family, params, w))
        y, P = reference.step(w, g)
        if P is None:  # EG: the normalization is the Bregman projection
            w = y
        elif np.all(np.isfinite(P)):
            w = reference_projection(domain, y, P if learner.projection == "bregman"
                                     else np.eye(d))
        else:  # a zero step size (a schedule at 0): no step, w stays in V
            w = y
        iterates.append(w.copy())
        grads.append(g)
        params_all.append(params)
        precisions.append(P if P is not None else np.full((d, d), np.nan))
        etas.append(1.0 / P[0, 0] if learner.name == "ogd" and P[0, 0] > 0 else math.inf)
    return {"w": np.array(iterates), "g": np.array(grads), "loss": np.array(losses),
            "params": np.array(params_all), "eta": np.array(etas), "family": family,
            "P": np.array(precisions), "reference": reference}


def reference_linear_comparator(domain: Any, G: np.ndarray) -> np.ndarray:
    """THEORY.md section 0: ball -> c - rho G/||G||; box -> low where G > 0, high where G < 0."""
    d = G.size
    if domain.name == "ball":
        c = np.broadcast_to(np.asarray(domain.centre, dtype=float), (d,))
        n = np.linalg.norm(G)
        return c - domain.radius * G / n if n > 0 else c.copy()
    lo = np.broadcast_to(np.asarray(domain.low, dtype=float), (d,))
    hi = np.broadcast_to(np.asarray(domain.high, dtype=float), (d,))
    return np.where(G > 0, lo, np.where(G < 0, hi, (lo + hi) / 2))


def reference_mirror_bounds(game: dict[str, Any], u: np.ndarray, tau: int) -> dict[str, float]:
    """(8), (10), (18) and their ingredients by direct sums with the dense P_t."""
    w, g, P = game["w"], game["g"], game["P"]
    first8 = first10 = grad = 0.0
    previous = np.zeros_like(P[0])
    for t in range(tau):
        a, b = w[t] - u, w[t + 1] - u
        first8 += 0.5 * (a @ P[t] @ a - b @ P[t] @ b)
        first10 += 0.5 * (a @ (P[t] - previous) @ a)
        grad += 0.5 * g[t] @ _pinv_solve(P[t], g[t])
        previous = P[t]
    D = max(np.linalg.norm(w[t] - u) for t in range(tau))
    return {"eq8": first8 + grad, "eq10": first10 + grad,
            "eq18": D**2 * np.trace(P[tau - 1]) / 2 + grad, "gradient_term": grad, "D": D,
            "delta": np.max(np.abs(w[:tau] - u), axis=0), "D1": float(np.linalg.norm(w[0] - u)),
            "L": max(np.linalg.norm(g[t]) for t in range(tau)),
            "S": float(np.sum(g[:tau] ** 2)), "squares": np.sum(g[:tau] ** 2, axis=0),
            "inverse_eta": float(P[tau - 1][0, 0]) if np.any(P[tau - 1]) else 0.0}


def reference_ogd_bounds(game: dict[str, Any], u: np.ndarray, tau: int) -> dict[str, float]:
    return reference_mirror_bounds(game, u, tau)
