"""Live experts: the model tools answered by real models behind backends.

`LiveExperts` implements the same `complete(ExpertRequest) -> ExpertReply` as the simulator, so
tools, grading and the ledger do not change; only the text, the token counts (the server's own)
and the seconds (real wall-clock) do. Live experts read only what a tool sends — the prompt
pieces — never the hidden task.

Backends are keyed by alias ("search-1"), by model ("gpt-5") or "*" (everything else); a request
names a model and a role, and is routed to the first of: the alias of that role's tool bound to
that model, the model, "*". A failed call never ends the run: the reply's text states the error
(so the tool shows it to the policy), it costs no tokens, and the episode goes on. Every call is
counted (`calls`) and every failure kept (`errors`), so an evaluation can tell a run whose
experts were down from one whose policy chose badly.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestra_env.domain import shared_domain
from orchestra_env.hermes import format_call
from orchestra_env.models.backends import Backend, BackendError, backends_from_mapping
from orchestra_env.models.base import ExpertReply, ExpertRequest
from orchestra_env.models.profiles import Profiles

# The tool whose alias a request of each role comes through.
ROLE_TOOL = {
    "search": "search",
    "reason": "enhance_reasoning",
    "answer": "answer",
    "act": "call_expert",
}
DEFAULT_KEY = "*"

ACT_SYSTEM_SUFFIX = (
    "\n\nYou are the expert the agent consulted: take the single next step of this conversation "
    'for the agent. Reply with exactly one tool call as <tool_call>{"name": ..., "arguments": '
    "{...}}</tool_call>, or with words for the user inside <message></message>."
)


@dataclass(frozen=True)
class ExpertCallError:
    """One failed expert call: the alias called, its model, and the backend's error."""

    alias: str
    model: str
    error: str

    def __str__(self) -> str:
        return f"{self.alias} ({self.model}) failed: {self.error}"


def domain_tools(request: ExpertRequest) -> list[dict] | None:
    """The domain functions an "act" expert may call, as OpenAI tool schemas.

    They are public (the policy sees the same schemas); the request does not carry them, so
    they are looked up by the task's domain. Other roles need no tools.
    """
    domain = getattr(getattr(request.task, "case", None), "domain", None)
    if request.role != "act" or domain is None:
        return None
    return [tool.spec.openai() for tool in shared_domain(domain).tools.values()]


def expert_messages(request: ExpertRequest) -> list[dict]:
    """The request's prompt pieces as a chat: the first piece is the system message.

    Question answering: the user turn holds the problem, then the gathered context. "act": the
    pieces are the conversation so far (its roles are not in the request), sent as a transcript.
    A request that carries its whole chat (the released expert prompts) is sent as it is.
    """
    if request.messages:
        return [dict(m) for m in request.messages]
    system, *rest = request.prompt or ("",)
    if request.role == "act":
        transcript = "\n\n---\n\n".join(rest)
        return [
            {"role": "system", "content": system + ACT_SYSTEM_SUFFIX},
            {
                "role": "user",
                "content": f"The conversation so far:\n\n{transcript}\n\nTake the next step.",
            },
        ]
    problem, *context = rest or ("",)
    user = f"Problem:\n{problem}"
    if context:
        user += "\n\nContext:\n" + "\n\n".join(context)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def error_text(role: str, message: str) -> str:
    """A failed call's reply text: states the error where the tool will show it.

    For "act" the text would otherwise be read as words for the user (plain text is a message
    in conversations); a tool call naming the error is rejected as unknown by the family, which
    shows the name — the error — to the policy, and nothing is said to the user.
    """
    if role == "act":
        return format_call(f"EXPERT ERROR: {message}", {})
    return f"EXPERT ERROR: {message}"


class LiveExperts:
    """Real models as experts.

    Args:
        backends: {alias | model | "*": Backend}.
        profiles: the env's profiles (they resolve aliases to models).
        tools_for: the OpenAI tool schemas to offer the model for a request (default: the
            domain's functions for "act", none otherwise).
        sampling: per-role sampling overrides, e.g. {"act": {"temperature": 0}}.
    """

    nondeterministic = True  # the env marks its spec so (real models are not seeded draws)

    def __init__(
        self,
        backends: Mapping[str, Backend],
        profiles: Profiles,
        *,
        tools_for: Callable[[ExpertRequest], list[dict] | None] = domain_tools,
        sampling: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        if not backends:
            raise ValueError(
                "LiveExperts needs at least one backend ({alias | model | '*': backend})"
            )
        unknown = sorted(
            k
            for k in backends
            if k != DEFAULT_KEY and k not in profiles.aliases and k not in profiles.models
        )
        if unknown:
            raise ValueError(
                f"expert_backends keys {unknown} are neither "
                f"aliases ({', '.join(profiles.aliases)}) "
                f"nor models ({', '.join(profiles.models)}) nor '*'"
            )
        self.backends = dict(backends)
        self.profiles = profiles
        self.tools_for = tools_for
        self.sampling = {role: dict(v) for role, v in (sampling or {}).items()}
        self.calls = 0  # calls made so far (for the evaluator: failed / all)
        self.errors: list[ExpertCallError] = []  # every failed call, in order
        self._count_lock = threading.Lock()

    def __deepcopy__(self, memo):
        # Live models are shared services: copies (gym.make deep-copies env specs) share them.
        return self

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | str | os.PathLike, profiles: Profiles, **kwargs
    ) -> LiveExperts:
        """From {key: backend config or Backend}, or a JSON/YAML file of configs."""
        return cls(backends_from_mapping(config), profiles, **kwargs)

    def route(self, role: str, model: str) -> tuple[str, Backend | None]:
        """(the key that serves a request, its backend); (alias, None) when none does."""
        aliases = self._aliases(role, model)
        for key in (*aliases, model, DEFAULT_KEY):
            if key in self.backends:
                return key, self.backends[key]
        return (aliases[0] if aliases else model), None

    def _aliases(self, role: str, model: str) -> list[str]:
        """The aliases of the tool that `role` comes through bound to `model`."""
        tool = ROLE_TOOL.get(role)
        aliases = self.profiles.aliases.items()
        return [a for a, spec in aliases if spec.tool == tool and spec.model == model]

    def missing(self, aliases: Sequence[str]) -> list[str]:
        """The aliases among `aliases` that no backend serves."""
        out = []
        for alias in aliases:
            spec = self.profiles.aliases[alias]
            role = next(r for r, t in ROLE_TOOL.items() if t == spec.tool)
            if self.route(role, spec.model)[1] is None:
                out.append(alias)
        return out

    def require(self, aliases: Sequence[str]) -> None:
        """Raise ValueError naming every offered alias that has no backend."""
        missing = self.missing(aliases)
        if missing:
            raise ValueError(
                f"experts='live': no backend for aliases {missing}; add them (or their models, or "
                f"'*') to expert_backends, or offer fewer tools with tools=[...]"
            )

    def complete(self, request: ExpertRequest) -> ExpertReply:
        key, backend = self.route(request.role, request.model)
        with self._count_lock:
            self.calls += 1
        start = time.perf_counter()
        try:
            if backend is None:
                raise BackendError(f"no backend configured for {key!r}", model=request.model)
            generation = backend.generate(
                expert_messages(request),
                tools=self.tools_for(request),
                **self.sampling.get(request.role, {}),
            )
        except BackendError as e:
            alias = next(iter(self._aliases(request.role, request.model)), request.model)
            error = ExpertCallError(alias, request.model, str(e))
            with self._count_lock:
                self.errors.append(error)
            return ExpertReply(
                text=error_text(request.role, str(error)),
                prompt_tokens=0,  # a failed call is not billed
                completion_tokens=0,
                seconds=time.perf_counter() - start,
                success=False,
            )
        return ExpertReply(
            text=generation.text,
            prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens,
            seconds=time.perf_counter() - start,
        )
