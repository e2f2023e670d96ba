"""The cost of one generation of `occ search` against one candidate alone.

A generation of 64 candidate adversaries at T = 1000, d = 10 is ONE batched run
(candidate k on repetition row k, :func:`occ.search._evaluate`); the issue's target is
under 10x the time of a single candidate. Measured for the oblivious family
``linear_sequence`` (OGD and Adam on the l2 ball: the compiled engine) and the adaptive
``linear_policy`` (the reference per-step path, two passes): median of --repeat
evaluations after a warm-up, with the machine's load average. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from occ.scenarios import parse_scenario
from occ.search import Space, _base_scenario, _evaluate, _learner_spec, decode, size

LEARNERS = {"ogd": {"kind": "ogd", "eta": 0.05}, "adam": {"kind": "adam", "eta": 0.05}}


def generation_seconds(family: str, learner: str, candidates: int, T: int, d: int,
                       repeat: int) -> float:
    sc = parse_scenario({
        "d": d, "T": T, "seeds": 1, "checkpoints": 20,
        "domain": {"kind": "ball", "radius": 1.0},
        "adversary": {"kind": "linear_sequence", "gradients": [0.0] * T, "L": 1.0,
                      "norm": "l2"},
        "learners": {learner: LEARNERS[learner]}}, "<bench>", "bench")
    space = Space(T, d, 3, 1.0, "l2", "normalize")
    rng = np.random.default_rng(0)
    n = size(family, space)
    spec = _learner_spec(sc, learner)
    base, _ = _base_scenario(sc, spec, family, space, [], np.zeros(n))
    tables = [decode(family, rng.uniform(-1, 1, n), space) for _ in range(candidates)]
    _evaluate(base, tables, "regret", None)  # warm-up: numba's compiled kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        _evaluate(base, tables, "regret", None)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=1000)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"T = {args.T}, d = {args.d}; load average before: {os.getloadavg()}")
    for family, learner in (("linear_sequence", "ogd"), ("linear_sequence", "adam"),
                            ("linear_policy", "ogd"), ("linear_policy", "adam")):
        one = generation_seconds(family, learner, 1, args.T, args.d, args.repeat)
        many = generation_seconds(family, learner, args.candidates, args.T, args.d,
                                  args.repeat)
        print(f"{family:16s} {learner:5s} 1 candidate {one * 1e3:8.1f} ms; "
              f"{args.candidates} candidates {many * 1e3:8.1f} ms; ratio {many / one:5.2f} "
              f"(target < 10); load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
