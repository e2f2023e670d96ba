"""CI regression: every scenario's final mean regret and worst bound ratios match the
committed baseline within the tolerance the baseline file states."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from occ.check import check_table, compare_baseline, read_baseline
from occ.cli import cli
from occ.scenarios import list_scenarios

BASELINE = Path(__file__).resolve().parent.parent / "results" / "baseline.csv"


def test_baseline_covers_every_scenario_and_states_its_tolerance() -> None:
    baseline = read_baseline(BASELINE)
    assert set(baseline["scenario"]) == set(list_scenarios())
    assert (baseline["tolerance"] > 0).all() and (baseline["tolerance"] <= 1e-6).all()


def test_occ_check_against_the_committed_baseline() -> None:
    result = CliRunner().invoke(cli, ["check", "--baseline", str(BASELINE)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "VIOLATED" not in result.stdout


def test_a_looser_bound_or_worse_learner_is_caught() -> None:
    table = check_table(["default"])
    baseline = read_baseline(BASELINE)
    assert compare_baseline(table, baseline).empty
    worse = baseline.copy()
    row = worse.index[(worse.scenario == "default") & (worse.quantity == "worst_ratio:eq18")][0]
    worse.loc[row, "value"] *= 1 + 10 * worse.loc[row, "tolerance"]
    moved = compare_baseline(table, worse)
    assert list(moved["quantity"]) == ["worst_ratio:eq18"] and len(moved) == 1
    default_row = baseline[baseline.scenario == "default"].iloc[[0]]
    missing = pd.concat([baseline, default_row.assign(learner="gone")])
    assert "missing now" in set(compare_baseline(table, missing)["problem"])
