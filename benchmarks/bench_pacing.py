"""Dial modes on the simulated call center (issue 13). A script that prints figures.

    python -m benchmarks.bench_pacing                       # the scenario and the sensitivity
    python -m benchmarks.bench_pacing --part main --hours 8 --seed 1
    python -m benchmarks.bench_pacing --part seeds --seeds 5    # predictive, seeds 1..5

Main scenario (issue 13): 50 agents, 100,000 targets, 30 % answer, answered calls ring a gamma
time of mean 8 s, unanswered ones ring to the 30 s timeout, talk exponential with mean 120 s,
wrap-up 10 s, a callee waits at most 2 s for an agent; an 8-hour day on simulated time, the
policy asked once a second. Sensitivity: the same with one thing changed (answer rate 15 %
and 50 %, 10 and 200 agents, mean talk 60 and 300 s); lists grow with the team so that no
team runs out of numbers before the end of the day. Seeds: the predictive mode on the main
scenario and on 10 agents (the smallest team, the hardest to keep under 3 % in every window)
with seeds 1 to N.

Per run: occupancy (talk / logged-in time), the abandon rate over the day and over the worst
30 minutes (windows starting at every minute), how many of those windows went over 3 %,
connects per agent hour, the average idle time of an agent per call taken, calls placed, and
the CPU seconds the run took.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from benchmarks.callcenter import Result, Scenario, simulate
from outdial.domain.dialmode import DialMode, PacingPolicy

HEADER = (
    "| scenario | mode | occupancy | abandoned | worst 30 min | windows > 3 % "
    "| connects / agent h | agent wait s | calls placed | CPU s |"
)


def row(scenario: str, mode: str, r: Result, cpu: float) -> str:
    return (
        f"| {scenario} | {mode} | {r.occupancy:.1%} | {r.abandon_rate:.2%} "
        f"| {r.worst_window:.2%} | {r.windows_over} of {r.windows} "
        f"| {r.connects_per_agent_hour():.1f} | {r.agent_wait_s():.1f} | {r.placed:,} "
        f"| {cpu:.1f} |"
    )


def run(scenario_name: str, scenario: Scenario, policies: list[tuple[str, PacingPolicy]]) -> None:
    for name, policy in policies:
        began = time.process_time()
        result = simulate(scenario, policy)
        print(row(scenario_name, name, result, time.process_time() - began), flush=True)
        if result.targets_left == 0:
            print(f"|   | (the list of {scenario.targets:,} ran out before the end) |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["all", "main", "sensitivity", "seeds"], default="all")
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=5, help="--part seeds: seeds 1..N")
    args = ap.parse_args()
    base = Scenario(hours=args.hours, seed=args.seed)
    predictive = ("predictive", PacingPolicy(DialMode.PREDICTIVE))
    progressive = ("progressive", PacingPolicy(DialMode.PROGRESSIVE))
    print(
        f"seed {args.seed} (--part seeds: 1 to {args.seeds}), {args.hours:g} simulated hours, "
        f"policy asked every {base.tick_s:g} s"
    )
    print(HEADER)
    print("|" + "---|" * 10)
    if args.part in ("all", "main"):
        power = [
            (f"power {level}", PacingPolicy(DialMode.POWER, service_level=level))
            for level in (50, 100, 200, 300, 400)
        ]
        run("main", base, [progressive, *power, predictive])
    if args.part in ("all", "sensitivity"):
        cases = [
            ("answer 15 %", replace(base, answer_rate=0.15)),
            ("answer 50 %", replace(base, answer_rate=0.50)),
            ("10 agents", replace(base, agents=10, targets=20_000)),
            ("200 agents", replace(base, agents=200, targets=400_000)),
            ("talk 60 s", replace(base, talk_mean_s=60.0)),
            ("talk 300 s", replace(base, talk_mean_s=300.0)),
        ]
        for name, scenario in cases:
            power = ("power 300", PacingPolicy(DialMode.POWER, service_level=300))
            run(name, scenario, [progressive, power, predictive])
    if args.part == "seeds":
        for seed in range(1, args.seeds + 1):
            for name, scenario in (
                ("main", replace(base, seed=seed)),
                ("10 agents", replace(base, seed=seed, agents=10, targets=20_000)),
            ):
                run(f"{name}, seed {seed}", scenario, [predictive])
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
