"""Online portfolio selection: ``l_t(w) = -log(w^T x_t)`` on the simplex, with price
relatives ``x_t`` read from a CSV file (one column per asset, one row per period).

Regret is the log-wealth gap to the best constant rebalanced portfolio (CRP) in
hindsight, ``u = argmax_{u in simplex} sum_t log(u^T x_t)``. That concave maximization is
solved by the active-set Newton method of :mod:`occ.adversaries.bcrp`, warm started from
the previous checkpoint's solution; its optimality certificate is the duality gap
``max_i grad_i f(u) - n`` (concavity: ``f(u*) - f(u)`` is at most that), recorded per
checkpoint; a run whose comparator does not reach ``COMPARATOR_GAP_TOLERANCE`` stops
with an error rather than report a regret against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.bcrp import CRPSolution, best_crp
from occ.backend import to_device, to_host
from occ.errors import OccError, ParameterError
from occ.params import Choice, param, validate

COMPARATOR_GAP_TOLERANCE = 1e-9
"""Largest duality gap (in log-wealth) accepted for the best CRP."""


def read_numeric_csv(path: Path) -> np.ndarray:
    """Rows of numbers from a CSV file: ``#`` comments and blank lines are skipped, and a
    first row that is not numeric is a header."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ParameterError("path", f"cannot read {path} ({exc.strerror})") from None
    rows = [line.split("#")[0].strip() for line in lines]
    rows = [line for line in rows if line]
    table = []
    for number, line in enumerate(rows):
        try:
            table.append([float(v) for v in line.split(",")])
        except ValueError:
            if number == 0:
                continue  # the header
            raise ParameterError("path", f"{path}: row {number + 1} is not a list of "
                                 f"numbers: {line!r}") from None
    if not table or len({len(r) for r in table}) != 1:
        raise ParameterError("path", f"{path}: needs rows of equally many numbers")
    return np.asarray(table, dtype=float)


@dataclass(frozen=True)
class LogWealthLoss:
    """``l_t(w) = -log(w^T x_t)``. Its comparator needs the whole sequence (a concave
    program with no finite sufficient statistic): the data come from a file, so the
    sequence is held as the file's rows already are."""

    name = "log_wealth"

    def value(self, params: Any, w: Any, xp: ModuleType) -> Any:
        return -xp.log(xp.sum(params * w, axis=-1))

    def value_magnitude(self, params: Any, w: Any, xp: ModuleType) -> Any:
        """``|log(x^T w)|`` plus 1: a relative error ``gamma_d`` of the (positive) inner
        product moves its log by at most ``gamma_d``."""
        return xp.abs(xp.log(xp.sum(params * w, axis=-1))) + 1.0

    def gradient(self, params: Any, w: Any, xp: ModuleType) -> Any:
        return -params / xp.sum(params * w, axis=-1)[:, None]

    def comparator_magnitude(self, stats: Any, u: Any, domain: Any, xp: ModuleType) -> Any:
        X = np.stack(stats, axis=0)  # (n, R, d)
        values = np.abs(np.log(np.einsum("nrd,rd->nr", X, to_host(u))))
        return to_device(np.sum(values + 1.0, axis=0), xp)

    def stats_init(self, R: int, d: int, xp: ModuleType) -> Any:
        return []

    def stats_update(self, stats: Any, params: Any, xp: ModuleType) -> Any:
        stats.append(to_host(params).copy())
        return stats

    def comparator(self, stats: Any, domain: Any, xp: ModuleType) -> tuple[Any, Any]:
        X = np.stack(stats, axis=0)  # (n, R, d)
        R = X.shape[1]
        us, values, gaps, solved = [], [], [], {}
        for r in range(R):
            key = X[:, r, :].tobytes()
            if key not in solved:
                previous = self.warm.get(r)
                solution = best_crp(X[:, r, :], None if previous is None else previous.u)
                solved[key] = solution
            solution = solved[key]
            self.warm[r] = solution
            u, f, gap = solution.u, solution.value, solution.gap
            if gap > COMPARATOR_GAP_TOLERANCE:
                raise OccError(f"the best constant rebalanced portfolio did not converge at "
                               f"t = {len(stats)} (duality gap {gap:.3g} > "
                               f"{COMPARATOR_GAP_TOLERANCE:g}); no regret is reported")
            us.append(u)
            values.append(-f)
            gaps.append(gap)
        self.gaps.append(np.asarray(gaps))
        return to_device(np.stack(us), xp), to_device(np.asarray(values), xp)

    gaps: list = field(default_factory=list)
    warm: dict[int, CRPSolution] = field(default_factory=dict)  # the last solution per row

    def extra_metrics(self, cumulative_loss: np.ndarray, comparator_loss: np.ndarray
                      ) -> dict[str, np.ndarray]:
        """Final wealth (starting from 1) of the learner and of the best CRP."""
        return {"wealth": np.exp(-cumulative_loss), "comparator_wealth": np.exp(-comparator_loss),
                "comparator_gap": np.stack(self.gaps, axis=1)[:, -cumulative_loss.shape[1]:]}


@dataclass(frozen=True)
class Portfolio:
    """Price relatives from ``path`` (relative to the scenario file): ``data = "prices"``
    (rows of positive prices; relatives x_t = p_{t+1}/p_t) or ``"relatives"``. Every
    repetition sees the same sequence; T must not exceed its length."""

    path: str = param("", None, "CSV file: one column per asset, one row per period")
    data: str = param("relatives", Choice(("prices", "relatives")), "what the rows hold")
    base: str = param("", None, "directory the path is relative to (set by the loader)")
    name = "portfolio"
    oblivious = True
    streams = ()

    def __post_init__(self) -> None:
        validate(self)
        relatives = self.relatives()
        object.__setattr__(self, "_relatives", relatives)

    def relatives(self) -> np.ndarray:
        path = Path(self.base) / self.path if self.base else Path(self.path)
        if not self.path:
            raise ParameterError("path", "is required: a CSV file of prices or relatives")
        data = read_numeric_csv(path)
        if not np.all(np.isfinite(data)) or np.any(data <= 0):
            raise ParameterError("path", f"{path}: every price or relative must be a finite "
                                 "number > 0")
        if self.data == "prices":
            data = data[1:] / data[:-1]
        if data.shape[0] < 1 or data.shape[1] < 2:
            raise ParameterError("path", f"{path}: need at least 2 assets and 1 period")
        return data

    @property
    def periods(self) -> int:
        return self._relatives.shape[0]

    def loss_family(self, d: int) -> LogWealthLoss:
        if d != self._relatives.shape[1]:
            raise ParameterError("d", f"must equal the number of assets in {self.path} "
                                 f"({self._relatives.shape[1]}), got {d}")
        return LogWealthLoss()

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        if t1 - 1 > self.periods:
            raise OccError(f"{self.path}: T = {t1 - 1} exceeds its {self.periods} periods")
        rows = self._relatives[t0 - 1:t1 - 1]
        return np.broadcast_to(rows[:, None, :], (t1 - t0, len(rngs), d)).copy()

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data
