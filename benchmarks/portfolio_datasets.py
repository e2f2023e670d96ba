"""The six online-portfolio data sets end to end: comparator time, run time, final
log-wealth of every learner and baseline, the worst ratio of every applicable bound.

    python benchmarks/portfolio_datasets.py                   # an installed universal-portfolios
    python benchmarks/portfolio_datasets.py --data-dir DIR    # DIR/nyse_o.csv, ...
    python benchmarks/portfolio_datasets.py --only djia tse

Each data set runs its scenario ``scenarios/market/portfolio-<name>.toml`` with the
default checkpoints. "comparator" is the time of the best-CRP solves alone at those
checkpoints (warm started, as in a run); "run" is ``occ.run`` end to end, the run folder
with its tables and figures written. Timings are printed with the machine's load average
(``os.getloadavg``).
"""

from __future__ import annotations

import os

# One BLAS thread (unless the caller sets it): ONS and the recorder decompose a d x d matrix
# (d <= 88) every step, and on a shared, loaded machine OpenBLAS's threads make each small
# eigh some 50 times slower (measured: NYSE(O) end to end 100 s instead of 15 s at load 5).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("nyse_o", "nyse_n", "djia", "tse", "sp500", "msci")


def use_data_dir(folder: Path) -> None:
    """Make ``universal:NAME`` read ``folder/NAME.csv``: a stand-in package on sys.path."""
    stand_in = Path(tempfile.mkdtemp(prefix="occ-universal-"))
    (stand_in / "universal").mkdir()
    (stand_in / "universal" / "__init__.py").write_text("")
    (stand_in / "universal" / "data").symlink_to(folder.resolve())
    sys.path.insert(0, str(stand_in))


def comparator_time(name: str, T: int, count: int) -> tuple[float, float, int]:
    """Seconds of the warm-started best-CRP solves at the run's checkpoints, the worst
    gap, and the total iterations."""
    from occ.adversaries.bcrp import best_crp
    from occ.adversaries.market_data import read_table
    from occ.harness import log_checkpoints

    prices = read_table(f"universal:{name}").values
    X = prices[1:] / prices[:-1]
    started = time.perf_counter()
    u, worst, iterations = None, 0.0, 0
    for t in log_checkpoints(T, count):
        solution = best_crp(X[:t], u)
        u, worst = solution.u, max(worst, solution.gap)
        iterations += solution.iterations
    return time.perf_counter() - started, worst, iterations


def up_error(name: str, T: int, samples: int) -> float:
    """The Monte Carlo relative standard error of the sampled universal portfolio's final
    wealth (its prior's N portfolios, by the learner's recipe; from the effective sample
    size, :func:`occ.learners.universal.monte_carlo_error`)."""
    from occ.adversaries.market_data import read_table
    from occ.learners.universal import _sampled_prior, monte_carlo_error

    prices = read_table(f"universal:{name}").values
    X = (prices[1:] / prices[:-1])[:T]
    b = _sampled_prior(samples, X.shape[1], 0)
    log_wealth = np.sum(np.log(X @ b.T), axis=0)
    return float(monte_carlo_error(log_wealth[None, :])[0])


def read_periods(name: str) -> int:
    from occ.adversaries.market_data import read_table

    return read_table(f"universal:{name}").values.shape[0] - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--only", nargs="*", default=list(NAMES))
    args = parser.parse_args()
    if args.data_dir is not None:
        use_data_dir(args.data_dir)
    sys.path.insert(0, str(ROOT))
    import occ
    from occ.scenarios import parse_scenario

    print(f"load average {os.getloadavg()}, {os.cpu_count()} cpus, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    table, ratios = [], []
    for name in args.only:
        sc = occ.load_scenario(ROOT / "scenarios" / "market"
                               / f"portfolio-{name.replace('_', '-')}.toml")
        seconds, gap, iterations = comparator_time(name, sc.T, sc.checkpoints)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:  # end to end: tables and figures written
            result = occ.run(sc, out=out)
        wall = time.perf_counter() - started
        m = result.metrics
        final = m[m.t == sc.T].set_index("learner")
        first = final.iloc[0]
        row = {"data": name, "T": sc.T, "d": sc.d, "comparator_s": seconds,
               "comparator_iterations": iterations, "worst_gap": float(m.comparator_gap.max()),
               "run_s": wall, "load": os.getloadavg()[0],
               "bcrp": float(np.log(first.comparator_wealth)),
               "best_stock": float(np.log(first.best_stock_wealth))}
        row |= {label: float(np.log(final.loc[label, "wealth"])) for label in final.index}
        row["up_mc_error"] = up_error(name, sc.T, 4096)
        table.append(row)
        b = result.bounds
        applicable = b[b.applicable.astype(bool)]
        for (learner, bound), group in applicable.groupby(["learner", "bound"]):
            ratios.append({"data": name, "learner": learner, "bound": bound,
                           "worst_ratio": float(group.ratio.max()),
                           "violations": int(group.violated.sum())})
        print(f"{name:7s} T={sc.T:5d} d={sc.d:3d} comparator {seconds:6.2f} s "
              f"({iterations} iterations, worst gap {gap:.1e}), run {wall:6.1f} s, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    import pandas as pd

    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print("\nfinal log-wealth (natural log; wealth starts at 1)")
    print(pd.DataFrame(table).round(4).to_string(index=False))
    print("\nworst ratio regret/bound of every applicable bound")
    frame = pd.DataFrame(ratios)
    print(frame.pivot_table(index=["learner", "bound"], columns="data",
                            values="worst_ratio").round(5).to_string())
    print(f"violations: {int(frame.violations.sum())}")
    print("\nCover's universal portfolio, exact, on sub-markets (the first 2 assets over the "
          "whole run; the first 3 over T <= 500): worst ratio to (d - 1) log(T + 1)")
    rows = []
    for name in args.only:
        T_full = read_periods(name)
        for d, T in ((2, T_full), (3, min(T_full, 500))):
            sc = parse_scenario({
                "d": d, "T": T, "seeds": 1, "domain": {"kind": "simplex"},
                "adversary": {"kind": "portfolio", "data": f"universal:{name}",
                              "columns": ",".join(str(i + 1) for i in range(d))},
                "learners": {"up": {"kind": "universal"}, "ons": {"kind": "ons", "G": 4.0}}},
                "<benchmark>", f"{name}-sub{d}")
            started = time.perf_counter()
            b = occ.run(sc).bounds
            wall = time.perf_counter() - started
            for bound in ("up_cover", "ons", "ons_theorem"):
                g = b[(b.bound == bound) & b.applicable.astype(bool)]
                rows.append({"data": name, "d": d, "T": T, "bound": bound,
                             "worst_ratio": float(g.ratio.max()) if len(g) else np.nan,
                             "checked": len(g), "violations": int(g.violated.sum()),
                             "run_s": round(wall, 2)})
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
