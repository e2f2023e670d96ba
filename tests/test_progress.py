"""Progress for run, check, sweep and search where stderr is not a terminal, off with --quiet."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import occ.cli
from occ.cli import cli

SCENARIO = """d = 3
T = 30
seeds = 2
checkpoints = 3

[check]
T = 30
seeds = 2

[domain]
kind = "ball"

[adversary]
kind = "linear_gaussian"

[learners.sgd]
kind = "ogd"
eta = 0.1
"""

SWEEP = """name = "tiny"
scenarios = ["{scenario}"]
T = [20, 30]
seeds = 2
seed_block = 2

[learners.sgd]
kind = "ogd"
eta = [0.1, 0.2]
"""


@pytest.fixture
def files(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    monkeypatch.setattr(occ.cli, "PROGRESS_SECONDS", 0.0)  # every piece of work is "long"
    monkeypatch.setattr(occ.cli, "PROGRESS_EVERY", 0.0)  # and every update prints a line
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(SCENARIO)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.format(scenario=scenario))
    return {"scenario": scenario, "sweep": sweep, "out": tmp_path / "out"}


@pytest.mark.parametrize("command", ["run", "check", "sweep", "search"])
def test_progress_lines_without_a_terminal_and_none_with_quiet(files, command) -> None:
    args = {"run": ["run", str(files["scenario"]), "--out", str(files["out"]), "--no-plots"],
            "check": ["check", str(files["scenario"])],
            "sweep": ["sweep", str(files["sweep"]), "--out", str(files["out"] / "sweep"),
                      "--workers", "1"],
            "search": ["search", str(files["scenario"]), "--family", "linear_sequence",
                       "--budget", "8", "--out", str(files["out"] / "search"),
                       "--no-plots"]}[command]
    unit = {"run": "steps", "check": "scenarios", "sweep": "cells",
            "search": "evaluations"}[command]
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code == 0, shown.output
    assert "% of " in shown.stderr and f" {unit} after " in shown.stderr, shown.stderr
    if command == "sweep":  # the cells are done now: a second run has nothing to compute
        args[3] = str(files["out"] / "sweep2")
    quiet = CliRunner().invoke(cli, [*args, "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert f" {unit} after " not in quiet.stderr
