"""Intervals over seeds: the mean with its t-interval, and the fitted regret exponent."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_interval", "regret_exponent", "t_quantile"]


def t_quantile(p: float, df: np.ndarray | float) -> np.ndarray | float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (``scipy.special.stdtrit``,
    the function behind ``scipy.stats.t.ppf``; importing scipy.stats costs 1 s more)."""
    from scipy.special import stdtrit

    return stdtrit(df, p)


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the t-interval of the mean over seeds (the mean twice when one seed)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if values.size < 2:
        return mean, mean, mean
    half = t_quantile(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(
        values.size)
    return mean, mean - half, mean + half


def regret_exponent(t: np.ndarray, mean_regret: np.ndarray) -> tuple[float, float, float]:
    """Slope of log(mean regret) against log(t) over checkpoints ``t >= sqrt(T)`` with
    positive mean regret, with its 95% interval (least squares, t distribution)."""
    t = np.asarray(t, dtype=float)
    keep = (t >= np.sqrt(t.max())) & (mean_regret > 0) & np.isfinite(mean_regret)
    if keep.sum() < 3:
        return (np.nan, np.nan, np.nan)
    x, y = np.log(t[keep]), np.log(mean_regret[keep])
    n = x.size
    dx, dy = x - x.mean(), y - y.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ dy) / sxx
    residual = dy - slope * dx  # summed directly: no cancellation for a near-exact fit
    # the slope's standard error of ordinary least squares (scipy.stats.linregress's stderr)
    stderr = np.sqrt(float(residual @ residual) / (n - 2) / sxx)
    half = t_quantile(0.975, n - 2) * stderr
    return float(slope), float(slope - half), float(slope + half)
