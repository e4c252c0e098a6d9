"""The plain records and protocols every layer shares; imports nothing of the package.

* `Check` — one skill a step needs (what simulated experts draw success from), and `Attempt`
  — how one expert call went, check by check;
* `Task` — what a task is, for the env and for the simulated experts;
* `Grade` — a family's verdict on an episode;
* `Evidence` with `CodeRun` and `CallRecord` — what is in the policy's context so far.

They sit at the bottom so that models, tools, task families and the env can all name them
without importing one another (see docs/architecture.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Check:
    """One skill a step needs: success chance rises with ability − difficulty, plus `bonus`.

    `key` names what the check is about (a fact, an item's program, a hop's query): a model
    meets the same key with the same persistent competence in every call, episode and process,
    up to a small per-call noise. An empty key draws afresh on every call."""

    skill: str
    difficulty: float
    bonus: float = 0.0
    key: str = ""


@dataclass(frozen=True)
class Attempt:
    """How one expert call went: the model, and the keys of the checks it failed ("" for an
    unkeyed check). `belief` gives the model's own persistent generator for a key — its wrong
    belief about a fact, its habitual bug — so a failure is built from what the model thinks,
    and repeats when the model fails the same way again."""

    model: str
    failed: frozenset[str] = frozenset()

    @property
    def success(self) -> bool:
        return not self.failed

    def ok(self, key: str) -> bool:
        return key not in self.failed

    def belief(self, key: str) -> random.Random:
        return random.Random(f"belief|{self.model}|{key}")


@dataclass(frozen=True)
class CodeRun:
    """A program an expert wrote, and what really happened when the sandbox ran it."""

    code: str
    output: str
    status: str


@dataclass(frozen=True)
class CallRecord:
    """A domain tool call that ran, and what it returned."""

    name: str
    arguments: dict
    ok: bool
    output: str


@dataclass
class Evidence:
    """What is in the context: retrieved documents (ids, first-seen order), code runs, and in
    conversations the domain calls made and what the agent and the user said."""

    documents: list[int] = field(default_factory=list)
    code_runs: list[CodeRun] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    said_to_user: list[str] = field(default_factory=list)
    user_said: list[str] = field(default_factory=list)
    _seen: set[int] = field(default_factory=set, repr=False)

    def add_documents(self, doc_ids: tuple[int, ...]) -> tuple[int, ...]:
        """Add documents not yet in context; returns the new ones."""
        new = tuple(d for d in doc_ids if d not in self._seen)
        self._seen.update(new)
        self.documents.extend(new)
        return new

    def has_document(self, doc_id: int) -> bool:
        return doc_id in self._seen


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

    def artefact(self, role: str, evidence: Evidence, attempt: Attempt, rng: random.Random) -> str:
        """What an expert in `role` writes for the next step, given which checks it passed;
        `rng` is the call's own generator (per-call variety)."""


@dataclass(frozen=True)
class Grade:
    outcome: int  # 1 solved, 0 not
    details: dict = field(default_factory=dict)
