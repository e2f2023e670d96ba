"""The run figures show what they claim: a continuous band, visible one-point bounds,
bound colours apart from learner colours, the regret on top, legends off the curves, a
caption, and no empty panel or empty figure."""

from __future__ import annotations

import warnings

import matplotlib.colors as mcolors
import numpy as np
import pytest
from conftest import make_scenario

import occ
from occ import plots
from occ.figure_files import log_tick_label


@pytest.fixture(scope="module")
def default_run():
    return occ.run("default", T=300, seeds=4)


def _lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_the_band_is_one_piece_on_the_log_axis(default_run) -> None:
    fig = plots.regret_figure(default_run)
    for ax in fig.axes[1:len(fig.axes)]:
        for band in ax.collections:
            vertices = band.get_paths()[0].vertices
            assert np.isfinite(vertices).all()  # no NaN: never cut into slivers
            assert (vertices[:, 1] >= ax.get_ylim()[0] * (1 - 1e-12)).all()


def test_a_bound_at_one_checkpoint_is_a_visible_marker(default_run) -> None:
    fig = plots.regret_figure(default_run)
    labels = {}
    for ax in fig.axes:
        for line in _lines(ax):
            labels[line.get_label()] = line
    single = [line for label, line in labels.items() if "only)" in label]
    assert single, "eq23 and eq25 apply at t = T only in the default scenario"
    assert all(line.get_marker() not in (None, "None", "") for line in single)


def test_bounds_never_take_a_learner_colour(default_run) -> None:
    fig = plots.regret_figure(default_run)
    learner = {mcolors.to_hex(c) for c in plots.LEARNER_COLORS}
    for ax in fig.axes[1:]:
        for line in _lines(ax):
            if ": regret" in line.get_label() or "sqrt" in line.get_label():
                continue
            assert mcolors.to_hex(line.get_color()) not in learner, line.get_label()


def test_the_regret_is_drawn_above_its_bounds(default_run) -> None:
    fig = plots.regret_figure(default_run)
    for ax in fig.axes[1:]:
        lines = _lines(ax)
        regret = [line for line in lines if line.get_label().endswith(": regret")]
        if not regret:
            continue
        others = [line for line in lines if line not in regret]
        assert all(regret[0].get_zorder() > line.get_zorder() for line in others)


def test_legends_sit_outside_the_axes(default_run) -> None:
    for fig in (plots.regret_figure(default_run), plots.average_figure(default_run)):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box, frame = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            assert box.x0 >= frame.x1 - 1, "the legend overlaps its axes"
            for other in fig.axes:
                if other is not ax and other.axison:
                    assert not box.overlaps(other.get_window_extent(renderer)), \
                        "the legend overlaps another panel"


def test_a_single_legend_leaves_no_empty_gaps_between_panels(default_run) -> None:
    """average_regret.png has one legend, right of its last panel: the gaps between the
    panels are the y labels' room alone, not a legend's, and the legend ends inside the
    figure."""
    fig = plots.average_figure(default_run)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frames = [ax.get_window_extent(renderer) for ax in fig.axes if ax.axison]
    assert len(frames) >= 2
    dpi = fig.dpi
    for left, right in zip(frames, frames[1:], strict=False):
        assert (right.x0 - left.x1) / dpi == pytest.approx(0.8, abs=1e-6)  # inches
    legend = fig.axes[-1].get_legend().get_window_extent(renderer)
    assert legend.x1 <= fig.bbox.x1


def test_png_figures_are_written_at_the_fast_zlib_level(default_run, tmp_path) -> None:
    """Every PNG's image data is zlib level 1 (the FLEVEL bits of the stream's header:
    0x78 0x01), not matplotlib's default 6 (0x78 0x9c)."""
    plots.plot_average(default_run, tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    start = data.index(b"IDAT") + 4
    assert data[start:start + 2] == b"\x78\x01"


def test_every_figure_says_what_is_drawn(default_run) -> None:
    for fig in (plots.regret_figure(default_run), plots.average_figure(default_run)):
        caption = " ".join(text.get_text() for text in fig.texts)
        assert "95% t-interval of the mean" in caption and "mean over seeds" in caption
        assert all(ax.get_ylabel() for ax in fig.axes if ax.axison)


def test_the_overview_is_regret_over_sqrt_t_on_a_linear_axis(default_run) -> None:
    overview = plots.regret_figure(default_run).axes[0]
    assert overview.get_yscale() == "linear"
    assert overview.get_ylabel() == "R\u209c / \u221at"


@pytest.mark.parametrize(("value", "label"), [(1.0, "1"), (10.0, "10\u00b9"),
                                              (1000.0, "10\u00b3"), (0.01, "10\u207b\u00b2"),
                                              (1e-10, "10\u207b\u00b9\u2070"), (2.0, "2"),
                                              (0.5, "0.5"), (0.0, ""), (float("nan"), "")])
def test_log_tick_labels_are_plain_text(value: float, label: str) -> None:
    assert log_tick_label(value) == label


def test_the_run_figures_need_no_mathtext(default_run, tmp_path, monkeypatch) -> None:
    """Every label is plain text (mathtext's parser was 0.4 s of a small run's figures)."""
    import matplotlib.mathtext

    def refuse(self, s, *args, **kwargs):
        raise AssertionError(f"mathtext parsed: {s!r}")

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)
    written = [p.name for p in plots.plot_all(default_run, tmp_path)]
    assert {"regret.png", "average_regret.png"} <= set(written)


def test_regret_only_runs_draw_no_empty_panel_and_no_warning() -> None:
    result = occ.run(make_scenario(T=200, seeds=2, bounds=[]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.average_figure(result)
    assert all(ax.has_data() for ax in fig.axes)


def test_the_iterate_band_stays_in_the_feasible_set(default_run) -> None:
    fig = plots.average_figure(default_run)
    iterate = next(ax for ax in fig.axes if "w_t" in ax.get_title())
    radius = 1.0  # the default scenario's unit ball
    for band in iterate.collections:
        y = band.get_paths()[0].vertices[:, 1]
        assert (np.abs(y) <= radius + 1e-12).all()


def test_no_online_to_batch_figure_where_the_excess_risk_is_zero(default_run, tmp_path) -> None:
    assert (default_run.metrics["excess_risk"] == 0).all()
    written = [p.name for p in plots.plot_all(default_run, tmp_path)]
    assert "online_to_batch.png" not in written and "regret.png" in written


def test_a_result_plots_itself_and_shows_as_a_table(default_run) -> None:
    assert default_run.plot().axes
    assert default_run.plot("average").axes
    with pytest.raises(ValueError, match="figure"):
        default_run.plot("nothing")
    html = default_run._repr_html_()
    assert "<table" in html and "sgd_constant" in html

