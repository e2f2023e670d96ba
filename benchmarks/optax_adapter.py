"""The optax adapter on W1 (Adam, eta 1e-2, betas 0.9/0.999, eps 1e-8; R x d, T steps,
regret only) beside optax's own jit + lax.scan loop (benchmarks/run.py ``optax_time``).

The adapter runs through occ's chunked engine (:mod:`occ.engines.scan_engine`), both for
W1 as defined (regret only: no excess risk reads the iterate sums past their first
coordinate) and with what the engine keeps when the gradients come from
``linear_gaussian``, whose excess risk reads ``sum_s m^T w_s``: each
chunk of pre-generated Gaussian gradients (occ.run's chunk length, cycled as in
``run.py``; repetition-major and aligned, as occ's adversaries draw them) goes to the
jitted scan, which steps the library, projects onto the box
[-1e9, 1e9]^d (never binding) and records the loss; occ forms the regret-only statistics.
The machine's speed drifts by tens of percent between identical runs, so the two are
measured in pairs, each side in a fresh process, the order alternating from pair to pair
(``--pairs``): it prints every pair's times (compile apart) and ratio, then the median
ratio with its range, and the load average. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from occ.batches import LearnerBatch
from occ.domains import Box
from occ.draws import aligned_empty
from occ.engines.scan_engine import ScanStepper
from occ.plugins import make


def adapter_time(R: int, d: int, T: int, gaussian: bool = False) -> tuple[float, float]:
    """(steady seconds, first-call extra seconds) of the adapter on W1; ``gaussian`` also
    keeps what ``linear_gaussian``'s excess risk reads (``sum_s m^T w_s``, m = 0.3 in every
    coordinate, the adversary's default mean), as when W1's gradients come from it."""
    from run import block

    BLOCK = block(R, d)
    # each repetition's block contiguous and 64-byte aligned, as occ's adversaries draw
    # them (stack_streams), handed over as the (steps, R, d) view occ.run passes
    G = aligned_empty((R, BLOCK, d))
    G[...] = np.random.default_rng(0).standard_normal((R, BLOCK, d))
    G = G.transpose(1, 0, 2)
    domain = Box(low=-1e9, high=1e9)
    learner = make("optax", {"transform": "adam", "learning_rate": 1e-2, "b1": 0.9,
                             "b2": 0.999, "eps": 1e-8}, domain=domain)
    checkpoints = np.unique(np.round(np.logspace(0, np.log10(T), 20)).astype(np.int64))
    batch = LearnerBatch("x", learner, np.array(["x"] * R, dtype=object), np.arange(R), 1)

    def once(steps: int) -> float:
        stepper = ScanStepper(batch, domain, checkpoints, np.zeros((R, len(checkpoints), d)),
                              np.zeros((R, len(checkpoints))), np.zeros((R, d)), steps,
                              iterate_sums=False,
                              direction=np.full(d, 0.3) if gaussian else None)
        start = time.perf_counter()
        for t0 in range(1, steps + 1, BLOCK):
            stepper.chunk(t0, G[: min(BLOCK, steps + 1 - t0)])
        stepper.statistics(steps)
        return time.perf_counter() - start

    # the whole run twice, as optax_time runs its loop: the first compiles every program
    # the run uses (chunks with and without checkpoints inside, the padded last chunk)
    first = once(T)
    steady = once(T)
    return steady, first - steady


def main() -> None:
    import statistics
    import subprocess
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from run import optax_time

    parser = argparse.ArgumentParser()
    parser.add_argument("--R", type=int, default=100)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--T", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--child", choices=("regret", "gaussian", "optax"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "optax":  # optax's own loop, in this fresh process
        print(optax_time("adam", args.R, args.d, args.T)[0])
        return
    if args.child:  # one adapter measurement, in this fresh process
        print(adapter_time(args.R, args.d, args.T, gaussian=args.child == "gaussian")[0])
        return

    def child(kind: str) -> float:
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--R", str(args.R),
                              "--d", str(args.d), "--T", str(args.T)],
                             capture_output=True, text=True, check=True)
        return float(out.stdout.split()[-1])

    def load() -> str:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())

    print(f"W1 Adam R x d = {args.R} x {args.d}, T = {args.T}, regret only: occ's optax "
          f"adapter (chunked engine) against optax's jit+scan loop, seconds (load {load()})")
    ratios, sum_ratios = [], []
    for pair in range(args.pairs):
        if pair % 2 == 0:
            a, c, b = child("regret"), child("gaussian"), child("optax")
        else:
            b, c, a = child("optax"), child("gaussian"), child("regret")
        ratios.append(a / b)
        sum_ratios.append(c / b)
        print(f"  pair {pair + 1}: adapter {a:.2f} (with linear_gaussian's excess risk {c:.2f}), "
              f"optax {b:.2f}, ratio {a / b:.2f} ({c / b:.2f}) (load {load()})", flush=True)
    for name, values in (("regret only", ratios), ("with the excess risk", sum_ratios)):
        print(f"{name}: median ratio {statistics.median(values):.2f} (range "
              f"{min(values):.2f} to {max(values):.2f}) over {len(values)} pairs; shared "
              "machine")


if __name__ == "__main__":
    main()
