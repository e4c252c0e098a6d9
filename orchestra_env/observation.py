"""Reading an observation as a policy does, and writing its action back.

The tools and aliases an observation offers, which (tool, arguments) routes they allow, how much
of the question's evidence the tool results hold, and the Hermes text of one tool call. The
rule-based routers (`baselines/`), the trained agents (`agents/`) and the RL wrappers
(`wrappers/`) all read observations through these, so each rule is written once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

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


_NAME = re.compile(r"(?:'[^']+'|\b[A-Z][a-z]+(?:\s+[A-Z][a-z-]+)+)")


def evidence_strength(observation: dict) -> float:
    """Share of the question's named entities that the gathered tool results mention."""
    question = observation["messages"][1]["content"]
    names = {n.strip("'") for n in _NAME.findall(question)}
    if not names:
        return 0.0
    gathered = " ".join(m["content"] for m in observation["messages"][2:] if m["role"] == "tool")
    return sum(n in gathered for n in names) / len(names)
