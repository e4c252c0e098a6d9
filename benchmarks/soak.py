"""Resident memory over a long run of one env: it must level off (every cache is bounded).

    python benchmarks/soak.py [--episodes 60000]

Prints the process's current RSS every tenth of the run, for the multihop family with a fixed
search-x3-and-answer plan on fresh seeds (so new tasks, queries and documents keep coming).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

import orchestra_env  # noqa: F401
from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.rollout import rollout

PLAN = [("search", {"model": "search-3"})] * 3 + [("answer", {"model": "answer-2"})]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=60_000)
    args = parser.parse_args()
    env, agent = gym.make("ToolOrchestra-Multihop-v0"), FixedPlan(PLAN)
    start, steps = time.perf_counter(), 0
    print("| episodes | steps | RSS MB | seconds |\n|---|---|---|---|")
    for episode in range(args.episodes + 1):
        steps += len(rollout(env, agent, seed=episode).actions)
        if episode % max(1, args.episodes // 10) == 0:
            print(
                f"| {episode:,} | {steps:,} | {rss_mb():.0f} | {time.perf_counter() - start:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
