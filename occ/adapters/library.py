"""What the optax and torch.optim adapters share: a learner class made from a library
optimizer's signature, rows grouped by their hyperparameters, the projection onto V.

The class's fields are the optimizer's keyword arguments (``learning_rate``, ``b1``,
...), constrained from their defaults: a number is a finite real (one value per row
allowed, so a list in a scenario is a grid in the batch axis), a boolean a boolean, a
tuple of numbers a list (torch's ``betas``), anything else passed to the library as
given. A keyword without a default is required. The library validates the values itself.

Each repetition row runs the library's own step on its own parameter vector; rows that
share every hyperparameter value form a group, run by one library optimizer (optax: one
``jax.vmap``-ed transform; torch: one optimizer per row, or one per group with
``elementwise = true``). After each library step occ projects the iterate onto V in the
Euclidean norm and writes it back into the library's parameter (the library's state is
never touched): ``w_{t+1} = Proj_V(library_step(w_t, g_t))``. The adapters declare no
geometry: the bounds of the notes do not apply, and their rows say why.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, ClassVar, NamedTuple

import numpy as np

from occ.errors import ParameterError
from occ.learners.base import LearnerConfig
from occ.learners.facts import LearnerFacts
from occ.params import Boolean, Choice, Real, RealVector, param


class LibraryValue:
    """A keyword whose default is ``None`` or a string: a number, a boolean, a string or
    a list of numbers, passed as given."""

    def __init__(self, default: Any) -> None:
        self.default = default

    def describe(self) -> str:
        return "a number, true or false, a string or a list of numbers (passed as given)"

    def check(self, value: Any) -> Any:
        if value is self.default or isinstance(value, bool | int | float | str):
            return value
        if (isinstance(value, list | tuple) and value
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
            return tuple(value)
        raise ValueError


def keyword_fields(signature: inspect.Signature, skip: tuple[str, ...],
                   where: str) -> tuple[list[tuple[str, Any, Any]], tuple[str, ...],
                                        frozenset[str]]:
    """The dataclass fields of a library function's keywords, the required ones, and the
    ones whose default is an integer (passed back as ``int`` where the value is whole)."""
    fields, required, integers = [], [], set()
    reserved = {f.name for f in dataclasses.fields(LearnerConfig)} | {"elementwise"}
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in skip:
            continue
        if p.name in reserved:
            continue  # occ's own field of that name (domain, projection) wins
        default = p.default
        doc = f"keyword {p.name} of {where}"
        if default is p.empty:
            fields.append((p.name, Any, param(None, Real(), doc + " (required)")))
            required.append(p.name)
        elif isinstance(default, bool):
            fields.append((p.name, Any, param(default, Boolean(), doc)))
        elif isinstance(default, int | float):
            if isinstance(default, int):
                integers.add(p.name)
            fields.append((p.name, Any, param(float(default), Real(), doc)))
        elif (isinstance(default, tuple) and default
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in default)):
            fields.append((p.name, Any, param(default, RealVector(), doc)))
        elif default is None or isinstance(default, str):
            fields.append((p.name, Any, param(default, LibraryValue(default), doc)))
        # any other default (a dtype, a mask function) is a library object: it is kept
    return fields, tuple(required), frozenset(integers)


class LibraryState(NamedTuple):
    w: Any  # (R, d) the iterate to play next, projected onto V
    count: int
    groups: tuple[Any, ...]  # per row group: the library's own optimizer state


@dataclasses.dataclass(frozen=True)
class LibraryLearner(LearnerConfig):
    """A library optimizer as a learner (module docstring); subclasses made per optimizer."""

    projection: str = param("euclidean", Choice(("euclidean",)),
                            "occ projects each library step onto V in the Euclidean norm")
    library: ClassVar[str] = ""
    target: ClassVar[str] = ""  # the optimizer as the scenario names it
    selector: ClassVar[str] = ""  # the table key that names it (transform, optimizer)
    keywords: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()
    integers: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in self.required:
            if getattr(self, name) is None:
                raise ParameterError(name, f"is required by {self.library} {self.target!r}: "
                                     "a finite number")

    def row_groups(self, R: int) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """The rows that share every keyword value, and those keyword arguments."""
        values = {k: getattr(self, k) for k in self.keywords}
        varying = [k for k, v in values.items() if isinstance(v, np.ndarray)]
        for k in varying:
            if values[k].shape != (R,):
                raise ParameterError(k, f"per-row values need length R = {R}, got "
                                     f"{values[k].shape}")
        keys = [tuple(float(values[k][i]) for k in varying) for i in range(R)]
        groups: dict[tuple, list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        out = []
        for key, rows in groups.items():
            kwargs = {**values, **dict(zip(varying, key, strict=True))}
            kwargs = {k: self._plain(k, v) for k, v in kwargs.items()
                      if not (v is None and k not in self.required)}
            out.append((np.asarray(rows), kwargs))
        return out

    def _plain(self, name: str, value: Any) -> Any:
        if name in self.integers and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def project(self, y: Any, precision: Any, xp: Any) -> Any:
        """``Proj_V(y)`` in the Euclidean norm (the library's step has no geometry)."""
        return self.domain.project(y, xp, None)

    def geometry(self, state: LibraryState) -> None:
        return None

    chunked: ClassVar[bool] = False  # offers scan_groups (occ.engines.scan_engine)

    def facts(self, d: int) -> LearnerFacts:
        return self._facts(
            geometry="none", projection_exact=False, chunked=self.chunked,
            not_mirror_descent=(f"not applicable: {self.library} {self.target!r} runs as a "
                                "black box and declares no geometry; occ projects each of its "
                                "steps onto V (Euclidean)"),
            note=(f"{self.library} {self.target!r}: the library's own step, then occ's "
                  f"Euclidean projection onto V ({self.domain.name})"))


def make_class(base: type, library: str, target: str, selector: str, name: str,
               signature: inspect.Signature, skip: tuple[str, ...],
               extra: list[tuple[str, Any, Any]] = ()) -> type:
    """A frozen dataclass subclass of ``base`` with the optimizer's keywords as fields."""
    fields, required, integers = keyword_fields(signature, skip, f"{library} {target}")
    cls = dataclasses.make_dataclass(
        f"{library.capitalize()}_{name.replace('.', '_')}", [*fields, *extra], bases=(base,),
        frozen=True, namespace={"library": library, "target": target, "selector": selector,
                                "keywords": tuple(f[0] for f in fields),
                                "required": required, "integers": integers,
                                "name": f"{library}:{target}",
                                "__module__": base.__module__})
    return cls
