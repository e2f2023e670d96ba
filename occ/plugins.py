"""The ways a learner that occ does not ship gets into a run (docs/own-learner.md).

A scenario's ``[learners.LABEL]`` table names its learner by ``kind``:

* a registered name: occ's own learners, those registered from Python with
  :func:`register_learner`, and those of installed packages that declare an
  ``occ.learners`` entry point (``name = "package.module:Class"``, loaded on first use,
  in every process that reads a scenario: sweep workers and Dask workers included);
* ``kind = "python"`` with ``object = "package.module:Class"``: a class implementing the
  learner protocol (:class:`occ.learners.base.LearnerConfig`), the table's other keys its
  hyperparameters;
* ``kind = "optax"`` with ``transform = "adam"`` (or a dotted path), ``kind = "torch"``
  with ``optimizer = "Adam"``: a library optimizer through :mod:`occ.adapters`, the
  table's other keys its keyword arguments.

:func:`resolve_learner` turns ``(kind, params)`` into the learner class and the
hyperparameters it is built from; everything that reads a learner table (scenarios,
batches, sweeps, the listings) asks it, so each way in behaves like a built-in learner.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from occ.dotted import import_object
from occ.errors import ParameterError, UnknownNameError
from occ.learners import LEARNERS

ENTRY_POINT_GROUP = "occ.learners"
SELECTORS = {"python": "object", "optax": "transform", "torch": "optimizer"}
"""The ways in that are not registered names, and the key that picks the object."""

_loaded = False
LOAD_ERRORS: dict[str, str] = {}
"""Entry points that failed to load: name -> the error (shown by ``occ list --learners``)."""


@dataclass(frozen=True)
class Resolved:
    """A learner table resolved: the class, its hyperparameters, the selecting keys."""

    cls: type
    params: dict[str, Any]
    selector: dict[str, Any] = dataclasses.field(default_factory=dict)


def register_learner(cls: type, name: str | None = None) -> type:
    """Register a learner class under ``name`` (default: its ``name`` attribute) so that
    scenario files and :func:`occ.make_learner` find it; returns the class (a decorator).
    A name occ's own learners use is refused."""
    name = name or getattr(cls, "name", None)
    if not isinstance(name, str) or not name or name in SELECTORS:
        raise ParameterError("name", f"a learner needs a name other than {', '.join(SELECTORS)}"
                             f", got {name!r}")
    for method in ("init", "update", "geometry", "facts"):
        if not callable(getattr(cls, method, None)):
            raise ParameterError(name, f"a learner defines {method}(); see docs/own-learner.md")
    existing = LEARNERS.get(name)
    if existing is not None and existing is not cls and existing.__module__.startswith("occ."):
        raise ParameterError(name, f"is one of occ's own learners ({existing.__name__})")
    LEARNERS[name] = cls
    return cls


def load_entry_points() -> None:
    """Register every installed ``occ.learners`` entry point (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in LEARNERS:
            continue
        try:
            register_learner(point.load(), point.name)
        except Exception as exc:  # a broken plugin is reported where it is used
            LOAD_ERRORS[point.name] = f"{point.value}: {type(exc).__name__}: {exc}"


def learner_kinds() -> list[str]:
    """Every value ``kind`` may take in a learner table."""
    load_entry_points()
    return [*LEARNERS, *SELECTORS]


def check_loaded(kind: Any, field: str = "kind") -> None:
    """Raise the load error of an installed plugin named ``kind``, if it failed."""
    load_entry_points()
    if isinstance(kind, str) and kind in LOAD_ERRORS and kind not in LEARNERS:
        raise ParameterError(field, f"learner {kind!r} (an installed plugin) failed to "
                             f"load: {LOAD_ERRORS[kind]}")


def _python_class(path: Any, field: str) -> type:
    cls = import_object(path, field)
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        raise ParameterError(field, f"{path!r} is not a learner class (a frozen dataclass "
                             "deriving from occ.Learner; see docs/own-learner.md)")
    for method in ("init", "update", "geometry", "facts"):
        if not callable(getattr(cls, method, None)):
            raise ParameterError(field, f"{path!r} defines no {method}() (the learner "
                                 "protocol, docs/own-learner.md)")
    return cls


def resolve_learner(kind: Any, params: dict[str, Any]) -> Resolved:
    """The learner class of a table's ``kind`` and the hyperparameters to build it from.
    Errors name the field (``kind``, ``object``, ``transform``, ``optimizer``)."""
    if isinstance(kind, str) and kind in SELECTORS:
        key = SELECTORS[kind]
        if key not in params:
            raise ParameterError(key, f"kind {kind!r} needs {key} = "
                                 + {"python": "'package.module:Class'",
                                    "optax": "'adam' (a function of optax, or a dotted path)",
                                    "torch": "'Adam' (a class of torch.optim, or a dotted "
                                             "path)"}[kind])
        rest = {k: v for k, v in params.items() if k != key}
        if kind == "python":
            return Resolved(_python_class(params[key], key), rest, {key: params[key]})
        from occ.adapters import adapter_class

        return Resolved(adapter_class(kind, params[key], key), rest, {key: params[key]})
    check_loaded(kind)
    if not isinstance(kind, str) or kind not in LEARNERS:
        raise ParameterError("kind", f"must be one of {', '.join(learner_kinds())}, "
                             f"got {kind!r}")
    return Resolved(LEARNERS[kind], dict(params))


def learner_class(kind: Any, params: dict[str, Any] | None = None) -> type | None:
    """The class of a table's learner, or None where it does not resolve."""
    try:
        return resolve_learner(kind, params or {}).cls
    except (ParameterError, UnknownNameError):
        return None


def make(kind: str, params: dict[str, Any], **passed: Any) -> Any:
    """The learner of a table, its hyperparameters validated (``passed``: set by occ)."""
    from occ.params import build

    resolved = resolve_learner(kind, params)
    return build(resolved.cls, {**resolved.params, **passed},
                 passed=("domain", "shape", "repetitions"))


__all__ = ["LOAD_ERRORS", "Resolved", "check_loaded", "learner_class", "learner_kinds",
           "load_entry_points", "make", "register_learner", "resolve_learner"]
