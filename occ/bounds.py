"""Regret bounds and the lemmas they rest on, as pure functions of recorded statistics.

Each :class:`Bound` says which learners it concerns (``relevant``), which assumptions it
needs on a given run (``assumptions``: per-repetition, per-checkpoint masks with the
reason shown where one fails), which optional statistics it needs recorded (``needs``),
and its value. Formulas and assumptions are those of THEORY.md section 3. A bound whose
assumptions fail is reported as not applicable, never as a ratio. A violation is
``regret > bound + RELATIVE_TOLERANCE * max(|bound|, |regret|, 1e-12)`` (THEORY.md
section 7): floating-point slack only.

A :class:`Fact` is an inequality between two recorded quantities that a bound relies on
(Fact 2.1, Lemma C.4); facts are checked like bounds, with ``lhs <= rhs``.
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
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fact:
    name: str
    formula: str
    relevant: Callable[[Info], bool]
    lhs: Callable[[Statistics], np.ndarray]
    rhs: Callable[[Statistics], np.ndarray]
    needs: frozenset[str] = frozenset()


# ------------------------------------------------------------------ assumptions
def _all(stats: Statistics) -> np.ndarray:
    return np.ones_like(stats.regret, dtype=bool)


def _exact_projection(stats: Statistics, info: Info) -> list[Mask]:
    if not info.get("mirror_descent"):
        return [(_all(stats) & False,
                 info.get("not_mirror_descent") or "not of mirror-descent form")]
    ok = bool(info.get("projection_exact"))
    return [(_all(stats) & ok, "needs the A_t-norm projection (projection = 'bregman')")]


def _monotone(stats: Statistics, info: Info) -> list[Mask]:
    masks = _exact_projection(stats, info)
    if stats.gamma_min is None:
        return masks
    return masks + [(stats.gamma_min >= -MONOTONE_TOLERANCE,
                     "needs Gamma_t = A_t/eta_t - A_{t-1}/eta_{t-1} >= 0")]


def _constant_precision(stats: Statistics, info: Info) -> list[Mask]:
    masks = _exact_projection(stats, info)
    if stats.gamma_change is None:
        return masks
    return masks + [(stats.gamma_change <= MONOTONE_TOLERANCE, "needs constant A and eta")]


def _at_horizon(stats: Statistics, info: Info) -> list[Mask]:
    return [(_all(stats) & (stats.t[None, :] == stats.T),
             "the hindsight preconditioner is tuned for the horizon T only")]


def _within(distance: Callable[[Statistics], np.ndarray], parameter: str,
            base: Callable[[Statistics, Info], list[Mask]]) -> Callable:
    """The literal forms: the distance parameter must dominate the realized distance."""
    def assumptions(stats: Statistics, info: Info) -> list[Mask]:
        return base(stats, info) + [(_column(info, parameter) >= distance(stats),
                                     f"needs {parameter} >= D")]
    return assumptions


def _and(*parts: Callable[[Statistics, Info], list[Mask]]) -> Callable:
    return lambda stats, info: [m for part in parts for m in part(stats, info)]


# ------------------------------------------------------------------ ingredients
def _column(info: Info, key: str) -> np.ndarray:
    return np.asarray(info[key], dtype=float).reshape(-1, 1)


def _family(*families: str, **conditions: Any) -> Callable[[Info], bool]:
    def relevant(info: Info) -> bool:
        return info.get("family") in families and all(
            info.get(k) in (v if isinstance(v, tuple) else (v,)) for k, v in conditions.items())
    return relevant


def _beta(stats: Statistics, info: Info) -> np.ndarray:
    """``sqrt(beta_i^2 + eps0)`` per coordinate, (R, K, d)."""
    eps0 = np.asarray(info.get("eps0", 0.0), dtype=float).reshape(-1, 1, 1)
    return np.sqrt(stats.coordinate_squares + eps0)


def _root_S(stats: Statistics, info: Info) -> np.ndarray:
    return np.sqrt(stats.S + _column(info, "eps0"))


def _c_effective(info: Info) -> np.ndarray:
    c = np.asarray(info["c_effective"], dtype=float)
    return c.reshape(c.shape[0], 1, c.shape[-1])


def _eq32(stats: Statistics, info: Info) -> np.ndarray:
    """sum_i (delta_i^2 (beta_i + eps)/(2 c_i) + c_i beta_i), c_i = eta c_i (THEORY 3)."""
    c, beta = _c_effective(info), _beta(stats, info)
    eps = np.asarray(info.get("eps", 0.0), dtype=float).reshape(-1, 1, 1)
    return np.sum(stats.delta**2 * (beta + eps) / (2 * c) + c * beta, axis=-1)


def _eq32_literal(stats: Statistics, info: Info) -> np.ndarray:
    c, beta = _c_effective(info), _beta(stats, info)
    eps = np.asarray(info.get("eps", 0.0), dtype=float).reshape(-1, 1, 1)
    return np.sum(c * (3 * beta + eps) / 2, axis=-1)


def _uniform_c(info: Info) -> np.ndarray:
    return _c_effective(info)[:, :, 0]


def _diagonal_uniform(distance: str) -> Callable[[Statistics, Info], np.ndarray]:
    """Section 3.1.1 / (37): ``Dist^2 tr(P_T)/2 + c sum_i beta_i`` (c = eta D0 or eta);
    with eps = 0 this is ``(Dist^2/(2c) + c) sum_i beta_i``."""
    def value(stats: Statistics, info: Info) -> np.ndarray:
        dist = getattr(stats, distance)
        return dist**2 * stats.trace_P / 2 + _uniform_c(info) * np.sum(_beta(stats, info), -1)
    return value


def _eq31(stats: Statistics, info: Info) -> np.ndarray:
    """(20) at the hindsight ``A = diag(a)``: ``sum_i (a_i delta_{1,i}^2 + beta_i^2/a_i)/2``,
    which is ``sum_i |delta_{1,i}| beta_i`` at ``a_i = beta_i/|delta_{1,i}|`` (31)."""
    a = np.asarray(info["A_diagonal"], dtype=float)[:, None, :]
    squares = stats.coordinate_squares
    safe = np.where(a > 0, a, 1.0)
    return np.sum(a * stats.delta1**2 + np.where(a > 0, squares / safe, 0.0), axis=-1) / 2


BOUNDS: dict[str, Bound] = {}
FACTS: dict[str, Fact] = {}


def _register(*items: Bound | Fact) -> None:
    for item in items:
        (BOUNDS if isinstance(item, Bound) else FACTS)[item.name] = item


def _euclidean_family(info: Info) -> bool:
    """(8), (10), (18) in the A-weighted Euclidean family: every learner but the KL ones
    (which have the EG rows), reported as not applicable where not of mirror-descent form."""
    return info.get("geometry") != "kl"


def _eta_nonincreasing(stats: Statistics, info: Info) -> list[Mask]:
    return [(stats.eta_nonincreasing, "needs a non-increasing eta_t")]


def _bounded_gradients(stats: Statistics, info: Info) -> list[Mask]:
    return [(stats.L_inf <= _column(info, "L_inf") * (1 + 1e-12),
             "needs ||g_t||_inf <= L_inf (the a priori bound of the step size)")]


def _constant_preconditioner(info: Info) -> bool:
    return bool(info.get("constant_A"))



_register(
    Bound("eq8", "sum_t (||u-w_t||^2_{A_t} - ||u-w_{t+1}||^2_{A_t})/(2 eta_t) "
          "+ 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _euclidean_family, _exact_projection,
          lambda s, i: s.eq8_first + s.gradient_term),
    Bound("eq10", "1/2 sum_t (w_t-u)^T (A_t/eta_t - A_{t-1}/eta_{t-1}) (w_t-u) "
          "+ 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _euclidean_family, _exact_projection,
          lambda s, i: s.eq10_first + s.gradient_term),
    Bound("eq18", "D^2 tr(A_T)/(2 eta_T) + 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _euclidean_family, _monotone,
          lambda s, i: s.D**2 * s.trace_P / 2 + s.gradient_term),
    Bound("eq19", "D_A^2/(2 eta_T) + 1/2 sum_t eta_t ||g_t||^2_{A^-1}  (constant A)",
          _constant_preconditioner, _monotone,
          lambda s, i: s.DA2 * s.inverse_eta / 2 + s.gradient_term, frozenset({"constant_A"})),
    Bound("eq20", "D_{A,1}^2/(2 eta) + eta/2 sum_t ||g_t||^2_{A^-1}  (constant A and eta)",
          _constant_preconditioner, _constant_precision,
          lambda s, i: s.D1A2 * s.inverse_eta / 2 + s.gradient_term, frozenset({"constant_A"})),
    # OGD, Section 2.1
    Bound("eq22", "D_1^2/(2 eta) + eta/2 L^2 T",
          _family("ogd", step=("constant", "oracle23", "oracle25")), _constant_precision,
          lambda s, i: s.D1**2 / (2 * _column(i, "eta"))
          + _column(i, "eta") / 2 * s.L**2 * s.t[None, :]),
    Bound("eq23", "D_1 L sqrt(T)  (eta = D_1/(L sqrt(T)))",
          _family("ogd", step="oracle23"), _at_horizon,
          lambda s, i: s.D1 * s.L * np.sqrt(s.t[None, :])),
    Bound("eq24", "(D^2/(2c) + c L^2) sqrt(T)  (eta_t = c/sqrt(t))",
          _family("ogd", step="sqrt"), _monotone,
          lambda s, i: (s.D**2 / (2 * _column(i, "c")) + _column(i, "c") * s.L**2)
          * np.sqrt(s.t[None, :])),
    Bound("eq25", "D_1 sqrt(S_T)  (eta = D_1/sqrt(S_T))",
          _family("ogd", step="oracle25"), _at_horizon,
          lambda s, i: s.D1 * np.sqrt(s.S)),
    Bound("eq27", "(D^2/(2 D0) + D0) sqrt(eps0 + S_T)  (eta_t = D0/sqrt(eps0 + S_t))",
          _family("ogd", step="adagrad_norm"), _monotone,
          lambda s, i: (s.D**2 / (2 * _column(i, "D0")) + _column(i, "D0")) * _root_S(s, i)),
    Bound("eq27_literal", "3/2 D0 sqrt(eps0 + S_T)  (needs D0 >= D)",
          _family("ogd", step="adagrad_norm"), _within(lambda s: s.D, "D0", _monotone),
          lambda s, i: 1.5 * _column(i, "D0") * _root_S(s, i)),
    # diagonal AdaGrad, Sections 3.1.1 and 3.3
    Bound("eq32", "sum_i (delta_i^2 (beta_i + eps)/(2 c_i) + c_i beta_i)  (c_i = eta c_i)",
          _family("adagrad_diag"), _monotone, _eq32, frozenset({"coordinates"})),
    Bound("eq32_literal", "sum_i c_i (3 beta_i + eps)/2  (needs c_i >= delta_i)",
          _family("adagrad_diag", scaling="per_coordinate"),
          lambda s, i: _monotone(s, i) + [(np.all(_c_effective(i) >= s.delta, axis=-1),
                                           "needs c_i >= delta_i in every coordinate")],
          _eq32_literal, frozenset({"coordinates"})),
    Bound("sec311", "D^2 tr(A_T)/2 + D0 sum_i beta_i  (= (D^2/(2 D0) + D0) sum beta at eps 0)",
          _family("adagrad_diag", scaling="D0"), _monotone, _diagonal_uniform("D"),
          frozenset({"coordinates"})),
    Bound("sec311_dinf", "Dinf^2 tr(A_T)/2 + D0 sum_i beta_i  (Dinf = max_t ||w_t-u||_inf)",
          _family("adagrad_diag", scaling="D0"), _monotone, _diagonal_uniform("Dinf"),
          frozenset({"coordinates"})),
    Bound("sec311_literal", "D0 (3 sum_i beta_i + d eps)/2  (needs D0 >= D)",
          _family("adagrad_diag", scaling="D0"),
          lambda s, i: _monotone(s, i) + [(_uniform_c(i) >= s.D, "needs D0 >= D")],
          lambda s, i: _uniform_c(i) * (3 * np.sum(_beta(s, i), -1)
                                         + s.d * np.asarray(i.get("eps", 0.0)).reshape(-1, 1))
          / 2, frozenset({"coordinates"})),
    Bound("eq37", "(D^2/(2 eta) + eta) sum_i beta_i  (diagonal AdaGrad, constant eta)",
          _family("adagrad_diag", scaling="none"), _monotone, _diagonal_uniform("D"),
          frozenset({"coordinates"})),
    # full-matrix AdaGrad, Section 3.2.1
    Bound("eq36", "(D^2/(2 D0) + D0) tr(O_T^{1/2})  (A_t = O_t^{1/2}, eta = D0)",
          _family("adagrad_full"), _monotone,
          lambda s, i: s.trace_P * (s.D**2 / 2 + _column(i, "eta") ** 2)),
    Bound("eq36_literal", "3/2 D0 tr(O_T^{1/2})  (needs D0 >= D)",
          _family("adagrad_full"), _within(lambda s: s.D, "eta", _monotone),
          lambda s, i: 1.5 * _column(i, "eta") ** 2 * s.trace_P),
    # hindsight preconditioners, Sections 3.1-3.2
    Bound("eq31", "sum_i |delta_{1,i}| beta_i  (A = diag(beta_i/|delta_{1,i}|), eta = 1)",
          _family("adagrad_oracle", form="eq31"), _and(_exact_projection, _at_horizon),
          _eq31, frozenset({"coordinates"})),
    Bound("eq34", "(D^2/(2 D0) + D0/2) tr(A)  (A = (O_T + eps0 I)^{1/2}, eta = D0)",
          _family("adagrad_oracle", form="eq34"), _and(_monotone, _at_horizon),
          lambda s, i: s.trace_P * (s.D**2 / 2 + _column(i, "eta") ** 2 / 2)),
    Bound("eq34_literal", "D0 tr(A)  (needs D0 >= D)",
          _family("adagrad_oracle", form="eq34"),
          _and(_within(lambda s: s.D, "eta", _monotone), _at_horizon),
          lambda s, i: _column(i, "eta") ** 2 * s.trace_P),
    Bound("eq35", "(D^2/(2 D0) + D0/2) sum_i beta_i  (A = diag(beta_i), eta = D0)",
          _family("adagrad_oracle", form="eq35"), _and(_monotone, _at_horizon),
          lambda s, i: (s.D**2 / (2 * _column(i, "eta")) + _column(i, "eta") / 2)
          * np.sum(np.sqrt(s.coordinate_squares), -1), frozenset({"coordinates"})),
    Bound("eq35_literal", "D0 sum_i beta_i  (needs D0 >= D)",
          _family("adagrad_oracle", form="eq35"),
          _and(_within(lambda s: s.D, "eta", _monotone), _at_horizon),
          lambda s, i: _column(i, "eta") * np.sum(np.sqrt(s.coordinate_squares), -1),
          frozenset({"coordinates"})),
    # exponentiated gradient: (8) with the negative entropy, l1/l_inf (THEORY.md 3)
    Bound("eg_eq8", "sum_t (KL(u,w_t) - KL(u,w_{t+1}))/eta_t + 1/2 sum_t eta_t ||g_t||_inf^2",
          _family("eg"), lambda s, i: [],
          lambda s, i: s.kl_first + s.kl_gradient_term),
    Bound("eg_constant", "KL(u, w_1)/eta + eta/2 sum_t ||g_t||_inf^2  (constant eta)",
          _family("eg", step=("constant", "tuned", "hindsight")), lambda s, i: [],
          lambda s, i: s.kl_start / s.eta + s.eta / 2 * s.S_inf),
    Bound("eg_tuned", "L_inf sqrt(2 T log d)  (eta = sqrt(2 log d/(L_inf^2 T)))",
          _family("eg", step="tuned"), _and(_bounded_gradients, _at_horizon),
          lambda s, i: _column(i, "L_inf") * np.sqrt(2 * s.t[None, :] * i["log_d"])),
    Bound("eg_hindsight", "sqrt(2 log d sum_t ||g_t||_inf^2)  (eta from the realized sum)",
          _family("eg", step="hindsight"), _at_horizon,
          lambda s, i: np.sqrt(2 * i["log_d"] * s.S_inf)),
    Bound("eg_anytime", "max_t KL(u, w_t)/eta_T + 1/2 sum_t eta_t ||g_t||_inf^2",
          _family("eg"), _eta_nonincreasing,
          lambda s, i: s.kl_max / s.eta + s.kl_gradient_term),
    # Shampoo, Section 6 (with the eps start: the learner's own L_T, R_T)
    Bound("shampoo", "D^2 tr(A_T)/(2 eta) + eta r tr(A_T)  (A_T = L_T^{1/4} kron R_T^{1/4}, "
          "r = max_t rank G_t)",
          _family("shampoo", statistics="sum", root="quarter", fresh_roots=True), _monotone,
          lambda s, i: s.trace_P * (s.D**2 / 2 + _column(i, "eta") ** 2 * s.max_rank),
          frozenset({"matrix_rank"})),
    Bound("shampoo_literal", "D0 sqrt(2 r0) tr(L_T^{1/4}) tr(R_T^{1/4})  (eta = D0/sqrt(2 r0), "
          "needs D0 >= D and r0 >= r)",
          lambda i: _family("shampoo", statistics="sum", root="quarter", fresh_roots=True)(i)
          and i.get("eta_is_default", False),
          lambda s, i: _monotone(s, i) + [
              (_column(i, "D0") >= s.D, "needs D0 >= D"),
              (_column(i, "r0") >= s.max_rank, "needs r0 >= max_t rank(G_t)")],
          lambda s, i: _column(i, "D0") * np.sqrt(2 * _column(i, "r0")) * _column(i, "eta")
          * s.trace_P, frozenset({"matrix_rank"})),
    Fact("eq42", "O_t^{1/2} <= sqrt(r) L_t^{1/4} kron R_t^{1/4} = B  (eps start: O_t + r eps I),"
         " as lambda_max(B^{-1/2} O_t^{1/2} B^{-1/2}) <= 1",
         lambda info: _family("shampoo", statistics="sum", root="quarter",
                              fresh_roots=True)(info) and bool(info.get("outer_products")),
         lambda s: s.eq42_ratio, lambda s: np.ones_like(s.eq42_ratio),
         frozenset({"outer", "matrix_rank", "kronecker_42"})),
    # the lemmas
    Fact("fact21_scalar", "sum_t ||g_t||^2 / sqrt(S_t) <= 2 sqrt(S_T)  (Fact 2.1, d = 1)",
         lambda info: bool(info.get("mirror_descent")),
         lambda s: s.fact21_scalar, lambda s: 2 * np.sqrt(s.S)),
    Fact("fact21_matrix", "sum_t g_t^T O_t^{+1/2} g_t <= 2 tr(O_T^{1/2})  (Fact 2.1)",
         lambda info: bool(info.get("outer_products")),
         lambda s: s.fact21_matrix, lambda s: 2 * s.trace_root_O, frozenset({"outer"})),
    Fact("lemma_c4", "tr(O_T^{1/2}) <= sum_i sqrt(sum_t g_{t,i}^2)  (Lemma C.4)",
         lambda info: bool(info.get("outer_products")),
         lambda s: s.trace_root_O, lambda s: s.sum_root_diagonal_O, frozenset({"outer"})),
)


def get_bound(name: str) -> Bound:
    if name not in BOUNDS:
        raise UnknownNameError(f"unknown bound {name!r}; allowed: {', '.join(BOUNDS)}")
    return BOUNDS[name]


def needed_statistics(info: Info, names: list[str] | None = None) -> frozenset[str]:
    """The optional statistics the bounds and facts relevant to a learner need; with an
    explicitly empty list of bounds, ``{"regret_only"}``: no bound ingredient at all."""
    if names is not None and len(names) == 0:
        return frozenset({"regret_only"})
    chosen = [get_bound(n) for n in names] if names is not None else list(BOUNDS.values())
    items = [b for b in chosen if b.relevant(info)] + [
        f for f in FACTS.values() if f.relevant(info)]
    needs = frozenset().union(*(item.needs for item in items)) if items else frozenset()
    return needs | ({"constant_A"} if info.get("constant_A") else frozenset())


def violated(regret: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Where ``regret`` exceeds ``value`` beyond floating-point slack."""
    scale = np.maximum(np.maximum(np.abs(value), np.abs(regret)), 1e-12)
    return regret > value + RELATIVE_TOLERANCE * scale


def _rows(stats: Statistics, learner: Any, seeds: np.ndarray, name: str, **columns: Any
          ) -> pd.DataFrame:
    R, K = stats.regret.shape
    frame = {"learner": np.repeat(np.broadcast_to(learner, (R,)), K),
             "seed": np.repeat(seeds, K), "t": np.tile(stats.t, R)}
    frame.update({k: (v.ravel() if isinstance(v, np.ndarray) else v)
                  for k, v in columns.items()})
    frame["bound"] = name
    return pd.DataFrame(frame)


BOUND_COLUMNS = ["learner", "seed", "t", "bound", "value", "regret", "ratio", "applicable",
                 "violated", "note"]
FACT_COLUMNS = ["learner", "seed", "t", "fact", "lhs", "rhs", "ratio", "holds"]


def evaluate(
    stats: Statistics,
    info: Info,
    learner: str | np.ndarray,
    seeds: np.ndarray,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """One row per (bound, seed, checkpoint) for every bound relevant to the learner.

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
        ok = np.ones_like(regret, dtype=bool)
        note = np.full(regret.shape, "", dtype=object)
        for mask, reason in bound.assumptions(stats, info):
            mask = np.broadcast_to(mask, regret.shape)
            note[ok & ~mask] = reason
            ok &= mask
        if ok.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.broadcast_to(bound.value(stats, info), regret.shape).astype(float)
        else:
            value = np.full(regret.shape, np.nan)
        diverged = stats.diverged
        note[ok & diverged] = "diverged"
        ok &= ~diverged
        infinite = ok & ~np.isfinite(value)
        note[infinite] = "not finite (a step with eta_t = 0 or A_t singular)"
        ok &= ~infinite
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ok & (value > 0), regret / value, np.nan)
        frames.append(_rows(stats, learner, seeds, name, value=np.where(ok, value, np.nan),
                            regret=regret, ratio=ratio, applicable=ok,
                            violated=ok & violated(regret, value), note=note))
    if not frames:
        return pd.DataFrame(columns=BOUND_COLUMNS)
    return pd.concat(frames, ignore_index=True)[BOUND_COLUMNS]


def evaluate_facts(stats: Statistics, info: Info, learner: str | np.ndarray,
                   seeds: np.ndarray) -> pd.DataFrame:
    """One row per (fact, seed, checkpoint): ``lhs``, ``rhs``, ``ratio``, ``holds``."""
    frames = []
    for fact in FACTS.values():
        if not fact.relevant(info):
            continue
        lhs, rhs = fact.lhs(stats), fact.rhs(stats)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(rhs > 0, lhs / rhs, np.nan)
        frame = _rows(stats, learner, seeds, fact.name, lhs=lhs, rhs=rhs, ratio=ratio,
                      holds=~violated(lhs, rhs) | stats.diverged)
        frames.append(frame.rename(columns={"bound": "fact"}))
    if not frames:
        return pd.DataFrame(columns=FACT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FACT_COLUMNS]
