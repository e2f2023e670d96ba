"""Worst-case search (occ/search.py), the start point ``w1``, and the explicit families
``linear_sequence`` and ``linear_policy``: closed forms, plain reference loops, exact
replays of best.toml, PEPit's exact worst case, Reddi et al.'s counterexample, and
``ratio:BOUND`` over every learner and bound from the registry."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_scenario
from learner_cases import LEARNER_CASES
from PEPit.examples.online_learning.online_gradient_descent import wc_online_gradient_descent

import occ
from occ.adversaries import make_adversary
from occ.adversaries.rows import stack
from occ.api import simulate_scenario
from occ.bounds import BOUNDS, Bound
from occ.cli import cli
from occ.errors import OccError, ParameterError
from occ.learners import LEARNERS
from occ.scenario_file import scenario_toml
from occ.scenarios import parse_scenario
from occ.search import search


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ------------------------------------------------------------------ w1
def test_start_point_closed_form() -> None:
    """OGD from w1 = (0.5, -0.5) on the box [-1, 1]^2 with g_t = (1, 0), eta = 0.1:
    w_2 = (0.4, -0.5), losses 0.5 + 0.4, comparator u = (-1, 0) with loss -2: R_2 = 2.9."""
    sc = make_scenario(d=2, T=2, seeds=1, w1=[0.5, -0.5], domain={"kind": "box"},
                       adversary={"kind": "linear_sequence", "gradients": [[1.0, 0.0]] * 2},
                       learners={"x": {"kind": "ogd", "eta": 0.1}})
    result = occ.run(sc)
    final = result.metrics[result.metrics["t"] == 2]["regret"].iloc[0]
    assert final == pytest.approx(2.9, abs=1e-15)
    # one number fills every coordinate; the default is the domain's centre
    assert make_scenario(w1=0.25).start_point().tolist() == [0.25] * 4
    assert make_scenario().start_point().tolist() == [0.0] * 4


@pytest.mark.parametrize(("w1", "needle"), [
    ([2.0, 0.0, 0.0, 0.0], "must lie in V (the ball of radius 1"),
    ([0.1, 0.2], "must have d = 4 entries"),
    ("centre", "must be a number or a list"),
    ([0.1, float("nan"), 0.0, 0.0], "finite numbers, got [0.1, nan"),
])
def test_start_point_outside_or_malformed(tmp_path, w1, needle) -> None:
    with pytest.raises(ParameterError, match="w1") as info:
        make_scenario(w1=w1)
    assert needle in str(info.value)
    data = {"d": 4, "T": 5, "w1": w1, "domain": {"kind": "ball"},
            "adversary": {"kind": "linear_gaussian"}, "learners": {"x": {"kind": "ogd"}}}
    if isinstance(w1, list) and any(isinstance(v, float) and math.isnan(v) for v in w1):
        return  # TOML writes nan; the parse above covered it
    path = tmp_path / "bad.toml"
    path.write_text(scenario_toml({"description": "", **data}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and "bad.toml: w1:" in lines[0], result.output


def test_start_point_round_trips_through_show(tmp_path) -> None:
    sc = make_scenario(w1=[0.5, 0.0, -0.5, 0.25])
    text = scenario_toml(sc.resolved())
    back = parse_scenario(tomllib.loads(text), "<test>", "test")
    assert back.w1 == sc.w1 and back.resolved() == {**sc.resolved()}
    assert "w1 = [0.5, 0.0, -0.5, 0.25]" in text


# ------------------------------------------------------------------ the families
def test_sequence_norm_bound_and_horizon() -> None:
    with pytest.raises(ParameterError, match=r"adversary.gradients: entry 2 has l2 norm"):
        make_scenario(T=2, adversary={"kind": "linear_sequence", "L": 1.0, "norm": "l2",
                                      "gradients": [[1.0, 0, 0, 0], [0.6, 0.9, 0, 0]]})
    # the same gradients are within L = 1 in linf
    make_scenario(T=2, adversary={"kind": "linear_sequence", "L": 1.0, "norm": "linf",
                                  "gradients": [[1.0, 0, 0, 0], [0.6, 0.9, 0, 0]]})
    with pytest.raises(ParameterError, match=r"T: must be <= 2, the gradients listed"):
        make_scenario(T=3, adversary={"kind": "linear_sequence", "gradients": [0.5, 0.5]})
    with pytest.raises(ParameterError, match=r"gradients: has 3 numbers per gradient"):
        make_scenario(T=1, adversary={"kind": "linear_sequence", "gradients": [[0.1] * 3]})
    # a vector exactly on the l2 sphere, whose computed norm may round above L, passes
    g = [1 / math.sqrt(3)] * 3 + [0.0]
    make_scenario(T=1, adversary={"kind": "linear_sequence", "norm": "l2", "gradients": [g]})


def _policy_reference(A, b, L, norm, rule, eta, T, radius, w1):
    """OGD on the l2 ball against g_t = L normalize(A w_t + b) (or the sign rule), one
    plain loop; the regret against u = -radius G/||G||."""
    w = np.array(w1, dtype=float)
    total, G = 0.0, np.zeros_like(w)
    for _ in range(T):
        v = A @ w + b
        if rule == "sign":
            g = (L if norm == "linf" else L / math.sqrt(len(w))) * np.sign(v)
        else:
            size = np.linalg.norm(v) if norm == "l2" else np.max(np.abs(v))
            g = L * v / size if size > 0 else 0 * v
        total += g @ w
        G += g
        y = w - eta * g
        w = y if np.linalg.norm(y) <= radius else radius * y / np.linalg.norm(y)
    return total + radius * np.linalg.norm(G)


@pytest.mark.parametrize(("norm", "rule"), [("l2", "normalize"), ("linf", "normalize"),
                                            ("l2", "sign"), ("linf", "sign")])
def test_policy_matches_a_plain_loop(norm, rule) -> None:
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((3, 3)), rng.standard_normal(3)
    sc = make_scenario(d=3, T=40, seeds=2, w1=[0.3, -0.2, 0.1],
                       adversary={"kind": "linear_policy", "A": A.tolist(), "b": b.tolist(),
                                  "L": 1.7, "norm": norm, "rule": rule},
                       learners={"x": {"kind": "ogd", "eta": 0.2}})
    result = occ.run(sc)
    final = result.metrics[result.metrics["t"] == 40]["regret"].to_numpy()
    expected = _policy_reference(A, b, 1.7, norm, rule, 0.2, 40, 1.0, [0.3, -0.2, 0.1])
    np.testing.assert_allclose(final, expected, rtol=1e-12)


def test_stacked_candidates_equal_single_runs_bit_for_bit() -> None:
    """Candidate k on row k of one batched run gives exactly what it gives alone."""
    rng = np.random.default_rng(5)
    cases = {
        "linear_policy": [{"A": rng.standard_normal((3, 3)).tolist(),
                           "b": rng.standard_normal(3).tolist(), "L": 1.0} for _ in range(3)],
        "linear_sequence": [{"gradients": (0.3 * rng.uniform(-1, 1, (12, 3))).tolist()}
                            for _ in range(3)],
        "linear_periodic": [{"pattern": rng.uniform(-1, 1, 4).tolist()} for _ in range(3)],
    }
    for kind, tables in cases.items():
        singles = []
        for table in tables:
            sc = make_scenario(d=3, T=12, seeds=1, adversary={"kind": kind, **table},
                               learners={"x": {"kind": "adam", "eta": 0.1}})
            singles.append(occ.run(sc).metrics["regret"].to_numpy())
        batch = dataclasses.replace(sc, seeds=3, adversary=stack(
            [make_adversary(kind, **t) for t in tables]))
        (outcome,) = simulate_scenario(batch, np.arange(3), np)
        for k in range(3):
            np.testing.assert_array_equal(outcome.statistics.regret[k], singles[k])


# ------------------------------------------------------------------ search
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_decoded_candidates_respect_the_norm_bound(norm) -> None:
    """Any search point decodes to gradients with ||g_t|| <= L in the stated norm, within
    the norm's round-off (the adversaries' own validation accepts them)."""
    from occ.search import Space, decode, size

    rng = np.random.default_rng(11)
    space = Space(T=7, d=4, period=5, L=1.3, norm=norm, rule="normalize")
    limit = 1.3 * (1 + 1e-15)
    for _ in range(20):
        for family in ("linear_sequence", "linear_periodic", "linear_policy"):
            x = 3 * rng.standard_normal(size(family, space))
            table = decode(family, x, space)
            adversary = make_adversary(table["kind"], **{k: v for k, v in table.items()
                                                         if k != "kind"})
            adversary.loss_family(4)
            if family == "linear_policy":
                w = rng.uniform(-1, 1, (6, 4))
                g = adversary.respond(np.zeros((6, 1)), w, 1, np)
            else:
                g = adversary.draw([{}], 1, 8, 4)[:, 0]
            size_ = np.linalg.norm(g, axis=-1) if norm == "l2" else np.abs(g).max(axis=-1)
            assert np.all(size_ <= limit), (family, size_.max())


def test_one_variable_pattern_searches() -> None:
    """A period-1 pattern is one variable (CMA-ES gets a constant second one)."""
    result = search("reddi-cycle", learner="adam", T=50, period=1, budget=12)
    assert len(result.scenario.adversary.pattern) == 1
    # a constant gradient: Adam ends at the comparator's vertex, the regret is small
    assert result.replayed_value == result.best_value < 0.2


def _pep_scenario(T: int):
    d = T + 1
    return parse_scenario({
        "d": d, "T": T, "seeds": 1, "checkpoints": 2, "w1": [1.0] + [0.0] * (d - 1),
        "domain": {"kind": "ball", "radius": 1.0},
        "adversary": {"kind": "linear_sequence", "gradients": [0.0] * T, "L": 1.0,
                      "norm": "l2"},
        "learners": {"ogd": {"kind": "ogd", "eta": 2.0 / math.sqrt(T)}}}, "<test>", "pep")


@pytest.mark.parametrize("T", [2, 3, 4])
def test_search_reaches_pepit_worst_case(T, tmp_path) -> None:
    """OGD with eta = D/(L sqrt(T)) on the ball of diameter D = 2 in d = T + 1, L = 1 in l2,
    w1 on the boundary: PEPit's exact worst case over every convex L-Lipschitz loss
    sequence (an SDP, solved here) is reached within 1% by a search over linear losses,
    never exceeded beyond the solver's accuracy, and best.toml replays it exactly."""
    tau, _ = wc_online_gradient_descent(M=1.0, D=2.0, n=T, wrapper="cvxpy",
                                        solver="CLARABEL", verbose=-1)
    result = search(_pep_scenario(T), family="linear_sequence", objective="regret",
                    budget=200, seed=0, out=tmp_path)
    assert 0.99 * tau <= result.best_value <= tau * (1 + 1e-6)
    assert result.replayed_value == result.best_value
    replay = occ.run(tmp_path / "best.toml")
    assert replay.metrics[replay.metrics["t"] == T]["regret"].iloc[0] == result.best_value


def test_reddi_counterexample_rediscovered() -> None:
    """Adam (beta1 = 0, beta2 = 0.1, eta_t = 0.5/sqrt(t), eps = 0) on [-1, 1] against
    period-3 patterns with |g| <= 1, from the benign constant pattern: R_T/T > 0.1 at
    T = 10^4; AMSGrad with the same settings stays below 0.02 (a small budget here; the
    default budget is the documented run of README's "Worst-case search")."""
    adam = search("reddi-cycle", learner="adam", family="linear_periodic", T=10_000,
                  period=3, budget=120, seed=0)
    assert adam.best_value > 0.1
    assert adam.history["objective"].iloc[0] < 0.01  # the start is benign
    amsgrad = occ.search("reddi-cycle", learner="amsgrad", family="linear_periodic",
                         T=10_000, period=3, budget=120, seed=0)  # the module is callable
    assert 0 < amsgrad.best_value < 0.02
    assert len(amsgrad.history) == 120 and amsgrad.scenario.learners[0].kind == "amsgrad"


@pytest.mark.parametrize("kind", ["muon", "soap"])
def test_matrix_scenario_searches_and_replays_exactly(kind) -> None:
    """A ``shape = [m, n]`` scenario (the matrix learners): every candidate row of the
    batched run is the learner on the (2, 3) matrix, best.toml keeps the shape, and its
    replay through occ.run gives the same regret to the last digit; the batched value is
    the one the candidate gives alone."""
    sc = make_scenario(d=6, shape=[2, 3], T=15, seeds=1,
                       domain={"kind": "box", "low": -1.0, "high": 1.0},
                       adversary={"kind": "linear_periodic", "pattern": [1.0]},
                       learners={"x": {"kind": kind, "eta": 0.1}})
    result = search(sc, family="linear_policy", objective="regret", budget=16, seed=1)
    assert result.replayed_value == result.best_value > 0
    assert result.scenario.shape == (2, 3) and result.scenario.learners[0].kind == kind
    single = occ.run(result.scenario).metrics
    assert single[single["t"] == 15]["regret"].iloc[0] == result.best_value


def test_policy_search_replays_exactly() -> None:
    """The adaptive family through the whole search: two passes per generation, and
    best.toml's replay through occ.run gives the same regret to the last digit."""
    sc = make_scenario(d=3, T=25, seeds=1, learners={"x": {"kind": "adagrad_diag",
                                                          "eta": 0.5}})
    result = search(sc, family="linear_policy", objective="regret", budget=30, seed=2)
    assert result.replayed_value == result.best_value > 0
    assert result.scenario.adversary.name == "linear_policy"
    assert result.best_value == result.history["objective"].max()


def test_ratio_that_never_applies_is_said(tmp_path) -> None:
    """eq27_literal concerns OGD with AdaGrad-norm steps, but needs D0 >= D: with
    D0 = 0.1 on the unit ball it applies nowhere."""
    sc = make_scenario(d=2, T=10, seeds=1, learners={"x": {"kind": "ogd", "step": "adagrad_norm",
                                                          "D0": 0.1}})
    result = search(sc, family="linear_sequence", objective="ratio:eq27_literal", budget=8)
    assert result.best_value == 0.0 and "no candidate has a positive ratio" in result.notes[0]


def test_cli_search_writes_a_replayable_scenario(tmp_path) -> None:
    out = tmp_path / "s"
    result = _cli("search", "reddi-cycle", "--learner", "adam", "--T", "300", "--budget",
                  "24", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("best average_regret: ")
    value = float(last.split(": ")[1])
    history = pd.read_csv(out / "search.csv")
    assert len(history) == 24 and history["best_so_far"].iloc[-1] == value
    assert history["best_so_far"].is_monotonic_increasing
    assert (out / "search.png").stat().st_size > 0
    replay = _cli("run", str(out / "best.toml"), "--out", str(tmp_path / "r"), "--quiet")
    assert replay.exit_code == 0, replay.output
    folder = next((tmp_path / "r").glob("*/*"))
    metrics = pd.read_csv(folder / "metrics.csv")
    assert metrics[metrics["t"] == 300]["regret"].iloc[0] / 300 == value


@pytest.mark.parametrize(("args", "needle"), [
    (["--family", "nope"], "--family: must be one of"),
    (["--objective", "ratio:nope"], "--objective: must be regret, average_regret or ratio"),
    (["--objective", "ratio:eg_constant"], "does not concern learner 'adam'"),
    (["--learner", "sgd"], "--learner: must be one of adam, amsgrad"),
    (["--budget", "0"], "--budget: must be an integer >= 1"),
    (["--norm", "l3"], "--norm: must be one of l2, linf"),
])
def test_cli_search_bad_options(tmp_path, args, needle) -> None:
    base = ["search", "reddi-cycle", "--out", str(tmp_path / "o"), "--quiet"]
    if "--learner" not in args:
        base += ["--learner", "adam"]
    result = CliRunner().invoke(cli, base + args)
    assert result.exit_code == 2
    assert needle in result.output and len(result.output.strip().splitlines()) == 1


def test_counterexample_is_loud(tmp_path, monkeypatch) -> None:
    """A false 'bound' (a tenth of OGD's eq22) is broken by the search: the command says
    COUNTEREXAMPLE and exits 1 (a true bound never is: the registry test below)."""
    true = BOUNDS["eq22"]
    fake = Bound("fake22", "eq22 / 10", true.relevant, true.assumptions,
                 lambda stats, facts: true.value(stats, facts) / 10, true.needs, true.identity)
    monkeypatch.setitem(BOUNDS, "fake22", fake)
    path = tmp_path / "ogd.toml"
    path.write_text(scenario_toml(make_scenario(
        d=2, T=20, seeds=1, learners={"x": {"kind": "ogd", "eta": 0.2}}).resolved()),
        encoding="utf-8")
    result = CliRunner().invoke(cli, ["search", str(path), "--family", "linear_sequence",
                                      "--objective", "ratio:fake22", "--budget", "12",
                                      "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "COUNTEREXAMPLE" in result.output
    assert float(result.output.strip().splitlines()[-1].split(": ")[1]) > 1


def _registry_pairs():
    """(learner kind, its first regression case, domain, bound) for every registered
    vector learner and every bound its declaration makes relevant, on each bounded
    domain the scenario accepts it on with an explicit linear sequence."""
    from generated import DOMAINS, allowed_domains

    pairs = []
    for kind, cls in sorted(LEARNERS.items()):
        if cls.matrix:
            continue  # the matrix learners: test_matrix_scenario_searches_...
        for domain in allowed_domains(cls):
            try:
                sc = make_scenario(d=4, T=6, seeds=1, domain=DOMAINS[domain],
                                   adversary={"kind": "linear_sequence",
                                              "gradients": [0.5] * 6},
                                   learners={"x": {"kind": kind, **LEARNER_CASES[kind][0]}})
            except OccError:
                continue
            facts = occ.make_learner(kind, domain=sc.domain,
                                     **LEARNER_CASES[kind][0]).facts(4)
            for bound, spec in BOUNDS.items():
                if spec.relevant(facts):
                    pairs.append(pytest.param(sc, bound, id=f"{kind}-{domain}-{bound}"))
    return pairs


# the registry as the pairs were generated (other tests register learners of their own later)
VECTOR_KINDS = {kind for kind, cls in LEARNERS.items() if not cls.matrix}
PAIRS = _registry_pairs()


def test_registry_pairs_cover_the_families() -> None:
    kinds = {p.id.split("-")[0] for p in PAIRS}
    vector = VECTOR_KINDS
    assert kinds == vector and len(PAIRS) > 100


@pytest.mark.parametrize(("sc", "bound"), PAIRS)
def test_no_theorem_broken(sc, bound) -> None:
    """ratio:BOUND over explicit sequences, small budget: never above 1 beyond the
    verdict's error budget."""
    result = search(sc, family="linear_sequence", objective=f"ratio:{bound}", budget=16,
                    seed=1)
    assert not result.counterexample and result.violations == 0, (bound, result.best_value)
    assert result.replayed_value == result.best_value


def test_the_search_figure_needs_no_mathtext(tmp_path, monkeypatch) -> None:
    import matplotlib.mathtext

    def refuse(self, s, *args, **kwargs):
        raise AssertionError(f"mathtext parsed: {s!r}")

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)
    out = tmp_path / "s"
    result = _cli("search", "reddi-cycle", "--learner", "adam", "--T", "100", "--budget",
                  "8", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "search.png").stat().st_size > 1000
