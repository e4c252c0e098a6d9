"""What the question-answering families (multihop, reasoning) share: the paper's three QA
tools, how an answerer uses a program's output in context, and the bugs coders make.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestra_env.core import Attempt, Check, Evidence, Task
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
# Taking a printed result from the context is easy for any reader: an answerer that cannot
# derive the answer itself copies the program's output — right or wrong.
COPY_DIFFICULTY, COPY_BONUS = 0.0, 3.0

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


def program_output(evidence: Evidence) -> str | None:
    """The last line the latest program that ran cleanly printed, if any."""
    for run in reversed(evidence.code_runs):
        lines = run.output.strip().splitlines() if run.status == "ok" else []
        if lines and run.output.strip() != "(no output)":
            return lines[-1].strip()
    return None


def copy_checks(prefix: str, evidence: Evidence) -> tuple[Check, ...]:
    """The check of reading a program's output off the context (none without one)."""
    if program_output(evidence) is None:
        return ()
    return (Check("reading", COPY_DIFFICULTY, COPY_BONUS, key=f"{prefix}:copy"),)


def final_answer(own: str, own_ok: bool, prefix: str, evidence: Evidence, attempt: Attempt) -> str:
    """What an answerer writes: its own derivation when it can make one, else the program's
    output in context when it reads it (so a wrong output misleads exactly the answerers that
    cannot solve the item themselves), else its own (wrong) derivation."""
    output = program_output(evidence)
    if own_ok or output is None or not attempt.ok(f"{prefix}:copy"):
        return own
    return output


def break_program(program: str, rng: random.Random) -> str:
    """A plausibly broken variant of `program`: a wrong constant, an off-by-one, a wrong
    operator, a misspelt name, or a wrong assumption that raises — the mistakes coders make.

    Only the program's top-level statements change (its inputs and its last line), never the
    body of a function it defines: a changed loop constant could make it run forever, and
    burn the sandbox's CPU limit on every call."""
    top = _top_level(program)
    numbers = [m for m in _INT.finditer(program) if top[m.start()]]
    head, _, last = program.rpartition("\n")
    names = [n for n in _ASSIGNED.findall(program) if re.search(rf"\b{n}\b", last)]
    operators = [m for m in re.finditer(r"(?<=\s)[-+](?=\s)", program) if top[m.start()]]
    kinds = ["raises"]
    if numbers:
        kinds += ["constant", "off_by_one"]
    if operators:
        kinds.append("operator")
    if names:
        kinds.append("name")
    kind = rng.choice(kinds)
    if kind in ("constant", "off_by_one"):
        m = rng.choice(numbers)
        value = int(m.group())
        # A wrong constant stays within its own size (a size or exponent 5 -> 14 could make a
        # brute-force program run for minutes).
        size = max(2, min(20, abs(value) // 3))
        delta = (
            rng.choice([-1, 1])
            if kind == "off_by_one"
            else rng.choice([-1, 1]) * rng.randint(2, size)
        )
        return program[: m.start()] + str(value + delta) + program[m.end() :]
    if kind == "operator":
        m = rng.choice(operators)
        return program[: m.start()] + ("+" if m.group() == "-" else "-") + program[m.end() :]
    if kind == "name":  # the last line uses a name spelt differently from its assignment
        name = rng.choice(names)
        last = re.sub(rf"\b{name}\b", name.rstrip("s_") + "s", last)
        return f"{head}\n{last}" if head else last
    return raising_program(program, rng)


def raising_program(program: str, rng: random.Random) -> str:
    """`program` with a wrong assumption that raises before the result is printed."""
    head, _, last = program.rpartition("\n")
    last = f"{rng.choice(_WRONG_ASSUMPTIONS)}\n{last}"
    return f"{head}\n{last}" if head else last


def _top_level(program: str) -> list[bool]:
    """Per character of `program`: whether it lies in a top-level statement (not in a
    function or class body, nor on its `def` line)."""
    flags: list[bool] = []
    inside = False
    for line in program.splitlines(keepends=True):
        if line.strip() and not line[0].isspace():
            inside = line.startswith(("def ", "class ", "@", "async def "))
        flags.extend([not inside and bool(line.strip()) and not line[0].isspace()] * len(line))
    return flags


_ASSIGNED = re.compile(r"^([a-z_][a-z0-9_]*)\s*=", re.MULTILINE)
_WRONG_ASSUMPTIONS = (
    "assert False, 'the inputs do not satisfy the stated constraint'",
    "raise ValueError('value out of the expected range')",
    "print(1 / 0)",
    "print(int('n/a'))",
)
