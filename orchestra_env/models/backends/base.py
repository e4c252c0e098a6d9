"""What every backend shares: the `Backend` protocol, the `Generation` it returns, the errors
it raises, and the lazy import of a backend's optional dependency."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from orchestra_env.extras import install_hint

KINDS = ("openai", "transformers", "vllm")


class BackendError(RuntimeError):
    """A model call (or a backend's construction) failed; the message says what and where."""

    def __init__(
        self,
        message: str,
        *,
        backend: str = "",
        model: str = "",
        url: str = "",
        status: int | None = None,
    ):
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
    usage_estimated: bool = (
        False  # the server sent no `usage`: counts are Qwen-vocabulary estimates
    )


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a chat (and optional OpenAI-format tool schemas) into a completion."""

    def generate(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping] | None = None,
        **sampling,
    ) -> Generation: ...


def require(module: str, extra: str, *, backend: str, model: str) -> Any:
    """Import a backend's optional dependency when the backend is built, or say what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependency(
            f"the {backend} backend needs {module}: {install_hint(extra)} ({e})",
            backend=backend,
            model=model,
        ) from e
