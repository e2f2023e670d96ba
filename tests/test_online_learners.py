"""The issue-17 learners: closed forms, their bounds on adversarial sequences (for every
comparator, not only the best in hindsight), AdaHedge's invariances, and COCOB and DoG
against their optax.contrib twins on the same gradient sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

import occ
from occ.domains import Ball, Simplex, Unconstrained
from occ.learners import make_learner


def _play(learner, gradients: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """Iterates w_1..w_T of a learner on an oblivious gradient sequence (T, R, d)."""
    state = learner.init(w1)
    out = []
    for g in gradients:
        out.append(np.asarray(state.w).copy())
        _, state = learner.update(state, g)
    return np.stack(out)


def _one_d_kt(u: np.ndarray, eps: float, T: int) -> np.ndarray:
    """Orabona and Pal (2016), Corollary 5, written out here independently."""
    return eps + np.abs(u) * np.sqrt(T * np.log(1 + 24 * T**2 * u**2 / eps**2))


COIN_SEQUENCES = {
    "constant": lambda t: 1.0,
    "alternating": lambda t: (-1.0) ** t,
    "late_switch": lambda t: 1.0 if t < 60 else -1.0,  # wealth 2^60 eps, then back
    "fractional": lambda t: math.sin(0.05 * t),
}


@pytest.mark.parametrize("sequence", list(COIN_SEQUENCES))
@pytest.mark.parametrize("eps", [0.01, 1.0, 30.0])
def test_the_1d_bettor_meets_its_bound_for_every_comparator(sequence: str, eps: float) -> None:
    T = 600
    g = np.array([COIN_SEQUENCES[sequence](t) for t in range(1, T + 1)])[:, None, None]
    learner = make_learner("kt", form="coordinate", eps=eps, domain=Unconstrained())
    w = _play(learner, g, np.zeros((1, 1)))[:, 0, 0]
    u = np.concatenate([-np.geomspace(1e-3, 1e4, 40), [0.0], np.geomspace(1e-3, 1e4, 40)])
    for tau in (1, 10, 100, T):
        terms = g[:tau, 0, 0] * w[:tau]
        regret = math.fsum(terms) - u * math.fsum(g[:tau, 0, 0])
        budget = 1e-13 * (np.sum(np.abs(terms)) + np.abs(u) * tau)  # the bets' round-off
        assert np.all(regret <= _one_d_kt(u, eps, tau) + budget)
    # regret against 0 is at most eps: the bettor never loses more than its initial wealth
    assert np.sum(g[:, 0, 0] * w) <= eps * (1 + 1e-12)


def test_the_adaptive_adversary_cannot_break_the_kt_bounds() -> None:
    """``g_t = -sign(w_t)`` style losses on a large ball: all three forms, bounds applied."""
    sc = make_scenario(d=3, T=400, seeds=3, domain={"kind": "ball", "radius": 50.0},
                       adversary={"kind": "linear_adaptive", "scale_max": 0.5, "scale_min": 0.1},
                       learners={f: {"kind": "kt", "form": f, "G": 10.0}
                                 for f in ("reduction", "hilbert", "coordinate")})
    b = occ.run(sc).bounds
    ours = b[b.bound.str.startswith("kt_")]
    checked = ours[ours.applicable.astype(bool)]
    assert len(checked) == len(ours) and not checked.violated.any()
    assert checked.ratio.max() > 0


def test_kt_bounds_refuse_gradients_above_G() -> None:
    sc = make_scenario(d=3, T=50, domain={"kind": "ball", "radius": 2.0},
                       adversary={"kind": "linear_gaussian", "mean": 3.0},
                       learners={"kt": {"kind": "kt", "G": 1.0}})
    rows = occ.run(sc).bounds.query("bound == 'kt_reduction'")
    assert not rows.applicable.any() and rows.note.str.contains("<= G").all()


def test_the_reduction_factorizes_magnitude_and_direction() -> None:
    """x_t = z_t y_t with ||y_t|| <= 1, and the 1-d bet z_t never exceeds the wealth."""
    rng = np.random.default_rng(2)
    g = rng.uniform(-1, 1, size=(200, 2, 4)) / 2
    learner = make_learner("kt", domain=Unconstrained())
    state = learner.init(np.zeros((2, 4)))
    for t in range(200):
        _, state = learner.update(state, g[t])
        assert np.all(np.linalg.norm(state.direction, axis=-1) <= 1 + 1e-15)
        assert np.all(state.wealth > 0)
        np.testing.assert_allclose(np.linalg.norm(state.x, axis=-1),
                                   np.abs(state.coin_sum / (t + 2) * state.wealth)
                                   * np.linalg.norm(state.direction, axis=-1), rtol=1e-12)


def test_ftrl_without_constraints_is_the_closed_form() -> None:
    rng = np.random.default_rng(3)
    g = rng.normal(size=(40, 2, 3))
    for case, a in (({"eta": 0.3}, lambda t: 0.3),
                    ({"step": "sqrt", "c": 2.0}, lambda t: 2.0 / math.sqrt(t))):
        w = _play(make_learner("ftrl", domain=Unconstrained(), **case), g, np.ones((2, 3)))
        for t in range(1, 41):
            np.testing.assert_allclose(w[t - 1], 1.0 - a(t) * g[: t - 1].sum(axis=0),
                                       rtol=1e-13, atol=1e-14)


def test_optimistic_is_exact_on_a_constant_gradient() -> None:
    """With g_t = g the hint is exact from t = 2 on: w_{t} = v_t - eta g on R^d."""
    g = np.tile(np.array([[0.5, -1.0]]), (10, 1, 1))
    w = _play(make_learner("optimistic", eta=0.2, domain=Unconstrained()), g, np.zeros((1, 2)))
    for t in range(2, 11):
        np.testing.assert_allclose(w[t - 1, 0], -0.2 * t * g[0, 0], rtol=1e-14)


def test_a_fixed_hint_equal_to_the_gradient_is_exact_from_the_second_step() -> None:
    """With g_t = m and hint m, w_t = v_t - eta m = -eta t m on R^d (as with the last
    gradient), and a wrong hint m' gives w_t = -eta ((t - 1) m + m')."""
    m = np.array([0.5, -1.0])
    g = np.tile(m[None, None, :], (10, 1, 1))
    exact = _play(make_learner("optimistic", eta=0.2, hint=(0.5, -1.0),
                               domain=Unconstrained()), g, np.zeros((1, 2)))
    wrong = _play(make_learner("optimistic", eta=0.2, hint=0.25, domain=Unconstrained()), g,
                  np.zeros((1, 2)))
    for t in range(2, 11):
        np.testing.assert_allclose(exact[t - 1, 0], -0.2 * t * m, rtol=1e-14)
        np.testing.assert_allclose(wrong[t - 1, 0], -0.2 * ((t - 1) * m + 0.25), rtol=1e-14)


def test_a_hint_of_the_wrong_length_is_refused() -> None:
    learner = make_learner("optimistic", eta=0.2, hint=(1.0, 2.0, 3.0), domain=Unconstrained())
    with pytest.raises(occ.errors.ParameterError, match="hint"):
        learner.facts(2)


def test_optimism_bound_holds_on_drift_and_adversarial_sequences() -> None:
    for adversary in ({"kind": "linear_drift", "period": 200.0, "noise": 0.0},
                      {"kind": "linear_periodic", "pattern": [1.0, -1.0]},
                      {"kind": "linear_adaptive"}):
        sc = make_scenario(d=3, T=300, seeds=2, domain={"kind": "ball", "radius": 1.0},
                           adversary=adversary,
                           learners={"o": {"kind": "optimistic", "eta": 0.3},
                                     "f": {"kind": "optimistic", "form": "ftrl", "eta": 0.3}})
        rows = occ.run(sc).bounds.query("bound == 'optimistic'")
        assert len(rows) and rows.applicable.all() and not rows.violated.any(), adversary


def test_adahedge_is_invariant_under_scaling_and_translation() -> None:
    rng = np.random.default_rng(4)
    g = rng.uniform(size=(60, 3, 6))
    learner = make_learner("adahedge", domain=Simplex())
    w1 = np.full((3, 6), 1 / 6)
    base = _play(learner, g, w1)
    np.testing.assert_allclose(_play(learner, 1e3 * g - 7.0, w1), base, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_play(learner, 1e-4 * g, w1), base, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adahedge_bound_holds_across_loss_scales(scale: float) -> None:
    sc = make_scenario(d=6, T=400, seeds=3, domain={"kind": "simplex"},
                       adversary={"kind": "linear_gaussian", "mean": 0.0,
                                  "coordinate_scale": scale},
                       learners={"a": {"kind": "adahedge"}})
    rows = occ.run(sc).bounds.query("bound == 'adahedge'")
    assert rows.applicable.all() and not rows.violated.any()
    assert 0 < rows.ratio.max() < 1


# --------------------------------------------------------------- against optax.contrib
def _optax_iterates(optimizer, gradients: np.ndarray, w1: np.ndarray) -> np.ndarray:
    jnp = pytest.importorskip("jax.numpy")
    optax = pytest.importorskip("optax")
    params = jnp.asarray(w1)
    state = optimizer.init(params)
    out = []
    for g in gradients:
        out.append(np.asarray(params))
        updates, state = optimizer.update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
    return np.stack(out)


def _relative_deviation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


OPTAX_PAIRS = [
    ("cocob", {}, "cocob", {}),
    ("cocob", {"alpha": 10.0, "eps": 1e-3}, "cocob", {"alpha": 10.0, "eps": 1e-3}),
    ("dog", {}, "dog", {}),
    ("dog", {"init_step": "distance", "r_eps": 0.1, "eps": 1e-6},
     "dog", {"init_step": ("distance", 0.1), "eps": 1e-6}),
    ("dowg", {}, "dowg", {}),
    ("dowg", {"r0_sq": 0.01, "eps": 1e-6}, "dowg", {"init_estim_sq_dist": 0.01, "eps": 1e-6}),
    ("prodigy", {}, "prodigy", {}),
    ("prodigy", {"beta1": 0.5, "beta2": 0.9, "beta3": 0.8, "estim_lr0": 1e-3,
                 "weight_decay": 0.1, "safeguard_warmup": True},
     "prodigy", {"betas": (0.5, 0.9), "beta3": 0.8, "estim_lr0": 1e-3, "weight_decay": 0.1,
                 "safeguard_warmup": True}),
]


@pytest.mark.parametrize(("ours", "kwargs", "theirs", "their_kwargs"), OPTAX_PAIRS)
def test_matches_its_optax_contrib_twin(ours, kwargs, theirs, their_kwargs) -> None:
    """Same gradient sequence, unconstrained, one repetition at a time (optax sees one
    parameter vector): iterates agree to 1e-10 relative (float64 in jax)."""
    jax = pytest.importorskip("jax")
    contrib = pytest.importorskip("optax.contrib")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(5)
    gradients = rng.normal(size=(300, 1, 4)) + 0.3
    w1 = rng.normal(size=(1, 4))
    mine = _play(make_learner(ours, domain=Unconstrained(), **kwargs), gradients, w1)[:, 0]
    twin = _optax_iterates(getattr(contrib, theirs)(**their_kwargs), gradients[:, 0], w1[0])
    assert _relative_deviation(mine, twin) <= 1e-10


def test_the_issue_17_learners_on_a_ball_stay_feasible() -> None:
    rng = np.random.default_rng(6)
    g = rng.normal(size=(100, 2, 3)) * 5
    ball = Ball(radius=0.5)
    for name in ("kt", "ftrl", "optimistic", "cocob", "dog", "dowg", "prodigy"):
        w = _play(make_learner(name, domain=ball), g, np.zeros((2, 3)))
        assert np.all(np.linalg.norm(w, axis=-1) <= 0.5 * (1 + 1e-12)), name


# --------------------------------------------------------------- bound values, by hand
def _expected_bounds(name: str, case: dict, game: dict, u: np.ndarray, tau: int,
                     constrained: bool) -> dict[str, float]:
    """Each issue-17 bound at checkpoint tau from the reference game's gradients, written
    from the formulas (docs/theory.md) with plain sums."""
    g, w1 = game["g"][:tau], game["w"][0]
    D1 = math.sqrt(math.fsum((u - w1) ** 2))
    S = math.fsum((g**2).ravel())
    L = max(math.sqrt(math.fsum(v**2)) for v in g)
    c = 2.0 if constrained else 1.0
    if name == "kt":
        eps, G, form = case.get("eps", 1.0), case.get("G", 1.0), case.get("form", "reduction")
        if L > G:
            return {}
        one = lambda a: eps + a * math.sqrt(tau * math.log(1 + 24 * tau**2 * a**2 / eps**2))  # noqa: E731
        if form == "coordinate":
            return {"kt_coordinate": c * G * math.fsum(one(abs(ui - vi)) for ui, vi in
                                                       zip(u, w1, strict=True))}
        value = G * one(D1) + (2 * math.sqrt(2) * D1 * math.sqrt(S) if form == "reduction"
                               else 0.0)
        return {f"kt_{form}": c * value}
    if name == "ftrl":
        if case.get("step", "constant") == "constant":
            eta = case["eta"]
            return {"ftrl": D1**2 / (2 * eta) + eta / 2 * S}
        cc = case["c"]
        return {"ftrl_sqrt": (D1**2 / (2 * cc) + cc * L**2) * math.sqrt(tau)}
    if name == "optimistic":
        eta = case["eta"]
        previous = np.vstack([np.zeros_like(g[:1]), g[:-1]])  # m_1 = 0, m_t = g_{t-1}
        if case.get("hint") is not None:  # m_1 = 0, m_t = the fixed hint
            previous = np.zeros_like(g) + np.asarray(case["hint"], dtype=float)
            previous[0] = 0.0
        variation = math.fsum(((g - previous) ** 2).ravel())
        return {"optimistic": D1**2 / (2 * eta) + eta / 2 * variation}
    raise AssertionError(name)


BOUND_CASES = [("kt", {}), ("kt", {"form": "hilbert", "G": 3.0, "eps": 0.5}),
               ("kt", {"form": "coordinate", "G": 4.0, "eps": 2.0}),
               ("ftrl", {"eta": 0.2}), ("ftrl", {"step": "sqrt", "c": 0.7}),
               ("optimistic", {"eta": 0.3}), ("optimistic", {"form": "ftrl", "eta": 0.3}),
               ("optimistic", {"eta": 0.3, "hint": 0.3}),
               ("optimistic", {"form": "ftrl", "eta": 0.3, "hint": 0.1})]


@pytest.mark.parametrize(("name", "case"), BOUND_CASES)
@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 1.5, "centre": 0.2},
                                    {"kind": "box", "low": -1.0, "high": 0.5}], ids=["ball", "box"])
def test_bound_values_match_the_formulas(name: str, case: dict, domain: dict) -> None:
    from reference import reference_game, reference_linear_comparator

    sc = make_scenario(domain=domain, adversary={"kind": "linear_gaussian", "mean": 0.3,
                                                 "scale_max": 0.5, "scale_min": 0.2},
                       learners={"x": {"kind": name, **case}}, T=60, seeds=2, checkpoints=5)
    result = occ.run(sc)
    learner = make_learner(name, domain=sc.domain, **case)
    checked = 0
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        for tau in result.meta["checkpoints"]:
            u = reference_linear_comparator(sc.domain, game["g"][:tau].sum(axis=0))
            expected = _expected_bounds(name, case, game, u, tau, constrained=True)
            rows = result.bounds.query("seed == @k and t == @tau and applicable")
            assert set(rows["bound"]) == set(expected), (tau, set(rows["bound"]))
            for bound, value in zip(rows["bound"], rows["value"], strict=True):
                assert value == pytest.approx(expected[bound], rel=1e-9), bound
                checked += 1
    assert checked > 0


def test_adahedge_bound_needs_linear_losses() -> None:
    """On a portfolio (log-wealth losses) the comparator is the best CRP, not the best
    expert of Theorem 8: not applicable, with the reason."""
    from pathlib import Path

    data = Path(__file__).resolve().parent.parent / "scenarios" / "data"
    sc = make_scenario(d=2, T=40, seeds=1, domain={"kind": "simplex"},
                       adversary={"kind": "portfolio", "path": str(data / "cover-two-assets.csv")},
                       learners={"a": {"kind": "adahedge"}})
    rows = occ.run(sc).bounds.query("bound == 'adahedge'")
    assert len(rows) and not rows.applicable.any()
    assert rows.note.str.contains("needs linear losses").all()


def test_adahedge_bound_value_matches_the_formula() -> None:
    from reference import reference_game

    sc = make_scenario(d=5, T=80, seeds=2, checkpoints=5, domain={"kind": "simplex"},
                       adversary={"kind": "experts_random", "gap": 0.2},
                       learners={"a": {"kind": "adahedge"}})
    result = occ.run(sc)
    learner = make_learner("adahedge", domain=sc.domain)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        for tau in result.meta["checkpoints"]:
            g = game["g"][:tau]
            low, high = math.fsum(g.min(axis=1)), math.fsum(g.max(axis=1))
            best = min(math.fsum(g[:, i]) for i in range(sc.d))
            S = float((g.max(axis=1) - g.min(axis=1)).max())
            middle = (best - low) * (high - best) / (high - low) if high > low else 0.0
            expected = 2 * math.sqrt(S * middle * math.log(5)) + S * (16 / 3 * math.log(5) + 2)
            row = result.bounds.query("seed == @k and t == @tau and bound == 'adahedge'")
            assert row["value"].item() == pytest.approx(expected, rel=1e-9)
            assert row["regret"].item() == pytest.approx(
                math.fsum(game["loss"][:tau]) - best, rel=1e-9, abs=1e-12)
