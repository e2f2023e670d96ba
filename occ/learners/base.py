"""What every learner shares: a frozen, validated configuration and pure ``init``/``update``.

A learner is a frozen dataclass (its hyperparameters, checked by :mod:`occ.params`) with

* ``init(w1, xp=None) -> state``: ``w1`` of shape (R, d) (or (d,) for one repetition);
* ``update(state, g, xp=None) -> (w_next, state)``: ``g`` of shape (R, d);
* ``geometry(state)``: the precision ``P_t = A_t / eta_t`` of the step just taken
  (:mod:`occ.regularizers`), or ``None`` where the learner is not of mirror-descent form;
* ``facts(d)``: its typed declaration, :class:`occ.learners.facts.LearnerFacts`.
* optionally ``shadow(state)``: a second sequence the learner reports beside the point it
  plays (schedule-free AdamW's average x_t, while it plays y_t = ``state.w``); the harness
  records its loss before each update and the metrics carry its regret (``shadow_regret``).

A learner with a compiled step declares ``kernel_step`` (a
:class:`~occ.learners.facts.KernelStep`) on its own class and ``step_arguments(d)``; its
reference ``update`` calls the same step functions on whole arrays.

State is a ``NamedTuple`` of arrays with a leading repetition axis plus the step count.
The namespace ``xp`` is taken from the arrays when not given. Hyperparameters may hold
one value per row (a 1-D array of length R): that is how a grid folds into the batch.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from occ.backend import namespace_of, to_device
from occ.domains import Unconstrained
from occ.errors import ParameterError
from occ.learners.facts import ALL_DOMAINS, Hyperparameter, KernelStep, LearnerFacts
from occ.params import Choice, param, validate

PROJECTIONS = ("bregman", "euclidean")


def per_row(value: Any, R: int, xp: ModuleType) -> Any:
    """A scalar or per-row hyperparameter as an (R,) array in ``xp``."""
    if isinstance(value, np.ndarray):
        if value.shape != (R,):
            raise ParameterError("hyperparameter", f"per-row values need length R = {R}, "
                                 f"got shape {value.shape}")
        return to_device(value, xp)
    return xp.full((R,), float(value), dtype=xp.float64)


def as_batch(w1: Any, xp: ModuleType) -> Any:
    """``w1`` as an (R, d) float64 array of namespace ``xp``."""
    if isinstance(w1, np.ndarray | list | tuple):
        w1 = to_device(np.asarray(w1, dtype=float), xp)
    if w1.ndim == 1:
        w1 = xp.reshape(w1, (1, w1.shape[0]))
    return w1


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    """Fields every learner has: the feasible set and the projection geometry.

    ``projection = "bregman"`` (default) projects in the learner's own ``A_t``-norm, which is
    what bounds (8)-(20) assume; ``"euclidean"`` projects in the plain l2 norm, a different
    algorithm for a non-spherical ``A_t`` for which those bounds are not guaranteed.
    """

    domain: Any = dataclasses.field(default_factory=Unconstrained, compare=False)
    projection: str = param("bregman", Choice(PROJECTIONS), "projection geometry")
    name: ClassVar[str] = "learner"
    kernel_step: ClassVar[KernelStep | None] = None

    def __post_init__(self) -> None:
        validate(self)
        self.check_domain()

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        """The kinds of feasible set this configuration runs on."""
        return ALL_DOMAINS

    def check_domain(self) -> None:
        """Refuse a domain the learner cannot project onto (checked when a file is read)."""
        allowed = self.allowed_domains
        if self.domain.name not in allowed:
            raise ParameterError("domain", f"learner {self.name!r} runs on "
                                 f"{', '.join(allowed)}; got {self.domain.name!r}")

    @classmethod
    def hyperparameters(cls) -> tuple[Hyperparameter, ...]:
        """Every configurable field with its constraint (:mod:`occ.params`)."""
        return tuple(Hyperparameter(f.name, f.metadata["constraint"], f.default,
                                    f.metadata.get("doc", ""))
                     for f in dataclasses.fields(cls)
                     if f.init and f.metadata.get("constraint") is not None)

    def has_kernel(self) -> bool:
        """A compiled step declared on this exact class (never inherited)."""
        return type(self).__dict__.get("kernel_step") is not None

    def facts(self, d: int) -> LearnerFacts:
        raise NotImplementedError(f"learner {self.name!r} does not declare its facts")

    def declares_its_update(self) -> bool:
        """Whether the class that declares the facts also defines (or inherits) the update
        they describe. A subclass that overrides ``update`` without its own ``facts``
        changes the algorithm: what the parent guaranteed by construction (monotonicity,
        the learner-specific theorems, the compiled step) is not claimed for it."""
        mro = type(self).__mro__
        facts_owner = next(c for c in mro if "facts" in c.__dict__)
        update_owner = next(c for c in mro if "update" in c.__dict__)
        return issubclass(facts_owner, update_owner)

    def _facts(self, **fields: Any) -> LearnerFacts:
        """LearnerFacts with what every learner shares filled in (and the parent's
        guarantees withdrawn from a subclass that changed the update)."""
        if not self.declares_its_update():
            fields |= {"monotone": "measured", "claims": frozenset()}
        return LearnerFacts(family=self.name, kernel=self.has_kernel(),
                            domains=self.allowed_domains,
                            parameter="matrix" if self.matrix else "vector",
                            hyperparameters=self.hyperparameters(), **fields)

    def schedule_values(self, steps: np.ndarray) -> np.ndarray:
        """The step-size schedule ``s_t`` at the given steps (1 where there is none)."""
        return np.ones(len(steps))

    def _step_columns(self, values: tuple[Any, ...], R: int, xp: ModuleType) -> tuple[Any, ...]:
        """Per-row hyperparameters as (R, 1) columns, the reference update's ``hyper``."""
        return tuple(per_row(v, R, xp)[:, None] for v in values)

    def replace(self, **changes: Any) -> Any:
        return dataclasses.replace(self, **changes)

    def _xp(self, xp: ModuleType | None, x: Any) -> ModuleType:
        return xp if xp is not None else namespace_of(x)

    def project(self, y: Any, precision: Any, xp: ModuleType) -> Any:
        """``w_{t+1}``: the projection of ``y`` onto V in the configured geometry."""
        return self.domain.project(y, xp, precision if self.projection == "bregman" else None)

    def projection_exact(self, precision_kind: str) -> bool:
        """Whether ``w_{t+1}`` is the exact ``A_t``-norm projection (what (8) needs)."""
        if self.projection == "euclidean":
            return self.domain.euclidean_is_bregman(precision_kind)
        return self.domain.projection_is_exact(precision_kind)

    needs_hindsight = False
    matrix = False  # learners of matrix parameters take the shape (m, n) of W

    def _matrix_start(self, w1: Any, xp: ModuleType) -> tuple[Any, tuple[int, int, int]]:
        """A matrix learner's initial iterate in the caller's layout, and (R, m, n)."""
        w = w1 if getattr(w1, "ndim", 0) == 3 else as_batch(w1, xp)
        W, _ = matrix_view(w, self.shape, xp)
        return w, tuple(W.shape)

    def _matrix_step(self, w: Any, step: Any, precision: Any, was_matrix: bool,
                     xp: ModuleType) -> Any:
        """``Proj(vec(W) - step)`` in the learner's geometry, back in the caller's layout."""
        R = step.shape[0]
        w_next = self.project(xp.reshape(w, (R, step.shape[1])) - step, precision, xp)
        return xp.reshape(w_next, w.shape) if was_matrix else w_next

    def for_horizon(self, T: int) -> Any:
        """The learner bound to the run's horizon (schedules that decay over T)."""
        return self


Learner = LearnerConfig
"""The public name of the learner protocol (``occ.Learner``, docs/own-learner.md)."""


def matrix_view(x: Any, shape: tuple[int, int] | None, xp: ModuleType) -> tuple[Any, bool]:
    """``(X, was_matrix)``: a batch of matrices (R, m, n) from (R, m, n) or from row-major
    vec(W) of shape (R, m n) with the learner's ``shape``."""
    if x.ndim == 3:
        return x, True
    if shape is None:
        raise ParameterError("shape", "a matrix learner needs W as (R, m, n) or its shape (m, n)")
    return xp.reshape(x, (x.shape[0], shape[0], shape[1])), False


def vector_view(X: Any, was_matrix: bool, xp: ModuleType) -> Any:
    return X if was_matrix else xp.reshape(X, (X.shape[0], X.shape[1] * X.shape[2]))
