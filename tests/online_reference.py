"""Independent per-repetition references for the issue-17 learners (KT, FTRL, optimistic
OGD, AdaHedge, COCOB, DoG, DoWG, Prodigy), written from their papers' update rules with
plain Python loops over coordinates; they call none of occ's learner code. Each is a small
object with ``step(w, g) -> w_next`` (the played point of the next round, projected)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from reference import euclidean_projection


def _norm(v: list[float] | np.ndarray) -> float:
    return math.sqrt(math.fsum(x * x for x in v))


class KTReference:
    """Orabona and Pal (2016): bettors with wealth eps, KT fraction sum c / t; the
    Cutkosky-Orabona (2018) reductions (magnitude x direction; constraint set)."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.L, self.d, self.domain, self.t = learner, d, domain, 0
        self.centre = np.asarray(domain.initial_point(d), dtype=float)
        self.x = [0.0] * d
        self.eps, self.G = float(learner.eps), float(learner.G)
        self.wealth = [self.eps] * d if learner.form == "coordinate" else self.eps
        self.coins = [0.0] * d
        self.coin = 0.0  # the magnitude's coin sum (reduction)
        self.y = [0.0] * d
        self.squares = 0.0

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.t += 1
        t, d = self.t, self.d
        h = [gi / self.G for gi in g]
        if self.domain.name != "unconstrained":  # g~ = (g + ||g|| n)/2, n the outer normal
            out = [self.centre[i] + self.x[i] - w[i] for i in range(d)]
            gap, size = _norm(out), _norm(h)
            h = [(h[i] + (size * out[i] / gap if gap > 0 else 0.0)) / 2 for i in range(d)]
        c = [-v for v in h]
        if self.L.form == "coordinate":
            for i in range(d):
                self.wealth[i] += c[i] * self.x[i]
                self.coins[i] += c[i]
            self.x = [self.coins[i] / (t + 1) * self.wealth[i] for i in range(d)]
        elif self.L.form == "hilbert":
            self.wealth += math.fsum(c[i] * self.x[i] for i in range(d))
            self.coins = [self.coins[i] + c[i] for i in range(d)]
            self.x = [self.coins[i] / (t + 1) * self.wealth for i in range(d)]
        else:
            z = self.coin / t * self.wealth  # the bet z_t on this round's coin
            s = math.fsum(c[i] * self.y[i] for i in range(d))
            self.wealth += s * z
            self.coin += s
            self.squares += math.fsum(v * v for v in c)
            eta = math.sqrt(2.0) / math.sqrt(self.squares) if self.squares > 0 else 0.0
            y = [self.y[i] + eta * c[i] for i in range(d)]
            n = _norm(y)
            self.y = [v / n for v in y] if n > 1 else y
            z = self.coin / (t + 1) * self.wealth
            self.x = [z * v for v in self.y]
        return euclidean_projection(self.domain, self.centre + np.array(self.x))


class FTRLReference:
    """Dual averaging: w_{t+1} = Proj(w_1 - a_{t+1} sum_{s<=t} g_s)."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.L, self.domain, self.t = learner, domain, 0
        self.centre = np.asarray(domain.initial_point(d), dtype=float)
        self.columns = [[] for _ in range(d)]

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.t += 1
        for i, gi in enumerate(g):
            self.columns[i].append(float(gi))
        a = float(self.L.eta) if self.L.step == "constant" else float(self.L.c) / math.sqrt(
            self.t + 1)
        y = [self.centre[i] - a * math.fsum(col) for i, col in enumerate(self.columns)]
        return euclidean_projection(self.domain, np.array(y))


class OptimisticReference:
    """OMD: v_{t+1} = Proj(v_t - eta g_t), w_{t+1} = Proj(v_{t+1} - eta g_t); FTRL:
    w_{t+1} = Proj(w_1 - eta (sum_{s<=t} g_s + g_t))."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.eta, self.domain, self.form = float(learner.eta), domain, learner.form
        self.v = np.asarray(domain.initial_point(d), dtype=float)
        self.w1, self.columns = self.v.copy(), [[] for _ in range(d)]
        hint = learner.hint  # None: the last gradient; else a number or d numbers
        self.fixed = None if hint is None else [float(h) for h in (
            hint if isinstance(hint, tuple) else [hint] * d)]

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        m = [float(gi) for gi in g] if self.fixed is None else self.fixed  # m_{t+1}
        if self.form == "ftrl":
            for i, gi in enumerate(g):
                self.columns[i].append(float(gi))
            return euclidean_projection(self.domain, np.array(
                [self.w1[i] - self.eta * (math.fsum(col) + m[i])
                 for i, col in enumerate(self.columns)]))
        self.v = euclidean_projection(self.domain, np.array(
            [vi - self.eta * gi for vi, gi in zip(self.v, g, strict=True)]))
        return euclidean_projection(self.domain, np.array(
            [vi - self.eta * mi for vi, mi in zip(self.v, m, strict=True)]))


class AdaHedgeReference:
    """The paper's Figure 1 (Matlab) line by line, one repetition."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.K, self.L, self.Delta = d, [0.0] * d, 0.0

    def _mix(self, eta: float, L: list[float]) -> tuple[list[float], float]:
        mn = min(L)
        w = [1.0 if v == mn else 0.0 for v in L] if eta == math.inf else [
            math.exp(-eta * (v - mn)) for v in L]
        s = math.fsum(w)
        M = mn if eta == math.inf else mn - math.log(s / self.K) / eta
        return [v / s for v in w], M

    def _eta(self) -> float:
        return math.log(self.K) / self.Delta if self.Delta > 0 else math.inf

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        eta = self._eta()
        weights, before = self._mix(eta, self.L)
        h = math.fsum(a * b for a, b in zip(weights, g, strict=True))
        self.L = [a + float(b) for a, b in zip(self.L, g, strict=True)]
        _, after = self._mix(eta, self.L)
        self.Delta += max(0.0, h - (after - before))
        return np.array(self._mix(self._eta(), self.L)[0])


class COCOBReference:
    """Orabona and Tommasi (2017), Algorithm 2, coordinate by coordinate."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.alpha, self.domain = float(learner.alpha), domain
        self.w1 = np.asarray(domain.initial_point(d), dtype=float)
        self.Lmax, self.G = [float(learner.eps)] * d, [0.0] * d
        self.theta, self.reward = [0.0] * d, [0.0] * d

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        y = []
        for i, gi in enumerate(g):
            self.Lmax[i] = max(self.Lmax[i], abs(gi))
            self.G[i] += abs(gi)
            self.reward[i] = max(self.reward[i] - gi * (w[i] - self.w1[i]), 0.0)
            self.theta[i] -= gi
            L = self.Lmax[i]
            y.append(self.w1[i] + self.theta[i] / (L * max(self.G[i] + L, self.alpha * L))
                     * (L + self.reward[i]))
        return euclidean_projection(self.domain, np.array(y))


class DoGReference:
    """Ivgi et al. (2023), eq. (1): eta_t = rbar_t / sqrt(sum ||g||^2 + eps)."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.L, self.domain = learner, domain
        self.w1 = np.asarray(domain.initial_point(d), dtype=float)
        r = float(learner.r_eps)
        self.rbar = r * (1 + _norm(self.w1)) if learner.init_step == "heuristic" else r
        self.squares = 0.0

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.rbar = max(self.rbar, _norm([a - b for a, b in zip(w, self.w1, strict=True)]))
        self.squares += math.fsum(v * v for v in g)
        eta = self.rbar / math.sqrt(self.squares + float(self.L.eps))
        return euclidean_projection(self.domain, np.array(
            [a - eta * b for a, b in zip(w, g, strict=True)]))


class DoWGReference:
    """Khaled et al. (2023), Algorithm 1: eta_t = rbar_t^2 / (sqrt(v_t) + eps)."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.L, self.domain = learner, domain
        self.w1 = np.asarray(domain.initial_point(d), dtype=float)
        self.rbar_sq, self.v = float(learner.r0_sq), 0.0

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.rbar_sq = max(self.rbar_sq, math.fsum((a - b) ** 2 for a, b in
                                                   zip(w, self.w1, strict=True)))
        self.v += self.rbar_sq * math.fsum(v * v for v in g)
        eta = self.rbar_sq / (math.sqrt(self.v) + float(self.L.eps))
        return euclidean_projection(self.domain, np.array(
            [a - eta * b for a, b in zip(w, g, strict=True)]))


class ProdigyReference:
    """Mishchenko and Defazio (2023), Algorithm 3 as optax writes it, coordinate by
    coordinate (d_k in the step size, d_{k+1} in the epsilon)."""

    def __init__(self, learner: Any, d: int, domain: Any) -> None:
        self.L, self.domain, self.t = learner, domain, 0
        self.w1 = np.asarray(domain.initial_point(d), dtype=float)
        self.m, self.v, self.s = [0.0] * d, [0.0] * d, [0.0] * d
        self.dk, self.r = float(learner.estim_lr0), 0.0

    def step(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        L = self.L
        self.t += 1
        b1, b2 = L.beta1, L.beta2
        b3 = math.sqrt(b2) if L.beta3 is None else L.beta3
        d0, dk = L.estim_lr0, self.dk
        dlr = dk * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        weight = dk if L.safeguard_warmup else dlr
        for i, gi in enumerate(g):
            self.m[i] = b1 * self.m[i] + (1 - b1) * dk * gi
            self.v[i] = b2 * self.v[i] + (1 - b2) * (dk * gi) ** 2
            self.s[i] = b3 * self.s[i] + weight * dk * gi / d0
        progress = math.fsum(gi * (a - b) for gi, a, b in zip(g, self.w1, w, strict=True))
        self.r = b3 * self.r + dk / d0 * dlr * progress
        total = math.fsum(abs(v) for v in self.s)
        if total > 0:
            self.dk = max(dk, L.estim_lr_coef * self.r / total)
        y = [w[i] - L.weight_decay * dlr * w[i]
             - dlr * self.m[i] / (math.sqrt(self.v[i]) + self.dk * L.eps) for i in range(len(g))]
        return euclidean_projection(self.domain, np.array(y))


ONLINE_REFERENCES = {"kt": KTReference, "ftrl": FTRLReference,
                     "optimistic": OptimisticReference, "adahedge": AdaHedgeReference,
                     "cocob": COCOBReference, "dog": DoGReference,
                     "dowg": DoWGReference, "prodigy": ProdigyReference}
