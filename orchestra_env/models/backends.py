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

Tool calls come back as text in the Hermes format the env parses
(`<tool_call>{"name": …, "arguments": {…}}</tool_call>`), whichever way the server returned them.
"""

from __future__ import annotations

import http.client
import inspect
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from orchestra_env import tokens
from orchestra_env.extras import install_hint
from orchestra_env.hermes import find_calls, hermes_text, remove_calls

KINDS = ("openai", "transformers", "vllm")
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class BackendError(RuntimeError):
    """A model call (or a backend's construction) failed; the message says what and where."""

    def __init__(self, message: str, *, backend: str = "", model: str = "", url: str = "", status: int | None = None):
        where = ", ".join(
            part
            for part in (
                f"backend={backend}" if backend else "",
                f"model={model!r}" if model else "",
                f"url={url}" if url else "",
                f"status={status}" if status is not None else "",
            )
            if part
        )
        super().__init__(f"{message} [{where}]" if where else message)
        self.backend, self.model, self.url, self.status = backend, model, url, status


class BackendUnreachable(BackendError):
    """No attempt reached the server (refused, no route, unknown host, connect timeout)."""


class MissingDependency(BackendError, ImportError):
    """A backend whose optional dependency is not installed; says which extra to install."""


class BackendConfigError(ValueError):
    """A backend config (dict or file) that does not describe a backend; names the place."""


@dataclass(frozen=True)
class Generation:
    """One completion: its text, token counts, and (when the backend knows them) token ids."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # wall-clock of the call, retries included
    token_ids: tuple[int, ...] | None = None  # the completion's token ids
    prompt_token_ids: tuple[int, ...] | None = None  # the rendered prompt's token ids
    finish_reason: str | None = None
    usage_estimated: bool = False  # the server sent no `usage`: counts are Qwen-vocabulary estimates


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a chat (and optional OpenAI-format tool schemas) into a completion."""

    def generate(self, messages: Sequence[Mapping[str, Any]], *, tools: Sequence[Mapping] | None = None, **sampling) -> Generation: ...


# -- message and tool-call formats -------------------------------------------------------------

def to_openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The env's `{"role","content"}` chat in the strict OpenAI wire format.

    OpenAI-style servers reject a `tool` message that does not answer an assistant `tool_calls`
    entry. So an assistant turn holding a valid `<tool_call>` becomes a structured call (the env
    executes only the first valid one, so only that one is kept), and the tool reply that follows
    carries its id; a tool reply with nothing to answer (a malformed action's error) is sent as
    a user message. Messages already in wire format pass unchanged.
    """
    wire: list[dict] = []
    pending: str | None = None  # id of the call the next tool message answers
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role == "assistant" and "tool_calls" not in message and isinstance(content, str):
            call = _first_call(content)
            if call is not None:
                pending = f"call_{i}"
                text = remove_calls(content, unclosed=False).strip()
                wire.append({
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [{"id": pending, "type": "function", "function": {
                        "name": call["name"], "arguments": json.dumps(call.get("arguments", {}), ensure_ascii=False)}}],
                })
                continue
            pending = None
        elif role == "tool" and "tool_call_id" not in message:
            if pending is not None:
                wire.append({"role": "tool", "tool_call_id": pending, "content": content})
                pending = None
            else:
                wire.append({"role": "user", "content": f"[tool]\n{content}"})
            continue
        wire.append(dict(message))
    return wire


def _first_call(text: str) -> dict | None:
    for block in find_calls(text, unclosed=False):
        try:
            call = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(call, dict) and isinstance(call.get("name"), str) and isinstance(call.get("arguments", {}), dict):
            return call
    return None


def estimate_prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping] | None) -> int:
    """Qwen-vocabulary count of what was sent, for servers that report no `usage`."""
    texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
    if tools:
        texts.append(json.dumps(list(tools)))
    return tokens.count_all(texts)


# -- OpenAI-compatible HTTP ---------------------------------------------------------------------


class OpenAICompatBackend:
    """Chat completions over HTTP against any OpenAI-compatible server.

    Args:
        base_url: the API root, e.g. "http://localhost:8000/v1" (`vllm serve`) or
            "https://api.openai.com/v1"; "/chat/completions" is appended.
        model: the served model name sent as `model`.
        api_key_env: environment variable holding the API key (no `Authorization` header when
            it is unset: local servers need none). The key itself is never stored in configs.
        timeout_s: socket timeout of one attempt, waiting for the reply.
        connect_timeout_s: timeout of opening the connection (DNS and TCP), kept short so
            that a dead server is found out in seconds, however long replies may take.
        max_retries: further attempts after a 429, a 5xx, a timeout or a dropped connection
            (other 4xx and malformed replies are not retried: they would fail again).
        connect_tries: attempts, at most, while the server cannot be reached; then
            `BackendUnreachable` (a dead server costs about connect_tries × connect_timeout_s
            plus the backoff, not max_retries × timeout_s).
        backoff: first retry delay in seconds, doubled each attempt (capped at `max_backoff`;
            a 429's `Retry-After` wins when given).
        max_concurrency: requests in flight at once from this backend (threads beyond wait).
        wire: "openai" converts the env's chat to the strict OpenAI format (`to_openai_messages`);
            "raw" sends messages as they are.
        **sampling: defaults merged into every request body (temperature, max_tokens, top_p,
            seed, stop, and server extras such as vLLM's top_k or chat_template_kwargs).
    """

    kind = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 4,
        connect_tries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_concurrency: int = 8,
        wire: str = "openai",
        **sampling: Any,
    ):
        if not base_url or not model:
            raise BackendConfigError(f"OpenAICompatBackend needs base_url and model, got {base_url!r}, {model!r}")
        if wire not in ("openai", "raw"):
            raise BackendConfigError(f"wire must be 'openai' or 'raw', got {wire!r}")
        if max_concurrency < 1 or max_retries < 0 or connect_tries < 1:
            raise BackendConfigError(
                "max_concurrency and connect_tries must be >= 1 and max_retries >= 0, got "
                f"{max_concurrency}, {connect_tries} and {max_retries}"
            )
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise BackendConfigError(
                f"timeout_s and connect_timeout_s must be > 0, got {timeout_s}, {connect_timeout_s}"
            )
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.model, self.api_key_env, self.wire = model, api_key_env, wire
        self.timeout_s, self.max_retries = timeout_s, max_retries
        # A connect never waits longer than a whole attempt may.
        self.connect_timeout_s = min(connect_timeout_s, timeout_s)
        self.connect_tries = connect_tries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.sampling = {k: v for k, v in sampling.items() if v is not None}
        self.max_concurrency = max_concurrency
        self._connect()

    def _connect(self) -> None:
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        host = urllib.parse.urlsplit(self.url).hostname or ""
        # A local server must not be routed through the user's HTTP proxy.
        proxies = {} if host in _LOOPBACK else None
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies),
            _HTTPHandler(self.connect_timeout_s),
            _HTTPSHandler(self.connect_timeout_s),
        )

    def __getstate__(self) -> dict:
        # Picklable (vector-env workers, Ray actors): each process opens its own connections.
        return {k: v for k, v in self.__dict__.items() if k not in ("_slots", "_opener")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._connect()

    def __repr__(self) -> str:
        return f"OpenAICompatBackend({self.url!r}, model={self.model!r})"

    def __deepcopy__(self, memo):
        # A handle on a model or a server: copies (gym.make deep-copies env specs) share it.
        return self

    def generate(self, messages, *, tools=None, **sampling) -> Generation:
        body = {
            "model": self.model,
            "messages": to_openai_messages(messages) if self.wire == "openai" else [dict(m) for m in messages],
            **self.sampling,
            **{k: v for k, v in sampling.items() if v is not None},
        }
        if tools:
            body["tools"] = list(tools)
        data = json.dumps(body, ensure_ascii=False).encode()
        with self._slots:
            start = time.perf_counter()
            payload = self._post(data)
            seconds = time.perf_counter() - start
        return self._generation(payload, seconds, messages, tools)

    def _error(self, message: str, status: int | None = None) -> BackendError:
        return BackendError(message, backend=self.kind, model=self.model, url=self.url, status=status)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, data: bytes) -> Any:
        """POST with retries; the decoded JSON reply."""
        start = time.perf_counter()
        last, status, unreachable = "", None, 0
        for attempt in range(self.max_retries + 1):
            delay = min(self.max_backoff, self.backoff * 2**attempt)
            request = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
            try:
                with self._opener.open(request, timeout=self.timeout_s) as response:
                    raw = response.read()
            except urllib.error.HTTPError as e:
                detail = _error_detail(e)
                if e.code not in RETRY_STATUS:
                    raise self._error(f"HTTP {e.code}: {detail}", e.code) from None
                last = f"HTTP {e.code}: {detail}"
                delay = _retry_after(e.headers, delay, self.max_backoff)
                status = e.code
            except (OSError, http.client.HTTPException) as e:  # timeouts, refused or dropped connections
                reason = getattr(e, "reason", e)
                status = None
                if isinstance(reason, _Unreachable):
                    last, unreachable = reason.text, unreachable + 1
                    if unreachable >= self.connect_tries:
                        break
                elif isinstance(reason, TimeoutError) or "timed out" in str(reason):
                    last = f"request timed out after {self.timeout_s:g} s"
                else:
                    last = f"connection failed: {reason}"
            else:
                try:
                    return json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    raise self._error(f"malformed JSON in the reply: {raw[:200]!r}", 200) from None
            if attempt < self.max_retries:
                time.sleep(delay)
        tries = attempt + 1
        if unreachable == tries:
            counted = f"{tries} {'try' if tries == 1 else 'tries'}"
            raise BackendUnreachable(
                f"could not reach {self.base_url} after {counted} over "
                f"{time.perf_counter() - start:.1f} s: {last}",
                backend=self.kind, model=self.model, url=self.url,
            )
        raise self._error(f"gave up after {tries} attempts; last: {last}", status)

    def _generation(self, payload: Any, seconds: float, messages, tools) -> Generation:
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if isinstance(payload, dict) and "error" in payload:
                raise self._error(f"server error: {_short(payload['error'])}")
            raise self._error(f"reply has no choices: {_short(payload)}")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise self._error(f"reply's first choice has no message: {_short(choice)}")
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if content is not None and not isinstance(content, str):
            raise self._error(f"reply's message content is not text: {_short(content)}")
        tool_calls = message.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            raise self._error(f"reply's tool_calls is not a list: {_short(tool_calls)}")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        text = hermes_text(content, tool_calls, reasoning if isinstance(reasoning, str) else None)
        usage = payload.get("usage")
        counts = (usage or {}).get("prompt_tokens"), (usage or {}).get("completion_tokens")
        estimated = not all(isinstance(c, int) for c in counts)
        if estimated:  # some servers omit usage: count with the Qwen vocabulary instead
            counts = estimate_prompt_tokens(messages, tools), tokens.count(text)
        token_ids = choice.get("token_ids")
        prompt_ids = payload.get("prompt_token_ids")
        return Generation(
            text=text,
            prompt_tokens=counts[0],
            completion_tokens=counts[1],
            seconds=seconds,
            token_ids=tuple(token_ids) if isinstance(token_ids, list) else None,
            prompt_token_ids=tuple(prompt_ids) if isinstance(prompt_ids, list) else None,
            finish_reason=choice.get("finish_reason"),
            usage_estimated=estimated,
        )


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def _error_detail(error: urllib.error.HTTPError) -> str:
    """The server's own error message when it sent one (OpenAI format), else the raw body."""
    try:
        raw = error.read()
    except OSError:
        raw = b""
    try:
        body = json.loads(raw)
        message = body["error"]["message"] if isinstance(body.get("error"), dict) else body.get("error", body)
        return _short(message)
    except (ValueError, AttributeError, KeyError, TypeError):
        return _short(raw.decode("utf-8", "replace")) or error.reason


class _Unreachable(OSError):
    """Opening the connection failed: the server was never reached (told apart from a reply
    that is late or cut off, which may have reached a busy server)."""

    def __init__(self, error: OSError, connect_timeout_s: float):
        if isinstance(error, TimeoutError):
            text = f"no connection within the {connect_timeout_s:g} s connect timeout"
        else:
            reason = error.strerror or str(error)
            text = reason[:1].lower() + reason[1:]
        super().__init__(text)
        self.text = text


class _ConnectTimeout:
    """An http.client connection whose connect (DNS lookup and TCP handshake) has its own
    timeout and fails as `_Unreachable`; the socket then waits `timeout` for the reply."""

    def __init__(self, *args: Any, connect_timeout_s: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        create = self._create_connection

        def create_connection(address, timeout, source_address=None):
            try:
                sock = create(address, connect_timeout_s, source_address)
            except OSError as e:
                raise _Unreachable(e, connect_timeout_s) from e
            sock.settimeout(timeout)
            return sock

        self._create_connection = create_connection


class _HTTPConnection(_ConnectTimeout, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ConnectTimeout, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_timeout_s: float):
        super().__init__()
        self.connect_timeout_s = connect_timeout_s

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, connect_timeout_s=self.connect_timeout_s)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connect_timeout_s: float):
        super().__init__()
        self.connect_timeout_s = connect_timeout_s

    def https_open(self, req):
        return self.do_open(
            _HTTPSConnection, req, context=self._context, connect_timeout_s=self.connect_timeout_s
        )


def _retry_after(headers, default: float, cap: float) -> float:
    try:
        return min(cap, max(0.0, float(headers.get("Retry-After"))))
    except (TypeError, ValueError):
        return default


# -- in-process transformers ------------------------------------------------------------------


def _require(module: str, extra: str, *, backend: str, model: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependency(
            f"the {backend} backend needs {module}: {install_hint(extra)} ({e})",
            backend=backend,
            model=model,
        ) from e


class TransformersBackend:
    """In-process generation with Hugging Face transformers and the model's own chat template.

    The prompt is `tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True)`
    — exactly what the model was trained to read — and the generated token ids are returned, so
    a trainer can use them without re-tokenising the text.

    Args:
        model_path_or_id: a local directory or a hub id (the hub needs network the first time).
        device: torch device ("cpu", "cuda", "cuda:1").
        dtype: "auto", "bfloat16", "float16", "float32" or a torch dtype (None: the checkpoint's).
        max_new_tokens: default cap on generated tokens (per call: `max_tokens` or `max_new_tokens`).
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
        self.torch = _require("torch", "train", backend=self.kind, model=self.model_name)
        transformers = _require("transformers", "train", backend=self.kind, model=self.model_name)
        try:
            if tokenizer is None:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    model_path_or_id, trust_remote_code=trust_remote_code
                )
            if model is None:
                kwargs = {"trust_remote_code": trust_remote_code}
                if dtype is not None:
                    # transformers < 4.56 calls it torch_dtype
                    key = "dtype" if _version(transformers.__version__) >= (4, 56) else "torch_dtype"
                    kwargs[key] = dtype if not isinstance(dtype, str) or dtype == "auto" else getattr(self.torch, dtype)
                model = transformers.AutoModelForCausalLM.from_pretrained(model_path_or_id, **kwargs).to(device)
        except Exception as e:  # a missing path, no network, a bad checkpoint: say which model
            raise BackendError(f"could not load {self.model_name!r}: {type(e).__name__}: {e}", backend=self.kind, model=self.model_name) from e
        if getattr(tokenizer, "chat_template", None) is None:
            raise BackendError("the tokenizer has no chat template", backend=self.kind, model=self.model_name)
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
            raise BackendError(f"generation failed: {type(e).__name__}: {e}", backend=self.kind, model=self.model_name) from e
        completion = output[0, len(prompt):].tolist()
        text = self.tokenizer.decode(completion, skip_special_tokens=True)
        eos = _as_set(self.model.generation_config.eos_token_id) | _as_set(self.tokenizer.eos_token_id)
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
            "max_new_tokens": int(options.get("max_tokens", options.get("max_new_tokens", self.max_new_tokens))),
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


# -- in-process vLLM --------------------------------------------------------------------------


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
        self._vllm = _require("vllm", "vllm", backend=self.kind, model=self.model_name)
        try:
            self.llm = self._vllm.LLM(model=model, **dict(engine_kwargs or {}))
        except Exception as e:
            raise BackendError(f"could not start vLLM: {type(e).__name__}: {e}", backend=self.kind, model=self.model_name) from e
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
        options = {"max_tokens": self.max_tokens, **self.sampling, **{k: v for k, v in sampling.items() if v is not None}}
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
            raise BackendError(f"generation failed: {type(e).__name__}: {e}", backend=self.kind, model=self.model_name) from e
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


# -- configuration ----------------------------------------------------------------------------

_CLASSES = {"openai": OpenAICompatBackend, "transformers": TransformersBackend, "vllm": VLLMBackend}
# Each backend's required positional argument, with the config keys accepted for it.
_MODEL_KEY = {"openai": ("model",), "transformers": ("model_path_or_id", "model_path", "model"), "vllm": ("model", "model_path")}


def backend_from_config(config: Mapping[str, Any], *, source: str = "backend config") -> Backend:
    """Build a backend from `{"backend": "openai" | "transformers" | "vllm", ...}`.

    The other keys are the backend's constructor arguments; sampling defaults may sit at the
    top level or under "sampling". The model may be given as "model" (or "model_path").
    """
    if not isinstance(config, Mapping):
        raise BackendConfigError(f"{source}: expected a mapping with a 'backend' key, got {type(config).__name__}")
    options = dict(config)
    kind = options.pop("backend", None)
    if kind not in _CLASSES:
        raise BackendConfigError(f"{source}: 'backend' must be one of {', '.join(KINDS)}, got {kind!r}")
    options.update(options.pop("sampling", None) or {})
    for key in _MODEL_KEY[kind][1:]:
        if key in options and _MODEL_KEY[kind][0] not in options:
            options[_MODEL_KEY[kind][0]] = options.pop(key)
    cls = _CLASSES[kind]
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as e:
        raise BackendConfigError(f"{source}: {e} for backend {kind!r} (keys: {sorted(options)})") from None
    return cls(**options)


def load_backend_configs(path: str | os.PathLike) -> dict[str, dict]:
    """A mapping {alias or model: backend config} from a JSON or YAML (.yaml/.yml) file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise BackendConfigError(f"{path}: cannot read the backends file: {e}") from e
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as e:
            raise BackendConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), or use JSON") from e
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise BackendConfigError(f"{path}: invalid YAML: {e}") from e
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise BackendConfigError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
    if not isinstance(data, Mapping) or not all(isinstance(v, Mapping) for v in data.values()):
        raise BackendConfigError(f"{path}: expected a mapping {{alias: {{'backend': ..., ...}}}}")
    return {str(k): dict(v) for k, v in data.items()}


def backends_from_mapping(mapping: Mapping[str, Any] | str | os.PathLike, *, source: str = "expert_backends") -> dict[str, Backend]:
    """{key: Backend} from {key: config or Backend}, or from a JSON/YAML file of configs.

    Keys sharing an identical config share one backend instance (one model load, one
    connection limit per endpoint).
    """
    if isinstance(mapping, (str, os.PathLike)):
        source = str(mapping)
        mapping = load_backend_configs(mapping)
    if not isinstance(mapping, Mapping):
        raise BackendConfigError(f"{source}: expected a mapping {{alias: config}} or a file path, got {type(mapping).__name__}")
    built: dict[str, Backend] = {}
    shared: dict[str, Backend] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            canonical = json.dumps(value, sort_keys=True, default=str)
            if canonical not in shared:
                shared[canonical] = backend_from_config(value, source=f"{source}[{key!r}]")
            built[str(key)] = shared[canonical]
        elif callable(getattr(value, "generate", None)):
            built[str(key)] = value
        else:
            raise BackendConfigError(f"{source}[{key!r}]: expected a backend config mapping or a Backend, got {type(value).__name__}")
    return built
