"""The bad-input corpus: every kind of bad input a new user can give occ, as a table.

Each :class:`Case` is some files (written into a fresh folder), an ``occ`` command line
and what it must get: the exit code and the strings the single error line must contain
(the file and the field). Most cases are generated from the declarations: every
hyperparameter of every registered learner (``LEARNERS[kind].hyperparameters()``) and
every field of every registered adversary gets values its constraint forbids; the rest
are written by hand (files, sizes, names, result folders, flags, sweeps).

``{dir}`` in arguments and needles is replaced by the case's folder.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learner_cases import LEARNER_CASES

from occ.adversaries import ADVERSARIES
from occ.adversaries.policy import Matrix
from occ.adversaries.sequence import GradientList
from occ.errors import OccError
from occ.learners import LEARNERS
from occ.params import (
    Boolean,
    Choice,
    Integer,
    Preconditioner,
    Real,
    RealVector,
    describe_fields,
)
from occ.scenarios import parse_scenario
from occ.schedules import ScheduleSpec

SCENARIO = "bad.toml"
SWEEP = "sweep.toml"
DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    code: int = 2
    setup: str = ""  # a named preparation (see test_bad_input.SETUPS)


# ---------------------------------------------------------------------------- TOML out

def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(data: dict[str, Any], prefix: str = "") -> str:
    """A TOML document: scalars and inline tables first, then one [table] per dict."""
    lines = [f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) or not v or not _is_section(k, prefix)]
    for k, v in data.items():
        if isinstance(v, dict) and v and _is_section(k, prefix):
            name = f"{prefix}{json.dumps(str(k))}"
            lines += ["", f"[{name}]", toml_document(v, f"{name}.")]
    return "\n".join(lines) + "\n"


def _is_section(key: str, prefix: str) -> bool:
    """Tables that are sections of a scenario (not inline values such as a schedule)."""
    return prefix == "" or prefix == '"learners".'


# ------------------------------------------------------------------------ base scenarios

DOMAIN_TABLES = {"ball": {"kind": "ball", "radius": 1.0}, "box": {"kind": "box"},
                 "simplex": {"kind": "simplex"}}
DOMAIN_ADVERSARY = {"ball": "linear_gaussian", "box": "linear_gaussian",
                    "simplex": "experts_random"}


def scenario(learner: dict[str, Any] | None = None, adversary: dict[str, Any] | None = None,
             domain: str = "ball", matrix: bool = False, **top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"d": 4, "T": 20, "seeds": 2, "checkpoints": 4}
    if matrix:
        data["shape"] = [2, 2]
    data.update(top)
    data["domain"] = dict(DOMAIN_TABLES[domain])
    data["adversary"] = adversary or {"kind": "matrix_linear" if matrix
                                      else DOMAIN_ADVERSARY[domain]}
    data["learners"] = {"x": learner or {"kind": "ogd", "eta": 0.1}}
    return data


def parses(data: dict[str, Any]) -> bool:
    try:
        parse_scenario(json.loads(json.dumps(data)), "<test>", "base")
    except OccError:
        return False
    return True


def learner_base(kind: str) -> dict[str, Any]:
    """A valid scenario for learner ``kind``: its first regression case on the first
    domain (ball, box, simplex) where it parses."""
    cls = LEARNERS[kind]
    config = {"kind": kind, **LEARNER_CASES[kind][0]}
    for domain in DOMAIN_TABLES:
        data = scenario(config, domain=domain, matrix=cls.matrix)
        if parses(data):
            return data
    raise AssertionError(f"no valid base scenario for learner {kind!r}")


def adversary_base(kind: str) -> dict[str, Any] | None:
    matrix = kind.startswith("matrix_")
    for domain in DOMAIN_TABLES:
        # an explicit sequence needs one gradient per step (T = 20 in the base scenario)
        for adversary in ({"kind": kind}, {"kind": kind, "gradients": [0.1] * 20}):
            data = scenario(adversary=adversary, domain=domain, matrix=matrix)
            if parses(data):
                return data
    return None


# ------------------------------------------------------------------- values to reject

def bad_values(constraint: Any) -> list[tuple[str, Any]]:
    """Values the constraint forbids, each with a short name for the case id."""
    common: list[tuple[str, Any]] = [("string", "abc"), ("true", True),
                                     ("table", {"a": 1})]
    if isinstance(constraint, Real):
        out = common + [("nan", float("nan")), ("inf", float("inf"))]
        if constraint.low is not None:
            out.append(("below", constraint.low - 1.0 if not constraint.low_open
                        else float(constraint.low)))
        if constraint.high is not None:
            out.append(("above", constraint.high + 1.0 if not constraint.high_open
                        else float(constraint.high)))
        out.append(("emptylist", []))
        return out
    if isinstance(constraint, Integer):
        out = common + [("fraction", 1.5)]
        if constraint.low is not None:
            out.append(("below", constraint.low - 1))
        if constraint.high is not None:
            out.append(("above", constraint.high + 1))
        return out
    if isinstance(constraint, Choice):
        return [("unknown", "no-such-choice"), ("number", 3), ("true", True), ("list", ["a"])]
    if isinstance(constraint, Boolean):
        return [("string", "yes"), ("number", 1), ("list", [True])]
    if isinstance(constraint, RealVector):
        out = [("string", "abc"), ("true", True), ("empty", []), ("strings", ["a", "b"]),
               ("nested", [[1.0]])]
        if constraint.low is not None:
            out.append(("below", [constraint.low - 1.0] * 4))
        if constraint.dimension:
            out.append(("length", [1.0, 1.0]))
        return out
    if isinstance(constraint, Preconditioner):
        return [("string", "abc"), ("negative", [-1.0, 1.0, 1.0, 1.0]),
                ("length", [1.0, 2.0]), ("nonsymmetric", [[1.0, 2.0], [3.0, 4.0]]),
                ("wrongsize", [[1.0, 0.0], [0.0, 1.0]]), ("empty", [])]
    if isinstance(constraint, ScheduleSpec):
        return [("unknown", "no-such-schedule"), ("table", {"kind": "nope"}),
                ("field", {"kind": "wsd", "warmupp": 3}), ("number", 3)]
    if isinstance(constraint, GradientList):
        return [("string", "abc"), ("true", True), ("empty", []), ("strings", ["a"]),
                ("emptyrow", [[]] * 20), ("length", [[0.1, 0.1]] * 20),
                ("norm", [0.1] * 19 + [5.0]), ("mixed", [0.1] * 19 + [[0.1] * 4])]
    if isinstance(constraint, Matrix):
        return [("string", "abc"), ("true", True), ("flat", [1.0, 2.0]),
                ("ragged", [[1.0], [1.0, 2.0]]), ("wrongsize", [[1.0, 0.0], [0.0, 1.0]])]
    raise AssertionError(f"no bad values for {constraint!r}")


def run_case(case_id: str, data: dict[str, Any], *needles: str) -> Case:
    return Case(case_id, ("run", "{dir}/" + SCENARIO, "--out", "{dir}/out"),
                (SCENARIO, *needles), {SCENARIO: toml_document(data)})


def learner_cases() -> list[Case]:
    cases = []
    for kind, cls in LEARNERS.items():
        if kind not in LEARNER_CASES:
            continue  # a test learner registered by a plugin
        base = learner_base(kind)
        for hyper in cls.hyperparameters():
            if hyper.name in ("domain", "shape", "repetitions"):
                continue
            for name, value in bad_values(hyper.constraint):
                data = json.loads(json.dumps(base))
                data["learners"]["x"][hyper.name] = value
                cases.append(run_case(f"learner-{kind}-{hyper.name}-{name}", data,
                                      f"learners.x.{hyper.name}"))
        data = json.loads(json.dumps(base))
        data["learners"]["x"]["no_such_parameter"] = 1.0
        cases.append(run_case(f"learner-{kind}-unknown", data,
                              "learners.x.no_such_parameter", "allowed"))
        data = json.loads(json.dumps(base))
        data["learners"]["x"]["domain"] = "ball"
        cases.append(run_case(f"learner-{kind}-domain", data, "learners.x.domain"))
    return cases


def adversary_cases() -> list[Case]:
    cases = []
    for kind, cls in ADVERSARIES.items():
        base = adversary_base(kind)
        if base is None:
            continue  # needs a data file: see the portfolio cases
        for name_, _default, _allowed, _doc in describe_fields(cls):
            constraint = next(f.metadata["constraint"] for f in
                              __import__("dataclasses").fields(cls) if f.name == name_)
            for name, value in bad_values(constraint):
                if name == "emptylist":
                    continue  # adversaries take one number (per_row = False): as "table"
                data = json.loads(json.dumps(base))
                data["adversary"][name_] = value
                cases.append(run_case(f"adversary-{kind}-{name_}-{name}", data,
                                      f"adversary.{name_}"))
        data = json.loads(json.dumps(base))
        data["adversary"]["no_such_parameter"] = 1
        cases.append(run_case(f"adversary-{kind}-unknown", data,
                              "adversary.no_such_parameter"))
    return cases


def scenario_field_cases() -> list[Case]:
    cases = []
    for key in ("d", "T", "seeds", "seed", "checkpoints", "chunk"):
        for name, value in (("zero", 0), ("negative", -1), ("fraction", 1.5),
                            ("string", "ten"), ("true", True), ("list", [1]),
                            ("huge", 2**62 + 1), ("nan", float("nan")),
                            ("table", {"a": 1})):
            if key == "seed" and name == "zero":
                continue  # seed = 0 is valid
            if key == "checkpoints" and name == "huge":
                continue
            if key == "seed" and name == "huge":
                value = 2**64
            cases.append(run_case(f"field-{key}-{name}", scenario(**{key: value}), key))
    for name, value in (("zero", 0), ("string", "x"), ("negative", -3)):
        cases.append(run_case(f"field-check.T-{name}", scenario(check={"T": value}),
                              "check.T"))
        cases.append(run_case(f"field-check.seeds-{name}", scenario(check={"seeds": value}),
                              "check.seeds"))
    cases.append(run_case("field-check-unknown", scenario(check={"horizon": 3}), "check"))
    cases.append(run_case("field-check-number", scenario(check=3), "check"))
    for name, value in (("number", 3), ("list", [1]), ("false", False), ("empty", ""),
                        ("parent", "../x"), ("absolute", "/abs/x"), ("dotdot", ".."),
                        ("dot", "."), ("hidden", ".hidden"), ("space", "a b"),
                        ("slash", "a/b"), ("backslash", "a\\b"), ("table", {"a": 1}),
                        ("long", "x" * 101), ("newline", "a\nb"), ("nul", "a\u0000b")):
        cases.append(run_case(f"field-name-{name}", scenario(name=value), "name"))
    for name, value in (("number", 3), ("list", ["a"]), ("table", {"a": 1})):
        cases.append(run_case(f"field-description-{name}", scenario(description=value),
                              "description"))
    for name, value in (("unknown", ["eq99"]), ("string", "eq8"), ("number", [8]),
                        ("nested", [["eq8"]])):
        cases.append(run_case(f"field-bounds-{name}", scenario(bounds=value), "bounds"))
    for name, value in (("short", [2]), ("zero", [0, 2]), ("strings", ["a", "b"]),
                        ("mismatch", [3, 3])):
        data = scenario(matrix=True, shape=value)
        cases.append(run_case(f"field-shape-{name}", data, "shape" if name != "mismatch"
                              else "d"))
    cases.append(run_case("field-unknown-top", {"horizon": 5, **scenario()}, "horizon",
                          "unknown field"))
    data = scenario()
    data["learners"] = {}
    cases.append(run_case("field-learners-empty", data, "learners"))
    data = scenario()
    data["learners"] = {"x": 3}
    cases.append(run_case("field-learners-number", data, "learners.x"))
    for name, label in (("parent", "../x"), ("dot", ".x"), ("slash", "a/b"),
                        ("space", "a b"), ("empty", "")):
        data = scenario()
        data["learners"] = {label: {"kind": "ogd", "eta": 0.1}}
        cases.append(run_case(f"field-label-{name}", data, "learners"))
    for name, value in (("unknown", "sgdd"), ("number", 3), ("missing", None),
                        ("list", ["ogd"])):
        data = scenario()
        learner = {"eta": 0.1} if value is None else {"kind": value, "eta": 0.1}
        data["learners"] = {"x": learner}
        cases.append(run_case(f"field-learner-kind-{name}", data, "learners.x.kind"))
    for name, value in (("unknown", "linear"), ("number", 3), ("list", ["a"])):
        cases.append(run_case(f"field-adversary-kind-{name}",
                              scenario(adversary={"kind": value}), "adversary.kind"))
    data = scenario()
    del data["adversary"]
    cases.append(run_case("field-adversary-missing", data, "adversary"))
    for name, table in (("kind", {"kind": "sphere"}), ("radius-neg", {"kind": "ball",
                                                                      "radius": -2.0}),
                        ("radius-list", {"kind": "ball", "radius": [1.0, 2.0]}),
                        ("radius-nan", {"kind": "ball", "radius": float("nan")}),
                        ("centre-length", {"kind": "ball", "centre": [0.0, 0.0]}),
                        ("centre-string", {"kind": "ball", "centre": "x"}),
                        ("box-low-length", {"kind": "box", "low": [0.0, 0.0]}),
                        ("box-high-string", {"kind": "box", "high": "x"}),
                        ("box-unknown", {"kind": "box", "lo": 1}),
                        ("number", 3)):
        data = scenario()
        data["domain"] = table
        field_ = "domain" if name == "number" else (
            "domain.kind" if name == "kind" else
            "domain." + ("radius" if "radius" in name else "centre" if "centre" in name
                         else "low" if "low" in name else "high" if "high" in name else "lo"))
        cases.append(run_case(f"field-domain-{name}", data, field_))
    data = scenario()
    data["domain"] = {"kind": "unconstrained"}
    cases.append(run_case("combo-linear-unbounded", data, "domain.kind", "bounded"))
    return cases


def combination_cases() -> list[Case]:
    """Impossible combinations, each rejected when the file is read."""
    cases = []
    cases.append(run_case("combo-simplex-full-adagrad", scenario(
        {"kind": "adagrad_full", "eta": 1.0}, domain="simplex"), "learners.x"))
    cases.append(run_case("combo-hindsight-adaptive", scenario(
        {"kind": "ogd", "step": "oracle23"}, adversary={"kind": "linear_adaptive"}),
        "learners.x.step"))
    cases.append(run_case("combo-oracle-adaptive", scenario(
        {"kind": "adagrad_oracle", "form": "eq31"}, adversary={"kind": "linear_adaptive"}),
        "learners.x.form"))
    cases.append(run_case("combo-coordinate-scale-length", scenario(
        adversary={"kind": "linear_gaussian", "coordinate_scale": [1.0, 2.0]}),
        "adversary.coordinate_scale"))
    cases.append(run_case("combo-pattern-empty", scenario(
        adversary={"kind": "linear_periodic", "pattern": []}), "adversary.pattern"))
    cases.append(run_case("combo-adagrad-c-length", scenario(
        {"kind": "adagrad_diag", "scaling": "per_coordinate", "c": [1.0, 2.0]}),
        "learners.x.c"))
    cases.append(run_case("combo-fixed-A-length", scenario(
        {"kind": "fixed_preconditioner", "A": [1.0, 2.0]}), "learners.x.A"))
    cases.append(run_case("combo-fixed-A-matrix-size", scenario(
        {"kind": "fixed_preconditioner", "A": [[1.0, 0.0], [0.0, 1.0]]}), "learners.x.A"))
    cases.append(run_case("combo-matrix-learner-no-shape", scenario(
        {"kind": "shampoo"}), "learners.x"))
    cases.append(run_case("combo-eg-on-ball", scenario({"kind": "eg", "eta": 0.5}),
                          "learners.x"))
    prices = {"prices.csv": (DATA / "cover-two-assets.csv").read_text(encoding="utf-8")}
    on_a_ball = run_case("combo-portfolio-on-a-ball", scenario(
        adversary={"kind": "portfolio", "path": "prices.csv"}, domain="ball", d=2),
        "domain.kind", "simplex")
    cases.append(dataclasses.replace(on_a_ball, files={**on_a_ball.files, **prices}))
    cases.append(run_case("combo-portfolio-path-number", scenario(
        adversary={"kind": "portfolio", "path": 123}, domain="simplex"), "adversary.path"))
    cases.append(run_case("combo-portfolio-path-list", scenario(
        adversary={"kind": "portfolio", "path": ["a"]}, domain="simplex"), "adversary.path"))
    volumes = run_case("combo-portfolio-data", scenario(
        adversary={"kind": "portfolio", "path": "prices.csv", "data": "volumes"},
        domain="simplex", d=2), "adversary.data")
    cases.append(dataclasses.replace(volumes, files={**volumes.files, **prices}))
    for key, value, needle in (
            ("regret_order", ["x"], "expect.regret_order"),
            ("regret_order", ["x", "nobody"], "expect.regret_order"),
            ("bound_order", ["x", "x:eq8"], "expect.bound_order"),
            ("bound_order", ["x:eq8", "x:eq99"], "expect.bound_order"),
            ("average_regret_limit", {"x": float("nan")}, "expect.average_regret_limit"),
            ("average_regret_limit", {"x": True}, "expect.average_regret_limit"),
            ("average_regret_above", {"nobody": 1.0}, "expect.average_regret_above"),
            ("average_regret_below", 3, "expect.average_regret_below"),
            ("average_regret_falls", [], "expect.average_regret_falls"),
            ("average_regret_falls", ["nobody"], "expect.average_regret_falls"),
            ("average_regret_falls", "x", "expect.average_regret_falls"),
            ("limit_tolerance", -1.0, "expect.limit_tolerance"),
            ("limit_tolerance", float("inf"), "expect.limit_tolerance"),
            ("online_to_batch_z", float("nan"), "expect.online_to_batch_z"),
            ("online_to_batch_z", 0, "expect.online_to_batch_z"),
            ("expected_regret_z", "x", "expect.expected_regret_z"),
            ("expected_regret_z", True, "expect.expected_regret_z"),
            ("no_such_expectation", 1, "expect")):
        cases.append(run_case(f"expect-{key}-{len(cases)}", scenario(expect={key: value}),
                              needle))
    return cases


def size_cases() -> list[Case]:
    """Sizes that cannot fit or would run for years: refused before anything starts."""
    cases = [
        run_case("size-d-2**70", scenario(d=2**70), "d"),
        run_case("size-d-1e9", scenario(d=10**9), "would need"),
        run_case("size-T-1e12", scenario(T=10**12), "would take", "--allow-large"),
        run_case("size-T-float-1e12", scenario(T=1e12), "would take"),
        run_case("size-T-2**50", scenario(T=2**50), "would take"),
        run_case("size-T-2**80", scenario(T=2**80), "T"),
        run_case("size-seeds-1e9", scenario(seeds=10**9), "would need", "memory"),
        run_case("size-checkpoints-1e9", scenario(checkpoints=10**9), "would need"),
        run_case("size-full-adagrad-d", scenario({"kind": "adagrad_full", "eta": 1.0},
                                                 d=300000), "would need"),
        run_case("size-grid-huge", scenario({"kind": "ogd", "eta": [0.1] * 1000},
                                            seeds=10**6), "would need"),
    ]
    return cases


def file_cases() -> list[Case]:
    """Files that are not scenario files: bytes, TOML errors, folders, missing."""
    good = toml_document(scenario())
    raw: list[tuple[str, str | bytes, tuple[str, ...]]] = [
        ("latin1", good.encode() + "# caf\u00e9\n".encode("latin-1"), ("not UTF-8",)),
        ("utf16", good.encode("utf-16"), ("not UTF-8",)),
        ("binary", bytes(range(256)), ("not UTF-8",)),
        ("ff-start", b"\xff" + good.encode(), ("not UTF-8",)),
        ("unterminated-table", good.replace('["domain"]', '["domain"'), ("not valid TOML",)),
        ("unterminated-string", good.replace('"ball"', '"ball'), ("not valid TOML",)),
        ("duplicate-key", '"d" = 5\n' + good, ("not valid TOML",)),
        ("bare-words", "this is not toml\n", ("not valid TOML",)),
        ("empty", "", ("d", "required")),
        ("only-comment", "# nothing\n", ("d", "required")),
        ("json", json.dumps(scenario()), ("not valid TOML",)),
        ("yaml", "d: 4\nT: 20\n", ("not valid TOML",)),
        ("nul-bytes", good.replace("d", "\u0000d", 1), ("not valid TOML",)),
        ("redefined-table", good + '\n[domain]\n"kind" = "box"\n', ("not valid TOML",)),
    ]
    cases = [Case(f"file-{name}", ("run", "{dir}/" + SCENARIO, "--out", "{dir}/out"),
                  (SCENARIO, *needles), {SCENARIO: text}) for name, text, needles in raw]
    cases.append(Case("file-missing", ("run", "{dir}/missing.toml"), ("missing.toml",)))
    cases.append(Case("file-folder", ("run", "{dir}/folder.toml"), ("folder.toml",),
                      setup="folder.toml"))
    cases.append(Case("file-unknown-name", ("run", "no-such-scenario"),
                      ("unknown scenario", "default")))
    cases.append(Case("file-show-latin1", ("show", "{dir}/" + SCENARIO),
                      (SCENARIO, "not UTF-8"), {SCENARIO: b"d = 4 # \xe9\n"}))
    cases.append(Case("file-check-latin1", ("check", "{dir}/" + SCENARIO),
                      (SCENARIO, "not UTF-8"), {SCENARIO: b"d = 4 # \xe9\n"}))
    cases.append(Case("file-show-unknown", ("show", "nope"), ("unknown scenario",)))
    cases.append(Case("file-check-unknown", ("check", "nope"), ("unknown scenario",)))
    return cases


def flag_cases() -> list[Case]:
    good = {SCENARIO: toml_document(scenario())}
    path = "{dir}/" + SCENARIO
    flags = [
        ("T-zero", ("--T", "0"), ("--T", ">= 1")),
        ("T-negative", ("--T", "-5"), ("--T",)),
        ("T-word", ("--T", "ten"), ("--T",)),
        ("T-float", ("--T", "1.5"), ("--T",)),
        ("T-2**80", ("--T", str(2**80)), ("--T",)),
        ("T-1e12", ("--T", str(10**12)), ("would take", "--allow-large")),
        ("seeds-zero", ("--seeds", "0"), ("--seeds",)),
        ("seeds-huge", ("--seeds", str(10**9)), ("would need",)),
        ("seeds-2**70", ("--seeds", str(2**70)), ("--seeds",)),
        ("seed-negative", ("--seed", "-1"), ("--seed",)),
        ("seed-2**70", ("--seed", str(2**70)), ("--seed",)),
        ("backend", ("--backend", "tpu"), ("--backend", "numpy")),
        ("out-empty", ("--out", ""), ("--out",)),
        ("out-below-file", ("--out", "{dir}/afile/x"), ("--out", "afile")),
        ("out-is-file", ("--out", "{dir}/afile"), ("--out", "afile")),
        ("unknown-option", ("--frobnicate",), ("frobnicate",)),
        ("missing-value", ("--T",), ("--T",)),
    ]
    cases = [Case(f"flag-run-{name}", ("run", path, *args), needles, good,
                  setup="afile" if "afile" in " ".join(args) else "")
             for name, args, needles in flags]
    cases += [
        Case("flag-unknown-command", ("frobnicate",), ("frobnicate",)),
        Case("flag-run-no-scenario", ("run",), ("SCENARIO",)),
        Case("flag-show-extra", ("show", "default", "extra"), ("extra",)),
        Case("flag-plot-missing", ("plot", "{dir}/nothing"), ("nothing",)),
        Case("flag-plot-not-run", ("plot", "{dir}"), ("not a run folder",)),
        Case("flag-check-baseline-missing", ("check", path, "--baseline", "{dir}/no.csv"),
             ("--baseline", "no.csv"), good),
        Case("flag-check-baseline-garbage", ("check", path, "--baseline", "{dir}/g.csv"),
             ("g.csv",), {**good, "g.csv": "this,is\nnot,a baseline\n"}),
        Case("flag-check-baseline-binary", ("check", path, "--baseline", "{dir}/g.csv"),
             ("g.csv",), {**good, "g.csv": b"\xff\xfe\x00garbage"}),
        Case("flag-check-baseline-empty", ("check", path, "--baseline", "{dir}/g.csv"),
             ("g.csv",), {**good, "g.csv": ""}),
        Case("flag-check-baseline-folder", ("check", path, "--baseline", "{dir}"),
             ("--baseline",), good),
        Case("flag-check-huge-check-T", ("check", path), ("would take", "--allow-large"),
             {SCENARIO: toml_document(scenario(check={"T": 10**12, "seeds": 2}))}),
        Case("flag-check-backend", ("check", path, "--backend", "tpu"), ("backend",), good),
    ]
    return cases


def run_folder_cases() -> list[Case]:
    """Broken result folders given to occ plot (prepared by test_bad_input.SETUPS)."""
    return [Case(f"folder-{name}", ("plot", "{dir}/run"), needles, setup=f"run-{name}")
            for name, needles in (
                ("truncated-metrics", ("metrics.csv", "truncated")),
                ("short-metrics", ("metrics.csv", "rows")),
                ("empty-metrics", ("metrics.csv",)),
                ("binary-metrics", ("metrics.csv",)),
                ("missing-bounds", ("bounds.csv", "not a run folder")),
                ("missing-meta", ("meta.json", "not a run folder")),
                ("garbage-meta", ("meta.json", "JSON")),
                ("list-meta", ("meta.json", "JSON")),
                ("truncated-bounds", ("bounds.csv", "truncated")),
                ("no-columns", ("metrics.csv", "lacks")),
            )]


SWEEP_BASE = {"name": "s", "scenarios": ["default"], "T": 15, "seeds": 2, "seed_block": 1,
              "learners": {"x": {"kind": "ogd", "eta": 0.1}}}


def sweep_case(case_id: str, data: dict[str, Any] | str | bytes, *needles: str,
               files: dict[str, str | bytes] | None = None,
               extra: tuple[str, ...] = ()) -> Case:
    text = data if isinstance(data, str | bytes) else toml_document(data)
    return Case(case_id, ("sweep", "{dir}/" + SWEEP, "--out", "{dir}/out", *extra), needles,
                {SWEEP: text, **(files or {})})


def sweep_cases() -> list[Case]:
    def with_(**changes: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(SWEEP_BASE))
        data.update(changes)
        return data

    def learner(**params: Any) -> dict[str, Any]:
        return with_(learners={"x": {"kind": "ogd", **params}})

    cases = [
        sweep_case("sweep-latin1", toml_document(SWEEP_BASE).encode() + b"# \xe9\n",
                   SWEEP, "not UTF-8"),
        sweep_case("sweep-toml", "scenarios = [\n", SWEEP, "not valid TOML"),
        sweep_case("sweep-unknown-field", with_(horizon=3), SWEEP, "horizon"),
        sweep_case("sweep-scenarios-number", with_(scenarios=3), SWEEP, "scenarios"),
        sweep_case("sweep-scenarios-empty", with_(scenarios=[]), SWEEP, "scenarios"),
        sweep_case("sweep-scenarios-nonstring", with_(scenarios=[3]), SWEEP, "scenarios[0]"),
        sweep_case("sweep-scenarios-unknown", with_(scenarios=["nope"]), SWEEP,
                   "scenarios[0]", "unknown scenario"),
        sweep_case("sweep-scenarios-missing-file", with_(scenarios=["gone.toml"]),
                   "gone.toml"),
        sweep_case("sweep-scenario-error-attributed", with_(scenarios=["inner.toml"]),
                   "inner.toml", "learners.x.eta",
                   files={"inner.toml": toml_document(scenario({"kind": "ogd",
                                                                "eta": -1.0}))}),
        sweep_case("sweep-scenario-latin1", with_(scenarios=["inner.toml"]), "inner.toml",
                   "not UTF-8", files={"inner.toml": b"d = 4 # \xe9\n"}),
        sweep_case("sweep-seeds-list", with_(seeds=[2, 4]), SWEEP, "seeds"),
        sweep_case("sweep-seed-block-list", with_(seed_block=[1, 2]), SWEEP, "seed_block"),
        sweep_case("sweep-seeds-zero", with_(seeds=0), SWEEP, "seeds"),
        sweep_case("sweep-seeds-true", with_(seeds=True), SWEEP, "seeds"),
        sweep_case("sweep-seeds-string", with_(seeds="2"), SWEEP, "seeds"),
        sweep_case("sweep-seed-block-zero", with_(seed_block=0), SWEEP, "seed_block"),
        sweep_case("sweep-T-zero", with_(T=0), SWEEP, "T"),
        sweep_case("sweep-T-list-bad", with_(T=[10, "x"]), SWEEP, "T"),
        sweep_case("sweep-T-empty", with_(T=[]), SWEEP, "T"),
        sweep_case("sweep-T-2**80", with_(T=2**62 * 4 - 1), SWEEP, "T"),
        sweep_case("sweep-checkpoints-one", with_(checkpoints=1), SWEEP, "checkpoints"),
        sweep_case("sweep-checkpoints-string", with_(checkpoints="x"), SWEEP, "checkpoints"),
        sweep_case("sweep-checkpoints-list", with_(checkpoints=[5]), SWEEP, "checkpoints"),
        sweep_case("sweep-name-parent", with_(name="../x"), SWEEP, "name"),
        sweep_case("sweep-name-absolute", with_(name="/tmp/x"), SWEEP, "name"),
        sweep_case("sweep-name-number", with_(name=3), SWEEP, "name"),
        sweep_case("sweep-name-empty", with_(name=""), SWEEP, "name"),
        sweep_case("sweep-description-number", with_(description=3), SWEEP, "description"),
        sweep_case("sweep-learners-empty", with_(learners={}), SWEEP, "learners"),
        sweep_case("sweep-learners-number", with_(learners=3), SWEEP, "learners"),
        sweep_case("sweep-learner-no-kind", with_(learners={"x": {"eta": 0.1}}), SWEEP,
                   "learners.x"),
        sweep_case("sweep-learner-kind", with_(learners={"x": {"kind": "nope"}}), SWEEP,
                   "learners.x.kind"),
        sweep_case("sweep-learner-kind-list", with_(learners={"x": {"kind": ["ogd"]}}), SWEEP,
                   "learners.x.kind"),
        sweep_case("sweep-label-parent", with_(learners={"../x": {"kind": "ogd"}}), SWEEP,
                   "learners"),
        sweep_case("sweep-eta-negative", learner(eta=-1.0), SWEEP, "learners.x.eta"),
        sweep_case("sweep-eta-string", learner(eta="abc"), SWEEP, "learners.x.eta"),
        sweep_case("sweep-eta-nan", learner(eta=float("nan")), SWEEP, "learners.x.eta"),
        sweep_case("sweep-eta-list-bad", learner(eta=[0.1, -1.0]), SWEEP, "learners.x.eta"),
        sweep_case("sweep-eta-list-empty", learner(eta=[]), SWEEP, "learners.x.eta"),
        sweep_case("sweep-unknown-hyper", learner(etaa=1.0), SWEEP, "learners.x.etaa"),
        sweep_case("sweep-step-choice", learner(step="nope"), SWEEP, "learners.x.step"),
        sweep_case("sweep-step-list-bad", learner(step=["constant", "nope"]), SWEEP,
                   "learners.x.step"),
        sweep_case("sweep-grid-num-true", learner(eta={"log": [0.1, 1.0], "num": True}),
                   SWEEP, "learners.x.eta.num"),
        sweep_case("sweep-grid-num-huge", learner(eta={"log": [0.1, 1.0], "num": 10**9}),
                   SWEEP, "learners.x.eta.num"),
        sweep_case("sweep-grid-num-float", learner(eta={"log": [0.1, 1.0], "num": 3.5}),
                   SWEEP, "learners.x.eta.num"),
        sweep_case("sweep-grid-num-zero", learner(eta={"log": [0.1, 1.0], "num": 0}),
                   SWEEP, "learners.x.eta.num"),
        sweep_case("sweep-grid-log-zero", learner(eta={"log": [0.0, 1.0], "num": 3}),
                   SWEEP, "learners.x.eta"),
        sweep_case("sweep-grid-ends", learner(eta={"linear": [1.0], "num": 3}), SWEEP,
                   "learners.x.eta"),
        sweep_case("sweep-grid-keys", learner(eta={"logg": [0.1, 1.0], "num": 3}), SWEEP,
                   "learners.x.eta"),
        sweep_case("sweep-grid-negative", learner(eta={"linear": [-1.0, 1.0], "num": 3}),
                   SWEEP, "learners.x.eta"),
        sweep_case("sweep-too-many-cells", with_(seeds=10**6, seed_block=1), SWEEP,
                   "cells"),
        sweep_case("sweep-hindsight-adaptive", with_(
            scenarios=["linear-ball-adaptive"],
            learners={"x": {"kind": "ogd", "step": "oracle23"}}), SWEEP, "learners.x.step"),
        sweep_case("sweep-eg-on-ball", with_(learners={"x": {"kind": "eg"}}), SWEEP,
                   "learners.x"),
        sweep_case("sweep-huge-T", with_(T=10**12), SWEEP, "would take", "--allow-large"),
        sweep_case("sweep-flag-workers-zero", SWEEP_BASE, "--workers", extra=("--workers", "0")),
        sweep_case("sweep-flag-workers-huge", SWEEP_BASE, "--workers",
                   extra=("--workers", str(10**6))),
        sweep_case("sweep-flag-max-cells-negative", SWEEP_BASE, "--max-cells",
                   extra=("--max-cells", "-1")),
        sweep_case("sweep-flag-max-cells-zero", SWEEP_BASE, "--max-cells",
                   extra=("--max-cells", "0")),
        sweep_case("sweep-flag-executor", SWEEP_BASE, "--executor", extra=("--executor", "x")),
        sweep_case("sweep-flag-scheduler-local", SWEEP_BASE, "--scheduler",
                   extra=("--scheduler", "tcp://127.0.0.1:8786")),
        sweep_case("sweep-flag-scheduler-garbage", SWEEP_BASE, "--scheduler",
                   extra=("--executor", "dask", "--scheduler", "not an address")),
        sweep_case("sweep-flag-scheduler-port", SWEEP_BASE, "--scheduler",
                   extra=("--executor", "dask", "--scheduler", "tcp://127.0.0.1:99999")),
        sweep_case("sweep-flag-scheduler-closed", SWEEP_BASE, "--scheduler",
                   "127.0.0.1:1", extra=("--executor", "dask", "--scheduler",
                                         "tcp://127.0.0.1:1")),
        sweep_case("sweep-flag-plugin", SWEEP_BASE, "--plugin",
                   extra=("--plugin", "no_such_module_xyz")),
        sweep_case("sweep-flag-plugin-broken", SWEEP_BASE, "--plugin", "RuntimeError",
                   files={"broken_plugin.py": "raise RuntimeError('broken on purpose')\n"},
                   extra=("--plugin", "broken_plugin")),
        Case("sweep-flag-out-below-file", ("sweep", "{dir}/" + SWEEP, "--out", "{dir}/afile/x"),
             ("--out", "afile"), {SWEEP: toml_document(SWEEP_BASE)}, setup="afile"),
        Case("sweep-flag-out-empty", ("sweep", "{dir}/" + SWEEP, "--out", ""), ("--out",),
             {SWEEP: toml_document(SWEEP_BASE)}),
        Case("sweep-missing-file", ("sweep", "{dir}/none.toml"), ("none.toml",)),
    ]
    return cases


def all_cases() -> list[Case]:
    cases = (learner_cases() + adversary_cases() + scenario_field_cases()
             + combination_cases() + size_cases() + file_cases() + flag_cases()
             + run_folder_cases() + sweep_cases())
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    return cases


CASES = all_cases()
