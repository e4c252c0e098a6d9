"""What every tool executor takes (`ToolContext`) and returns (`ToolResult`).

Executors never touch the ledger, the reward or the transcript: the env applies results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestra_env.core import CallRecord, CodeRun
from orchestra_env.episode import Episode, Resources
from orchestra_env.ledger import Charge
from orchestra_env.models.base import Expert, ExpertReply, ExpertRequest
from orchestra_env.models.profiles import Profiles


@dataclass(frozen=True)
class ToolResult:
    """What one action produced: the messages the policy sees next, the charges, state changes."""

    replies: tuple[dict, ...]  # messages appended after the policy's action ({"role","content"})
    charges: tuple[Charge, ...] = ()
    documents: tuple[int, ...] = ()  # retrieved documents, now in context
    code_run: CodeRun | None = None
    answer: str | None = None  # a final answer (question answering)
    said: tuple[str, ...] = ()  # what the agent told the user (conversations)
    user_said: tuple[str, ...] = ()  # what the user answered
    call: CallRecord | None = None  # a domain tool call that ran
    final: bool = False  # the episode ends: an answer was given, or the user hung up
    # call_expert: the expert's own turn and what answered it, which a transparent history
    # (render="orchestrator-8b") shows in place of the policy's call and `replies`
    stand_in: tuple[dict, ...] = ()

    @property
    def content(self) -> str:
        """The text of the replies, joined (what the policy reads)."""
        return "\n\n".join(r["content"] for r in self.replies)


def tool_reply(content: str, **fields: Any) -> ToolResult:
    """A result whose one reply is a `tool` message."""
    return ToolResult(replies=({"role": "tool", "content": content},), **fields)


@dataclass
class ToolContext:
    """What the executors may use: the episode's prices, experts and state (the episode holds
    its `Resources`); the env builds one per episode."""

    profiles: Profiles
    experts: Expert
    episode: Episode
    o8b: bool = False  # render="orchestrator-8b": experts get the released expert prompts

    @property
    def resources(self) -> Resources:
        return self.episode.resources

    def context_pieces(self, *, with_code: bool = True) -> tuple[str, ...]:
        """The gathered context as prompt pieces: document snippets, then code and outputs."""
        ev = self.episode.evidence
        pieces = [self.resources.document(d)[1] for d in ev.documents]
        if with_code:
            pieces += [f"{run.code}\n{run.output}" for run in ev.code_runs]
        return tuple(pieces)

    def ask(self, role: str, alias: str, prompt: tuple[str, ...]) -> ExpertReply:
        """Ask the model behind `alias` for one step, sending `prompt`."""
        return self._complete(role, alias, prompt, ())

    def ask_chat(self, role: str, alias: str, messages: tuple[dict, ...]) -> ExpertReply:
        """Ask the model behind `alias` for one step, sending the chat `messages` as written."""
        return self._complete(role, alias, tuple(m["content"] for m in messages), messages)

    def _complete(
        self, role: str, alias: str, prompt: tuple[str, ...], messages: tuple[dict, ...]
    ) -> ExpertReply:
        episode = self.episode
        request = ExpertRequest(
            role=role,
            model=self.profiles.aliases[alias].model,
            prompt=prompt,
            task=episode.task,
            evidence=episode.evidence,
            seed=episode.next_call_seed(),
            messages=messages,
        )
        return self.experts.complete(request)

    def model_charge(
        self, tool: str, alias: str, reply: ExpertReply, *, fee_usd: float = 0.0
    ) -> Charge:
        """The charge for `reply` at the alias's prices, plus a fee billed with it."""
        price = self.profiles.model_of(alias).price
        return Charge(
            tool=tool,
            alias=alias,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            usd=price.usd(reply.prompt_tokens, reply.completion_tokens) + fee_usd,
            seconds=reply.seconds,
        )
