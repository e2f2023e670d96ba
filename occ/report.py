"""`occ report`: one self-contained HTML file for one or several run folders.

Everything is inline (figures as base64 PNG, tables, a stylesheet; no script or font is
fetched), so the file opens from a mail attachment or an air-gapped machine. For each run:
the scenario's description, every learner's final regret with its interval, each bound's
verdict (holds / VIOLATED / not applicable) with the number of (seed, checkpoint) rows it
was checked on and its worst ratio, the figures, the scenario as parsed and the run's
metadata. For several runs, a first table sets their learners side by side.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from occ.atomic import atomic_write
from occ.bounds import bound_verdicts
from occ.figure_files import finish_log_axes, png_options
from occ.plots import average_figure, regret_figure
from occ.results import RunResult

__all__ = ["render_report", "write_report"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.text, th.text { text-align: left; }
.violated { color: #b00020; font-weight: bold; } .holds { color: #1b5e20; }
.na { color: #777; } img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.caption { color: #555; font-size: 0.85em; }
"""


def _figure_png(figure: Any) -> str:
    """A matplotlib figure as an inline ``<img>`` (base64 PNG), then closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    finish_log_axes(figure)
    figure.savefig(buffer, format="png", dpi=90, **png_options("png"))
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame, text_columns: Sequence[str] = ()) -> str:
    """An HTML table of ``frame`` (numbers to 4 significant digits, text escaped)."""
    head = "".join(f'<th class="{"text" if c in text_columns else ""}">{html.escape(str(c))}'
                   "</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = row[column]
            css = "text" if column in text_columns else ""
            if column == "verdict":
                css += {"VIOLATED": " violated", "holds": " holds"}.get(value, " na")
            if isinstance(value, float):
                text = "" if value != value else f"{value:.4g}"
            else:
                text = html.escape(str(value))
            cells.append(f'<td class="{css.strip()}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _run_name(result: RunResult) -> str:
    name = result.meta.get("scenario", {}).get("name", "run")
    return f"{name} ({result.path.name})" if result.path is not None else name


def _summary_table(result: RunResult) -> pd.DataFrame:
    columns = ["learner", "final_regret_mean", "final_regret_ci95_low",
               "final_regret_ci95_high", "regret_exponent", "diverged_seeds", "violations"]
    present = [c for c in columns if c in result.summary]
    return result.summary[present]


def _run_section(result: RunResult, index: int) -> str:
    scenario = result.meta.get("scenario", {}) or {}
    description = str(scenario.get("description", "")).strip()
    engines = result.meta.get("engines", {})
    verdicts = bound_verdicts(result)
    parts = [f'<h2 id="run{index}">{html.escape(_run_name(result))}</h2>']
    if description:
        parts.append(f"<p>{html.escape(description.splitlines()[0])}</p>")
    parts.append(f"<p>T = {result.meta.get('T')}, {result.meta.get('seeds')} seeds, base seed "
                 f"{result.meta.get('seed')}; engines: "
                 f"{html.escape(', '.join(f'{k}: {v}' for k, v in engines.items()))}</p>")
    parts += ["<h3>Learners</h3>", _table(_summary_table(result), ["learner"])]
    parts += ["<h3>Bounds</h3>",
              '<p class="caption">checked: the (seed, checkpoint) rows where every '
              "assumption held, out of rows; a violation is regret above the bound by more "
              "than the floating-point error budget of the two.</p>",
              _table(verdicts, ["learner", "bound", "verdict", "why_not_applicable"])]
    parts += ["<h3>Figures</h3>", _figure_png(regret_figure(result)),
              _figure_png(average_figure(result))]
    parts += ["<h3>Scenario</h3>",
              f"<pre>{html.escape(json.dumps(scenario, indent=2, default=str))}</pre>"]
    meta = {k: v for k, v in result.meta.items() if k != "scenario"}
    parts += ["<h3>Metadata</h3>",
              f"<pre>{html.escape(json.dumps(meta, indent=2, default=str))}</pre>"]
    return "\n".join(parts)


def _comparison(results: Sequence[RunResult]) -> str:
    """The runs' learners side by side: final mean regret and violations per run."""
    frames = []
    for result in results:
        table = _summary_table(result)[["learner", "final_regret_mean", "violations"]].copy()
        table.insert(0, "run", _run_name(result))
        frames.append(table)
    both = pd.concat(frames, ignore_index=True)
    wide = both.pivot_table(index="learner", columns="run", values="final_regret_mean",
                            sort=False).reset_index()
    wide.columns = [str(c) if c == "learner" else f"final regret: {c}" for c in wide.columns]
    return ("<h2>Comparison</h2><p>Final mean regret of each learner in each run (empty "
            "where a run has no such learner).</p>" + _table(wide, ["learner"]))


def render_report(results: Sequence[RunResult]) -> str:
    """The HTML text of the report of ``results`` (one or more runs)."""
    if not results:
        raise ValueError("results: at least one run is needed")
    title = "occ report: " + ", ".join(_run_name(r) for r in results)
    sections = [_comparison(results)] if len(results) > 1 else []
    sections += [_run_section(r, i) for i, r in enumerate(results)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>" + "\n".join(sections) + "</body></html>\n")


def write_report(results: Sequence[RunResult], path: Path) -> Path:
    """Write the report of ``results`` to ``path`` atomically; returns ``path``."""
    text = render_report(results)
    atomic_write(Path(path), lambda p: p.write_text(text, encoding="utf-8"))
    return Path(path)
