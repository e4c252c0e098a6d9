"""Rollouts with Ray: episodes per second in one process, then with 1, 2, ... `RolloutPool` actors.

    python benchmarks/ray_bench.py [--episodes 300] [--actors 1 2] [--batch-sizes 1 8]

The evidence-first router on ToolOrchestra-v0 (max_turns 10), the same (task, seed) units for
every row, for each number of actors and each batch size (units per remote call); actor
start-up (Ray, env and world builds) is timed apart from the rollouts. Also
checks that every row played identical episodes. Prints a Markdown table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

import orchestra_env  # noqa: F401
from orchestra_env.eval import AgentSpec
from orchestra_env.integrations.ray import RolloutPool, connect, play_episode, sample_units

ENV_ID, POLICY, ENV_KWARGS = "ToolOrchestra-v0", "evidence-first", {"max_turns": 10}


def signature(episodes) -> list[tuple]:
    return [(e.task_id, e.seed, tuple(e.actions), e.total_reward) for e in episodes]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    units = sample_units(args.episodes, seed=0)

    env = gym.make(ENV_ID, **ENV_KWARGS)
    agent = AgentSpec(POLICY).build(ENV_ID, ENV_KWARGS)
    play_episode(env, agent, *units[0])  # build the worlds outside the timing
    start = time.perf_counter()
    reference = [play_episode(env, agent, *unit) for unit in units]
    rows = [("in-process loop", 0.0, args.episodes / (time.perf_counter() - start), True)]

    connect()
    for actors in args.actors:
        for batch_size in args.batch_sizes:
            start = time.perf_counter()
            with RolloutPool(
                ENV_ID, POLICY, env_kwargs=ENV_KWARGS, actors=actors, batch_size=batch_size
            ) as pool:
                pool.run(units[: actors * batch_size])  # every actor up, its worlds built
                started = time.perf_counter() - start
                start = time.perf_counter()
                episodes = pool.run(units)
                rate = args.episodes / (time.perf_counter() - start)
            name = f"RolloutPool, {actors} actor(s), batch_size {batch_size}"
            rows.append((name, started, rate, signature(episodes) == signature(reference)))

    print("| rollouts | start-up s | episodes/s | same episodes as in-process |\n|---|---|---|---|")
    for name, started, rate, same in rows:
        print(f"| {name} | {started:.1f} | {rate:.1f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
