"""The optax adapter on W1 (Adam, eta 1e-2, betas 0.9/0.999, eps 1e-8; R x d, T steps,
regret only) beside optax's own jit + lax.scan loop (benchmarks/run.py ``optax_time``).

The adapter runs through occ's chunked engine (:mod:`occ.engines.scan_engine`): each
chunk of pre-generated Gaussian gradients (occ.run's chunk length, cycled as in
``run.py``; repetition-major and aligned, as occ's adversaries draw them) goes to the
jitted scan, which steps the library, projects onto the box
[-1e9, 1e9]^d (never binding) and records the loss; occ forms the regret-only statistics.
Prints both times (compile apart, best of ``--repeat``), their ratio and the load average.
Asserts nothing.
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


def adapter_time(R: int, d: int, T: int) -> tuple[float, float]:
    """(steady seconds, first-call extra seconds) of the adapter on W1."""
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
                              np.zeros((R, len(checkpoints))), np.zeros((R, d)), steps)
        start = time.perf_counter()
        for t0 in range(1, steps + 1, BLOCK):
            stepper.chunk(t0, G[: min(BLOCK, steps + 1 - t0)])
        stepper.statistics(steps)
        return time.perf_counter() - start

    first = once(min(T, 3 * BLOCK))  # compiles both programs (full and padded chunks)
    return once(T), first


def main() -> None:
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from run import optax_time

    parser = argparse.ArgumentParser()
    parser.add_argument("--R", type=int, default=100)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--T", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    ours = min(adapter_time(args.R, args.d, args.T)[0] for _ in range(args.repeat))
    peer = min(optax_time("adam", args.R, args.d, args.T)[0] for _ in range(args.repeat))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"W1 Adam R x d = {args.R} x {args.d}, T = {args.T}, regret only")
    print(f"occ's optax adapter (chunked engine): {ours:.2f} s; optax jit+scan loop: "
          f"{peer:.2f} s; ratio {ours / peer:.2f} (load average {load}; shared machine)")


if __name__ == "__main__":
    main()
