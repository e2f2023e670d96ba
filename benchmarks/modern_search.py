"""The worst-case-search column of README's "Today's optimizers against the
counterexamples": ``occ search`` over the periodic family against every learner of
``modern-on-reddi-cycle``.

Each learner as the scenario configures it (Reddi et al.'s beta1 = 0, beta2 = 0.1,
eta_t = 0.5/sqrt(t), eps = 0 where the learner has Adam's betas; Muon and SOAP on the
scenario's 1 x 1 matrix), the domain [-1, 1], the family ``linear_periodic`` (period 3,
|g| <= 1), objective ``average_regret`` (R_T/T), from the benign constant pattern, CMA-ES
seed 0. Prints one row per learner: the replayed R_T/T of best.toml, whether it is above
0.05, the found pattern, R_T/T of the same pattern at the longer horizon ``--longer``
(default 10^5: whether the average regret stays or falls), the evaluations and the wall
time, with the load average before and after. Muon and SOAP run on the scenario's 1 x 1
matrix (search works on vec(W)). ``--out FOLDER`` keeps each search's folder. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import occ
from occ.scenarios import load_scenario, with_size
from occ.search import DEFAULT_BUDGET, search

THRESHOLD = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=10_000)
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--longer", type=int, default=100_000,
                        help="replay each found pattern at this T (0: not)")
    parser.add_argument("--learners", default=None, help="comma-separated labels "
                        "(default: every learner of the scenario)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sc = load_scenario("modern-on-reddi-cycle")
    labels = args.learners.split(",") if args.learners else [s.label for s in sc.learners]
    print(f"load average: {os.getloadavg()}")
    print(f"occ search modern-on-reddi-cycle --family linear_periodic --period 3 "
          f"--objective average_regret --L 1 --T {args.T} --budget {args.budget} "
          f"--seed {args.seed} (|g| <= 1, domain [-1, 1])")
    print(f"| learner | found R_T/T | above {THRESHOLD} | pattern | R_T/T at T = "
          f"{args.longer} | evaluations | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label in labels:
        found = search(sc, learner=label, family="linear_periodic", T=args.T, period=3,
                       objective="average_regret", L=1.0, budget=args.budget, seed=args.seed,
                       out=args.out / label if args.out else None, figure_format=None)
        pattern = ", ".join(f"{v:.3g}" for v in found.scenario.adversary.pattern)
        above = "yes" if found.replayed_value > THRESHOLD else "no"
        longer = ""
        if args.longer:
            metrics = occ.run(with_size(found.scenario, T=args.longer),
                              figure_format=None).metrics
            final = metrics[metrics["t"] == args.longer]["regret"].iloc[0]
            longer = f"{final / args.longer:.4f}"
        print(f"| `{label}` | {found.replayed_value:.4f} | {above} | [{pattern}] | "
              f"{longer} | {len(found.history)} | {found.wall_seconds:.0f} |"
              + "".join(f" note: {n}" for n in found.notes), flush=True)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
