"""Scenario files (TOML) into validated :class:`Scenario` objects, and the registry of names.

A scenario file::

    description = "what it shows"
    d = 10                 # dimension
    T = 10000              # horizon of `occ run`
    seeds = 20             # repetitions
    seed = 0               # base seed
    checkpoints = 20       # about this many log-spaced checkpoints in [1, T]
    w1 = [1.0, 0.0]        # optional: the start point, a number (every coordinate) or d
                           # numbers, in V (default: the domain's centre)
    bounds = ["eq8", ...]  # optional: evaluate only these bounds (default: all that apply)

    [check]                # the size `occ check` runs at
    T = 2000
    seeds = 8

    [domain]               # unconstrained | ball | box, with their parameters
    kind = "ball"
    radius = 1.0

    [adversary]            # a registered adversary and its parameters
    kind = "linear_gaussian"

    [learners.sgd]         # one table per learner, keyed by its label
    kind = "ogd"
    eta = 0.05             # a list of numbers makes a grid in the batch axis

Every error names the file and the field, e.g. ``scenarios/x.toml: learners.sgd.eta:
must be a finite number > 0, got nan``.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from occ.adversaries import ADVERSARIES, make_adversary
from occ.batches import DEFAULT_CHUNK, expand_learner
from occ.bounds import BOUNDS
from occ.domains import DOMAINS, make_domain
from occ.errors import OccError, ParameterError, ScenarioError, UnknownNameError
from occ.limits import MAX_COUNT, MAX_T, physical_memory
from occ.named import list_scenarios, scenario_directories
from occ.params import Integer, RealVector, check_dimension, check_name, describe_fields
from occ.plugins import check_loaded, learner_kinds, resolve_learner
from occ.textfiles import read_text

TOP_LEVEL = (
    "name",
    "description",
    "d",
    "shape",
    "T",
    "seeds",
    "seed",
    "checkpoints",
    "chunk",
    "w1",
    "bounds",
    "check",
    "domain",
    "adversary",
    "learners",
    "expect",
)


@dataclass(frozen=True)
class LearnerSpec:
    label: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    d: int
    shape: tuple[int, int] | None
    T: int
    seeds: int
    seed: int
    checkpoints: int
    chunk: int
    check_T: int
    check_seeds: int
    domain: Any
    adversary: Any
    learners: tuple[LearnerSpec, ...]
    bounds: tuple[str, ...] | None
    expect: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    w1: tuple[float, ...] | None = None  # the start point (None: the domain's centre)

    def start_point(self) -> np.ndarray:
        """``w_1`` (d,): the scenario's ``w1``, else the domain's centre."""
        if self.w1 is None:
            return np.asarray(self.domain.initial_point(self.d), dtype=float)
        return np.broadcast_to(np.asarray(self.w1, dtype=float), (self.d,)).copy()

    def resolved(self) -> dict[str, Any]:
        """The full configuration with every default filled in (for `occ show`, meta.json)."""

        def fields(obj: Any) -> dict[str, Any]:
            out = {"kind": obj.name}
            for name, _default, _allowed, _doc in describe_fields(type(obj)):
                value = getattr(obj, name)
                out[name] = (list(value) if isinstance(value, tuple)
                             else value.tolist() if isinstance(value, np.ndarray) else value)
            return out

        learners = {}
        for spec in self.learners:
            resolved = resolve_learner(spec.kind, spec.params)
            entry = {"kind": spec.kind, **resolved.selector}
            for name, default, _allowed, _doc in describe_fields(resolved.cls):
                value = spec.params.get(name, default)
                entry[name] = list(value) if isinstance(value, tuple) else value
            learners[spec.label] = entry
        return {
            "name": self.name,
            "description": self.description,
            "path": self.path,
            "d": self.d,
            "shape": list(self.shape) if self.shape else None,
            "T": self.T,
            "seeds": self.seeds,
            "seed": self.seed,
            "checkpoints": self.checkpoints,
            "chunk": self.chunk,
            "w1": list(self.w1) if self.w1 is not None else None,
            "check": {"T": self.check_T, "seeds": self.check_seeds},
            "bounds": list(self.bounds) if self.bounds is not None else "all that apply",
            "domain": fields(self.domain),
            "adversary": fields(self.adversary),
            "learners": learners,
            "expect": self.expect,
        }


def _int(table: dict, key: str, default: Any, low: int, high: int = MAX_COUNT) -> int:
    value = table.get(key, default)
    if value is None:
        raise ParameterError(key, f"is required: an integer >= {low}")
    try:
        return Integer(low=low, high=high).check(value)
    except (ValueError, TypeError):
        shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
        raise ParameterError(key, f"must be an integer >= {low} and <= {high:.4g}, "
                             f"got {shown}") from None


def _fits(d: int) -> None:
    """A dimension whose iterate alone, for one repetition, exceeds the memory."""
    physical = physical_memory()
    if physical and 8 * 16 * d > physical:
        raise ParameterError("d", f"d = {d} would need at least {8 * 16 * d / 2**30:.3g} GiB "
                             f"of memory; this machine has {physical / 2**30:.1f} GiB")


def _check_finite(value: Any, path: str) -> None:
    """Reject NaN/inf anywhere in a parameter table (TOML allows `nan` and `inf`)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(path, f"must be a finite number, got {value!r}")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{path}[{i}]")


def _kind(table: Any, section: str, registry: dict) -> tuple[str, dict]:
    if not isinstance(table, dict):
        raise ParameterError(section, "must be a table")
    params = dict(table)
    kind = params.pop("kind", None)
    if not isinstance(kind, str) or kind not in registry:
        raise ParameterError(
            f"{section}.kind", f"must be one of {', '.join(registry)}, got {kind!r}"
        )
    for key, value in params.items():
        _check_finite(value, f"{section}.{key}")
    return kind, params


def parse_scenario(data: dict[str, Any], path: str, default_name: str) -> Scenario:
    """Validate a parsed TOML table into a :class:`Scenario`; errors name file and field."""
    try:
        return _parse(data, path, default_name)
    except ParameterError as exc:
        raise exc.located(path) from None
    except UnknownNameError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _parse(data: dict[str, Any], path: str, default_name: str) -> Scenario:
    unknown = sorted(set(data) - set(TOP_LEVEL))
    if unknown:
        raise ParameterError(unknown[0], f"unknown field; allowed: {', '.join(TOP_LEVEL)}")
    shape = data.get("shape")
    if shape is not None:
        if (
            not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape)
        ):
            raise ParameterError("shape", f"must be [m, n], two integers >= 1, got {shape!r}")
        shape = (shape[0], shape[1])
        if "d" in data and data["d"] != shape[0] * shape[1]:
            raise ParameterError(
                "d",
                f"must be m n = {shape[0] * shape[1]} for shape {list(shape)}, got {data['d']!r}",
            )
    d = _int(data, "d", shape[0] * shape[1] if shape else None, 1)
    _fits(d)
    T = _int(data, "T", None, 1, MAX_T)
    seeds = _int(data, "seeds", 10, 1)
    seed = _int(data, "seed", 0, 0, 2**63 - 1)
    checkpoints = _int(data, "checkpoints", 20, 2)
    chunk = _int(data, "chunk", DEFAULT_CHUNK, 1)
    name = _name(data, default_name)
    check = data.get("check", {})
    if not isinstance(check, dict) or set(check) - {"T", "seeds"}:
        raise ParameterError("check", "must be a table with T and seeds only")
    try:
        check_T, check_seeds = _int(check, "T", T, 1, MAX_T), _int(check, "seeds", seeds, 1)
    except ParameterError as exc:
        raise exc.located(None, "check") from None

    domain_kind, domain_params = _kind(
        data.get("domain", {"kind": "unconstrained"}), "domain", DOMAINS
    )
    try:
        domain = make_domain(domain_kind, **domain_params)
        domain.check_dimension(d)
    except ParameterError as exc:
        raise exc.located(None, "domain") from None
    w1 = _start_point(data.get("w1"), domain, d)
    adversary_kind, adversary_params = _kind(data.get("adversary"), "adversary", ADVERSARIES)
    if shape is not None and adversary_kind in ("matrix_linear", "matrix_least_squares"):
        adversary_params["shape"] = shape
    if adversary_kind == "portfolio":  # the data path is resolved inside the file's folder
        if "base" in adversary_params:
            raise ParameterError("adversary.base", "is set by occ (the scenario file's "
                                 "folder), not by the scenario")
        adversary_params["base"] = str(Path(path).parent) if path != "<test>" else ""
    try:
        adversary = make_adversary(adversary_kind, **adversary_params)
        family = adversary.loss_family(d)
        check_dimension(adversary, d)
    except ParameterError as exc:
        raise exc.located(None, "adversary") from None
    periods = getattr(adversary, "periods", None)
    for key, value in (("T", T), ("check.T", check_T)):
        if periods is not None and value > periods:
            raise ParameterError(
                key, f"must be <= {periods}, the periods in {adversary.path}, got {value}"
            )
    horizon = getattr(adversary, "horizon", None)  # an explicit sequence's length
    for key, value in (("T", T), ("check.T", check_T)):
        if horizon is not None and value > horizon:
            raise ParameterError(key, f"must be <= {horizon}, the gradients listed in "
                                 f"adversary.gradients, got {value}")
    allowed = (getattr(adversary, "allowed_domains", None)
               or getattr(family, "allowed_domains", None))
    if allowed is not None and domain.name not in allowed:
        raise ParameterError("domain.kind", f"adversary {adversary_kind!r} needs one of "
                             f"{', '.join(allowed)}, got {domain.name!r}")
    if family.name == "linear" and not domain.bounded:
        raise ParameterError(
            "domain.kind",
            "linear losses need a bounded domain: 'ball' or "
            "'box' (on R^d the best fixed point is at infinity)",
        )

    learner_tables = data.get("learners")
    if not isinstance(learner_tables, dict) or not learner_tables:
        raise ParameterError("learners", "must have at least one [learners.LABEL] table")
    specs = []
    for label, table in learner_tables.items():
        check_name(label, f"learners.{label}" if len(label) < 40 else "learners")
        check_loaded(table.get("kind") if isinstance(table, dict) else None,
                     f"learners.{label}.kind")
        kind, params = _kind(table, f"learners.{label}", learner_kinds())
        if "domain" in params:
            raise ParameterError(
                f"learners.{label}.domain",
                "the domain is the scenario's [domain] table, not a learner's",
            )
        try:
            batch = expand_learner(label, kind, params, domain, np.arange(1), shape)
            check_dimension(batch.learner, d)
        except ParameterError as exc:
            raise exc.located(None, f"learners.{label}") from None
        if batch.learner.needs_hindsight and not (adversary.oblivious
                                                  and family.name == "linear"):
            raise ParameterError(
                f"learners.{label}.{'form' if kind == 'adagrad_oracle' else 'step'}",
                "hindsight step sizes need an oblivious linear adversary (gradients known "
                f"in advance); adversary {adversary_kind!r} is not")
        specs.append(LearnerSpec(label, kind, params))

    bounds = data.get("bounds")
    if bounds is not None:
        if not isinstance(bounds, list) or any(not isinstance(b, str) or b not in BOUNDS
                                               for b in bounds):
            bad = bounds if not isinstance(bounds, list) else next(
                b for b in bounds if not isinstance(b, str) or b not in BOUNDS)
            raise ParameterError(
                "bounds", f"must be a list of bound names, got {bad!r}"[:120]
                + f"; allowed: {', '.join(BOUNDS)}")
        bounds = tuple(bounds)
    expect = data.get("expect", {})
    _check_expect(expect, {s.label for s in specs})
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ParameterError("description", "must be a string")
    return Scenario(
        name=name,
        description=description,
        path=path,
        d=d,
        shape=shape,
        T=T,
        seeds=seeds,
        seed=seed,
        checkpoints=checkpoints,
        chunk=chunk,
        check_T=check_T,
        check_seeds=check_seeds,
        domain=domain,
        adversary=adversary,
        learners=tuple(specs),
        bounds=bounds,
        expect=dict(expect),
        raw=data,
        w1=w1,
    )


def _start_point(value: Any, domain: Any, d: int) -> tuple[float, ...] | None:
    """``w1``: a finite number (every coordinate) or d finite numbers, in V (within the
    round-off of a projection, as :meth:`contains` allows an iterate)."""
    if value is None:
        return None
    try:
        point = RealVector().check(value)
    except (ValueError, TypeError):
        raise ParameterError("w1", f"must be a number or a list of d = {d} finite numbers, "
                             f"got {value!r}"[:200]) from None
    point = point if isinstance(point, tuple) else (point,)
    if len(point) not in (1, d):
        raise ParameterError("w1", f"must have d = {d} entries (or be one number), got "
                             f"{len(point)}")
    w = np.broadcast_to(np.asarray(point, dtype=float), (d,))[None].copy()
    if not bool(domain.contains(w, np)[0]):
        raise ParameterError("w1", f"must lie in V ({_describe_domain(domain)}), got "
                             f"{list(point)}"[:200])
    return point


def _describe_domain(domain: Any) -> str:
    """The domain as the error message names it."""
    if domain.name == "ball":
        return f"the ball of radius {domain.radius:g} about {domain.centre!r}"
    if domain.name == "box":
        return f"the box [{domain.low!r}, {domain.high!r}]"
    if domain.name == "simplex":
        return "the probability simplex: w >= 0, sum w = 1"
    return domain.name


EXPECT_LEVELS = ("average_regret_limit", "average_regret_above", "average_regret_below")
EXPECT_KEYS = (
    "regret_order",
    "mean_iterate_order",
    "bound_order",
    *EXPECT_LEVELS,
    "limit_tolerance",
    "average_regret_falls",
    "expected_regret_z",
    "online_to_batch_z",
)


def _name(data: dict[str, Any], default_name: str) -> str:
    """The scenario's name (it names the results folder): ``name`` or the file's stem,
    either way a plain name."""
    if "name" in data:
        return check_name(data["name"], "name")
    try:
        return check_name(default_name, "name")
    except ParameterError:
        raise ParameterError("name", f"the file name gives {default_name!r}, not a plain "
                             "name (letters, digits, '-', '_', '.'); set name = "
                             "\"...\" in the file") from None


def _number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_expect(expect: Any, labels: set[str]) -> None:
    """``[expect]``: ``regret_order`` / ``mean_iterate_order`` list learner labels (final
    regret, or mean of the first coordinate of w_1..w_T, increasing); ``bound_order``
    lists ``label:bound``; ``average_regret_limit`` / ``_above`` / ``_below`` map labels to
    a level of R_T/T (the limit within ``limit_tolerance``, relative);
    ``average_regret_falls`` lists labels whose mean R_t/t must fall from t ~ T/10 to T."""
    if not isinstance(expect, dict) or set(expect) - set(EXPECT_KEYS):
        raise ParameterError("expect", f"allowed keys: {', '.join(EXPECT_KEYS)}")
    for key in EXPECT_LEVELS:
        table = expect.get(key, {})
        if (
            not isinstance(table, dict)
            or set(table) - labels
            or not all(_number(v) for v in table.values())
        ):
            raise ParameterError(f"expect.{key}", "must map learner labels to finite numbers, "
                                 f"got {table!r}"[:200])
    tolerance = expect.get("limit_tolerance", 0.0)
    if not _number(tolerance) or tolerance < 0:
        raise ParameterError("expect.limit_tolerance", f"must be a finite number >= 0, got "
                             f"{tolerance!r}"[:200])
    for key in ("expected_regret_z", "online_to_batch_z"):
        if key in expect and (not _number(expect[key]) or expect[key] <= 0):
            raise ParameterError(f"expect.{key}", "must be a finite number > 0 (standard "
                                 f"errors), got {expect[key]!r}"[:200])
    falls = expect.get("average_regret_falls")
    if falls is not None and (not isinstance(falls, list) or not falls
                              or not all(isinstance(x, str) and x in labels for x in falls)):
        raise ParameterError("expect.average_regret_falls", "must list learner labels from "
                             f"{', '.join(sorted(labels))}, got {falls!r}"[:200])
    for key, value in expect.items():
        if key in (*EXPECT_LEVELS, "limit_tolerance", "expected_regret_z", "online_to_batch_z",
                   "average_regret_falls"):
            continue
        if not isinstance(value, list) or len(value) < 2:
            raise ParameterError(f"expect.{key}", "must list at least two entries")
        for item in value:
            label, _, bound = str(item).partition(":")
            if (
                label not in labels
                or (key == "bound_order") != bool(bound)
                or (bound and bound not in BOUNDS)
            ):
                form = "LABEL:BOUND" if key == "bound_order" else "a learner label"
                raise ParameterError(
                    f"expect.{key}",
                    f"entries must be {form} with labels "
                    f"from {', '.join(sorted(labels))}, got {item!r}",
                )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by registered name (``default``) or by the path of a TOML file."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" or path.exists()):
        for directory in scenario_directories():
            candidate = directory / f"{name_or_path}.toml"
            if candidate.is_file():
                path = candidate
                break
        else:
            names = ", ".join(list_scenarios()) or "(none found)"
            raise UnknownNameError(
                f"unknown scenario {str(name_or_path)!r}; named scenarios: "
                f"{names}; or give the path of a .toml file"
            )
    shown = _display(path)
    text = read_text(path, shown, "scenario file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{shown}: not valid TOML ({exc})") from None
    return parse_scenario(data, shown, path.stem)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def with_size(
    scenario: Scenario, T: int | None = None, seeds: int | None = None, seed: int | None = None
) -> Scenario:
    """The scenario with its horizon, repetitions or base seed overridden (validated)."""
    for name, value, low, high in (("T", T, 1, MAX_T), ("seeds", seeds, 1, MAX_COUNT),
                                   ("seed", seed, 0, 2**63 - 1)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not low <= value <= high):
            shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
            raise OccError(f"--{name}: must be an integer >= {low} and <= {high:.4g}, "
                           f"got {shown}")
    changes = {k: v for k, v in (("T", T), ("seeds", seeds), ("seed", seed)) if v is not None}
    return dataclasses.replace(scenario, **changes)
