"""The state of one episode: what the policy has gathered, said and spent so far, and the
resources its tools work with.

The env owns one `Episode` per reset, handing it its `Resources` then; tools read the episode
and return results, the env applies them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestra_env.core import Evidence, Task
from orchestra_env.ledger import Ledger

if TYPE_CHECKING:
    from orchestra_env.rewards import Preference


@dataclass(frozen=True)
class Resources:
    """What an episode's tools work with, fixed at reset: the corpus, the code runner, and the
    family's per-task resources (e.g. the freshly restored domain world and its user)."""

    document: Callable[[int], tuple[str, str]]  # doc id -> (title, capped text)
    search: Callable[[str, int, str], tuple[int, ...]]  # (query, k, source) -> doc ids
    run_code: Callable[[str], Any]  # code -> SandboxResult
    search_k: int = 3  # documents returned per search
    family: Mapping[str, Any] = field(default_factory=dict)  # from `TaskFamily.begin`


def call_seed(episode_seed: int, call: int) -> str:
    """The seed of an episode's call-th expert call (counted from 1)."""
    return f"{episode_seed}:{call}"


@dataclass
class Episode:
    task: Task
    preference: Preference
    seed: int
    tools: tuple[str, ...]  # aliases / tool names offered this episode
    resources: Resources | None = None  # None only for an episode graded without being played
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
