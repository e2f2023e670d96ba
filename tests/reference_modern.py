"""Independent references for the optimizers of issue 18 (ADOPT, Lion, Adam-mini,
schedule-free AdamW, Muon, SOAP), written from each paper's algorithm one repetition at a
time, coordinate by coordinate where the step is elementwise. They share no code with
occ's learners: :class:`reference.ReferenceLearner` calls :func:`modern_step`, which keeps
its state on the reference object. Each returns ``(y, P)``: the unprojected next point
and the projection geometry (the identity: every one of these projects in the l2 norm)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

NS = (3.4445, -4.7750, 2.0315)


def _clip(x: float, c: float) -> float:
    return min(max(x, -c), c)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _eta(L: Any, t: int) -> float:
    return float(np.asarray(L.eta).reshape(-1)[0]) * L.schedule.value(t)


def _euclidean(domain: Any, y: np.ndarray) -> np.ndarray:
    from reference import euclidean_projection

    return euclidean_projection(domain, y)


def adopt(ref: Any, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Taniguchi et al. 2024, Algorithms 1-2: v_0 = g_0^2, then normalize, clip, momentum."""
    L, d, t = ref.learner, ref.d, ref.t
    if t == 1:
        ref.m, ref.v = [0.0] * d, [gi * gi for gi in g]
        return w.copy()
    eta = _eta(L, t)
    y = np.empty(d)
    for i in range(d):
        floor = max(math.sqrt(ref.v[i]), L.eps)
        n = g[i] / floor if floor > 0 else 0.0
        if L.clipping:
            n = _clip(n, (t - 1) ** 0.25)
        ref.m[i] = L.beta1 * ref.m[i] + (1 - L.beta1) * n
        y[i] = w[i] - eta * ref.m[i]
        ref.v[i] = L.beta2 * ref.v[i] + (1 - L.beta2) * g[i] * g[i]
    return y


def lion(ref: Any, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Chen et al. 2023, Algorithm 2 / Program 1."""
    L, d, t = ref.learner, ref.d, ref.t
    if t == 1:
        ref.m = [0.0] * d
    eta = _eta(L, t)
    y = np.empty(d)
    for i in range(d):
        c = L.beta1 * ref.m[i] + (1 - L.beta1) * g[i]
        y[i] = w[i] - eta * (_sign(c) + L.weight_decay * w[i])
        ref.m[i] = L.beta2 * ref.m[i] + (1 - L.beta2) * g[i]
    return y


def _blocks(L: Any, d: int) -> list[list[int]]:
    """The partition as lists of coordinates (labels, else consecutive blocks)."""
    if L.blocks is not None:
        labels = list(L.blocks) if len(L.blocks) == d else [L.blocks[0]] * d
        groups: dict[float, list[int]] = {}
        for i, label in enumerate(labels):
            groups.setdefault(label, []).append(i)
        return list(groups.values())
    size = L.block_size or d
    return [list(range(s, min(s + size, d))) for s in range(0, d, size)]


def adam_mini(ref: Any, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Zhang et al. 2024, Algorithm 1: one v per block, the block mean of g^2."""
    L, d, t = ref.learner, ref.d, ref.t
    blocks = _blocks(L, d)
    if t == 1:
        ref.m, ref.vb = [0.0] * d, [0.0] * len(blocks)
    eta = _eta(L, t)
    y = np.empty(d)
    for b, members in enumerate(blocks):
        mean = math.fsum(g[i] * g[i] for i in members) / len(members)
        ref.vb[b] = L.beta2 * ref.vb[b] + (1 - L.beta2) * mean
        denom = math.sqrt(ref.vb[b] / (1 - L.beta2**t)) + L.eps
        for i in members:
            ref.m[i] = L.beta1 * ref.m[i] + (1 - L.beta1) * g[i]
            step = (ref.m[i] / (1 - L.beta1**t)) / denom if denom > 0 else 0.0
            y[i] = (1 - eta * L.weight_decay) * w[i] - eta * step
    return y


def schedule_free(ref: Any, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Defazio et al. 2024, Algorithm 1 (the reference code's weights gamma_max^2): w is
    y_t; returns y_{t+1} (z projected, x and y convex combinations)."""
    L, d, t = ref.learner, ref.d, ref.t
    if t == 1:
        ref.z, ref.x, ref.v = w.copy(), w.copy(), [0.0] * d
        ref.weight_sum, ref.gamma_max = 0.0, 0.0
        ref.shadow = [w.copy()]
    base = _eta(L, t)
    gamma = base * math.sqrt(1 - L.beta2**t)
    z = np.empty(d)
    for i in range(d):
        ref.v[i] = L.beta2 * ref.v[i] + (1 - L.beta2) * g[i] * g[i]
        denom = math.sqrt(ref.v[i]) + L.eps
        direction = g[i] / denom if denom > 0 else 0.0
        z[i] = ref.z[i] - gamma * (direction + L.weight_decay * w[i])
    ref.z = _euclidean(L.domain, z)
    ref.gamma_max = max(ref.gamma_max, gamma if L.weight_bias_corrected else base)
    ref.weight_sum += ref.gamma_max**2
    c = ref.gamma_max**2 / ref.weight_sum if ref.weight_sum > 0 else 0.0
    ref.x = np.array([(1 - c) * ref.x[i] + c * ref.z[i] for i in range(d)])
    ref.shadow.append(ref.x.copy())
    return np.array([(1 - L.beta1) * ref.z[i] + L.beta1 * ref.x[i] for i in range(d)])


def newton_schulz(M: np.ndarray, steps: int, eps: float) -> np.ndarray:
    """Jordan's quintic iteration on one matrix."""
    a, b, c = NS
    X = M.T.copy() if M.shape[0] > M.shape[1] else M.copy()
    norm = math.sqrt(math.fsum(float(v) ** 2 for v in X.ravel())) + eps
    X = X / norm if norm > 0 else X * 0.0
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if M.shape[0] > M.shape[1] else X


def muon(ref: Any, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Jordan et al. 2024 (torch.optim.Muon's momentum; optax's bias correction as a flag)."""
    L, t = ref.learner, ref.t
    m, n = L.shape
    G = g.reshape(m, n)
    if t == 1:
        ref.B = np.zeros((m, n))
    b = L.beta
    ref.B = b * ref.B + (1 - b) * G
    if L.bias_correction:
        M = (b * ref.B / (1 - b ** (t + 1)) + (1 - b) * G / (1 - b**t) if L.nesterov
             else ref.B / (1 - b**t))
    else:
        M = (1 - b) * G + b * ref.B if L.nesterov else ref.B
    O = newton_schulz(M, L.ns_steps, L.eps)  # noqa: E741
    scale = {"original": math.sqrt(max(1.0, m / n)), "moonlight": 0.2 * math.sqrt(max(m, n)),
             "none": 1.0}[L.lr_scale]
    eta = _eta(L, t)
    return (1 - eta * L.weight_decay) * w - eta * scale * O.reshape(-1)


def _completed(Q: np.ndarray, loose: list[bool]) -> np.ndarray:
    """Q's loose columns replaced, one at a time, by the lowest-index column of the
    complement projector whose squared norm is within k eps of the largest, normalized,
    the projector deflated after each (occ's convention for a basis LAPACK leaves free)."""
    k = Q.shape[0]
    C = np.eye(k)
    for j in range(k):
        if not loose[j]:
            C -= np.outer(Q[:, j], Q[:, j])
    out = Q.copy()
    for j in range(k):
        if loose[j]:
            top = max(C[i, i] for i in range(k))
            p = next(i for i in range(k) if C[i, i] >= top - k * np.finfo(float).eps)
            v = C[:, p] / math.sqrt(C[p, p])
            C -= np.outer(v, v)
            out[:, j] = v
    return out


def _soap_basis(S: np.ndarray) -> np.ndarray:
    values, Q = np.linalg.eigh(S + 1e-30 * np.eye(len(S)))
    values, Q = values[::-1], Q[:, ::-1]
    top = max(abs(values))
    return _completed(Q, [abs(x) <= len(S) * np.finfo(float).eps * top for x in values])


def _soap_qr(A: np.ndarray) -> np.ndarray:
    Q, R = np.linalg.qr(A)
    diagonal = [abs(R[j, j]) for j in range(len(A))]
    loose, seen = [], False
    for x in diagonal:
        seen = seen or x <= len(A) * np.finfo(float).eps * max(diagonal)
        loose.append(seen)
    return _completed(Q, loose)


def soap(ref: Any, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Vyas et al. 2024, Algorithm 3, as the authors' soap.py orders it."""
    L, t = ref.learner, ref.t
    m, n = L.shape
    G = g.reshape(m, n)
    bs = L.beta2 if L.shampoo_beta is None else L.shampoo_beta
    if t == 1:
        ref.Ls, ref.Rs = (1 - bs) * G @ G.T, (1 - bs) * G.T @ G
        ref.QL, ref.QR = _soap_basis(ref.Ls), _soap_basis(ref.Rs)
        ref.M, ref.V = np.zeros((m, n)), np.zeros((m, n))
        return w.copy()
    k = t - 1
    rotated = ref.QL.T @ G @ ref.QR
    ref.M = L.beta1 * ref.M + (1 - L.beta1) * G
    Mr = ref.QL.T @ ref.M @ ref.QR
    ratio = np.empty((m, n))
    for i in range(m):
        for j in range(n):
            ref.V[i, j] = L.beta2 * ref.V[i, j] + (1 - L.beta2) * rotated[i, j] ** 2
            denom = math.sqrt(ref.V[i, j]) + L.eps
            ratio[i, j] = Mr[i, j] / denom if denom > 0 else 0.0
    N = ref.QL @ ratio @ ref.QR.T
    eta = _eta(L, t)
    factor = math.sqrt(1 - L.beta2**k) / (1 - L.beta1**k) if L.correct_bias else 1.0
    y = (1 - eta * L.weight_decay) * (w - eta * factor * N.reshape(-1))
    ref.Ls = bs * ref.Ls + (1 - bs) * G @ G.T
    ref.Rs = bs * ref.Rs + (1 - bs) * G.T @ G
    if k % L.precondition_frequency == 0:
        for side in ("L", "R"):
            S, Q = (ref.Ls, ref.QL) if side == "L" else (ref.Rs, ref.QR)
            order = np.argsort(-np.diag(Q.T @ S @ Q), kind="stable")
            Q = _soap_qr(S @ Q[:, order])
            if side == "L":
                ref.QL, ref.V = Q, ref.V[order, :]
            else:
                ref.QR, ref.V = Q, ref.V[:, order]
    return y


STEPS = {"adopt": adopt, "lion": lion, "adam_mini": adam_mini,
         "schedule_free_adamw": schedule_free, "muon": muon, "soap": soap}


def modern_step(ref: Any, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref.t += 1
    return STEPS[ref.learner.name](ref, np.asarray(w, dtype=float), g), np.eye(ref.d)
