"""Every registered learner against an independent per-step reference, closed forms,
batched-equals-loop, and the strict array-API namespace."""

from __future__ import annotations

import importlib
import math
import pkgutil

import array_api_strict as strict
import numpy as np
import pytest
from conftest import make_scenario
from generated import allowed_domains
from learner_cases import LEARNER_CASES
from reference import reference_game

import occ
import occ.learners
from occ.domains import Ball, Box, Unconstrained, make_domain
from occ.errors import ParameterError, UnknownNameError
from occ.harness import Hindsight
from occ.learners import LEARNERS, make_learner
from occ.learners.base import LearnerConfig


# which cases go where comes from each learner's declaration: matrix parameters, or a
# learner that runs on the simplex alone
def _matrix(name: str) -> bool:
    return LEARNERS[name].matrix


def _simplex_only(name: str) -> bool:
    return allowed_domains(LEARNERS[name]) == ["simplex"]


CASES = [(name, case) for name, cases in LEARNER_CASES.items() for case in cases
         if not _simplex_only(name) and not _matrix(name)]
MATRIX_CASES = [(name, case) for name, cases in LEARNER_CASES.items() for case in cases
                if _matrix(name)]
SIMPLEX_CASES = [(name, case) for name, cases in LEARNER_CASES.items() for case in cases
                 if _simplex_only(name)]
DOMAINS = {
    "ball": {"kind": "ball", "radius": 1.0},
    "box": {"kind": "box", "low": -0.5, "high": 0.8},
}
ADVERSARIES = {
    "gauss": {"kind": "linear_gaussian", "mean": 0.4},
    "adaptive": {"kind": "linear_adaptive"},
    "quadratic": {"kind": "quadratic", "centre_norm": 2.0, "condition": 10.0},
}


def test_every_learner_module_is_registered() -> None:
    modules = [m.name for m in pkgutil.iter_modules(occ.learners.__path__)
               if m.name not in ("base",)]
    registered = {cls.__module__.rsplit(".", 1)[-1] for cls in LEARNERS.values()}
    for name in modules:
        module = importlib.import_module(f"occ.learners.{name}")
        learners_here = [v for v in vars(module).values() if isinstance(v, type)
                         and issubclass(v, LearnerConfig) and v is not LearnerConfig
                         and v.__module__ == module.__name__]
        if learners_here:
            assert name in registered, f"occ/learners/{name}.py defines a learner not registered"


def test_every_registered_learner_has_cases() -> None:
    ours = {name for name, cls in LEARNERS.items() if cls.__module__.startswith("occ.")}
    assert ours <= set(LEARNER_CASES), ours - set(LEARNER_CASES)


def ready(learner, g: np.ndarray, w1: np.ndarray):
    """A hindsight learner resolved from the gradient sequence g (T, R, d); others as is."""
    if not learner.needs_hindsight:
        return learner
    u = np.where(g.sum(axis=0) > 0, -1.0, 1.0)
    return learner.with_hindsight(Hindsight(
        T=g.shape[0], D1=np.linalg.norm(w1 - u, axis=-1),
        L=np.linalg.norm(g, axis=-1).max(axis=0), S=np.sum(g**2, axis=(0, 2)),
        coordinate_squares=np.sum(g**2, axis=0), delta1=np.abs(w1 - u),
        outer=np.einsum("tri,trj->rij", g, g)))


# full-matrix references use scipy.linalg.sqrtm, occ uses eigh: agreement to 1e-9
TOLERANCE = {"adagrad_full": 1e-9, "adagrad_oracle": 1e-9}


@pytest.mark.parametrize(("name", "case"), CASES)
@pytest.mark.parametrize("domain", list(DOMAINS))
@pytest.mark.parametrize("adversary", list(ADVERSARIES))
def test_learner_matches_reference_loop(name, case, domain, adversary) -> None:
    if make_learner(name, domain=make_domain(**DOMAINS[domain]), **case).needs_hindsight \
            and adversary != "gauss":
        with pytest.raises(ParameterError, match="oblivious linear"):  # when read
            make_scenario(domain=DOMAINS[domain], adversary=ADVERSARIES[adversary],
                          learners={"x": {"kind": name, **case}}, T=40, seeds=3)
        return
    sc = make_scenario(domain=DOMAINS[domain], adversary=ADVERSARIES[adversary],
                       learners={"x": {"kind": name, **case}}, T=40, seeds=3)
    result = occ.run(sc, keep_trajectories=True)
    trajectory = result.trajectories["x"]  # (T, R, d): w_1..w_T
    learner = make_learner(name, domain=sc.domain, **case)
    rtol = TOLERANCE.get(name, 1e-12)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        np.testing.assert_allclose(trajectory[:, k, :], game["w"][:-1], rtol=rtol,
                                   atol=rtol * 1e-2)
        final = result.metrics.query("learner == 'x' and seed == @k and t == @sc.T")
        assert final["cumulative_loss"].item() == pytest.approx(game["loss"].sum(), rel=rtol)


def test_ogd_unconstrained_linear_closed_form() -> None:
    """On R^d with linear losses, w_{t+1} = w_1 - sum_{s<=t} eta_s g_s."""
    rng = np.random.default_rng(0)
    g = rng.normal(size=(50, 4, 3))
    for case, eta in (({"step": "constant", "eta": 0.3}, lambda t: 0.3),
                      ({"step": "sqrt", "c": 2.0}, lambda t: 2.0 / math.sqrt(t))):
        learner = make_learner("ogd", domain=Unconstrained(), **case)
        w1 = rng.normal(size=(4, 3))
        state = learner.init(w1)
        for t in range(1, 51):
            w, state = learner.update(state, g[t - 1])
            expected = w1 - sum(eta(s) * g[s - 1] for s in range(1, t + 1))
            np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-13)


def test_adagrad_norm_closed_form() -> None:
    """eta_t = D0 / sqrt(sum_{s<=t} ||g_s||^2), unconstrained."""
    rng = np.random.default_rng(1)
    g = rng.normal(size=(30, 2, 5))
    learner = make_learner("ogd", step="adagrad_norm", D0=3.0)
    state = learner.init(np.zeros((2, 5)))
    expected = np.zeros((2, 5))
    for t in range(30):
        w, state = learner.update(state, g[t])
        S = np.sum(g[: t + 1] ** 2, axis=(0, 2))
        expected = expected - (3.0 / np.sqrt(S))[:, None] * g[t]
        np.testing.assert_allclose(w, expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "case"), CASES)
@pytest.mark.parametrize("domain", [Ball(radius=1.0), Box(low=-1.0, high=0.5), Unconstrained()])
def test_batched_equals_loop(name, case, domain) -> None:
    """R repetitions in one batch give exactly the numbers of R separate runs."""
    rng = np.random.default_rng(2)
    g = rng.normal(size=(25, 5, 4)) * 2
    if domain.name not in allowed_domains(LEARNERS[name]):  # declared: not on this domain
        with pytest.raises(ParameterError, match="domain"):
            make_learner(name, domain=domain, **case)
        return
    learner = make_learner(name, domain=domain, **case)
    if name == "adagrad_full" and not domain.bounded:
        learner = learner.replace(eta=1.0)
    learner = ready(learner, g, np.zeros((5, 4)))
    state = learner.init(np.zeros((5, 4)))
    batch = []
    for t in range(25):
        w, state = learner.update(state, g[t])
        batch.append(w)
    for r in range(5):
        alone = learner
        if make_learner(name, domain=domain, **case).needs_hindsight:
            alone = ready(make_learner(name, domain=domain, **case), g[:, r:r + 1],
                          np.zeros((1, 4)))
        single = alone.init(np.zeros((1, 4)))
        for t in range(25):
            w, single = alone.update(single, g[t, r:r + 1])
            np.testing.assert_allclose(w[0], batch[t][r], rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize(("name", "case"), CASES)
def test_strict_namespace_equals_numpy(name, case, monkeypatch) -> None:
    """The kernels use only the array API: array_api_strict gives the NumPy numbers. NumPy's
    compiled rank-one eigen-updates (full AdaGrad; held equal to eigh's at 1e-9 in
    test_eigen_update.py) are switched off: both sides take eigh, as other namespaces do."""
    monkeypatch.setattr("occ.eigen_update.rank_one_update", None)
    rng = np.random.default_rng(3)
    g = rng.normal(size=(10, 3, 4))
    learner = ready(make_learner(name, domain=Ball(radius=1.0), **case), g, np.zeros((3, 4)))
    s_np = learner.init(np.zeros((3, 4)))
    s_st = learner.init(strict.asarray(np.zeros((3, 4))), strict)
    for t in range(10):
        w_np, s_np = learner.update(s_np, g[t])
        w_st, s_st = learner.update(s_st, strict.asarray(g[t]), strict)
        assert w_st.__array_namespace__() is strict
        np.testing.assert_allclose(np.from_dlpack(w_st), w_np, rtol=1e-13, atol=1e-15)


def test_per_row_hyperparameters_equal_separate_learners() -> None:
    rng = np.random.default_rng(4)
    g = rng.normal(size=(15, 3, 2))
    etas = np.array([0.01, 0.1, 1.0])
    grid = make_learner("ogd", eta=etas, domain=Ball(radius=1.0))
    state = grid.init(np.zeros((3, 2)))
    singles = [make_learner("ogd", eta=float(e), domain=Ball(radius=1.0)) for e in etas]
    states = [s.init(np.zeros((1, 2))) for s in singles]
    for t in range(15):
        w, state = grid.update(state, g[t])
        for r, s in enumerate(singles):
            wr, states[r] = s.update(states[r], g[t, r:r + 1])
            np.testing.assert_array_equal(wr[0], w[r])


@pytest.mark.parametrize(("params", "message"), [
    ({"eta": float("nan")}, r"eta: must be a finite number > 0, got nan"),
    ({"eta": -1.0}, r"eta: must be a finite number > 0, got -1.0"),
    ({"step": "fast"}, r"step: must be one of 'constant', 'sqrt'"),
    ({"projection": "l1"}, r"projection: must be one of 'bregman', 'euclidean'"),
    ({"etaa": 1.0}, r"etaa: unknown parameter; allowed: .*eta"),
])
def test_invalid_hyperparameters_are_named(params, message) -> None:
    with pytest.raises(ParameterError, match=message):
        make_learner("ogd", **params)


def test_unknown_learner_lists_the_registry() -> None:
    with pytest.raises(UnknownNameError, match="unknown learner 'sgdd'; allowed: ogd"):
        make_learner("sgdd")


def test_oracle_needs_hindsight() -> None:
    learner = make_learner("ogd", step="oracle23", domain=Ball(radius=1.0))
    state = learner.init(np.zeros((1, 2)))
    with pytest.raises(ParameterError, match="hindsight"):
        learner.update(state, np.ones((1, 2)))


@pytest.mark.parametrize(("name", "case"), SIMPLEX_CASES)
@pytest.mark.parametrize("adversary", [{"kind": "experts_random"},
                                       {"kind": "experts_adaptive", "noise": 0.5},
                                       {"kind": "linear_gaussian", "mean": 0.0}],
                         ids=lambda a: a["kind"])
def test_simplex_learner_matches_reference_loop(name, case, adversary) -> None:
    sc = make_scenario(domain={"kind": "simplex"}, adversary=adversary, d=5, T=40,
                       learners={"x": {"kind": name, **case}})
    result = occ.run(sc, keep_trajectories=True)
    learner = make_learner(name, domain=sc.domain, **case)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        np.testing.assert_allclose(result.trajectories["x"][:, k, :], game["w"][:-1],
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "case"), SIMPLEX_CASES)
def test_simplex_learner_batched_and_strict(name, case) -> None:
    from occ.domains import Simplex

    rng = np.random.default_rng(5)
    g = rng.normal(size=(20, 4, 3))
    learner = make_learner(name, domain=Simplex(), **case).for_horizon(20)
    w1 = np.full((4, 3), 1 / 3)
    batch = _trajectory(learner, g, w1)
    for r in range(4):
        np.testing.assert_array_equal(_trajectory(learner, g[:, r:r + 1], w1[r:r + 1])[:, 0],
                                      batch[:, r])
    state = learner.init(strict.asarray(w1), strict)
    for t in range(20):
        w, state = learner.update(state, strict.asarray(g[t]), strict)
        np.testing.assert_allclose(np.from_dlpack(w), batch[t], rtol=1e-14)


def _trajectory(learner, g, w1):
    state = learner.init(w1)
    out = []
    for t in range(g.shape[0]):
        w, state = learner.update(state, g[t])
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize(("name", "case"), MATRIX_CASES)
@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 1.0}, {"kind": "unconstrained"}],
                         ids=["ball", "unconstrained"])
@pytest.mark.parametrize("adversary", [{"kind": "matrix_linear", "rank": 2},
                                       {"kind": "matrix_least_squares", "k": 2}],
                         ids=["linear", "least_squares"])
def test_matrix_learner_matches_reference_loop(name, case, domain, adversary) -> None:
    if domain["kind"] == "unconstrained" and adversary["kind"] == "matrix_linear":
        domain = {"kind": "box", "low": -1.0, "high": 1.0}  # linear losses need bounds
    params = dict(case)
    if name == "shampoo" and domain["kind"] != "ball" and "eta" not in params:
        params["eta"] = 0.3
    sc = make_scenario(shape=[3, 2], d=6, domain=domain, adversary=adversary, T=25,
                       learners={"x": {"kind": name, **params}})
    result = occ.run(sc, keep_trajectories=True)
    learner = sc_learner(sc, name, params)
    # Shampoo: scipy's fractional powers against eigh, and on a box two different solvers
    # of the Kronecker-norm projection (projected Newton, BVLS) on ill-conditioned A_t
    rtol, atol = (1e-8, 1e-9) if name == "shampoo" else (1e-11, 1e-12)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        np.testing.assert_allclose(result.trajectories["x"][:, k, :], game["w"][:-1],
                                   rtol=rtol, atol=atol)


def sc_learner(sc, name, params):
    from occ.batches import expand_learner

    return expand_learner("x", name, params, sc.domain, np.arange(sc.seeds),
                          sc.shape).learner


@pytest.mark.parametrize(("name", "case"), MATRIX_CASES)
def test_matrix_learner_layouts_batches_and_strict(name, case) -> None:
    """W as (R, m, n) or as row-major vec(W): the same numbers; batched equals one at a
    time; array_api_strict equals NumPy."""
    rng = np.random.default_rng(6)
    g = rng.normal(size=(15, 3, 4, 2))
    extra = {"repetitions": (0, 1, 2)} if name == "adam_nmf" else {}
    learner = make_learner(name, domain=Ball(radius=1.0), shape=(4, 2), **extra,
                           **{**{"eta": 0.2}, **case})
    as_matrix = _trajectory(learner, g, np.zeros((3, 4, 2)))
    as_vector = _trajectory(learner, g.reshape(15, 3, 8), np.zeros((3, 8)))
    np.testing.assert_allclose(as_matrix.reshape(15, 3, 8), as_vector, rtol=1e-14, atol=1e-16)
    for r in range(3):
        alone = learner.replace(repetitions=(r,)) if extra else learner
        np.testing.assert_allclose(_trajectory(alone, g[:, r:r + 1], np.zeros((1, 4, 2)))[:, 0],
                                   as_matrix[:, r], rtol=1e-13, atol=1e-15)
    state = learner.init(strict.asarray(np.zeros((3, 8))), strict)
    for t in range(15):
        w, state = learner.update(state, strict.asarray(g[t].reshape(3, 8)), strict)
        np.testing.assert_allclose(np.from_dlpack(w), as_vector[t], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["ogd", "adagrad_diag", "adam", "adagrad_full"])
@pytest.mark.parametrize("domain", ["ball", "box"])
def test_a_scenarios_start_point_is_where_both_games_start(name: str, domain: str) -> None:
    """``w1`` off the centre: occ.run and the reference loop start there and agree."""
    sc = make_scenario(domain=DOMAINS[domain], adversary=ADVERSARIES["gauss"],
                       learners={"x": {"kind": name}}, T=30, seeds=2, w1=0.25)
    result = occ.run(sc, keep_trajectories=True)
    trajectory = result.trajectories["x"]
    learner = make_learner(name, domain=sc.domain)
    rtol = TOLERANCE.get(name, 1e-12)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        assert np.all(game["w"][0] == 0.25) and np.all(trajectory[0, k] == 0.25)
        np.testing.assert_allclose(trajectory[:, k, :], game["w"][:-1], rtol=rtol,
                                   atol=rtol * 1e-2)
