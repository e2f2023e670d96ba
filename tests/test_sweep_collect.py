"""occ.sweeps.read_tables: the cells' CSV texts parsed in runs of one header give the
table that reading each text alone and concatenating gives (values, dtypes, columns)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from occ.sweeps import read_tables


def _one_by_one(texts, extras, **read_csv):
    frames = []
    for text, extra in zip(texts, extras or [{}] * len(texts), strict=True):
        frame = pd.read_csv(io.StringIO(text), **read_csv)
        for key, value in extra.items():
            frame[key] = value
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


A = "learner,seed,t,regret,note\nsgd,0,1,0.5,\nsgd,0,2,1.25,ok\n"
B = "learner,seed,t,regret,note\nadam,1,1,-3e-05,\n"
C = "learner,seed,t,regret\nadam,2,1,inf\nadam,2,2,nan\n"
EMPTY = "learner,seed,t,regret,note\n"
QUOTED = 'learner,seed,t,regret,note\nsgd,3,1,1.0,"two\nlines"\n'
NO_TAIL = "learner,seed,t,regret,note\nsgd,4,1,2.0,x"

CASES = {
    "one header": ([A, B, A], [{"eta": 0.1}, {"eta": 1}, {"eta": 0.5}]),
    "headers change": ([A, C, C, B], [{"eta": 0.1}, {}, {"beta": True}, {"eta": "x"}]),
    "header only": ([A, EMPTY, B], [{"eta": 0.1}, {"eta": 0.2}, {}]),
    "quoted newline": ([A, QUOTED, B], [{}, {"eta": 2}, {"eta": 3}]),
    "no final newline": ([NO_TAIL, A], [{"k": "{\"a\": 1}"}, {"k": "b"}]),
    "mixed kinds": ([A, B, A], [{"v": True}, {"v": 1}, {}]),
    "a key that is a column": ([A, B], [{"regret": 7.0}, {"regret": 8.0}]),
    "a column key in some texts": ([A, B], [{"regret": 7.0}, {}]),
    "no extras": ([A, B, C], None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_of_one_header_read_as_each_text_alone(name: str) -> None:
    texts, extras = CASES[name]
    expected = _one_by_one(texts, extras, dtype={"note": str})
    got = read_tables(texts, extras, dtype={"note": str})
    pd.testing.assert_frame_equal(got, expected)


def test_many_texts_with_random_extras_read_alike() -> None:
    rng = np.random.default_rng(0)
    texts, extras = [], []
    for i in range(40):
        rows = "".join(f"l{i % 3},{i},{t},{rng.standard_normal()!r},\n" for t in range(3))
        texts.append("learner,seed,t,regret,note\n" + rows)
        extras.append({"eta": float(rng.uniform()), "label": f"m{i % 5}"} if i % 4 else {})
    pd.testing.assert_frame_equal(read_tables(texts, extras, dtype={"note": str}),
                                  _one_by_one(texts, extras, dtype={"note": str}))
