"""``occ conform``: every exact pair of optax / torch.optim and occ's reference learner
matches to 1e-9 on the three streams, a wrong convention is caught (exit 1), the known
differences (adafactor's decay, Muon's layout in optax and bfloat16 in torch) are what
their reasons say, and the README shows every pair."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from occ import conform
from occ.cli import cli
from occ.learners import LEARNERS

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {("torch", "SGD"), ("torch", "Adagrad"), ("torch", "RMSprop"), ("torch", "Adam"),
            ("torch", "AdamW"), ("optax", "sgd"), ("optax", "adagrad"), ("optax", "rmsprop"),
            ("optax", "adam"), ("optax", "adamw"), ("optax", "amsgrad"),
            ("optax", "adafactor"),
            # issue 18's learners
            ("optax", "lion"), ("optax", "optax.contrib.adopt"),
            ("optax", "optax.contrib.schedule_free_adamw"), ("optax", "optax.contrib.muon"),
            ("torch", "Muon")}
KNOWN = {("optax", "adafactor", (2, 4)), ("optax", "optax.contrib.muon", (2, 4)),
         ("torch", "Muon", (3, 3))}


def test_the_table_covers_every_required_optimizer() -> None:
    assert {(p.library, p.optimizer) for p in conform.PAIRS} >= REQUIRED
    assert any(p.keywords.get("amsgrad") for p in conform.PAIRS if p.library == "torch")
    assert all(p.convention for p in conform.PAIRS)
    assert {(p.library, p.optimizer, p.shape) for p in conform.PAIRS if not p.exact} == KNOWN
    # every issue-18 learner has an exact pair, and every pair names a registered learner
    exact = {p.learner for p in conform.PAIRS if p.exact}
    assert {"lion", "adopt", "schedule_free_adamw", "muon"} <= exact
    assert {p.learner for p in conform.PAIRS} <= set(LEARNERS)
    assert len({p.label for p in conform.PAIRS}) == len(conform.PAIRS)  # reasons by label


def test_occ_conform_prints_every_pair_and_exits_0(capsys) -> None:
    code = cli.main(["conform", "--T", "40"], standalone_mode=False)
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if line.startswith(("optax.", "torch."))]
    assert len(rows) == len(conform.PAIRS) * len(conform.STREAMS)
    cases = [(p, s) for p in conform.PAIRS for s in conform.STREAMS]
    exact = [r for r, (p, s) in zip(rows, cases, strict=True) if p.exact and s not in p.skip]
    assert all(r.endswith("matches") for r in exact)
    skipped = [r for r, (p, s) in zip(rows, cases, strict=True) if s in p.skip]
    assert skipped and all("skipped: eps = 0" in r for r in skipped)
    assert "known difference, optax.adafactor" in out


def test_a_wrong_convention_is_caught_where_it_starts(monkeypatch, capsys) -> None:
    # torch's Adagrad puts eps outside the root; occ's accumulator started at eps instead
    wrong = conform.Pair("torch", "Adagrad", {"lr": 0.1, "eps": 1e-3}, "adagrad_diag",
                         {"eta": 0.1, "eps0": 1e-3}, "deliberately wrong")
    outcome = conform.compare(wrong, "gaussian", 30)
    assert outcome.failed and outcome.first_step == 2 and outcome.deviation > 1e-6
    monkeypatch.setattr(conform, "PAIRS", (wrong,))
    assert cli.main(["conform", "--T", "20", "--library", "torch"],
                    standalone_mode=False) == 1
    assert "DEVIATES" in capsys.readouterr().out


def test_adafactor_agrees_on_the_first_step_only() -> None:
    pair = next(p for p in conform.PAIRS if p.optimizer == "adafactor")
    outcome = conform.compare(pair, "gaussian", 10)
    assert outcome.first_step == 3 and not outcome.failed  # w_2 equal, w_3 not
    # the difference is the decay alone: optax's v_2 = b v_1 + (1 - b) C_2 with
    # b = 1 - 2^-0.8 is occ's bias-corrected (beta C_1 + C_2)/(1 + beta) for
    # beta = b/(1 - b), and with it w_3 agrees too; optax computes b in float32 even
    # in a float64 run (_decay_rate_pow: jnp.array(i + 1, jnp.float32)), so b is that
    b = float(np.float32(1.0) - np.float32(2.0) ** np.float32(-0.8))
    same = dataclasses.replace(pair, hyperparameters={**pair.hyperparameters,
                                                      "beta": b / (1 - b)})
    assert conform.compare(same, "gaussian", 3).first_step == 0


def test_a_nan_iterate_is_an_infinite_deviation() -> None:
    # the skipped stream of schedule-free AdamW: optax's 0/0 where no gradient has come
    pair = next(p for p in conform.PAIRS if p.skip)
    outcome = conform.compare(dataclasses.replace(pair, skip={}), "sparse", 5)
    assert outcome.failed and outcome.deviation == np.inf and outcome.first_step == 2


def test_muon_layout_is_the_width_scale_alone() -> None:
    # from w_1 = 0 both take the same orthogonalized step, optax's scaled by
    # sqrt(max(1, n/m)) = sqrt(2) on a 2 x 4 W, occ's by sqrt(max(1, m/n)) = 1
    pair = next(p for p in conform.PAIRS if p.optimizer.endswith("muon") and not p.exact)
    outcome = conform.compare(pair, "gaussian", 2)
    assert outcome.first_step == 2
    assert outcome.deviation == pytest.approx(1 - 1 / math.sqrt(2), rel=1e-12)


def test_torch_muon_is_exact_with_newton_schulz_in_float64(monkeypatch) -> None:
    import torch.optim._muon as torch_muon
    from test_modern_conformance import _float64_newton_schulz

    pair = next(p for p in conform.PAIRS if p.optimizer == "Muon")
    assert conform.compare(pair, "gaussian", 20).first_step == 2  # bfloat16, as shipped
    monkeypatch.setattr(torch_muon, "_zeropower_via_newtonschulz", _float64_newton_schulz)
    for stream in conform.STREAMS:
        outcome = conform.compare(dataclasses.replace(pair, reason=""), stream, 20)
        assert not outcome.failed and outcome.deviation <= 1e-12, (stream, outcome)


def test_the_reddi_stream_is_the_cycle() -> None:
    G = conform.gradient_stream("reddi", 7, 2, 3)
    np.testing.assert_array_equal(G[:, 0, 0], [3, -1, -1, 3, -1, -1, 3])


@pytest.mark.parametrize("stream", ["gaussian", "sparse"])
def test_the_streams_are_occs_adversaries_draws(stream: str) -> None:
    G = conform.gradient_stream(stream, 50, 3, 4)
    assert G.shape == (50, 3, 4) and np.isfinite(G).all()
    np.testing.assert_array_equal(G[:, 1], conform.gradient_stream(stream, 50, 3, 4)[:, 1])
    if stream == "sparse":
        assert (G == 0).mean() > 0.3


def test_the_readme_shows_every_pair() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Conformance with optax and torch.optim", 1)[1]
    for pair in conform.PAIRS:
        assert pair.label in section, pair.label
