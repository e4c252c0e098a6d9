"""The state of one episode: what the policy has gathered, said and spent so far.

The env owns one `Episode` per reset; tools read it and return results, the env applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestra_env.ledger import Ledger

if TYPE_CHECKING:
    from orchestra_env.rewards import Preference
    from orchestra_env.tasks.base import Task


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


def call_seed(episode_seed: int, call: int) -> str:
    """The seed of an episode's call-th expert call (counted from 1)."""
    return f"{episode_seed}:{call}"


@dataclass
class Episode:
    task: Task
    preference: Preference
    seed: int
    tools: tuple[str, ...]  # aliases / tool names offered this episode
    ledger: Ledger = field(default_factory=Ledger)
    evidence: Evidence = field(default_factory=Evidence)
    messages: list[dict] = field(default_factory=list)  # the chat transcript
    turns: int = 0
    format_errors: int = 0
    expert_calls: int = 0
    answer: str | None = None

    def next_call_seed(self) -> str:
        """The seed of the next expert call: (episode seed, call index)."""
        self.expert_calls += 1
        return call_seed(self.seed, self.expert_calls)
