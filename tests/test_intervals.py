"""The seed intervals and the fitted exponent, against scipy.stats (an independent
implementation: occ computes them without importing scipy.stats, which costs a second)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from occ.intervals import mean_interval, regret_exponent, t_quantile


@pytest.mark.parametrize("df", [1, 2, 3, 9, 29, 1000])
@pytest.mark.parametrize("p", [0.5, 0.975, 0.995, 0.025])
def test_t_quantile_is_scipy_stats_t_ppf(p: float, df: int) -> None:
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-12, abs=1e-15)


def test_t_quantile_vectorizes_over_degrees_of_freedom() -> None:
    df = np.array([1, 4, 16])
    np.testing.assert_allclose(t_quantile(0.975, df), stats.t.ppf(0.975, df), rtol=1e-12)


def test_mean_interval_is_the_t_interval() -> None:
    values = np.array([1.0, 2.5, 0.5, 4.0, np.nan])
    kept = values[:4]
    low, high = stats.t.interval(0.95, 3, loc=kept.mean(), scale=stats.sem(kept))
    mean, lo, hi = mean_interval(values)
    assert mean == pytest.approx(kept.mean(), rel=1e-15)
    assert (lo, hi) == pytest.approx((low, high), rel=1e-12)


def test_regret_exponent_is_linregress_with_its_t_interval() -> None:
    rng = np.random.default_rng(3)
    t = np.unique(np.round(np.logspace(0, 4, 30)))
    regret = 2.0 * t**0.5 * np.exp(0.05 * rng.standard_normal(t.size))
    keep = t >= np.sqrt(t.max())
    fit = stats.linregress(np.log(t[keep]), np.log(regret[keep]))
    half = stats.t.ppf(0.975, keep.sum() - 2) * fit.stderr
    slope, low, high = regret_exponent(t, regret)
    assert slope == pytest.approx(fit.slope, rel=1e-12)
    assert (low, high) == pytest.approx((fit.slope - half, fit.slope + half), rel=1e-10)


def test_regret_exponent_of_an_exact_power_law_has_no_width() -> None:
    t = np.arange(1.0, 401.0)
    slope, low, high = regret_exponent(t, 3.0 * t**0.75)
    assert slope == pytest.approx(0.75, rel=1e-12)
    assert high - low == pytest.approx(0.0, abs=1e-9)
