"""τ² (tau2-bench), the third column: the chance table and the tool_use fit.

The paper also reports the six models with the basic
tools on τ²; here that is `with_basic_tools(model)` on the `function_calling` family, where the
model itself is the agent: every turn it calls `call_expert` with an alias bound to itself. Only
the `tool_use` ability (and the family's `tool_use` offset) moves these six cells, and nothing
else reads `tool_use`, so they are fitted apart from the 24 of HLE and FRAMES
(`fit_tool_use`). Every expert call of a conversation has the same one check (tool_use at the
task's difficulty), so every call succeeds with the same chance p, and call i succeeds iff
u_i < p: the episode depends on p only through which of its draws lie below it.
`chance_table` plays each task once per p-interval that can change the outcome (the real env,
domain database and scripted user), so the measured accuracy is known exactly for any ability
and offset (`ChanceTable.accuracy`, episode for episode what the env measures). Each model's
ability is the grid point whose accuracy is closest to the paper with no offset; the offset δ
is then the shift (abilities and offset moving together leave every chance unchanged) that
minimises Σ_m (w_θ (θ_m − θ⁰_m))² + (w_δ δ)², θ⁰ = `TOOL_USE_PRIOR`, the hand-set values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np

from orchestra_env.calibration.fitting import OFFSET_WEIGHT, PRIOR_WEIGHT, Fit, monotone
from orchestra_env.calibration.measurement import (
    Cell,
    episode_seed,
    family_kwargs,
    play_episode,
    policy,
)
from orchestra_env.calibration.targets import ENV_IDS, MODELS, TAU2, TAU2_FAMILY
from orchestra_env.core import Evidence
from orchestra_env.episode import call_seed
from orchestra_env.models.base import ExpertReply, ExpertRequest
from orchestra_env.models.profiles import Profiles
from orchestra_env.models.simulated import SimulatedExperts, call_draw

# The hand-set tool_use abilities (the τ² fit's prior θ⁰).
TOOL_USE_PRIOR = {
    "qwen3-8b": 0.5,
    "llama-nemotron-49b": 0.2,
    "llama-3.3-70b": 0.0,
    "qwen3-235b-a22b": 1.4,
    "claude-opus-4.1": 1.8,
    "gpt-5": 2.5,
}


@dataclass(frozen=True)
class ChanceTable:
    """What `with_basic_tools` scores on T function-calling tasks for any per-call success
    chance. Task t's calls all succeed with the same chance p (one tool_use check at the task's
    difficulty), call i iff u_i < p, so its outcome is `outcome[t, j]` for p in
    (cuts[t, j - 1], cuts[t, j]], j = the number of cuts below p. `cuts` (T, M) ascend and are
    padded with 2.0 (above every p); `outcome` is (T, M + 1); `difficulty` (T,) is each task's
    tool_use difficulty before the family offset."""

    task_ids: tuple[str, ...]
    difficulty: np.ndarray
    cuts: np.ndarray
    outcome: np.ndarray

    def chances(self, theta: np.ndarray | float, offset: float, a: float) -> np.ndarray:
        """Each task's per-call success chance for abilities θ (a scalar, or shape (G, 1))."""
        return 1.0 / (1.0 + np.exp(-a * (theta - self.difficulty - offset)))

    def outcomes(self, p: np.ndarray) -> np.ndarray:
        """Each task's outcome at chances p of shape (T,) or (G, T)."""
        below = (self.cuts < p[..., None]).sum(axis=-1)
        return self.outcome[np.arange(len(self.task_ids)), below]

    def accuracy(self, theta: float, offset: float, a: float) -> float:
        """What the env measures (0–1) on the table's tasks and episode seeds."""
        return float(self.outcomes(self.chances(theta, offset, a)).mean())

    def accuracy_curve(self, grid: np.ndarray, a: float, chunk: int = 64) -> np.ndarray:
        """`accuracy(θ, 0, a)` at every θ of `grid`."""
        parts = []
        for start in range(0, len(grid), chunk):
            thetas = grid[start : start + chunk, None]
            parts.append(self.outcomes(self.chances(thetas, 0.0, a)).mean(axis=1))
        return np.concatenate(parts)


class _ChanceExperts:
    """Simulated experts whose acting model succeeds at every call with a chance set per
    episode (`force`), through the real `SimulatedExperts` with an ability chosen to give it."""

    def __init__(self, profiles: Profiles, model: str):
        self.profiles, self.model = profiles, model
        self._inner = SimulatedExperts(profiles)

    def force(self, p: float, difficulty: float) -> None:
        """From now on a tool_use check at `difficulty` succeeds with chance p."""
        theta = difficulty + math.log(p / (1.0 - p)) / self.profiles.discrimination
        profile = self.profiles.models[self.model]
        forced = replace(profile, abilities={**profile.abilities, "tool_use": theta})
        self._inner = SimulatedExperts(
            replace(self.profiles, models={**self.profiles.models, self.model: forced})
        )

    def complete(self, request: ExpertRequest) -> ExpertReply:
        return self._inner.complete(request)


def chance_table(n: int, seed: int = 0, *, model: str = "qwen3-8b", log=None) -> ChanceTable:
    """The chance table of the first n test tasks of the function-calling family with the
    episode seeds of `measure_cell(..., n, seed)`: each task played through the env once per
    interval of p that can change what happens. The acting model only sets prices and token
    counts, which change no outcome (no budget limits here)."""
    env_kwargs, agent = policy(model, "basic")
    experts = _ChanceExperts(env_kwargs["profiles"], model)
    kwargs = {**family_kwargs(env_kwargs, TAU2_FAMILY), "experts": experts}
    env = gym.make(ENV_IDS[TAU2_FAMILY], split="test", **kwargs)
    ids = tuple(env.unwrapped.task_ids("test", n))
    rows = []
    for k, task_id in enumerate(ids):
        rows.append(_task_chances(env, agent, experts, task_id, episode_seed(seed, k)))
        if log and (k + 1) % 200 == 0:
            log(f"chance table: {k + 1}/{n} tasks")
    env.close()
    return _pack_chances(ids, rows)


def _task_chances(env, agent, experts: _ChanceExperts, task_id: str, seed: int):
    """(difficulty before the offset, cuts, outcomes) of one task: play at a chance p inside
    the current interval; the outcome holds up to the next draw, among the calls made, above it."""
    task = env.unwrapped.suite.task(task_id)
    (check,) = task.demands("act", Evidence())
    draws = [call_draw(call_seed(seed, i))[0] for i in range(1, env.unwrapped.max_turns + 1)]
    cuts: list[float] = []
    outcomes: list[int] = []
    low = 0.0
    while True:
        high = min((u for u in draws if u > low), default=1.0)
        experts.force((low + high) / 2, check.difficulty)
        info = play_episode(env, agent, {"task_id": task_id, "episode_seed": seed})
        outcomes.append(int(info["outcome"]))
        calls = info["ledger"]["calls"].get("call_expert", 0)
        cut = min((u for u in draws[:calls] if u > low), default=None)
        if cut is None:
            return task.difficulty["tool_use"], cuts, outcomes
        cuts.append(cut)
        low = cut


def _pack_chances(
    ids: tuple[str, ...], rows: Sequence[tuple[float, list[float], list[int]]]
) -> ChanceTable:
    width = max(len(cuts) for _, cuts, _ in rows)
    cuts = np.full((len(rows), width), 2.0)
    outcome = np.zeros((len(rows), width + 1), dtype=np.int64)
    for t, (_, row_cuts, row_outcomes) in enumerate(rows):
        cuts[t, : len(row_cuts)] = row_cuts
        outcome[t, : len(row_outcomes)] = row_outcomes
        outcome[t, len(row_outcomes) :] = row_outcomes[-1]
    difficulty = np.array([d for d, _, _ in rows])
    return ChanceTable(task_ids=ids, difficulty=difficulty, cuts=cuts, outcome=outcome)


@dataclass(frozen=True)
class ToolUseFit:
    """The six paper models' fitted tool_use, the function-calling offset, and the accuracy (%)
    the env measures with them on the table's tasks."""

    abilities: dict[str, float]
    offset: float
    replayed: dict[str, float]


TOOL_USE_GRID = np.round(np.arange(-8.0, 8.0 + 1e-9, 0.005), 3)


def fit_tool_use(table: ChanceTable, a: float, grid: np.ndarray = TOOL_USE_GRID) -> ToolUseFit:
    """Each paper model's tool_use: the grid point whose accuracy is nearest the paper's τ²
    (the middle one of a tie), with no offset; then the offset and abilities shifted together
    towards the prior (the module docstring's closed form)."""
    curve = 100 * table.accuracy_curve(grid, a)
    free = {m: _nearest(grid, curve, TAU2[m]) for m in MODELS}
    pull = sum(free[m] - TOOL_USE_PRIOR[m] for m in MODELS)
    offset = round(
        -(PRIOR_WEIGHT**2) * pull / (len(MODELS) * PRIOR_WEIGHT**2 + OFFSET_WEIGHT**2), 3
    )
    abilities = {m: round(free[m] + offset, 3) for m in MODELS}
    replayed = {m: 100 * table.accuracy(abilities[m], offset, a) for m in MODELS}
    return ToolUseFit(abilities=abilities, offset=offset, replayed=replayed)


def _nearest(grid: np.ndarray, curve: np.ndarray, target: float) -> float:
    """The grid point whose value on `curve` is nearest `target` (the middle of a tie)."""
    gap = np.abs(curve - target)
    best = np.flatnonzero(gap <= gap.min() + 1e-9)
    return float(grid[best[len(best) // 2]])


def with_tool_use(result: Fit, tool_use: ToolUseFit, profiles: Profiles) -> Fit:
    """`result` with the six models' fitted tool_use, every other model's carried through the
    monotone map of `remap`, the function-calling offset, and the τ² cells' replayed accuracy."""
    old = np.sort([profiles.models[m].abilities["tool_use"] for m in MODELS])
    new = np.sort([tool_use.abilities[m] for m in MODELS])
    abilities = {}
    for name, skills in result.abilities.items():
        current = profiles.models[name].abilities["tool_use"]
        value = tool_use.abilities.get(name, round(monotone(current, old, new), 3))
        abilities[name] = {**skills, "tool_use": value}
    replayed = {(m, "basic", TAU2_FAMILY): tool_use.replayed[m] for m in MODELS}
    return Fit(
        abilities=abilities,
        offsets={**result.offsets, TAU2_FAMILY: {"tool_use": tool_use.offset}},
        expected={**result.expected, **replayed},
        objective=result.objective,
    )


def replayed_tau2(table: ChanceTable, profiles: Profiles) -> dict:
    """τ² cells from the chance table (accuracy only) with `profiles`' tool_use and offset."""
    offset = profiles.difficulty_offsets.get(TAU2_FAMILY, {}).get("tool_use", 0.0)
    return {
        (m, "basic", TAU2_FAMILY): Cell(
            table.accuracy(
                profiles.models[m].abilities["tool_use"], offset, profiles.discrimination
            ),
            math.nan,
            math.nan,
            len(table.task_ids),
        )
        for m in MODELS
    }
