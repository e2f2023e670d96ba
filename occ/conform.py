"""``occ conform``: library optimizers held against occ's reference learners.

Every row of :data:`PAIRS` names a library optimizer (through the adapters of
:mod:`occ.adapters`, the code path a scenario's ``kind = "optax"`` / ``"torch"`` runs),
occ's learner of the same algorithm, and the convention that maps the one's keywords
onto the other's hyperparameters. Both run, unconstrained (no projection interferes),
from ``w_1 = 0`` on the same gradient sequences:

* ``gaussian``: occ's ``linear_gaussian`` adversary (i.i.d. N(0, 1) entries);
* ``sparse``: occ's ``linear_sparse`` (coordinate i active with probability i^-1.5);
* ``reddi``: the cycle of Reddi, Kale and Kumar (2018, Section 3), ``g_t = C`` for
  ``t = 1 mod 3`` and ``-1`` otherwise, C = 3, in every coordinate (where Adam's and
  AMSGrad's second moments differ most).

Per pair and stream: the largest relative deviation of the iterates over the run,
``max_t ||w_t^lib - w_t^occ||_inf / max(||w_t^lib||_inf, ||w_t^occ||_inf)``, the first
step where it exceeds ``tolerance`` (1e-9; a non-finite iterate, in either, counts as an
infinite deviation), and the difference of the final cumulative
losses ``sum_t <g_t, w_t>`` (the difference of the regrets against any comparator),
relative to occ's. A pair declared ``exact`` fails when a deviation exceeds the
tolerance; a pair that cannot match (``reason``) is reported with its measured
deviation and does not fail.

Adding a pair is one :class:`Pair` row (docs/own-learner.md).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STREAMS = ("gaussian", "sparse", "reddi")
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Pair:
    """A library optimizer, occ's learner of the same algorithm, and the convention that
    maps one onto the other (``reason``: why they cannot match exactly)."""

    library: str  # "optax" or "torch"
    optimizer: str  # optax function or torch.optim class (a dotted path allowed)
    keywords: dict[str, Any]
    learner: str  # occ's registered learner
    hyperparameters: dict[str, Any]
    convention: str
    reason: str = ""  # non-empty: not expected to match (the reason is printed)
    shape: tuple[int, int] | None = None  # matrix parameters (m, n), d = m n
    options: dict[str, Any] = field(default_factory=dict)  # adapter options (elementwise)
    skip: dict[str, str] = field(default_factory=dict)  # stream -> why it is not run

    @property
    def exact(self) -> bool:
        return not self.reason

    @property
    def label(self) -> str:
        keys = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in {**self.keywords, **self.options}.items())
        name = (self.optimizer if self.optimizer.startswith(self.library + ".")
                else f"{self.library}.{self.optimizer}")
        matrix = f"[{self.shape[0]}x{self.shape[1]}]" if self.shape else ""
        return f"{name}({keys}){matrix}"


LR = 0.01
PAIRS: tuple[Pair, ...] = (
    # torch.optim (checked against torch 2.13's torch/optim/{sgd,adagrad,rmsprop,adam,
    # adamw}.py: _single_tensor_* functions)
    Pair("torch", "SGD", {"lr": LR}, "ogd", {"eta": LR},
         "w <- w - lr g"),
    Pair("torch", "Adagrad", {"lr": LR, "initial_accumulator_value": 0.1, "eps": 1e-10},
         "adagrad_diag", {"eta": LR, "eps0": 0.1, "eps": 1e-10},
         "s = s0 + sum g^2 (initial_accumulator_value = eps0), eps outside the root: "
         "g/(sqrt(s) + eps); lr_decay = 0"),
    Pair("torch", "RMSprop", {"lr": LR, "alpha": 0.99, "eps": 1e-8}, "rmsprop",
         {"eta": LR, "beta2": 0.99, "eps": 1e-8},
         "v = alpha v + (1 - alpha) g^2 from 0, eps outside the root, no bias correction, "
         "no momentum"),
    Pair("torch", "Adam", {"lr": LR}, "adam", {"eta": LR},
         "bias-corrected moments, eps outside the root: m^/(sqrt(v^) + eps)"),
    Pair("torch", "Adam", {"lr": LR, "weight_decay": 0.1}, "adam",
         {"eta": LR, "weight_decay": 0.1},
         "weight_decay is L2: g + lambda w enters both moments"),
    Pair("torch", "Adam", {"lr": LR, "amsgrad": True}, "amsgrad",
         {"eta": LR, "max_before_bias_correction": True},
         "AMSGrad: max of the raw v, then bias-corrected (occ's "
         "max_before_bias_correction)"),
    Pair("torch", "AdamW", {"lr": LR, "weight_decay": 0.1}, "adamw",
         {"eta": LR, "weight_decay": 0.1, "decoupled": False},
         "decay w <- (1 - lr lambda) w before the Adam step: occ's coupled form "
         "eta_t lambda (decoupled = false)"),
    Pair("torch", "Adam", {"lr": LR, "weight_decay": 0.1, "decoupled_weight_decay": True},
         "adamw", {"eta": LR, "weight_decay": 0.1, "decoupled": False},
         "decoupled_weight_decay = true is torch's AdamW: occ's coupled decay"),
    Pair("torch", "Adam", {"lr": LR}, "adam", {"eta": LR},
         "elementwise = true: the repetitions in one tensor", options={"elementwise": True}),
    # optax (checked against optax 0.2.8's optax/_src/{alias,transform,factorized}.py)
    Pair("optax", "sgd", {"learning_rate": LR}, "ogd", {"eta": LR}, "w <- w - lr g"),
    Pair("optax", "adagrad", {"learning_rate": LR, "initial_accumulator_value": 0.1,
                              "eps": 1e-7},
         "adagrad_diag", {"eta": LR, "eps0": 0.1 + 1e-7, "eps": 0.0},
         "scale_by_rss: g/sqrt(s + eps), eps inside the root, s0 = 0.1: the same as occ's "
         "accumulator started at eps0 = 0.1 + eps with no outer eps"),
    Pair("optax", "rmsprop", {"learning_rate": LR, "decay": 0.9, "eps": 1e-8}, "rmsprop",
         {"eta": LR, "beta2": 0.9, "eps": 1e-8, "eps_inside_sqrt": True},
         "scale_by_rms: eps inside the root (eps_in_sqrt = true), no bias correction"),
    Pair("optax", "rmsprop", {"learning_rate": LR, "decay": 0.9, "eps": 1e-8,
                              "eps_in_sqrt": False, "bias_correction": True}, "rmsprop",
         {"eta": LR, "beta2": 0.9, "eps": 1e-8, "bias_correction": True},
         "eps outside the root, v bias-corrected (occ's bias_correction; beta1 = 0 makes "
         "its first-moment correction 1)"),
    Pair("optax", "adam", {"learning_rate": LR}, "adam", {"eta": LR},
         "bias-corrected moments, eps outside the root (eps_root = 0)"),
    Pair("optax", "adam", {"learning_rate": LR, "eps": 0.0, "eps_root": 1e-8}, "adam",
         {"eta": LR, "eps": 1e-8, "eps_inside_sqrt": True},
         "eps_root inside the root: sqrt(v^ + eps_root) (occ's eps_inside_sqrt)"),
    Pair("optax", "amsgrad", {"learning_rate": LR}, "amsgrad", {"eta": LR},
         "AMSGrad: max of the bias-corrected v (occ's default order)"),
    Pair("optax", "adamw", {"learning_rate": LR, "weight_decay": 0.1}, "adamw",
         {"eta": LR, "weight_decay": 0.1, "decoupled": False},
         "updates = -lr (m^/denom + lambda w): occ's coupled decay (decoupled = false)"),
    Pair("optax", "adafactor", {"learning_rate": LR, "min_dim_size_to_factor": 1,
                                "multiply_by_parameter_scale": False,
                                "clipping_threshold": 1e300, "eps": 1e-30},
         "adafactor", {"eta": LR, "beta": 0.8, "eps": 0.0, "eps1": 1e-30},
         "factored V = row x column / total from G^2 + 1e-30, no parameter scale, clipping "
         "threshold 1e300 (never clips); occ's outer eps = 0",
         reason="optax decays the second moment with beta2_t = 1 - t^-0.8 (decay_rate_fn "
                "of scale_by_factored_rms, not a keyword of optax.adafactor) and applies no "
                "bias correction (and computes beta2_t in float32 even in a float64 run); "
                "occ's adafactor uses a constant beta with bias correction 1/(1 - beta^t). "
                "Everything else maps exactly: they agree at t = 1, and at t = 2 with "
                "beta = b/(1 - b), b = beta2_2 (tests/test_conform.py).",
         shape=(2, 4)),
    # issue 18's learners (checked against optax 0.2.8's optax/_src/alias.py (lion),
    # optax/contrib/{_adopt,_schedule_free,_muon}.py and torch 2.13's torch/optim/_muon.py;
    # tests/test_modern_conformance.py holds the same mappings on other sizes)
    Pair("optax", "lion", {"learning_rate": LR, "b1": 0.8, "b2": 0.95, "weight_decay": 0.1},
         "lion", {"eta": LR, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.1},
         "w <- w - lr (sign(b1 m + (1 - b1) g) + lambda w), m <- b2 m + (1 - b2) g"),
    Pair("optax", "optax.contrib.adopt", {"learning_rate": LR, "b1": 0.9, "b2": 0.5,
                                          "eps": 1e-6, "use_clipping": True},
         "adopt", {"eta": LR, "beta1": 0.9, "beta2": 0.5, "eps": 1e-6, "clipping": True},
         "v_1 = g_1^2 and no step at t = 1; then m <- b1 m + (1 - b1) clip(g/max(sqrt(v), "
         "eps), c_t) with v of the previous step, c_t = t^(1/4) (optax's step count = "
         "occ's)"),
    Pair("optax", "optax.contrib.adopt", {"learning_rate": LR, "b1": 0.9, "b2": 0.5,
                                          "eps": 1e-6, "use_clipping": False},
         "adopt", {"eta": LR, "beta1": 0.9, "beta2": 0.5, "eps": 1e-6, "clipping": False},
         "ADOPT without the clip (Algorithm 1 of Taniguchi et al.)"),
    Pair("optax", "optax.contrib.schedule_free_adamw",
         {"learning_rate": LR, "b1": 0.9, "b2": 0.99, "eps": 0.0, "weight_decay": 0.0},
         "schedule_free_adamw", {"eta": LR, "beta1": 0.9, "beta2": 0.99, "eps": 0.0,
                                 "weight_bias_corrected": False},
         "optax's params are y (occ's w, the point played); its average weights are "
         "lr_t^2 without sqrt(1 - b2^t) (occ's weight_bias_corrected = false); eps = 0 and "
         "no decay, where optax's eps placement and decay step differ from the paper's",
         skip={"sparse": "eps = 0: where no gradient has reached a coordinate yet, optax "
                        "steps 0/0 = nan (occ's learner takes direction 0 where its "
                        "denominator is 0)"}),
    Pair("optax", "optax.contrib.muon", {"learning_rate": LR, "beta": 0.9, "eps": 1e-8,
                                         "weight_decay": 0.1},
         "muon", {"eta": LR, "beta": 0.9, "eps": 1e-8, "weight_decay": 0.1,
                  "bias_correction": True},
         "momentum divided by 1 - beta^t (occ's bias_correction), Nesterov, five "
         "Newton-Schulz steps of M/(||M||_F + eps), decoupled decay lr lambda W; on a "
         "square W the width scales agree and Newton-Schulz commutes with transposition, so "
         "no transpose is needed", shape=(3, 3)),
    Pair("optax", "optax.contrib.muon", {"learning_rate": LR, "beta": 0.9, "eps": 1e-8,
                                         "weight_decay": 0.1},
         "muon", {"eta": LR, "beta": 0.9, "eps": 1e-8, "weight_decay": 0.1,
                  "bias_correction": True},
         "as on the square matrix, on a 2 x 4 W",
         reason="layout: optax's muon treats a weight as x W (fan_in = m rows, fan_out = n "
                "columns; width scale sqrt(max(1, n/m))), occ's as W x (sqrt(max(1, m/n))), "
                "so on a 2 x 4 W optax's step is sqrt(2) times occ's; the adapter hands "
                "optax the matrix as occ stores it and cannot transpose it. On W^T they "
                "agree to 3e-16 (tests/test_modern_conformance.py).",
         shape=(2, 4)),
    Pair("torch", "Muon", {"lr": LR, "momentum": 0.9, "weight_decay": 0.1, "eps": 0.0,
                           "adjust_lr_fn": "original"},
         "muon", {"eta": LR, "beta": 0.9, "eps": 0.0, "weight_decay": 0.1,
                  "lr_scale": "original"},
         "Nesterov momentum without bias correction, Newton-Schulz of M/max(||M||_F, eps) "
         "(torch) = M/(||M||_F + eps) (occ) at eps = 0, lr scaled by sqrt(max(1, m/n)) "
         "(adjust_lr_fn = original), decay w <- (1 - lr lambda) w",
         reason="torch runs the Newton-Schulz iteration in bfloat16 "
                "(_zeropower_via_newtonschulz casts to bfloat16), occ in float64; with that "
                "one function in float64 they agree to 1e-10 "
                "(tests/test_modern_conformance.py).",
         shape=(3, 3)),
    # parameter-free learners: optax.contrib's updates, learning_rate = 1 (their default)
    Pair("optax", "optax.contrib.cocob", {"learning_rate": 1.0, "alpha": 100.0, "eps": 1e-8},
         "cocob", {"alpha": 100.0, "eps": 1e-8},
         "COCOB-Backprop (Orabona and Tommasi 2017, Alg. 2) as optax writes it: L_0 = eps, "
         "no weight decay"),
    Pair("optax", "optax.contrib.dog", {"learning_rate": 1.0, "eps": 1e-8},
         "dog", {"init_step": "heuristic", "r_eps": 1e-6, "eps": 1e-8},
         "DoG: eta_t = rbar_t / sqrt(sum ||g||^2 + eps), rbar_0 = r_eps (1 + ||w_1||) (optax's "
         "init_step = ('heuristic', 1e-6))"),
    Pair("optax", "optax.contrib.dowg", {"learning_rate": 1.0, "eps": 1e-4},
         "dowg", {"r0_sq": 1e-4, "eps": 1e-4},
         "DoWG: eta_t = rbar_t^2 / (sqrt(sum rbar_s^2 ||g_s||^2) + eps); optax's "
         "init_estim_sq_dist = None means eps, occ's r0_sq = 1e-4"),
    Pair("optax", "optax.contrib.prodigy", {"learning_rate": 1.0},
         "prodigy", {},
         "Prodigy (Mishchenko and Defazio 2023, Alg. 3) with a constant schedule 1; betas = "
         "(beta1, beta2), beta3 = sqrt(beta2), d_0 = estim_lr0 = 1e-6"),
)


def available(library: str) -> bool:
    name = {"optax": "optax", "torch": "torch"}[library]
    return importlib.util.find_spec(name) is not None and (
        library != "optax" or importlib.util.find_spec("jax") is not None)


def gradient_stream(stream: str, T: int, R: int, d: int, seed: int = 0) -> np.ndarray:
    """The stream's gradients, (T, R, d): occ's adversaries draw the first two."""
    if stream == "reddi":
        t = np.arange(1, T + 1)
        column = np.where(t % 3 == 1, 3.0, -1.0)
        return np.broadcast_to(column[:, None, None], (T, R, d)).copy()
    from occ.adversaries import make_adversary
    from occ.harness import repetition_generators

    adversary = make_adversary({"gaussian": "linear_gaussian", "sparse": "linear_sparse"}
                               [stream])
    rngs = repetition_generators(seed, np.arange(R), adversary.streams)
    return np.asarray(adversary.draw(rngs, 1, T + 1, d), dtype=np.float64)


def trajectory(learner: Any, G: np.ndarray) -> np.ndarray:
    """The iterates w_1..w_T a learner plays on the gradients G (T, R, d)."""
    T, R, d = G.shape
    state = learner.init(np.zeros((R, d)), np)
    out = np.empty_like(G)
    for t in range(T):
        out[t] = np.asarray(state.w)
        _, state = learner.update(state, G[t], np)
    return out


def build_pair(pair: Pair) -> tuple[Any, Any]:
    """(library learner, occ learner) for a pair, unconstrained."""
    from occ.domains import Unconstrained
    from occ.plugins import make

    selector = {"optax": "transform", "torch": "optimizer"}[pair.library]
    passed = {"shape": pair.shape} if pair.shape else {}
    library = make(pair.library, {selector: pair.optimizer, **pair.keywords, **pair.options},
                   domain=Unconstrained(), **passed)
    reference = make(pair.learner, dict(pair.hyperparameters), domain=Unconstrained(),
                     **passed)
    return library, reference


@dataclass
class Outcome:
    pair: Pair
    stream: str
    deviation: float  # largest relative deviation of the iterates
    first_step: int  # first step where it exceeds the tolerance (0: never)
    regret_difference: float  # (L_lib - L_occ) / max(|L_occ|, tiny), final cumulative loss
    skipped: str = ""

    @property
    def failed(self) -> bool:
        return self.pair.exact and not self.skipped and self.first_step != 0


def compare(pair: Pair, stream: str, T: int, R: int = 2, d: int = 8,
            tolerance: float = TOLERANCE) -> Outcome:
    """Run both learners of ``pair`` on ``stream`` and measure their deviation."""
    if not available(pair.library):
        return Outcome(pair, stream, np.nan, 0, np.nan, f"{pair.library} is not installed")
    if stream in pair.skip:
        return Outcome(pair, stream, np.nan, 0, np.nan, pair.skip[stream])
    d = pair.shape[0] * pair.shape[1] if pair.shape else d
    G = gradient_stream(stream, T, R, d)
    library, reference = build_pair(pair)
    with np.errstate(all="ignore"):
        W_lib, W_occ = trajectory(library, G), trajectory(reference, G)
        scale = np.maximum(np.abs(W_lib).max(axis=(1, 2)), np.abs(W_occ).max(axis=(1, 2)))
        gap = np.abs(W_lib - W_occ).max(axis=(1, 2))
        relative = np.where(scale > 0, gap / np.where(scale > 0, scale, 1.0),
                            np.where(gap > 0, np.inf, 0.0))
        finite = np.isfinite(W_lib).all(axis=(1, 2)) & np.isfinite(W_occ).all(axis=(1, 2))
        relative = np.where(np.isnan(relative) | ~finite, np.inf, relative)
        beyond = np.flatnonzero(relative > tolerance)
        loss_lib = np.sum(G * W_lib, axis=(0, 2))
        loss_occ = np.sum(G * W_occ, axis=(0, 2))
        difference = np.max(np.abs(loss_lib - loss_occ) / np.maximum(np.abs(loss_occ), 1e-300))
    return Outcome(pair, stream, float(relative.max()), int(beyond[0]) + 1 if beyond.size
                   else 0, float(difference))


def conform(libraries: tuple[str, ...] = ("optax", "torch"), T: int = 300,
            tolerance: float = TOLERANCE, streams: tuple[str, ...] = STREAMS) -> list[Outcome]:
    """Every pair of the given libraries on every stream."""
    return [compare(pair, stream, T, tolerance=tolerance) for pair in PAIRS
            if pair.library in libraries for stream in streams]


def table(outcomes: list[Outcome], tolerance: float = TOLERANCE) -> str:
    """The printed table: one line per pair and stream, then the reasons."""
    width = max([len(o.pair.label) for o in outcomes] + [20])
    learner = max([len(o.pair.learner) for o in outcomes] + [11])
    lines = [f"{'library optimizer':<{width}} {'occ learner':<{learner}} {'stream':<8} "
             f"{'max rel dev':>11} {'> ' + format(tolerance, 'g') + ' at':>10} "
             f"{'regret diff':>11}  verdict"]
    for o in outcomes:
        if o.skipped:
            lines.append(f"{o.pair.label:<{width}} {o.pair.learner:<{learner}} {o.stream:<8} "
                         f"{'':>11} {'':>10} {'':>11}  skipped: {o.skipped}")
            continue
        verdict = ("DEVIATES" if o.failed else "matches" if o.first_step == 0
                   else "differs (known, below)")
        lines.append(f"{o.pair.label:<{width}} {o.pair.learner:<{learner}} {o.stream:<8} "
                     f"{o.deviation:>11.2e} {o.first_step or 'never':>10} "
                     f"{o.regret_difference:>11.2e}  {verdict}")
    reasons = {o.pair.label: o.pair.reason for o in outcomes if o.pair.reason}
    for label, reason in reasons.items():
        lines.append(f"known difference, {label}: {reason}")
    return "\n".join(lines)


def conventions() -> str:
    """The convention of every pair (``occ conform --list``)."""
    return "\n".join(f"{p.label} ~ {p.learner}"
                     f"({', '.join(f'{k}={v}' for k, v in p.hyperparameters.items())}"
                     f"{'' if not p.options else ', ' + str(p.options)}): {p.convention}"
                     + (f" [not exact: {p.reason}]" if p.reason else "") for p in PAIRS)
