"""Throughput of OGD on a linear scenario: steps x coordinates x repetitions per second.

Measures three things at R = 100 repetitions, d = 1000 (override with --R, --d, --T):

* the reference learner update loop (NumPy ``init``/``update`` on pre-generated gradients);
* the full run loop (``occ.run``: adversary, two passes, regret, bound ingredients);
* the peak resident memory of the process (memory must not grow with T).

Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import occ
from occ.domains import Ball
from occ.scenarios import parse_scenario


def scenario(d: int, R: int, T: int):
    return parse_scenario({
        "d": d, "T": T, "seeds": R, "checkpoints": 20,
        "domain": {"kind": "ball", "radius": 1.0},
        "adversary": {"kind": "linear_gaussian", "mean": 0.01},
        "learners": {"ogd": {"kind": "ogd", "step": "sqrt", "c": 0.1}},
    }, "<benchmark>", "benchmark")


def kernel_seconds(d: int, R: int, T: int) -> float:
    learner = occ.make_learner("ogd", step="sqrt", c=0.1, domain=Ball(radius=1.0))
    g = np.random.default_rng(0).normal(size=(256, R, d))
    state = learner.init(np.zeros((R, d)))
    start = time.perf_counter()
    for t in range(T):
        _, state = learner.update(state, g[t % 256])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--R", type=int, default=100)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--T", type=int, default=2000)
    args = parser.parse_args()
    R, d, T = args.R, args.d, args.T
    work = R * d * T
    kernel = kernel_seconds(d, R, T)
    start = time.perf_counter()
    occ.run(scenario(d, R, T))
    full = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"OGD (c/sqrt(t), unit ball), R={R}, d={d}, T={T}")
    print(f"  NumPy update loop    : {kernel:8.3f} s  {work / kernel:12.3e} step*coord*rep/s")
    print(f"  occ.run end to end   : {full:8.3f} s  {work / full:12.3e} step*coord*rep/s")
    print(f"  ratio end-to-end / kernel: {full / kernel:.2f} (two passes + recording)")
    print(f"  peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
