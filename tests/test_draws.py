"""The compiled Gaussian fill (occ.draws) gives NumPy's numbers bit for bit, leaves each
generator in NumPy's state, and the adversaries' draws are unchanged by it."""

from __future__ import annotations

import numpy as np
import pytest

from occ import draws
from occ.adversaries.base import PARALLEL_DRAW_MINIMUM, stack_streams
from occ.harness import repetition_generators


def _pair(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    make = lambda: np.random.Generator(np.random.PCG64(  # noqa: E731
        np.random.SeedSequence(entropy=seed, spawn_key=(3, 0))))
    return make(), make()


def test_the_compiled_fill_exists() -> None:
    """numba is in the base install: the compiled fill is what the tests below check."""
    assert draws.compiled_fill() is not None


@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (7, 3), (400, 1000)])
def test_compiled_fill_is_numpys(shape: tuple[int, int]) -> None:
    """4 * 10^5 numbers reach the ziggurat's rare tail and wedge branches too."""
    ours, numpys = _pair(sum(shape))
    a, b = np.empty(shape), np.empty(shape)
    draws.fill_standard_normal(ours, a, compiled=True)
    numpys.standard_normal(out=b)
    assert np.array_equal(a, b)
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert np.array_equal(ours.standard_normal(5), numpys.standard_normal(5))


def test_other_bit_generators_and_layouts_use_numpy() -> None:
    g, h = np.random.Generator(np.random.Philox(1)), np.random.Generator(np.random.Philox(1))
    a = np.empty((5, 6))
    draws.fill_standard_normal(g, a, compiled=True)
    assert np.array_equal(a, h.standard_normal((5, 6)))
    ours, numpys = _pair(9)
    view = np.empty((6, 5)).T  # not C-contiguous
    draws.fill_standard_normal(ours, view, compiled=True)
    expected = np.empty((6, 5)).T
    numpys.standard_normal(out=expected)
    assert np.array_equal(view, expected)


def test_a_process_switches_to_the_compiled_fill_after_enough_numbers(monkeypatch) -> None:
    """Small draws use NumPy's fill (the compiled one's start would cost more than it
    saves); once the process has drawn COMPILED_AFTER numbers, the compiled one."""
    calls = []
    monkeypatch.setattr(draws, "_compiled", lambda g, out: calls.append(out.size))
    monkeypatch.setattr(draws, "_drawn", 0)
    monkeypatch.setattr(draws, "COMPILED_AFTER", 100)
    g = np.random.default_rng(0)
    draws.fill_standard_normal(g, np.empty((10, 10)))
    assert calls == []  # 100 numbers drawn: not more than the threshold
    draws.fill_standard_normal(g, np.empty(3))
    assert calls == [3]
    draws.fill_standard_normal(g, np.empty(4), compiled=False)
    assert calls == [3]


@pytest.mark.parametrize("compiled", [None, True])
@pytest.mark.parametrize("n", [3, 1 + PARALLEL_DRAW_MINIMUM // 40])
def test_stack_streams_equals_plain_numpy_per_repetition(n: int, compiled: bool | None,
                                                        monkeypatch) -> None:
    """Below and above the threaded size, with either fill: repetition k's block is its
    generator's standard_normal, whatever the batch."""
    if compiled:
        monkeypatch.setattr(draws, "COMPILED_AFTER", -1)
    repetitions = np.array([0, 4, 5, 9])
    rngs = repetition_generators(11, repetitions, ("noise",))
    got = stack_streams(rngs, "noise", "standard_normal", n, 10)
    plain = repetition_generators(11, repetitions, ("noise",))
    for s in range(len(repetitions)):
        assert np.array_equal(got[:, s, :], plain[s]["noise"].standard_normal((n, 10)))
    alone = stack_streams(repetition_generators(11, repetitions[2:3], ("noise",)), "noise",
                          "standard_normal", n, 10)
    assert np.array_equal(alone[:, 0, :], got[:, 2, :])
