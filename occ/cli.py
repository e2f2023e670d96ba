"""The `occ` command: list, show, new, run, search, check, sweep, plot, report.

Every user error (bad scenario file, unknown name, invalid option value) is one line on
stderr starting with ``occ: error:`` and exit code 2; ``occ check`` exits 1 when a bound
is violated or the baseline moved.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from occ.errors import OccError, one_line


def _pandas() -> Any:
    """pandas, imported where a table is printed (``occ --help`` and ``occ list`` skip it)."""
    import pandas

    return pandas


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind ``exc``. Python re-raises some exceptions
    inside another one: Ctrl-C while a class body is being built (a dataclass field's
    ``__set_name__``, during an import in a command) reaches us as ``RuntimeError: Error
    calling __set_name__ ...`` whose ``__cause__`` is the KeyboardInterrupt."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class OccGroup(click.Group):
    """A click group that turns usage errors and occ's errors into one line, exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            value = super().main(args=args, prog_name=prog_name or "occ",
                                 complete_var=complete_var, standalone_mode=False, **extra)
            code = value if isinstance(value, int) else 0
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            code = 0
        except click.UsageError as exc:
            click.echo(f"occ: error: {one_line(exc.format_message())}", err=True)
            code = 2
        except (OccError, FileExistsError) as exc:
            click.echo(f"occ: error: {one_line(str(exc))}", err=True)
            code = 2
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except (click.Abort, KeyboardInterrupt):
            click.echo("occ: interrupted; results already written are kept", err=True)
            code = 130
        except BrokenPipeError:
            code = 1
        except Exception as exc:
            if not _caused_by_interrupt(exc):
                raise
            click.echo("occ: interrupted; results already written are kept", err=True)
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=OccGroup)
@click.version_option(package_name="occ")
def cli() -> None:
    """Online convex optimization regret simulator."""


@cli.command("list")
@click.option("--learners", "learners", is_flag=True,
              help="List the learner kinds instead: occ's, registered ones, installed plugins.")
def list_command(learners: bool) -> None:
    """Every named scenario with a one-line description (or, --learners, every learner)."""
    from occ.named import list_scenarios

    if learners:
        _list_learners()
        return
    scenarios = list_scenarios()
    width = max((len(n) for n in scenarios), default=0)
    for name, description in scenarios.items():
        click.echo(f"{name:<{width}}  {description}")


def _list_learners() -> None:
    """One line per learner kind: its name, class and where it comes from."""
    from occ.learners import LEARNERS
    from occ.plugins import LOAD_ERRORS, SELECTORS, learner_kinds

    kinds = learner_kinds()
    width = max(len(k) for k in kinds)
    for kind in kinds:
        if kind in SELECTORS:
            click.echo(f"{kind:<{width}}  (way in) {SELECTORS[kind]} = ... names the object")
            continue
        cls = LEARNERS[kind]
        origin = "occ" if cls.__module__.startswith("occ.") else "plugin"
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        click.echo(f"{kind:<{width}}  ({origin}) {cls.__module__}:{cls.__qualname__}  {doc}")
    for name, error in LOAD_ERRORS.items():
        click.echo(f"{name:<{width}}  (plugin failed to load) {error}")


@cli.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """Print a scenario as a scenario file, every default filled in."""
    from occ.scenario_file import scenario_toml
    from occ.scenarios import load_scenario

    click.echo(scenario_toml(load_scenario(name).resolved()), nl=False)


@cli.command("new")
@click.argument("name")
@click.option("--from", "source", default="default", show_default=True,
              help="The scenario to copy (a name or a file).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=Path("scenarios"), show_default=True, help="Folder to write NAME.toml in.")
def new_command(name: str, source: str, folder: Path) -> None:
    """Write an editable copy of a scenario as FOLDER/NAME.toml (never overwrites)."""
    import re

    from occ.atomic import atomic_write
    from occ.scenario_file import scenario_toml
    from occ.scenarios import load_scenario

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name.endswith(".toml"):
        raise OccError(f"NAME: letters, digits and -_. only, not starting with a dot and "
                       f"without .toml, got {name!r}")
    target = folder / f"{name}.toml"
    if target.exists():
        raise OccError(f"{target}: exists already (occ new never overwrites)")
    resolved = load_scenario(source).resolved()
    resolved["name"] = name
    atomic_write(target, lambda p: p.write_text(scenario_toml(resolved), encoding="utf-8"))
    click.echo(f"scenario: {target} (run it with: occ run {target})")


@cli.command("run")
@click.argument("scenario")
@click.option("--T", "T", type=int, default=None, help="Horizon (overrides the file).")
@click.option("--seeds", type=int, default=None, help="Number of repetitions.")
@click.option("--seed", type=int, default=None, help="Base seed.")
@click.option("--out", type=str, default="results", show_default=True,
              help="Folder under which the run folder is written.")
@click.option("--backend", default="numpy", show_default=True,
              help="Array backend: numpy or cupy.")
@click.option("--no-plots", is_flag=True, help="Write the tables only, no figures.")
@click.option("--figure-format", default="png", show_default=True,
              help="Figures as png, svg or pdf.")
@click.option("--table-format", default="csv", show_default=True,
              help="Tables as csv or parquet (needs pyarrow: the parquet extra).")
@click.option("--allow-large", is_flag=True,
              help="Run even above the size threshold (OCC_LARGE_GIB, OCC_LARGE_SECONDS).")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
def run_command(scenario: str, T: int | None, seeds: int | None, seed: int | None, out: str,
                backend: str, no_plots: bool, figure_format: str, table_format: str,
                allow_large: bool, quiet: bool) -> None:
    """Run a named scenario or a scenario file and write its results folder."""
    from occ.backend import BACKENDS, get_namespace
    from occ.limits import check, scenario_estimate
    from occ.results import usable_folder
    from occ.scenarios import load_scenario, with_size

    if backend not in BACKENDS:
        raise OccError(f"--backend: must be one of numpy, cupy, got {backend!r}")
    out = usable_folder(out, "--out")
    sc = with_size(load_scenario(scenario), T, seeds, seed)
    estimate = scenario_estimate(sc)
    check(sc.path or sc.name, estimate, allow_large)
    get_namespace(backend)
    from occ.figure_worker import FigureWorker

    # figures drawn by a process forked now, before the run's imports (occ.figure_worker)
    with contextlib.ExitStack() as stack:
        figures = None if no_plots else FigureWorker.start()
        if figures is not None:
            stack.enter_context(figures)
        from occ.api import run

        formats = {"figure_format": None if no_plots else figure_format,
                   "table_format": table_format}
        with progress(sc.name, 2 * sc.T, "steps", quiet, estimate.seconds) as done:
            result = run(sc, backend=backend, out=out, progress=done, figures=figures,
                         **formats)
    for warning in result.warnings:
        click.echo(f"WARNING: {warning}; the tables are written", err=True)
    _print_summary(result)
    bad = result.violations
    if len(bad):
        click.echo(f"WARNING: {len(bad)} bound violations (see bounds.csv)", err=True)
    diverged = int(result.summary["diverged_seeds"].sum())
    if diverged:
        click.echo(f"WARNING: {diverged} repetitions diverged (see meta.json 'diverged')",
                   err=True)
    click.echo(f"results: {result.path}")
    _allow_quick_exit()


@cli.command("search")
@click.argument("scenario")
@click.option("--learner", default=None, help="The learner's label (default: the only one).")
@click.option("--family", default="linear_periodic", show_default=True,
              help="linear_sequence, linear_periodic or linear_policy.")
@click.option("--T", "T", type=int, default=None, help="Horizon (overrides the file).")
@click.option("--period", type=int, default=None,
              help="Pattern length of linear_periodic (default: the scenario's, else 3).")
@click.option("--objective", default="average_regret", show_default=True,
              help="regret, average_regret or ratio:BOUND.")
@click.option("--budget", type=int, default=None,
              help="Candidate runs in all (default 1000).")
@click.option("--seed", type=int, default=0, show_default=True, help="CMA-ES's seed.")
@click.option("--population", type=int, default=None,
              help="First population (default CMA-ES's 4 + 3 ln n; doubled per restart).")
@click.option("--L", "L", type=float, default=None,
              help="Gradient bound (default: the scenario adversary's L, else 1).")
@click.option("--norm", default=None, help="l2 or linf (default: the adversary's, else l2).")
@click.option("--out", type=str, default=None,
              help="Folder for best.toml, search.csv, search.png (default: "
                   "results/search/<scenario>-<learner>-<family>).")
@click.option("--no-plots", is_flag=True, help="No progress figure.")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
def search_command(scenario: str, learner: str | None, family: str, T: int | None,
                   period: int | None, objective: str, budget: int | None, seed: int,
                   population: int | None, L: float | None, norm: str | None,
                   out: str | None, no_plots: bool, quiet: bool) -> None:
    """Search an adversary family for the losses that hurt a learner most; write the
    worst as a scenario (best.toml) that `occ run` reproduces.

    Exit 1 when ratio:BOUND finds a ratio above 1 beyond the error budget: a
    counterexample to a theorem, which means a bug in occ.
    """
    from occ.results import usable_folder
    from occ.scenarios import load_scenario, with_size
    from occ.search import DEFAULT_BUDGET, search

    budget = DEFAULT_BUDGET if budget is None else budget
    sc = with_size(load_scenario(scenario), T)
    label = learner or (sc.learners[0].label if len(sc.learners) == 1 else "learner")
    folder = usable_folder(out or Path("results") / "search" / f"{sc.name}-{label}-{family}",
                           "--out")
    with progress(f"search {sc.name}", budget, "evaluations", quiet) as done:
        outcome = search(sc, learner=learner, family=family, period=period,
                         objective=objective, budget=budget, seed=seed,
                         population=population, L=L, norm=norm, out=folder,
                         figure_format=None if no_plots else "png", progress=done)
    for note in outcome.notes:
        click.echo(f"WARNING: {note}", err=True)
    history = outcome.history
    click.echo(f"{len(history)} evaluations in {history['restart'].max()} CMA-ES runs, "
               f"{outcome.wall_seconds:.1f} s; files: {outcome.path}")
    if outcome.counterexample:
        click.echo(f"COUNTEREXAMPLE: {outcome.violations} candidates exceed the bound beyond "
                   "its error budget: a theorem is broken, so occ has a bug (learner, "
                   f"comparator or bound formula); reproduce it with: occ run "
                   f"{outcome.path / 'best.toml' if outcome.path else 'best.toml'}", err=True)
    click.echo(f"best {objective}: {outcome.replayed_value!r}")
    raise click.exceptions.Exit(1 if outcome.counterexample else 0)


PROGRESS_SECONDS = 20.0
"""A run estimated above this prints progress lines even when stderr is not a terminal."""
PROGRESS_EVERY = 30.0
"""Seconds between two progress lines."""


class ProgressLines:
    """Progress as occasional lines on stderr (where no progress bar can be drawn)."""

    def __init__(self, name: str, total: int, every: float = 30.0,
                 unit: str = "steps") -> None:
        self.name, self.total, self.every, self.unit = name, total, every, unit
        self.done, self.started, self.shown = 0, time.monotonic(), time.monotonic()

    def __call__(self, steps: int) -> None:
        self.done += steps
        now = time.monotonic()
        if now - self.shown >= self.every:
            self.shown = now
            click.echo(f"occ: {self.name}: {100 * self.done / self.total:.1f}% of "
                       f"{self.total} {self.unit} after {now - self.started:.0f} s", err=True)


@contextlib.contextmanager
def progress(label: str, total: int, unit: str, quiet: bool,
             seconds: float = math.inf) -> Iterator[Callable[[int], None]]:
    """A callback taking the work done since its last call: a progress bar on a terminal,
    else a line every PROGRESS_EVERY seconds for work expected to take more than
    PROGRESS_SECONDS (``seconds``: the estimate, unknown by default); nothing if
    ``quiet``."""
    if quiet or total <= 0:
        yield lambda done: None
    elif sys.stderr.isatty():
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            yield bar.update
    elif seconds > PROGRESS_SECONDS:
        yield ProgressLines(label, total, PROGRESS_EVERY, unit)
    else:
        yield lambda done: None


def _print_summary(result: Any) -> None:
    """A compact summary that fits 100 columns (the full table is summary.csv): per learner
    the final regret with its 95% interval, the fitted exponent, violations and diverged
    seeds; then per learner each bound's worst ratio with the rows it was checked on,
    identities and facts apart."""
    import textwrap

    from occ.bounds import IDENTITIES, bound_verdicts

    summary = result.summary
    width = max(7, *(len(str(x)) for x in summary["learner"]))
    click.echo(f"{'learner':<{width}}  {'final regret [95% interval]':<30} exponent  "
               "violations  diverged")
    for _, row in summary.iterrows():
        interval = (f"{row['final_regret_mean']:.4g} [{row['final_regret_ci95_low']:.3g}, "
                    f"{row['final_regret_ci95_high']:.3g}]")
        click.echo(f"{row['learner']:<{width}}  {interval:<30} {row['regret_exponent']:8.3f}  "
                   f"{int(row['violations']):10d}  {int(row['diverged_seeds']):8d}")
    verdicts = bound_verdicts(result)
    facts = result.facts
    for learner in summary["learner"]:
        mine = verdicts[(verdicts["learner"] == learner) & (verdicts["checked"] > 0)]
        parts = {"bounds": [], "identities": []}
        for _, v in mine.iterrows():
            flag = " VIOLATED" if v["violations"] else ""
            text = f"{v['bound']} {v['worst_ratio']:.3g} ({v['checked']}/{v['rows']}){flag}"
            parts["identities" if v["bound"] in IDENTITIES else "bounds"].append(text)
        if len(facts):
            for name, rows in facts[facts["learner"] == learner].groupby("fact", sort=False):
                parts.setdefault("facts", []).append(f"{name} {rows['ratio'].max():.3g}")
        for kind, items in parts.items():
            if items:
                click.echo(textwrap.fill(", ".join(items), width=100,
                                         initial_indent=f"  {learner} {kind}: ",
                                         subsequent_indent="    "))
    click.echo("(worst ratio regret/bound, rows checked/rows; full table: summary.csv)")


@cli.command("check")
@click.argument("names", nargs=-1)
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Compare with this baseline file (e.g. results/baseline.csv).")
@click.option("--update-baseline", is_flag=True,
              help="Rewrite the baseline (default results/baseline.csv) from this check.")
@click.option("--backend", default="numpy", show_default=True)
@click.option("--allow-large", is_flag=True,
              help="Check even above the size threshold (OCC_LARGE_GIB, OCC_LARGE_SECONDS).")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
def check_command(names: tuple[str, ...], baseline: Path | None, update_baseline: bool,
                  backend: str, allow_large: bool, quiet: bool) -> None:
    """Check every applicable bound on scenarios (all by default) at their check sizes.

    Exit 0 when every bound holds (and the baseline matches), 1 otherwise.
    """

    from occ.check import check_table, compare_baseline, read_baseline, write_baseline
    from occ.results import usable_folder

    if baseline is not None and not update_baseline and not baseline.is_file():
        raise OccError(f"--baseline: {baseline} does not exist (create it with "
                       "--update-baseline)")
    old = None
    if baseline is not None and (not update_baseline or baseline.is_file()):
        old = read_baseline(baseline)  # before the check: a bad file fails at once
    if update_baseline:
        usable_folder((baseline or Path("results/baseline.csv")).parent, "--baseline")
    _check_sizes(names, allow_large)
    from occ.named import list_scenarios

    chosen = list(names) if names else list(list_scenarios())
    with progress("check", len(chosen), "scenarios", quiet) as done:
        table = check_table(chosen, backend=backend, progress=done)
    shown = table[table["verdict"] != "info"]
    with _pandas().option_context("display.width", 200, "display.max_rows", 10000):
        click.echo(shown[["scenario", "learner", "bound", "worst_ratio", "violations",
                          "verdict"]].to_string(index=False, float_format="%.4f"))
    failed = bool(table["verdict"].isin(["VIOLATED", "FAILED"]).any())
    if failed:
        click.echo(f"FAILED: {int(table['violations'].sum())} bound violations or broken "
                   "expectations", err=True)
    path = baseline or Path("results/baseline.csv")
    if update_baseline:
        write_baseline(table, path)
        click.echo(f"baseline written: {path}")
    elif baseline is not None:
        moved = compare_baseline(table, old)
        if len(moved):
            failed = True
            with _pandas().option_context("display.width", 200):
                click.echo(moved.to_string(index=False), err=True)
            click.echo(f"FAILED: {len(moved)} baseline quantities moved beyond tolerance",
                       err=True)
        else:
            click.echo(f"baseline {baseline}: all quantities within tolerance")
    if not failed:
        click.echo("OK: every applicable bound holds")
    raise click.exceptions.Exit(1 if failed else 0)


def _check_sizes(names: tuple[str, ...], allow_large: bool) -> None:
    """Every scenario of a check, at its check size, against the limits (before any runs)."""
    from occ.limits import check, scenario_estimate
    from occ.scenarios import list_scenarios, load_scenario

    for name in names or tuple(list_scenarios()):
        sc = load_scenario(name)
        check(sc.path or sc.name, scenario_estimate(sc, sc.check_T, sc.check_seeds),
              allow_large)


@cli.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--executor", default="local", show_default=True,
              help="local (a process pool) or dask (a Dask cluster).")
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler "
              "(tcp://host:8786); without it --executor dask starts a local cluster.")
@click.option("--workers", type=int, default=None, help="Processes (default: every core).")
@click.option("--out", type=str, default=None,
              help="Sweep folder (default: results/sweeps/<sweep name>).")
@click.option("--status", "show_status", is_flag=True, help="Only say how many cells are done.")
@click.option("--plugin", "plugins", multiple=True,
              help="A module each worker imports first (it registers extra learners).")
@click.option("--max-cells", type=int, default=None, hidden=True)
@click.option("--allow-large", is_flag=True,
              help="Run even above the size threshold (OCC_LARGE_GIB, OCC_LARGE_SECONDS).")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
def sweep_command(sweep_file: Path, executor: str, scheduler: str | None, workers: int | None,
                  out: str | None, show_status: bool, plugins: tuple[str, ...],
                  max_cells: int | None, allow_large: bool, quiet: bool) -> None:
    """Run a sweep: every unfinished cell, then collect sweep.csv and the figures.

    Exit 0 when every cell is done, 1 when some failed (they are retried next time).
    """
    from occ.results import usable_folder
    from occ.sweeps import (
        check_scheduler_address,
        check_size,
        load_sweep,
        reach_scheduler,
        run_sweep,
        status,
    )

    if executor not in ("local", "dask"):
        raise OccError(f"--executor: must be one of local, dask, got {executor!r}")
    if workers is not None and not 1 <= workers <= 4096:
        raise OccError(f"--workers: must be an integer >= 1 and <= 4096, got {workers}")
    if max_cells is not None and max_cells < 1:
        raise OccError(f"--max-cells: must be an integer >= 1, got {max_cells}")
    if scheduler is not None:
        if executor != "dask":
            raise OccError("--scheduler: needs --executor dask")
        check_scheduler_address(scheduler)
    if out is not None:
        out = usable_folder(out, "--out")
    import importlib

    for module in plugins:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a missing module, or one that fails as it loads
            raise OccError(f"--plugin {module}: cannot import it ({type(exc).__name__}: "
                           f"{exc})") from None
    sweep = load_sweep(sweep_file)
    out = usable_folder(out or Path("results") / "sweeps" / sweep.name, "--out")
    if scheduler is not None and not show_status:
        reach_scheduler(scheduler)
    counts = status(sweep, out)
    if show_status:
        click.echo(f"{sweep.name}: {counts['done']} of {counts['cells']} cells done, "
                   f"{counts['failed']} failed, {counts['pending']} pending ({out})")
        return
    check_size(sweep, allow_large)
    click.echo(f"{sweep.name}: {counts['cells']} cells, {counts['done']} already done")
    todo = counts["cells"] - counts["done"]
    if max_cells is not None:
        todo = min(todo, max_cells)
    with progress(sweep.name, todo, "cells", quiet) as done:
        report = run_sweep(sweep, out, executor=executor, workers=workers,
                           scheduler=scheduler, max_cells=max_cells, plugins=plugins,
                           progress=lambda outcome: done(1))
    final = report["status"]
    for failed in report["failed"]:
        click.echo(f"FAILED cell {failed['key']}: {failed.get('error', '')}", err=True)
    for warning in report.get("warnings", []):
        click.echo(f"WARNING: {warning}; the tables are written", err=True)
    click.echo(f"computed {report['computed']} cells; {final['done']} of {final['cells']} "
               f"done; table: {out / 'sweep.csv'}")
    raise click.exceptions.Exit(1 if final["done"] < final["cells"] else 0)


@cli.command("conform")
@click.option("--library", "libraries", multiple=True, type=click.Choice(["optax", "torch"]),
              help="Only this library's pairs (repeatable; default: both).")
@click.option("--T", "T", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="Steps per gradient stream.")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=1e-9, show_default=True,
              help="Largest relative deviation of the iterates an exact pair may show.")
@click.option("--list", "show_list", is_flag=True, help="Print the convention table only.")
def conform_command(libraries: tuple[str, ...], T: int, tolerance: float,
                    show_list: bool) -> None:
    """Hold optax and torch.optim optimizers against occ's reference learners.

    Exit 1 when a pair declared exact deviates beyond the tolerance.
    """
    from occ import conform

    if show_list:
        click.echo(conform.conventions())
        return
    outcomes = conform.conform(libraries or ("optax", "torch"), T, tolerance)
    click.echo(conform.table(outcomes, tolerance))
    failed = [o for o in outcomes if o.failed]
    click.echo(f"{len(failed)} of {len(outcomes)} pair runs deviate beyond {tolerance:g}"
               if failed else f"OK: every exact pair within {tolerance:g} over T = {T}")
    raise click.exceptions.Exit(1 if failed else 0)


@cli.command("plot")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--figure-format", default="png", show_default=True,
              help="Figures as png, svg or pdf.")
def plot_command(run_dir: Path, figure_format: str) -> None:
    """Redraw the figures of a finished run folder."""
    from occ.results import check_formats, read_run

    check_formats(figure_format, "csv")
    result = read_run(run_dir)
    from occ.errors import FigureError
    from occ.plots import plot_all

    try:
        for path in plot_all(result, run_dir, figure_format):
            click.echo(f"plot: {path}")
    except FigureError as exc:
        click.echo(f"WARNING: {one_line(str(exc))}", err=True)
        raise click.exceptions.Exit(1) from None


@cli.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write (default: report.html in the only run folder, or "
                   "report.html here for several).")
def report_command(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Write one self-contained HTML report of one or several run folders."""
    from occ.report import write_report
    from occ.results import read_run

    results = [read_run(folder) for folder in run_dirs]
    target = out or (run_dirs[0] / "report.html" if len(run_dirs) == 1 else Path("report.html"))
    click.echo(f"report: {write_report(results, target)}")


_QUICK_EXIT = {"allowed": False}
"""Set by a command that leaves nothing to finalize (``occ run``, once its folder is in
place): :func:`main` then ends the process without the interpreter's teardown."""


def _allow_quick_exit() -> None:
    """After ``occ run`` has renamed its folder into place and printed its summary: no
    other thread, no child process and no open file of its own remains, so the
    interpreter's teardown (unloading numba's compiled kernels, pandas, scipy: 0.35-0.45 s
    after a small run, measured) has nothing to do that the run needs."""
    import threading

    children = sys.modules.get("multiprocessing")
    _QUICK_EXIT["allowed"] = threading.active_count() == 1 and not (
        children is not None and children.active_children())


def main() -> None:
    """The console script: the command, then its exit code (after ``occ run``, without
    the interpreter's teardown: :func:`_allow_quick_exit`)."""
    try:
        cli()
    except KeyboardInterrupt:  # before click's own handling took over
        sys.stderr.write("occ: interrupted\n")
        sys.exit(130)
    except SystemExit as exc:
        if not _QUICK_EXIT["allowed"] or not isinstance(exc.code, int | None):
            raise
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(exc.code or 0)


if __name__ == "__main__":
    main()
