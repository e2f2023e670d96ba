"""The six measured breaches of occ's promise (the trust issue), each reproduced.

1. the compiled engine ran the other AMSGrad variant from step 2;
2. a subclass of a supported learner was run as its parent;
3. false violations: (8) for OGD with a tiny constant step (cancelling large terms);
4. false holds: iterates far outside V, infinite losses and failed eigendecompositions
   not marked diverged (or a traceback);
5. the weighted simplex projection divided by a zero weight;
6. monotone-by-construction learners lost eq18/eq36/Shampoo to eigh round-off.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_scenario

import occ
from occ.domains import Simplex, weighted_simplex_projection
from occ.learners import LEARNERS
from occ.learners.adam import Adam


def test_numba_amsgrad_max_before_bias_correction_on_a_ball_equals_the_reference() -> None:
    sc = make_scenario(domain={"kind": "ball", "radius": 1.0}, T=150, seeds=3, chunk=64,
                       learners={"a": {"kind": "amsgrad", "beta1": 0.0, "eta": 0.1,
                                       "max_before_bias_correction": True}})
    fast, reference = occ.run(sc, engine="numba"), occ.run(sc, engine="reference")
    np.testing.assert_allclose(fast.metrics["cumulative_loss"],
                               reference.metrics["cumulative_loss"], rtol=1e-10, atol=1e-12)


@dataclasses.dataclass(frozen=True)
class ShiftedAdam(Adam):
    """A user's variant of Adam: the gradient shifted by 0.3 (a different algorithm)."""

    name = "shifted_adam"

    def update(self, state, g, xp=None):  # noqa: ANN001, ANN201
        return super().update(state, g + 0.3, xp)


def test_a_subclass_that_changes_update_runs_on_the_reference_path(monkeypatch) -> None:
    monkeypatch.setitem(LEARNERS, "shifted_adam", ShiftedAdam)
    sc = make_scenario(T=120, seeds=2, learners={"s": {"kind": "shifted_adam", "eta": 0.05}})
    auto, reference = occ.run(sc), occ.run(sc, engine="reference")
    np.testing.assert_array_equal(auto.metrics["regret"], reference.metrics["regret"])
    assert auto.meta["engines"]["s"] == "reference"
    plain = make_scenario(T=120, seeds=2, learners={"s": {"kind": "adam", "eta": 0.05}})
    assert not np.allclose(occ.run(plain).metrics["regret"], auto.metrics["regret"])


@pytest.mark.parametrize("eta", [1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0, 1e2])
def test_no_false_violation_for_ogd_with_any_constant_step(eta: float) -> None:
    sc = make_scenario(T=400, seeds=4, learners={"sgd": {"kind": "ogd", "eta": eta}})
    for engine in ("reference", "numba"):
        result = occ.run(sc, engine=engine)
        assert not result.bounds["violated"].any(), result.violations.head()
        applicable = result.bounds[result.bounds["applicable"]]
        assert (applicable["error_budget"] >= 0).all()
        assert set(applicable["bound"]) >= {"eq8", "eq10", "eq20", "eq22"}


@pytest.mark.parametrize("learner", [{"kind": "adagrad_full", "eps0": 1e-3},
                                     {"kind": "shampoo"}], ids=["adagrad_full", "shampoo"])
@pytest.mark.parametrize("scale", [1e150, 1e200])
def test_huge_gradients_mark_the_run_diverged_never_hold(learner: dict, scale: float) -> None:
    sc = make_scenario(d=4, shape=[2, 2], T=40, seeds=3,
                       adversary={"kind": "linear_gaussian", "coordinate_scale": scale},
                       learners={"x": learner})
    result = occ.run(sc)
    final = result.metrics[result.metrics["t"] == 40]
    norms = np.abs(final["iterate_0"].to_numpy())
    left = norms > 1.0 + 1e-12
    assert not (left & ~final["diverged"].to_numpy()).any()
    rows = result.bounds
    # after a repetition diverged no verdict is given, and a verdict is never NaN
    assert not (rows["applicable"] & rows["ratio"].isna() & (rows["value"] > 0)).any()
    diverged = result.metrics.set_index(["seed", "t"])["diverged"]
    verdicts = rows[rows["applicable"]]
    assert not diverged.loc[list(zip(verdicts["seed"], verdicts["t"], strict=True))].any()


@pytest.mark.parametrize("kind", ["adam", "adagrad_diag"])
def test_infinite_losses_are_divergence_not_a_nan_verdict(kind: str) -> None:
    sc = make_scenario(domain={"kind": "unconstrained"}, T=30, seeds=2,
                       adversary={"kind": "quadratic", "centre_norm": 1.0},
                       learners={"x": {"kind": kind, "eta": 1e300}})
    result = occ.run(sc)
    assert result.metrics["diverged"].any()
    applicable = result.bounds[result.bounds["applicable"]]
    assert (applicable["ratio"].notna() | (applicable["value"] <= 0)).all()
    assert not result.bounds["violated"].any()
    assert np.isfinite(result.bounds.loc[result.bounds["applicable"], "value"]).all()


def test_the_weighted_simplex_projection_with_a_zero_weight_is_the_seminorm_projection() -> None:
    y = np.array([[0.2, 0.9]])
    w = weighted_simplex_projection(y, np.array([[1.0, 0.0]]), np)
    np.testing.assert_allclose(w, [[0.2, 0.8]], atol=1e-15)
    # a coordinate of zero weight is free: the cost is 0 whenever y_i (weighted) fits
    w = Simplex().project(np.array([[0.3, -0.4, 2.0]]),
                          np, occ.regularizers.DiagonalPrecision(np.array([[2.0, 0.0, 0.0]])))
    np.testing.assert_allclose(w[0, 0], 0.3)
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-15


@pytest.mark.parametrize("learner", [{"kind": "adagrad_diag", "eta": 0.3},
                                     {"kind": "adagrad_diag", "eta": 0.3, "eps": 1e-3},
                                     {"kind": "rmsprop", "eta": 0.1, "eps": 0.0},
                                     {"kind": "adam", "beta1": 0.0, "eps": 0.0, "eta": 0.1},
                                     {"kind": "amsgrad", "beta1": 0.0, "eps": 0.0,
                                      "eta": 0.1}],
                         ids=["adagrad", "adagrad_eps", "rmsprop", "adam", "amsgrad"])
def test_adaptive_learners_on_the_simplex_neither_diverge_nor_violate(learner: dict) -> None:
    sc = make_scenario(d=5, T=200, seeds=6, domain={"kind": "simplex"},
                       adversary={"kind": "linear_sparse", "exponent": 1.0},
                       learners={"x": learner})
    result = occ.run(sc)
    assert not result.metrics["diverged"].any()
    assert not result.bounds["violated"].any(), result.violations.head()
    assert result.bounds[result.bounds["bound"] == "eq8"]["applicable"].all()


@pytest.mark.parametrize(("scenario", "bound"), [
    ("adagrad-correlated", "eq36"), ("adagrad-correlated", "eq18"),
    ("matrix-rank1", "shampoo"), ("matrix-rank4", "shampoo")])
def test_monotone_by_construction_keeps_its_bounds(scenario: str, bound: str) -> None:
    sc = occ.load_scenario(scenario)
    result = occ.run(sc, T=300, seeds=3)
    rows = result.bounds[result.bounds["bound"] == bound]
    monotone = rows[~rows["note"].str.contains("D0 >= D|horizon|diverged", regex=True)]
    assert len(monotone) and monotone["applicable"].all(), monotone["note"].unique()
