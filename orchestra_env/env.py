"""OrchestraEnv: each turn the policy calls one priced tool until it answers or runs out.

The env is the only place that knows the whole loop (see docs/architecture.md):
policy text → actions.parse_action → tools executor → ToolResult → ledger + episode state →
(at the end) family.grade → rewards → render → (obs, reward, terminated, truncated, info).
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec

from orchestra_env import env_options, render_o8b, tokens
from orchestra_env import render as rendering
from orchestra_env.actions import Message, ToolCall, parse_action
from orchestra_env.core import Task
from orchestra_env.episode import Episode, Resources
from orchestra_env.ledger import Charge
from orchestra_env.models.base import Expert
from orchestra_env.models.profiles import Price, Profiles
from orchestra_env.models.simulated import SimulatedExperts
from orchestra_env.rewards import (
    Preference,
    episode_reward,
    paid_calls,
    preset_preferences,
    reference_scales,
)
from orchestra_env.spaces import ToolCallText, observation_space
from orchestra_env.tasks.base import SPLITS, TaskFamily
from orchestra_env.tasks.suite import TaskSuite
from orchestra_env.tools.base import ToolContext, ToolResult
from orchestra_env.tools.catalogue import price_sheet
from orchestra_env.tools.retrieval import WorldCorpus
from orchestra_env.tools.spec import ToolSpec, tools_json

EXTRA_TOOL_KEYS = ("web_search",)  # counted calls that are not model aliases


class OrchestraEnv(gym.Env[dict, str]):
    """A Gymnasium env over priced tool orchestration. See the README for every option.

    Args:
        families: a family name, a list of names, or {name: weight}.
        tools: aliases (e.g. "search-3") and/or tool names to offer; default all.
        tool_subsample: per episode, drop each alias with this probability (keeping at least
            one per tool), so a policy must read which tools it has (default 0, or 0.25 with
            randomize="paper").
        prices: "paper", a provider named in the profiles' `providers`, or {model: (in, out)}
            in USD per million tokens.
        randomize: "none" or "paper": the paper's training randomisation, per episode: every
            alias served by a model drawn from all the profiled ones, every model priced by a
            provider drawn among those serving it, and tool subsampling.
        holdout_models: with randomize="paper", models never drawn (to evaluate on unseen tools).
        holdout_provider: with randomize="paper", a provider whose prices are never drawn.
        price_jitter: per episode, scale every model's prices by a log-uniform factor in
            [e^-j, e^j] (the paper randomises providers so policies learn to read prices);
            the tool descriptions show the prices charged.
        experts: "simulated", "live" (real models, see `expert_backends`), or an object with
            `complete(ExpertRequest) -> ExpertReply`.
        expert_backends: with experts="live": {alias | model | "*": backend config or Backend},
            or the path of a JSON/YAML file of such configs (see docs/live.md). Live episodes
            are not reproducible, so the env's spec then says `nondeterministic=True`.
        preference: "sample" (a preset per episode), a preset name, or a `Preference`.
        max_turns, max_cost_usd, max_latency_s: truncate when a budget is exhausted.
        render: observation format, "chat", "toolorchestra" or "orchestrator-8b" (the released
            checkpoint's own prompts and tool schemas; see `orchestra_env.render_o8b`).
        format_penalty: reward subtracted for each malformed action.
        max_format_errors: truncate after more malformed actions than this.
        split: "train", "validation" or "test": the tasks episodes draw from.
        world_seed: seed of the generated worlds (documents, databases).
        domains: the function_calling family's domains, bundled names or paths to authored
            domain folders (default: the ten bundled ones).
        user: who plays the user of a conversation: "scripted" (the rule-based simulator,
            deterministic per task and episode seed) or "llm" (a live model, see
            `user_backend`; not reproducible, so the env's spec says `nondeterministic=True`).
        user_backend: with user="llm": a `Backend` or a backend config dict (docs/live.md).
        nl_judge: grades conversations' nl_assertions: a callable (assertions, conversation
            messages) -> [bool], or a live model (a `Backend` or a backend config). Without
            one, a task's nl_assertions are reported as "ungraded" in info["grading"].
        policy_model: profile whose prices charge the policy's own tokens (None: free).
        search_k: documents returned per search.
        profiles: a `Profiles` or the path of a profiles JSON (default: the bundled, calibrated
            ones): the models' abilities, prices and speeds, and each family's difficulty
            offset (a family the profiles do not name keeps the bundled offset).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    _spec: EnvSpec | None = None

    @property
    def spec(self) -> EnvSpec | None:
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        # gym.make assigns the registered spec after construction, whatever the id; experts that
        # are real models (they declare `nondeterministic`) make that spec say so, for every id,
        # without a second set of "live" ids to register and keep in step.
        live = any(
            getattr(getattr(self, part, None), "nondeterministic", False)
            for part in ("experts", "nl_judge")
        )
        if value is not None and (live or getattr(self, "user", "scripted") == "llm"):
            value = dataclasses.replace(value, nondeterministic=True)
        self._spec = value

    def __init__(
        self,
        families: str | Sequence[str] | Mapping[str, float] = "multihop",
        *,
        tools: Sequence[str] | None = None,
        tool_subsample: float | None = None,
        prices: str | Mapping[str, Any] = "paper",
        price_jitter: float = 0.0,
        randomize: str = "none",
        holdout_models: Sequence[str] | None = None,
        holdout_provider: str | None = None,
        experts: str | Expert = "simulated",
        expert_backends: Mapping[str, Any] | str | os.PathLike | None = None,
        preference: str | Preference = "sample",
        max_turns: int = 20,
        max_cost_usd: float | None = None,
        max_latency_s: float | None = None,
        render: str = "chat",
        format_penalty: float = 0.1,
        max_format_errors: int = 3,
        split: str = "train",
        world_seed: int = 0,
        domains: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        user: str = "scripted",
        user_backend: Any = None,
        nl_judge: Any = None,
        policy_model: str | None = "qwen3-8b",
        search_k: int = 3,
        profiles: Profiles | str | os.PathLike | None = None,
        render_mode: str | None = None,
    ):
        self.render_mode = env_options.choice("render_mode", render_mode, (None, "ansi"))
        self.render_format = env_options.choice("render", render, rendering.FORMATS)
        self._o8b = self.render_format == render_o8b.NAME
        self.split = env_options.choice("split", split, SPLITS)
        self.world_seed = env_options.integer("world_seed", world_seed)
        self.max_turns = env_options.integer("max_turns", max_turns, minimum=1)
        self.max_format_errors = env_options.integer(
            "max_format_errors", max_format_errors, minimum=0
        )
        self.search_k = env_options.integer("search_k", search_k, minimum=1)
        self.format_penalty = env_options.number("format_penalty", format_penalty)
        self.price_jitter = env_options.number("price_jitter", price_jitter)
        self.randomize = env_options.choice("randomize", randomize, env_options.RANDOMIZE)
        if tool_subsample is None:
            paper = self.randomize == "paper"
            tool_subsample = env_options.PAPER_TOOL_SUBSAMPLE if paper else 0.0
        self.tool_subsample = env_options.number("tool_subsample", tool_subsample, below=1.0)
        self.max_cost_usd = env_options.budget("max_cost_usd", max_cost_usd)
        self.max_latency_s = env_options.budget("max_latency_s", max_latency_s)
        domains = env_options.domains_option(domains, self.world_seed)
        users = env_options.users_option(user, user_backend)
        self.nl_judge = env_options.judge_option(nl_judge)
        self.user = user
        self.profiles = env_options.priced(env_options.profiles_option(profiles), prices)
        if policy_model is not None and policy_model not in self.profiles.models:
            raise ValueError(
                f"unknown policy_model {policy_model!r}; known: {sorted(self.profiles.models)}"
            )
        self.policy_model = policy_model
        self.holdout_models = env_options.holdout_models(
            self.profiles, holdout_models, self.randomize
        )
        self.holdout_provider = env_options.holdout_provider(
            self.profiles, holdout_provider, self.randomize
        )
        if experts == "live" and self.randomize != "none":
            raise ValueError(
                "randomize='paper' serves aliases by any profiled model; with experts='live' "
                "use randomize='none' (the backends are bound to the configured models)"
            )
        if expert_backends is not None and experts != "live":
            raise ValueError("expert_backends is only used with experts='live'")
        if experts == "live":
            if expert_backends is None:
                raise ValueError(
                    "experts='live' needs expert_backends: "
                    "{alias | model | '*': backend config} or a file path"
                )
            from orchestra_env.models.live import LiveExperts

            self.experts = LiveExperts.from_config(expert_backends, self.profiles)
        else:
            self.experts = SimulatedExperts(self.profiles) if experts == "simulated" else experts
        if isinstance(self.experts, str):
            raise ValueError(
                f"experts must be 'simulated', 'live' or an Expert object, got {experts!r}"
            )
        self.suite = TaskSuite(
            env_options.family_weights(families),
            world_seed=self.world_seed,
            domains=domains,
            difficulty_offsets=self.profiles.difficulty_offsets,
            users=users,
            judge=self.nl_judge,
        )

        self.aliases = env_options.offered_aliases(self.profiles, self.suite, tools)
        if experts == "live":
            self.experts.require(self.aliases)
        self.tool_keys = self.aliases + EXTRA_TOOL_KEYS
        self._presets = preset_preferences(self.profiles, self.tool_keys)
        self._preference = env_options.preference_option(preference, self._presets)
        self._specs_cache: dict[tuple[str, ...], tuple[dict[str, ToolSpec], str]] = {}
        self.action_space = ToolCallText(self._all_specs())
        self.observation_space = observation_space(len(self.tool_keys) + 3, self.max_turns)
        self._corpus = WorldCorpus(self.world_seed)
        self._episode: Episode | None = None
        self._done = True
        self._ended = False

    # -- Gymnasium API ---------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        task_id = options.get("task_id")
        task = (
            self.suite.task(task_id) if task_id else self.suite.sample(self.np_random, self.split)
        )
        episode_seed = int(self.np_random.integers(2**62))
        if "episode_seed" in options:  # replay an episode's exact draws (info["episode_seed"])
            episode_seed = int(options["episode_seed"])
        draw = random.Random(f"episode:{episode_seed}")
        preference = (
            env_options.preference_option(options["preference"], self._presets)
            if "preference" in options
            else self._preference
        )
        if preference is None:
            preference = self._presets[draw.choice(sorted(self._presets))]
        family = self.suite.family(task.family)
        offered = self._subsample(
            draw, [a for a in self.aliases if self.profiles.aliases[a].tool in family.tools]
        )
        self._profiles_now = self._episode_profiles(draw)
        presets = self._episode_presets()
        if presets is not self._presets:  # the same preset, read under this episode's aliases
            name = next((n for n, p in self._presets.items() if p == preference), None)
            preference = presets[name] if name else preference
        self._specs_now, self._tools_json = self._specs(task, offered, self._profiles_now)
        # Built once per episode (the step is a hot path); each info gets a copy (`_copied`).
        self._preference_info = _preference_info(preference, presets)
        self._price_sheet = price_sheet(self._profiles_now, offered)
        self._family = family
        resources = Resources(
            document=self._corpus.document,
            search=self._corpus.search,
            run_code=_run_code,
            search_k=self.search_k,
            family=family.begin(task),
        )
        self._episode = Episode(
            task=task, preference=preference, seed=episode_seed, tools=offered, resources=resources
        )
        if self._o8b:
            policy = family.policy(task) if family.conversational else None
            self._episode.messages = render_o8b.opening_messages(self._episode, policy)
        else:
            self._episode.messages = rendering.opening_messages(
                self._episode, family.system_prompt(task)
            )
        self._reference = reference_scales(
            task.reference_plan, self._profiles_now, tokens.count(task.prompt)
        )
        self._preference_vector = preference.vector(self.tool_keys)
        self._done = False
        self._ended = False
        self._context = ToolContext(
            profiles=self._profiles_now, experts=self.experts, episode=self._episode, o8b=self._o8b
        )
        obs = self._observation()
        self._prompt_tokens = _tokens_read(obs)  # billed when the policy acts on it
        return obs, self._info()

    def step(self, action: str):
        """One turn. A malformed action (any text, even hostile) is a turn like any other: it is
        billed as written (up to the action space's cap), recorded, answered with an error
        message and penalised; only stepping an ended episode raises."""
        if self._done:
            raise gym.error.ResetNeeded("call reset() before step(): the episode has ended")
        cap = self.action_space.max_length
        # Parse before anything moves: parse_action never raises, so the episode never holds a
        # turn half taken.
        parsed = parse_action(
            action, self._specs_now, allow_messages=self._family.conversational, max_length=cap
        )
        written = action[:cap] if isinstance(action, str) else None
        # The tool runs before the turn is counted and billed: a tool that raises (a live
        # expert down, no sandbox) leaves the turn untaken, so stepping again repeats it.
        if isinstance(parsed, ToolCall):
            call = render_o8b.env_call(parsed) if self._o8b else parsed
            result, info_extra = self._family.execute(call, self._context), {"tool": parsed.name}
        elif isinstance(parsed, Message):
            result, info_extra = self._family.respond(parsed, self._context), {"tool": "message"}
        else:
            result, info_extra = None, {}
        ep = self._episode
        ep.turns += 1
        self._charge_policy(written)
        reward = 0.0
        if result is not None:
            self._apply(written, result)
        else:
            error = parsed.error
            ep.format_errors += 1
            reward -= self.format_penalty
            shown = reprlib.repr(action) if written is None else written  # bounded either way
            ep.messages += [
                {"role": "assistant", "content": shown},
                {"role": "tool", "content": f"Error: {error}"},
            ]
            info_extra["error"] = error
        terminated = self._ended
        truncated = not terminated and self._out_of_budget()
        info = self._info()
        info.update(info_extra)
        if terminated or truncated:
            self._done = True
            grade = self._family.grade(ep.task, ep)
            terms = episode_reward(
                grade.outcome,
                info["ledger"],
                ep.preference,
                self._reference,
                len(ep.task.reference_plan),
                paid_calls(info["ledger"], self._profiles_now),
            )
            reward += terms["total"]
            info.update(outcome=grade.outcome, grading=grade.details, reward_terms=terms)
        obs = self._observation()
        self._prompt_tokens = _tokens_read(obs)
        return obs, reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self._episode is not None:
            return rendering.transcript(self._episode)
        return None

    def close(self) -> None:
        self._episode = None
        self._done = True

    # -- helpers ---------------------------------------------------------------------------

    @property
    def preference(self) -> Preference:
        """The current episode's preference (e.g. to replay a task under the same one)."""
        if self._episode is None:
            raise RuntimeError("no episode yet: call reset() first")
        return self._episode.preference

    def task_ids(self, split: str, n: int) -> list[str]:
        """The first `n` task ids of a split (for evaluation with `reset(options={"task_id"})`)."""
        return self.suite.task_ids(split, n)

    def _apply(self, action: str, result: ToolResult) -> None:
        ep, evidence = self._episode, self._episode.evidence
        for charge in result.charges:
            ep.ledger.charge(charge)
        evidence.add_documents(
            render_o8b.gathered(result.documents) if self._o8b else result.documents
        )
        if result.code_run is not None:
            evidence.code_runs.append(result.code_run)
        if result.call is not None:
            evidence.calls.append(result.call)
        evidence.said_to_user.extend(result.said)
        evidence.user_said.extend(result.user_said)
        if result.answer is not None:
            ep.answer = result.answer
        self._ended = result.final
        if self._o8b and result.stand_in:  # the expert's step stands where the policy's call was
            ep.messages.extend(result.stand_in)
        else:
            ep.messages.append({"role": "assistant", "content": action})
            ep.messages.extend(result.replies)

    def _charge_policy(self, written: str | None) -> None:
        """Bill the policy's own turn: the prompt it read and the text it wrote."""
        if self.policy_model is None:
            return
        model = self._profiles_now.models[self.policy_model]
        prompt = self._prompt_tokens
        completion = tokens.count(written) if written is not None else 0
        self._episode.ledger.charge(
            Charge(
                tool="policy",
                alias=self.policy_model,
                prompt_tokens=prompt,
                completion_tokens=completion,
                usd=model.price.usd(prompt, completion),
                seconds=model.seconds(completion),
                counted=False,
            )
        )

    def _out_of_budget(self) -> bool:
        ep, ledger = self._episode, self._episode.ledger
        return (
            ep.turns >= self.max_turns
            or ep.format_errors > self.max_format_errors
            or (self.max_cost_usd is not None and ledger.cost_usd >= self.max_cost_usd)
            or (self.max_latency_s is not None and ledger.latency_s >= self.max_latency_s)
        )

    def _observation(self) -> dict:
        ep = self._episode
        if self.render_format == "toolorchestra" and not self._family.conversational:
            messages = rendering.toolorchestra_messages(ep)
        elif self._o8b and not self._family.conversational:
            messages = render_o8b.qa_messages(ep)
        else:  # fresh dicts: a caller that edits an observation must not edit the episode
            messages = tuple({"role": m["role"], "content": m["content"]} for m in ep.messages)
        return {
            "messages": messages,
            "tools": self._tools_json,
            "preference": self._preference_vector.copy(),
            "budget": {
                "cost_usd": np.array(ep.ledger.cost_usd, dtype=np.float64),
                "latency_s": np.array(ep.ledger.latency_s, dtype=np.float64),
                "turns_left": np.array(max(0, self.max_turns - ep.turns), dtype=np.int64),
            },
        }

    def _info(self) -> dict:
        ep = self._episode
        return {
            "task_id": ep.task.id,
            "family": ep.task.family,
            "episode_seed": ep.seed,
            "turns": ep.turns,
            "format_errors": ep.format_errors,
            "ledger": ep.ledger.as_dict(),
            "tools_offered": ep.tools,
            "preference": _copied(self._preference_info),
            "prices": _copied(self._price_sheet),
            # A conversation task names its domain and template (question answering has none).
            **getattr(ep.task, "labels", {}),
        }

    def _specs(
        self, task: Task, aliases: Sequence[str], profiles: Profiles
    ) -> tuple[dict[str, ToolSpec], str]:
        """Tool specs (by name) and their JSON; cached unless prices change per episode."""
        key = (task.family, task.toolset, tuple(aliases))
        if profiles is not self.profiles or key not in self._specs_cache:
            specs = self._family_specs(self.suite.family(task.family), task, profiles, aliases)
            built = ({s.name: s for s in specs}, tools_json(specs))
            if profiles is not self.profiles:
                return built
            self._specs_cache[key] = built
        return self._specs_cache[key]

    def _episode_profiles(self, draw: random.Random) -> Profiles:
        profiles = self._paper_profiles(draw) if self.randomize == "paper" else self.profiles
        if not self.price_jitter:
            return profiles
        j = self.price_jitter
        return profiles.with_prices(
            {
                name: Price(
                    m.price.input_per_mtok * math.exp(draw.uniform(-j, j)),
                    m.price.output_per_mtok * math.exp(draw.uniform(-j, j)),
                )
                for name, m in profiles.models.items()
            }
        )

    def _paper_profiles(self, draw: random.Random) -> Profiles:
        """The paper's randomisation: each tool's aliases served by distinct models drawn from
        every profiled model not held out, and each model priced by a provider drawn among
        those serving it (not the held-out one; a model no provider serves keeps its price)."""
        pool = [m for m in self.profiles.models if m not in self.holdout_models]
        by_tool: dict[str, list[str]] = {}
        for alias in self.aliases:
            by_tool.setdefault(self.profiles.aliases[alias].tool, []).append(alias)
        served = {}
        for aliases in by_tool.values():
            models = draw.sample(pool, min(len(aliases), len(pool)))
            models += [draw.choice(pool) for _ in range(len(aliases) - len(models))]
            served.update(zip(aliases, models, strict=True))
        prices = {}
        for model in self.profiles.models:
            tables = [
                table[model]
                for provider, table in self.profiles.providers.items()
                if provider != self.holdout_provider and model in table
            ]
            if tables:
                prices[model] = draw.choice(tables)
        return self.profiles.with_alias_models(served).with_prices(prices)

    def _episode_presets(self) -> Mapping[str, Preference]:
        """The presets under this episode's aliases (avoid_paid_apis favours the aliases whose
        model is open *this* episode)."""
        if self.randomize == "none":
            return self._presets
        return preset_preferences(self._profiles_now, self.tool_keys)

    def _all_specs(self) -> tuple[ToolSpec, ...]:
        """Every tool any episode may offer (what the action space samples from)."""
        specs: dict[str, ToolSpec] = {}
        for name in self.suite.names:
            family = self.suite.family(name)
            for task in family.example_tasks():
                family_aliases = [
                    a for a in self.aliases if self.profiles.aliases[a].tool in family.tools
                ]
                for spec in self._family_specs(family, task, self.profiles, family_aliases):
                    specs.setdefault(spec.name, spec)
        return tuple(specs.values())

    def _family_specs(
        self, family: TaskFamily, task: Task, profiles: Profiles, aliases: Sequence[str]
    ) -> tuple[ToolSpec, ...]:
        specs = family.tool_specs(task, profiles, aliases)
        return render_o8b.tool_specs(specs, profiles, aliases) if self._o8b else specs

    def _subsample(self, draw: random.Random, aliases: list[str]) -> tuple[str, ...]:
        if not self.tool_subsample:
            return tuple(aliases)
        kept = [a for a in aliases if draw.random() >= self.tool_subsample]
        # Tools in alias order, not a set's: a set of strings iterates in another order in
        # another process (PYTHONHASHSEED), and each draw below would follow it.
        for tool in dict.fromkeys(self.profiles.aliases[a].tool for a in aliases):
            if not any(self.profiles.aliases[a].tool == tool for a in kept):
                kept.append(
                    draw.choice([a for a in aliases if self.profiles.aliases[a].tool == tool])
                )
        return tuple(a for a in aliases if a in kept)


def _tokens_read(obs: dict) -> int:
    """Tokens the policy reads in `obs`: its messages and the tool schemas."""
    return tokens.count(obs["tools"]) + sum(tokens.count(m["content"]) for m in obs["messages"])


_RUNS: dict[str, Any] = {}  # code -> result of a run that ended by the program's own doing
_RUNS_KEPT = 4096


def _run_code(code: str):
    """The sandbox's result for `code`. Programs read no input, so a program that ran to its
    end before in this process gives the same result again: rollouts rerun the same reference
    programs thousands of times, and each real run costs milliseconds to seconds. Runs stopped
    by a limit (time, memory, a signal) are not kept: on a busy machine they may differ."""
    from orchestra_env.tools.sandbox import shared_sandbox

    if code in _RUNS:
        return _RUNS[code]
    result = shared_sandbox().run(code)
    own_end = result.status == "ok" or result.message.startswith("error: the program raised")
    if own_end and len(_RUNS) < _RUNS_KEPT:
        _RUNS[code] = result
    return result


def _copied(data: dict) -> dict:
    """A fresh copy of a dict whose values are plain values or dicts of them: no two infos may
    share a mutable object (a caller keeps and may edit them; Gymnasium's checker warns)."""
    return {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}


def _preference_info(preference: Preference, presets: Mapping[str, Preference]) -> dict:
    """`info["preference"]`: the preference's fields as plain data (the weights, the
    instruction, flags such as avoid_paid_apis) and the name of the preset it is, else None."""
    fields = {f.name: getattr(preference, f.name) for f in dataclasses.fields(preference)}
    preset = next((name for name, p in presets.items() if p == preference), None)
    return {**fields, "tools": dict(preference.tools), "preset": preset}
