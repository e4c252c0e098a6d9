"""Non-LLM routers: policies that pick tools by rule, for comparison with learned orchestrators.

A router sees only what any policy sees — the observation, and the reset's `info` with the
user's preference and the episode's prices as data — except `Oracle`, the upper bound, which
replays the episode to find the cheapest plan that succeeds (and says so in its name).
Every router handles both kinds of task: question answering (search / enhance_reasoning /
answer) and conversations (domain tools and call_expert), read off the offered tools.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from orchestra_env.models.profiles import default_profiles
from orchestra_env.observation import aliases, evidence_strength, offered, pick, tool_call
from orchestra_env.spaces import sample_arguments

# Aliases by strength within each tool: the tiers of profiles.json. OPEN holds open-weight
# models only: what "avoid paid APIs" leaves.
STRONG, MID, CHEAP, OPEN = (
    dict(default_profiles().tiers[tier]) for tier in ("strong", "mid", "cheap", "open")
)
# The models a router that reads prices chooses among: those the tiers name (general-purpose
# models, not specialists such as the math answerers).
MENU = {tool: {tier[tool] for tier in (STRONG, MID, CHEAP, OPEN)} for tool in CHEAP}

_NUMERIC_QUESTION = re.compile(
    r"\b(how many|sum|remainder|probability|modulo|what is .*[+\-*/^]|days|year)\b", re.I
)


def avoids_paid_apis(info: dict) -> bool:
    """The user asked to avoid paid APIs (the reset's `info["preference"]` flag)."""
    return bool(info["preference"]["avoid_paid_apis"])


def wants_speed(info: dict) -> bool:
    """The user's preference (the reset's `info["preference"]`) weighs latency at least half."""
    return info["preference"]["latency"] >= 0.5


def cheapest(observation: dict, info: dict, tool: str, *, open_only: bool = False) -> str:
    """The offered alias of `tool` (of `MENU`, when one is offered) whose model costs least at
    this episode's prices (`info["prices"]`: input + output $/M tokens); an open model when
    `open_only` and one is offered."""
    prices = info["prices"]
    offered_aliases = aliases(observation, tool)
    menu = [a for a in offered_aliases if a in MENU[tool]] or offered_aliases
    if open_only:
        menu = [a for a in menu if not prices[a]["paid_api"]] or menu
    return min(menu, key=lambda a: prices[a]["input_per_mtok"] + prices[a]["output_per_mtok"])


def turns_taken(observation: dict) -> int:
    return sum(1 for m in observation["messages"] if m["role"] == "assistant")


@dataclass
class FixedPlan:
    """Calls `plan[i]` on turn i, then repeats the last step (normally an `answer`).

    `plan` is a sequence of (tool name, arguments) pairs, e.g.
    `[("search", {"model": "search-2"}), ("answer", {"model": "answer-2"})]`.
    """

    plan: Sequence[tuple[str, dict]]
    name: str = "fixed-plan"

    def __post_init__(self):
        if not self.plan:
            raise ValueError("a FixedPlan needs at least one step")
        self._turn = 0

    def reset(self, observation: dict, info: dict) -> None:
        self._turn = 0

    def act(self, observation: dict) -> str:
        tool, arguments = self.plan[min(self._turn, len(self.plan) - 1)]
        self._turn += 1
        return tool_call(tool, arguments)


@dataclass
class RandomRouter:
    """A uniformly random valid tool call each turn (seeded by the episode)."""

    name: str = "random"
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0), repr=False)

    def reset(self, observation: dict, info: dict) -> None:
        self._rng = np.random.default_rng(info.get("episode_seed", 0))

    def act(self, observation: dict) -> str:
        tools = offered(observation)
        name = sorted(tools)[int(self._rng.integers(len(tools)))]
        return tool_call(name, sample_arguments(tools[name]["parameters"], self._rng))


@dataclass
class SingleModel:
    """One tier of models for every call: `alone` answers directly; otherwise search twice,
    compute when the question looks numeric, and answer. Conversations: that tier's expert."""

    tier: dict
    alone: bool = False
    name: str = "single-model"

    def reset(self, observation: dict, info: dict) -> None:
        pass

    def act(self, observation: dict) -> str:
        tools = offered(observation)
        if "call_expert" in tools:
            return tool_call(
                "call_expert",
                {"expert": pick(observation, "call_expert", self.tier["call_expert"])},
            )
        turn = turns_taken(observation)
        question = observation["messages"][1]["content"]
        plan = (
            ["answer"]
            if self.alone
            else ["search", "search"]
            + (["enhance_reasoning"] if _NUMERIC_QUESTION.search(question) else [])
            + ["answer"]
        )
        tool = plan[min(turn, len(plan) - 1)]
        return tool_call(tool, {"model": pick(observation, tool, self.tier[tool])})


@dataclass
class EvidenceFirst:
    """Gather with cheap calls (three searches, code for numeric questions), answer with a mid
    model. Honours "avoid paid APIs" by answering with an open model, and a latency preference
    by searching once and answering with the fastest model."""

    name: str = "evidence-first"

    def reset(self, observation: dict, info: dict) -> None:
        self._open = avoids_paid_apis(info)
        self._fast = wants_speed(info)

    def act(self, observation: dict) -> str:
        tools = offered(observation)
        if "call_expert" in tools:
            return tool_call(
                "call_expert", {"expert": pick(observation, "call_expert", CHEAP["call_expert"])}
            )
        question = observation["messages"][1]["content"]
        searches = 1 if self._fast else 3
        plan = (
            ["search"] * searches
            + (["enhance_reasoning"] if _NUMERIC_QUESTION.search(question) else [])
            + ["answer"]
        )
        tool = plan[min(turns_taken(observation), len(plan) - 1)]
        tier = CHEAP if self._fast else OPEN if self._open or tool != "answer" else MID
        return tool_call(
            tool,
            {"model": pick(observation, tool, tier[tool] if tool != "search" else CHEAP[tool])},
        )


@dataclass
class CheapestFirst:
    """Escalate only when the evidence is weak: search with the cheapest model at this
    episode's prices; when the gathered documents mention the question's named entities, answer
    with the cheapest, else search again with a stronger model and answer with a stronger one.
    Conversations: the cheapest expert, a stronger one after an error. Honours "avoid paid
    APIs" by choosing among open models only, and a latency preference by searching at most
    twice."""

    max_searches: int = 4
    name: str = "cheapest-first"

    def reset(self, observation: dict, info: dict) -> None:
        self._open = avoids_paid_apis(info)
        self._searches = min(self.max_searches, 2) if wants_speed(info) else self.max_searches
        tools = [t for t in offered(observation) if t in MENU]
        self._cheapest = {t: cheapest(observation, info, t, open_only=self._open) for t in tools}

    def act(self, observation: dict) -> str:
        tools = offered(observation)
        last = observation["messages"][-1]["content"] if len(observation["messages"]) > 2 else ""
        if "call_expert" in tools:
            expert = self._cheapest["call_expert"]
            if "Error" in last and not self._open:
                expert = pick(observation, "call_expert", MID["call_expert"])
            return tool_call("call_expert", {"expert": expert})
        turn = turns_taken(observation)
        strength = evidence_strength(observation)
        if turn == 0:
            return tool_call("search", {"model": self._cheapest["search"]})
        if strength >= 0.99:
            return tool_call("answer", {"model": self._cheapest["answer"]})
        stronger = OPEN if self._open else MID
        tool = "answer" if turn >= self._searches else "search"
        return tool_call(tool, {"model": pick(observation, tool, stronger[tool])})


class Oracle:
    """The upper bound: replays the episode (same task, same draws) under each candidate plan,
    cheapest first, and follows the first that succeeds. It sees the future; no real policy can."""

    name = "oracle (upper bound)"

    def __init__(self, env_id: str = "ToolOrchestra-v0", **env_kwargs):
        import gymnasium as gym

        self._env = gym.make(env_id, **env_kwargs).unwrapped
        self._actions: list[str] = []

    def reset(self, observation: dict, info: dict) -> None:
        self._turn = 0
        candidates = self._candidates(observation)
        replays = [self._replay(plan, info) for plan in candidates]
        solved = [(cost, actions) for actions, outcome, cost in replays if outcome]
        # No plan succeeds: do the cheapest thing (the first candidate is the cheapest tier).
        self._actions = min(solved, key=lambda r: r[0])[1] if solved else replays[0][0]

    def act(self, observation: dict) -> str:
        action = self._actions[min(self._turn, len(self._actions) - 1)]
        self._turn += 1
        return action

    def _candidates(self, observation: dict) -> list[list[tuple[str, dict]]]:
        tools = offered(observation)
        if "call_expert" in tools:
            # One expert every turn, for as many turns as the env allows.
            turns = self._env.max_turns
            return [
                [("call_expert", {"expert": e})] * turns
                for e in (CHEAP["call_expert"], MID["call_expert"], STRONG["call_expert"])
                if e in aliases(observation, "call_expert")
            ]
        plans = []
        for n_search, code in ((0, False), (0, True), (2, False), (2, True), (4, False), (4, True)):
            for tier in (CHEAP, OPEN, MID, STRONG):
                plan = [
                    ("search", {"model": pick(observation, "search", tier["search"])})
                ] * n_search
                plan += (
                    [
                        (
                            "enhance_reasoning",
                            {
                                "model": pick(
                                    observation, "enhance_reasoning", tier["enhance_reasoning"]
                                )
                            },
                        )
                    ]
                    if code
                    else []
                )
                plans.append(
                    plan + [("answer", {"model": pick(observation, "answer", tier["answer"])})]
                )
        return plans

    def _replay(self, plan, info) -> tuple[list[str], int, float]:
        """(actions taken, outcome, $ spent) of `plan` on this very episode."""
        self._env.reset(options={"task_id": info["task_id"], "episode_seed": info["episode_seed"]})
        actions = [tool_call(t, a) for t, a in plan]
        for i, action in enumerate(actions):
            _, _, terminated, truncated, step_info = self._env.step(action)
            if terminated or truncated:
                return actions[: i + 1], step_info["outcome"], step_info["ledger"]["cost_usd"]
        return actions, 0, step_info["ledger"]["cost_usd"]
