"""`[expect]` with a hyperparameter grid: a base label means every member, a member is
addressed by its label, an unknown name is an error that names the field."""

from __future__ import annotations

import pytest
from conftest import make_scenario

import occ
from occ.check import expectation_rows
from occ.errors import OccError


@pytest.fixture(scope="module")
def grid_run():
    return occ.run(make_scenario(T=300, seeds=6, learners={
        "good": {"kind": "ogd", "step": "sqrt", "c": [0.3, 0.5]},
        "bad": {"kind": "ogd", "eta": 10.0}}))


def test_a_base_label_means_every_member(grid_run) -> None:
    rows = expectation_rows("s", {"regret_order": ["good", "bad"]}, grid_run)
    assert sorted(r["learner"] for r in rows) == ["good[c=0.3] < bad", "good[c=0.5] < bad"]
    assert all(r["verdict"] == "ok" for r in rows)  # eta = 10 on the unit ball is far worse


def test_a_member_is_addressed_by_its_label(grid_run) -> None:
    rows = expectation_rows("s", {"regret_order": ["good[c=0.5]", "bad"]}, grid_run)
    assert [r["learner"] for r in rows] == ["good[c=0.5] < bad"]
    limit = expectation_rows("s", {"average_regret_below": {"good": 10.0}}, grid_run)
    assert len(limit) == 2 and all(r["verdict"] == "ok" for r in limit)


def test_an_unknown_label_names_the_field_and_the_labels(grid_run) -> None:
    message = r"expect\.regret_order: no learner 'nobody'.*good\[c=0\.3\]"
    with pytest.raises(OccError, match=message):
        expectation_rows("s", {"regret_order": ["nobody", "bad"]}, grid_run)
