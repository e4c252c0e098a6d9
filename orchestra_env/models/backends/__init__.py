"""Real models behind one interface: `Backend.generate(messages, *, tools=None, **sampling)`.

Three backends, chosen by a config dict `{"backend": "openai" | "transformers" | "vllm", ...}`:

* `OpenAICompatBackend` — chat completions over HTTP (OpenAI, `vllm serve`, SGLang, any
  OpenAI-compatible server). Standard library only; retries 429/5xx/timeouts with exponential
  backoff; at most `max_concurrency` requests in flight; token counts from the reply's `usage`.
* `TransformersBackend` — in-process generation with the model's own chat template; returns the
  generated token ids (what RL trains on).
* `VLLMBackend` — in-process vLLM offline engine (`pip install -e ".[vllm]"`).

Every failure — a timeout after the retries, a 4xx, a malformed reply, a model that cannot be
loaded — raises `BackendError`, whose message names the backend, the model and (over HTTP) the
URL and status. Callers turn it into an episode-level error; nothing here crashes a run. A
server that cannot be reached at all fails fast, as `BackendUnreachable`: each connect has its
own short timeout and only `connect_tries` attempts are made.

Modules: `base` (protocol, `Generation`, errors), `wire` (the OpenAI wire format), `openai`
and `connections` (HTTP), `transformers`, `vllm`, `config` (backends from configs and files).

Tool calls come back as text in the Hermes format the env parses
(`<tool_call>{"name": …, "arguments": {…}}</tool_call>`), whichever way the server returned them
(`orchestra_env.hermes.hermes_text`).
"""

from orchestra_env.hermes import hermes_text
from orchestra_env.models.backends.base import (
    KINDS,
    Backend,
    BackendConfigError,
    BackendError,
    BackendUnreachable,
    Generation,
    MissingDependency,
)
from orchestra_env.models.backends.config import (
    backend_from_config,
    backends_from_mapping,
    load_backend_configs,
)
from orchestra_env.models.backends.openai import RETRY_STATUS, OpenAICompatBackend
from orchestra_env.models.backends.transformers import TransformersBackend
from orchestra_env.models.backends.vllm import VLLMBackend
from orchestra_env.models.backends.wire import estimate_prompt_tokens, to_openai_messages

__all__ = [
    "KINDS",
    "RETRY_STATUS",
    "Backend",
    "BackendConfigError",
    "BackendError",
    "BackendUnreachable",
    "Generation",
    "MissingDependency",
    "OpenAICompatBackend",
    "TransformersBackend",
    "VLLMBackend",
    "backend_from_config",
    "backends_from_mapping",
    "estimate_prompt_tokens",
    "hermes_text",
    "load_backend_configs",
    "to_openai_messages",
]
