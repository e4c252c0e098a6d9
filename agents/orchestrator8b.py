"""NVIDIA's released orchestrator, `nvidia/Nemotron-Orchestrator-8B`, as an agent.

The model is a Qwen3-8B fine-tune: it reads the Qwen3 chat template with the tool schemas in
`<tools>…</tools>`, thinks in `<think>…</think>` and calls one tool as Hermes
`<tool_call>{"name": …, "arguments": {…}}</tool_call>` — exactly the action format the env
parses. It only behaves as reported on the prompts it was trained on, so the agent asks for
`render="orchestrator-8b"` (in `Orchestrator8B.env_kwargs`): the released question-answering
prompt rebuilt every turn, the released tool schemas and function-calling system prompt, and
transparent expert turns (see `orchestra_env.render_o8b`). No system prompt is added: the
env's is the one the model was trained with. The sampling defaults are the paper's evaluation
(temperature 1.0, no nucleus cut; top-k is left to the backend).

Load it in process (transformers or vLLM, from a hub id or a local path) or point it at a
server (`vllm serve nvidia/Nemotron-Orchestrator-8B --enable-auto-tool-choice
--tool-call-parser hermes`); see docs/live.md.
"""

from __future__ import annotations

from typing import Any

from orchestra_env.agents.llm import LLMOrchestrator, resolve_backend
from orchestra_env.models.backends import Backend

MODEL_ID = "nvidia/Nemotron-Orchestrator-8B"
# The paper's evaluation sampling. top_p is explicit because the checkpoint's generation config
# (Qwen3's) would otherwise apply 0.95 under transformers.
SAMPLING = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 4096}


class Orchestrator8B(LLMOrchestrator):
    """`LLMOrchestrator` preset for Nemotron-Orchestrator-8B (tools rendered by the template)."""

    env_kwargs = {"render": "orchestrator-8b", "policy_model": "qwen3-8b"}

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
