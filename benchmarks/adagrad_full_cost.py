"""Cost per step of full-matrix AdaGrad (36): d = 200, T = 2000 by default.

Reports, per step and in total: the learner kernel alone (O_t update, batched eigh for
O_t^{1/2}, solve, A_t-norm projection onto the unit ball), the eigendecomposition alone
(the floor this algorithm cannot go under), and `occ.run` end to end (two passes, (8),
(10), (18), (36), Fact 2.1 and Lemma C.4 recorded). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import occ
from occ.domains import Ball
from occ.scenarios import parse_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=200)
    parser.add_argument("--T", type=int, default=2000)
    parser.add_argument("--R", type=int, default=1)
    args = parser.parse_args()
    d, T, R = args.d, args.T, args.R
    g = np.random.default_rng(0).normal(size=(T, R, d)) / np.sqrt(d)

    learner = occ.make_learner("adagrad_full", domain=Ball(radius=1.0))
    state = learner.init(np.zeros((R, d)))
    start = time.perf_counter()
    for t in range(T):
        _, state = learner.update(state, g[t])
    kernel = time.perf_counter() - start

    O = np.zeros((R, d, d)) + 1e-8 * np.eye(d)
    start = time.perf_counter()
    for t in range(T):
        O += g[t][:, :, None] * g[t][:, None, :]
        np.linalg.eigh(O)
    eigh = time.perf_counter() - start

    sc = parse_scenario({
        "d": d, "T": T, "seeds": R, "checkpoints": 12,
        "domain": {"kind": "ball", "radius": 1.0},
        "adversary": {"kind": "linear_gaussian", "mean": 0.0},
        "learners": {"full": {"kind": "adagrad_full"}},
    }, "<benchmark>", "benchmark")
    start = time.perf_counter()
    occ.run(sc)
    full = time.perf_counter() - start

    print(f"full-matrix AdaGrad (36), d={d}, T={T}, R={R}, unit ball")
    print(f"  learner kernel : {kernel:7.2f} s  {1e3 * kernel / T:7.2f} ms/step")
    print(f"  eigh alone     : {eigh:7.2f} s  {1e3 * eigh / T:7.2f} ms/step "
          f"(kernel / eigh = {kernel / eigh:.2f})")
    print(f"  occ.run        : {full:7.2f} s  {1e3 * full / T:7.2f} ms/step "
          f"(run / kernel = {full / kernel:.2f}: two passes, Gamma_t and Fact 2.1 "
          f"eigendecompositions)")


if __name__ == "__main__":
    main()
