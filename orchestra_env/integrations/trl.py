"""Adapters for TRL's `GRPOTrainer` (TRL ≥ 1.0; its `environment_factory` is experimental).

Multi-turn (the orchestrator calls tools until it answers):

    from trl import GRPOConfig, GRPOTrainer
    from orchestra_env.integrations.trl import environment_factories, task_dataset

    trainer = GRPOTrainer(
        "Qwen/Qwen3-0.6B",
        args=GRPOConfig(num_generations=8, max_steps=100, ...),
        train_dataset=task_dataset("ToolOrchestra-v0", 256),        # prompt, task, preference
        environment_factory=environment_factories("ToolOrchestra-v0"),  # {toolset: factory}
    )

TRL builds one environment instance per rollout and exposes its public methods as the model's
tools: here each tool of the env's tool set (`search`, `enhance_reasoning`, `answer`; a domain's
functions, `call_expert` and `message_user` in conversations) is a generated method that sends
the call to the env as a `<tool_call>` and returns what the env replies. `reset(**row)` puts the
env on the row's task and preference (every rollout of a GRPO group shares them; each gets its
own expert draws) and `get_reward()` returns the env's own reward: the preference-weighted
episode reward from its grading, plus any format penalties. A rollout that stops calling tools
before its episode ends is not graded (reward: its penalties only). The factories are picklable
(for TRL's async trainer).

The multi-turn envs train under the paper's randomisation (`randomize="paper"` unless the
kwargs say otherwise): which model serves each alias, its price and the tools offered change
per episode. TRL fixes a tool's schema once, so under randomisation the schemas name the
aliases without a price table and `reset` appends the episode's tables (models, prices and
latencies in force, read from the observation's `tools`) to the prompt.

The paper's recipe (examples/grpo_train.py): `PaperGRPOTrainer(reward_funcs=
[GroupPreferenceReward(num_generations)], environment_factory=...)`. The reward function pays
each rollout `rewards.group_normalized` over the rollouts of its task; the trainer gives the
paper's advantage (z-score in the group clipped to [-3, 3], groups with reward std < 0.1
dropped) and drops from the loss the turns that are not valid tool calls on a live episode.
Importing it imports TRL.

Single-turn (one completion is one action, graded at once): `EnvReward(env_id)` is a reward
function for `GRPOTrainer(reward_funcs=...)` over a `task_dataset`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from inspect import Parameter, Signature
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from orchestra_env.hermes import format_call
from orchestra_env.rewards import Preference, group_normalized, preset_preferences
from orchestra_env.tools.spec import ToolSpec

MESSAGE_TOOL = "message_user"
_ENDED = "The episode has ended: no further tool calls are accepted."
_TABLE = "\nChoose the "  # where a tool description's alias table starts (tools/catalogue.py)
_IN_FORCE = "\nThe choices in force this episode, with their prices, follow the problem."
_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


# -- the tool sets of an env ---------------------------------------------------------------------


def toolsets(env: gym.Env) -> dict[str, tuple[tuple[ToolSpec, ...], bool]]:
    """{toolset name: (tool specs, conversational)} for every tool set the env's tasks use
    ("qa" for question answering, a domain's name for function calling)."""
    base = env.unwrapped
    randomized = base.randomize != "none"
    out: dict[str, tuple[tuple[ToolSpec, ...], bool]] = {}
    for name in base.suite.names:
        family = base.suite.family(name)
        aliases = [a for a in base.aliases if base.profiles.aliases[a].tool in family.tools]
        for task in family.example_tasks():
            specs = tuple(
                _without_table(s) if randomized else s
                for s in family.tool_specs(task, base.profiles, aliases)
            )
            out.setdefault(task.toolset, (specs, bool(family.conversational)))
    return out


def _without_table(spec: ToolSpec) -> ToolSpec:
    """The spec with its alias table (the default models and prices) replaced by a pointer to
    the episode's table."""
    purpose, table, _ = spec.description.partition(_TABLE)
    return dataclasses.replace(spec, description=purpose + _IN_FORCE) if table else spec


def tables_in_force(tools_json: str) -> str:
    """The alias tables of an observation's `tools` (the models, prices and latencies that
    this episode charges), one per tool that has one."""
    tables = []
    for tool in json.loads(tools_json):
        function = tool["function"]
        _, table, rest = function["description"].partition(_TABLE)
        if table:
            tables.append(f"{function['name']}: choose the {rest}")
    return "Tools in force this episode:\n\n" + "\n\n".join(tables)


def training_kwargs(env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The env options of training: the paper's randomisation unless `env_kwargs` set it."""
    return {"randomize": "paper", **env_kwargs}


def _toolset_of(env: gym.Env, task_id: str) -> str:
    return env.unwrapped.suite.task(task_id).toolset


# -- generated tool methods ----------------------------------------------------------------------


def _python_name(name: str) -> str:
    """An argument name usable in a Python signature (keywords get a trailing underscore)."""
    return name + "_" if keyword.iskeyword(name) else name


def _hint(prop: Mapping[str, Any]) -> Any:
    if "enum" in prop:
        return Literal[tuple(prop["enum"])]
    return _JSON_TYPES.get(prop.get("type", "string"), str)


def _describe(name: str, prop: Mapping[str, Any]) -> str:
    """One line the model reads about an argument (constraints the type hint cannot carry)."""
    parts = [prop.get("description") or f"the {name.replace('_', ' ')}"]
    for key, text in (
        ("pattern", "matching {}"),
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
        ("exclusiveMinimum", "more than {}"),
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("default", "default {}"),
    ):
        if key in prop:
            parts.append(text.format(json.dumps(prop[key])))
    if prop.get("type") == "array" and "items" in prop:
        parts.append("items: " + json.dumps(prop["items"]))
    line = "; ".join(p for p in parts if p)
    return re.sub(r"\s+", " ", line).replace("(choices:", "(options:")


def _tool_method(spec: ToolSpec):
    """A method `name(self, **arguments) -> str` whose signature and docstring give TRL (via
    `transformers.utils.get_json_schema`) the spec's schema, and whose body steps the env."""
    props = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", ()))
    renamed = {_python_name(k): k for k in props}

    def method(self, **arguments: Any) -> str:
        return self._call(spec.name, {renamed.get(k, k): v for k, v in arguments.items()})

    params = [Parameter("self", Parameter.POSITIONAL_OR_KEYWORD)]
    for py, name in renamed.items():
        default = Parameter.empty if name in required else props[name].get("default")
        params.append(
            Parameter(py, Parameter.KEYWORD_ONLY, default=default, annotation=_hint(props[name]))
        )
    method.__name__ = method.__qualname__ = spec.name
    method.__signature__ = Signature(params, return_annotation=str)
    method.__annotations__ = {p.name: p.annotation for p in params[1:]} | {"return": str}
    args = "\n".join(f"    {py}: {_describe(name, props[name])}" for py, name in renamed.items())
    method.__doc__ = spec.description.strip() + (f"\n\nArgs:\n{args}" if args else "")
    return method


def _message_method():
    def message_user(self, text: str) -> str:
        return self._call(MESSAGE_TOOL, {"text": text})

    message_user.__doc__ = (
        "Send a message to the user (to ask for what you need or to tell them the outcome) and "
        "read their reply. The conversation ends when the user is satisfied.\n\n"
        "Args:\n    text: what to say to the user"
    )
    return message_user


# -- the environment TRL drives ------------------------------------------------------------------


class OrchestraTRLEnv:
    """One orchestra episode seen as TRL's environment: `reset`, tool methods, `get_reward`.

    Subclasses generated by `environment_class` add one method per tool of a tool set.
    """

    toolset: str = ""

    def __init__(self, env_id: str, env_kwargs: Mapping[str, Any], seed: Sequence[int]):
        self.env = gym.make(env_id, **{**training_kwargs(env_kwargs), "render": "chat"})
        self._randomized = self.env.unwrapped.randomize != "none"
        self.rng = np.random.default_rng(list(seed))
        self.total_reward = 0.0
        self.done = True
        self.info: dict = {}
        self._seen = 0

    def reset(
        self,
        task_id: str | None = None,
        preference: str | None = None,
        prompt: Any = None,
        **_: Any,
    ) -> str | None:
        """Start an episode on the row's task and preference. Returns what TRL appends to the
        prompt: the opening messages' text unless the row's prompt already holds them, and under
        randomisation the episode's alias tables; None when there is nothing to add."""
        options: dict[str, Any] = {}
        if preference:
            options["preference"] = preference
        for _attempt in range(1000):  # without a task id: draw until the task uses this tool set
            if task_id:
                options["task_id"] = task_id
            obs, self.info = self.env.reset(seed=int(self.rng.integers(2**31)), options=options)
            if (
                task_id
                or not self.toolset
                or _toolset_of(self.env, self.info["task_id"]) == self.toolset
            ):
                break
        self.total_reward, self.done = 0.0, False
        self._seen = len(obs["messages"])
        opening = [{"role": m["role"], "content": m["content"]} for m in obs["messages"]]
        in_prompt = isinstance(prompt, list) and [dict(m) for m in prompt] == opening
        shown = [] if in_prompt else [m["content"] for m in opening]
        if self._randomized:  # the schemas cannot change per episode: the tables go here
            shown.append(tables_in_force(obs["tools"]))
        if not shown:
            return None
        text = "\n\n".join(shown)
        return "\n\n" + text if in_prompt else text

    def get_reward(self) -> float:
        """The env's reward for this episode so far (its graded reward once the episode ended)."""
        return float(self.total_reward)

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self.done:
            return _ENDED
        if name == MESSAGE_TOOL:
            action = f"<message>{arguments.get('text', '')}</message>"
        else:
            action = format_call(name, arguments)
        obs, reward, terminated, truncated, self.info = self.env.step(action)
        self.total_reward += float(reward)
        self.done = bool(terminated or truncated)
        replies = [m["content"] for m in obs["messages"][self._seen + 1 :]]
        self._seen = len(obs["messages"])
        text = "\n\n".join(replies)
        if truncated:
            text += "\n\n(The episode ended: a turn, money or time budget ran out.)"
        return text


_CLASSES: dict[tuple, type] = {}


def environment_class(
    toolset: str, specs: Sequence[ToolSpec], conversational: bool
) -> type[OrchestraTRLEnv]:
    """The `OrchestraTRLEnv` subclass with one method per tool (cached: TRL matches env types
    exactly, so every instance of a tool set must share one class)."""
    key = (
        toolset,
        conversational,
        *((s.name, s.description, json.dumps(s.parameters, sort_keys=True)) for s in specs),
    )
    if key not in _CLASSES:
        reserved = {"reset", "get_reward"}
        methods = {
            s.name: _tool_method(s)
            for s in specs
            if s.name not in reserved and not s.name.startswith("_")
        }
        if conversational:
            methods[MESSAGE_TOOL] = _message_method()
        name = "Orchestra_" + re.sub(r"\W", "_", toolset)
        _CLASSES[key] = type(name, (OrchestraTRLEnv,), {"toolset": toolset, **methods})
    return _CLASSES[key]


class EnvironmentFactory:
    """A picklable zero-argument callable that builds one `OrchestraTRLEnv` per call.

    Args:
        env_id: any registered orchestra env id.
        toolset: the tool set whose tools the instances expose (None: the env's only one).
        seed: base seed; instance i draws its episode seeds from (seed, i).
        **env_kwargs: options for `gym.make` (`render` is always "chat": TRL grows a chat).
    """

    def __init__(
        self, env_id: str, toolset: str | None = None, *, seed: int = 0, **env_kwargs: Any
    ):
        self.env_id, self.toolset, self.seed, self.env_kwargs = env_id, toolset, seed, env_kwargs
        self._made = 0
        self._sets: dict | None = None

    def __call__(self) -> OrchestraTRLEnv:
        if self._sets is None:
            probe = gym.make(self.env_id, **training_kwargs(self.env_kwargs))
            self._sets = toolsets(probe)
            probe.close()
        sets = self._sets
        if self.toolset is None and len(sets) != 1:
            raise ValueError(
                f"{self.env_id} has tool sets {sorted(sets)}: use environment_factories()"
            )
        toolset = self.toolset or next(iter(sets))
        specs, conversational = sets[toolset]
        cls = environment_class(toolset, specs, conversational)
        self._made += 1
        return cls(self.env_id, self.env_kwargs, (self.seed, self._made))

    def __repr__(self) -> str:
        return f"EnvironmentFactory({self.env_id!r}, toolset={self.toolset!r})"


def environment_factories(
    env_id: str, *, seed: int = 0, **env_kwargs: Any
) -> dict[str, EnvironmentFactory]:
    """{toolset: factory} for `GRPOTrainer(environment_factory=...)`; rows of `task_dataset`
    name their toolset in the `environment` column, so each prompt shows only its tools."""
    env = gym.make(env_id, **training_kwargs(env_kwargs))
    names = list(toolsets(env))
    env.close()
    return {name: EnvironmentFactory(env_id, name, seed=seed, **env_kwargs) for name in names}


# -- data ----------------------------------------------------------------------------------------


def task_rows(
    env_id: str, n: int, *, split: str = "train", seed: int = 0, **env_kwargs: Any
) -> list[dict]:
    """`n` rows `{prompt, task_id, preference, environment}`: the first `n` tasks of `split`,
    each with a preference preset (drawn with `seed` when the env samples them) and the env's
    opening messages for that task and preference as the prompt."""
    env = gym.make(env_id, **{**env_kwargs, "render": "chat"})
    base = env.unwrapped
    presets = sorted(preset_preferences(base.profiles, base.tool_keys))
    fixed = env_kwargs.get("preference", "sample")
    if isinstance(fixed, Preference):
        raise ValueError("task_rows needs a preset name or 'sample' as the preference")
    rng = np.random.default_rng(seed)
    rows = []
    for task_id in base.task_ids(split, n):
        preference = presets[int(rng.integers(len(presets)))] if fixed == "sample" else fixed
        obs, _ = env.reset(seed=0, options={"task_id": task_id, "preference": preference})
        rows.append(
            {
                "prompt": [{"role": m["role"], "content": m["content"]} for m in obs["messages"]],
                "task_id": task_id,
                "preference": preference,
                "environment": _toolset_of(env, task_id),
            }
        )
    env.close()
    return rows


def task_dataset(env_id: str, n: int, *, split: str = "train", seed: int = 0, **env_kwargs: Any):
    """`task_rows` as a `datasets.Dataset` (the trainer's `train_dataset`)."""
    from datasets import Dataset

    return Dataset.from_list(task_rows(env_id, n, split=split, seed=seed, **env_kwargs))


# -- single-turn reward --------------------------------------------------------------------------


def completion_text(completion: Any) -> str:
    """The action text of a TRL completion: a string, or assistant messages whose parsed
    `tool_calls` are written back as Hermes `<tool_call>` blocks."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        if message.get("role") != "assistant":
            continue
        content = message.get("content") or ""
        parts.append(
            content if isinstance(content, str) else "".join(c.get("text", "") for c in content)
        )
        for call in message.get("tool_calls") or ():
            fn = call.get("function", call)
            arguments = fn.get("arguments", {})
            if isinstance(arguments, str):
                arguments = json.loads(arguments or "{}")
            parts.append(format_call(fn["name"], arguments, ensure_ascii=True))
    return "\n".join(p for p in parts if p)


class EnvReward:
    """A TRL reward function: each completion is played as one action on its row's task and
    the env's reward for that one-turn episode is returned (graded at once: `max_turns=1`).

    Use with `task_dataset(env_id, n, max_turns=1)` rows (their `task_id` and `preference`).
    """

    def __init__(self, env_id: str, *, seed: int = 0, **env_kwargs: Any):
        self.__name__ = "orchestra_" + re.sub(r"\W", "_", env_id)
        self.env_id, self.seed, self.env_kwargs = env_id, seed, {**env_kwargs, "max_turns": 1}
        self._env: gym.Env | None = None
        self._rng = np.random.default_rng(seed)
        self.last_infos: list[dict] = []

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_env": None}

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        task_id: Sequence[str] | None = None,
        preference: Sequence[str] | None = None,
        **_: Any,
    ) -> list[float]:
        if self._env is None:
            self._env = gym.make(self.env_id, **self.env_kwargs)
        rewards, self.last_infos = [], []
        for i, completion in enumerate(completions):
            options = {}
            if task_id is not None:
                options["task_id"] = task_id[i]
            if preference is not None and preference[i]:
                options["preference"] = preference[i]
            self._env.reset(seed=int(self._rng.integers(2**31)), options=options)
            _, reward, _, _, info = self._env.step(completion_text(completion))
            rewards.append(float(reward))
            self.last_infos.append(info)
        return rewards


# -- the paper's GRPO reward, advantage and samples -----------------------------------------------


def _group_key(env: OrchestraTRLEnv) -> tuple[str, str]:
    """The task and preference an environment's episode plays: rollouts sharing them are a group."""
    return env.info["task_id"], json.dumps(env.info["preference"], sort_keys=True)


def group_rewards(envs: Sequence[OrchestraTRLEnv]) -> np.ndarray:
    """`rewards.group_normalized` over rollouts of one task: each episode's outcome (0 for one
    that never answered) and ledger, weighted by the episode's preference."""
    outcomes = [int(env.info.get("outcome") or 0) for env in envs]
    ledgers = [env.info["ledger"] for env in envs]
    return group_normalized(outcomes, ledgers, envs[0].env.unwrapped.preference)


class GroupPreferenceReward:
    """The paper's GRPO reward as a TRL reward function: each rollout is paid
    `rewards.group_normalized` over the rollouts of its task (its GRPO group), R = M_norm · P if
    its answer is right, else 0.

    Needs `GRPOTrainer(environment_factory=...)`: TRL passes the batch's `environments`, and the
    groups are formed from the task and preference each environment played (not from batch
    order); a task with several groups in one batch is split into consecutive runs of
    `group_size` rollouts, as TRL lays them out.

    Args:
        group_size: the rollouts per task (`GRPOConfig.num_generations`).
    """

    def __init__(self, group_size: int):
        if group_size < 2:
            raise ValueError(
                f"group_size must be >= 2 (a group of one has no spread), got {group_size}"
            )
        self.__name__ = "group_preference"  # TRL names the reward column after it
        self.group_size = group_size

    def __call__(
        self, environments: Sequence[OrchestraTRLEnv] | None = None, **_: Any
    ) -> list[float]:
        if environments is None:
            raise ValueError("GroupPreferenceReward needs GRPOTrainer(environment_factory=...)")
        members: dict[tuple[str, str], list[int]] = {}
        for i, env in enumerate(environments):
            members.setdefault(_group_key(env), []).append(i)
        paid = [0.0] * len(environments)
        for (task_id, _preference), indices in members.items():
            if len(indices) % self.group_size:
                raise ValueError(
                    f"task {task_id!r} has {len(indices)} rollouts in this batch, not a "
                    f"multiple of group_size={self.group_size}: a group must be scored whole "
                    "(on several processes, make per_device_train_batch_size * "
                    "steps_per_generation a multiple of num_generations)"
                )
            for start in range(0, len(indices), self.group_size):
                group = indices[start : start + self.group_size]
                for i, reward in zip(
                    group, group_rewards([environments[i] for i in group]), strict=True
                ):
                    paid[i] = float(reward)
        return paid


def paper_advantages(rewards, group_size: int, *, clip: float = 3.0, min_std: float = 0.1):
    """The paper's GRPO advantage of a batch of rewards (a torch tensor, `group_size` rollouts
    of each task in a row): the z-score within the group (population std + 1e-6) clipped to
    [-clip, clip]. Groups whose std is below `min_std` carry no signal: advantage 0, kept False.
    NaN rewards (unscorable rollouts) are left out of their group's statistics.

    Returns (advantages, kept), both of the rewards' shape.
    """
    grouped = rewards.view(-1, group_size)
    centred = grouped - grouped.nanmean(dim=1, keepdim=True)
    std = (centred**2).nanmean(dim=1, keepdim=True).sqrt()
    kept = (std >= min_std).expand_as(grouped)
    advantages = (centred / (std + 1e-6)).clamp(-clip, clip).nan_to_num(0.0)
    return advantages.where(kept, 0.0).flatten(), kept.flatten()


def _reached_env(tool_message: Mapping[str, Any]) -> bool:
    """Whether a tool result came from a live episode (not the ended-episode reply, nor TRL's
    `{'error': ...}` for a call it could not run, e.g. to an unknown tool)."""
    content = tool_message["content"]
    return content != _ENDED and not str(content).startswith("{'error': ")


def drop_invalid_turns(mask: list[int], messages: Sequence[Mapping[str, Any]]) -> None:
    """Zero, in one rollout's loss mask (TRL's `tool_mask`: 1 on generated tokens), the turns
    that are not valid tool calls on a live episode: output that did not parse into a tool call,
    and calls that reached no live episode (after it ended, or to a tool that does not exist).

    `messages` are the rollout's completion messages; assistant message k is the k-th run of
    ones in `mask` (tool results are the zeros between runs).
    """
    runs, start = [], None
    for i, bit in enumerate([*mask, 0]):
        if bit and start is None:
            start = i
        elif not bit and start is not None:
            runs.append((start, i))
            start = None
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    for (begin, end), k in zip(runs, turns, strict=True):
        results = []
        for message in messages[k + 1 :]:
            if message["role"] != "tool":
                break
            results.append(message)
        # No results: TRL ran the calls but left their replies out (over the length budget).
        valid = bool(messages[k].get("tool_calls")) and (
            not results or any(_reached_env(r) for r in results)
        )
        if not valid:
            mask[begin:end] = [0] * (end - begin)


@functools.cache
def _paper_trainer_class() -> type:
    from trl import GRPOTrainer

    class PaperGRPOTrainer(GRPOTrainer):
        """`GRPOTrainer` with the ToolOrchestra paper's advantage and training samples.

        * Advantage: `paper_advantages` of the summed rewards (z-score within the group,
          clipped to [-3, 3]) replaces TRL's; groups whose reward std is below 0.1 are dropped
          (advantage 0 and no tokens in the loss). TRL's `scale_rewards` and
          `multi_objective_aggregation` are not used.
        * Samples: TRL trains each rollout as one sequence, every assistant turn's tokens with
          the rollout's advantage and the tool results masked. With a token-level loss
          (`loss_type="dapo"`, TRL's default) that is the paper's per-turn samples, each turn
          carrying its trajectory's advantage. As the paper drops turns that are not valid tool
          calls, `drop_invalid_turns` takes out of the loss output that did not parse into a
          tool call (which also ends TRL's rollout) and calls made after the episode ended.
        * With `reward_funcs` given, the environments' own rewards (`get_reward`) are logged as
          `rewards/<env class>/mean` but weigh 0.
        """

        def __init__(
            self,
            model,
            reward_funcs=None,
            *args,
            advantage_clip: float = 3.0,
            min_group_std: float = 0.1,
            **kwargs,
        ):
            if reward_funcs is not None and not isinstance(reward_funcs, list):
                reward_funcs = [reward_funcs]
            given = len(reward_funcs or ())  # counted now: TRL appends to the list it is given
            super().__init__(model, reward_funcs, *args, **kwargs)
            self.advantage_clip, self.min_group_std = advantage_clip, min_group_std
            if given:  # the columns after them are the environments' get_reward
                self.reward_weights[given:] = 0.0
            self._rewards_per_func = None

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            self._rewards_per_func = super()._calculate_rewards(
                inputs, prompts, completions, completion_ids_list
            )  # gathered over processes: the advantage below needs whole groups
            return self._rewards_per_func

        def _tool_call_loop(self, prompts, prompt_ids, completion_ids, completions, *rest):
            tool_mask, completions, *others = super()._tool_call_loop(
                prompts, prompt_ids, completion_ids, completions, *rest
            )
            for mask, messages in zip(tool_mask, completions, strict=True):
                drop_invalid_turns(mask, messages)
            return (tool_mask, completions, *others)

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            per_func = self._rewards_per_func
            rewards = (per_func * self.reward_weights.to(per_func.device)).nansum(dim=1)
            rewards[per_func.isnan().all(dim=1)] = float("nan")
            mode = "train" if self.model.training else "eval"
            group = self.num_generations if mode == "train" else self.num_generations_eval
            advantages, kept = paper_advantages(
                rewards, group, clip=self.advantage_clip, min_std=self.min_group_std
            )
            start = self.accelerator.process_index * len(inputs)
            local = slice(start, start + len(inputs))
            out["advantages"] = advantages[local]
            completion_mask = out["completion_mask"]
            mask = out.get("tool_mask", completion_mask.new_ones(completion_mask.shape))
            out["tool_mask"] = mask * kept[local].unsqueeze(1).to(mask.dtype)
            loss_tokens = (completion_mask * out["tool_mask"]).sum()
            out["num_items_in_batch"] = self.accelerator.gather(loss_tokens).sum()
            self._metrics[mode]["frac_groups_dropped"].append(1.0 - kept.float().mean().item())
            return out

    PaperGRPOTrainer.__module__, PaperGRPOTrainer.__qualname__ = __name__, "PaperGRPOTrainer"
    return PaperGRPOTrainer


def __getattr__(name: str) -> Any:
    # `PaperGRPOTrainer` subclasses TRL's trainer: import TRL (seconds) only when it is asked for.
    if name == "PaperGRPOTrainer":
        return _paper_trainer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
