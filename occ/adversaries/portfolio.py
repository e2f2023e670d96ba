"""Online portfolio selection: ``l_t(w) = -log(w^T x_t)`` on the simplex, with price
relatives ``x_t`` read from a CSV file (one column per asset, one row per period).

Regret is the log-wealth gap to the best constant rebalanced portfolio (CRP) in
hindsight, ``u = argmax_{u in simplex} sum_t log(u^T x_t)``. That concave maximization is
solved by SLSQP and polished by Newton's method on the face of its support; its optimality
certificate is the duality gap ``max_i grad_i f(u) - tau`` (with ``f = sum_t log(u^T x_t)``,
concavity gives ``f(u*) - f(u) <= max_i grad_i f(u) - grad f(u)^T u`` and
``grad f(u)^T u = tau``), recorded per checkpoint; a run whose comparator does not reach
``COMPARATOR_GAP_TOLERANCE`` stops with an error rather than report a regret against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from scipy import optimize

from occ.backend import to_device, to_host
from occ.errors import OccError, ParameterError
from occ.params import Choice, param, validate

COMPARATOR_GAP_TOLERANCE = 1e-9
"""Largest duality gap (in log-wealth) accepted for the best CRP."""


def _face_newton(X: np.ndarray, u: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Newton's method for ``max sum log(u^T x_t)`` on the face ``{u_S >= 0, sum u_S = 1}``
    with the equality constraint in the KKT system and a step kept inside the face."""
    n = X.shape[0]
    u = np.where(support, u, 0.0)
    u /= u.sum()
    Xs = X[:, support]
    for _ in range(100):
        us = u[support]
        wealth = Xs @ us
        g = (Xs / wealth[:, None]).sum(axis=0)
        H = -(Xs / wealth[:, None]).T @ (Xs / wealth[:, None])
        k = us.size
        K = np.zeros((k + 1, k + 1))
        K[:k, :k], K[:k, k], K[k, :k] = H, 1.0, 1.0
        try:
            step = np.linalg.solve(K, np.concatenate([-g, [0.0]]))[:k]
        except np.linalg.LinAlgError:
            break
        alpha = 1.0
        negative = step < 0
        if negative.any():
            alpha = min(1.0, float(np.min(-us[negative] / step[negative])) * 0.999999)
        f0 = np.sum(np.log(wealth))
        for _ in range(60):
            trial = us + alpha * step
            if np.all(trial > 0) and np.sum(np.log(Xs @ trial)) >= f0 - 1e-15 * abs(f0):
                break
            alpha /= 2
        else:
            break
        u = np.zeros_like(u)
        u[support] = trial / trial.sum()
        if np.max(np.abs(alpha * step)) <= 1e-15:
            break
    del n
    return u


def best_crp(X: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(u, f(u), gap)`` for ``max_{u in simplex} sum_t log(u^T x_t)``, X of shape (n, d):
    SLSQP for the support, then Newton on the face of the active support, adding the
    assets whose gradient exceeds n (the KKT multiplier) until the gap closes."""
    n, d = X.shape

    def negative(u: np.ndarray) -> tuple[float, np.ndarray]:
        wealth = X @ u
        return -float(np.sum(np.log(wealth))), -(X / wealth[:, None]).sum(axis=0)

    result = optimize.minimize(
        negative, np.full(d, 1.0 / d), jac=True, method="SLSQP",
        bounds=[(0.0, 1.0)] * d,
        constraints=[{"type": "eq", "fun": lambda u: u.sum() - 1.0, "jac": lambda u: np.ones(d)}],
        options={"ftol": 1e-16, "maxiter": 2000})
    u = np.clip(result.x, 0.0, None)
    u /= u.sum()
    support = u > 1e-9
    best = (u, -np.inf, np.inf)
    for _ in range(2 * d):
        u = _face_newton(X, u, support)
        gradient = (X / (X @ u)[:, None]).sum(axis=0)
        gap = float(gradient.max() - n)
        f = float(np.sum(np.log(X @ u)))
        if gap < best[2]:
            best = (u, f, gap)
        if gap <= COMPARATOR_GAP_TOLERANCE * 0.01:
            break
        entering = (~support) & (gradient > n)
        leaving = support & (u <= 0)
        if not entering.any() and not leaving.any():
            break
        support = (support | entering) & ~leaving
        u = np.where(entering, 1e-6, u)
    return best


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
                solved[key] = best_crp(X[:, r, :])
            u, f, gap = solved[key]
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
