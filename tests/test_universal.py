"""Cover's universal portfolio: exact for d <= 3 against an independent quadrature, its
sampled version against the same mixture by loops, and the (d - 1) log(T + 1) bound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario
from reference import reference_game

import occ
from occ.learners import make_learner
from occ.learners.universal import monte_carlo_error

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"


def market(tmp_path: Path, d: int, T: int = 400, seed: int = 0) -> str:
    """A synthetic market of d assets with a volatile one (prices, seeded)."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0002, 0.02, size=(T + 1, d))
    r[:, 0] = rng.choice([np.log(1.6), np.log(0.6)], size=T + 1)  # Cover's kind of asset
    prices = np.exp(np.cumsum(r, axis=0))
    path = tmp_path / f"market{d}.csv"
    np.savetxt(path, prices, delimiter=",", header=",".join(f"a{i}" for i in range(d)),
               comments="")
    return str(path)


def scenario(path: str, d: int, T: int, **learners):
    return make_scenario(d=d, T=T, seeds=1, checkpoints=12, domain={"kind": "simplex"},
                         adversary={"kind": "portfolio", "path": path, "data": "prices"},
                         learners=learners)


@pytest.mark.parametrize(("d", "case"), [(2, {}), (3, {}), (3, {"method": "sample",
                                                                "samples": 300})])
def test_matches_the_independent_integral(tmp_path: Path, d: int, case: dict) -> None:
    sc = scenario(market(tmp_path, d), d, 30, up={"kind": "universal", **case})
    result = occ.run(sc, keep_trajectories=True)
    learner = make_learner("universal", domain=sc.domain, **case).for_horizon(sc.T)
    game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, 0)
    np.testing.assert_allclose(result.trajectories["up"][:, 0, :], game["w"][:-1],
                               rtol=1e-10, atol=1e-14)


def test_cover_example_in_closed_form() -> None:
    """Cash and an asset that doubles then halves: after an up and a down step,
    S_2(p) = (1 + p)(1 - p/2), whose integral over [0, 1] is 13/12."""
    result = occ.run("portfolio-cover", T=2)
    wealth = result.metrics[(result.metrics.learner == "up") & (result.metrics.t == 2)]
    assert float(wealth["wealth"].iloc[0]) == pytest.approx(13 / 12, rel=1e-14)


@pytest.mark.parametrize("d", [2, 3])
def test_the_bound_holds_and_is_exercised(tmp_path: Path, d: int) -> None:
    T = {2: 1500, 3: 400}[d]  # d = 3 costs O(T^3)
    sc = scenario(market(tmp_path, d, T=T, seed=d), d, T, up={"kind": "universal"})
    b = occ.run(sc).bounds
    rows = b[b.bound == "up_cover"]
    assert rows.applicable.all() and not rows.violated.any()
    assert 0.05 < rows.ratio.max() < 1  # exercised: a real fraction of the bound


def test_the_bound_needs_the_portfolio_game() -> None:
    sc = make_scenario(d=2, T=30, domain={"kind": "simplex"},
                       adversary={"kind": "experts_random"}, learners={"u": {"kind": "universal"}})
    result = occ.run(sc)
    assert result.metrics["diverged"].all()  # linear losses are not a portfolio's


def test_monte_carlo_error_is_the_ess_formula() -> None:
    assert monte_carlo_error(np.zeros((1, 100)))[0] == 0.0  # equal weights: no error
    one = np.full((1, 100), -np.inf)
    one[0, 0] = 0.0
    assert monte_carlo_error(one)[0] == pytest.approx(np.sqrt(99 / 100))
