"""What a task family is, for the env, and the fixed train / validation / test splits.

The task itself (`Task`) and its grade (`Grade`) are plain records in core.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from orchestra_env.core import Grade, Task

if TYPE_CHECKING:
    from orchestra_env.actions import Message, ToolCall
    from orchestra_env.episode import Episode
    from orchestra_env.models.profiles import Profiles
    from orchestra_env.tools.base import ToolContext, ToolResult
    from orchestra_env.tools.spec import ToolSpec

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


class TaskFamily(Protocol):
    """What the env asks of a family: tasks, the tools of a task, running them, grading."""

    name: str
    tools: tuple[str, ...]  # tool names whose aliases pick a model (search, answer, call_expert…)
    conversational: bool  # the policy may also talk to a user

    def task(self, index: int) -> Task: ...

    def example_tasks(self) -> tuple[Task, ...]:
        """One task per tool set the family uses (to list every tool it may offer)."""

    def system_prompt(self, task: Task) -> str: ...

    def tool_specs(
        self, task: Task, profiles: Profiles, aliases: Sequence[str]
    ) -> tuple[ToolSpec, ...]: ...

    def begin(self, task: Task) -> dict:
        """Per-episode resources the executors and `grade` need (e.g. a freshly restored
        database); the env hands them to the episode once, as `Resources.family`."""

    def execute(self, call: ToolCall, ctx: ToolContext) -> ToolResult: ...

    def respond(self, message: Message, ctx: ToolContext) -> ToolResult:
        """The user's reply to what the policy said (conversational families only)."""

    def grade(self, task: Task, episode: Episode) -> Grade: ...
