"""What a portfolio run reports: the baselines' wealth, the best CRP's weights, turnover,
wealth net of proportional costs (closed forms on Cover's example), the wealth plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario

import occ

COVER = str(Path(__file__).resolve().parent.parent / "scenarios" / "data"
            / "cover-two-assets.csv")


def cover(T: int, cost: float = 0.0):
    return make_scenario(d=2, T=T, seeds=1, checkpoints=6, domain={"kind": "simplex"},
                         adversary={"kind": "portfolio", "path": COVER, "cost": cost},
                         learners={"crp": {"kind": "uniform_crp"},
                                   "hold": {"kind": "buy_and_hold"},
                                   "eg": {"kind": "eg", "step": "constant", "eta": 0.05}})


def test_baselines_weights_turnover_and_costs_in_closed_form() -> None:
    """Cash and an asset doubling then halving: the uniform CRP gains 1.5 then 0.75 and
    trades 1/3 of its wealth at every rebalancing; buy-and-hold never trades, and is the
    mean of the two stocks (1 at even t); the best CRP is (1/2, 1/2)."""
    c = 0.01
    m = occ.run(cover(200, c)).metrics
    for t, row in m[m.learner == "crp"].set_index("t").iterrows():
        assert row.turnover == pytest.approx((t - 1) / 3, rel=1e-12)
        gross = 1.5 ** ((t + 1) // 2) * 0.75 ** (t // 2)
        assert row.wealth == pytest.approx(gross, rel=1e-12)
        assert row.net_wealth == pytest.approx(gross * (1 - c / 3) ** (t - 1), rel=1e-11)
        assert row.uniform_crp_wealth == pytest.approx(gross, rel=1e-12)
        assert row.best_stock_wealth == pytest.approx(2.0 if t % 2 else 1.0, rel=1e-14)
        assert row.buy_and_hold_wealth == pytest.approx(1.5 if t % 2 else 1.0, rel=1e-14)
    hold = m[m.learner == "hold"]
    assert (hold.turnover == 0).all() and np.allclose(hold.wealth, hold.buy_and_hold_wealth)
    final = m[m.t == 200]
    assert set(final.comparator_weights) == {"volatile=0.5 cash=0.5"}


def test_costs_make_the_bounds_not_applicable() -> None:
    free, costly = occ.run(cover(100)).bounds, occ.run(cover(100, 0.002)).bounds
    assert free.applicable.any()
    assert not costly.applicable.any() and not costly.violated.any()
    assert costly.note.str.contains("cost-free game").all()


def test_the_wealth_plot_is_written(tmp_path: Path) -> None:
    result = occ.run(cover(50, 0.01), out=tmp_path)
    assert (result.path / "wealth.png").stat().st_size > 1000


def test_the_wealth_figure_needs_no_mathtext(tmp_path, monkeypatch) -> None:
    """Its log axis has plain-text labels, as every figure of occ (occ.figure_files)."""
    import matplotlib.mathtext

    def refuse(self, s, *args, **kwargs):
        raise AssertionError(f"mathtext parsed: {s!r}")

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)
    result = occ.run(cover(50), out=tmp_path)
    assert (result.path / "wealth.png").stat().st_size > 1000
