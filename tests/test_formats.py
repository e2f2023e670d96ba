"""Tables as CSV or Parquet (the same columns), figures as png, svg or pdf, or none."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_scenario

import occ
from occ.cli import cli
from occ.results import read_run

TABLES = ("metrics", "bounds", "summary", "facts")


def test_parquet_tables_have_the_csv_columns_and_values(tmp_path) -> None:
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (the parquet extra)")
    sc = make_scenario(T=60, seeds=2)
    as_csv = occ.run(sc, out=tmp_path / "csv", figure_format=None)
    as_parquet = occ.run(sc, out=tmp_path / "parquet", figure_format=None,
                         table_format="parquet")
    for name in TABLES:
        csv = pd.read_csv(as_csv.path / f"{name}.csv")
        parquet = pd.read_parquet(as_parquet.path / f"{name}.parquet")
        assert list(parquet.columns) == list(csv.columns), name
        assert not (as_parquet.path / f"{name}.csv").exists()
    back = read_run(as_parquet.path)
    pd.testing.assert_frame_equal(back.metrics, as_parquet.metrics, check_dtype=False)
    assert back.bounds["bound"].tolist() == as_csv.bounds["bound"].tolist()


@pytest.mark.parametrize("figure_format", ["svg", "pdf"])
def test_figures_in_the_format_asked(tmp_path, figure_format) -> None:
    result = occ.run(make_scenario(T=40, seeds=2), out=tmp_path, figure_format=figure_format)
    assert (result.path / f"regret.{figure_format}").stat().st_size > 0
    assert not list(result.path.glob("*.png"))
    magic = {"svg": b"<?xml", "pdf": b"%PDF"}[figure_format]
    assert (result.path / f"regret.{figure_format}").read_bytes().startswith(magic)


def test_no_plots_writes_the_tables_only(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["run", "default", "--T", "40", "--seeds", "2",
                                      "--out", str(tmp_path), "--no-plots"])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "default").iterdir())
    assert (folder / "metrics.csv").is_file()
    assert not [p for p in folder.iterdir() if p.suffix in (".png", ".svg", ".pdf")]


@pytest.mark.parametrize(("flag", "value"), [("--figure-format", "gif"),
                                             ("--table-format", "xlsx")])
def test_an_unknown_format_is_refused_before_running(tmp_path, flag, value) -> None:
    result = CliRunner().invoke(cli, ["run", "default", "--T", "40", "--seeds", "2",
                                      "--out", str(tmp_path), flag, value])
    assert result.exit_code == 2
    assert flag in result.output and value in result.output
    assert not (tmp_path / "default").exists()
