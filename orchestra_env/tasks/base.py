"""What a task and a task family are, for the env and for the simulated experts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from orchestra_env.episode import Episode, Evidence
    from orchestra_env.models.base import Check

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


class Task(Protocol):
    id: str  # "<family>/<index>"
    family: str
    index: int
    prompt: str  # the problem as the user poses it
    difficulty: dict[str, float]
    reference_plan: tuple[str, ...]  # tool names of a reference solution, in order

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        """The skills an expert in `role` needs for the next step, given what is in context."""

    def artefact(self, role: str, evidence: Evidence, success: bool, rng: random.Random) -> str:
        """What an expert in `role` writes when it succeeds or fails at the next step."""


@dataclass(frozen=True)
class Grade:
    outcome: int  # 1 solved, 0 not
    details: dict = field(default_factory=dict)


class TaskFamily(Protocol):
    name: str
    tools: tuple[str, ...]  # tool names its episodes offer

    def task(self, index: int) -> Task: ...

    def grade(self, task: Task, episode: Episode) -> Grade: ...
