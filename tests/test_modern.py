"""Issue 18's optimizers: every bound row says why it does not apply, the schedule-free
averaged sequence's regret against its reference, and the reductions (Adam-mini with
blocks of one is Adam; SOAP and Muon on a 1 x 1 matrix are Adam one round late and
signum with step p^5(1) eta)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario
from reference import loss_value, reference_game

import occ
from occ.learners import make_learner

RNG = np.random.default_rng(180)
VECTOR = {"adopt": {"eta": 0.1}, "lion": {"eta": 0.01}, "adam_mini": {"eta": 0.05},
          "schedule_free_adamw": {"eta": 0.05}}
MATRIX = {"muon": {"eta": 0.05}, "soap": {"eta": 0.05}}


@pytest.mark.parametrize("name", [*VECTOR, *MATRIX])
def test_every_bound_row_says_why_it_does_not_apply(name: str) -> None:
    matrix = name in MATRIX
    params = {**VECTOR, **MATRIX}[name]
    sc = make_scenario(d=6, shape=[3, 2] if matrix else None, T=30, seeds=2,
                       adversary={"kind": "matrix_linear"} if matrix else
                       {"kind": "linear_gaussian", "mean": 0.2},
                       learners={"x": {"kind": name, **params}})
    result = occ.run(sc)
    reason = make_learner(name, **params, **({"shape": (3, 2)} if matrix else {})).facts(
        6).not_mirror_descent
    assert reason and "not mirror descent" in reason
    bounds = result.bounds
    assert len(bounds) and set(bounds["bound"]) >= {"eq8", "eq10", "eq18"}
    assert not bounds["applicable"].any()
    assert bounds["value"].isna().all() and bounds["ratio"].isna().all()
    assert (bounds["note"] == reason).all()
    assert result.facts.empty


def test_schedule_free_reports_the_regret_of_the_averaged_sequence() -> None:
    """``shadow_regret`` is sum_s l_s(x_s) - comparator loss for the reference loop's x_s
    (quadratic losses: x and y have different losses); other learners leave it empty."""
    case = {"eta": 0.1, "beta1": 0.8, "weight_decay": 0.05}
    sc = make_scenario(adversary={"kind": "quadratic", "centre_norm": 2.0, "condition": 5.0},
                       learners={"sf": {"kind": "schedule_free_adamw", **case},
                                 "lion": {"kind": "lion", "eta": 0.01}}, T=40, seeds=2)
    result = occ.run(sc)
    metrics = result.metrics
    assert metrics[metrics["learner"] == "lion"]["shadow_regret"].isna().all()
    learner = make_learner("schedule_free_adamw", domain=sc.domain, **case)
    for k in range(sc.seeds):
        game = reference_game(learner, sc.adversary, sc.domain, sc.d, sc.T, sc.seed, k,
                              w1=sc.start_point())
        x = game["reference"].shadow  # x_1 .. x_{T+1}
        losses = np.array([loss_value(game["family"], game["params"][t], x[t])
                           for t in range(sc.T)])
        rows = metrics[(metrics["learner"] == "sf") & (metrics["seed"] == k)]
        for _, row in rows.iterrows():
            t = int(row["t"])
            expected = losses[:t].sum() - row["comparator_loss"]
            assert row["shadow_regret"] == pytest.approx(expected, rel=1e-11, abs=1e-11)
        assert not np.allclose(rows["shadow_regret"], rows["regret"])


def _trajectory(learner, G: np.ndarray, w1: np.ndarray) -> np.ndarray:
    state = learner.init(w1)
    out = []
    for g in G:
        w, state = learner.update(state, g)
        out.append(w)
    return np.array(out)


def test_adam_mini_with_blocks_of_one_is_adam() -> None:
    G, w1 = RNG.normal(size=(30, 3, 5)), RNG.normal(size=(3, 5))
    common = {"eta": 0.05, "beta1": 0.8, "beta2": 0.9, "eps": 1e-3}
    for mini in ({"block_size": 1}, {"blocks": [0.0, 1.0, 2.0, 3.0, 4.0]}):
        np.testing.assert_allclose(
            _trajectory(make_learner("adam_mini", **common, **mini), G, w1),
            _trajectory(make_learner("adam", **common), G, w1), rtol=1e-13, atol=1e-15)
    # one block on d = 1 is Adam as well
    np.testing.assert_allclose(_trajectory(make_learner("adam_mini", **common), G[:, :, :1],
                                           w1[:, :1]),
                               _trajectory(make_learner("adam", **common), G[:, :, :1],
                                           w1[:, :1]), rtol=1e-13, atol=1e-15)


def test_soap_on_a_1x1_matrix_is_adam_one_round_late() -> None:
    """SOAP's bias corrections sit in the step size (eps not rescaled), occ's Adam's in
    the moments: the same step at eps = 0."""
    G, w1 = RNG.normal(size=(30, 3, 1)), RNG.normal(size=(3, 1))
    common = {"eta": 0.05, "beta1": 0.8, "beta2": 0.9, "eps": 0.0}
    soap = _trajectory(make_learner("soap", **common, precondition_frequency=2,
                                    shape=(1, 1)), G, w1)
    np.testing.assert_array_equal(soap[0], w1)
    adam = _trajectory(make_learner("adam", **common), G[1:], w1)
    np.testing.assert_allclose(soap[1:], adam, rtol=1e-13, atol=1e-15)


class _OtherLapack:
    """NumPy, except that ``linalg.eigh`` and ``linalg.qr`` return another valid answer
    where the answer is not unique, as another LAPACK build may: the eigenvectors of the
    eigenvalues at rounding level, and the columns of Q from the first rounding-level
    ``R_jj`` on, rotated by a random orthogonal matrix and their signs flipped."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.linalg = self

    def __getattr__(self, name: str):
        return getattr(np, name) if hasattr(np, name) else getattr(np.linalg, name)

    def _rotate(self, Q: np.ndarray, free: np.ndarray) -> np.ndarray:
        Q = Q.copy()
        for r in range(len(Q)):
            columns = np.flatnonzero(free[r])
            if len(columns):
                Z = np.linalg.qr(self.rng.normal(size=(len(columns), len(columns))))[0]
                Q[r][:, columns] = -(Q[r][:, columns] @ Z)
        return Q

    def eigh(self, S: np.ndarray):
        values, Q = np.linalg.eigh(S)
        k = S.shape[-1]
        top = np.abs(values).max(axis=-1, keepdims=True)
        return values, self._rotate(Q, np.abs(values) <= k * np.finfo(float).eps * top)

    def qr(self, A: np.ndarray):
        Q, R = np.linalg.qr(A)
        k = A.shape[-1]
        diagonal = np.abs(np.diagonal(R, axis1=-2, axis2=-1))
        tiny = diagonal <= k * np.finfo(float).eps * diagonal.max(axis=-1, keepdims=True)
        rotated = self._rotate(Q, np.cumsum(tiny, axis=-1) > 0)
        return rotated, np.swapaxes(rotated, -1, -2) @ A


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 4)])
def test_soap_gives_one_run_whatever_basis_lapack_returns_where_it_is_free(shape) -> None:
    """Rank-1 gradients leave most of L's and R's eigenbasis free at round 1, and the
    refresh's QR rank-deficient (every 2nd update): SOAP's run is the same whichever
    basis LAPACK returns there (occ's canonical completion), to rounding; on the paper's
    own recipe (keep LAPACK's basis) the two runs differ at the first step that moves."""
    m, n = shape
    u, v = RNG.normal(size=(25, 2, m, 1)), RNG.normal(size=(25, 2, 1, n))
    G = (u @ v).reshape(25, 2, m * n)
    learner = make_learner("soap", eta=0.05, precondition_frequency=2, shape=shape)
    w1 = np.zeros((2, m * n))
    runs = []
    for xp in (np, _OtherLapack(1), _OtherLapack(2)):
        state, out = learner.init(w1, xp), []
        for g in G:
            w, state = learner.update(state, g, xp)
            out.append(w)
        runs.append(np.array(out))
    assert np.abs(runs[0][1]).max() > 1e-3  # the second iterate moved
    for other in runs[1:]:
        np.testing.assert_allclose(other, runs[0], rtol=1e-10, atol=1e-13)


def test_the_canonical_completion_keeps_the_fixed_columns_and_stays_orthonormal() -> None:
    from occ.learners.soap import canonical_completion

    Q = np.linalg.qr(RNG.normal(size=(4, 7, 7)))[0]
    loose = RNG.random((4, 7)) < 0.5
    loose[0] = False
    loose[1] = True
    out = canonical_completion(Q, loose, np)
    np.testing.assert_array_equal(out[~loose[:, None, :].repeat(7, 1)],
                                  Q[~loose[:, None, :].repeat(7, 1)])
    np.testing.assert_allclose(np.swapaxes(out, -1, -2) @ out, np.broadcast_to(np.eye(7),
                               out.shape), atol=1e-14)
    np.testing.assert_array_equal(out[1], np.eye(7))  # nothing kept: the identity, in order


def test_muon_on_a_1x1_matrix_is_signum_with_step_p5() -> None:
    a, b, c = 3.4445, -4.7750, 2.0315
    s = 1.0
    for _ in range(5):
        s = a * s + b * s**3 + c * s**5
    assert s == pytest.approx(0.6964364, abs=1e-7)
    G, w1 = RNG.normal(size=(30, 3, 1)), RNG.normal(size=(3, 1))
    beta, eta = 0.9, 0.05
    ours = _trajectory(make_learner("muon", eta=eta, beta=beta, eps=0.0, shape=(1, 1)), G, w1)
    B, w = np.zeros((3, 1)), w1.copy()
    for t in range(30):
        B = beta * B + (1 - beta) * G[t]
        w = w - eta * s * np.sign((1 - beta) * G[t] + beta * B)
        np.testing.assert_allclose(ours[t], w, rtol=1e-13, atol=1e-15)


def test_average_regret_falls_is_checked_both_ways() -> None:
    """On Reddi's cycle, AMSGrad's R_t/t falls from T/10 to T while Adam's rises toward
    2/3: the expectation passes for one and fails for the other."""
    from occ.check import expectation_rows
    from occ.scenarios import load_scenario

    result = occ.run(load_scenario("reddi-cycle"), T=600, seeds=1)
    rows = {r["learner"].split()[0]: r for r in expectation_rows(
        "reddi-cycle", {"average_regret_falls": ["amsgrad", "adam"]}, result)}
    assert rows["amsgrad"]["verdict"] == "ok" and rows["amsgrad"]["worst_ratio"] < 1
    assert rows["adam"]["verdict"] == "FAILED" and rows["adam"]["worst_ratio"] > 1


def test_adam_mini_refuses_a_partition_of_the_wrong_length() -> None:
    from occ.errors import ParameterError

    learner = make_learner("adam_mini", blocks=[0.0, 1.0, 1.0])
    with pytest.raises(ParameterError, match="blocks: must have d = 4 labels"):
        learner.init(np.zeros((1, 4)))
    sc = {"learners": {"x": {"kind": "adam_mini", "blocks": [0.0, 1.0, 1.0]}}}
    with pytest.raises(ParameterError, match="blocks"):
        make_scenario(**sc)


def test_the_panel_figure_draws_every_run(tmp_path) -> None:
    from occ.plots import plot_average_regret_panels

    sc = make_scenario(learners={"sf": {"kind": "schedule_free_adamw", "eta": 0.1},
                                 "lion": {"kind": "lion", "eta": 0.01}}, T=20)
    result = occ.run(sc)
    path = tmp_path / "panels.png"
    plot_average_regret_panels({"a": result, "b": result}, path)
    assert path.stat().st_size > 10_000
