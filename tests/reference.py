"""Independent slow references, written from the formulas of THEORY.md, one repetition at
a time with plain Python loops. They share no code with occ's kernels except the
adversary's ``draw`` (which defines the random loss data) and its ``respond`` for
adaptive adversaries (which defines the game)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize

from occ.harness import repetition_generators


# ----------------------------------------------------------------------------- losses
def loss_value(family: Any, params: np.ndarray, w: np.ndarray) -> float:
    if family.name == "linear":
        return float(sum(p * x for p, x in zip(params, w, strict=True)))
    if family.name == "quadratic":
        return 0.5 * float(sum(h * (x - p) ** 2 for h, x, p in zip(family.h, w, params,
                                                                   strict=True)))
    raise NotImplementedError(family.name)


def loss_gradient(family: Any, params: np.ndarray, w: np.ndarray) -> np.ndarray:
    if family.name == "linear":
        return np.array(params, dtype=float)
    if family.name == "quadratic":
        return np.array([h * (x - p) for h, x, p in zip(family.h, w, params, strict=True)])
    raise NotImplementedError(family.name)


# ------------------------------------------------------------------------- projections
def euclidean_projection(domain: Any, y: np.ndarray) -> np.ndarray:
    """Plain Euclidean projection, coordinate by coordinate where possible."""
    if domain.name == "unconstrained":
        return y.copy()
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
        if domain.name == "box":
            lo = np.broadcast_to(np.asarray(domain.low, dtype=float), (d,))
            hi = np.broadcast_to(np.asarray(domain.high, dtype=float), (d,))
            res = optimize.linprog(G, bounds=list(zip(lo, hi, strict=True)), method="highs")
            return res.x, float(res.fun)
        fun = lambda w: float(G @ w)  # noqa: E731
        jac = lambda w: G  # noqa: E731
    else:
        h = family.h
        X, Q, n = params.sum(axis=0), float(np.sum(h * params**2)), T
        fun = lambda w: 0.5 * (n * np.sum(h * w * w) - 2 * np.sum(h * w * X) + Q)  # noqa: E731
        jac = lambda w: h * (n * w - X)  # noqa: E731
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


def reference_game(learner: Any, adversary: Any, domain: Any, d: int, T: int, seed: int,
                   repetition: int, row: int = 0) -> dict[str, Any]:
    """Play one repetition with plain loops. Returns iterates w_1..w_{T+1}, gradients,
    losses, loss parameters and the step sizes eta_t."""
    family = adversary.loss_family(d)
    rngs = repetition_generators(seed, np.array([repetition]), adversary.streams)
    data = adversary.draw(rngs, 1, T + 1, d)[:, 0]
    w = np.asarray(domain.initial_point(d), dtype=float)
    iterates, grads, losses, params_all, etas = [w.copy()], [], [], [], []
    grad_sq_sum = float(learner.eps0) if hasattr(learner, "eps0") else 0.0
    for t in range(1, T + 1):
        params = np.asarray(adversary.respond(data[t - 1][None], w[None], t, np))[0]
        g = loss_gradient(family, params, w)
        losses.append(loss_value(family, params, w))
        grad_sq_sum += float(sum(v * v for v in g))
        eta = ogd_step_size(learner, t, grad_sq_sum, d, row)
        y = w - (eta * g if math.isfinite(eta) else 0.0 * g)
        w = euclidean_projection(domain, y)
        iterates.append(w.copy())
        grads.append(g)
        params_all.append(params)
        etas.append(eta)
    return {"w": np.array(iterates), "g": np.array(grads), "loss": np.array(losses),
            "params": np.array(params_all), "eta": np.array(etas), "family": family}


def reference_ogd_bounds(game: dict[str, Any], u: np.ndarray, tau: int) -> dict[str, float]:
    """(8), (10), the gradient term, D, D1 and L at checkpoint tau, by direct sums over
    the iterates for the spherical geometry ``A_t = I``."""
    w, g, eta = game["w"], game["g"], game["eta"]
    first8 = first10 = grad = 0.0
    previous_inverse = 0.0
    for t in range(tau):
        inv = 0.0 if not math.isfinite(eta[t]) else 1.0 / eta[t]
        a, b = np.sum((u - w[t]) ** 2), np.sum((u - w[t + 1]) ** 2)
        first8 += 0.5 * inv * (a - b)
        first10 += 0.5 * (inv - previous_inverse) * a
        grad += 0.5 * (eta[t] * np.sum(g[t] ** 2) if math.isfinite(eta[t]) else 0.0)
        previous_inverse = inv
    D = max(np.linalg.norm(w[t] - u) for t in range(tau))
    return {"eq8": first8 + grad, "eq10": first10 + grad, "gradient_term": grad, "D": D,
            "D1": float(np.linalg.norm(w[0] - u)),
            "L": max(np.linalg.norm(g[t]) for t in range(tau)),
            "S": float(np.sum(g[:tau] ** 2)), "inverse_eta": previous_inverse}
