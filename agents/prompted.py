"""Prompt-only LLM orchestrators: the paper's baselines, any chat model given the same tools.

Each preset is an `LLMOrchestrator` with a generic system prompt (no training), named after a
model of the paper's tables. It needs only an OpenAI-compatible endpoint:

* base URL: `base_url=...`, else the env var `ORCHESTRA_<NAME>_BASE_URL` (e.g.
  `ORCHESTRA_LLAMA_3_3_70B_BASE_URL`), else the preset's provider default (OpenAI, Anthropic),
  else `OPENAI_BASE_URL`;
* API key: read from the env var the preset names (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, or
  `ORCHESTRA_<NAME>_API_KEY` for open models; unset means no key, as for a local `vllm serve`).

`env_kwargs` bills the agent's own tokens at its model's price (`policy_model`), as the paper
charges a baseline for its own reasoning.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from orchestra_env.agents.llm import LLMOrchestrator, resolve_backend

GENERIC_SYSTEM_PROMPT = (
    "You solve the user's task by orchestrating tools. Each turn, call exactly one tool. Some "
    "tools let you pick which model does the work; the tool descriptions list each model's "
    "strengths, its price per million tokens and its latency. Stronger models cost more: use a "
    "cheap one when it is likely enough and a strong one when the step is hard, and respect any "
    "preference the user states about cost, latency or tools. Gather evidence before answering "
    "when the answer is not certain. Think briefly, then reply with one "
    '<tool_call>{"name": ..., "arguments": {...}}</tool_call> (in a conversation you may '
    "instead speak to the user inside <message></message>)."
)

OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com/v1"  # Anthropic's OpenAI-compatible endpoint


@dataclass(frozen=True)
class BaselinePreset:
    """A named prompt-only baseline: which model to ask, where, and how to bill it."""

    name: str
    model: str  # the model name the endpoint serves
    profile: str  # profiles.json model whose price bills the agent's own tokens
    base_url: str | None = None  # provider default; None: must come from the environment
    api_key_env: str | None = None  # None: ORCHESTRA_<NAME>_API_KEY
    sampling: dict = field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 2048})

    @property
    def env_prefix(self) -> str:
        return "ORCHESTRA_" + re.sub(r"[^A-Za-z0-9]+", "_", self.name).upper().strip("_")


# The paper's baselines (main table) and the catalogue's other generalists.
PRESETS: dict[str, BaselinePreset] = {
    p.name: p
    for p in (
        # GPT-5 models take max_completion_tokens and only the default temperature.
        BaselinePreset(
            "gpt-5", "gpt-5", "gpt-5", OPENAI_URL, "OPENAI_API_KEY", {"max_completion_tokens": 8192}
        ),
        BaselinePreset(
            "gpt-5-mini",
            "gpt-5-mini",
            "gpt-5-mini",
            OPENAI_URL,
            "OPENAI_API_KEY",
            {"max_completion_tokens": 8192},
        ),
        BaselinePreset(
            "claude-opus-4.1",
            "claude-opus-4-1",
            "claude-opus-4.1",
            ANTHROPIC_URL,
            "ANTHROPIC_API_KEY",
            {"temperature": 0.0, "max_tokens": 4096},
        ),
        BaselinePreset("qwen3-8b", "Qwen/Qwen3-8B", "qwen3-8b"),
        BaselinePreset("qwen3-32b", "Qwen/Qwen3-32B", "qwen3-32b"),
        BaselinePreset("qwen3-235b-a22b", "Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b"),
        BaselinePreset("llama-3.3-70b", "meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b"),
        BaselinePreset(
            "llama-nemotron-49b", "nvidia/Llama-3_3-Nemotron-Super-49B-v1", "llama-nemotron-49b"
        ),
    )
}


def make_baseline(
    name: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    backend: Any = None,
    system_prompt: str = GENERIC_SYSTEM_PROMPT,
    sampling: dict | None = None,
    **options: Any,
) -> LLMOrchestrator:
    """The prompt-only baseline `name` over its endpoint (or over `backend` when given).

    `options` go to the `OpenAICompatBackend` (timeout_s, max_retries, max_concurrency, …), or
    to `LLMOrchestrator` for its own keys (tokenizer, render_tools, on_error).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    agent_kwargs = {
        k: options.pop(k) for k in ("tokenizer", "render_tools", "on_error") if k in options
    }
    if backend is None:
        url = (
            base_url
            or os.environ.get(f"{preset.env_prefix}_BASE_URL")
            or preset.base_url
            or os.environ.get("OPENAI_BASE_URL")
        )
        if not url:
            raise ValueError(
                f"baseline {name!r} needs an endpoint serving {preset.model}: "
                f"pass base_url=... or set {preset.env_prefix}_BASE_URL (or OPENAI_BASE_URL)"
            )
        key_env = api_key_env or preset.api_key_env or f"{preset.env_prefix}_API_KEY"
        backend = resolve_backend(
            "openai", model=model or preset.model, base_url=url, api_key_env=key_env, **options
        )
    else:
        backend = resolve_backend(backend, model=model, base_url=base_url, **options)
    agent = LLMOrchestrator(
        backend,
        system_prompt=system_prompt,
        name=name,
        **agent_kwargs,
        **{**preset.sampling, **(sampling or {})},
    )
    agent.env_kwargs = {"policy_model": preset.profile}
    return agent
