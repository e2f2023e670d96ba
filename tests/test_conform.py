"""``occ conform``: every exact pair of optax / torch.optim and occ's reference learner
matches to 1e-9 on the three streams, a wrong convention is caught (exit 1), the known
adafactor difference is reported where it starts, and the README shows every pair."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from occ import conform
from occ.cli import cli

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {("torch", "SGD"), ("torch", "Adagrad"), ("torch", "RMSprop"), ("torch", "Adam"),
            ("torch", "AdamW"), ("optax", "sgd"), ("optax", "adagrad"), ("optax", "rmsprop"),
            ("optax", "adam"), ("optax", "adamw"), ("optax", "amsgrad"),
            ("optax", "adafactor")}


def test_the_table_covers_every_required_optimizer() -> None:
    assert {(p.library, p.optimizer) for p in conform.PAIRS} >= REQUIRED
    assert any(p.keywords.get("amsgrad") for p in conform.PAIRS if p.library == "torch")
    assert all(p.convention for p in conform.PAIRS)
    assert [p for p in conform.PAIRS if not p.exact] == [
        p for p in conform.PAIRS if p.optimizer == "adafactor"]


def test_occ_conform_prints_every_pair_and_exits_0(capsys) -> None:
    code = cli.main(["conform", "--T", "40"], standalone_mode=False)
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if line.startswith(("optax.", "torch."))]
    assert len(rows) == len(conform.PAIRS) * len(conform.STREAMS)
    exact = [r for r, (p, _) in zip(rows, [(p, s) for p in conform.PAIRS
                                           for s in conform.STREAMS], strict=True) if p.exact]
    assert all(r.endswith("matches") for r in exact)
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
