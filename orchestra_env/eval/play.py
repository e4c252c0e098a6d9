"""Play one unit of an evaluation: a (task, trial, seed) episode into its record.

Every pool that plays units imports this module: the evaluator's own process, its spawned
worker processes (`eval/pools.py`) and the Ray actors (`integrations/ray.py`).
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import gymnasium as gym

from orchestra_env.eval.agent import Agent, AgentFactory
from orchestra_env.eval.records import EpisodeFailure, EpisodeRecord, jsonable
from orchestra_env.models.backends import BackendUnreachable
from orchestra_env.models.live import LiveExperts
from orchestra_env.rollout import Step, rollout

Result = EpisodeRecord | EpisodeFailure


class EpisodeError(RuntimeError):
    """Episodes failed (or a worker could not start or died); everything finished is saved."""


@dataclass(frozen=True)
class Unit:
    """One episode to play: a task, which trial of it, and the seed to reset the env with."""

    task_id: str
    trial: int
    seed: int


def unit_seed(seed: int, task_id: str, trial: int) -> int:
    """The reset seed of a unit: 63 bits of SHA-256 over (run seed, task id, trial).

    hashlib, not `hash()`: string hashes are salted per process."""
    digest = hashlib.sha256(f"{seed}\x1f{task_id}\x1f{trial}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class PlayContext:
    """Everything a process needs to play units (picklable: sent to each worker once)."""

    agent: AgentFactory
    agent_kwargs: Mapping[str, Any]
    agent_name: str
    env_id: str
    env_kwargs: Mapping[str, Any]
    recorded_env_kwargs: dict[str, Any]  # as JSON, once for every record
    run_seed: int
    keep_trajectory: bool

    def build_agent(self) -> Agent:
        return self.agent.build(self.agent_kwargs, self.env_id, self.env_kwargs)

    def build_env(self) -> gym.Env:
        return gym.make(self.env_id, **self.env_kwargs)


def play_unit(env: gym.Env, agent: Agent, unit: Unit, context: PlayContext) -> Result:
    """Play one unit to its end: its record, or its failure if the agent or env raised
    (KeyboardInterrupt is no failure: it stops everything)."""
    try:
        return _play_episode(env, agent, unit, context)
    except Exception as exc:
        return EpisodeFailure(
            agent=context.agent_name,
            task_id=unit.task_id,
            trial=unit.trial,
            seed=unit.seed,
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)).strip(),
            unreachable=isinstance(exc, BackendUnreachable),
        )


def _play_episode(env: gym.Env, agent: Agent, unit: Unit, context: PlayContext) -> EpisodeRecord:
    experts = getattr(env.unwrapped, "experts", None)
    live = experts if isinstance(experts, LiveExperts) else None
    calls, errors = (live.calls, len(live.errors)) if live else (0, 0)
    trajectory: list | None = None
    on_step = None
    if context.keep_trajectory:
        trajectory = []

        def on_step(step: Step) -> None:
            if step.index == 0:  # the reset observation comes first
                trajectory.append({"action": None, "message": _last_message(step.observation)})
            message = _last_message(step.next_observation)
            trajectory.append({"action": step.action, "message": message})

    played = rollout(env, agent, seed=unit.seed, options={"task_id": unit.task_id}, on_step=on_step)
    record = _record(played.info, unit, played.total_reward, trajectory, context)
    if live is None:
        return record
    failed = [asdict(e) for e in live.errors[errors:]]
    return replace(record, expert_calls=live.calls - calls, expert_errors=failed)


def _record(
    info: dict, unit: Unit, reward: float, trajectory: list | None, context: PlayContext
) -> EpisodeRecord:
    try:
        ledger = info["ledger"]
        if info["task_id"] != unit.task_id:
            raise EpisodeError(
                f"reset(options={{'task_id': {unit.task_id!r}}}) played {info['task_id']!r}: "
                "the env ignored the task id"
            )
        return EpisodeRecord(
            agent=context.agent_name,
            env_id=context.env_id,
            env_kwargs=context.recorded_env_kwargs,
            task_id=unit.task_id,
            family=str(info["family"]),
            seed=unit.seed,
            run_seed=context.run_seed,
            trial=unit.trial,
            outcome=int(info["outcome"]),
            reward=reward,
            reward_terms={k: float(v) for k, v in info["reward_terms"].items()},
            cost_usd=float(ledger["cost_usd"]),
            latency_s=float(ledger["latency_s"]),
            prompt_tokens=int(ledger["prompt_tokens"]),
            completion_tokens=int(ledger["completion_tokens"]),
            turns=int(info["turns"]),
            format_errors=int(info["format_errors"]),
            calls={k: int(v) for k, v in ledger["calls"].items()},
            calls_by_alias={k: int(v) for k, v in ledger["calls_by_alias"].items()},
            trajectory=trajectory,
        )
    except KeyError as exc:
        raise EpisodeError(
            f"{context.env_id} ended task {unit.task_id!r} without info[{exc.args[0]!r}]; "
            "the evaluator needs task_id, family, outcome, reward_terms, turns, format_errors "
            "and ledger at an episode's end"
        ) from exc


def _last_message(observation: Any) -> Any:
    messages = observation.get("messages") if isinstance(observation, Mapping) else None
    return jsonable(messages[-1]) if messages else None
