"""Measuring a calibration cell by playing the paper's single-model policies through the env.

A cell is (model, setting, family): "none" is `baselines.single_model.alone(model)`, "basic"
is `with_basic_tools(model)`, played on the first n test tasks of the family. Every cell uses
the same episode seeds (`episode_seed`), so the cells share their random draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import gymnasium as gym

from orchestra_env.baselines.single_model import alone, with_basic_tools
from orchestra_env.calibration.targets import CELLS, ENV_IDS, FAMILY_TOOLS, SETTINGS
from orchestra_env.models.profiles import Profiles
from orchestra_env.rollout import rollout
from orchestra_env.tasks.suite import TaskSuite


@dataclass(frozen=True)
class Cell:
    """One measured cell: accuracy (0–1), mean $ and mean simulated seconds per task."""

    accuracy: float
    cost_usd: float
    latency_s: float
    n: int


def policy(model: str, setting: str, profiles: Profiles | None = None):
    """(env kwargs, agent) of the paper's single-model policy for `setting`."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    return (alone if setting == "none" else with_basic_tools)(model, profiles)


def episode_seed(seed: int, k: int) -> int:
    """Episode seed of the k-th task of a sweep; the same for every model and setting, so the
    cells share their random draws (common random numbers)."""
    return seed * 1_000_003 + k


def task_ids(family: str, n: int) -> list[str]:
    """The first n test-split task ids of `family` (what `env.unwrapped.task_ids` returns)."""
    return TaskSuite({family: 1.0}).task_ids("test", n)


def family_kwargs(env_kwargs: Mapping, family: str) -> dict:
    """`env_kwargs` with `tools` cut to the aliases of the tools `family` uses: an env of one
    family rejects aliases of tools it does not offer."""
    kwargs = dict(env_kwargs)
    if kwargs.get("tools") is not None:
        aliases = kwargs["profiles"].aliases
        kwargs["tools"] = [t for t in kwargs["tools"] if aliases[t].tool in FAMILY_TOOLS[family]]
    return kwargs


def measure_cell(
    model: str,
    setting: str,
    family: str,
    n: int = 1000,
    seed: int = 0,
    profiles: Profiles | None = None,
) -> Cell:
    """Play the single-model policy on the first n test tasks of `family` through the env.
    `profiles` replaces the bundled abilities and prices; the families' difficulty offsets are
    always the bundled ones (the families read them)."""
    env_kwargs, agent = policy(model, setting, profiles)
    env = gym.make(ENV_IDS[family], split="test", **family_kwargs(env_kwargs, family))
    solved = cost = latency = 0.0
    ids = env.unwrapped.task_ids("test", n)
    for k, task_id in enumerate(ids):
        info = play_episode(env, agent, {"task_id": task_id, "episode_seed": episode_seed(seed, k)})
        solved += info["outcome"]
        cost += info["ledger"]["cost_usd"]
        latency += info["ledger"]["latency_s"]
    env.close()
    return Cell(accuracy=solved / n, cost_usd=cost / n, latency_s=latency / n, n=n)


def measure(model: str, setting: str, family: str, n: int = 1000, seed: int = 0) -> float:
    """Simulated accuracy (0–1) of `model` in `setting` on the first n test tasks of `family`."""
    return measure_cell(model, setting, family, n, seed).accuracy


def play_episode(env, agent, options: dict) -> dict:
    """One episode; the final info."""
    return rollout(env, agent, options=options).info


def sweep(
    n: int = 1000,
    seed: int = 0,
    profiles: Profiles | None = None,
    log=None,
    cells: Iterable = CELLS,
) -> dict:
    """The `cells` (default: every calibrated cell) measured: {(model, setting, family): Cell}."""
    wanted, cells = cells, {}
    for model, setting, family in wanted:
        cells[model, setting, family] = measure_cell(model, setting, family, n, seed, profiles)
        if log:
            log(
                f"{model:20s} {setting:5s} {family:9s} "
                f"{100 * cells[model, setting, family].accuracy:5.1f}%"
            )
    return cells
