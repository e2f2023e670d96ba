"""`occ report`: one self-contained HTML file, checked in a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_scenario

import occ
from occ.bounds import bound_verdicts
from occ.cli import cli
from occ.report import render_report
from occ.results import read_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("results")
    first = occ.run("default", T=120, seeds=2, out=out)
    second = occ.run(make_scenario(T=120, seeds=2, learners={
        "sgd": {"kind": "ogd", "step": "sqrt", "c": 0.5},
        "adagrad": {"kind": "adagrad_diag", "eta": 0.5}}), out=out)
    return [first.path, second.path]


def test_verdicts_count_where_each_bound_was_checked(runs) -> None:
    result = read_run(runs[0])
    verdicts = bound_verdicts(result).set_index(["learner", "bound"])
    seeds, checkpoints = result.meta["seeds"], len(result.meta["checkpoints"])
    assert (verdicts["rows"] == seeds * checkpoints).all()
    # eq25 is tuned for the horizon: checked at t = T only, once per seed
    assert verdicts.loc[("oracle25", "eq25"), "checked"] == seeds
    assert verdicts.loc[("oracle25", "eq25"), "verdict"] == "holds"
    assert set(verdicts["verdict"]) <= {"holds", "not applicable", "VIOLATED"}


def test_the_report_is_self_contained(runs) -> None:
    text = render_report([read_run(p) for p in runs])
    assert "<h2>Comparison</h2>" in text
    sources = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in text and "https://" not in text
    assert text.count("<table") >= 1 + 2 * len(runs)


def test_occ_report_writes_one_file(runs, tmp_path) -> None:
    out = tmp_path / "both.html"
    result = CliRunner().invoke(cli, ["report", *map(str, runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "occ report" in out.read_text(encoding="utf-8")


def test_the_report_renders_in_a_browser(runs, tmp_path) -> None:
    """Never skipped: `make test` (and so .ci/run) installs Chromium first."""
    assert CHROMIUM is not None, ("no chromium: `make test` installs Debian's package "
                                  "chromium first (apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(render_report([read_run(p) for p in runs]), encoding="utf-8")
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([CHROMIUM, *BROWSER_FLAGS, *profile, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<table") >= 1 + 2 * len(runs)
    assert dom.count("<img") == 2 * len(runs)
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *BROWSER_FLAGS, *profile, "--window-size=1400,6000",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120,
                   check=True)
    pixels = mpimg.imread(shot)[..., :3]
    # the figures drew: the first learner's colour (#1f77b4) is on the page
    blue = np.array([0x1F, 0x77, 0xB4]) / 255
    assert (np.abs(pixels - blue).max(axis=-1) < 0.03).sum() > 200
