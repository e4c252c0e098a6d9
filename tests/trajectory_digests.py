"""Digests of whole episodes, to prove a refactor changed no behaviour.

Each digest hashes everything a policy and a trainer see in one episode — every action, every
observation (messages, tools, preference, budget), reward, termination flag and info — for a
pinned (env, agent, task, seed). `tests/data/trajectory_digests.json` holds the recorded ones;
`tests/test_trajectory_digests.py` replays them. Re-record only on a deliberate behaviour change:

    python -m tests.trajectory_digests --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.eval.agent import make_agent

PATH = Path(__file__).parent / "data" / "trajectory_digests.json"
# (env id, agent, agent kwargs): routers of every kind, over each family.
CASES = (
    ("ToolOrchestra-Multihop-v0", "evidence-first", {}),
    ("ToolOrchestra-Multihop-v0", "random", {}),
    ("ToolOrchestra-Multihop-v0", "basic-tools", {"model": "gpt-5"}),
    ("ToolOrchestra-Reasoning-v0", "cheapest-first", {}),
    ("ToolOrchestra-Reasoning-v0", "random", {}),
    ("ToolOrchestra-FunctionCalling-v0", "cheapest-first", {}),
    ("ToolOrchestra-FunctionCalling-v0", "random", {}),
    ("ToolOrchestra-FunctionCalling-v0", "basic-tools", {"model": "qwen3-32b"}),
)
SPLITS = ("train", "test")


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot digest {type(value).__name__}")


def episode_digest(env: gym.Env, agent, task_id: str, seed: int) -> str:
    """sha256 of one whole episode of `agent` on `task_id` under `seed`."""
    h = hashlib.sha256()

    def feed(*parts) -> None:
        h.update(json.dumps(parts, sort_keys=True, default=_jsonable).encode())

    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    agent.reset(obs, info)
    feed(obs, info)
    done = False
    while not done:
        action = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        feed(action, obs, float(reward), terminated, truncated, info)
        done = terminated or truncated
    return h.hexdigest()


def digests(episodes_per_case: int) -> dict[str, str]:
    """{"env|agent|task_id|seed": digest} for the first tasks of each split, every case."""
    out = {}
    for env_id, agent_name, kwargs in CASES:
        env = gym.make(env_id, max_turns=12)
        agent = make_agent(agent_name, env_id=env_id, env_kwargs={"max_turns": 12}, **kwargs)
        per_split = episodes_per_case // len(SPLITS)
        for split in SPLITS:
            for i, task_id in enumerate(env.unwrapped.task_ids(split, per_split)):
                key = f"{env_id}|{agent_name}{kwargs or ''}|{task_id}|{i}"
                out[key] = episode_digest(env, agent, task_id, seed=i)
        env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="per (env, agent) case")
    parser.add_argument("--write", action="store_true", help=f"write {PATH}")
    args = parser.parse_args()
    recorded = digests(args.episodes)
    if args.write:
        PATH.write_text(json.dumps(recorded, indent=0, sort_keys=True) + "\n")
    print(f"{len(recorded)} episode digests" + (f" written to {PATH}" if args.write else ""))


if __name__ == "__main__":
    main()
