"""`TransformersBackend`: in-process generation with Hugging Face transformers (imported only
when one is constructed)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from orchestra_env.models.backends.base import BackendError, Generation, require


class TransformersBackend:
    """In-process generation with Hugging Face transformers and the model's own chat template.

    The prompt is `tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True)`
    — exactly what the model was trained to read — and the generated token ids are returned, so
    a trainer can use them without re-tokenising the text.

    Args:
        model_path_or_id: a local directory or a hub id (the hub needs network the first time).
        device: torch device ("cpu", "cuda", "cuda:1").
        dtype: "auto", "bfloat16", "float16", "float32" or a torch dtype (None: the checkpoint's).
        max_new_tokens: default cap on generated tokens (per call: `max_tokens` or
            `max_new_tokens`).
        chat_template_kwargs: extra template variables, e.g. {"enable_thinking": False} for Qwen3.
        **sampling: generation defaults: temperature (0 = greedy), top_p, top_k, seed.
    """

    kind = "transformers"

    def __init__(
        self,
        model_path_or_id: str,
        *,
        device: str = "cpu",
        dtype: Any = None,
        max_new_tokens: int = 1024,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        trust_remote_code: bool = False,
        model_object: Any = None,
        tokenizer_object: Any = None,
        **sampling: Any,
    ):
        model, tokenizer = model_object, tokenizer_object
        self.model_name = str(model_path_or_id)
        self.torch = require("torch", "train", backend=self.kind, model=self.model_name)
        transformers = require("transformers", "train", backend=self.kind, model=self.model_name)
        try:
            if tokenizer is None:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    model_path_or_id, trust_remote_code=trust_remote_code
                )
            if model is None:
                kwargs = {"trust_remote_code": trust_remote_code}
                if dtype is not None:
                    # transformers < 4.56 calls it torch_dtype
                    key = (
                        "dtype" if _version(transformers.__version__) >= (4, 56) else "torch_dtype"
                    )
                    kwargs[key] = (
                        dtype
                        if not isinstance(dtype, str) or dtype == "auto"
                        else getattr(self.torch, dtype)
                    )
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    model_path_or_id, **kwargs
                ).to(device)
        except Exception as e:  # a missing path, no network, a bad checkpoint: say which model
            raise BackendError(
                f"could not load {self.model_name!r}: {type(e).__name__}: {e}",
                backend=self.kind,
                model=self.model_name,
            ) from e
        if getattr(tokenizer, "chat_template", None) is None:
            raise BackendError(
                "the tokenizer has no chat template", backend=self.kind, model=self.model_name
            )
        self.model, self.tokenizer = model.eval(), tokenizer
        self.device = next(model.parameters()).device
        self.max_new_tokens = max_new_tokens
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.sampling = {k: v for k, v in sampling.items() if v is not None}
        self._lock = threading.Lock()  # one generate at a time on a shared model

    @classmethod
    def from_objects(cls, model: Any, tokenizer: Any, **kwargs: Any) -> TransformersBackend:
        """Wrap an already-loaded model and tokenizer (e.g. the one a trainer is updating)."""
        name = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        return cls(name, model_object=model, tokenizer_object=tokenizer, **kwargs)

    def __repr__(self) -> str:
        return f"TransformersBackend({self.model_name!r}, device={str(self.device)!r})"

    def __deepcopy__(self, memo):
        # A handle on a model or a server: copies (gym.make deep-copies env specs) share it.
        return self

    def prompt_ids(self, messages, tools=None) -> list[int]:
        """Token ids of the rendered prompt (chat template, tools, generation prompt)."""
        encoded = self.tokenizer.apply_chat_template(
            [dict(m) for m in messages],
            tools=list(tools) if tools else None,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            **self.chat_template_kwargs,
        )
        ids = encoded["input_ids"]
        return list(ids[0] if ids and isinstance(ids[0], list) else ids)

    def generate(self, messages, *, tools=None, **sampling) -> Generation:
        start = time.perf_counter()
        options = {**self.sampling, **{k: v for k, v in sampling.items() if v is not None}}
        try:
            prompt = self.prompt_ids(messages, tools)
            kwargs = self._generate_kwargs(options)
            torch = self.torch
            with self._lock, torch.no_grad():
                if "seed" in options:
                    torch.manual_seed(int(options["seed"]))
                input_ids = torch.tensor([prompt], device=self.device)
                output = self.model.generate(
                    input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs
                )
        except BackendError:
            raise
        except Exception as e:  # e.g. a prompt longer than the model's context, out of memory
            raise BackendError(
                f"generation failed: {type(e).__name__}: {e}",
                backend=self.kind,
                model=self.model_name,
            ) from e
        completion = output[0, len(prompt) :].tolist()
        text = self.tokenizer.decode(completion, skip_special_tokens=True)
        eos = _as_set(self.model.generation_config.eos_token_id) | _as_set(
            self.tokenizer.eos_token_id
        )
        finish = "stop" if completion and completion[-1] in eos else "length"
        return Generation(
            text=text,
            prompt_tokens=len(prompt),
            completion_tokens=len(completion),
            seconds=time.perf_counter() - start,
            token_ids=tuple(completion),
            prompt_token_ids=tuple(prompt),
            finish_reason=finish,
        )

    def _generate_kwargs(self, options: Mapping[str, Any]) -> dict:
        kwargs: dict[str, Any] = {
            "max_new_tokens": int(
                options.get("max_tokens", options.get("max_new_tokens", self.max_new_tokens))
            ),
        }
        pad = self.tokenizer.pad_token_id
        kwargs["pad_token_id"] = pad if pad is not None else self.tokenizer.eos_token_id
        temperature = options.get("temperature")
        if temperature is not None:
            kwargs["do_sample"] = temperature > 0
            if temperature > 0:
                kwargs["temperature"] = float(temperature)
        for key in ("top_p", "top_k", "repetition_penalty"):
            if key in options:
                kwargs[key] = options[key]
        return kwargs


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def _as_set(value) -> set[int]:
    if value is None:
        return set()
    return set(value) if isinstance(value, (list, tuple, set)) else {value}
