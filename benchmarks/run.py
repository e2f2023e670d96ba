"""occ's speed on the regret workloads of the speed issue, side by side with torch.optim and
optax where they are installed (the optional `bench` extra), and against the floor.

W1: Adam (eta 1e-2, betas 0.9/0.999, eps 1e-8); W2: diagonal AdaGrad; oblivious linear
losses with pre-generated Gaussian gradients (a block of occ.run's chunk length, 32 MiB,
cycled), T = 10^4,
R repetitions x d coordinates, the loss <g_t, w_t> recorded every step. For each size:

* occ numba engine (one core, and both cores): the compiled pass-2 kernel, which also
  records every bound ingredient of the Recorder (distances to the checkpoint
  comparators, (8), (10), the gradient term, the monotonicity diagnostic);
* the floor: a single-pass numba kernel of the same arithmetic (update + loss, nothing
  else), on both cores;
* the NumPy per-step reference path (occ's init/update), timed on T/10 steps and scaled;
* torch.optim and optax under jax.jit(lax.scan) when importable; otherwise the issue's
  reference figures, marked as such.

Then full-matrix AdaGrad (d = 50, 200) and Shampoo (32 x 32), T = 2000, against their
eigendecompositions alone; occ.run end to end against the kernel; and the peak memory of a
T = 10^6, R = 100, d = 100 OGD run (in a subprocess). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

import occ
from occ.domains import Ball
from occ.engines import numba_engine
from occ.harness import LearnerBatch
from occ.scenarios import parse_scenario

SIZES = [(1, 10), (1, 1000), (100, 100), (100, 1000)]
# the measurements on this kind of machine (median seconds), for when torch / jax
# are not installed here: torch.optim best variant, optax.adam in jax.jit(lax.scan)
REFERENCE = {
    "adam": {"torch": [1.06, 1.36, 2.34, 5.39], "optax": [0.0108, 0.060, 0.56, 4.58]},
    "adagrad": {"torch": [0.90, 1.42, 1.57, 4.16], "optax": [0.0011, 0.042, 0.42, 3.50]},
}
def block(R: int, d: int) -> int:
    """Steps per pre-generated block: occ.run's own chunk length (32 MiB of data)."""
    from occ.harness import DEFAULT_CHUNK, chunk_length

    return chunk_length(DEFAULT_CHUNK, R, d)


def _learner(kind: str, domain: object) -> object:
    if kind == "adam":
        return occ.make_learner("adam", eta=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, domain=domain)
    return occ.make_learner("adagrad_diag", eta=1e-2, domain=domain)


def occ_kernel(kind: str, R: int, d: int, T: int, threads: int,
               regret_only: bool = False) -> float:
    """The compiled engine on the workload (seconds), compile time excluded: recording every
    bound ingredient, or (``regret_only``, a scenario with ``bounds = []``) the loss only."""
    domain = Ball(radius=1e9)  # the workload has no projection
    learner = _learner(kind, domain)
    BLOCK = block(R, d)
    G = np.random.default_rng(0).standard_normal((BLOCK, R, d))
    checkpoints = np.unique(np.round(np.logspace(0, np.log10(T), 20)).astype(np.int64))
    U = np.zeros((R, len(checkpoints), d))
    batch = LearnerBatch("x", learner, np.array(["x"] * R, dtype=object), np.arange(R), 1)
    info = learner.bound_info(d)

    def once(steps: int) -> float:
        needs = frozenset({"regret_only"}) if regret_only else frozenset()
        stepper = numba_engine.NumbaStepper(batch, domain, checkpoints, U, np.zeros((R, 20)),
                                            np.zeros((R, d)), info, needs, steps)
        start = time.perf_counter()
        for t0 in range(1, steps + 1, BLOCK):
            stepper.chunk(t0, G[: min(BLOCK, steps + 1 - t0)])
        return time.perf_counter() - start

    numba_engine.numba.set_num_threads(threads)
    once(min(BLOCK, T))  # compile / load from cache
    return min(once(T) for _ in range(3))


def floor_kernel(kind: str, R: int, d: int, T: int, threads: int) -> float:
    """A single fused pass of the same arithmetic: update and loss, nothing recorded."""
    numba_engine.numba.set_num_threads(threads)
    BLOCK = block(R, d)
    G = np.random.default_rng(0).standard_normal((BLOCK, R, d))
    w, m, v, loss = np.zeros((R, d)), np.zeros((R, d)), np.zeros((R, d)), np.zeros(R)
    _floor(1 if kind == "adam" else 0, G, w, m, v, loss, 1, 2)  # compile
    start = time.perf_counter()
    for t0 in range(1, T + 1, BLOCK):
        _floor(1 if kind == "adam" else 0, G, w, m, v, loss, t0, min(BLOCK, T + 1 - t0))
    return time.perf_counter() - start


if numba_engine.AVAILABLE:
    from numba import njit, prange

    @njit(parallel=True, cache=True, error_model="numpy", fastmath=numba_engine.FASTMATH)
    def _floor(adam, G, w, m, v, loss, t0, n):  # pragma: no cover
        R, d = w.shape
        for r in prange(R):
            for step in range(n):
                t = t0 + step
                c1, c2 = 1 - 0.9**t, 1 - 0.999**t
                acc = 0.0
                for i in range(d):
                    g = G[step, r, i]
                    acc += g * w[r, i]
                    if adam:
                        m[r, i] = 0.9 * m[r, i] + 0.1 * g
                        v[r, i] = 0.999 * v[r, i] + 0.001 * g * g
                        w[r, i] -= 1e-2 * (m[r, i] / c1) / (np.sqrt(v[r, i] / c2) + 1e-8)
                    else:
                        v[r, i] += g * g
                        w[r, i] -= 1e-2 * g / np.sqrt(v[r, i])
                loss[r] += acc


def numpy_loop(kind: str, R: int, d: int, T: int) -> float:
    learner = _learner(kind, Ball(radius=1e9))
    BLOCK = block(R, d)
    G = np.random.default_rng(0).standard_normal((BLOCK, R, d))
    state = learner.init(np.zeros((R, d)))
    loss = np.zeros(R)
    steps = max(T // 10, BLOCK)
    start = time.perf_counter()
    for t in range(steps):
        g = G[t % BLOCK]
        loss += np.sum(g * state.w, axis=-1)
        _, state = learner.update(state, g)
    return (time.perf_counter() - start) * T / steps


def torch_time(kind: str, R: int, d: int, T: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    BLOCK = block(R, d)
    G = torch.from_numpy(np.random.default_rng(0).standard_normal((BLOCK, R, d)))
    w = torch.zeros((R, d), dtype=torch.float64, requires_grad=True)
    optimizer = (torch.optim.Adam([w], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, foreach=True)
                 if kind == "adam" else torch.optim.Adagrad([w], lr=1e-2, foreach=True))
    loss = torch.zeros(R, dtype=torch.float64)
    start = time.perf_counter()
    for t in range(T):
        g = G[t % BLOCK]
        with torch.no_grad():
            loss += (g * w).sum(-1)
        w.grad = g.clone()
        optimizer.step()
    return time.perf_counter() - start


def optax_time(kind: str, R: int, d: int, T: int) -> tuple[float, float] | None:
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    BLOCK = block(R, d)
    G = jnp.asarray(np.random.default_rng(0).standard_normal((BLOCK, R, d)))
    optimizer = (optax.adam(1e-2, b1=0.9, b2=0.999, eps=1e-8) if kind == "adam"
                 else optax.adagrad(1e-2, initial_accumulator_value=0.0, eps=0.0))

    def body(carry, t):
        w, state, loss = carry
        g = G[t % BLOCK]
        loss = loss + jnp.sum(g * w, axis=-1)
        updates, state = optimizer.update(g, state, w)
        return (optax.apply_updates(w, updates), state, loss), None

    @jax.jit
    def run(w):
        carry, _ = jax.lax.scan(body, (w, optimizer.init(w), jnp.zeros(R)), jnp.arange(T))
        return carry[2]

    w0 = jnp.zeros((R, d))
    start = time.perf_counter()
    run(w0).block_until_ready()
    first = time.perf_counter() - start
    start = time.perf_counter()
    run(w0 + 0.0).block_until_ready()
    steady = time.perf_counter() - start
    return steady, first - steady


def workloads(T: int) -> None:
    print(f"W1 (Adam) and W2 (diagonal AdaGrad), T = {T}, seconds (best of 3)")
    header = (f"{'':10} {'R x d':>9} {'numpy loop':>11} {'occ 1 core':>11} {'occ 2 cores':>12}"
              f" {'regret only':>12} {'floor':>8} {'occ/floor':>9} {'torch':>9} {'optax':>9}"
              f" {'best/occ':>9}")
    print(header)
    for kind, name in (("adam", "W1 Adam"), ("adagrad", "W2 AdaGrad")):
        for index, (R, d) in enumerate(SIZES):
            loop = numpy_loop(kind, R, d, T)
            one = occ_kernel(kind, R, d, T, 1)
            two = occ_kernel(kind, R, d, T, 2) if R > 1 else one
            bare = occ_kernel(kind, R, d, T, 2 if R > 1 else 1, regret_only=True)
            floor = floor_kernel(kind, R, d, T, 2 if R > 1 else 1)
            measured_torch = torch_time(kind, R, d, T)
            measured_optax = optax_time(kind, R, d, T)
            reference = REFERENCE[kind]
            torch_s = measured_torch if measured_torch is not None else reference["torch"][index]
            optax_s = measured_optax[0] if measured_optax else reference["optax"][index]
            mark_t = "" if measured_torch is not None else "*"
            mark_o = "" if measured_optax else "*"
            print(f"{name:10} {f'{R}x{d}':>9} {loop:11.3f} {one:11.4f} {two:12.4f} {bare:12.4f} "
                  f"{floor:8.4f} {bare / floor:9.2f} {torch_s:8.3f}{mark_t} {optax_s:8.4f}{mark_o} "
                  f"{min(torch_s, optax_s) / bare:9.1f}")
    print("* the issue's reference figure (that library is not installed here: pip install "
          "'occ[bench]' to measure it side by side)")
    print("occ 1/2 cores: recording every bound ingredient; regret only (bounds = []): the "
          "loss every step, the workload torch/optax run; occ/floor and best/occ use it")


def matrix_learners(T: int) -> None:
    print(f"\neigendecomposition-bound learners, T = {T}, R = 1 (reference path), seconds")
    rng = np.random.default_rng(1)
    for name, d, shape in (("adagrad_full", 50, None), ("adagrad_full", 200, None),
                           ("shampoo", 1024, (32, 32))):
        if shape is None:
            learner = occ.make_learner(name, domain=Ball(radius=1.0))
        else:
            learner = occ.make_learner(name, domain=Ball(radius=1.0), shape=shape)
        g = rng.standard_normal((T, 1, d)) / np.sqrt(d)
        state = learner.init(np.zeros((1, d)))
        start = time.perf_counter()
        for t in range(T):
            _, state = learner.update(state, g[t])
        total = time.perf_counter() - start
        start = time.perf_counter()
        if shape is None:
            O = np.eye(d)[None] * 1e-8
            for t in range(T):
                O = O + g[t][:, :, None] * g[t][:, None, :]
                np.linalg.eigh(O)
        else:
            L = np.eye(32)[None] * 1e-6
            for t in range(T):
                Gm = g[t].reshape(1, 32, 32)
                L = L + Gm @ Gm.transpose(0, 2, 1)
                np.linalg.eigh(L)
                np.linalg.eigh(L)
        eig = time.perf_counter() - start
        label = f"{name} {'d=' + str(d) if shape is None else f'{shape[0]}x{shape[1]}'}"
        print(f"  {label:22} {total:7.2f} s ({1e3 * total / T:6.2f} ms/step); eigh alone "
              f"{eig:6.2f} s; learner/eigh = {total / eig:.2f}")


def end_to_end(T: int) -> None:
    print(f"\nend to end (occ.run: adversary, two passes, regret, bounds), R x d = 100 x 1000, "
          f"T = {T}")
    sc = parse_scenario({"d": 1000, "T": T, "seeds": 100, "domain": {"kind": "ball",
                         "radius": 1e9}, "adversary": {"kind": "linear_gaussian", "mean": 0.0},
                         "learners": {"adam": {"kind": "adam", "eta": 1e-2}}}, "<b>", "bench")
    numba_engine.numba.set_num_threads(2)
    occ.run(sc, T=64)  # compile / load
    start = time.perf_counter()
    occ.run(sc)
    full = time.perf_counter() - start
    kernel = occ_kernel("adam", 100, 1000, T, 2)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(2 * T // 40):  # the Gaussian draws of the two passes
        rng.standard_normal((40, 100, 1000))
    draws = time.perf_counter() - start
    print(f"  occ.run {full:.2f} s; kernel alone {kernel:.2f} s; ratio {full / kernel:.1f}; "
          f"of which drawing 2 x T x R x d Gaussian numbers takes {draws:.2f} s")


MEMORY_SCRIPT = """
import resource, occ
from occ.scenarios import parse_scenario
sc = parse_scenario({"d": 100, "T": 1000000, "seeds": 100, "domain": {"kind": "ball",
    "radius": 1.0}, "adversary": {"kind": "linear_periodic", "pattern": [1.0, -0.5, -0.7]},
    "learners": {"ogd": {"kind": "ogd", "step": "sqrt", "c": 0.1}}}, "<b>", "memory")
occ.run(sc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def memory() -> None:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True,
                         check=True)
    print(f"\npeak RSS of a T = 10^6, R = 100, d = 100 OGD run: "
          f"{float(out.stdout.strip()):.0f} MB ({time.perf_counter() - start:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=10_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not numba_engine.AVAILABLE:
        sys.exit("the benchmark needs numba: pip install 'occ[numba]'")
    workloads(args.T)
    matrix_learners(2000)
    end_to_end(args.T)
    if not args.skip_memory:
        memory()


if __name__ == "__main__":
    main()
