"""`OpenAICompatBackend`: chat completions over HTTP (standard library only)."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from orchestra_env import tokens
from orchestra_env.hermes import hermes_text
from orchestra_env.models.backends.base import (
    BackendConfigError,
    BackendError,
    BackendUnreachable,
    Generation,
)
from orchestra_env.models.backends.connections import HTTPHandler, HTTPSHandler, Unreachable
from orchestra_env.models.backends.wire import estimate_prompt_tokens, to_openai_messages

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


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
            raise BackendConfigError(
                f"OpenAICompatBackend needs base_url and model, got {base_url!r}, {model!r}"
            )
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
            HTTPHandler(self.connect_timeout_s),
            HTTPSHandler(self.connect_timeout_s),
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
            "messages": to_openai_messages(messages)
            if self.wire == "openai"
            else [dict(m) for m in messages],
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
        return BackendError(
            message, backend=self.kind, model=self.model, url=self.url, status=status
        )

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
            request = urllib.request.Request(
                self.url, data=data, headers=self._headers(), method="POST"
            )
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
            except (
                OSError,
                http.client.HTTPException,
            ) as e:  # timeouts, refused or dropped connections
                reason = getattr(e, "reason", e)
                status = None
                if isinstance(reason, Unreachable):
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
                backend=self.kind,
                model=self.model,
                url=self.url,
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
        message = (
            body["error"]["message"]
            if isinstance(body.get("error"), dict)
            else body.get("error", body)
        )
        return _short(message)
    except (ValueError, AttributeError, KeyError, TypeError):
        return _short(raw.decode("utf-8", "replace")) or error.reason


def _retry_after(headers, default: float, cap: float) -> float:
    try:
        return min(cap, max(0.0, float(headers.get("Retry-After"))))
    except (TypeError, ValueError):
        return default
