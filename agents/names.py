"""Every LLM agent by name: the generic `LLMOrchestrator`, Orchestrator-8B and the prompt-only
baselines of the paper (`prompted.PRESETS`)."""

from __future__ import annotations

from typing import Any

from orchestra_env.agents.llm import LLMOrchestrator, resolve_backend
from orchestra_env.agents.orchestrator8b import Orchestrator8B
from orchestra_env.agents.prompted import PRESETS, make_baseline


def llm_agent_names() -> list[str]:
    """Every name `make_llm_agent` knows."""
    return ["llm", "orchestrator-8b", *PRESETS]


def make_llm_agent(name: str, /, **kwargs: Any) -> LLMOrchestrator:
    """An LLM agent by name.

    * "orchestrator-8b": `Orchestrator8B` (kwargs: backend="transformers" | "vllm" | "openai",
      model_path=..., base_url=..., plus sampling);
    * "llm": a generic `LLMOrchestrator` (kwargs: backend=Backend | config | kind, model=...,
      name=..., base_url=..., system_prompt=...);
    * a prompt-only baseline preset ("gpt-5", "qwen3-8b", "llama-3.3-70b", …; see
      `orchestra_env.agents.prompted.PRESETS`): needs only an endpoint.
    """
    if name == "orchestrator-8b":
        return Orchestrator8B.load(**kwargs)
    if name == "llm":
        agent_keys = ("tokenizer", "render_tools", "system_prompt", "name", "on_error")
        agent_kwargs = {k: kwargs.pop(k) for k in agent_keys if k in kwargs}
        sampling = kwargs.pop("sampling", None) or {}
        return LLMOrchestrator(
            resolve_backend(kwargs.pop("backend", None), **kwargs), **agent_kwargs, **sampling
        )
    if name in PRESETS:
        return make_baseline(name, **kwargs)
    raise ValueError(f"unknown LLM agent {name!r}; known: {', '.join(llm_agent_names())}")
