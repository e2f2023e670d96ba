"""`occ show` prints a valid scenario file that loads back to the same scenario, for every
named scenario; `occ new` writes an editable copy."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from occ.cli import cli
from occ.named import list_scenarios
from occ.scenario_file import scenario_toml, toml_value
from occ.scenarios import load_scenario


@pytest.mark.parametrize("name", sorted(list_scenarios()))
def test_show_round_trips_every_named_scenario(name: str, tmp_path: Path) -> None:
    original = load_scenario(name)
    text = CliRunner().invoke(cli, ["show", name]).output
    tomllib.loads(text)  # valid TOML
    folder = Path(original.path).parent
    if (folder / "data").is_dir():  # data paths are relative to the scenario file
        shutil.copytree(folder / "data", tmp_path / "data")
    copy = tmp_path / f"{name}.toml"
    copy.write_text(text, encoding="utf-8")
    again = load_scenario(copy)
    assert scenario_toml(again.resolved()) == text  # show(load(show(x))) == show(x)
    assert (again.T, again.d, again.seeds, again.seed) == (original.T, original.d,
                                                           original.seeds, original.seed)


def test_toml_literals_parse_back() -> None:
    values = [True, 0, -3, 1e-08, 2.5, float("inf"), "a \"quoted\" \\ line\nand more",
              [1.0, 2.0], ["x", "y"]]
    text = "\n".join(f"k{i} = {toml_value(v)}" for i, v in enumerate(values))
    parsed = tomllib.loads(text)
    assert [parsed[f"k{i}"] for i in range(len(values))] == values


def test_unset_fields_are_left_out() -> None:
    text = scenario_toml({"description": "x", "shape": None, "bounds": "all that apply",
                          "path": "/somewhere", "learners": {"a": {"kind": "ogd"}}})
    parsed = tomllib.loads(text)
    assert parsed == {"description": "x", "learners": {"a": {"kind": "ogd"}}}


def test_new_writes_an_editable_copy_and_never_overwrites(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["new", "mine", "--from", "default", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    copy = load_scenario(tmp_path / "mine.toml")
    assert copy.name == "mine" and copy.T == load_scenario("default").T
    again = runner.invoke(cli, ["new", "mine", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "exists already" in again.output
    bad = runner.invoke(cli, ["new", "../escape", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "NAME" in bad.output


@pytest.mark.parametrize("text", ["a\tb", 'quote " and back \\ slash', "line\nnext",
                                  "\x00\x1f\x7f control", "é ünïcode"])
def test_every_string_is_written_as_valid_toml(text: str) -> None:
    import tomllib

    from occ.scenario_file import toml_value

    assert tomllib.loads(f"k = {toml_value(text)}")["k"] == text
