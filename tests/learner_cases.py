"""Regression cases for every registered learner (like river's ``_unit_test_params``):
hand-picked values the reference-loop tests replay. Which tests a learner takes part in
(matrix or vector parameters, domains, engines) comes from its declaration, never from
this table; every combination of its choices and flags is generated from the
declaration as well (:mod:`generated`). A registered learner without an entry fails
``test_every_registered_learner_has_cases``."""

from __future__ import annotations

LEARNER_CASES: dict[str, list[dict]] = {
    "ogd": [
        {"step": "constant", "eta": 0.1},
        {"step": "sqrt", "c": 0.7},
        {"step": "adagrad_norm", "D0": 2.0},
        {"step": "adagrad_norm", "D0": 1.5, "eps0": 0.3},
    ],
    "adagrad_diag": [
        {"eta": 0.5},
        {"eta": 0.3, "eps": 1e-2, "eps0": 0.1},
        {"scaling": "D0", "D0": 1.5},
        {"scaling": "per_coordinate", "c": [0.5, 1.0, 1.5, 2.0]},
        {"eta": 0.5, "projection": "euclidean"},
    ],
    "adagrad_full": [
        {"eta": 1.0, "eps0": 1e-3},
        {"eta": 0.4, "eps0": 0.5},
        {"eta": 1.0, "eps0": 1e-3, "projection": "euclidean"},
    ],
    "fixed_preconditioner": [
        {"A": [1.0, 2.0, 0.5, 4.0], "eta": 0.2},
        {"A": [[2.0, 0.5, 0.0, 0.1], [0.5, 1.0, 0.2, 0.0], [0.0, 0.2, 3.0, 0.4],
               [0.1, 0.0, 0.4, 0.5]], "step": "sqrt", "c": 0.3},
    ],
    "adagrad_oracle": [
        {"form": "eq31"},
        {"form": "eq35", "D0": 2.0},
        {"form": "eq34", "D0": 2.0, "eps0": 1e-4},
    ],
    "rmsprop": [
        {"eta": 0.05},
        {"eta": 0.05, "beta1": 0.5, "eps": 1e-3},
        {"eta": 0.1, "eps_inside_sqrt": True, "eps": 1e-4, "schedule": "inverse_sqrt"},
    ],
    "adam": [
        {"eta": 0.05},
        {"eta": 0.05, "beta1": 0.0, "bias_correction": False, "eps": 0.0},
        {"eta": 0.1, "weight_decay": 0.1, "v0": 0.5,
         "schedule": {"kind": "warmup_cosine", "warmup": 5, "final": 0.1}},
    ],
    "amsgrad": [
        {"eta": 0.05},
        {"eta": 0.05, "max_before_bias_correction": True},
        {"eta": 0.3, "beta1": 0.0, "beta2": 0.5, "schedule": "inverse_sqrt"},
    ],
    "adamw": [
        {"eta": 0.05, "weight_decay": 0.1},
        {"eta": 0.05, "weight_decay": 0.1, "decoupled": False},
        {"eta": 0.1, "weight_decay": 0.05, "schedule": {"kind": "wsd", "warmup": 3}},
    ],
    "eg": [
        {"step": "constant", "eta": 0.5},
        {"step": "tuned", "L_inf": 2.0},
        {"step": "anytime", "L_inf": 3.0},
    ],
    "shampoo": [
        {},
        {"statistics": "ema", "beta": 0.9, "eta": 0.2},
        {"root": "idealized", "statistics": "ema", "eta": 0.1},
        {"recompute_every": 3, "eta": 0.3},
    ],
    "adafactor": [
        {"eta": 0.1},
        {"eta": 0.1, "beta": 0.9, "beta1": 0.5},
    ],
    "ons": [
        {},
        {"G": 3.0, "alpha": 0.5},
        {"gamma": 0.5, "eps": 0.1},
    ],
    "universal": [
        {},
        {"method": "sample", "samples": 64, "seed": 3},
    ],
    "uniform_crp": [{}],
    "buy_and_hold": [{}],
    "adam_nmf": [
        {"eta": 0.1, "rank": 1},
        {"eta": 0.1, "rank": 2, "seed": 3},
    ],
    "adopt": [
        {"eta": 0.05},
        {"eta": 0.1, "beta1": 0.0, "beta2": 0.1, "eps": 0.0, "schedule": "inverse_sqrt"},
        {"eta": 0.05, "clipping": False, "beta2": 0.5, "eps": 1e-3},
    ],
    "lion": [
        {"eta": 0.01},
        {"eta": 0.02, "beta1": 0.5, "beta2": 0.9, "weight_decay": 0.3,
         "schedule": {"kind": "warmup_cosine", "warmup": 5, "final": 0.1}},
    ],
    "adam_mini": [
        {"eta": 0.05},
        {"eta": 0.05, "block_size": 2, "weight_decay": 0.1},
        {"eta": 0.1, "blocks": [0.0, 1.0, 0.0, 2.0], "beta1": 0.0, "eps": 1e-3},
        {"eta": 0.05, "block_size": 1, "schedule": "inverse_sqrt"},
    ],
    "schedule_free_adamw": [
        {"eta": 0.05},
        {"eta": 0.05, "beta1": 0.5, "weight_decay": 0.1,
         "schedule": {"kind": "warmup_linear", "warmup": 5, "final": 1.0}},
        {"eta": 0.1, "weight_bias_corrected": False, "eps": 1e-3},
    ],
    "muon": [
        {"eta": 0.05},
        {"eta": 0.05, "nesterov": False, "lr_scale": "moonlight", "weight_decay": 0.1},
        {"eta": 0.05, "bias_correction": True, "lr_scale": "none", "eps": 1e-8,
         "schedule": "inverse_sqrt"},
    ],
    "soap": [
        {"eta": 0.05},
        {"eta": 0.05, "precondition_frequency": 3, "shampoo_beta": 0.9, "weight_decay": 0.1},
        {"eta": 0.05, "precondition_frequency": 1, "correct_bias": False, "beta1": 0.5},
    ],
    # issue 17: parameter-free and classical online learners
    "kt": [
        {},
        {"form": "hilbert", "eps": 0.5, "G": 3.0},
        {"form": "coordinate", "eps": 2.0, "G": 4.0},
    ],
    "ftrl": [
        {"eta": 0.2},
        {"step": "sqrt", "c": 0.7},
    ],
    "optimistic": [
        {"eta": 0.1},
        {"eta": 0.4},
        {"form": "ftrl", "eta": 0.2},
        {"eta": 0.2, "hint": [0.3, -0.2, 0.0, 0.1]},
        {"form": "ftrl", "eta": 0.3, "hint": 0.25},
    ],
    "adahedge": [{}],
    "cocob": [
        {},
        {"alpha": 10.0, "eps": 1e-3},
    ],
    "dog": [
        {},
        {"init_step": "distance", "r_eps": 0.1, "eps": 1e-6},
    ],
    "dowg": [
        {},
        {"r0_sq": 0.01, "eps": 1e-6},
    ],
    "prodigy": [
        {},
        {"beta1": 0.5, "beta2": 0.9, "beta3": 0.8, "estim_lr0": 1e-3, "weight_decay": 0.1,
         "safeguard_warmup": True},
    ],
}
