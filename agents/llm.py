"""An LLM as the orchestrating policy, over any backend.

`LLMOrchestrator` reads an observation — `messages` (a chat ready for a chat template) and
`tools` (OpenAI tool schemas, prices in the descriptions) — asks its backend for one completion
and returns the text as the action; the env parses it, so a model's junk is graded, never
raised. Each turn's prompt and completion token ids are kept in `.trajectory` (as the backend
produced them), so RL needs no re-tokenisation.

A backend failure (`BackendError`: a server down, a model that cannot load) is not the policy's
fault, so by default it propagates: an evaluation runner records the episode as errored and
moves on. With `on_error="empty"` the agent instead returns an empty action, which the env
treats as a malformed turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestra_env.models.backends import Backend, BackendError, Generation, backend_from_config

TOOLS_IN_TEXT = (
    "# Tools\n\nYou may call one of these functions. Their signatures are inside <tools></tools>:\n"
    "<tools>\n{tools}\n</tools>\n\nCall one as:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)


@dataclass(frozen=True)
class Turn:
    """One policy turn: what was sent, what came back, and the token ids when known."""

    messages: tuple[Mapping[str, Any], ...]
    tools: tuple[Mapping[str, Any], ...] | None
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prompt_token_ids: tuple[int, ...] | None = None
    completion_token_ids: tuple[int, ...] | None = None
    retokenized: bool = False  # ids rebuilt from text by `tokenizer` (the backend gave none)
    error: str | None = None  # a backend failure (with on_error="empty")


class LLMOrchestrator:
    """A chat model that orchestrates: one completion per env step.

    Args:
        backend: a `Backend` (or a backend config dict, see `backend_from_config`).
        tokenizer: optional Hugging Face tokenizer with the model's chat template; fills the
            token ids of turns whose backend returned none (an HTTP endpoint), marked
            `retokenized=True`.
        render_tools: pass the tool schemas to the backend (the chat template or the server
            renders them); False writes them into the system message as text instead, for
            models or servers without tool support.
        system_prompt: text placed before the env's system message (prompt-only baselines).
        name: the agent's name in tables.
        on_error: "raise" (default) lets a `BackendError` end the episode as an error;
            "empty" returns "" for that turn.
        **sampling: sampling options sent with every call (temperature, max_tokens, top_p, …).
    """

    env_kwargs: Mapping[str, Any] = {}  # env options this agent is meant for (presets set them)

    def __init__(
        self,
        backend: Backend | Mapping[str, Any],
        *,
        tokenizer: Any = None,
        render_tools: bool = True,
        system_prompt: str | None = None,
        name: str = "llm",
        on_error: str = "raise",
        **sampling: Any,
    ):
        if on_error not in ("raise", "empty"):
            raise ValueError(f"on_error must be 'raise' or 'empty', got {on_error!r}")
        self.backend = backend_from_config(backend) if isinstance(backend, Mapping) else backend
        if not callable(getattr(self.backend, "generate", None)):
            raise TypeError(
                "backend must have generate(messages, *, tools, **sampling), "
                f"got {type(backend).__name__}"
            )
        self.tokenizer = tokenizer
        self.render_tools = render_tools
        self.system_prompt = system_prompt
        self.name = name
        self.on_error = on_error
        self.sampling = {k: v for k, v in sampling.items() if v is not None}
        self.trajectory: list[Turn] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, backend={self.backend!r})"

    def reset(self, observation: dict, info: dict) -> None:
        self.trajectory = []

    def prompt(self, observation: dict) -> tuple[list[dict], list[dict] | None]:
        """(messages, tools) sent to the backend for this observation."""
        messages = [{"role": m["role"], "content": m["content"]} for m in observation["messages"]]
        tools = json.loads(observation["tools"]) if observation.get("tools") else []
        extra = [self.system_prompt] if self.system_prompt else []
        if tools and not self.render_tools:
            extra.append(
                TOOLS_IN_TEXT.format(
                    tools="\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
                )
            )
        if extra:
            if messages and messages[0]["role"] == "system":
                messages[0]["content"] = "\n\n".join(
                    [*extra[:1], messages[0]["content"], *extra[1:]]
                )
            else:
                messages.insert(0, {"role": "system", "content": "\n\n".join(extra)})
        return messages, (tools if tools and self.render_tools else None)

    def act(self, observation: dict) -> str:
        messages, tools = self.prompt(observation)
        try:
            generation = self.backend.generate(messages, tools=tools, **self.sampling)
        except BackendError as e:
            if self.on_error == "raise":
                raise
            self.trajectory.append(
                Turn(tuple(messages), _frozen(tools), "", 0, 0, 0.0, error=str(e))
            )
            return ""
        self.trajectory.append(self._turn(messages, tools, generation))
        return generation.text

    def _turn(self, messages: list[dict], tools: list[dict] | None, g: Generation) -> Turn:
        prompt_ids, completion_ids, rebuilt = g.prompt_token_ids, g.token_ids, False
        if self.tokenizer is not None and (prompt_ids is None or completion_ids is None):
            rebuilt = True
            if prompt_ids is None:
                encoded = self.tokenizer.apply_chat_template(
                    messages,
                    tools=tools,
                    add_generation_prompt=True,
                    tokenize=True,
                    return_dict=True,
                )
                ids = encoded["input_ids"]
                prompt_ids = tuple(ids[0] if ids and isinstance(ids[0], list) else ids)
            if completion_ids is None:
                completion_ids = tuple(self.tokenizer.encode(g.text, add_special_tokens=False))
        return Turn(
            messages=tuple(messages),
            tools=_frozen(tools),
            text=g.text,
            prompt_tokens=g.prompt_tokens,
            completion_tokens=g.completion_tokens,
            seconds=g.seconds,
            prompt_token_ids=prompt_ids,
            completion_token_ids=completion_ids,
            retokenized=rebuilt,
        )


def _frozen(tools: Sequence[Mapping] | None) -> tuple[Mapping, ...] | None:
    return tuple(tools) if tools else None


# -- factories ---------------------------------------------------------------------------------


def resolve_backend(
    backend: Backend | Mapping[str, Any] | str | None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    **options: Any,
) -> Backend:
    """A backend from an object, a config dict, or a kind ("openai", "transformers", "vllm").

    With a kind: `model` is the hub id / local path (or the served model name for "openai"),
    `base_url` the endpoint ("openai" only); other options go to the backend's constructor.
    """
    if backend is not None and not isinstance(backend, (str, Mapping)):
        return backend
    if isinstance(backend, Mapping):
        return backend_from_config(backend)
    kind = backend or ("openai" if base_url else "transformers")
    config: dict[str, Any] = {"backend": kind, **options}
    if model is not None:
        config["model"] = model
    if base_url is not None:
        config["base_url"] = base_url
    return backend_from_config(config, source=f"{kind} backend")
