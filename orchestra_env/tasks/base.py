"""What a task and a task family are, for the env and for the simulated experts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from orchestra_env.tools import qa
from orchestra_env.tools.catalogue import QA_TOOLS, qa_tool_specs

if TYPE_CHECKING:
    from orchestra_env.actions import Message, ToolCall
    from orchestra_env.episode import Episode, Evidence
    from orchestra_env.models.base import Check
    from orchestra_env.models.profiles import Profiles
    from orchestra_env.tools.base import ToolContext, ToolResult
    from orchestra_env.tools.spec import ToolSpec

CHAT_SYSTEM = (
    "You orchestrate tools and models to solve the user's problem. Each turn, call exactly one "
    "tool as <tool_call>{\"name\": ..., \"arguments\": {...}}</tool_call>; you may think first "
    "inside <think></think>. Every call costs money and time, as each tool's description "
    "states: spend where it pays off."
)

SPLITS = ("train", "validation", "test")


def split_of(index: int) -> str:
    """Fixed split of a task index: 1 in 10 test, 1 in 10 validation, the rest train."""
    r = index % 10
    return "test" if r == 0 else "validation" if r == 1 else "train"


def index_in_split(split: str, k: int) -> int:
    """The k-th task index of `split` (k ≥ 0), inverse of `split_of` within the split."""
    if split == "test":
        return 10 * k
    if split == "validation":
        return 10 * k + 1
    if split == "train":
        return 10 * (k // 8) + 2 + k % 8
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")


def split_position(index: int) -> tuple[str, int]:
    """(split, k) such that `index_in_split(split, k) == index`."""
    split, r = split_of(index), index % 10
    return split, index // 10 if split != "train" else 8 * (index // 10) + r - 2


class Task(Protocol):
    id: str  # "<family>/<index>"
    family: str
    index: int
    prompt: str  # the problem as the user poses it
    difficulty: dict[str, float]
    reference_plan: tuple[str, ...]  # tool names of a reference solution, in order
    toolset: str  # which tool set the task is played with ("qa", or a domain's name)

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        """The skills an expert in `role` needs for the next step, given what is in context."""

    def artefact(self, role: str, evidence: Evidence, success: bool, rng: random.Random) -> str:
        """What an expert in `role` writes when it succeeds or fails at the next step."""


@dataclass(frozen=True)
class Grade:
    outcome: int  # 1 solved, 0 not
    details: dict = field(default_factory=dict)


class TaskFamily(Protocol):
    """What the env asks of a family: tasks, the tools of a task, running them, grading."""

    name: str
    tools: tuple[str, ...]  # tool names whose aliases pick a model (search, answer, call_expert…)
    conversational: bool  # the policy may also talk to a user

    def task(self, index: int) -> Task: ...

    def example_tasks(self) -> tuple[Task, ...]:
        """One task per tool set the family uses (to list every tool it may offer)."""

    def system_prompt(self, task: Task) -> str: ...

    def tool_specs(self, task: Task, profiles: Profiles, aliases: Sequence[str]) -> tuple[ToolSpec, ...]: ...

    def begin(self, task: Task) -> dict:
        """Per-episode resources the executors need (e.g. a freshly restored database)."""

    def execute(self, call: ToolCall, ctx: ToolContext) -> ToolResult: ...

    def respond(self, message: Message, ctx: ToolContext) -> ToolResult:
        """The user's reply to what the policy said (conversational families only)."""

    def grade(self, task: Task, episode: Episode) -> Grade: ...


class QuestionFamily:
    """Shared behaviour of the question-answering families: the paper's three QA tools."""

    tools = QA_TOOLS
    conversational = False

    def example_tasks(self) -> tuple[Task, ...]:
        return (self.task(0),)

    def system_prompt(self, task: Task) -> str:
        return CHAT_SYSTEM

    def tool_specs(self, task: Task, profiles: Profiles, aliases: Sequence[str]) -> tuple[ToolSpec, ...]:
        return qa_tool_specs(profiles, aliases)

    def begin(self, task: Task) -> dict:
        return {}

    def execute(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        return qa.EXECUTORS[call.name](call, ctx)

    def respond(self, message: Message, ctx: ToolContext) -> ToolResult:
        raise TypeError(f"{type(self).__name__} takes tool calls only")
