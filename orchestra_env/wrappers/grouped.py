"""GroupedPreferenceReward: k rollouts of one task, paid the paper's group-relative reward.

ToolOrchestra trains with GRPO: each task is rolled out k times (same task, same preference,
different draws) and each rollout is paid R = M_norm · P if it is correct, else 0, where M is
[calls per tool, outcome, −cost, −latency] min–max normalised over the group
(`rewards.group_normalized`). That reward only exists once every rollout of the group has ended,
so this vector env runs its sub-envs in groups and ends a group's episodes together:

* on reset, each group's first member draws a task and a preference; the other members reset
  with the same `task_id` and `preference` and their own episode seeds;
* a member whose episode ends before the rest of its group is *parked*: its transition is
  reported as not done, with only its non-episode reward (format penalties), and until the group
  ends its actions are ignored and it repeats its last observation (`info["parked"]` is True);
* when the last member ends, every member of the group reports its own `terminated` /
  `truncated` flags and receives its group-normalised reward (plus, for members ending on this
  step, their step's format penalty); `info` carries `group_reward`, `outcome`, `reward_terms`;
* the step after that resets the whole group on a fresh task (Gymnasium's next-step autoreset:
  the actions of that step are ignored and its rewards are 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from orchestra_env.rewards import Preference, group_normalized


class _Group:
    """The members (sub-env indices) of one group and what their current episodes produced."""

    def __init__(self, members: Sequence[int]):
        self.members = tuple(members)
        self.task_id: str | None = None
        self.preference: Preference | None = None
        self.finished: dict[int, tuple[bool, bool, dict]] = {}  # member -> (term, trunc, info)
        self.needs_reset = False

    def begin(self, task_id: str, preference: Preference) -> None:
        self.task_id, self.preference = task_id, preference
        self.finished.clear()
        self.needs_reset = False

    @property
    def complete(self) -> bool:
        return len(self.finished) == len(self.members)

    def rewards(self) -> np.ndarray:
        """The group-normalised reward of each member, in member order."""
        infos = [self.finished[i][2] for i in self.members]
        return group_normalized(
            [i["outcome"] for i in infos], [i["ledger"] for i in infos], self.preference
        )


class GroupedPreferenceReward(VectorEnv):
    """A vector env of `len(env_fns) // group_size` groups, each playing one task k times.

    Args:
        env_fns: callables that each build one orchestra env (as for `SyncVectorEnv`); their
            number must be a multiple of `group_size`. Members i·k … i·k+k−1 form group i.
        group_size: k, the rollouts per task (the paper uses 8).
        task_ids: optional tasks to cycle through, one per group reset (default: each group's
            first member samples a task from its split).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        group_size: int,
        *,
        task_ids: Sequence[str] | None = None,
    ):
        if group_size < 2:
            raise ValueError(
                f"group_size must be >= 2 (a group of one has no spread), got {group_size}"
            )
        if not env_fns or len(env_fns) % group_size:
            raise ValueError(
                f"need a positive multiple of group_size={group_size} envs, got {len(env_fns)}"
            )
        self.envs = [fn() for fn in env_fns]
        self.num_envs = len(self.envs)
        self.group_size = group_size
        self.groups = [
            _Group(range(g, g + group_size)) for g in range(0, self.num_envs, group_size)
        ]
        self._task_ids = list(task_ids or [])
        self._task_cursor = 0
        first = self.envs[0]
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**first.metadata, "autoreset_mode": AutoresetMode.NEXT_STEP}
        self.spec = first.spec
        self.render_mode = first.render_mode
        self._obs = [None] * self.num_envs
        self._batched = create_empty_array(self.single_observation_space, self.num_envs)

    @classmethod
    def make(
        cls, env_id: str, num_groups: int, group_size: int, **env_kwargs: Any
    ) -> GroupedPreferenceReward:
        """`num_groups` groups of `group_size` copies of `gym.make(env_id, **env_kwargs)`."""
        return cls([lambda: gym.make(env_id, **env_kwargs)] * (num_groups * group_size), group_size)

    # -- Gymnasium vector API ---------------------------------------------------------------

    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        """Start every group on a fresh task. `options` may pin `task_id` / `preference` for all
        groups; `seed` (an int i gives member j the seed i + j) seeds each member's episode."""
        seeds = _seeds(seed, self.num_envs)
        infos: dict = {}
        for group in self.groups:
            infos = self._reset_group(group, seeds, options or {}, infos)
        return self._observations(), infos

    def step(self, actions):
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        infos: dict = {}
        actions = list(iterate(self.action_space, actions))
        for group in self.groups:
            if group.needs_reset:
                infos = self._reset_group(group, [None] * self.num_envs, {}, infos)
                continue
            ended_now = []
            for i in group.members:
                if i in group.finished:
                    infos = self._add_info(infos, {"parked": True, "task_id": group.task_id}, i)
                    continue
                self._obs[i], reward, term, trunc, info = self.envs[i].step(actions[i])
                if term or trunc:  # keep only the non-episode part (format penalty) for now
                    rewards[i] = reward - info["reward_terms"]["total"]
                    group.finished[i] = (bool(term), bool(trunc), info)
                    ended_now.append(i)
                else:
                    rewards[i] = reward
                infos = self._add_info(infos, {**info, "parked": bool(term or trunc)}, i)
            if group.complete:
                infos = self._end_group(group, rewards, terminated, truncated, infos)
        return self._observations(), rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()

    # -- helpers ----------------------------------------------------------------------------

    def _reset_group(
        self, group: _Group, seeds: Sequence[int | None], options: dict, infos: dict
    ) -> dict:
        first, *rest = group.members
        pinned = dict(options)
        if "task_id" not in pinned and self._task_ids:
            pinned["task_id"] = self._task_ids[self._task_cursor % len(self._task_ids)]
            self._task_cursor += 1
        self._obs[first], info = self.envs[first].reset(seed=seeds[first], options=pinned)
        preference = self.envs[first].unwrapped.preference
        group.begin(info["task_id"], preference)
        infos = self._add_info(infos, {**info, "parked": False}, first)
        for i in rest:
            same = {**pinned, "task_id": group.task_id, "preference": preference}
            self._obs[i], info = self.envs[i].reset(seed=seeds[i], options=same)
            infos = self._add_info(infos, {**info, "parked": False}, i)
        return infos

    def _end_group(self, group: _Group, rewards, terminated, truncated, infos: dict) -> dict:
        paid = group.rewards()
        for i, r in zip(group.members, paid, strict=True):
            term, trunc, info = group.finished[i]
            rewards[i] += r
            terminated[i], truncated[i] = term, trunc
            extra = {
                "group_reward": float(r),
                "outcome": info["outcome"],
                "reward_terms": info["reward_terms"],
                "ledger": info["ledger"],
                "parked": False,
            }
            infos = self._add_info(infos, extra, i)
        group.needs_reset = True
        return infos

    def _observations(self):
        self._batched = concatenate(self.single_observation_space, self._obs, self._batched)
        return deepcopy(self._batched)


def _seeds(seed: int | Sequence[int | None] | None, n: int) -> list[int | None]:
    if seed is None:
        return [None] * n
    if isinstance(seed, int):
        return [seed + i for i in range(n)]
    if len(seed) != n:
        raise ValueError(f"{len(seed)} seeds for {n} envs")
    return list(seed)
