"""Non-LLM routers: policies that pick tools by rule, for comparison with learned orchestrators.

A router sees only what any policy sees — the observation, and the reset's `info` with the
user's preference — except `Oracle`, the upper bound, which replays the episode to find the
cheapest plan that succeeds (and says so in its name). The routers that weigh prices read them
from the model tables the tool descriptions print, so they stay honest under any price table and
under `randomize="paper"`, where an alias is served by a different model every episode.
Every router handles both kinds of task: question answering (search / enhance_reasoning /
answer) and conversations (domain tools and call_expert), read off the offered tools.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from orchestra_env.models.profiles import default_profiles
from orchestra_env.observation import aliases, evidence_strength, menu, offered, pick, tool_call
from orchestra_env.spaces import sample_arguments

# Aliases by strength within each tool: the tiers of profiles.json, for the routers that are
# one fixed tier on purpose (`SingleModel`) and the oracle's candidate plans. OPEN holds
# open-weight models only: what "avoid paid APIs" leaves.
STRONG, MID, CHEAP, OPEN = (
    dict(default_profiles().tiers[tier]) for tier in ("strong", "mid", "cheap", "open")
)

_NUMERIC_QUESTION = re.compile(
    r"\b(how many|sum|remainder|probability|modulo|what is .*[+\-*/^]|days|year)\b", re.I
)


def avoids_paid_apis(info: dict) -> bool:
    """The user asked to avoid paid APIs (the reset's `info["preference"]` flag)."""
    return bool(info["preference"]["avoid_paid_apis"])


def wants_speed(info: dict) -> bool:
    """The user's preference (the reset's `info["preference"]`) weighs latency at least half."""
    return info["preference"]["latency"] >= 0.5


def ranked(observation: dict, info: dict, tool: str) -> list[str]:
    """The offered aliases of `tool`, cheapest first by the price its description prints
    (input + output $/M tokens). Generalists only when one is offered (a maths specialist is
    cheap but answers little else); when the user avoids paid APIs, only the aliases their
    preference welcomes (weight > 0 in `info["preference"]["tools"]`) when one is offered."""
    listed = menu(observation)
    candidates = [a for a in aliases(observation, tool) if a in listed]
    if not candidates:
        raise ValueError(f"tool {tool!r} prints no model table with prices to rank its aliases by")
    if avoids_paid_apis(info):
        welcome = info["preference"]["tools"]
        candidates = [a for a in candidates if welcome.get(a, 0) > 0] or candidates
    general = [a for a in candidates if "specialist" not in listed[a].strengths]
    return sorted(
        general or candidates, key=lambda a: listed[a].input_per_mtok + listed[a].output_per_mtok
    )


def rankings(observation: dict, info: dict) -> dict[str, list[str]]:
    """`ranked` for every offered tool whose description prints a model table."""
    tools = {entry.tool for entry in menu(observation).values()} & offered(observation).keys()
    return {tool: ranked(observation, info, tool) for tool in sorted(tools)}


def median(ranking: Sequence[str]) -> str:
    """The mid-priced alias of a ranking (the upper median): a step up from the cheapest."""
    return ranking[len(ranking) // 2]


def fastest(observation: dict, ranking: Sequence[str]) -> str:
    """The alias of `ranking` with the lowest mean latency its tool's description prints."""
    listed = menu(observation)
    return min(ranking, key=lambda a: listed[a].latency_s)


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
    """Gather with cheap calls (three searches, code for numeric questions), answer with a
    mid-priced generalist (the median of the printed-price ranking). Honours "avoid paid APIs"
    by choosing among the aliases the preference welcomes (open models), and a latency
    preference by searching once and calling the models with the fastest printed latency.
    Conversations: the cheapest expert."""

    name: str = "evidence-first"

    def reset(self, observation: dict, info: dict) -> None:
        self._fast = wants_speed(info)
        self._ranks = rankings(observation, info)

    def act(self, observation: dict) -> str:
        if "call_expert" in self._ranks:
            return tool_call("call_expert", {"expert": self._ranks["call_expert"][0]})
        question = observation["messages"][1]["content"]
        searches = 1 if self._fast else 3
        plan = (
            ["search"] * searches
            + (["enhance_reasoning"] if _NUMERIC_QUESTION.search(question) else [])
            + ["answer"]
        )
        tool = plan[min(turns_taken(observation), len(plan) - 1)]
        ranking = self._ranks[tool]
        if self._fast:
            model = fastest(observation, ranking)
        else:
            model = median(ranking) if tool == "answer" else ranking[0]
        return tool_call(tool, {"model": model})


@dataclass
class CheapestFirst:
    """Escalate only when the evidence is weak: search with the model whose printed price is
    lowest; when the gathered documents mention the question's named entities, answer with the
    cheapest, else search again with a mid-priced generalist (the median of the printed-price
    ranking) and answer with one. Conversations: the cheapest expert, a mid-priced one after an
    error. Honours "avoid paid APIs" by choosing among the aliases the preference welcomes (open
    models), and a latency preference by searching at most twice."""

    max_searches: int = 4
    name: str = "cheapest-first"

    def reset(self, observation: dict, info: dict) -> None:
        self._searches = min(self.max_searches, 2) if wants_speed(info) else self.max_searches
        self._ranks = rankings(observation, info)

    def act(self, observation: dict) -> str:
        last = observation["messages"][-1]["content"] if len(observation["messages"]) > 2 else ""
        if "call_expert" in self._ranks:
            experts = self._ranks["call_expert"]
            expert = median(experts) if "Error" in last else experts[0]
            return tool_call("call_expert", {"expert": expert})
        turn = turns_taken(observation)
        if turn == 0:
            return tool_call("search", {"model": self._ranks["search"][0]})
        if evidence_strength(observation) >= 0.99:
            return tool_call("answer", {"model": self._ranks["answer"][0]})
        tool = "answer" if turn >= self._searches else "search"
        return tool_call(tool, {"model": median(self._ranks[tool])})


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
