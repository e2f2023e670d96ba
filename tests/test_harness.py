"""The run loop: determinism, no look-ahead, grids in the batch axis, divergence, memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario

import occ
from occ.errors import ParameterError
from occ.harness import log_checkpoints

LEARNERS = {
    "c": {"kind": "ogd", "eta": 0.05},
    "s": {"kind": "ogd", "step": "sqrt", "c": 0.5},
    "a": {"kind": "ogd", "step": "adagrad_norm"},
}
ADVERSARIES = [{"kind": "linear_gaussian"}, {"kind": "linear_adaptive"},
               {"kind": "quadratic", "centre_norm": 2.0}]


def test_checkpoints_are_log_spaced_and_include_the_ends() -> None:
    for T in (1, 2, 7, 100, 12345):
        c = log_checkpoints(T, 20)
        assert c[0] == 1 and c[-1] == T and np.all(np.diff(c) > 0)
        assert len(c) <= 22


@pytest.mark.parametrize("adversary", ADVERSARIES, ids=lambda a: a["kind"])
def test_repetition_k_does_not_depend_on_batch_or_chunk(adversary) -> None:
    sc = make_scenario(adversary=adversary, learners=LEARNERS, T=90, seeds=5)
    full = occ.run(sc)
    few = occ.run(sc, seeds=2, chunk=7)
    one_step_chunks = occ.run(sc, seeds=2, chunk=1)
    for other in (few, one_step_chunks):
        pd.testing.assert_frame_equal(
            full.metrics[full.metrics.seed < 2].reset_index(drop=True),
            other.metrics.reset_index(drop=True), check_exact=True)
        pd.testing.assert_frame_equal(
            full.bounds[full.bounds.seed < 2].reset_index(drop=True),
            other.bounds.reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("adversary", ADVERSARIES, ids=lambda a: a["kind"])
def test_no_look_ahead(adversary) -> None:
    """The iterates played on a prefix equal those of the full run: w_t never depends on
    g_t or later gradients."""
    sc = make_scenario(adversary=adversary, learners=LEARNERS, T=120, seeds=3)
    full = occ.run(sc, keep_trajectories=True)
    prefix = occ.run(sc, T=45, keep_trajectories=True)
    for label in LEARNERS:
        np.testing.assert_array_equal(prefix.trajectories[label],
                                      full.trajectories[label][:45])


def test_common_random_numbers_for_oblivious_adversaries() -> None:
    sc = make_scenario(learners=LEARNERS, T=50)
    m = occ.run(sc).metrics
    losses = m.pivot_table(index=["seed", "t"], columns="learner", values="comparator_loss")
    assert (losses.nunique(axis=1) == 1).all()


def test_grid_in_batch_equals_separate_runs() -> None:
    etas = [0.01, 0.1, 0.5]
    adversary = {"kind": "quadratic", "centre_norm": 1.5}
    grid = occ.run(make_scenario(adversary=adversary,
                                 learners={"g": {"kind": "ogd", "eta": etas}}, T=70))
    for eta in etas:
        single = occ.run(make_scenario(adversary=adversary,
                                       learners={"g": {"kind": "ogd", "eta": eta}}, T=70))
        mine = grid.metrics[grid.metrics.learner == f"g[eta={eta:g}]"].drop(columns="learner")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True),
                                      single.metrics.drop(columns="learner"), check_exact=True)
    assert list(grid.summary["learner"]) == [f"g[eta={e:g}]" for e in etas]


def test_divergence_is_reported_not_raised() -> None:
    sc = make_scenario(domain={"kind": "unconstrained"},
                       adversary={"kind": "quadratic", "condition": 1.0},
                       learners={"wild": {"kind": "ogd", "eta": 50.0},
                                 "calm": {"kind": "ogd", "eta": 0.1}}, T=600)
    result = occ.run(sc)
    summary = result.summary.set_index("learner")
    assert summary.loc["wild", "diverged_seeds"] == sc.seeds
    assert summary.loc["calm", "diverged_seeds"] == 0
    steps = result.meta["diverged"]["wild"]
    assert len(steps) == sc.seeds and all(1 < s < 600 for s in steps.values())
    wild = result.bounds[result.bounds.learner == "wild"]
    late = wild[wild.t == 600]
    assert (late["note"] == "diverged").all() and not late["violated"].any()


def test_hindsight_needs_an_oblivious_linear_adversary() -> None:
    """Refused when the scenario is read, naming the learner's field."""
    with pytest.raises(ParameterError, match="learners.o.step: hindsight step sizes need an "
                                             "oblivious linear adversary"):
        make_scenario(adversary={"kind": "linear_adaptive"},
                      learners={"o": {"kind": "ogd", "step": "oracle23"}})


def test_oracle_step_sizes_are_the_hindsight_formulas() -> None:
    sc = make_scenario(learners={"o23": {"kind": "ogd", "step": "oracle23"},
                                 "o25": {"kind": "ogd", "step": "oracle25"}}, T=200)
    result = occ.run(sc)
    final = result.bounds.query("t == 200 and bound == 'eq20'")
    info = result.meta["learners"]
    for label in ("o23", "o25"):
        eta = np.asarray(info[label]["parameters"]["eta"])
        assert eta.shape == (sc.seeds,)
    # eq23 and eq25 are reported at the horizon only
    assert set(result.bounds.query("bound == 'eq23' and applicable")["t"]) == {200}
    assert set(result.bounds.query("bound == 'eq25' and applicable")["t"]) == {200}
    assert len(final) == 2 * sc.seeds


def test_memory_does_not_grow_with_T() -> None:
    sc = make_scenario(learners=LEARNERS, d=50, seeds=20, chunk=64)

    def peak(T: int) -> int:
        tracemalloc.start()
        occ.run(sc, T=T)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(500), peak(4000)
    assert large < 1.5 * small, (small, large)


@pytest.mark.parametrize("engine", ["reference", "numba"])
def test_regret_only_runs_draw_the_losses_once_and_give_the_same_numbers(engine,
                                                                         monkeypatch) -> None:
    """``bounds = []``: the comparators are found beside the learners in a single pass
    (the adversary draws each chunk once, not twice), with the regret, losses and iterate
    sums of the two-pass run (bit for bit on the reference path); progress still counts
    2T steps."""
    from occ.adversaries.linear import LinearGaussian

    learners = {"a": {"kind": "adam", "eta": [0.05, 0.2]}, "o": {"kind": "ogd", "step": "sqrt"},
                "g": {"kind": "adagrad_diag"}}
    draws = []
    original = LinearGaussian.draw
    monkeypatch.setattr(LinearGaussian, "draw",
                        lambda self, *a: draws.append(a[1]) or original(self, *a))
    two_pass = occ.run(make_scenario(learners=learners, T=100, d=6, chunk=30), engine=engine)
    assert len(draws) == 2 * 4
    draws.clear()
    steps = []
    single = occ.run(make_scenario(learners=learners, T=100, d=6, chunk=30, bounds=[]),
                     engine=engine, progress=steps.append)
    assert draws == [1, 31, 61, 91] and sum(steps) == 200
    columns = ["learner", "seed", "t", "regret", "cumulative_loss", "comparator_loss",
               "mean_iterate_0", "iterate_0", "diverged"]
    # the numba engine's regret-only kernel sums the loss in its own order (1e-10, as in
    # tests/test_engines.py); the reference path does the same additions either way
    pd.testing.assert_frame_equal(single.metrics[columns], two_pass.metrics[columns],
                                  check_exact=engine == "reference", rtol=1e-10)


@pytest.mark.parametrize("bounds", [None, []], ids=["bounds", "regret-only"])
def test_compiled_running_sums_give_the_comparators_bit_for_bit(bounds) -> None:
    """Pass 1 through numba (R x d >= 4096) adds the gradients in the same order as the
    NumPy path: every comparator and comparator loss is the same number."""
    extra = {} if bounds is None else {"bounds": bounds}
    sc = make_scenario(d=700, seeds=6, T=50, chunk=16, learners={"o": {"kind": "ogd"}},
                       **extra)
    compiled, plain = occ.run(sc, engine="numba"), occ.run(sc, engine="reference")
    np.testing.assert_array_equal(compiled.metrics["comparator_loss"],
                                  plain.metrics["comparator_loss"])
