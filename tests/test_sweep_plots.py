"""Sweep figures: regret against d only within scenarios that differ in d alone; the ratio
against T is the worst over a grid under study, never its average, in distinct styles."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from occ.plots import dimension_families, ratio_against_T_figure
from occ.scenarios import load_scenario


def _sweep(names: list[str]) -> SimpleNamespace:
    cells = [SimpleNamespace(scenario=n, config={"scenario": load_scenario(n).resolved()})
             for n in names]
    return SimpleNamespace(cells=cells)


def test_only_scenarios_that_differ_in_d_alone_form_a_family() -> None:
    families = dimension_families(_sweep(["experts-d4", "experts-d64", "experts-d1024",
                                          "default", "quadratic-ball"]))
    assert families == [["experts-d4", "experts-d64", "experts-d1024"]]
    assert dimension_families(_sweep(["default", "quadratic-ball"])) == []


def test_the_ratio_against_T_is_the_worst_grid_member() -> None:
    rows = [{"scenario": "s", "learner": f"adam[eta={eta}]", "bound": "eq10", "T": T,
             "t": T, "ratio": ratio, "applicable": True}
            for T in (100, 1000) for eta, ratio in ((0.1, 0.2), (1.0, 0.8))]
    rows += [{"scenario": "s", "learner": "sgd", "bound": b, "T": T, "t": T, "ratio": 0.5,
              "applicable": True} for T in (100, 1000) for b in ("eq10", "eq24")]
    fig = ratio_against_T_figure(pd.DataFrame(rows))
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert list(lines["s/adam/eq10"].get_ydata()) == [0.8, 0.8]
    styles = {(line.get_color(), line.get_linestyle()) for line in lines.values()}
    assert len(styles) == len(lines) == 3


def test_a_sweep_figure_is_written_without_mathtext(tmp_path, monkeypatch) -> None:
    """Its log axes get plain-text labels before the layout measures them (the layout ran
    first, and parsed every default label as mathtext)."""
    import matplotlib.mathtext

    from occ.figure_files import save_figure

    def refuse(self, s, *args, **kwargs):
        raise AssertionError(f"mathtext parsed: {s!r}")

    rows = [{"scenario": "s", "learner": "sgd", "bound": "eq24", "T": T, "t": T,
             "ratio": r, "applicable": True} for T, r in ((100, 0.5), (10_000, 0.01))]
    fig = ratio_against_T_figure(pd.DataFrame(rows))
    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)
    save_figure(fig, tmp_path / "ratio.png")
    assert (tmp_path / "ratio.png").stat().st_size > 1000
