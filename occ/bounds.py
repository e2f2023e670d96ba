"""Regret bounds and the lemmas they rest on, as pure functions of recorded statistics.

Each :class:`Bound` says which learners it concerns (``relevant``: read from the learner's
:class:`~occ.learners.facts.LearnerFacts`, its geometry or the bounds it claims), which
assumptions it needs on a given run (``assumptions``: per-repetition, per-checkpoint
masks with the reason shown where one fails), which optional statistics it needs
recorded (``needs``), and its value. Formulas and assumptions are those of THEORY.md
section 3. A bound whose assumptions fail is reported as not applicable, never as a
ratio.

A violation is ``regret - bound > error_budget``, where the budget is the floating-point
error of both numbers compared (:mod:`occ.roundoff`): ``gamma_n`` times the magnitudes
recorded beside them (the losses' and the comparator's terms; the terms of (8) or (10)
and of the per-step identity behind every bound of the mirror-descent family; the
bound's own value) plus what the distances' round-off carries into the bound. It is
recorded in bounds.csv (``error_budget``); nothing else loosens a verdict.

A :class:`Fact` is an inequality between two recorded quantities that a bound relies on
(Fact 2.1, Lemma C.4, (42)); facts are checked like bounds, with ``lhs <= rhs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from occ.errors import UnknownNameError
from occ.learners.facts import LearnerFacts
from occ.roundoff import gamma, operations
from occ.statistics import Recording, Statistics

Facts = LearnerFacts
Mask = tuple[np.ndarray, str]
Identity = Literal["eq8", "eq10", "kl"]


@dataclass(frozen=True)
class Bound:
    """A regret bound. ``identity`` names the recorded sum its proof telescopes from
    (``"eq8"``: (8) itself; ``"eq10"``: (10) and every bound derived from it; ``"kl"``: the
    entropy geometry), whose magnitude enters the error budget."""

    name: str
    formula: str
    relevant: Callable[[Facts], bool]
    assumptions: Callable[[Statistics, Facts], list[Mask]]
    value: Callable[[Statistics, Facts], np.ndarray]
    needs: Recording = Recording()
    identity: Identity = "eq10"


@dataclass(frozen=True)
class Fact:
    name: str
    formula: str
    relevant: Callable[[Facts], bool]
    lhs: Callable[[Statistics], np.ndarray]
    rhs: Callable[[Statistics], np.ndarray]
    needs: Recording = Recording()


# ------------------------------------------------------------------ assumptions
def _all(stats: Statistics) -> np.ndarray:
    return np.ones_like(stats.regret, dtype=bool)


def _exact_projection(stats: Statistics, facts: Facts) -> list[Mask]:
    if not facts.mirror_descent:
        return [(_all(stats) & False, facts.not_mirror_descent
                 or "not applicable: the learner declares no geometry")]
    return [(_all(stats) & facts.projection_exact,
             "needs the A_t-norm projection (projection = 'bregman')")]


def _monotone(stats: Statistics, facts: Facts) -> list[Mask]:
    """``Gamma_t >= 0``: declared by the learner, or measured within the round-off of its
    preconditioner's decomposition (``monotone_slack``)."""
    masks = _exact_projection(stats, facts)
    if facts.monotone == "by_construction" or stats.monotone_slack is None:
        return masks
    return masks + [(stats.monotone_slack >= 0,
                     "needs Gamma_t = A_t/eta_t - A_{t-1}/eta_{t-1} >= 0")]


def _constant_precision(stats: Statistics, facts: Facts) -> list[Mask]:
    """A constant ``P_t = A/eta``: every step's precision equal to the last, exactly (the
    learner hands the same arrays back; a change of any size is a changing step)."""
    masks = _exact_projection(stats, facts)
    if stats.gamma_change is None:
        return masks
    return masks + [(stats.gamma_change <= 0.0, "needs constant A and eta")]


def _constant_preconditioner(facts: Facts) -> bool:
    return facts.constant_preconditioner


def _at_horizon(stats: Statistics, facts: Facts) -> list[Mask]:
    return [(_all(stats) & (stats.t[None, :] == stats.T),
             "the hindsight preconditioner is tuned for the horizon T only")]


def _within(distance: Callable[[Statistics], np.ndarray], parameter: str,
            base: Callable[[Statistics, Facts], list[Mask]]) -> Callable:
    """The literal forms: the distance parameter must dominate the realized distance."""
    def assumptions(stats: Statistics, facts: Facts) -> list[Mask]:
        return base(stats, facts) + [(_column(getattr(facts.parameters, parameter))
                                      >= distance(stats), f"needs {parameter} >= D")]
    return assumptions


def _and(*parts: Callable[[Statistics, Facts], list[Mask]]) -> Callable:
    return lambda stats, facts: [m for part in parts for m in part(stats, facts)]


# ------------------------------------------------------------------ ingredients
def _column(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=float).reshape(-1, 1)


def _claimed(name: str) -> Callable[[Facts], bool]:
    """A learner-specific bound: relevant where the learner's declaration claims it."""
    return lambda facts: name in facts.claims


def _beta(stats: Statistics, facts: Facts) -> np.ndarray:
    """``sqrt(beta_i^2 + eps0)`` per coordinate, (R, K, d)."""
    eps0 = np.asarray(facts.parameters.eps0 or 0.0, dtype=float).reshape(-1, 1, 1)
    return np.sqrt(stats.coordinate_squares + eps0)


def _root_S(stats: Statistics, facts: Facts) -> np.ndarray:
    return np.sqrt(stats.S + _column(facts.parameters.eps0))


def _c_effective(facts: Facts) -> np.ndarray:
    c = np.asarray(facts.parameters.c_effective, dtype=float)
    return c.reshape(c.shape[0], 1, c.shape[-1])


def _eps(facts: Facts) -> np.ndarray:
    return np.asarray(facts.parameters.eps or 0.0, dtype=float)


def _eq32(stats: Statistics, facts: Facts) -> np.ndarray:
    """sum_i (delta_i^2 (beta_i + eps)/(2 c_i) + c_i beta_i), c_i = eta c_i (THEORY 3)."""
    c, beta = _c_effective(facts), _beta(stats, facts)
    eps = _eps(facts).reshape(-1, 1, 1)
    return np.sum(stats.delta**2 * (beta + eps) / (2 * c) + c * beta, axis=-1)


def _eq32_literal(stats: Statistics, facts: Facts) -> np.ndarray:
    c, beta = _c_effective(facts), _beta(stats, facts)
    eps = _eps(facts).reshape(-1, 1, 1)
    return np.sum(c * (3 * beta + eps) / 2, axis=-1)


def _uniform_c(facts: Facts) -> np.ndarray:
    return _c_effective(facts)[:, :, 0]


def _diagonal_uniform(distance: str) -> Callable[[Statistics, Facts], np.ndarray]:
    """Section 3.1.1 / (37): ``Dist^2 tr(P_T)/2 + c sum_i beta_i`` (c = eta D0 or eta);
    with eps = 0 this is ``(Dist^2/(2c) + c) sum_i beta_i``."""
    def value(stats: Statistics, facts: Facts) -> np.ndarray:
        dist = getattr(stats, distance)
        return dist**2 * stats.trace_P / 2 + _uniform_c(facts) * np.sum(_beta(stats, facts), -1)
    return value


def _eq31(stats: Statistics, facts: Facts) -> np.ndarray:
    """(20) at the hindsight ``A = diag(a)``: ``sum_i (a_i delta_{1,i}^2 + beta_i^2/a_i)/2``,
    which is ``sum_i |delta_{1,i}| beta_i`` at ``a_i = beta_i/|delta_{1,i}|`` (31)."""
    a = np.asarray(facts.parameters.A_diagonal, dtype=float)[:, None, :]
    squares = stats.coordinate_squares
    safe = np.where(a > 0, a, 1.0)
    return np.sum(a * stats.delta1**2 + np.where(a > 0, squares / safe, 0.0), axis=-1) / 2


def _euclidean_family(facts: Facts) -> bool:
    """(8), (10), (18) in the A-weighted Euclidean family: every learner but the KL ones
    (which have the EG rows), reported as not applicable where it declares no geometry."""
    return facts.geometry != "kl"


def _eta_nonincreasing(stats: Statistics, facts: Facts) -> list[Mask]:
    return [(stats.eta_nonincreasing, "needs a non-increasing eta_t")]


def _bounded_gradients(stats: Statistics, facts: Facts) -> list[Mask]:
    L_inf = _column(facts.parameters.L_inf)
    return [(stats.L_inf <= L_inf + gamma(1) * L_inf,
             "needs ||g_t||_inf <= L_inf (the a priori bound of the step size)")]


def _ons_gamma(facts: Facts) -> float:
    return 1.0 / float(facts.parameters.eta)  # ONS's precision is gamma A_t: eta = 1/gamma


def _exp_concave(stats: Statistics, facts: Facts, alpha: float) -> list[Mask]:
    """The losses are alpha-exp-concave, as the loss family declares (none: not)."""
    declared = stats.exp_concavity
    return [(_all(stats) & (declared is not None and declared >= alpha),
             f"needs {alpha:g}-exp-concave losses (the loss family declares "
             f"{'none' if declared is None else f'{declared:g}'})")]


def _ons_lemma3(stats: Statistics, facts: Facts) -> list[Mask]:
    """Lemma 3 of Hazan, Agarwal, Kale (2007): ``2 gamma <= alpha`` and
    ``2 gamma |g_t^T (w_t - u)| <= 1/4``, measured through ``2 gamma L D <= 1/4``."""
    gamma = _ons_gamma(facts)
    return _exact_projection(stats, facts) + _exp_concave(stats, facts, 2 * gamma) + [
        (2 * gamma * stats.L * stats.D <= 0.25,
         "needs 2 gamma |g_t^T (w_t - u)| <= 1/4 (measured as 2 gamma L D <= 1/4)")]


def _ons_theorem(stats: Statistics, facts: Facts) -> list[Mask]:
    p = facts.parameters
    return _ons_lemma3(stats, facts) + _exp_concave(stats, facts, float(p.alpha)) + [
        (np.asarray(stats.L) <= p.G * (1 + gamma(1)), "needs ||g_t||_2 <= G (the a priori bound)"),
        (_all(stats) & (stats.d * np.log(stats.t[None, :]) >= 4),
         "Theorem 2's last step needs d log T >= 4")]


def _ons_start(stats: Statistics, facts: Facts) -> np.ndarray:
    """``gamma eps/2 ||w_1 - u||^2``, the A_0 term."""
    return _ons_gamma(facts) * float(facts.parameters.eps) / 2 * stats.D1**2


def _portfolio_game(stats: Statistics, facts: Facts) -> list[Mask]:
    """Cover's bound is for the log-wealth loss against the best CRP."""
    return [(_all(stats) & (stats.loss == "log_wealth"),
             f"needs the portfolio game (log-wealth losses), got {stats.loss or 'unknown'}")]


# ------------------------------------------------------------------ issue 17 learners
def _coins_bounded(stats: Statistics, facts: Facts) -> list[Mask]:
    """A bettor's coins ``g_t/G`` lie in the unit ball (``||g_t||_2 <= G``)."""
    G = _column(facts.parameters.G_bound)
    return [(G * (1 + gamma(1)) >= stats.L,
             "needs ||g_t||_2 <= G (the bettor's coins g_t/G in the unit ball)")]


def _kt_one_dimensional(a: np.ndarray, eps: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Orabona and Pal (2016), Corollary 5: ``eps + a sqrt(T ln(1 + 24 T^2 a^2/eps^2))``."""
    return eps + a * np.sqrt(T * np.log1p(24.0 * T**2 * a**2 / eps**2))


def _kt(form: str) -> Callable[[Statistics, Facts], np.ndarray]:
    def value(stats: Statistics, facts: Facts) -> np.ndarray:
        p = facts.parameters
        G, eps = _column(p.G_bound), _column(p.eps)
        T = stats.t[None, :].astype(float)
        if form == "coordinate":
            inner = np.sum(_kt_one_dimensional(stats.delta1, eps[:, :, None], T[:, :, None]),
                           axis=-1)
        else:
            inner = _kt_one_dimensional(stats.D1, eps, T)
        bound = G * inner
        if form == "reduction":  # the direction's OGD on the unit ball, (27) with D = 2
            bound = bound + 2 * np.sqrt(2.0) * stats.D1 * np.sqrt(stats.S)
        return float(p.reduction_factor) * bound
    return value


def _adahedge(stats: Statistics, facts: Facts) -> np.ndarray:
    """de Rooij et al. (2014), Theorem 8."""
    low, high, best = stats.loss_low_sum, stats.loss_high_sum, stats.comparator_loss
    S, log_k = stats.loss_range, float(facts.parameters.log_d)
    spread = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = np.where(spread > 0, np.maximum(best - low, 0.0) * np.maximum(high - best, 0.0)
                          / np.where(spread > 0, spread, 1.0), 0.0)
    return 2 * np.sqrt(S * middle * log_k) + S * (16.0 / 3.0 * log_k + 2.0)


def _linear_experts(stats: Statistics, facts: Facts) -> list[Mask]:
    """Theorem 8's L* is the best expert's loss: the comparator of linear losses."""
    return [(_all(stats) & (stats.loss == "linear"),
             f"needs linear losses (the experts' losses g_t), got {stats.loss or 'unknown'}")]


VARIATION = Recording(gradient_variation=True)
RANGES = Recording(loss_ranges=True)


BOUNDS: dict[str, Bound] = {}
FACTS: dict[str, Fact] = {}


def _register(*items: Bound | Fact) -> None:
    for item in items:
        (BOUNDS if isinstance(item, Bound) else FACTS)[item.name] = item


COORDINATES = Recording(coordinates=True)
CONSTANT_A = Recording(constant_preconditioner=True)
RANK = Recording(matrix_rank=True)
OUTER = Recording(outer_products=True)


_register(
    Bound("eq8", "sum_t (||u-w_t||^2_{A_t} - ||u-w_{t+1}||^2_{A_t})/(2 eta_t) "
          "+ 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _euclidean_family, _exact_projection,
          lambda s, f: s.eq8_first + s.gradient_term, identity="eq8"),
    Bound("eq10", "1/2 sum_t (w_t-u)^T (A_t/eta_t - A_{t-1}/eta_{t-1}) (w_t-u) "
          "+ 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _euclidean_family, _exact_projection,
          lambda s, f: s.eq10_first + s.gradient_term),
    Bound("eq18", "D^2 tr(A_T)/(2 eta_T) + 1/2 sum_t eta_t ||g_t||^2_{A_t^-1}",
          _euclidean_family, _monotone,
          lambda s, f: s.D**2 * s.trace_P / 2 + s.gradient_term),
    Bound("eq19", "D_A^2/(2 eta_T) + 1/2 sum_t eta_t ||g_t||^2_{A^-1}  (constant A, "
          "eta_t non-increasing)",
          _constant_preconditioner, _monotone,
          lambda s, f: s.DA2 * s.inverse_eta / 2 + s.gradient_term, CONSTANT_A),
    Bound("eq20", "D_{A,1}^2/(2 eta) + eta/2 sum_t ||g_t||^2_{A^-1}  (constant A and eta)",
          _constant_preconditioner, _constant_precision,
          lambda s, f: s.D1A2 * s.inverse_eta / 2 + s.gradient_term, CONSTANT_A),
    # OGD, Section 2.1
    Bound("eq22", "D_1^2/(2 eta) + eta/2 L^2 T",
          _claimed("eq22"), _exact_projection,
          lambda s, f: s.D1**2 / (2 * _column(f.parameters.eta))
          + _column(f.parameters.eta) / 2 * s.L**2 * s.t[None, :]),
    Bound("eq23", "D_1 L sqrt(T)  (eta = D_1/(L sqrt(T)))",
          _claimed("eq23"), _at_horizon,
          lambda s, f: s.D1 * s.L * np.sqrt(s.t[None, :])),
    Bound("eq24", "(D^2/(2c) + c L^2) sqrt(T)  (eta_t = c/sqrt(t))",
          _claimed("eq24"), _monotone,
          lambda s, f: (s.D**2 / (2 * _column(f.parameters.c)) + _column(f.parameters.c)
                        * s.L**2) * np.sqrt(s.t[None, :])),
    Bound("eq25", "D_1 sqrt(S_T)  (eta = D_1/sqrt(S_T))",
          _claimed("eq25"), _at_horizon,
          lambda s, f: s.D1 * np.sqrt(s.S)),
    Bound("eq27", "(D^2/(2 D0) + D0) sqrt(eps0 + S_T)  (eta_t = D0/sqrt(eps0 + S_t))",
          _claimed("eq27"), _monotone,
          lambda s, f: (s.D**2 / (2 * _column(f.parameters.D0)) + _column(f.parameters.D0))
          * _root_S(s, f)),
    Bound("eq27_literal", "3/2 D0 sqrt(eps0 + S_T)  (needs D0 >= D)",
          _claimed("eq27_literal"), _within(lambda s: s.D, "D0", _monotone),
          lambda s, f: 1.5 * _column(f.parameters.D0) * _root_S(s, f)),
    # diagonal AdaGrad, Sections 3.1.1 and 3.3
    Bound("eq32", "sum_i (delta_i^2 (beta_i + eps)/(2 c_i) + c_i beta_i)  (c_i = eta c_i)",
          _claimed("eq32"), _monotone, _eq32, COORDINATES),
    Bound("eq32_literal", "sum_i c_i (3 beta_i + eps)/2  (needs c_i >= delta_i)",
          _claimed("eq32_literal"),
          lambda s, f: _monotone(s, f) + [(np.all(_c_effective(f) >= s.delta, axis=-1),
                                           "needs c_i >= delta_i in every coordinate")],
          _eq32_literal, COORDINATES),
    Bound("sec311", "D^2 tr(A_T)/2 + D0 sum_i beta_i  (= (D^2/(2 D0) + D0) sum beta at eps 0)",
          _claimed("sec311"), _monotone, _diagonal_uniform("D"), COORDINATES),
    Bound("sec311_dinf", "Dinf^2 tr(A_T)/2 + D0 sum_i beta_i  (Dinf = max_t ||w_t-u||_inf)",
          _claimed("sec311_dinf"), _monotone, _diagonal_uniform("Dinf"), COORDINATES),
    Bound("sec311_literal", "D0 (3 sum_i beta_i + d eps)/2  (needs D0 >= D)",
          _claimed("sec311_literal"),
          lambda s, f: _monotone(s, f) + [(_uniform_c(f) >= s.D, "needs D0 >= D")],
          lambda s, f: _uniform_c(f) * (3 * np.sum(_beta(s, f), -1)
                                         + s.d * _eps(f).reshape(-1, 1)) / 2, COORDINATES),
    Bound("eq37", "(D^2/(2 eta) + eta) sum_i beta_i  (diagonal AdaGrad, constant eta)",
          _claimed("eq37"), _monotone, _diagonal_uniform("D"), COORDINATES),
    # full-matrix AdaGrad, Section 3.2.1
    Bound("eq36", "(D^2/(2 D0) + D0) tr(O_T^{1/2})  (A_t = O_t^{1/2}, eta = D0)",
          _claimed("eq36"), _monotone,
          lambda s, f: s.trace_P * (s.D**2 / 2 + _column(f.parameters.eta) ** 2)),
    Bound("eq36_literal", "3/2 D0 tr(O_T^{1/2})  (needs D0 >= D)",
          _claimed("eq36_literal"), _within(lambda s: s.D, "eta", _monotone),
          lambda s, f: 1.5 * _column(f.parameters.eta) ** 2 * s.trace_P),
    # hindsight preconditioners, Sections 3.1-3.2
    Bound("eq31", "sum_i |delta_{1,i}| beta_i  (A = diag(beta_i/|delta_{1,i}|), eta = 1)",
          _claimed("eq31"), _and(_exact_projection, _at_horizon), _eq31, COORDINATES),
    Bound("eq34", "(D^2/(2 D0) + D0/2) tr(A)  (A = (O_T + eps0 I)^{1/2}, eta = D0)",
          _claimed("eq34"), _and(_monotone, _at_horizon),
          lambda s, f: s.trace_P * (s.D**2 / 2 + _column(f.parameters.eta) ** 2 / 2)),
    Bound("eq34_literal", "D0 tr(A)  (needs D0 >= D)",
          _claimed("eq34_literal"),
          _and(_within(lambda s: s.D, "eta", _monotone), _at_horizon),
          lambda s, f: _column(f.parameters.eta) ** 2 * s.trace_P),
    Bound("eq35", "(D^2/(2 D0) + D0/2) sum_i beta_i  (A = diag(beta_i), eta = D0)",
          _claimed("eq35"), _and(_monotone, _at_horizon),
          lambda s, f: (s.D**2 / (2 * _column(f.parameters.eta)) + _column(f.parameters.eta)
                        / 2) * np.sum(np.sqrt(s.coordinate_squares), -1), COORDINATES),
    Bound("eq35_literal", "D0 sum_i beta_i  (needs D0 >= D)",
          _claimed("eq35_literal"),
          _and(_within(lambda s: s.D, "eta", _monotone), _at_horizon),
          lambda s, f: _column(f.parameters.eta) * np.sum(np.sqrt(s.coordinate_squares), -1),
          COORDINATES),
    # exponentiated gradient: (8) with the negative entropy, l1/l_inf (THEORY.md 3)
    Bound("eg_eq8", "sum_t (KL(u,w_t) - KL(u,w_{t+1}))/eta_t + 1/2 sum_t eta_t ||g_t||_inf^2",
          _claimed("eg_eq8"), lambda s, f: [],
          lambda s, f: s.kl_first + s.kl_gradient_term, identity="kl"),
    Bound("eg_constant", "KL(u, w_1)/eta + eta/2 sum_t ||g_t||_inf^2  (constant eta)",
          _claimed("eg_constant"), lambda s, f: [],
          lambda s, f: s.kl_start / s.eta + s.eta / 2 * s.S_inf, identity="kl"),
    Bound("eg_tuned", "L_inf sqrt(2 T log d)  (eta = sqrt(2 log d/(L_inf^2 T)))",
          _claimed("eg_tuned"), _and(_bounded_gradients, _at_horizon),
          lambda s, f: _column(f.parameters.L_inf) * np.sqrt(2 * s.t[None, :]
                                                             * f.parameters.log_d),
          identity="kl"),
    Bound("eg_hindsight", "sqrt(2 log d sum_t ||g_t||_inf^2)  (eta from the realized sum)",
          _claimed("eg_hindsight"), _at_horizon,
          lambda s, f: np.sqrt(2 * f.parameters.log_d * s.S_inf), identity="kl"),
    Bound("eg_anytime", "max_t KL(u, w_t)/eta_T + 1/2 sum_t eta_t ||g_t||_inf^2",
          _claimed("eg_anytime"), _eta_nonincreasing,
          lambda s, f: s.kl_max / s.eta + s.kl_gradient_term, identity="kl"),
    # Online Newton Step (Hazan, Agarwal, Kale 2007, proof of Theorem 2)
    Bound("ons", "1/(2 gamma) sum_t g_t^T A_t^-1 g_t + gamma eps/2 ||w_1 - u||^2  "
          "(alpha-exp-concave losses, 2 gamma <= alpha, 2 gamma L D <= 1/4)",
          _claimed("ons"), _ons_lemma3,
          lambda s, f: s.gradient_term + _ons_start(s, f)),
    Bound("ons_log", "d/(2 gamma) log(1 + S_T/(d eps)) + gamma eps/2 ||w_1 - u||^2  "
          "(log det(A_T/A_0) <= d log(1 + S_T/(d eps)))",
          _claimed("ons_log"), _ons_lemma3,
          lambda s, f: s.d / (2 * _ons_gamma(f)) * np.log1p(
              s.S / (s.d * float(f.parameters.eps))) + _ons_start(s, f)),
    Bound("ons_theorem", "5 (1/alpha + G D) d log T  (gamma = 1/2 min(1/(4 G D), alpha), "
          "eps = 1/(gamma^2 D^2), ||g_t|| <= G)",
          _claimed("ons_theorem"), _ons_theorem,
          lambda s, f: 5 * (1 / float(f.parameters.alpha) + float(f.parameters.G)
                            * float(f.parameters.D)) * s.d * np.log(s.t[None, :])),
    # parameter-free and classical online learners (issue 17)
    Bound("kt_coordinate", "c sum_i G (eps + |u_i - w_1i| sqrt(T ln(1 + 24 T^2 (u_i - w_1i)^2"
          "/eps^2)))  (KT per coordinate; Orabona-Pal 2016 Cor. 5; c = 2 on a bounded V)",
          _claimed("kt_coordinate"), _coins_bounded, _kt("coordinate"), COORDINATES),
    Bound("kt_hilbert", "c G (eps + D_1 sqrt(T ln(1 + 24 T^2 D_1^2/eps^2)))  (Orabona-Pal 2016 "
          "Cor. 5, D_1 = ||u - w_1||; c = 2 on a bounded V)",
          _claimed("kt_hilbert"), _coins_bounded, _kt("hilbert")),
    Bound("kt_reduction", "c (G (eps + D_1 sqrt(T ln(1 + 24 T^2 D_1^2/eps^2))) + 2 sqrt(2) D_1 "
          "sqrt(S_T))  (Cutkosky-Orabona 2018 Thm 2 with (27) on the unit ball; c = 2 on a "
          "bounded V, Thm 3)",
          _claimed("kt_reduction"), _coins_bounded, _kt("reduction")),
    Bound("ftrl", "D_1^2/(2 eta) + eta/2 S_T  (FTRL, ||w - w_1||^2/(2 eta); Orabona Cor. 7.9)",
          _claimed("ftrl"), lambda s, f: [],
          lambda s, f: s.D1**2 / (2 * _column(f.parameters.eta))
          + _column(f.parameters.eta) / 2 * s.S),
    Bound("ftrl_sqrt", "(D_1^2/(2c) + c L^2) sqrt(T)  (FTRL, a_t = c/sqrt(t); Orabona Cor. 7.9)",
          _claimed("ftrl_sqrt"), lambda s, f: [],
          lambda s, f: (s.D1**2 / (2 * _column(f.parameters.c)) + _column(f.parameters.c)
                        * s.L**2) * np.sqrt(s.t[None, :])),
    Bound("optimistic", "D_1^2/(2 eta) + eta/2 sum_t ||g_t - m_t||^2  (optimistic OGD, "
          "m_1 = 0, m_t = g_{t-1} or the learner's fixed hint; Rakhlin-Sridharan 2013 Lemma 1)",
          _claimed("optimistic"), lambda s, f: [],
          lambda s, f: s.D1**2 / (2 * _column(f.parameters.eta))
          + _column(f.parameters.eta) / 2 * s.gradient_variation, VARIATION),
    Bound("adahedge", "2 sqrt(S (L* - L^-)(L^+ - L*)/(L^+ - L^-) ln K) + S (16/3 ln K + 2)  "
          "(AdaHedge; de Rooij et al. 2014 Thm 8)",
          _claimed("adahedge"), _linear_experts, _adahedge, RANGES),
    # Cover's universal portfolio, uniform prior (Cover & Ordentlich 1996)
    Bound("up_cover", "(d - 1) log(T + 1)  (the exact uniform-prior mixture of CRPs)",
          _claimed("up_cover"), _portfolio_game,
          lambda s, f: (s.d - 1) * np.log(s.t[None, :] + 1.0) + 0 * s.regret),
    # Shampoo, Section 6 (with the eps start: the learner's own L_T, R_T)
    Bound("shampoo", "D^2 tr(A_T)/(2 eta) + eta r tr(A_T)  (A_T = L_T^{1/4} kron R_T^{1/4}, "
          "r = max_t rank G_t)",
          _claimed("shampoo"), _monotone,
          lambda s, f: s.trace_P * (s.D**2 / 2 + _column(f.parameters.eta) ** 2 * s.max_rank),
          RANK),
    Bound("shampoo_literal", "D0 sqrt(2 r0) tr(L_T^{1/4}) tr(R_T^{1/4})  (eta = D0/sqrt(2 r0), "
          "needs D0 >= D and r0 >= r)",
          _claimed("shampoo_literal"),
          lambda s, f: _monotone(s, f) + [
              (_column(f.parameters.D0) >= s.D, "needs D0 >= D"),
              (_column(f.parameters.r0) >= s.max_rank, "needs r0 >= max_t rank(G_t)")],
          lambda s, f: _column(f.parameters.D0) * np.sqrt(2 * _column(f.parameters.r0))
          * _column(f.parameters.eta) * s.trace_P, RANK),
    Fact("eq42", "O_t^{1/2} <= sqrt(r) L_t^{1/4} kron R_t^{1/4} = B  (eps start: O_t + r eps I),"
         " as lambda_max(B^{-1/2} O_t^{1/2} B^{-1/2}) <= 1",
         _claimed("eq42"), lambda s: s.eq42_ratio, lambda s: np.ones_like(s.eq42_ratio),
         Recording(outer_products=True, matrix_rank=True, kronecker_42=True)),
    # the lemmas
    Fact("fact21_scalar", "sum_t ||g_t||^2 / sqrt(S_t) <= 2 sqrt(S_T)  (Fact 2.1, d = 1)",
         lambda facts: facts.euclidean,
         lambda s: s.fact21_scalar, lambda s: 2 * np.sqrt(s.S)),
    Fact("fact21_matrix", "sum_t g_t^T O_t^{+1/2} g_t <= 2 tr(O_T^{1/2})  (Fact 2.1)",
         _claimed("fact21_matrix"),
         lambda s: s.fact21_matrix, lambda s: 2 * s.trace_root_O, OUTER),
    Fact("lemma_c4", "tr(O_T^{1/2}) <= sum_i sqrt(sum_t g_{t,i}^2)  (Lemma C.4)",
         _claimed("lemma_c4"),
         lambda s: s.trace_root_O, lambda s: s.sum_root_diagonal_O, OUTER),
)


def get_bound(name: str) -> Bound:
    if name not in BOUNDS:
        raise UnknownNameError(f"unknown bound {name!r}; allowed: {', '.join(BOUNDS)}")
    return BOUNDS[name]


def recording_for(facts: Facts, names: list[str] | None = None) -> Recording:
    """The optional statistics the bounds and facts relevant to a learner need; with an
    explicitly empty list of bounds, regret only: no bound ingredient at all."""
    if names is not None and len(names) == 0:
        return Recording(regret_only=True)
    chosen = [get_bound(n) for n in names] if names is not None else list(BOUNDS.values())
    items = [b for b in chosen if b.relevant(facts)] + [
        f for f in FACTS.values() if f.relevant(facts)]
    recording = Recording(constant_preconditioner=facts.constant_preconditioner)
    for item in items:
        recording = recording | item.needs
    return recording


def regret_error(stats: Statistics) -> np.ndarray:
    """(R, K) bound on the rounding error of the computed regret: the losses' sum and the
    comparator's (recorded by the harness)."""
    g = gamma(operations_at(stats))
    error = g * stats.loss_magnitude if stats.loss_magnitude is not None else 0.0
    if stats.comparator_error is not None:
        error = error + stats.comparator_error
    return np.broadcast_to(error, stats.regret.shape)


def operations_at(stats: Statistics) -> np.ndarray:
    """(1, K) the operation counts ``operations(t, d)`` of every checkpoint."""
    return np.asarray([operations(int(t), stats.d) for t in stats.t])[None, :]


def bound_error(bound: Bound, stats: Statistics, facts: Facts, value: np.ndarray) -> np.ndarray:
    """(R, K) bound on the error of a computed bound value *as a bound on the regret*: the
    rounding of its own terms, of the sum behind its proof ((8), (10) or the entropy
    identity, with the per-step identity's inputs), and what the distances' round-off
    carries into it (:meth:`Statistics.with_distances_inflated`)."""
    g = gamma(operations_at(stats))
    magnitude = {"eq8": stats.eq8_magnitude, "eq10": stats.eq10_magnitude,
                 "kl": stats.kl_magnitude}[bound.identity]
    if magnitude is None:
        magnitude = 0.0
    own = np.abs(value) if bound.identity != "eq8" else 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grown = np.broadcast_to(bound.value(stats.with_distances_inflated(), facts),
                                value.shape)
        carried = np.where(np.isfinite(grown), np.abs(grown - value), 0.0)
    return g * (magnitude + own) + carried


def violated(regret: np.ndarray, value: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Where ``regret`` exceeds ``value`` by more than the error budget of the two."""
    with np.errstate(invalid="ignore", over="ignore"):
        return regret - value > budget


def _rows(stats: Statistics, learner: Any, seeds: np.ndarray, name: str, **columns: Any
          ) -> pd.DataFrame:
    R, K = stats.regret.shape
    frame = {"learner": np.repeat(np.broadcast_to(learner, (R,)), K),
             "seed": np.repeat(seeds, K), "t": np.tile(stats.t, R)}
    frame.update({k: (v.ravel() if isinstance(v, np.ndarray) else v)
                  for k, v in columns.items()})
    frame["bound"] = name
    return pd.DataFrame(frame)


BOUND_COLUMNS = ["learner", "seed", "t", "bound", "value", "regret", "ratio", "error_budget",
                 "applicable", "violated", "note"]
FACT_COLUMNS = ["learner", "seed", "t", "fact", "lhs", "rhs", "ratio", "error_budget", "holds"]


def evaluate(
    stats: Statistics,
    facts: Facts,
    learner: str | np.ndarray,
    seeds: np.ndarray,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """One row per (bound, seed, checkpoint) for every bound relevant to the learner.

    ``learner`` is a label, or one label per row (a grid folded into the batch axis).
    ``value``, ``ratio`` and ``error_budget`` are empty where the bound's assumptions
    failed (``note`` says which) or the repetition had diverged; ``ratio`` is empty where
    ``value <= 0``. ``violated``: ``regret - value > error_budget``.
    """
    frames = []
    regret = stats.regret
    for name in names if names is not None else list(BOUNDS):
        bound = get_bound(name)
        if not bound.relevant(facts):
            continue
        ok = np.ones_like(regret, dtype=bool)
        note = np.full(regret.shape, "", dtype=object)
        for mask, reason in bound.assumptions(stats, facts):
            mask = np.broadcast_to(mask, regret.shape)
            note[ok & ~mask] = reason
            ok &= mask
        diverged = stats.diverged
        note[ok & diverged] = "diverged"
        ok &= ~diverged
        value = np.full(regret.shape, np.nan)
        budget = np.full(regret.shape, np.nan)
        if ok.any():
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                value = np.broadcast_to(bound.value(stats, facts), regret.shape).astype(float)
                budget = regret_error(stats) + bound_error(bound, stats, facts, value)
        infinite = ok & ~(np.isfinite(value) & np.isfinite(regret) & np.isfinite(budget))
        note[infinite] = "not finite (a step with eta_t = 0 or A_t singular)"
        ok &= ~infinite
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ok & (value > 0), regret / value, np.nan)
        frames.append(_rows(stats, learner, seeds, name, value=np.where(ok, value, np.nan),
                            regret=regret, ratio=ratio,
                            error_budget=np.where(ok, budget, np.nan), applicable=ok,
                            violated=ok & violated(regret, value, budget), note=note))
    if not frames:
        return pd.DataFrame(columns=BOUND_COLUMNS)
    return pd.concat(frames, ignore_index=True)[BOUND_COLUMNS]


def evaluate_facts(stats: Statistics, facts: Facts, learner: str | np.ndarray,
                   seeds: np.ndarray) -> pd.DataFrame:
    """One row per (fact, seed, checkpoint): ``lhs``, ``rhs``, ``ratio``, ``error_budget``
    (``gamma_n (|lhs| + |rhs|)``: both sides are sums of recorded terms) and ``holds``."""
    frames = []
    for fact in FACTS.values():
        if not fact.relevant(facts):
            continue
        lhs, rhs = fact.lhs(stats), fact.rhs(stats)
        budget = gamma(operations_at(stats)) * (np.abs(lhs) + np.abs(rhs))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(rhs > 0, lhs / rhs, np.nan)
        frame = _rows(stats, learner, seeds, fact.name, lhs=lhs, rhs=rhs, ratio=ratio,
                      error_budget=budget,
                      holds=~violated(lhs, rhs, budget) | stats.diverged)
        frames.append(frame.rename(columns={"bound": "fact"}))
    if not frames:
        return pd.DataFrame(columns=FACT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FACT_COLUMNS]


IDENTITIES = ("eq8", "eg_eq8")
"""Bounds that are the exact sum of the per-step identity: equal to the regret for linear
losses where no projection binds, so their ratio near 1 says nothing about slack (shown
apart from the other bounds)."""


def bound_verdicts(result: Any) -> pd.DataFrame:
    """Per learner and bound of a run result: how many (seed, checkpoint) rows it applied
    on out of how many, the worst ratio regret / bound, the violations and the verdict."""
    bounds = result.bounds
    if bounds.empty:
        return pd.DataFrame(columns=["learner", "bound", "checked", "rows", "worst_ratio",
                                     "violations", "verdict"])
    applicable = bounds["applicable"].astype(bool)
    violated = bounds["violated"].astype(bool)
    rows = []
    for (learner, name), group in bounds.groupby(["learner", "bound"], sort=False):
        mask = applicable[group.index]
        checked = int(mask.sum())
        count = int(violated[group.index].sum())
        ratios = group.loc[mask, "ratio"].dropna()
        verdict = "VIOLATED" if count else ("holds" if checked else "not applicable")
        notes = sorted({n for n in group.loc[~mask, "note"].fillna("") if n})
        rows.append({"learner": learner, "bound": name, "checked": checked,
                     "rows": len(group), "worst_ratio": float(ratios.max()) if len(ratios)
                     else float("nan"), "violations": count, "verdict": verdict,
                     "why_not_applicable": "; ".join(notes)})
    return pd.DataFrame(rows)
