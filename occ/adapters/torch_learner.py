"""``kind = "torch"``: a ``torch.optim`` optimizer as an occ learner.

``optimizer = "Adam"`` names a class of ``torch.optim`` or a dotted path to one; the
table's other keys are its keyword arguments (``lr = 0.01``; ``betas = [0.9, 0.999]``).
Parameters are float64 tensors. By default every repetition has its own parameter tensor
(d,) and its own optimizer, which is right for every optimizer, including those that
couple coordinates (LBFGS, a norm-based rule); ``elementwise = true`` puts a row group's
repetitions in one (R, d) tensor under one optimizer, which is the same computation only
for optimizers that act coordinate by coordinate (SGD, Adagrad, RMSprop, Adam, AdamW; a
test holds the two equal). Each step sets ``p.grad = g_t``, calls ``optimizer.step()``,
projects the result onto V (Euclidean) and writes the projection back into ``p``. Where
the scenario has a ``shape = [m, n]``, each repetition's tensor is the (m, n) matrix (row
major, as occ's matrix learners read w), so matrix optimizers (``Muon``) run.

The optimizers keep their state inside torch objects that the learner's state holds by
reference: a state is advanced once (as the harness does), never replayed.
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
from occ.params import Boolean, param


def optimizer_class(target: str, field: str) -> type:
    """``torch.optim.<target>`` or the dotted path ``target``: an Optimizer subclass."""
    import torch

    from occ.dotted import import_object

    if "." in target or ":" in target:
        cls = import_object(target, field)
    elif isinstance(getattr(torch.optim, target, None), type):
        cls = getattr(torch.optim, target)
    else:
        raise ParameterError(field, f"torch.optim has no {target!r} (a class such as 'Adam', "
                             "or a dotted path to a torch.optim.Optimizer subclass)")
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ParameterError(field, f"{target!r} is not a torch.optim.Optimizer subclass")
    return cls


def torch_class(target: str, field: str) -> type:
    optimizer = optimizer_class(target, field)
    extra = [("elementwise", Any, param(False, Boolean(), "one tensor for a row group's "
                                        "repetitions (optimizers acting per coordinate)")),
             ("shape", Any, dataclasses.field(default=None, compare=False))]
    cls = make_class(TorchLearner, "torch", target, field, target,
                     inspect.signature(optimizer), ("params",), extra)
    cls.optimizer = optimizer
    return cls


@dataclasses.dataclass(frozen=True)
class TorchLearner(LibraryLearner):
    """A torch.optim optimizer, one parameter tensor per repetition (module docstring)."""

    optimizer = None
    elementwise = False

    def _layout(self, rows: np.ndarray) -> np.ndarray:
        """Rows (k, d) as the optimizer's parameters: (k, m, n) where the scenario has a
        ``shape`` (row-major, as occ's matrix learners read w), else unchanged."""
        return rows.reshape(len(rows), *self.shape) if self.shape is not None else rows

    def init(self, w1: Any, xp: ModuleType | None = None) -> LibraryState:
        import torch

        xp = self._xp(xp, w1)
        w = as_batch(w1, xp)
        host = np.asarray(to_host(w), dtype=np.float64)
        groups = []
        for rows, kwargs in self.row_groups(host.shape[0]):
            blocks = [rows] if self.elementwise else [rows[i:i + 1] for i in range(len(rows))]
            for block in blocks:
                tensor = torch.tensor(self._layout(host[block]), dtype=torch.float64)
                if not self.elementwise:
                    tensor = tensor[0].clone()
                p = torch.nn.Parameter(tensor)
                groups.append((block, p, self.optimizer([p], **kwargs)))
        return LibraryState(w, 0, tuple(groups))

    def update(self, state: LibraryState, g: Any,
               xp: ModuleType | None = None) -> tuple[Any, LibraryState]:
        import torch

        xp = self._xp(xp, g)
        G = np.asarray(to_host(g), dtype=np.float64)
        y = np.empty_like(G)
        for block, p, optimizer in state.groups:
            grad = torch.from_numpy(np.ascontiguousarray(self._layout(G[block])))
            p.grad = grad if self.elementwise else grad[0]
            optimizer.step()
            y[block] = p.detach().numpy().reshape(len(block), -1)
        w_next = self.project(to_device(y, xp), None, xp)
        host = np.asarray(to_host(w_next))
        with torch.no_grad():
            for block, p, _ in state.groups:
                value = torch.from_numpy(np.ascontiguousarray(self._layout(host[block])))
                p.copy_(value if self.elementwise else value[0])
        return w_next, LibraryState(w_next, state.count + 1, state.groups)
