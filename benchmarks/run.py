"""occ's speed on the regret workloads of the speed issue, side by side with torch.optim and
optax where they are installed (the optional `bench` extra), and against the floor.

W1: Adam (eta 1e-2, betas 0.9/0.999, eps 1e-8); W2: diagonal AdaGrad; oblivious linear
losses with pre-generated Gaussian gradients (a block of occ.run's chunk length, cycled),
T = 10^4, R repetitions x d coordinates, the loss <g_t, w_t> recorded every step. occ runs
them on the box [-1e9, 1e9]^d: a projection (a clip) every step that never binds, so the
iterates are those of the unconstrained torch/optax runs. For each size:

* occ, every bound ingredient: the compiled pass-2 kernel recording what the Recorder
  records (distances to the checkpoint comparators, (8), (10), the gradient term, ...);
* occ, regret only (a scenario with ``bounds = []``): the fused kernel recording the
  losses, S, L and the iterate sums, the workload torch and optax run;
* the floor: a single fused numba pass of the same arithmetic (update + loss, nothing
  else), repetitions over both cores;
* the NumPy per-step reference path (occ's init/update), timed on T/10 steps and scaled;
* torch.optim (foreach, for-loop and fused variants, the best of them) and optax under
  jax.jit(lax.scan) when importable (compile time apart, and in a second ratio);
  otherwise the issue's reference figures, marked as such.

Every library runs at the same thread count: 1 thread each (numba.set_num_threads(1),
torch.set_num_threads(1), XLA with ``XLA_SINGLE_THREAD`` in a child process), then 2 each;
both ratios are printed, with the load average beside each figure (the machine may be
shared: compare figures measured back to back).

Then full-matrix AdaGrad (d = 50, 200) and Shampoo (32 x 32, 64 x 64), T = 2000: occ.run
with every bound ingredient against torch and jax running the bare recursion, and against
the eigendecompositions alone; occ.run end to end against the kernel and the draws' bytes at
memory speed; the sweep throughput of small cells (1 and 2 workers); and the peak memory of
a T = 10^6, R = 100, d = 100 OGD run (in a subprocess). ``--only`` picks sections. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

import occ
from occ.adversaries.linear import LinearGaussian
from occ.batches import LearnerBatch
from occ.domains import Ball, Box
from occ.engines import numba_engine
from occ.scenarios import parse_scenario
from occ.statistics import Recording, iterate_needs

SIZES = [(1, 10), (1, 1000), (100, 100), (100, 1000)]
# the measurements on this kind of machine (median seconds), for when torch / jax
# are not installed here: torch.optim best variant, optax.adam in jax.jit(lax.scan)
REFERENCE = {
    "adam": {"torch": [1.06, 1.36, 2.34, 5.39], "optax": [0.0108, 0.060, 0.56, 4.58]},
    "adagrad": {"torch": [0.90, 1.42, 1.57, 4.16], "optax": [0.0011, 0.042, 0.42, 3.50]},
}
def block(R: int, d: int) -> int:
    """Steps per pre-generated block: occ.run's own chunk length (32 MiB of data)."""
    from occ.batches import DEFAULT_CHUNK, chunk_length

    return chunk_length(DEFAULT_CHUNK, R, d)


def _learner(kind: str, domain: object) -> object:
    if kind == "adam":
        return occ.make_learner("adam", eta=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, domain=domain)
    return occ.make_learner("adagrad_diag", eta=1e-2, domain=domain)


def occ_kernel(kind: str, R: int, d: int, T: int, threads: int,
               regret_only: bool = False) -> tuple[float, float]:
    """The compiled engine on the workload: (steady seconds, best of 3; seconds of the
    first call, which loads the kernel from numba's cache or compiles it) recording every
    bound ingredient, or (``regret_only``, a scenario with ``bounds = []``) the loss only."""
    domain = Box(low=-1e9, high=1e9)  # a clip every step, never binding
    learner = _learner(kind, domain)
    BLOCK = block(R, d)
    # each repetition's block contiguous, as occ's adversaries draw them (stack_streams)
    G = np.random.default_rng(0).standard_normal((R, BLOCK, d)).transpose(1, 0, 2)
    checkpoints = np.unique(np.round(np.logspace(0, np.log10(T), 20)).astype(np.int64))
    U = np.zeros((R, len(checkpoints), d))
    batch = LearnerBatch("x", learner, np.array(["x"] * R, dtype=object), np.arange(R), 1)
    facts = learner.facts(d)

    # what occ.run keeps of the iterate sums for these losses: a zero-mean linear_gaussian
    # adversary's excess risk reads m^T w_bar only (m = 0 here, the work done all the same)
    needs = iterate_needs(LinearGaussian(mean=0.0), d)

    def once(steps: int) -> float:
        recording = Recording(regret_only=regret_only)
        stepper = numba_engine.NumbaStepper(batch, domain, checkpoints, U, np.zeros((R, 20)),
                                            np.zeros((R, d)), facts, recording, steps,
                                            **needs)
        start = time.perf_counter()
        for t0 in range(1, steps + 1, BLOCK):
            stepper.chunk(t0, G[: min(BLOCK, steps + 1 - t0)])
        return time.perf_counter() - start

    numba_engine.numba.set_num_threads(threads)
    first = once(min(BLOCK, T, 8))  # compile / load from cache
    return min(once(T) for _ in range(3)), first


def floor_kernel(kind: str, R: int, d: int, T: int, threads: int) -> float:
    """A single fused pass of the same arithmetic: occ's own compiled step (the functions
    the reference update and the kernels call) and the loss, nothing recorded, no
    projection."""
    numba_engine.numba.set_num_threads(threads)
    BLOCK = block(R, d)
    G = np.random.default_rng(0).standard_normal((R, BLOCK, d))
    w, m, v, vmax = numba_engine.staggered_zeros(R, d, 4)  # as occ's own state
    loss = np.zeros(R)
    learner = _learner(kind, Box(low=-1e9, high=1e9))
    arguments = learner.step_arguments(d)
    hyper = np.tile(np.asarray(arguments.hyper, dtype=float), (R, 1))
    flags = tuple(arguments.flags) + (0,) * (FLAG_SLOTS - len(arguments.flags))
    adam = 1 if kind == "adam" else 0
    _floor(adam, G[:, :2], w, m, v, vmax, hyper, flags, loss, 1)  # compile
    start = time.perf_counter()
    for t0 in range(1, T + 1, BLOCK):
        _floor(adam, G[:, :min(BLOCK, T + 1 - t0)], w, m, v, vmax, hyper, flags, loss, t0)
    return time.perf_counter() - start


if numba_engine.AVAILABLE:
    from numba import njit, prange

    from occ.engines.numba_kernels import COMPILED_STEPS, FASTMATH, FLAG_SLOTS

    (_, _), (_adagrad_row, _adagrad_coordinate), (_adam_row, _adam_coordinate) = COMPILED_STEPS

    @njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
    def _floor(adam, G, w, m, v, vmax, hyper, flags, loss, t0):  # pragma: no cover
        R, n, d = G.shape
        for r in prange(R):
            for step in range(n):
                t = t0 + step
                acc = 0.0
                g = G[r, step]
                if adam:
                    scalars, _ = _adam_row(t, 1.0, hyper[r], flags, 0.0, 0.0)
                    for i in range(d):
                        acc += g[i] * w[r, i]
                        y, m[r, i], v[r, i], vmax[r, i], _ = _adam_coordinate(
                            g[i], w[r, i], m[r, i], v[r, i], vmax[r, i], 1.0, scalars, flags)
                        w[r, i] = y
                else:
                    scalars, _ = _adagrad_row(t, 1.0, hyper[r], flags, 0.0, 0.0)
                    for i in range(d):
                        acc += g[i] * w[r, i]
                        y, v[r, i], _, _, _ = _adagrad_coordinate(
                            g[i], w[r, i], v[r, i], 0.0, 0.0, 1.0, scalars, flags)
                        w[r, i] = y
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


def load() -> str:
    """The 1-minute load average, printed beside every figure (the machine is shared)."""
    return f"load {os.getloadavg()[0]:.1f}"


XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def in_child(threads: int, *arguments: object) -> list[float] | None:
    """Run ``main --child ARGUMENTS`` in a new process whose XLA (read once, at jax's start)
    uses ``threads`` threads: one (``XLA_SINGLE_THREAD``) or its default (all cores). Its
    printed numbers, or None where jax is not installed."""
    env = dict(os.environ)
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + XLA_SINGLE_THREAD).strip()
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, arguments)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0 or not out.stdout.strip() or out.stdout.strip() == "none":
        return None
    return [float(x) for x in out.stdout.split()]


def torch_time(kind: str, R: int, d: int, T: int, threads: int = 2) -> tuple[float, str] | None:
    """The best torch.optim variant (foreach, for-loop, fused) on ``threads`` threads:
    (seconds, variant). The parameter is one (R, d) tensor; the loss is recorded every
    step."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    BLOCK = block(R, d)
    G = torch.from_numpy(np.random.default_rng(0).standard_normal((BLOCK, R, d)))
    results = []
    for variant in ("foreach", "forloop", "fused"):
        options = {"foreach": variant == "foreach"}
        if variant == "fused":
            options = {"fused": True}
        w = torch.zeros((R, d), dtype=torch.float64, requires_grad=True)
        try:
            optimizer = (torch.optim.Adam([w], lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
                                          **options)
                         if kind == "adam" else torch.optim.Adagrad([w], lr=1e-2, **options))
        except (RuntimeError, TypeError, ValueError):  # a variant this version lacks
            continue
        loss = torch.zeros(R, dtype=torch.float64)
        steps = T if R * d <= 10_000 else max(T // 5, BLOCK)
        start = time.perf_counter()
        try:
            for t in range(steps):
                g = G[t % BLOCK]
                with torch.no_grad():
                    loss += (g * w).sum(-1)
                w.grad = g.clone()
                optimizer.step()
        except RuntimeError:  # e.g. fused not implemented for this device/dtype
            continue
        results.append(((time.perf_counter() - start) * T / steps, variant))
    return min(results) if results else None


def optax_time(kind: str, R: int, d: int, T: int, threads: int = 2) -> tuple[float, float] | None:
    """optax under jax.jit(lax.scan) in a child process with ``threads`` XLA threads:
    (steady seconds, compile seconds)."""
    result = in_child(threads, "optax", kind, R, d, T)
    return None if result is None else (result[0], result[1])


def _optax_time(kind: str, R: int, d: int, T: int) -> tuple[float, float] | None:
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


def first_call_seconds(fresh_cache: bool) -> float:
    """Seconds of the first regret-kernel call in a new process: loading the compiled
    kernel from numba's on-disk cache, or (``fresh_cache``) compiling it from scratch."""
    import os
    import tempfile

    code = ("import sys, time; sys.path.insert(0, 'benchmarks'); import run; "
            "print(run.occ_kernel('adam', 1, 10, 8, 1, regret_only=True)[1])")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if fresh_cache:
            env["NUMBA_CACHE_DIR"] = cache
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
    return float(out.stdout.strip())


def workloads(T: int, thread_counts: tuple[int, ...] = (1, 2)) -> None:
    """W1 and W2 at equal thread counts: numba (numba.set_num_threads), torch
    (torch.set_num_threads) and XLA (one thread: ``XLA_SINGLE_THREAD`` in a child process;
    two: its default, all cores) each on 1, then on 2 threads; the ratio best/occ per
    count, with the load average beside each row."""
    compile_s, load_s = first_call_seconds(True), first_call_seconds(False)
    print(f"W1 (Adam) and W2 (diagonal AdaGrad), T = {T}, seconds (best of 3), {load()}")
    print(f"occ's compiled kernels: {compile_s:.1f} s to compile (once, then cached on "
          f"disk), {load_s:.2f} s to load in a new process")
    header = (f"{'':10} {'R x d':>9} {'thr':>3} {'numpy loop':>10} {'all bounds':>10}"
              f" {'regret':>8} {'floor':>7} {'/floor':>6} {'torch':>7} {'variant':>7}"
              f" {'optax':>7} {'+compile':>8} {'best/occ':>8} {'w. compile':>10} {'load':>9}")
    print(header)
    for kind, name in (("adam", "W1 Adam"), ("adagrad", "W2 AdaGrad")):
        for index, (R, d) in enumerate(SIZES):
            loop = numpy_loop(kind, R, d, T) if thread_counts[0] == 1 else float("nan")
            for threads in thread_counts:
                full, _ = occ_kernel(kind, R, d, T, threads)
                bare, _ = occ_kernel(kind, R, d, T, threads, regret_only=True)
                floor = floor_kernel(kind, R, d, T, threads)
                measured_torch = torch_time(kind, R, d, T, threads)
                measured_optax = optax_time(kind, R, d, T, threads)
                reference = REFERENCE[kind]
                torch_s, variant = measured_torch or (reference["torch"][index], "*")
                optax_s, xla_s = measured_optax or (reference["optax"][index], float("nan"))
                mark_o = "" if measured_optax else "*"
                best = min(torch_s, optax_s)
                best_paid = min(torch_s, optax_s + (0.0 if np.isnan(xla_s) else xla_s))
                print(f"{name:10} {f'{R}x{d}':>9} {threads:3d} {loop:10.3f} {full:10.4f} "
                      f"{bare:8.4f} {floor:7.4f} {bare / floor:6.2f} {torch_s:7.3f} "
                      f"{variant:>7} {optax_s:6.4f}{mark_o} {xla_s:8.2f} {best / bare:8.2f} "
                      f"{best_paid / (bare + load_s):10.2f} {load():>9}", flush=True)
                loop = float("nan")
    print("* the issue's reference figure (that library is not installed here: pip install "
          "'occ[bench]' to measure it side by side)")
    print("thr: threads for every library alike (numba, torch, XLA); all bounds: occ "
          "recording every bound ingredient; regret: a scenario with bounds = [] (the loss "
          "every step, the workload torch/optax run);\n/floor and best/occ use it; "
          "'w. compile' adds optax's XLA compile and occ's kernel load to both sides")


def _eigen_step_torch(shape: tuple[int, ...], g: np.ndarray, threads: int = 2) -> float | None:
    """Full-matrix AdaGrad (shape (d,)) or Shampoo (shape (m, n)) written with
    torch.linalg.eigh, one step per gradient (no projection, nothing recorded), on
    ``threads`` threads: seconds."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    G = torch.from_numpy(g)
    start = time.perf_counter()
    if len(shape) == 1:
        d = shape[0]
        O, w = 1e-8 * torch.eye(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
        for t in range(G.shape[0]):
            O += torch.outer(G[t], G[t])
            lam, Q = torch.linalg.eigh(O)
            w -= 0.1 * Q @ ((Q.T @ G[t]) / lam.sqrt())
    else:
        m, n = shape
        L, R = 1e-6 * torch.eye(m, dtype=torch.float64), 1e-6 * torch.eye(n, dtype=torch.float64)
        W = torch.zeros((m, n), dtype=torch.float64)
        for t in range(G.shape[0]):
            Gm = G[t].reshape(m, n)
            L += Gm @ Gm.T
            R += Gm.T @ Gm
            a, QL = torch.linalg.eigh(L)
            b, QR = torch.linalg.eigh(R)
            W -= 0.1 * (QL * a ** -0.25) @ QL.T @ Gm @ (QR * b ** -0.25) @ QR.T
    return time.perf_counter() - start


def _eigen_step_jax(shape: tuple[int, ...], g: np.ndarray) -> tuple[float, float] | None:
    """The same under jax.jit(lax.scan) with jnp.linalg.eigh: (steady, compile) seconds."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    G = jnp.asarray(g)
    if len(shape) == 1:
        d = shape[0]

        def body(carry, gt):
            O, w = carry
            O = O + jnp.outer(gt, gt)
            lam, Q = jnp.linalg.eigh(O)
            return (O, w - 0.1 * Q @ ((Q.T @ gt) / jnp.sqrt(lam))), None

        init = (1e-8 * jnp.eye(d), jnp.zeros(d))
    else:
        m, n = shape

        def body(carry, gt):
            L, R, W = carry
            Gm = gt.reshape(m, n)
            L, R = L + Gm @ Gm.T, R + Gm.T @ Gm
            a, QL = jnp.linalg.eigh(L)
            b, QR = jnp.linalg.eigh(R)
            return (L, R, W - 0.1 * (QL * a ** -0.25) @ QL.T @ Gm @ (QR * b ** -0.25) @ QR.T), None

        init = (1e-6 * jnp.eye(m), 1e-6 * jnp.eye(n), jnp.zeros((m, n)))

    @jax.jit
    def run(G):
        return jax.lax.scan(body, init, G)[0]

    start = time.perf_counter()
    jax.block_until_ready(run(G))
    first = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(run(G + 0.0))
    steady = time.perf_counter() - start
    return steady, first - steady


EIGEN_CASES = (("adagrad_full", 50, None), ("adagrad_full", 200, None),
               ("shampoo", 1024, (32, 32)), ("shampoo", 4096, (64, 64)))


def eigen_gradients(d: int, T: int) -> np.ndarray:
    """The (T, d) gradients of an eigendecomposition case (the same in a child process)."""
    return np.random.default_rng(d).standard_normal((T, d)) / np.sqrt(d)


def eigen_scenario(name: str, d: int, shape: tuple[int, int] | None, T: int) -> object:
    data = {"d": d, "T": T, "seeds": 1, "checkpoints": 12,
            "domain": {"kind": "ball", "radius": 1.0},
            "adversary": {"kind": "linear_gaussian", "mean": 0.0},
            "learners": {"x": {"kind": name}}} | ({"shape": list(shape)} if shape else {})
    return parse_scenario(data, "<benchmark>", "benchmark")


def matrix_learners(T: int) -> None:
    """Full-matrix AdaGrad (d = 50, 200) and Shampoo (32 x 32, 64 x 64), R = 1: occ.run
    end to end with every bound ingredient recorded (Gamma_t, Fact 2.1, (8), (10), the
    A_t-norm projection onto the unit ball), occ's learner alone, one eigh per step alone
    (the floor of a recomputing learner; Shampoo: two), against torch and jax running the
    bare recursion (no projection, nothing recorded) at 1 and at 2 threads each."""
    from occ.blas_threads import single_threaded

    print(f"\neigendecomposition-bound learners, T = {T}, R = 1, seconds; occ.run records "
          f"every bound ingredient; torch/jax run the bare recursion (thr threads each)")
    print(f"  {'':20} {'occ.run':>7} {'learner':>7} {'eigh':>6} {'thr':>3} {'torch':>7} "
          f"{'jax':>7} {'compile':>7} {'best/occ.run':>12} {'load':>9}")
    for name, d, shape in EIGEN_CASES:
        sc = eigen_scenario(name, d, shape, T)
        occ.run(sc, T=70)  # numba's cache, imports
        start = time.perf_counter()
        occ.run(sc)
        total = time.perf_counter() - start
        learner = occ.make_learner(name, domain=Ball(radius=1.0),
                                   **({"shape": shape} if shape else {}))
        g = eigen_gradients(d, T)[:, None, :]
        with single_threaded():
            state = learner.init(np.zeros((1, d)))
            start = time.perf_counter()
            for t in range(T):
                _, state = learner.update(state, g[t])
            alone = time.perf_counter() - start
            start = time.perf_counter()
            m = shape[0] if shape else d
            M = np.eye(m)[None] * 1e-6
            for t in range(T):
                Gm = g[t].reshape(1, m, -1)
                M = M + Gm @ Gm.transpose(0, 2, 1)
                for _ in range(2 if shape else 1):
                    np.linalg.eigh(M)
            eig = time.perf_counter() - start
        label = f"{name} {'d=' + str(d) if shape is None else f'{shape[0]}x{shape[1]}'}"
        show = lambda x: f"{x:7.2f}" if x is not None else f"{'-':>7}"  # noqa: E731
        for threads in (1, 2):
            torch_s = _eigen_step_torch(shape or (d,), g[:, 0, :], threads)
            jax_s = in_child(threads, "eigen", name, d, T)
            others = [x for x in (torch_s, jax_s[0] if jax_s else None) if x is not None]
            print(f"  {label:20} {total:7.2f} {alone:7.2f} {eig:6.2f} {threads:3d} "
                  f"{show(torch_s)} {show(jax_s[0] if jax_s else None)} "
                  f"{show(jax_s[1] if jax_s else None)} "
                  f"{(min(others) / total if others else float('nan')):12.2f} {load():>9}",
                  flush=True)
            label = ""


def end_to_end(T: int) -> None:
    """occ.run (writing the run folder) on W1 at 100 x 1000 with Gaussian losses drawn by
    the adversary, every bound and regret only, against the kernel alone, with the time
    split by stage (each stage's own calls timed in place)."""
    import tempfile
    from collections import defaultdict

    from occ.harness import DataTrack

    print(f"\nend to end (occ.run: adversary, regret, bounds, writing), W1 Adam, R x d = "
          f"100 x 1000, T = {T}, seconds")
    spent: dict[str, float] = defaultdict(float)

    def timed(owner: type, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start
        setattr(owner, name, wrapper)

    timed(LinearGaussian, "draw", "adversary draws (Gaussian, both cores)")
    timed(DataTrack, "chunk", "pass 1 (comparators)")
    timed(numba_engine.NumbaStepper, "chunk", "learner kernel")
    numba_engine.numba.set_num_threads(2)
    block_ = np.empty((block(100, 1000), 100, 1000))  # one chunk's draws, written once
    np.multiply(block_, 0.0, out=block_)
    start = time.perf_counter()
    np.multiply(block_, 0.0, out=block_)
    memory_speed = (time.perf_counter() - start) * T / block_.shape[0]
    del block_
    for label, bounds in (("every bound (two passes)", None), ("regret only (one pass)", [])):
        data = {"d": 1000, "T": T, "seeds": 100, "domain": {"kind": "box", "low": -1e9,
                "high": 1e9}, "adversary": {"kind": "linear_gaussian", "mean": 0.0},
                "learners": {"adam": {"kind": "adam", "eta": 1e-2}}}
        if bounds is not None:
            data["bounds"] = bounds
        sc = parse_scenario(data, "<b>", "bench")
        with tempfile.TemporaryDirectory() as out:
            occ.run(sc, T=64)  # compile / load
            spent.clear()
            start = time.perf_counter()
            occ.run(sc, out=out)
            total = time.perf_counter() - start
        stages = dict(spent)
        alone = occ_kernel("adam", 100, 1000, T, 2, regret_only=bounds == [])[0]
        kernel = stages["learner kernel"]
        rest = total - sum(stages.values())
        draws = stages["adversary draws (Gaussian, both cores)"]
        parts = "; ".join(f"{k} {v:.2f}" for k, v in stages.items())
        print(f"  {label}: occ.run {total:.2f} s = {parts}; the rest (comparators, tables, "
              f"plots, writing) {rest:.2f} ({load()})")
        print(f"    occ.run/kernel {total / kernel:.1f}; without the adversary's own draws "
              f"{(total - draws) / kernel:.2f} (the kernel alone on cycled pre-generated data "
              f"and this run's statistics needs: {alone:.2f} s); occ.run / (kernel + the "
              f"draws' bytes written at memory speed, {memory_speed:.2f} s) "
              f"{total / (kernel + memory_speed):.2f} ({load()})")


MEMORY_SCRIPT = """
import resource, occ
from occ.scenarios import parse_scenario
sc = parse_scenario({"d": 100, "T": 1000000, "seeds": 100, "domain": {"kind": "ball",
    "radius": 1.0}, "adversary": {"kind": "linear_periodic", "pattern": [1.0, -0.5, -0.7]},
    "learners": {"ogd": {"kind": "ogd", "step": "sqrt", "c": 0.1}}}, "<b>", "memory")
occ.run(sc)
try:  # this process's own high-water mark: Linux keeps ru_maxrss across the exec that
    # started it, so ru_maxrss can report the (larger) parent that forked it
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    print(int(status.split()[0]) / 1024)
except (OSError, IndexError):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def memory() -> None:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True,
                         check=True)
    print(f"\npeak RSS of a T = 10^6, R = 100, d = 100 OGD run: "
          f"{float(out.stdout.strip()):.0f} MB ({time.perf_counter() - start:.0f} s)")


def sweeps() -> None:
    """Cells per second of 96 small cells on 1 and 2 workers (benchmarks/sweep_throughput.py)."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import sweep_throughput

    print(f"\nsweep of small cells ({load()} before)")
    sweep_throughput.main([])
    print(f"  ({load()} after)")


def child(arguments: list[str]) -> None:
    """``--child optax KIND R d T`` or ``--child eigen NAME d T``: print the jax figures
    (steady, compile seconds), or ``none`` where jax is not installed."""
    if arguments[0] == "optax":
        kind, R, d, T = arguments[1], *map(int, arguments[2:5])
        result = _optax_time(kind, R, d, T)
    else:
        name, d, T = arguments[1], int(arguments[2]), int(arguments[3])
        shape = next(s for n, dd, s in EIGEN_CASES if n == name and dd == d)
        result = _eigen_step_jax(shape or (d,), eigen_gradients(d, T))
    print("none" if result is None else f"{result[0]} {result[1]}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=10_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--eigen-T", type=int, default=2000, help="T of the eigen section")
    parser.add_argument("--only", default="workloads,eigen,end_to_end,sweeps,memory",
                        help="comma-separated sections to run")
    args = parser.parse_args()
    if not numba_engine.AVAILABLE:
        sys.exit("the benchmark needs numba: pip install 'occ[numba]'")
    sections = set(args.only.split(","))
    if "workloads" in sections:
        workloads(args.T)
    if "eigen" in sections:
        matrix_learners(args.eigen_T)
    if "end_to_end" in sections:
        end_to_end(args.T)
    if "sweeps" in sections:
        sweeps()
    if "memory" in sections and not args.skip_memory:
        memory()


if __name__ == "__main__":
    main()
