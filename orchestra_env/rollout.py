"""One episode, played: `rollout` runs reset -> act -> step to the end for any env and agent.

The evaluator, the Ray pools, `orchestra play`, the tests and the benchmarks all play episodes
through it, so the loop (and what an `Agent` is) is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym


@runtime_checkable
class Agent(Protocol):
    """A policy for one episode at a time: `reset` at the start of each, then `act` per turn."""

    name: str

    def reset(self, observation: dict, info: dict) -> None: ...

    def act(self, observation: dict) -> str: ...


@dataclass(frozen=True, eq=False)  # observations may hold arrays: no field-wise ==
class Step:
    """One turn, as a per-step callback sees it: its `index` (0 for the first action), what
    the agent acted on (`observation`, with the `info` that came with it), its `action`, and
    what the env returned."""

    index: int
    observation: Any
    info: dict[str, Any]
    action: Any
    next_observation: Any
    reward: float
    terminated: bool
    truncated: bool
    next_info: dict[str, Any]


@dataclass(frozen=True, eq=False)
class Rollout:
    """One finished episode. `observations` (kept on request) starts with the reset
    observation, so it has one entry more than `actions` and `rewards`; `info` is the last
    step's info, `reset_info` the reset's."""

    task_id: str | None
    seed: int | None
    actions: list[Any]
    rewards: list[float]
    terminated: bool
    truncated: bool
    info: dict[str, Any]
    reset_info: dict[str, Any] = field(default_factory=dict)
    observations: list[Any] = field(default_factory=list)
    # Summed turn by turn as the loop went (not `sum(rewards)`, whose float rounding differs).
    total_reward: float = 0.0

    @property
    def outcome(self) -> int | None:
        return self.info.get("outcome")


StepCallback = Callable[[Step], None]


def rollout(
    env: gym.Env,
    agent: Agent,
    *,
    seed: int | None = None,
    options: Mapping[str, Any] | None = None,
    on_step: StepCallback | None = None,
    keep_observations: bool = False,
) -> Rollout:
    """Play one episode of `agent` on `env` to its end: `reset(seed, options)`, then the agent
    acts until the env terminates or truncates. `on_step` sees every turn as it happens."""
    obs, info = env.reset(seed=seed, options=dict(options) if options is not None else None)
    agent.reset(obs, info)
    reset_info = info
    observations = [obs] if keep_observations else []
    actions: list[Any] = []
    rewards: list[float] = []
    total, terminated, truncated = 0.0, False, False
    while not (terminated or truncated):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, next_info = env.step(action)
        reward = float(reward)
        actions.append(action)
        rewards.append(reward)
        total += reward
        if keep_observations:
            observations.append(next_obs)
        if on_step is not None:
            ended = (terminated, truncated)
            on_step(Step(len(actions) - 1, obs, info, action, next_obs, reward, *ended, next_info))
        obs, info = next_obs, next_info
    return Rollout(
        task_id=info.get("task_id", (options or {}).get("task_id")),
        seed=seed,
        actions=actions,
        rewards=rewards,
        terminated=bool(terminated),
        truncated=bool(truncated),
        info=info,
        reset_info=reset_info,
        observations=observations,
        total_reward=total,
    )
