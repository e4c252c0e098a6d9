"""NVIDIA's released orchestrator, `nvidia/Nemotron-Orchestrator-8B`, as an agent.

The model is a Qwen3-8B fine-tune: it reads the Qwen3 chat template with the tool schemas in
`<tools>…</tools>`, thinks in `<think>…</think>` and calls one tool as Hermes
`<tool_call>{"name": …, "arguments": {…}}</tool_call>` — exactly the action format the env
parses. For question answering it was trained on a prompt rebuilt every turn, which the env
produces with `render="toolorchestra"` (in `Orchestrator8B.env_kwargs`); conversations use the
plain chat. No system prompt is added: the env's is the one the model was trained with.

Load it in process (transformers or vLLM, from a hub id or a local path) or point it at a
server (`vllm serve nvidia/Nemotron-Orchestrator-8B --enable-auto-tool-choice
--tool-call-parser hermes`); see docs/live.md.
"""

from __future__ import annotations

from typing import Any

from orchestra_env.agents.llm import LLMOrchestrator, resolve_backend
from orchestra_env.models.backends import Backend

MODEL_ID = "nvidia/Nemotron-Orchestrator-8B"
# Qwen3's recommended sampling in thinking mode (the released model keeps Qwen3's template).
SAMPLING = {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "max_tokens": 4096}


class Orchestrator8B(LLMOrchestrator):
    """`LLMOrchestrator` preset for Nemotron-Orchestrator-8B (tools rendered by the template)."""

    env_kwargs = {"render": "toolorchestra", "policy_model": "qwen3-8b"}

    def __init__(self, backend: Backend, *, name: str = "orchestrator-8b", **kwargs: Any):
        kwargs.setdefault("render_tools", True)
        super().__init__(backend, name=name, **{**SAMPLING, **kwargs})

    @classmethod
    def load(
        cls,
        model_path: str | None = None,
        *,
        backend: Backend | str | dict | None = None,
        base_url: str | None = None,
        name: str = "orchestrator-8b",
        tokenizer: Any = None,
        sampling: dict | None = None,
        **backend_options: Any,
    ) -> Orchestrator8B:
        """The agent over a backend built for the model.

        Args:
            model_path: hub id or local directory (default `MODEL_ID`); for an endpoint, the
                served model name.
            backend: "transformers" (default), "vllm", "openai" (an endpoint; the default when
                `base_url` is given), a backend config dict, or a `Backend`.
            base_url: the endpoint, e.g. "http://localhost:8000/v1".
            sampling: overrides of `SAMPLING`.
            **backend_options: the backend's own options (device, dtype, engine_kwargs,
                api_key_env, timeout_s, max_concurrency, …).
        """
        built = resolve_backend(
            backend, model=model_path or MODEL_ID, base_url=base_url, **backend_options
        )
        return cls(built, name=name, tokenizer=tokenizer, **(sampling or {}))
