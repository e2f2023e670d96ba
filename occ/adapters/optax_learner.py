"""``kind = "optax"``: an optax gradient transformation as an occ learner.

``transform = "adam"`` names a function of ``optax`` (``optax.adam``) or a dotted path
(``optax.contrib.cocob``); the table's other keys are its keyword arguments
(``learning_rate = 0.01``). Per row group (:mod:`occ.adapters.library`) the step is
``updates, s = tx.update(g, s, w); y = optax.apply_updates(w, updates)``, ``jax.vmap``-ed
over the group's repetitions (one parameter vector each, or an (m, n) matrix where the
scenario has a ``shape``) and compiled by ``jax.jit``, in
float64 (``jax.enable_x64`` around every call, so the setting does not leak into the
user's own jax code); then ``w_{t+1} = Proj_V(y)`` (Euclidean), which the next step
reads as its parameter. For an oblivious linear adversary a whole chunk of steps runs as
one ``jax.lax.scan`` (:mod:`occ.engines.scan_engine`, through
:meth:`OptaxLearner.scan_groups`; declared in the facts as ``chunked``).
"""

from __future__ import annotations

import dataclasses
import inspect
from types import ModuleType
from typing import Any

import numpy as np

from occ.adapters.library import LibraryLearner, LibraryState, make_class
from occ.backend import to_device, to_host
from occ.errors import ParameterError
from occ.learners.base import as_batch


def transform_function(target: str, field: str) -> Any:
    """``optax.<target>`` or the dotted path ``target``: a function returning a transform."""
    import optax

    from occ.dotted import import_object

    if "." in target or ":" in target:
        fn = import_object(target, field)
    elif hasattr(optax, target):
        fn = getattr(optax, target)
    else:
        raise ParameterError(field, f"optax has no {target!r} (a function of optax such as "
                             "'adam', or a dotted path such as 'optax.contrib.cocob')")
    if not callable(fn) or isinstance(fn, type):
        raise ParameterError(field, f"{target!r} is not a function returning an optax "
                             "transformation")
    return fn


def optax_class(target: str, field: str) -> type:
    fn = transform_function(target, field)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise ParameterError(field, f"cannot read the keywords of {target!r}") from None
    shape = [("shape", Any, dataclasses.field(default=None, compare=False))]
    cls = make_class(OptaxLearner, "optax", target, field, target, signature, (), shape)
    cls.function = staticmethod(fn)
    return cls


@dataclasses.dataclass(frozen=True)
class OptaxLearner(LibraryLearner):
    """An optax transformation, vmapped over repetitions (module docstring)."""

    function = None
    chunked = True

    def scan_groups(self, R: int) -> list[tuple[np.ndarray, Any, Any]]:
        """Per row group: the rows, the vmapped init and the vmapped (unjitted) step
        ``(w, s, g) -> (y, s)``, for :mod:`occ.engines.scan_engine`."""
        return [(rows, init, step) for rows, init, step, _ in self._programs(R)]

    def _programs(self, R: int) -> list[tuple[np.ndarray, Any, Any, Any]]:
        """Per row group: (rows, vmapped init, jitted step, jitted chunk), cached."""
        cache = self.__dict__.setdefault("_cache", {})
        if R in cache:
            return cache[R]
        import jax
        import optax

        programs = []
        for rows, kwargs in self.row_groups(R):
            tx = self.function(**kwargs)

            shape = tuple(self.shape) if self.shape is not None else None

            def one(w: Any, s: Any, g: Any, tx: Any = tx, shape: Any = shape) -> Any:
                if shape is not None:  # a matrix parameter: the transform sees (m, n)
                    w_next, s = one(w.reshape(shape), s, g.reshape(shape), tx, None)
                    return w_next.reshape(-1), s
                updates, s = tx.update(g, s, w)
                return optax.apply_updates(w, updates), s

            def start(w: Any, tx: Any = tx, shape: Any = shape) -> Any:
                return tx.init(w.reshape(shape) if shape is not None else w)

            step = jax.vmap(one)
            programs.append((rows, jax.vmap(start), step, jax.jit(step)))
        cache[R] = programs
        return programs

    def init(self, w1: Any, xp: ModuleType | None = None) -> LibraryState:
        import jax

        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        host = np.asarray(to_host(w), dtype=np.float64)
        with jax.enable_x64(True):
            states = tuple(init(jax.numpy.asarray(host[rows]))
                           for rows, init, _, _ in self._programs(host.shape[0]))
        return LibraryState(w, 0, states)

    def update(self, state: LibraryState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, LibraryState]:
        import jax

        xp = self._xp(xp, g)
        w, G = np.asarray(to_host(state.w)), np.asarray(to_host(g), dtype=np.float64)
        y = np.empty_like(w)
        states = []
        with jax.enable_x64(True):
            for (rows, _, _, step), s in zip(self._programs(w.shape[0]), state.groups,
                                             strict=True):
                w_rows, s = step(w[rows], s, G[rows])
                y[rows] = np.asarray(w_rows)
                states.append(s)
        w_next = self.project(to_device(y, xp), None, xp)
        return w_next, LibraryState(w_next, state.count + 1, tuple(states))
