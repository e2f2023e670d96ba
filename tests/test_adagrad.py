"""AdaGrad family: closed forms, reductions, bound values against direct sums, the lemmas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario
from reference import reference_game, reference_linear_comparator, reference_mirror_bounds

import occ
from occ.domains import Ball, Box, Unconstrained
from occ.learners import make_learner


def test_diagonal_closed_form_unconstrained() -> None:
    """(37) on R^d: w_{t+1,i} = w_{1,i} - eta sum_{s<=t} g_{s,i} / sqrt(sum_{l<=s} g_{l,i}^2)."""
    rng = np.random.default_rng(0)
    g = rng.normal(size=(40, 3, 5)) * (rng.random(size=(40, 3, 5)) < 0.4)
    learner = make_learner("adagrad_diag", eta=0.7)
    state = learner.init(np.zeros((3, 5)))
    for t in range(40):
        w, state = learner.update(state, g[t])
        s = np.cumsum(g[: t + 1] ** 2, axis=0)
        steps = np.where(s > 0, g[: t + 1] / np.sqrt(np.where(s > 0, s, 1)), 0.0)
        np.testing.assert_allclose(w, -0.7 * steps.sum(axis=0), rtol=1e-12, atol=1e-15)


def test_first_step_is_a_sign_step() -> None:
    """Erratum E7: w_2 = w_1 - eta sign(g_1) (0 where g_1 = 0)."""
    g = np.array([[3.0, -0.2, 0.0, 1e-9]])
    learner = make_learner("adagrad_diag", eta=0.5)
    w, _ = learner.update(learner.init(np.ones((1, 4))), g)
    np.testing.assert_allclose(w, 1 - 0.5 * np.sign(g), rtol=1e-15)


@pytest.mark.parametrize("domain", [Unconstrained(), Ball(radius=0.8), Box(low=-0.5, high=0.5)])
def test_full_equals_diagonal_on_axis_aligned_gradients(domain) -> None:
    """With O_t diagonal, full-matrix AdaGrad is diagonal AdaGrad (c = 1, eta = D0)."""
    rng = np.random.default_rng(1)
    d, T = 4, 60
    g = np.zeros((T, 2, d))
    axis = rng.integers(0, d, size=(T, 2))
    for t in range(T):
        for r in range(2):
            g[t, r, axis[t, r]] = rng.normal() * 2
    full = make_learner("adagrad_full", eta=0.9, eps0=1e-3, domain=domain)
    diag = make_learner("adagrad_diag", eta=0.9, eps0=1e-3, domain=domain)
    sf, sd = full.init(np.zeros((2, d))), diag.init(np.zeros((2, d)))
    for t in range(T):
        wf, sf = full.update(sf, g[t])
        wd, sd = diag.update(sd, g[t])
        np.testing.assert_allclose(wf, wd, rtol=1e-10, atol=1e-12)


CASES = {
    "diag37": {"kind": "adagrad_diag", "eta": 0.6, "eps": 1e-3, "eps0": 0.05},
    "diag311": {"kind": "adagrad_diag", "scaling": "D0", "D0": 1.7},
    "diag32": {"kind": "adagrad_diag", "scaling": "per_coordinate", "c": [0.5, 1.0, 2.0, 3.0]},
    "full36": {"kind": "adagrad_full", "eta": 1.3, "eps0": 1e-2},
    "fixed": {"kind": "fixed_preconditioner", "A": [[2.0, 0.3, 0, 0], [0.3, 1, 0, 0],
                                                  [0, 0, 0.5, 0.1], [0, 0, 0.1, 4]],
              "step": "sqrt", "c": 0.4},
    "oracle31": {"kind": "adagrad_oracle", "form": "eq31"},
    "oracle34": {"kind": "adagrad_oracle", "form": "eq34", "D0": 2.0, "eps0": 1e-3},
    "oracle35": {"kind": "adagrad_oracle", "form": "eq35", "D0": 2.0},
}


def expected_values(name: str, case: dict, learner, game: dict, u: np.ndarray, tau: int,
                    T: int) -> dict[str, float]:
    """Every bound of THEORY.md section 3 that applies, from direct sums."""
    r = reference_mirror_bounds(game, u, tau)
    d = game["w"].shape[1]
    beta = np.sqrt(r["squares"] + case.get("eps0", 0.0) * (learner.name == "adagrad_diag"))
    out = {"eq8": r["eq8"], "eq10": r["eq10"], "eq18": r["eq18"]}
    P, grad = game["P"], r["gradient_term"]
    if learner.name == "adagrad_diag":
        c = learner.eta * learner.scale(d)
        eps = learner.eps
        out["eq32"] = float(np.sum(r["delta"] ** 2 * (beta + eps) / (2 * c) + c * beta))
        if learner.scaling == "per_coordinate" and np.all(c >= r["delta"]):
            out["eq32_literal"] = float(np.sum(c * (3 * beta + eps) / 2))
        trace = np.trace(P[tau - 1])
        if learner.scaling == "D0":
            out["sec311"] = r["D"] ** 2 * trace / 2 + c[0] * beta.sum()
            dinf = r["delta"].max()
            out["sec311_dinf"] = dinf**2 * trace / 2 + c[0] * beta.sum()
            if c[0] >= r["D"]:
                out["sec311_literal"] = c[0] * (3 * beta.sum() + d * eps) / 2
        if learner.scaling == "none":
            out["eq37"] = r["D"] ** 2 * trace / 2 + c[0] * beta.sum()
    if learner.name == "adagrad_full":
        eta = learner.eta
        trace_A = eta * np.trace(P[tau - 1])
        out["eq36"] = (r["D"] ** 2 / (2 * eta) + eta) * trace_A
        if eta >= r["D"]:
            out["eq36_literal"] = 1.5 * eta * trace_A
    if learner.name in ("fixed_preconditioner", "adagrad_oracle"):
        A_over_eta = P[tau - 1]
        DA2 = max((game["w"][t] - u) @ A_over_eta @ (game["w"][t] - u) for t in range(tau))
        out["eq19"] = DA2 / 2 + grad
        if np.allclose(P[:tau], P[0], rtol=0, atol=0):
            a = game["w"][0] - u
            out["eq20"] = a @ P[0] @ a / 2 + grad
    if learner.name == "adagrad_oracle" and tau == T:
        beta_T = np.sqrt(r["squares"])
        delta1 = np.abs(game["w"][0] - u)
        if learner.form == "eq31":
            a = np.diag(P[0])
            out["eq31"] = float(np.sum(a * delta1**2 + np.where(a > 0, beta_T**2 / a, 0)) / 2)
            if np.all(delta1 > 0):
                assert out["eq31"] == pytest.approx(np.sum(delta1 * beta_T), rel=1e-12)
        D0 = learner.step_size(d)
        if learner.form == "eq35":
            out["eq35"] = (r["D"] ** 2 / (2 * D0) + D0 / 2) * beta_T.sum()
            if r["D"] <= D0:
                out["eq35_literal"] = D0 * beta_T.sum()
        if learner.form == "eq34":
            trace_A = D0 * np.trace(P[0])
            out["eq34"] = (r["D"] ** 2 / (2 * D0) + D0 / 2) * trace_A
            if r["D"] <= D0:
                out["eq34_literal"] = D0 * trace_A
    return out


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 1.0},
                                    {"kind": "box", "low": -1.0, "high": 0.5}],
                         ids=["ball", "box"])
def test_bound_values_match_direct_sums(name, domain) -> None:
    case = CASES[name]
    sc = make_scenario(domain=domain, adversary={"kind": "linear_sparse", "exponent": 0.8},
                       learners={"x": case}, T=60, seeds=2, checkpoints=6)
    result = occ.run(sc)
    learner = make_learner(case["kind"], domain=sc.domain,
                           **{k: v for k, v in case.items() if k != "kind"})
    rtol = 1e-9
    checked = 0
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        for tau in result.meta["checkpoints"]:
            u = reference_linear_comparator(sc.domain, game["params"][:tau].sum(axis=0))
            expected = expected_values(name, case, learner, game, u, tau, sc.T)
            rows = result.bounds.query("seed == @k and t == @tau and applicable")
            assert set(rows["bound"]) == set(expected), (tau, set(rows["bound"]), set(expected))
            for bound, value in zip(rows["bound"], rows["value"], strict=True):
                assert value == pytest.approx(expected[bound], rel=rtol, abs=1e-10), bound
                checked += 1
    assert checked


def test_constant_preconditioner_identities_without_projection() -> None:
    """Linear losses, no projection: (8) is an equality; and for a constant A and eta the
    first term of (10) is exactly D_{A,1}^2/(2 eta) (identity (17), projection or not),
    so (20) = (10), and (31) is (20) at the hindsight A."""
    sc = make_scenario(domain={"kind": "box", "low": -100.0, "high": 100.0},
                       adversary={"kind": "linear_gaussian", "mean": 0.5},
                       learners={"o31": {"kind": "adagrad_oracle", "form": "eq31"},
                                 "fix": {"kind": "fixed_preconditioner", "A": [1, 2, 3, 4],
                                         "eta": 0.01}}, T=50)
    b = occ.run(sc).bounds
    np.testing.assert_allclose(b[(b.bound == "eq8") & (b.learner == "fix")]["ratio"], 1.0,
                               rtol=1e-9)
    values = b.pivot_table(index=["learner", "seed", "t"], columns="bound", values="value")
    np.testing.assert_allclose(values["eq20"], values["eq10"], rtol=1e-12)
    o31 = values.loc["o31"].xs(50, level="t")
    np.testing.assert_allclose(o31["eq31"], o31["eq20"], rtol=1e-12)


def test_lemma_c4_equality_iff_diagonal() -> None:
    """tr(O_T^{1/2}) = sum_i beta_i exactly when O_T is diagonal (axis-aligned sparse
    gradients that never share a step), strictly less after a rotation."""
    base = {"kind": "linear_sparse", "exponent": 0.0}
    full = {"x": {"kind": "adagrad_full", "eps0": 1e-3}}
    aligned = occ.run(make_scenario(adversary=base, learners=full, d=1, T=40))
    np.testing.assert_allclose(aligned.facts.query("fact == 'lemma_c4'")["ratio"], 1.0,
                               rtol=1e-12)
    rotated = occ.run(make_scenario(adversary={**base, "rotation_seed": 3}, learners=full,
                                    T=40))
    ratios = rotated.facts.query("fact == 'lemma_c4' and t > 3")["ratio"]
    assert (ratios < 1 - 1e-6).all() and (ratios > 0).all()


def test_fact21_matrix_against_direct_sum() -> None:
    sc = make_scenario(adversary={"kind": "linear_gaussian"},
                       learners={"x": {"kind": "adagrad_full"}}, T=30, seeds=1)
    result = occ.run(sc)
    learner = make_learner("adagrad_full", domain=sc.domain)
    game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, 0)
    g, lhs, O = game["g"], 0.0, np.zeros((sc.d, sc.d))
    for t in range(sc.T):
        O += np.outer(g[t], g[t])
        lhs += g[t] @ np.linalg.pinv(np.real(__import__("scipy").linalg.sqrtm(O)),
                                     rcond=1e-12) @ g[t]
    final = result.facts.query("fact == 'fact21_matrix' and t == @sc.T")
    assert final["lhs"].item() == pytest.approx(lhs, rel=1e-8)
    lam = np.linalg.eigvalsh(O)
    assert final["rhs"].item() == pytest.approx(2 * np.sum(np.sqrt(np.maximum(lam, 0))),
                                                rel=1e-10)


def test_euclidean_projection_is_not_claimed() -> None:
    """A Euclidean projection with a non-spherical A_t is another algorithm: on a ball the
    A-weighted bounds are reported as not applicable, with the reason."""
    sc = make_scenario(learners={"e": {"kind": "adagrad_diag", "projection": "euclidean"},
                                 "b": {"kind": "adagrad_diag"}})
    b = occ.run(sc).bounds
    euclid = b[b.learner == "e"]
    assert not euclid["applicable"].any()
    assert euclid["note"].str.contains("A_t-norm projection").all()
    assert b[b.learner == "b"]["applicable"].any()
    # on a box clipping is the A-norm projection for any diagonal A: still claimed
    box = occ.run(make_scenario(domain={"kind": "box"},
                                learners={"e": {"kind": "adagrad_diag",
                                                "projection": "euclidean"}})).bounds
    assert box["applicable"].any()


def test_diagonal_adagrad_state_and_monotone_diagnostic() -> None:
    sc = make_scenario(adversary={"kind": "linear_sparse"},
                       learners={"x": {"kind": "adagrad_diag", "eps0": 0.0}}, T=100)
    b = occ.run(sc).bounds
    assert b[b.bound == "eq18"]["applicable"].all()  # Gamma_t >= 0 measured on the run
    assert math.isfinite(b["value"].max())
