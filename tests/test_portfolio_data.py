"""The portfolio data path: real CSV files (any Unicode header, quotes, dates, missing
values) and bad input (paths outside the scenario's folder, FIFOs, devices, huge files,
non-UTF-8 bytes, a scenario setting ``base``): one line, exit code 2, nothing echoed."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from occ.adversaries import market_data
from occ.adversaries.market_data import parse, read_table
from occ.cli import cli
from occ.errors import OccError, ParameterError
from occ.scenarios import load_scenario

SCENARIO = """
description = "a portfolio scenario"
d = 2
T = 3
seeds = 1
checkpoints = 3
[domain]
kind = "simplex"
[adversary]
kind = "portfolio"
path = "{path}"
data = "{data}"
{extra}
[learners.eg]
kind = "eg"
step = "constant"
"""

SECRET = "s3cr3t-content"


def scenario_file(folder: Path, path: str, data: str = "relatives", extra: str = "") -> Path:
    file = folder / "scenario.toml"
    file.write_text(SCENARIO.format(path=path, data=data, extra=extra))
    return file


def one_line(file: Path, *needles: str) -> str:
    result = CliRunner().invoke(cli, ["run", str(file), "--out", str(file.parent / "out")],
                                catch_exceptions=False)
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert SECRET not in result.output and "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "good.csv").write_text("a,b\n1,2\n1,0.5\n1,2\n1,0.5\n")
    (tmp_path / "outside.csv").write_text("a,b\n1,2\n1,0.5\n1,2\n")
    return tmp_path / "s"


def test_a_good_file_runs(folder: Path) -> None:
    assert load_scenario(scenario_file(folder, "good.csv")).adversary.periods == 4


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.csv", "../../../etc/passwd",
                                  "ABSOLUTE"])
def test_paths_outside_the_scenario_folder_are_refused(folder: Path, path: str) -> None:
    if path == "ABSOLUTE":
        path = str(folder.parent / "outside.csv")
    one_line(scenario_file(folder, path), "path: must name a file inside the scenario's folder")


def test_a_symbolic_link_out_of_the_folder_is_refused(folder: Path) -> None:
    (folder / "link.csv").symlink_to(folder.parent / "outside.csv")
    one_line(scenario_file(folder, "link.csv"), "inside the scenario's folder")


def test_a_fifo_is_refused_without_hanging(folder: Path) -> None:
    os.mkfifo(folder / "pipe.csv")
    one_line(scenario_file(folder, "pipe.csv"), "is not a regular file")


def test_devices_and_folders_are_refused_unread(folder: Path) -> None:
    with pytest.raises(ParameterError, match="is not a regular file"):
        read_table("/dev/zero")  # a scenario built in Python: the path as given
    (folder / "sub").mkdir()
    one_line(scenario_file(folder, "sub"), "is not a regular file")


def test_a_file_over_the_size_limit_is_refused_unread(folder: Path) -> None:
    with open(folder / "huge.csv", "wb") as f:  # sparse: nothing is written
        f.truncate(market_data.MAX_BYTES + 1)
    one_line(scenario_file(folder, "huge.csv"), "the limit is", "256 MiB")


def test_non_utf8_gets_one_line_with_the_row(folder: Path) -> None:
    (folder / "latin.csv").write_bytes(b"a,b\n1,2\n1,0.5\n\xe9t\xe9,2\n")
    one_line(scenario_file(folder, "latin.csv"), "latin.csv: row 4 is not UTF-8")


def test_contents_are_never_echoed(folder: Path) -> None:
    (folder / "secret.csv").write_text(f"a,b\n1,2\n{SECRET},2\n")
    one_line(scenario_file(folder, "secret.csv"), "row 3, column 1: not a number")
    (folder / "ragged.csv").write_text(f"a,b\n1,2\n1,2,{SECRET}\n")
    one_line(scenario_file(folder, "ragged.csv"), "row 3 has 3 fields, expected 2")


def test_base_cannot_be_set_from_the_scenario(folder: Path) -> None:
    one_line(scenario_file(folder, "good.csv", extra='base = "/"'), "adversary.base",
             "set by occ")


def test_missing_values_are_refused_with_row_and_column(folder: Path) -> None:
    for cell in ("", "NA", "nan", "null"):
        with pytest.raises(ParameterError, match=r"row 3, column 2: a missing value"):
            parse(f"a,b\n1,2\n1,{cell}\n", "m.csv")


def test_a_unicode_header_with_u0085_is_one_row() -> None:
    """TSE's header has U+0085 (NEXT LINE) among its column names: str.splitlines breaks
    the header there, a CSV reader does not."""
    names = [chr(c) for c in range(0x7B, 0x99)]
    text = ",".join(names) + "\n" + ",".join(["1.5"] * len(names)) + "\r\n"
    table = parse(text, "tse.csv")
    assert table.columns == tuple(names) and table.values.shape == (1, len(names))
    assert "\x85" in table.columns and "\u2028" not in table.columns


def test_quotes_dates_comments_and_a_bom() -> None:
    text = ('\ufeff# a comment\n"date","stock, A",B\n'
            '2001-01-02,"1.5",2\n\n2001-01-03,1.25,"2.5"\n# end\n')
    table = parse(text, "q.csv")
    assert table.columns == ("stock, A", "B")
    assert table.labels == ("2001-01-02", "2001-01-03")
    np.testing.assert_array_equal(table.values, [[1.5, 2.0], [1.25, 2.5]])
    headless = parse("1,2\n3,4\n", "n.csv")
    assert headless.labels is None and headless.values.shape == (2, 2)


def test_not_finite_and_non_positive_prices_are_refused(folder: Path) -> None:
    with pytest.raises(ParameterError, match="row 2, column 2: not finite"):
        parse("a,b\n1,inf\n", "i.csv")
    (folder / "neg.csv").write_text("a,b\n1,2\n1,-1\n")
    one_line(scenario_file(folder, "neg.csv"), "must be a finite number > 0")


def test_universal_data_sets_from_an_installed_package(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p])
    if importlib.util.find_spec("universal") is None:
        with pytest.raises(ParameterError, match="pip install universal-portfolios"):
            read_table("universal:djia")
    package = tmp_path / "site" / "universal"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "data" / "djia.csv").write_text("A,B,C\n1,1,1\n1.1,0.9,1\n1.21,0.81,1.1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    table = read_table("universal:djia")
    assert table.values.shape == (3, 3) and table.name == "universal:djia"
    with pytest.raises(ParameterError, match="unknown universal-portfolios data set"):
        read_table("universal:nasdaq")
    file = tmp_path / "u.toml"
    file.write_text(SCENARIO.format(path="", data="universal:djia", extra="").replace(
        "d = 2", "d = 3").replace("T = 3", "T = 2"))
    sc = load_scenario(file)
    np.testing.assert_allclose(sc.adversary.relatives(), [[1.1, 0.9, 1.0], [1.1, 0.9, 1.1]])
    with pytest.raises(OccError):
        file.write_text(SCENARIO.format(path="x.csv", data="universal:djia", extra=""))
        load_scenario(file)


def test_columns_select_assets(folder: Path) -> None:
    (folder / "three.csv").write_text("a,b,c\n1,2,3\n2,2,6\n2,2,6\n4,4,12\n")
    file = scenario_file(folder, "three.csv", "prices", 'columns = "3,1"')
    sc = load_scenario(file)
    np.testing.assert_allclose(sc.adversary.relatives(), [[2.0, 2.0], [1, 1], [2, 2]])
    assert sc.adversary.assets == ("c", "a")
    one_line(scenario_file(folder, "three.csv", "prices", 'columns = "1,4"'),
             "adversary.columns: must be distinct numbers from 1 to 3")
