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
from types import ModuleType
from typing import Any

import numpy as np

from occ.adversaries.bcrp import CRPSolution, best_crp
from occ.adversaries.market_data import UNIVERSAL_DATASETS, Table, read_table
from occ.backend import to_device, to_host
from occ.errors import OccError, ParameterError
from occ.params import Real, Text, param, validate

COMPARATOR_GAP_TOLERANCE = 1e-9
"""Largest duality gap (in log-wealth) accepted for the best CRP."""


@dataclass(frozen=True)
class DataKind:
    """``"prices"``, ``"relatives"`` or ``"universal:NAME"`` (a universal-portfolios data
    set, prices)."""

    def describe(self) -> str:
        return ("'prices', 'relatives' or 'universal:NAME' with NAME one of "
                + ", ".join(UNIVERSAL_DATASETS))

    def check(self, value: Any) -> str:
        if value in ("prices", "relatives") or (
                isinstance(value, str) and value.removeprefix("universal:") in UNIVERSAL_DATASETS
                and value.startswith("universal:")):
            return value
        raise ValueError


@dataclass(frozen=True)
class LogWealthLoss:
    """``l_t(w) = -log(w^T x_t)``. Its comparator needs the whole sequence (a concave
    program with no finite sufficient statistic): the data come from a file, so the
    sequence is held as the file's rows already are."""

    name = "log_wealth"
    exp_concavity = 1.0  # exp(-l_t(w)) = w^T x_t is linear, hence concave
    allowed_domains = ("simplex",)  # log(w^T x) is finite only for portfolio weights

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
        self.baselines.append(self._baselines(X, np.stack(us)))
        return to_device(np.stack(us), xp), to_device(np.asarray(values), xp)

    assets: tuple[str, ...] = ()
    gaps: list = field(default_factory=list)
    warm: dict[int, CRPSolution] = field(default_factory=dict)  # the last solution per row
    baselines: list = field(default_factory=list)  # per checkpoint: the baselines' wealth

    def _baselines(self, X: np.ndarray, U: np.ndarray) -> dict[str, np.ndarray]:
        """Per row at a checkpoint: the wealth of the best single stock (in hindsight), of
        buy-and-hold (the mean of the stocks' wealths), of the uniform CRP, and the best
        CRP's weights as ``asset=weight`` pairs (its support, largest first)."""
        stocks = np.sum(np.log(X), axis=0)  # (R, d) log-wealth of each stock
        top = stocks.max(axis=1)
        hold = top + np.log(np.mean(np.exp(stocks - top[:, None]), axis=1))
        uniform = np.sum(np.log(np.mean(X, axis=2)), axis=0)
        names = self.assets or tuple(f"col{i + 1}" for i in range(X.shape[2]))
        weights = np.array([" ".join(f"{names[i]}={u[i]:.6g}" for i in np.argsort(-u)
                                     if u[i] > 0) for u in U], dtype=object)
        return {"best_stock_wealth": np.exp(top), "buy_and_hold_wealth": np.exp(hold),
                "uniform_crp_wealth": np.exp(uniform), "comparator_weights": weights}

    def extra_metrics(self, cumulative_loss: np.ndarray, comparator_loss: np.ndarray
                      ) -> dict[str, np.ndarray]:
        """Wealth (starting from 1) of the learner and of the best CRP, the comparator's
        certificate, the baselines' wealth and the best CRP's weights."""
        K = cumulative_loss.shape[1]
        out = {"wealth": np.exp(-cumulative_loss), "comparator_wealth": np.exp(-comparator_loss),
               "comparator_gap": np.stack(self.gaps, axis=1)[:, -K:]}
        for key in self.baselines[0] if self.baselines else ():
            out[key] = np.stack([b[key] for b in self.baselines], axis=1)[:, -K:]
        return out


@dataclass(frozen=True)
class Portfolio:
    """Price relatives from ``path`` (inside the scenario file's folder,
    :mod:`occ.adversaries.market_data`): ``data = "prices"`` (rows of positive prices;
    relatives x_t = p_{t+1}/p_t), ``"relatives"``, or ``"universal:NAME"`` (a data set of
    an installed universal-portfolios package; no path). Every repetition sees the same
    sequence; T must not exceed its length."""

    path: str = param("", Text(), "CSV file: one column per asset, one row per period")
    data: str = param("relatives", DataKind(), "what the rows hold, or a universal data set")
    base: str = param("", None, "directory the path is relative to (set by the loader)")
    cost: float = param(0.0, Real(0.0, 1.0, high_open=True, per_row=False),
                        "proportional transaction cost rate (0: the cost-free game)")
    columns: str = param("", Text(), "the assets to keep: 1-based column numbers, e.g. "
                         "'1,3' (default: every column)")
    name = "portfolio"
    oblivious = True
    streams = ()
    needs_trajectories = True  # turnover and the wealth net of costs read every w_t

    def trading_metrics(self, trajectory: np.ndarray, checkpoints: np.ndarray
                        ) -> dict[str, np.ndarray]:
        """Per row and checkpoint tau: ``turnover`` = sum_{t=2}^{tau} ||w_t - w~_{t-1}||_1
        with ``w~_t = w_t * x_t / (w_t^T x_t)`` the weights drifted by the prices (what a
        rebalancing trades), and ``net_wealth``: the wealth when each rebalancing costs
        ``cost`` times the traded fraction of the wealth, ``prod_t (w_t^T x_t)
        prod_{t>=2} (1 - cost ||w_t - w~_{t-1}||_1)`` (the initial purchase is free).
        ``trajectory``: (T, R, d), the iterates w_1..w_T."""
        W = np.asarray(trajectory, dtype=float)
        T = W.shape[0]
        X = self._relatives[:T][:, None, :]
        gross = np.sum(W * X, axis=-1)  # (T, R)
        drifted = W * X / gross[:, :, None]
        traded = np.zeros_like(gross)
        traded[1:] = np.sum(np.abs(W[1:] - drifted[:-1]), axis=-1)
        index = np.asarray(checkpoints) - 1
        turnover = np.cumsum(traded, axis=0)[index].T
        with np.errstate(divide="ignore"):
            net = np.cumsum(np.log(gross) + np.log1p(-self.cost * traded), axis=0)[index].T
        return {"turnover": turnover, "net_wealth": np.exp(net)}

    def __post_init__(self) -> None:
        validate(self)
        table = self._select(self.table())
        object.__setattr__(self, "_relatives", self._to_relatives(table))
        object.__setattr__(self, "assets", table.columns)

    def table(self) -> Table:
        if self.data.startswith("universal:"):
            if self.path:
                raise ParameterError("path", f"must be empty with data = {self.data!r}")
            return read_table(self.data)
        return read_table(self.path, self.base)

    def _select(self, table: Table) -> Table:
        if not self.columns:
            return table
        raw = self.columns if isinstance(self.columns, list | tuple) else str(
            self.columns).split(",")
        try:
            keep = [int(c) for c in raw]
        except ValueError:
            raise ParameterError("columns", "must be comma-separated column numbers, got "
                                 f"{self.columns!r}") from None
        width = table.values.shape[1]
        if not keep or len(set(keep)) != len(keep) or not all(1 <= c <= width for c in keep):
            raise ParameterError("columns", f"must be distinct numbers from 1 to {width}, "
                                 f"got {self.columns!r}")
        index = [c - 1 for c in keep]
        return Table(table.values[:, index], tuple(table.columns[i] for i in index),
                     table.labels, table.name)

    def _to_relatives(self, table: Table) -> np.ndarray:
        data, name = table.values, table.name
        if np.any(data <= 0):
            row = int(np.argwhere(data <= 0)[0][0])
            raise ParameterError("path", f"{name}: every price or relative must be a finite "
                                 f"number > 0 (data row {row + 1} is not)")
        if self.data != "relatives":
            data = data[1:] / data[:-1]
        if data.shape[0] < 1 or data.shape[1] < 2:
            raise ParameterError("path", f"{name}: need at least 2 assets and 1 period")
        return data

    def relatives(self) -> np.ndarray:
        return self._relatives

    @property
    def periods(self) -> int:
        return self._relatives.shape[0]

    def loss_family(self, d: int) -> LogWealthLoss:
        if d != self._relatives.shape[1]:
            raise ParameterError("d", f"must equal the number of assets in {self.path} "
                                 f"({self._relatives.shape[1]}), got {d}")
        return LogWealthLoss(assets=self.assets)

    def draw(self, rngs: list, t0: int, t1: int, d: int) -> np.ndarray:
        if t1 - 1 > self.periods:
            raise OccError(f"{self.path}: T = {t1 - 1} exceeds its {self.periods} periods")
        rows = self._relatives[t0 - 1:t1 - 1]
        return np.broadcast_to(rows[:, None, :], (t1 - t0, len(rngs), d)).copy()

    def respond(self, data: Any, w: Any, t: int, xp: ModuleType) -> Any:
        return data


def costs_void_bounds(bounds: Any, cost: float) -> Any:
    """Every bound row marked not applicable: the regret bounds are for the cost-free
    game (the recorded regret is the cost-free one; ``net_wealth`` carries the costs)."""
    bounds = bounds.copy()
    if len(bounds):
        bounds["applicable"] = False
        bounds["violated"] = False
        for column in ("value", "ratio", "error_budget"):
            bounds[column] = np.nan
        bounds["note"] = (f"not applicable: transaction costs are on (cost = {cost:g}); "
                          "the bounds are for the cost-free game")
    return bounds
