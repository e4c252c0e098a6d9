"""What orchestra-mini's features cost per turn, next to the env step they follow.

    python benchmarks/features_bench.py [--episodes N]

Plays random valid routes on ToolOrchestra-v0 under the paper's randomisation, on warm caches,
first on the raw env (steps/s), then through `FeatureObservation(DiscreteRouting(env))` on the
same seeds;
then times `observation_features` alone on the observations collected, and the numpy actor
of the shipped checkpoint on them. Pins itself to one core.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

import orchestra_env  # noqa: F401  (registers the envs)
from orchestra_env.agents.mini import OrchestraMini
from orchestra_env.wrappers import DiscreteRouting, FeatureLayout, FeatureObservation
from orchestra_env.wrappers.routing import observation_features

KWARGS = {"split": "train", "preference": "sample", "randomize": "paper"}


def play(env: gym.Env, episodes: int, mask_of, collect: list | None = None) -> float:
    """Steps/s of random valid routes over `episodes` episodes (seeded)."""
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    for seed in range(episodes):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            action = int(rng.choice(np.flatnonzero(mask_of(env, obs, info))))
            obs, _, terminated, truncated, info = env.step(action)
            if collect is not None:
                collect.append(obs)
            steps, done = steps + 1, terminated or truncated
    return steps / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--episodes", type=int, default=2000)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    raw = DiscreteRouting(gym.make("ToolOrchestra-v0", **KWARGS))
    wrapped = FeatureObservation(DiscreteRouting(gym.make("ToolOrchestra-v0", **KWARGS)))
    # a first pass over the same seeds warms the caches (program results, BM25), so that the
    # two timed passes replay equal work
    play(raw, args.episodes, lambda env, o, i: i["action_mask"])
    observations: list = []
    raw_rate = play(raw, args.episodes, lambda env, o, i: i["action_mask"], observations)
    wrapped_rate = play(wrapped, args.episodes, lambda env, o, i: i["action_mask"])
    layout = FeatureLayout.of(raw.unwrapped)
    start = time.perf_counter()
    for obs in observations:
        observation_features(obs, layout)
    features_us = (time.perf_counter() - start) / len(observations) * 1e6
    agent = OrchestraMini()
    start = time.perf_counter()
    for obs in observations:
        agent.logits(obs)
    actor_us = (time.perf_counter() - start) / len(observations) * 1e6
    print("| measure | value |\n|---|---|")
    print(f"| raw env + DiscreteRouting, random valid routes | {raw_rate:,.0f} steps/s |")
    print(f"| + FeatureObservation | {wrapped_rate:,.0f} steps/s |")
    print(f"| observation_features alone | {features_us:.0f} µs per turn |")
    print(f"| orchestra-mini act (features + numpy actor) | {actor_us:.0f} µs per turn |")


if __name__ == "__main__":
    main()
