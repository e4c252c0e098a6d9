"""Steps/s and resets/s of the env on one core, against a no-op Gymnasium env as the floor.

    python benchmarks/throughput.py [--episodes N] [--warmup N]

Pins itself to one core. Policies are fixed routers (no model in the loop), so the numbers are
the environment's own overhead: parsing, simulated experts, real BM25 retrieval, token
counting, ledger, grading, rendering. Prints a Markdown table for benchmarks/RESULTS.md.

The process caches what recurs across episodes (token counts of documents, BM25 results of
queries, normalised answers), as a training run does. The first row is measured on cold caches,
straight after start-up; then `--warmup` episodes run, and every other row is the steady state
of a long run, on seeds it has not used before.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import time

import gymnasium as gym

import orchestra_env  # noqa: F401
from orchestra_env.baselines.routers import CheapestFirst, EvidenceFirst, FixedPlan


class NoOpEnv(gym.Env):
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 0.0, False, False, {}


gym.register("NoOp-v0", entry_point=NoOpEnv)

PLANS = {
    "search x3 + answer": [("search", {"model": "search-3"})] * 3
    + [("answer", {"model": "answer-2"})],
    "web search x2 + code + answer": [("search", {"model": "search-2", "source": "web"})] * 2
    + [("enhance_reasoning", {"model": "reasoner-3"}), ("answer", {"model": "answer-1"})],
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_noop(n: int) -> tuple[float, float]:
    env = gym.make("NoOp-v0")
    t = time.perf_counter()
    for _ in range(n):
        env.reset()
    resets = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(n):
        env.step(0)
    return n / (time.perf_counter() - t), resets


# (env id, policy label, policy, share of --episodes, share of --warmup): one row each, besides
# the multihop rows. Code runs cost what the sandbox costs, so only function calling warms up
# (its sample queries and first rows are cached per template and seed).
FAMILY_CASES = [
    (
        "ToolOrchestra-Reasoning-v0",
        "code + answer (sandbox runs)",
        FixedPlan(
            [("enhance_reasoning", {"model": "reasoner-3"}), ("answer", {"model": "answer-2"})]
        ),
        0.2,
        0.0,
    ),
    (
        "ToolOrchestra-FunctionCalling-v0",
        "cheapest-first (call_expert each turn)",
        CheapestFirst(),
        0.3,
        0.2,
    ),
    ("ToolOrchestra-v0", "evidence-first (all families)", EvidenceFirst(), 0.2, 0.0),
]


def bench_env(env_id: str, agent, episodes: int, first_seed: int = 0, **kwargs) -> dict:
    env = gym.make(env_id, **kwargs)
    reset_s, step_s, steps = [], 0.0, 0
    for ep in range(first_seed, first_seed + episodes):
        t = time.perf_counter()
        obs, info = env.reset(seed=ep)
        reset_s.append(time.perf_counter() - t)
        agent.reset(obs, info)
        done = False
        while not done:
            action = agent.act(obs)
            t = time.perf_counter()
            obs, _, term, trunc, _ = env.step(action)
            step_s += time.perf_counter() - t
            steps += 1
            done = term or trunc
    return {
        "steps_per_s": steps / step_s,
        "reset_median_ms": 1000 * statistics.median(reset_s),
        "resets_per_s": len(reset_s) / sum(reset_s),
    }


def row(env_id: str, label: str, r: dict) -> str:
    return (
        f"| {env_id} | {label} | {r['steps_per_s']:,.0f} | {r['resets_per_s']:,.0f} "
        f"| {r['reset_median_ms']:.3f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=3000)
    parser.add_argument(
        "--warmup", type=int, default=5000, help="episodes run before the steady rows"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t = time.perf_counter()
    env = gym.make("ToolOrchestra-Multihop-v0")
    env.reset(seed=0)
    warm = time.perf_counter() - t
    search_plan = PLANS["search x3 + answer"]
    cold = bench_env(
        "ToolOrchestra-Multihop-v0", FixedPlan(search_plan), args.episodes, render="chat"
    )
    rss_before = rss_mb()
    noop_steps, noop_resets = bench_noop(200_000)
    t = time.perf_counter()
    bench_env("ToolOrchestra-Multihop-v0", FixedPlan(search_plan), args.warmup, first_seed=10**6)
    rss_warm = rss_mb()
    print(
        f"first env + world + index build: {warm:.2f} s; "
        f"RSS {rss_before:.0f} MB after the cold row; {args.warmup} warm-up episodes: "
        f"{time.perf_counter() - t:.1f} s, RSS {rss_warm:.0f} MB"
    )
    print("| env | policy | steps/s | resets/s | median reset |")
    print("|---|---|---|---|---|")
    print(f"| no-op Gymnasium env (floor) | - | {noop_steps:,.0f} | {noop_resets:,.0f} | - |")
    print(row("ToolOrchestra-Multihop-v0 render=chat, **cold caches**", "search x3 + answer", cold))
    for name, plan in PLANS.items():
        for render in ("chat", "toolorchestra"):
            r = bench_env(
                "ToolOrchestra-Multihop-v0",
                FixedPlan(plan),
                args.episodes,
                first_seed=2 * 10**6,
                render=render,
            )
            print(row(f"ToolOrchestra-Multihop-v0 render={render}", name, r))
    for env_id, label, agent, share, warm_share in FAMILY_CASES:
        gym.make(env_id).reset(seed=0)  # build its worlds outside the timing
        if warm_share:
            bench_env(env_id, agent, int(args.warmup * warm_share), first_seed=10**6)
        r = bench_env(env_id, agent, max(50, int(args.episodes * share)), first_seed=2 * 10**6)
        print(row(env_id, label, r))
    # Memory: more envs and more episodes should not grow the process much (shared world).
    gc.collect()
    before = rss_mb()
    envs = [gym.make("ToolOrchestra-Multihop-v0") for _ in range(50)]
    for i, e in enumerate(envs):
        e.reset(seed=i)
    per_env = (rss_mb() - before) / 50
    bench_env(
        "ToolOrchestra-Multihop-v0", FixedPlan(search_plan), args.episodes, first_seed=3 * 10**6
    )
    bench_env(
        "ToolOrchestra-Multihop-v0", FixedPlan(search_plan), args.warmup, first_seed=4 * 10**6
    )
    print(
        f"\npeak RSS {rss_mb():.0f} MB ({rss_mb() - rss_warm:+.0f} MB since the warm-up, "
        f"over every row above and {args.episodes + args.warmup} more episodes); "
        f"≈{per_env * 1024:.0f} KB per extra env"
    )


if __name__ == "__main__":
    main()
