"""Small cells computed in one run per group (occ.sweeps.group_cells, run_cells): each cell's
tables are, text for text, those of the cell computed alone."""

from __future__ import annotations

from pathlib import Path

from occ.sweeps import MAX_GROUP, group_cells, load_sweep, run_cell, run_cells

SWEEP = """
name = "groups"
scenarios = ["default", "quadratic-ball"]
T = 30
seeds = 7
seed_block = 2
checkpoints = 4

[learners.sgd]
kind = "ogd"
eta = {log = [0.01, 1.0], num = 2}

[learners.adamw]
kind = "adamw"
eta = 0.1
decoupled = [true, false]
"""


def _cells(tmp_path: Path) -> list:
    path = tmp_path / "groups.toml"
    path.write_text(SWEEP)
    return list(load_sweep(path).cells)


def test_groups_hold_only_blocks_of_one_configuration(tmp_path: Path) -> None:
    cells = _cells(tmp_path)
    groups = group_cells(cells, workers=1)
    assert sorted(c.key for g in groups for c in g) == sorted(c.key for c in cells)
    for group in groups:
        assert len(group) <= MAX_GROUP
        assert len({(c.scenario, c.T, c.label, c.kind) for c in group}) == 1
    assert len(groups) == 2 * 3  # scenarios x (sgd, adamw twice), 4 blocks in each
    assert len(group_cells(cells, workers=12)) == len(cells)  # many workers: one cell a task


def test_a_group_gives_each_cell_its_own_tables(tmp_path: Path) -> None:
    cells = _cells(tmp_path)
    group = next(g for g in group_cells(cells, workers=1) if g[0].kind == "adamw")
    assert len(group) == 4 and [c.count for c in group] == [2, 2, 2, 1]
    together = run_cells(group)
    for cell, outcome in zip(group, together, strict=True):
        alone = run_cell(cell)
        assert outcome["status"] == alone["status"] == "done"
        assert outcome["key"] == cell.key
        assert outcome["metrics"] == alone["metrics"]
        assert outcome["bounds"] == alone["bounds"]


def test_a_failing_group_runs_cell_by_cell(tmp_path: Path, monkeypatch) -> None:
    cells = _cells(tmp_path)
    group = group_cells(cells, workers=1)[0]
    calls = []

    def fail(cells_: list) -> list:
        calls.append(len(cells_))
        if len(cells_) > 1:
            raise RuntimeError("boom")
        return [{"key": cells_[0].key, "status": "done", "metrics": "", "bounds": ""}]

    monkeypatch.setattr("occ.sweeps._tables", fail)
    outcomes = run_cells(group)
    assert [o["key"] for o in outcomes] == [c.key for c in group]
    assert calls == [len(group)] + [1] * len(group)


def test_each_cell_has_the_rows_of_its_seeds_as_pandas_writes_them(tmp_path: Path) -> None:
    """Against an independent reference: the group's run, each cell's rows selected by seed
    and written by pandas on their own (the tables are split once as text, not per cell)."""
    import copy
    import dataclasses

    import numpy as np

    from occ.api import run
    from occ.scenarios import LearnerSpec, parse_scenario

    cells = _cells(tmp_path)
    group = next(g for g in group_cells(cells, workers=1) if g[0].kind == "ogd")
    first = group[0]
    sc = parse_scenario(copy.deepcopy(first.data), first.source or first.scenario,
                        first.data.get("name", "scenario"))
    sc = dataclasses.replace(sc, learners=(LearnerSpec(first.label, first.kind,
                                                       first.params),))
    repetitions = np.concatenate([np.arange(c.first, c.first + c.count) for c in group])
    result = run(sc, T=first.T, seeds=int(repetitions.max()) + 1, repetitions=repetitions,
                 summary=False)
    for cell, outcome in zip(group, run_cells(group), strict=True):
        for name, frame in (("metrics", result.metrics),
                            ("bounds", result.bounds[result.bounds["t"] == cell.T])):
            rows = frame[(frame["seed"] >= cell.first) & (frame["seed"] < cell.first + cell.count)]
            assert len(rows) > 0
            expected = rows.assign(scenario=sc.name, d=sc.d, T=cell.T, cell=cell.key)
            assert outcome[name] == expected.to_csv(index=False), (cell.key, name)
