"""The bad-input corpus (:mod:`bad_inputs`): every case gets exit 2, no traceback, one
line on stderr naming the file and the field, and nothing is written outside the case's
folder; plus a derandomized fuzz of the scenario and sweep loaders."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from bad_inputs import CASES, SCENARIO, SWEEP_BASE, Case, scenario, toml_document
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occ.cli import cli
from occ.errors import OccError
from occ.scenarios import load_scenario, parse_scenario
from occ.sweeps import load_sweep

MAX_LINES = 1


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete run folder that the folder cases damage, a copy each."""
    root = tmp_path_factory.mktemp("finished")
    path = root / "tiny.toml"
    path.write_text(toml_document(scenario()))
    result = CliRunner().invoke(cli, ["run", str(path), "--out", str(root / "out")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return next((root / "out" / "tiny").iterdir())


def _damage(folder: Path, how: str) -> None:
    metrics = folder / "metrics.csv"
    text = metrics.read_text()
    if how == "truncated-metrics":
        metrics.write_text(text[: len(text) - 17])
    elif how == "short-metrics":
        metrics.write_text("".join(text.splitlines(keepends=True)[:-3]))
    elif how == "empty-metrics":
        metrics.write_text("")
    elif how == "binary-metrics":
        metrics.write_bytes(b"\xff\xfe\x00\x01garbage\n")
    elif how == "missing-bounds":
        (folder / "bounds.csv").unlink()
    elif how == "missing-meta":
        (folder / "meta.json").unlink()
    elif how == "garbage-meta":
        (folder / "meta.json").write_text("{not json")
    elif how == "list-meta":
        (folder / "meta.json").write_text("[1, 2]")
    elif how == "truncated-bounds":
        bounds = (folder / "bounds.csv").read_text()
        (folder / "bounds.csv").write_text(bounds[:-5])
    elif how == "no-columns":
        metrics.write_text("a,b\n1,2\n")
    else:
        raise AssertionError(how)


def _prepare(case: Case, folder: Path, finished: Path | None) -> None:
    for name, content in case.files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    if case.setup == "folder.toml":
        (folder / "folder.toml").mkdir()
    elif case.setup == "afile":
        (folder / "afile").write_text("a file, not a folder\n")
    elif case.setup.startswith("run-"):
        assert finished is not None
        shutil.copytree(finished, folder / "run")
        _damage(folder / "run", case.setup[4:])


def _fill(text: str, folder: Path) -> str:
    return text.replace("{dir}", str(folder))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_clear_line(case: Case, tmp_path: Path, monkeypatch,
                                       request) -> None:
    finished = request.getfixturevalue("finished_run") if case.setup.startswith("run-") \
        else None
    folder = tmp_path / "case"
    folder.mkdir()
    _prepare(case, folder, finished)
    before = {p for p in tmp_path.rglob("*")}
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))  # a --plugin module of the case
    result = CliRunner().invoke(cli, [_fill(a, folder) for a in case.args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.id}: raised {result.exception!r}")
    assert result.exit_code == case.code, (case.id, result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= MAX_LINES, (case.id, result.stderr)
    assert lines[0].startswith("occ: error: "), (case.id, lines[0])
    assert "Traceback" not in result.output
    for needle in case.needles:
        assert _fill(needle, folder) in lines[0], (case.id, needle, lines[0])
    # nothing computed, nothing written but the files of the case
    assert {p for p in tmp_path.rglob("*")} - before <= {folder / "out"}, case.id
    assert not list(folder.glob("out/**/*.csv"))


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    assert len(CASES) >= 400
    kinds = {c.id.split("-")[0] for c in CASES}
    assert kinds >= {"learner", "adversary", "field", "combo", "expect", "size", "file",
                     "flag", "folder", "sweep"}


def test_the_base_scenarios_of_the_corpus_run(tmp_path: Path) -> None:
    """The control: the unbroken inputs the cases start from are accepted."""
    path = tmp_path / SCENARIO
    path.write_text(toml_document(scenario()))
    assert CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "o")]
                              ).exit_code == 0
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(toml_document(SWEEP_BASE))
    assert len(load_sweep(sweep).cells) == 2


# ------------------------------------------------------------------------------ fuzz

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=4),
    max_leaves=12)
FIELDS = ["d", "T", "seeds", "seed", "checkpoints", "chunk", "name", "bounds", "shape",
          "check", "expect", "description", "domain", "adversary", "learners",
          "domain.kind", "domain.radius", "domain.centre", "adversary.kind",
          "adversary.mean", "adversary.coordinate_scale", "learners.x", "learners.x.kind",
          "learners.x.eta", "learners.x.step", "learners.x.c", "learners.x.A"]


def _set(data: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        if not isinstance(data.get(key), dict):
            data[key] = {}
        data = data[key]
    if value is None:
        data.pop(last, None)
    else:
        data[last] = value


FUZZ = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS), JSONISH), min_size=1, max_size=4))
def test_fuzz_the_scenario_loader_never_crashes(changes) -> None:
    data = scenario()
    for dotted, value in changes:
        _set(data, dotted, value)
    try:
        parse_scenario(json.loads(json.dumps(data)), "fuzz.toml", "fuzz")
    except OccError as exc:
        assert "\n" not in str(exc).strip() and "fuzz.toml" in str(exc)


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_scenario_file_bytes_never_crash(tmp_path_factory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.toml"
    good = toml_document(scenario()).encode()
    for content in (raw, good[: len(raw) % len(good)] + raw):
        path.write_bytes(content)
        try:
            load_scenario(path)
        except OccError as exc:
            assert "f.toml" in str(exc)


SWEEP_FIELDS = ["name", "scenarios", "T", "seeds", "seed_block", "checkpoints", "learners",
                "learners.x", "learners.x.kind", "learners.x.eta", "learners.x.eta.num",
                "learners.x.eta.log", "learners.x.step", "description"]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(SWEEP_FIELDS), JSONISH), min_size=1, max_size=3))
def test_fuzz_the_sweep_loader_never_crashes(tmp_path_factory, changes) -> None:
    data = json.loads(json.dumps(SWEEP_BASE))
    data["seeds"], data["T"] = 1, 10
    for dotted, value in changes:
        _set(data, dotted, value)
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    try:
        text = toml_document(data)
        tomllib.loads(text)
    except (TypeError, tomllib.TOMLDecodeError):
        return  # not expressible in TOML (None inside a list)
    path.write_text(text)
    try:
        load_sweep(path)
    except OccError as exc:
        assert "\n" not in str(exc).strip()
