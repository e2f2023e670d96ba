"""A plain `pip install .` carries the named scenarios, their data and the example sweeps."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from occ.named import packaged, scenario_directories

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_of_occ_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "occ").rglob(
        "__init__.py")}
    assert found <= listed, found - listed


def test_the_wheel_holds_every_scenario_its_data_and_the_sweeps(tmp_path) -> None:
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
                            "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True,
                           text=True, timeout=300)
    # what a newcomer's `pip install .` shows: no deprecated metadata, no data folder that
    # setuptools would call an unlisted package
    assert "BuildBackendWarning" not in build.stdout + build.stderr, [
        line for line in (build.stdout + build.stderr).splitlines() if "Warning" in line]
    wheel = next(tmp_path.glob("occ-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((ROOT / "scenarios").rglob("*")):
        if path.suffix in (".toml", ".csv"):
            assert "occ/_scenarios/" + path.relative_to(ROOT / "scenarios").as_posix() in names
    for path in sorted((ROOT / "sweeps").glob("*.toml")):
        assert f"occ/_sweeps/{path.name}" in names


def test_named_scenarios_are_found_from_any_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert scenario_directories() == [packaged("scenarios")]
    assert (packaged("scenarios") / "default.toml").is_file()
    assert (packaged("sweeps") / "adam-learning-rate.toml").is_file()


def test_an_example_sweep_is_found_by_name_from_any_directory(tmp_path, monkeypatch) -> None:
    from occ.sweeps import load_sweep

    monkeypatch.chdir(tmp_path)
    sweep = load_sweep("adam-learning-rate")
    assert sweep.name == "adam-learning-rate"
