"""Non-LLM routers: fixed plans of tool calls that need no model to decide.

A router sees only what any policy sees (the observation); it never peeks at the task.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass


def tool_call(name: str, arguments: dict) -> str:
    """The Hermes-format action text for one tool call."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


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
