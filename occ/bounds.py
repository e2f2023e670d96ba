"""Regret bounds as pure functions of recorded statistics, named by equation.

Each :class:`Bound` says which learners it concerns (``relevant``), which assumptions it
needs on a given run (``assumptions``: a per-repetition, per-checkpoint mask and the
reason shown where it fails), and its value. Formulas and assumptions are those of
THEORY.md section 3. A bound whose assumptions fail is reported as not applicable, never
as a ratio. A violation is ``regret > bound + RELATIVE_TOLERANCE * max(|bound|, |regret|,
1e-12)`` (THEORY.md section 7): floating-point slack only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from occ.errors import UnknownNameError
from occ.recorder import Statistics

RELATIVE_TOLERANCE = 1e-9
"""Relative floating-point slack when deciding a violation."""

MONOTONE_TOLERANCE = 1e-12
"""``Gamma_t >= 0`` is taken to hold when ``lambda_min(Gamma_t) >= -1e-12 ||P_t||``."""

Info = dict[str, Any]
Mask = tuple[np.ndarray, str]


@dataclass(frozen=True)
class Bound:
    name: str
    formula: str
    relevant: Callable[[Info], bool]
    assumptions: Callable[[Statistics, Info], list[Mask]]
    value: Callable[[Statistics, Info], np.ndarray]


def _all(stats: Statistics) -> np.ndarray:
    return np.ones_like(stats.regret, dtype=bool)


def _mirror_descent(info: Info) -> bool:
    return bool(info.get("mirror_descent"))


def _exact_projection(stats: Statistics, info: Info) -> list[Mask]:
    ok = bool(info.get("projection_exact"))
    return [(_all(stats) & ok, "needs the A_t-norm projection (projection = 'bregman')")]


def _monotone(stats: Statistics, info: Info) -> list[Mask]:
    return _exact_projection(stats, info) + [
        (stats.gamma_min >= -MONOTONE_TOLERANCE,
         "needs Gamma_t = A_t/eta_t - A_{t-1}/eta_{t-1} >= 0")
    ]


def _constant_precision(stats: Statistics, info: Info) -> list[Mask]:
    return _exact_projection(stats, info) + [
        (stats.gamma_change <= MONOTONE_TOLERANCE, "needs constant A and eta")
    ]


def _at_horizon(stats: Statistics, info: Info) -> list[Mask]:
    return [(_all(stats) & (stats.t[None, :] == stats.T),
             "the hindsight step size is tuned for the horizon T only")]


def _ogd(*steps: str) -> Callable[[Info], bool]:
    return lambda info: info.get("family") == "ogd" and info.get("step") in steps


def _eta(info: Info) -> np.ndarray:
    return np.asarray(info["eta"], dtype=float).reshape(-1, 1)


def _root_S(stats: Statistics, info: Info) -> np.ndarray:
    return np.sqrt(stats.S + np.asarray(info.get("eps0", 0.0), dtype=float).reshape(-1, 1))


def _D0(info: Info) -> np.ndarray:
    return np.asarray(info["D0"], dtype=float).reshape(-1, 1)


BOUNDS: dict[str, Bound] = {}


def _register(*bounds: Bound) -> None:
    for b in bounds:
        BOUNDS[b.name] = b


_register(
    Bound("eq8", "sum_t (||u-w_t||^2_{A_t} - ||u-w_{t+1}||^2_{A_t})/(2 eta_t) "
          "+ 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _mirror_descent, _exact_projection,
          lambda s, i: s.eq8_first + s.gradient_term),
    Bound("eq10", "1/2 sum_t (w_t-u)^T (A_t/eta_t - A_{t-1}/eta_{t-1}) (w_t-u) "
          "+ 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _mirror_descent, _exact_projection,
          lambda s, i: s.eq10_first + s.gradient_term),
    Bound("eq18", "D^2 tr(A_T)/(2 eta_T) + 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _mirror_descent, _monotone,
          lambda s, i: s.D**2 * s.trace_P / 2 + s.gradient_term),
    Bound("eq19", "D_A^2/(2 eta_T) + 1/2 sum_t eta_t ||g_t||^2_{A^-1}  (A = I)",
          _ogd("constant", "sqrt", "adagrad_norm", "oracle23", "oracle25"), _monotone,
          lambda s, i: s.D**2 * s.scalar_P / 2 + s.gradient_term),
    Bound("eq20", "D_{A,1}^2/(2 eta) + eta/2 sum_t ||g_t||^2_{A^-1}  (A = I)",
          _ogd("constant", "oracle23", "oracle25"), _constant_precision,
          lambda s, i: s.D1**2 * s.scalar_P / 2 + s.gradient_term),
    Bound("eq22", "D_1^2/(2 eta) + eta/2 L^2 T",
          _ogd("constant", "oracle23", "oracle25"), _constant_precision,
          lambda s, i: s.D1**2 / (2 * _eta(i)) + _eta(i) / 2 * s.L**2 * s.t[None, :]),
    Bound("eq23", "D_1 L sqrt(T)  (eta = D_1/(L sqrt(T)))",
          _ogd("oracle23"), _at_horizon,
          lambda s, i: s.D1 * s.L * np.sqrt(s.t[None, :])),
    Bound("eq24", "(D^2/(2c) + c L^2) sqrt(T)  (eta_t = c/sqrt(t))",
          _ogd("sqrt"), _monotone,
          lambda s, i: (s.D**2 / (2 * _c(i)) + _c(i) * s.L**2) * np.sqrt(s.t[None, :])),
    Bound("eq25", "D_1 sqrt(S_T)  (eta = D_1/sqrt(S_T))",
          _ogd("oracle25"), _at_horizon,
          lambda s, i: s.D1 * np.sqrt(s.S)),
    Bound("eq27", "(D^2/(2 D0) + D0) sqrt(eps0 + S_T)  (eta_t = D0/sqrt(eps0 + S_t))",
          _ogd("adagrad_norm"), _monotone,
          lambda s, i: (s.D**2 / (2 * _D0(i)) + _D0(i)) * _root_S(s, i)),
    Bound("eq27_literal", "3/2 D0 sqrt(eps0 + S_T)  (needs D0 >= D)",
          _ogd("adagrad_norm"),
          lambda s, i: _monotone(s, i) + [(_D0(i) >= s.D, "needs D0 >= D")],
          lambda s, i: 1.5 * _D0(i) * _root_S(s, i)),
)


def _c(info: Info) -> np.ndarray:
    return np.asarray(info["c"], dtype=float).reshape(-1, 1)


def get_bound(name: str) -> Bound:
    if name not in BOUNDS:
        raise UnknownNameError(f"unknown bound {name!r}; allowed: {', '.join(BOUNDS)}")
    return BOUNDS[name]


def violated(regret: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Where ``regret`` exceeds ``value`` beyond floating-point slack."""
    scale = np.maximum(np.maximum(np.abs(value), np.abs(regret)), 1e-12)
    return regret > value + RELATIVE_TOLERANCE * scale


def evaluate(
    stats: Statistics,
    info: Info,
    learner: str | np.ndarray,
    seeds: np.ndarray,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """One row per (bound, seed, checkpoint) for every bound relevant to the learner.

    Columns: ``learner, seed, t, bound, value, regret, ratio, applicable, violated, note``.
    ``learner`` is a label, or one label per row (a grid folded into the batch axis).
    ``value`` and ``ratio`` are empty where the bound's assumptions failed (``note`` says
    which) or the repetition had diverged; ``ratio`` is empty where ``value <= 0``.
    """
    frames = []
    regret = stats.regret
    for name in names if names is not None else list(BOUNDS):
        bound = get_bound(name)
        if not bound.relevant(info):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.broadcast_to(bound.value(stats, info), regret.shape).astype(float)
        ok = np.ones_like(regret, dtype=bool)
        note = np.full(regret.shape, "", dtype=object)
        for mask, reason in bound.assumptions(stats, info):
            mask = np.broadcast_to(mask, regret.shape)
            note[ok & ~mask] = reason
            ok &= mask
        diverged = stats.diverged
        note[ok & diverged] = "diverged"
        ok &= ~diverged
        shown = np.where(ok, value, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ok & (value > 0), regret / value, np.nan)
        frames.append(pd.DataFrame({
            "learner": np.repeat(np.broadcast_to(learner, (regret.shape[0],)), regret.shape[1]),
            "seed": np.repeat(seeds, regret.shape[1]),
            "t": np.tile(stats.t, regret.shape[0]),
            "bound": name,
            "value": shown.ravel(),
            "regret": regret.ravel(),
            "ratio": ratio.ravel(),
            "applicable": ok.ravel(),
            "violated": (ok & violated(regret, value)).ravel(),
            "note": note.ravel(),
        }))
    columns = ["learner", "seed", "t", "bound", "value", "regret", "ratio", "applicable",
               "violated", "note"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
