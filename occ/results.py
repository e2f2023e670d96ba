"""Run results as tidy tables, and result folders written atomically.

A run folder holds (format documented in the README, stable):

* ``metrics.csv``: one row per learner x seed x checkpoint: ``learner, seed, t,
  cumulative_loss, comparator_loss, regret, diverged``;
* ``bounds.csv``: one row per learner x seed x checkpoint x bound: ``learner, seed, t,
  bound, value, regret, ratio, applicable, violated, note``;
* ``facts.csv``: one row per learner x seed x checkpoint x fact (Fact 2.1, Lemma C.4):
  ``learner, seed, t, fact, lhs, rhs, ratio, holds``;
* ``summary.csv``: one row per learner (see :func:`summarize`);
* ``meta.json``: the scenario as parsed, seeds, versions, git revision, wall time;
* ``regret.png``, ``average_regret.png`` and, with a hyperparameter grid,
  ``sensitivity.png``: the figures of :mod:`occ.plots`.

The folder is assembled under a temporary name beside its final place and renamed when
complete, and each file is written to a temporary name and renamed, so a crash never
leaves a half-written result and never touches results written before.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occ.atomic import atomic_write, current_umask, owner_tag
from occ.intervals import mean_interval, regret_exponent

METRIC_COLUMNS = ["learner", "seed", "t", "cumulative_loss", "comparator_loss", "regret",
                  "diverged", "iterate_0", "mean_iterate_0", "eq10_first_term", "gradient_term",
                  "monotone_min", "monotone_slack", "shadow_regret"]


@dataclass
class RunResult:
    """What `occ.run` returns: tidy DataFrames, metadata and the folder written (if any)."""

    metrics: pd.DataFrame
    bounds: pd.DataFrame
    summary: pd.DataFrame
    meta: dict[str, Any]
    path: Path | None = None
    trajectories: dict[str, np.ndarray] = field(default_factory=dict)
    facts: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)

    @property
    def violations(self) -> pd.DataFrame:
        """Bound rows where the regret exceeded an applicable bound."""
        return self.bounds[self.bounds["violated"]]

    def plot(self, figure: str = "regret") -> Any:
        """The matplotlib figure of ``regret.png`` (``figure="regret"``) or of
        ``average_regret.png`` (``"average"``), for a notebook or further editing."""
        from occ import plots

        drawers = {"regret": plots.regret_figure, "average": plots.average_figure}
        if figure not in drawers:
            raise ValueError(f"figure: must be one of {sorted(drawers)}, got {figure!r}")
        return drawers[figure](self)

    def _repr_html_(self) -> str:
        """A notebook shows a result as its summary table."""
        name = self.meta.get("scenario", {}).get("name", "run")
        head = f"<p><b>occ run</b> {name}: T = {self.meta.get('T')}, " \
               f"{self.meta.get('seeds')} seeds</p>"
        return head + self.summary.to_html(index=False, float_format=lambda v: f"{v:.4g}")


def metrics_frame(statistics: Any, row_labels: np.ndarray, row_seeds: np.ndarray) -> pd.DataFrame:
    """The tidy metrics of one learner batch (columns ``METRIC_COLUMNS``); the bound
    ingredients are NaN for learners not of mirror-descent form."""
    R, K = statistics.regret.shape
    nan = np.full((R, K), np.nan)
    md = statistics.eq10_first is not None
    return pd.DataFrame({
        "learner": np.repeat(row_labels, K),
        "seed": np.repeat(row_seeds, K),
        "t": np.tile(statistics.t, R),
        "cumulative_loss": statistics.cumulative_loss.ravel(),
        "comparator_loss": statistics.comparator_loss.ravel(),
        "regret": statistics.regret.ravel(),
        "diverged": statistics.diverged.ravel(),
        "iterate_0": statistics.iterate_0.ravel(),
        "mean_iterate_0": (statistics.iterate_sum[:, :, 0] / statistics.t[None, :]).ravel(),
        "eq10_first_term": (statistics.eq10_first if md else nan).ravel(),
        "gradient_term": (statistics.gradient_term if md else nan).ravel(),
        "monotone_min": (statistics.gamma_min if md else nan).ravel(),
        "monotone_slack": (statistics.monotone_slack if md else nan).ravel(),
        "shadow_regret": (nan if statistics.shadow_cumulative_loss is None else
                          statistics.shadow_cumulative_loss - statistics.comparator_loss).ravel(),
    })[METRIC_COLUMNS]


def summarize(metrics: pd.DataFrame, bounds: pd.DataFrame,
              facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per learner: final regret mean with its 95% interval over seeds, the
    log-log exponent of regret in t with its interval, diverged seeds, for each bound
    the worst ratio regret/bound and the number of violations, and for each fact
    (Fact 2.1, Lemma C.4) the worst ratio lhs/rhs."""
    rows = []
    for learner, group in metrics.groupby("learner", sort=False):
        T = group["t"].max()
        final = group[group["t"] == T]["regret"].to_numpy()
        mean, low, high = mean_interval(final)
        by_t = group.groupby("t")["regret"].mean()
        slope, slope_low, slope_high = regret_exponent(by_t.index.to_numpy(), by_t.to_numpy())
        row = {
            "learner": learner, "T": int(T), "seeds": group["seed"].nunique(),
            "final_regret_mean": mean, "final_regret_ci95_low": low,
            "final_regret_ci95_high": high, "regret_exponent": slope,
            "regret_exponent_ci95_low": slope_low, "regret_exponent_ci95_high": slope_high,
            "diverged_seeds": int(group.groupby("seed")["diverged"].any().sum()),
        }
        mine = bounds[bounds["learner"] == learner]
        row["violations"] = int(mine["violated"].sum())
        for name, rows_b in mine.groupby("bound", sort=False):
            ratios = rows_b["ratio"].dropna()
            row[f"worst_ratio_{name}"] = float(ratios.max()) if len(ratios) else np.nan
            row[f"checked_{name}"] = int(rows_b["applicable"].astype(bool).sum())
        if facts is not None and len(facts):
            mine_facts = facts[facts["learner"] == learner]
            row["violations"] += int((~mine_facts["holds"].astype(bool)).sum())
            for name, rows_f in mine_facts.groupby("fact", sort=False):
                ratios = rows_f["ratio"].dropna()
                row[f"worst_ratio_{name}"] = float(ratios.max()) if len(ratios) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def environment() -> dict[str, Any]:
    """Versions of occ and its libraries, the git revision when known, the machine: found
    once per process (package metadata and ``git rev-parse`` cost ~0.1 s, which a sweep of
    small cells paid in every cell), a fresh copy each call."""
    return dict(_environment())


@functools.cache
def _environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    from occ.version import __version__

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    revision = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
            text=True, timeout=5, check=True).stdout.strip() or None
    return {
        "occ": __version__, "python": platform.python_version(),
        **{name: installed(name) for name in ("numpy", "scipy", "pandas", "matplotlib", "click",
                                              "numba")},
        "git_revision": revision, "machine": platform.platform(),
    }


_TAG = re.compile(r"\.~(?P<host>[A-Za-z0-9-]+)-(?P<pid>[0-9]+)~")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: Path) -> list[Path]:
    """Remove the temporary files and staging folders in ``folder`` left by a process of
    this host that no longer runs (a run killed with SIGKILL); return what was removed."""
    removed: list[Path] = []
    host = owner_tag().rsplit("-", 1)[0]
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not entry.name.endswith((".tmp", ".partial")):
            continue
        match = _TAG.search(entry.name)
        if match is None or match["host"] != host or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed


def usable_folder(path: Path | str, option: str = "--out") -> Path:
    """Check, before any computing, that results can be written under ``path``: not empty,
    not below a file, and writable where the first folder would be created. Returns the
    path; :class:`~occ.errors.OccError` naming the option otherwise."""
    from occ.errors import OccError

    if str(path).strip() == "":
        raise OccError(f"{option}: must be a folder path, got ''")
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise OccError(f"{option}: {probe} is a broken symbolic link")
        parent = probe.parent
        if parent == probe:
            break
        probe = parent
    if probe.exists() and not probe.is_dir():
        raise OccError(f"{option}: {path} is below {probe}, which is a file, not a folder")
    try:
        test = tempfile.mkdtemp(prefix=".occ-write-test.", dir=probe)
        os.rmdir(test)
    except OSError as exc:
        raise OccError(f"{option}: cannot write in {probe} ({exc.strerror})") from None
    return path


TABLE_FORMATS = ("csv", "parquet")
"""How the tables are written: CSV, or Parquet (the same columns; needs pyarrow, the
``parquet`` extra)."""


FIGURE_FORMATS = ("png", "svg", "pdf")


def check_formats(figure_format: str | None, table_format: str) -> None:
    """Refuse an unknown figure or table format (and Parquet without pyarrow) up front."""
    from occ.errors import OccError

    if figure_format is not None and figure_format not in FIGURE_FORMATS:
        raise OccError(f"--figure-format: must be one of {', '.join(FIGURE_FORMATS)}, "
                       f"got {figure_format!r}")
    _check_table_format(table_format)


def _check_table_format(table_format: str) -> None:
    from occ.errors import OccError

    if table_format not in TABLE_FORMATS:
        raise OccError(f"--table-format: must be one of {', '.join(TABLE_FORMATS)}, "
                       f"got {table_format!r}")
    if table_format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise OccError("--table-format parquet: needs pyarrow (pip install "
                           "'occ[parquet]')") from None


def _write_table(frame: pd.DataFrame, folder: Path, name: str, table_format: str) -> None:
    if table_format == "parquet":
        atomic_write(folder / f"{name}.parquet", lambda p: frame.to_parquet(p, index=False))
    else:
        atomic_write(folder / f"{name}.csv", lambda p: frame.to_csv(p, index=False))


def _read_table(folder: Path, name: str, **csv_options: Any) -> pd.DataFrame | None:
    """``name.csv`` or ``name.parquet`` of a run folder; None if neither is there."""
    if (folder / f"{name}.parquet").is_file():
        return pd.read_parquet(folder / f"{name}.parquet")
    if (folder / f"{name}.csv").is_file():
        return _read_csv(folder / f"{name}.csv", **csv_options)
    return None


def _write_files(result: RunResult, folder: Path, table_format: str = "csv") -> None:
    for name in ("metrics", "bounds", "summary", "facts"):
        _write_table(getattr(result, name), folder, name, table_format)
    atomic_write(folder / "meta.json", lambda p: p.write_text(
        json.dumps(result.meta, indent=2, default=_json_default) + "\n"))


def new_run_id(seed: int) -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f") + f"-seed{seed}"


def write_run(result: RunResult, out: Path, scenario_name: str, run_id: str,
              plot: Callable[[RunResult, Path], Any] | None = None,
              table_format: str = "csv") -> Path:
    """Write the run folder ``out/<scenario>/<run-id>`` atomically and return its path.

    ``plot(result, staging)`` draws the figures into the staging folder before the tables
    are written. It may instead start them elsewhere and return a pending drawing (an
    object with ``wait()`` and ``close()``, :class:`occ.figure_worker.FigureWorker`):
    the tables are then written while it draws, and it is waited for before the folder is
    renamed into place (closed, killing its processes, where anything fails). A figure
    that cannot be drawn is a warning in ``result.warnings``; the tables are kept."""
    _check_table_format(table_format)
    final = Path(out) / scenario_name / run_id
    if final.exists():
        raise FileExistsError(f"{final} exists already; results are never overwritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{run_id}.~{owner_tag()}~", suffix=".partial",
                                    dir=final.parent))
    pending = None
    try:
        os.chmod(staging, 0o777 & ~current_umask())
        if plot is not None:
            pending = _figures(lambda: plot(result, staging), result.warnings)
        _write_files(result, staging, table_format)
        if pending is not None:
            _figures(pending.wait, result.warnings)
            pending = None
        os.rename(staging, final)
    except BaseException:
        if pending is not None:  # before the staging folder goes: nothing is written after
            pending.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.path = final
    return final


def _figures(draw: Callable[[], Any], warnings: list[str]) -> Any:
    """``draw()``, with a figure that could not be drawn a warning (the tables are kept)."""
    from occ.errors import FigureError

    try:
        return draw()
    except Exception as exc:
        warnings.append(str(exc) if isinstance(exc, FigureError) else
                        f"figures not drawn ({type(exc).__name__}: {exc})")
        return None


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """A CSV table of a run folder, refusing one that is truncated or unreadable."""
    from occ.errors import OccError

    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - 1, 0))
            last = handle.read(1)
        if size == 0 or last != b"\n":
            raise OccError(f"{path}: truncated (the last line is incomplete); the run folder "
                           "is damaged")
        return pd.read_csv(path, **kwargs)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise OccError(f"{path}: cannot read it ({reason}); the run folder is damaged") from None


def _expected_rows(meta: dict[str, Any]) -> int | None:
    """Rows metrics.csv must have: learner rows x seeds x checkpoints (None: unknown)."""
    try:
        labels = 0
        for label in meta["learners"]:
            grid = meta.get("grids", {}).get(label)
            labels += len(grid["labels"]) if grid else 1
        return labels * int(meta["seeds"]) * len(meta["checkpoints"])
    except (KeyError, TypeError, ValueError):
        return None


def read_run(folder: str | Path) -> RunResult:
    """A run folder back as a :class:`RunResult`; a damaged folder (a missing, truncated
    or unreadable table) is one :class:`~occ.errors.OccError`."""
    from occ.errors import OccError

    folder = Path(folder)
    metrics = _read_table(folder, "metrics")
    bounds = _read_table(folder, "bounds", dtype={"note": str, "learner": str})
    missing = [n for n, v in (("metrics.csv", metrics), ("bounds.csv", bounds)) if v is None]
    missing += [] if (folder / "meta.json").is_file() else ["meta.json"]
    if missing:
        raise OccError(f"{folder}: not a run folder (missing {', '.join(missing)})")
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError
    except (OSError, ValueError):
        raise OccError(f"{folder / 'meta.json'}: not valid JSON; the run folder is "
                       "damaged") from None
    missing = [c for c in METRIC_COLUMNS[:6] if c not in metrics.columns]
    expected = _expected_rows(meta)
    if missing or (expected is not None and len(metrics) != expected):
        raise OccError(f"{folder / 'metrics.csv'}: has {len(metrics)} rows"
                       + (f", meta.json promises {expected}" if expected is not None else "")
                       + (f"; lacks {', '.join(missing)}" if missing else "")
                       + "; the run folder is damaged")
    bounds["note"] = bounds["note"].fillna("") if "note" in bounds else ""
    facts = _read_table(folder, "facts")
    facts = pd.DataFrame() if facts is None else facts
    summary = _read_table(folder, "summary")
    summary = summarize(metrics, bounds, facts) if summary is None else summary
    return RunResult(metrics, bounds, summary, meta, folder, facts=facts)
