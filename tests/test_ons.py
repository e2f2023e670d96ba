"""Online Newton Step: its exact generalized projection, the reference loop on a
portfolio, and its bounds (exercised on exp-concave losses, refused on others)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario
from reference import reference_game, simplex_projection_by_supports

import occ
from occ.learners import make_learner
from occ.simplex_qp import simplex_quadratic_projection

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"


def _spd(rng: np.random.Generator, d: int, condition: float) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return Q @ np.diag(np.geomspace(1.0, condition, d)) @ Q.T


@pytest.mark.parametrize("d", [2, 3, 5])
def test_the_generalized_projection_is_exact(d: int) -> None:
    rng = np.random.default_rng(d)
    for condition in (1.0, 1e2, 1e6):
        A = np.stack([_spd(rng, d, condition) for _ in range(20)])
        y = rng.normal(size=(20, d)) * 2
        start = rng.dirichlet(np.ones(d), size=20)
        start[::2] = np.eye(d)[rng.integers(0, d, size=10)]  # vertices: coordinates enter
        w, gaps = simplex_quadratic_projection(y, A, start)
        for r in range(20):
            exact = simplex_projection_by_supports(y[r], A[r])
            np.testing.assert_allclose(w[r], exact, atol=1e-10 * condition)
            assert abs(gaps[r]) <= 1e-12 * condition * (1 + np.abs(y[r]).max()) ** 2
        assert np.all(w >= 0) and np.allclose(w.sum(axis=1), 1, atol=1e-14)


def portfolio(T: int, **learners):
    return make_scenario(d=4, T=T, seeds=1, domain={"kind": "simplex"}, checkpoints=10,
                         adversary={"kind": "portfolio", "data": "prices",
                                    "path": str(DATA / "synthetic-market-prices.csv")},
                         learners=learners)


@pytest.mark.parametrize("case", [{}, {"G": 3.0}, {"gamma": 0.125, "eps": 1.0}])
def test_ons_on_a_portfolio_matches_the_reference_loop(case: dict) -> None:
    sc = portfolio(60, ons={"kind": "ons", **case})
    result = occ.run(sc, keep_trajectories=True)
    learner = make_learner("ons", domain=sc.domain, **case)
    game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, 0)
    np.testing.assert_allclose(result.trajectories["ons"][:, 0, :], game["w"][:-1],
                               rtol=1e-11, atol=1e-14)


def test_ons_bounds_hold_and_are_exercised_on_a_market() -> None:
    sc = portfolio(1500, ons={"kind": "ons", "G": 4.0}, tuned={"kind": "ons", "G": 2.5})
    b = occ.run(sc).bounds
    for bound in ("ons", "ons_log", "ons_theorem", "eq8", "eq10", "eq18"):
        rows = b[(b.bound == bound) & b.applicable.astype(bool)]
        assert len(rows) > 0, bound
        assert not rows.violated.any(), bound
    # the chain ons <= ons_log <= ons_theorem, checkpoint by checkpoint
    for learner in ("ons", "tuned"):
        v = {k: b[(b.learner == learner) & (b.bound == k)].set_index("t")["value"]
             for k in ("ons", "ons_log", "ons_theorem")}
        both = v["ons_theorem"].dropna().index
        assert np.all(v["ons"] <= v["ons_log"] * (1 + 1e-12))
        assert np.all(v["ons_log"][both] <= v["ons_theorem"][both])
    ratio = b[b.bound == "ons"].ratio.max()
    assert 0 < ratio < 1  # the bound is met and not vacuous on this market


def test_ons_bounds_need_exp_concave_losses() -> None:
    sc = make_scenario(d=3, T=50, domain={"kind": "simplex"},
                       adversary={"kind": "experts_random"}, learners={"o": {"kind": "ons"}})
    b = occ.run(sc).bounds
    ons = b[b.bound.str.startswith("ons")]
    assert len(ons) and not ons.applicable.any()
    assert ons.note.str.contains("exp-concave losses").all()
    generic = b[b.bound.isin(["eq8", "eq10", "eq18"])]
    assert generic.applicable.all() and not generic.violated.any()


def test_the_projection_certificate_stays_at_round_off_when_ill_conditioned() -> None:
    """gamma = 1/2, eps = 0.01 on a 12-asset market: A_t's condition number reaches 1e6,
    and the projection's face steps shrink to round-off before the next asset may enter
    (an active-set method that waits for them to vanish stalls with a gap of 1e-3)."""
    rng = np.random.default_rng(3)
    X = np.exp(rng.normal(0, 0.05, size=(200, 12)))
    learner = make_learner("ons", gamma=0.5, eps=0.01, domain=occ.domains.Simplex())
    state = learner.init(np.full((1, 12), 1 / 12))
    for x in X:
        g = -x[None] / (x @ state.w[0])
        _, state = learner.update(state, g)
    assert state.projection_gap <= 1e-10
