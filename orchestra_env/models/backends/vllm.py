"""`VLLMBackend`: the in-process vLLM offline engine (imported only when one is constructed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from orchestra_env.models.backends.base import BackendError, Generation, require


class VLLMBackend:
    """In-process vLLM offline engine (`vllm.LLM.chat`), imported only when constructed.

    Args:
        model: a local directory or a hub id.
        max_tokens: default cap on generated tokens.
        chat_template_kwargs: extra template variables, e.g. {"enable_thinking": False}.
        engine_kwargs: passed to `vllm.LLM` (tensor_parallel_size, gpu_memory_utilization,
            max_model_len, dtype, …).
        **sampling: `vllm.SamplingParams` defaults (temperature, top_p, top_k, seed, …).
    """

    kind = "vllm"

    def __init__(
        self,
        model: str,
        *,
        max_tokens: int = 1024,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        engine_kwargs: Mapping[str, Any] | None = None,
        **sampling: Any,
    ):
        self.model_name = str(model)
        self._vllm = require("vllm", "vllm", backend=self.kind, model=self.model_name)
        try:
            self.llm = self._vllm.LLM(model=model, **dict(engine_kwargs or {}))
        except Exception as e:
            raise BackendError(
                f"could not start vLLM: {type(e).__name__}: {e}",
                backend=self.kind,
                model=self.model_name,
            ) from e
        self.max_tokens = max_tokens
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.sampling = {k: v for k, v in sampling.items() if v is not None}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VLLMBackend({self.model_name!r})"

    def __deepcopy__(self, memo):
        # A handle on a model or a server: copies (gym.make deep-copies env specs) share it.
        return self

    def generate(self, messages, *, tools=None, **sampling) -> Generation:
        options = {
            "max_tokens": self.max_tokens,
            **self.sampling,
            **{k: v for k, v in sampling.items() if v is not None},
        }
        options["max_tokens"] = options.pop("max_new_tokens", options["max_tokens"])
        start = time.perf_counter()
        try:
            params = self._vllm.SamplingParams(**options)
            with self._lock:
                outputs = self.llm.chat(
                    [dict(m) for m in messages],
                    params,
                    use_tqdm=False,
                    tools=list(tools) if tools else None,
                    chat_template_kwargs=self.chat_template_kwargs or None,
                )
            result = outputs[0]
            completion = result.outputs[0]
        except Exception as e:
            raise BackendError(
                f"generation failed: {type(e).__name__}: {e}",
                backend=self.kind,
                model=self.model_name,
            ) from e
        prompt_ids = tuple(result.prompt_token_ids or ())
        return Generation(
            text=completion.text,
            prompt_tokens=len(prompt_ids),
            completion_tokens=len(completion.token_ids),
            seconds=time.perf_counter() - start,
            token_ids=tuple(completion.token_ids),
            prompt_token_ids=prompt_ids,
            finish_reason=completion.finish_reason,
        )
