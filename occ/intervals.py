"""Intervals over seeds: the mean with its t-interval, and the fitted regret exponent."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_interval", "regret_exponent"]


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the t-interval of the mean over seeds (the mean twice when one seed)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if values.size < 2:
        return mean, mean, mean
    from scipy import stats as scipy_stats  # imported on first use: 0.9 s

    half = scipy_stats.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(
        values.size)
    return mean, mean - half, mean + half


def regret_exponent(t: np.ndarray, mean_regret: np.ndarray) -> tuple[float, float, float]:
    """Slope of log(mean regret) against log(t) over checkpoints ``t >= sqrt(T)`` with
    positive mean regret, with its 95% interval (least squares, t distribution)."""
    t = np.asarray(t, dtype=float)
    keep = (t >= np.sqrt(t.max())) & (mean_regret > 0) & np.isfinite(mean_regret)
    if keep.sum() < 3:
        return (np.nan, np.nan, np.nan)
    from scipy import stats as scipy_stats

    fit = scipy_stats.linregress(np.log(t[keep]), np.log(mean_regret[keep]))
    half = scipy_stats.t.ppf(0.975, keep.sum() - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)
