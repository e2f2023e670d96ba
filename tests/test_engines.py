"""The compiled engine equals the reference per-step path (float64, 1e-10 relative) for
every learner configuration and domain it accepts, and the package works without it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from learner_cases import LEARNER_CASES

import occ
from occ.engines import numba_engine
from occ.errors import ParameterError

ENGINE_LEARNERS = ("ogd", "adagrad_diag", "rmsprop", "adam", "amsgrad", "adamw")
CASES = [(n, c) for n in ENGINE_LEARNERS for c in LEARNER_CASES[n]]
TOLERANCE = 1e-10


def _assert_close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if x.dtype.kind == "f":
            scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1.0)
            both_nan = np.isnan(x) & np.isnan(y)
            assert np.all(both_nan | (np.abs(x - y) <= TOLERANCE * scale)), column
        else:
            assert np.array_equal(x, y), column


@pytest.mark.parametrize(("name", "case"), CASES)
@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 1.0, "centre": 0.1},
                                    {"kind": "box", "low": -1.0, "high": 0.5}],
                         ids=["ball", "box"])
@pytest.mark.parametrize("adversary", [{"kind": "linear_gaussian", "mean": 0.2},
                                       {"kind": "linear_sparse", "exponent": 0.7}],
                         ids=["gauss", "sparse"])
def test_numba_engine_equals_the_reference_path(name, case, domain, adversary) -> None:
    sc = make_scenario(domain=domain, adversary=adversary, T=150, seeds=3, chunk=64,
                       learners={"x": {"kind": name, **case}})
    fast = occ.run(sc, engine="numba")
    reference = occ.run(sc, engine="reference")
    for attribute in ("metrics", "bounds", "facts", "summary"):
        _assert_close(getattr(fast, attribute), getattr(reference, attribute))


def test_numba_engine_with_grids_oracles_and_every_bound() -> None:
    sc = occ.load_scenario("default")
    fast, reference = occ.run(sc, T=300, seeds=4), occ.run(sc, T=300, seeds=4,
                                                            engine="reference")
    _assert_close(fast.bounds, reference.bounds)
    grid = make_scenario(learners={"g": {"kind": "adam", "eta": [0.01, 0.1, 1.0]},
                                   "o": {"kind": "ogd", "step": "oracle25"}}, T=100)
    _assert_close(occ.run(grid).metrics, occ.run(grid, engine="reference").metrics)


def test_auto_falls_back_without_numba(monkeypatch) -> None:
    sc = make_scenario(learners={"x": {"kind": "adagrad_diag"}}, T=60)
    with_numba = occ.run(sc)
    monkeypatch.setattr(numba_engine, "AVAILABLE", False)
    without = occ.run(sc)  # the reference path, more slowly
    _assert_close(with_numba.metrics, without.metrics)
    with pytest.raises(ParameterError, match="numba engine cannot run"):
        occ.run(sc, engine="numba")


def test_unsupported_batches_use_the_reference_path() -> None:
    sc = make_scenario(adversary={"kind": "quadratic"}, learners={"x": {"kind": "ogd"}}, T=30)
    assert occ.run(sc).summary["final_regret_mean"].notna().all()
    with pytest.raises(ParameterError, match="numba engine cannot run learner 'x'"):
        occ.run(sc, engine="numba")
    with pytest.raises(ParameterError, match="engine: must be one of"):
        occ.run(sc, engine="gpu")


@pytest.mark.parametrize("learner", [{"kind": "adagrad_diag"}, {"kind": "adam", "beta1": 0.0},
                                     {"kind": "ogd", "step": "sqrt"}],
                         ids=lambda c: c["kind"])
def test_regret_only_runs_record_no_bound_and_the_same_regret(learner) -> None:
    """``bounds = []``: the same regret on both engines, nothing else recorded."""
    full = make_scenario(learners={"x": learner}, T=120)
    bare = make_scenario(learners={"x": learner}, T=120, bounds=[])
    reference = occ.run(full, engine="reference")
    for engine in ("reference", "numba"):
        result = occ.run(bare, engine=engine)
        assert result.bounds.empty and result.facts.empty
        np.testing.assert_allclose(result.metrics["regret"], reference.metrics["regret"],
                                   rtol=TOLERANCE, atol=1e-12)
        assert result.metrics["eq10_first_term"].isna().all()


@pytest.mark.parametrize(("name", "case"), CASES)
@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 1.0, "centre": 0.1},
                                    {"kind": "box", "low": -1.0, "high": 0.5}],
                         ids=["ball", "box"])
def test_regret_kernel_equals_the_reference_path(name, case, domain) -> None:
    """``bounds = []`` runs the fused regret kernel; d = 600 splits a box row into three
    coordinate blocks (256, 256, 88) whose partial losses are added afterwards."""
    case = {k: np.resize(v, 600).tolist() if isinstance(v, list) else v
            for k, v in case.items()}  # a per-coordinate vector, repeated over d = 600
    sc = make_scenario(domain=domain, adversary={"kind": "linear_gaussian", "mean": 0.05},
                       d=600, T=80, seeds=2, chunk=32, bounds=[],
                       learners={"x": {"kind": name, **case}})
    fast = occ.run(sc, engine="numba")
    reference = occ.run(sc, engine="reference")
    assert fast.bounds.empty and reference.bounds.empty
    for attribute in ("metrics", "summary"):
        _assert_close(getattr(fast, attribute), getattr(reference, attribute))


@pytest.mark.parametrize("domain", [{"kind": "ball", "radius": 1.0},
                                    {"kind": "box", "low": -1.0, "high": 1.0}],
                         ids=["ball", "box"])
def test_regret_kernel_rows_do_not_depend_on_batch_chunk_or_threads(domain) -> None:
    sc = make_scenario(domain=domain, d=700, T=90, seeds=5, bounds=[],
                       learners={"a": {"kind": "adam", "eta": 0.3},
                                 "g": {"kind": "adagrad_diag", "eta": 0.5}})
    full = occ.run(sc)
    threads = numba_engine.numba.get_num_threads()
    numba_engine.numba.set_num_threads(1)
    try:
        few = occ.run(sc, seeds=2, chunk=7)
    finally:
        numba_engine.numba.set_num_threads(threads)
    pd.testing.assert_frame_equal(full.metrics[full.metrics.seed < 2].reset_index(drop=True),
                                  few.metrics.reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize(("d", "eta"), [(600, 1e250), (3, 1e307)])
def test_regret_kernel_reports_divergence_at_the_same_step(d, eta) -> None:
    """Iterates far outside the ball are projected back (1e250: ||y||^2 overflows, y does
    not); with 1e307 a gradient coordinate above 17.97 (mean 15, 3 sd) makes ``w_{t+1}``
    infinite, at a different step in each repetition (or never), and the run is diverged
    from that step on."""
    sc = make_scenario(domain={"kind": "ball", "radius": 1e300}, d=d, T=400, seeds=6,
                       bounds=[], checkpoints=30,
                       adversary={"kind": "linear_gaussian", "mean": 15.0},
                       learners={"x": {"kind": "ogd", "step": "constant", "eta": eta}})
    fast, reference = occ.run(sc, engine="numba"), occ.run(sc, engine="reference")
    assert fast.meta["diverged"] == reference.meta["diverged"]
    if eta > 1e300:
        steps = set(fast.meta["diverged"]["x"].values())
        assert len(steps) > 1 and min(steps) > 1
    else:
        assert not fast.meta["diverged"]["x"]
    pd.testing.assert_series_equal(fast.metrics["diverged"], reference.metrics["diverged"])


def test_staggered_state_arrays_are_aligned_disjoint_zeros_spread_over_a_page() -> None:
    rows = numba_engine.staggered_zeros(7, 300, 9)
    starts = [a.ctypes.data for a in rows]
    assert all(a.shape == (7, 300) and a.flags.c_contiguous and not a.any() for a in rows)
    assert all(s % 64 == 0 for s in starts)
    assert all(b - a >= 7 * 300 * 8 for a, b in itertools.pairwise(starts))  # disjoint
    assert [(s - starts[0]) % 4096 for s in starts] == [k * 448 for k in range(9)]
