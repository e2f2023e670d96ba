"""Summaries say how much was checked, and the terminal summary fits 100 columns."""

from __future__ import annotations

from click.testing import CliRunner

import occ
from occ.cli import cli


def test_the_summary_counts_the_rows_each_bound_was_checked_on() -> None:
    result = occ.run("default", T=100, seeds=3)
    row = result.summary.set_index("learner").loc["oracle25"]
    checkpoints = len(result.meta["checkpoints"])
    assert row["checked_eq25"] == 3  # tuned for T: once per seed
    assert row["checked_eq10"] == 3 * checkpoints


def test_the_terminal_summary_fits_100_columns_and_sets_identities_apart(tmp_path) -> None:
    out = CliRunner().invoke(cli, ["run", "default", "--T", "100", "--seeds", "2",
                                   "--out", str(tmp_path), "--no-plots"]).output
    lines = out.splitlines()
    table = [line for line in lines if not line.startswith("results: ")]  # a path is a path
    assert max(len(line) for line in table) <= 100
    assert any("identities: eq8" in line for line in lines)
    bounds_lines = [line for line in lines if " bounds: " in line]
    assert bounds_lines and not any("eq8 " in line for line in bounds_lines)
    assert any("facts: fact21_scalar" in line for line in lines)
