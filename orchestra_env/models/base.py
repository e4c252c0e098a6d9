"""The expert interface: what a tool sends a model and what comes back.

A tool builds an `ExpertRequest` (the role, the chosen model, the prompt pieces actually sent)
and an expert — simulated or live — answers with an `ExpertReply`. Simulated experts also read
the hidden task and the evidence in context; live ones read only the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from orchestra_env.core import Evidence, Task

ROLES = ("search", "reason", "answer", "act")


@dataclass(frozen=True)
class ExpertRequest:
    role: str  # one of ROLES: write a query, write code, give the answer, take the next action
    model: str  # profile name, e.g. "gpt-5"
    prompt: tuple[str, ...]  # the text pieces sent, in order (system, problem, context…)
    task: Task
    evidence: Evidence
    seed: str  # "<episode seed>:<call index>": every draw of this call comes from it
    # The whole chat, when the tool wrote it (render="orchestrator-8b": the released expert
    # prompts); `prompt` then holds its contents. Empty: live experts build it from `prompt`.
    messages: tuple[dict, ...] = ()


@dataclass(frozen=True)
class ExpertReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    success: bool | None = None  # the simulator's draw (None for live models)


class Expert(Protocol):
    def complete(self, request: ExpertRequest) -> ExpertReply: ...
