"""What the question-answering families (multihop, reasoning) share: the paper's three QA
tools, the bonus of a program output that holds the answer, and the programs weak coders break.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestra_env.core import Task
from orchestra_env.tools import qa
from orchestra_env.tools.catalogue import QA_TOOLS, qa_tool_specs

if TYPE_CHECKING:
    from orchestra_env.actions import Message, ToolCall
    from orchestra_env.models.profiles import Profiles
    from orchestra_env.tools.base import ToolContext, ToolResult
    from orchestra_env.tools.spec import ToolSpec

CHAT_SYSTEM = (
    "You orchestrate tools and models to solve the user's problem. Each turn, call exactly one "
    'tool as <tool_call>{"name": ..., "arguments": {...}}</tool_call>; you may think first '
    "inside <think></think>. Every call costs money and time, as each tool's description "
    "states: spend where it pays off."
)
CODE_OUTPUT_BONUS = 3.0  # a program's output in context already holds the answer

_INT = re.compile(r"(?<![\w.])\d+(?![\w.])")


class QuestionFamily:
    """Shared behaviour of the question-answering families: the paper's three QA tools."""

    tools = QA_TOOLS
    conversational = False

    def example_tasks(self) -> tuple[Task, ...]:
        return (self.task(0),)

    def system_prompt(self, task: Task) -> str:
        return CHAT_SYSTEM

    def tool_specs(
        self, task: Task, profiles: Profiles, aliases: Sequence[str]
    ) -> tuple[ToolSpec, ...]:
        return qa_tool_specs(profiles, aliases)

    def begin(self, task: Task) -> dict:
        return {}

    def execute(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        return qa.EXECUTORS[call.name](call, ctx)

    def respond(self, message: Message, ctx: ToolContext) -> ToolResult:
        raise TypeError(f"{type(self).__name__} takes tool calls only")


def break_program(program: str, rng: random.Random) -> str:
    """A plausibly broken variant of `program`: a wrong constant, an off-by-one, a wrong
    operator, or an exception — the mistakes weak coders make."""
    numbers = list(_INT.finditer(program))
    kinds = ["exception"]
    if numbers:
        kinds += ["constant", "off_by_one"]
    if re.search(r"[-+]", program):
        kinds.append("operator")
    kind = rng.choice(kinds)
    if kind in ("constant", "off_by_one"):
        m = rng.choice(numbers)
        value = int(m.group())
        # A wrong constant stays within its own size: 5 -> 14 as a loop bound or exponent would
        # make a brute-force program run for minutes, and burn the sandbox's CPU limit each time.
        size = max(2, min(20, abs(value) // 3))
        delta = (
            rng.choice([-1, 1])
            if kind == "off_by_one"
            else rng.choice([-1, 1]) * rng.randint(2, size)
        )
        return program[: m.start()] + str(value + delta) + program[m.end() :]
    if kind == "operator":
        return program.translate(str.maketrans({"-": "+", "+": "-"}))
    return (
        program.replace("print(", "print(undefined_fact + ", 1)
        if "print(" in program
        else "raise ValueError('missing fact')"
    )
