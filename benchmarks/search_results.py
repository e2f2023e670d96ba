"""The documented runs of README's "Worst-case search" (each prints its table).

* ``pepit``: OGD with eta = D/(L sqrt(T)) on the l2 ball of diameter D = 2 in d = T + 1,
  L = 1 in l2, w1 on the boundary; the search over explicit linear sequences (default
  budget) against PEPit's exact worst case over every convex L-Lipschitz sequence
  (``wc_online_gradient_descent``, PEPit 0.5.1, solved with Clarabel), T = 2..8.
* ``reddi``: Reddi et al.'s Theorem 1 settings (scenarios/reddi-cycle.toml) at T = 10^4,
  period 3, |g| <= 1, from the benign constant pattern: Adam and AMSGrad.
* ``momentum``: the same with beta1 = 0.9, beta2 = 0.99 over periods 3 to 101.

``--out FOLDER`` keeps each search's folder (best.toml, search.csv, search.png).
"""

from __future__ import annotations

import argparse
import math
import os
import tomllib
from pathlib import Path

from occ.scenario_file import scenario_toml
from occ.scenarios import load_scenario, parse_scenario
from occ.search import DEFAULT_BUDGET, search


def pepit_scenario(T: int):
    d = T + 1
    return parse_scenario({
        "name": f"worst-ogd-ball-T{T}", "d": d, "T": T, "seeds": 1, "checkpoints": 2,
        "w1": [1.0] + [0.0] * (d - 1), "domain": {"kind": "ball", "radius": 1.0},
        "adversary": {"kind": "linear_sequence", "gradients": [0.0] * T, "L": 1.0,
                      "norm": "l2"},
        "learners": {"ogd": {"kind": "ogd", "eta": 2.0 / math.sqrt(T)}}}, "<doc>", "pep")


def pepit(out: Path | None, budget: int) -> None:
    from PEPit.examples.online_learning.online_gradient_descent import (
        wc_online_gradient_descent,
    )

    print("T  PEPit worst case  search (best.toml replayed)  search/PEPit  L D sqrt(T)")
    for T in range(2, 9):
        tau, theory = wc_online_gradient_descent(M=1.0, D=2.0, n=T, wrapper="cvxpy",
                                                 solver="CLARABEL", verbose=-1)
        found = search(pepit_scenario(T), family="linear_sequence", objective="regret",
                       budget=budget, seed=0, out=out / f"pepit-T{T}" if out else None)
        print(f"{T}  {tau:.10f}      {found.replayed_value:.10f}                "
              f"{found.replayed_value / tau:.6f}      {theory:.10f}", flush=True)


def momentum_scenario(beta1: float, beta2: float):
    resolved = load_scenario("reddi-cycle").resolved()
    resolved.pop("expect")
    resolved["name"] = f"reddi-cycle-b{beta1}-{beta2}"
    for table in resolved["learners"].values():
        table.update(beta1=beta1, beta2=beta2)
    return parse_scenario(tomllib.loads(scenario_toml(resolved)), "<doc>", "momentum")


def reddi(out: Path | None, budget: int, periods: list[int], beta1: float = 0.0,
          beta2: float = 0.1) -> None:
    sc = load_scenario("reddi-cycle") if beta1 == 0.0 else momentum_scenario(beta1, beta2)
    print(f"beta1 = {beta1}, beta2 = {beta2}, T = 10^4, |g| <= 1, budget {budget}")
    print("period  learner  best R_T/T  pattern (first 6)")
    for period in periods:
        for learner in ("adam", "amsgrad"):
            found = search(sc, learner=learner, family="linear_periodic", T=10_000,
                           period=period, budget=budget, seed=0,
                           out=out / f"{sc.name}-{learner}-P{period}" if out else None)
            pattern = found.scenario.adversary.pattern
            shown = ", ".join(f"{v:.3g}" for v in pattern[:6])
            print(f"{period:6d}  {learner:7s}  {found.replayed_value:.5f}   [{shown}"
                  f"{', ...' if len(pattern) > 6 else ''}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("pepit", "reddi", "momentum"))
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    parser.add_argument("--periods", default="3,5,11,21,51,101")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    if args.which == "pepit":
        pepit(args.out, args.budget)
    elif args.which == "reddi":
        reddi(args.out, args.budget, [3])
    else:
        reddi(args.out, args.budget, [int(p) for p in args.periods.split(",")], 0.9, 0.99)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
