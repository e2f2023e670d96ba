"""Linear adversaries ``l_t(w) = g_t^T w``: Gaussian, sparse, drifting, and adaptive."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.base import LinearAdversary, LinearLoss, log_spaced, stack_streams
from occ.params import Integer, Real, RealVector, param, validate


@dataclass(frozen=True)
class LinearGaussian(LinearAdversary):
    """Oblivious ``g_t = mean + diag(s) xi_t``, ``xi_t ~ N(0, I)``, coordinate scales ``s``
    log-spaced from ``scale_max`` to ``scale_min`` (anisotropic gradients, where adaptive
    preconditioners help). ``mean`` is added to every coordinate."""

    mean: float = param(0.3, Real(per_row=False), "mean added to every coordinate")
    scale_max: float = param(1.0, Real(0, per_row=False), "noise scale of coordinate 1")
    scale_min: float = param(0.01, Real(0, per_row=False), "noise scale of coordinate d")
    coordinate_scale: Any = param(1.0, RealVector(dimension=True), "c: every gradient is "
                                  "multiplied by c coordinate-wise (a number or a list; "
                                  "Section 4.1)")
    name = "linear_gaussian"
    streams = ("noise",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        scale = log_spaced(max(self.scale_max, 1e-300), max(self.scale_min, 1e-300), d)
        coordinate = np.broadcast_to(np.asarray(self.coordinate_scale, dtype=float), (d,))
        mean = self.mean

        def shape(block: np.ndarray) -> None:  # in each drawing thread, on its own block
            if np.any(scale != 1.0):  # (passes that would change nothing are skipped)
                block *= scale
            if mean != 0.0:
                block += mean
            if np.any(coordinate != 1.0):
                block *= coordinate

        return stack_streams(rngs, "noise", "standard_normal", t1 - t0, d, transform=shape)

    def excess_risk(self, w_bar: np.ndarray, domain: Any) -> np.ndarray:
        """Online-to-batch (Appendix A): the losses are iid with mean gradient
        ``m = mean c``, so ``J(w) = m^T w`` and the excess risk of w_bar is
        ``m^T w_bar - min_V m^T w``."""
        d = w_bar.shape[-1]
        return self.excess_risk_along(w_bar @ self.excess_risk_direction(d), d, domain)

    def excess_risk_direction(self, d: int) -> np.ndarray:
        """``m``: the excess risk reads ``w_bar`` only through ``m^T w_bar`` (an engine may
        keep ``sum_s m^T w_s`` in place of the whole iterate sum)."""
        return self.mean * np.broadcast_to(np.asarray(self.coordinate_scale, dtype=float),
                                           (d,))

    def excess_risk_along(self, along: np.ndarray, d: int, domain: Any) -> np.ndarray:
        """The excess risk from ``m^T w_bar``: ``m^T w_bar - min_V m^T w``."""
        _, best = domain.linear_minimum(self.excess_risk_direction(d)[None], np)
        return along - float(best[0])


@dataclass(frozen=True)
class LinearSparse(LinearAdversary):
    """Oblivious sparse gradients: coordinate i (1-based) is active with probability
    ``i^-exponent`` (heavy-tailed frequencies); an active coordinate is ``+magnitude`` with
    probability ``(1 + bias)/2``, else ``-magnitude``. Diagonal AdaGrad's home ground.

    With ``rotation_seed`` every gradient is multiplied by one fixed random rotation ``Q``
    (Haar-distributed, drawn from that seed, the same for every repetition): the
    coordinates become correlated, which full-matrix AdaGrad undoes and diagonal AdaGrad
    cannot (``O_T`` is no longer diagonal)."""

    exponent: float = param(1.5, Real(0, per_row=False), "activity probability i^-exponent")
    bias: float = param(0.2, Real(-1, 1, per_row=False), "sign bias in [-1, 1]")
    magnitude: float = param(1.0, Real(0, low_open=True, per_row=False), "entry size")
    rotation_seed: Any = param(None, Integer(low=0), "seed of a fixed random rotation")
    name = "linear_sparse"
    streams = ("active", "sign")

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        n = t1 - t0
        prob = np.arange(1, d + 1, dtype=float) ** -self.exponent
        active = stack_streams(rngs, "active", "random", n, d) < prob
        positive = stack_streams(rngs, "sign", "random", n, d) < (1 + self.bias) / 2
        g = self.magnitude * active * np.where(positive, 1.0, -1.0)
        return g if self.rotation_seed is None else g @ self.rotation(d).T

    def rotation(self, d: int) -> np.ndarray:
        """The fixed rotation ``Q`` (d, d): QR of a Gaussian matrix with signs fixed."""
        Z = np.random.default_rng(self.rotation_seed).standard_normal((d, d))
        Q, R = np.linalg.qr(Z)
        return Q * np.sign(np.diag(R))


@dataclass(frozen=True)
class LinearDrift(LinearAdversary):
    """Oblivious gradients around a mean that rotates in the first two coordinates:
    ``g_t = amplitude (cos 2 pi t/period, sin 2 pi t/period, 0, ...) + noise xi_t``.
    The best fixed point in hindsight changes direction as the mean drifts."""

    amplitude: float = param(1.0, Real(0, per_row=False), "size of the rotating mean")
    period: float = param(1000.0, Real(0, low_open=True, per_row=False), "steps per turn")
    noise: float = param(0.5, Real(0, per_row=False), "standard deviation of the noise")
    name = "linear_drift"
    streams = ("noise",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        g = self.noise * stack_streams(rngs, "noise", "standard_normal", t1 - t0, d)
        angle = 2 * np.pi * np.arange(t0, t1) / self.period
        g[:, :, 0] += self.amplitude * np.cos(angle)[:, None]
        if d > 1:
            g[:, :, 1] += self.amplitude * np.sin(angle)[:, None]
        return g


@dataclass(frozen=True)
class LinearAdaptive(LinearAdversary):
    """Adaptive: ``g_{t,i} = s_i |xi_{t,i}| sign(w_{t,i})`` (sign(0) = +1), so every loss
    ``g_t^T w_t >= 0`` punishes the learner where it stands; scales ``s_i`` log-spaced from
    ``scale_max`` to ``scale_min``. Comparators and bounds use the realized gradients
    (the harness replays the run deterministically)."""

    scale_max: float = param(1.0, Real(0, low_open=True, per_row=False), "scale of coordinate 1")
    scale_min: float = param(0.1, Real(0, low_open=True, per_row=False), "scale of coordinate d")
    name = "linear_adaptive"
    oblivious = False
    streams = ("noise",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        xi = np.abs(stack_streams(rngs, "noise", "standard_normal", t1 - t0, d))
        return xi * log_spaced(self.scale_max, self.scale_min, d)

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return xp.where(w >= 0, data, -data)


@dataclass(frozen=True)
class LinearPeriodic:
    """Oblivious, deterministic: ``g_t = pattern[(t - 1) mod len(pattern)]`` in every
    coordinate. Reddi et al. (2018), Section 3: ``pattern = [C, -1, -1]`` on [-1, 1] makes
    Adam (beta1 = 0, beta2 = 1/(1 + C^2)) converge to +1, the worst point; their Section 5
    uses ``[1010, -10, ..., -10]`` (one 1010 and 100 times -10)."""

    pattern: Any = param((3.0, -1.0, -1.0), RealVector(), "one period of gradients")
    name = "linear_periodic"
    oblivious = True
    streams = ()

    def __post_init__(self) -> None:
        validate(self)
        if not isinstance(self.pattern, tuple):
            object.__setattr__(self, "pattern", (self.pattern,))

    def loss_family(self, d: int) -> LinearLoss:
        return LinearLoss()

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        pattern = np.asarray(self.pattern, dtype=float)
        values = pattern[(np.arange(t0, t1) - 1) % len(pattern)]
        return np.broadcast_to(values[:, None, None], (t1 - t0, len(rngs), d)).copy()

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data


@dataclass(frozen=True)
class LinearBernoulli(LinearAdversary):
    """Oblivious, random: ``g_t = high`` with probability ``p``, else ``low``, in every
    coordinate (Reddi et al. 2018, Section 5, stochastic: 1010 w.p. 0.01, else -10)."""

    high: float = param(1010.0, Real(per_row=False), "the rare gradient")
    low: float = param(-10.0, Real(per_row=False), "the common gradient")
    p: float = param(0.01, Real(0, 1, per_row=False), "probability of the rare gradient")
    name = "linear_bernoulli"
    streams = ("coin",)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        coin = stack_streams(rngs, "coin", "random", t1 - t0, 1)
        values = np.where(coin < self.p, self.high, self.low)
        return np.broadcast_to(values, (t1 - t0, len(rngs), d)).copy()
