"""Reading an observation as a policy does, and writing its action back.

The tools and aliases an observation offers, which (tool, arguments) routes they allow, how much
of the question's evidence the tool results hold, and the Hermes text of one tool call. The
rule-based routers (`baselines/`), the trained agents (`agents/`) and the RL wrappers
(`wrappers/`) all read observations through these, so each rule is written once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from orchestra_env.hermes import format_call


def tool_call(name: str, arguments: dict) -> str:
    """The Hermes-format action text for one tool call."""
    return format_call(name, arguments, ensure_ascii=True)


def offered(observation: dict) -> dict[str, dict]:
    """The tools of this turn by name: {name: {"description", "parameters"}}."""
    return {t["function"]["name"]: t["function"] for t in json.loads(observation["tools"])}


def aliases(observation: dict, tool: str) -> list[str]:
    """The aliases (models, or experts for `call_expert`) `tool` accepts this episode."""
    parameter = "expert" if tool == "call_expert" else "model"
    return offered(observation)[tool]["parameters"]["properties"][parameter]["enum"]


def pick(observation: dict, tool: str, wanted: str) -> str:
    """`wanted` if offered this episode, else the first offered alias of `tool`."""
    available = aliases(observation, tool)
    return wanted if wanted in available else available[0]


def observation_mask(route_list: Sequence[tuple[str, dict]], tools_json: str) -> np.ndarray:
    """Which routes the observation's tools offer: the tool is listed and the route's model
    (or expert) is among its allowed values: `DiscreteRouting.action_masks()`, from the
    observation alone."""
    allowed: dict[str, set] = {}
    for tool in json.loads(tools_json):
        fn = tool["function"]
        props = fn.get("parameters", {}).get("properties", {})
        choice = props.get("model") or props.get("expert") or {}
        allowed[fn["name"]] = set(choice.get("enum", ()))
    return np.array(
        [t in allowed and next(iter(a.values())) in allowed[t] for t, a in route_list], dtype=bool
    )


def preference_mask(
    route_list: Sequence[tuple[str, dict]], offered_mask: np.ndarray, preference: Mapping[str, Any]
) -> np.ndarray:
    """`offered_mask` narrowed to what the user allows: when `preference` (an
    `info["preference"]`) avoids paid APIs, a route is allowed only if the preference welcomes
    its alias (weight > 0 in `preference["tools"]`) and, for search, its source ("web" is the
    paid `web_search`). Two exceptions keep an episode finishable: `answer` keeps its offered
    routes when it offers no allowed one (a question must be answerable), and so does every
    route when none is allowed at all (a conversation whose experts are all paid). Otherwise
    `offered_mask` itself."""
    if not preference.get("avoid_paid_apis"):
        return offered_mask
    welcome = preference.get("tools", {})
    allowed = offered_mask & np.array(
        [
            welcome.get(a.get("model") or a.get("expert"), 0) > 0
            and (a.get("source") != "web" or welcome.get("web_search", 0) > 0)
            for _, a in route_list
        ],
        dtype=bool,
    )
    answer = np.array([t == "answer" for t, _ in route_list])
    if not (allowed & answer).any():
        allowed |= offered_mask & answer
    return allowed if allowed.any() else offered_mask


@dataclass(frozen=True)
class MenuEntry:
    """One row of a tool description's model table: what a policy knows of an alias."""

    tool: str
    model: str  # the display name the table prints ("GPT-5")
    strengths: str
    input_per_mtok: float
    output_per_mtok: float
    latency_s: float


# | alias | backed by | strengths | in / out | latency s |  (catalogue.alias_table)
_MENU_ROW = re.compile(
    r"^\| ([\w.-]+) \| ([^|]+) \| ([^|]*) \| ([\d.e+-]+) / ([\d.e+-]+) \| ([\d.e+-]+) s \|$",
    re.MULTILINE,
)


def menu(observation: dict) -> dict[str, MenuEntry]:
    """Every alias the observation's tool descriptions list, with the model, strengths, prices
    ($/M tokens) and mean latency their tables print: the prices a policy can honestly read
    under any price table or randomisation. Empty for tools without such tables."""
    return _menu(observation["tools"])


@lru_cache(maxsize=64)
def _menu(tools_json: str) -> dict[str, MenuEntry]:
    # cached per episode's tool list (the same string every turn); callers must not mutate
    out = {}
    for tool in json.loads(tools_json):
        fn = tool["function"]
        for alias, model, strengths, p_in, p_out, latency in _MENU_ROW.findall(
            fn.get("description", "")
        ):
            out[alias] = MenuEntry(
                fn["name"],
                model.strip(),
                strengths.strip(),
                float(p_in),
                float(p_out),
                float(latency),
            )
    return out


_NAME = re.compile(r"(?:'[^']+'|\b[A-Z][a-z]+(?:\s+[A-Z][a-z-]+)+)")


def evidence_strength(observation: dict) -> float:
    """Share of the question's named entities that the gathered tool results mention."""
    question = observation["messages"][1]["content"]
    names = {n.strip("'") for n in _NAME.findall(question)}
    if not names:
        return 0.0
    gathered = " ".join(m["content"] for m in observation["messages"][2:] if m["role"] == "tool")
    return sum(n in gathered for n in names) / len(names)
