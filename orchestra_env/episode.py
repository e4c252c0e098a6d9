"""The state of one episode: what the policy has gathered, said and spent so far.

The env owns one `Episode` per reset; tools read it and return results, the env applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestra_env.core import CallRecord, CodeRun, Evidence, Task
from orchestra_env.ledger import Ledger

if TYPE_CHECKING:
    from orchestra_env.rewards import Preference

# The evidence records live in core.py; still importable from here, where they used to be.
__all__ = ["CallRecord", "CodeRun", "Episode", "Evidence"]


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
        return f"{self.seed}:{self.expert_calls}"
