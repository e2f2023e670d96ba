"""Issue 18's optimizers against the libraries that ship them: the same gradient sequence,
unconstrained, float64, iterates equal to 1e-10 relative. optax and torch are optional
(the ``bench`` extra), so each test skips without its library.

The keyword mapping (occ -> library) each test uses, and where conventions differ:

* ``lion``: ``optax.lion(learning_rate=eta, b1=beta1, b2=beta2, weight_decay=lambda)``.
* ``adopt``: ``optax.contrib.adopt(learning_rate=eta, b1=beta1, b2=beta2, eps=eps,
  use_clipping=clipping)`` (optax's default clip ``x**0.25`` of its step count = occ's).
* ``schedule_free_adamw``: ``optax.contrib.schedule_free_adamw(learning_rate=eta, b1=beta1,
  b2=beta2, eps=0, weight_decay=0)`` against occ with ``weight_bias_corrected = false``,
  ``eps = 0``: optax weights the average by eta s_t without sqrt(1 - beta2^t), puts eps
  after the bias correction and decays with eta s_t, all of which differ from the paper
  for eps > 0, lambda > 0 or the default weights. optax's params are y (occ's w);
  ``schedule_free_eval_params`` is x (occ's ``state.x``): both compared.
* ``muon``: ``optax.contrib.muon(learning_rate=eta, beta=beta, eps=eps, nesterov=...,
  weight_decay=lambda)`` on W^T (optax's weights act as x W: its width scale
  sqrt(max(1, n/m)) on W^T is occ's sqrt(max(1, m/n)) on W) against occ with
  ``bias_correction = true``; ``torch.optim.Muon(lr=eta, momentum=beta, nesterov=...,
  weight_decay=lambda, eps=0, adjust_lr_fn="original" | "match_rms_adamw")`` against occ
  with ``lr_scale = "original" | "moonlight"``, ``eps = 0`` (torch divides by
  max(||X||, eps), occ and optax by ||X|| + eps: equal at eps = 0). torch runs the
  Newton-Schulz iteration in bfloat16; the test replaces that one function by the same
  iteration in float64 (``_float64_newton_schulz``, torch's own ``addmm`` sequence), so
  it checks torch's momentum, Nesterov, learning-rate scaling and decay exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from occ.learners import make_learner

RNG = np.random.default_rng(18)
T = 40


def _occ(learner, G: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, list]:
    state = learner.init(w1[None])
    out, states = [], []
    for t in range(G.shape[0]):
        w, state = learner.update(state, G[t][None])
        out.append(np.asarray(w[0]))
        states.append(state)
    return np.array(out), states


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    """max over t of ||a_t - b_t||_inf / ||b_t||_inf."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return float(np.max(np.abs(a - b).max(axis=1) / np.maximum(np.abs(b).max(axis=1), 1e-300)))


def _optax(transform, G: np.ndarray, w1: np.ndarray, extra=None) -> tuple[np.ndarray, list]:
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    params = jnp.asarray(w1, dtype=jnp.float64)
    state = transform.init(params)
    update = jax.jit(transform.update)  # compiled once: op-by-op dispatch is slow
    out, seconds = [], []
    for t in range(G.shape[0]):
        updates, state = update(jnp.asarray(G[t]), state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params))
        if extra is not None:
            seconds.append(np.asarray(extra(state, params)))
    return np.array(out), seconds


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_lion_equals_optax_lion(weight_decay: float) -> None:
    optax = pytest.importorskip("optax")
    G, w1 = RNG.normal(size=(T, 5)), RNG.normal(size=5)
    ours, _ = _occ(make_learner("lion", eta=0.01, beta1=0.8, beta2=0.95,
                                weight_decay=weight_decay), G, w1)
    theirs, _ = _optax(optax.lion(0.01, b1=0.8, b2=0.95, weight_decay=weight_decay), G, w1)
    assert _relative(ours, theirs) <= 1e-10


@pytest.mark.parametrize("clipping", [True, False])
def test_adopt_equals_optax_adopt(clipping: bool) -> None:
    optax = pytest.importorskip("optax")
    G, w1 = RNG.normal(size=(T, 5)) * np.array([1, 10, 0.1, 1, 3]), RNG.normal(size=5)
    ours, _ = _occ(make_learner("adopt", eta=0.05, beta1=0.9, beta2=0.5, eps=1e-6,
                                clipping=clipping), G, w1)
    theirs, _ = _optax(optax.contrib.adopt(0.05, b1=0.9, b2=0.5, eps=1e-6,
                                           use_clipping=clipping), G, w1)
    assert _relative(ours, theirs) <= 1e-10
    np.testing.assert_array_equal(ours[0], w1)  # the first gradient only starts v


def test_schedule_free_adamw_equals_optax_in_both_sequences() -> None:
    optax = pytest.importorskip("optax")
    G, w1 = RNG.normal(size=(T, 4)), RNG.normal(size=4)
    learner = make_learner("schedule_free_adamw", eta=0.05, beta1=0.9, beta2=0.99, eps=0.0,
                           weight_bias_corrected=False)
    ours, states = _occ(learner, G, w1)
    eval_params = optax.contrib.schedule_free_eval_params
    theirs, x = _optax(optax.contrib.schedule_free_adamw(0.05, b1=0.9, b2=0.99, eps=0.0),
                       G, w1, extra=eval_params)
    assert _relative(ours, theirs) <= 1e-10
    assert _relative(np.array([s.x[0] for s in states]), np.array(x)) <= 1e-10


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("shape", [(3, 5), (5, 2)])
def test_muon_equals_optax_muon_on_the_transpose(nesterov: bool, shape) -> None:
    optax = pytest.importorskip("optax")
    m, n = shape
    G, W1 = RNG.normal(size=(T, m, n)), RNG.normal(size=(m, n))
    learner = make_learner("muon", eta=0.02, beta=0.9, nesterov=nesterov, eps=1e-8,
                           bias_correction=True, weight_decay=0.1, shape=shape)
    state = learner.init(W1[None])
    ours = []
    for t in range(T):
        w, state = learner.update(state, G[t][None])
        ours.append(w[0])
    transposed = np.swapaxes(G, 1, 2)
    theirs, _ = _optax(optax.contrib.muon(0.02, beta=0.9, eps=1e-8, nesterov=nesterov,
                                          weight_decay=0.1), transposed, W1.T)
    assert _relative(np.array(ours), np.swapaxes(theirs, 1, 2)) <= 1e-10


def _float64_newton_schulz(grad, ns_coefficients, ns_steps, eps):
    """torch's ``_zeropower_via_newtonschulz`` with its bfloat16 cast removed."""
    import torch

    a, b, c = ns_coefficients
    X = grad.to(torch.float64)
    if grad.size(0) > grad.size(1):
        X = X.T
    X = X / X.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = X @ X.T
        update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        X = torch.addmm(X, update, X, beta=a)
    return X.T if grad.size(0) > grad.size(1) else X


@pytest.mark.parametrize(("adjust", "scale"), [("original", "original"),
                                               ("match_rms_adamw", "moonlight")])
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (2, 4)])
def test_muon_equals_torch_muon(adjust, scale, nesterov, shape, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    import torch.optim._muon as torch_muon

    monkeypatch.setattr(torch_muon, "_zeropower_via_newtonschulz", _float64_newton_schulz)
    G, W1 = RNG.normal(size=(T, *shape)), RNG.normal(size=shape)
    learner = make_learner("muon", eta=0.02, beta=0.9, nesterov=nesterov, eps=0.0,
                           lr_scale=scale, weight_decay=0.1, shape=shape)
    ours, _ = _occ(learner, G.reshape(T, -1), W1.reshape(-1))
    p = torch.nn.Parameter(torch.tensor(W1, dtype=torch.float64))
    opt = torch.optim.Muon([p], lr=0.02, momentum=0.9, nesterov=nesterov, weight_decay=0.1,
                           eps=0.0, adjust_lr_fn=adjust)
    theirs = []
    for t in range(T):
        p.grad = torch.tensor(G[t], dtype=torch.float64)
        opt.step()
        theirs.append(p.detach().numpy().reshape(-1).copy())
    assert _relative(ours, np.array(theirs)) <= 1e-10
