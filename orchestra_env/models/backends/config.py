"""Backends from config dicts or JSON/YAML files: `{"backend": "openai" | ..., ...}`."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestra_env.models.backends.base import KINDS, Backend, BackendConfigError
from orchestra_env.models.backends.openai import OpenAICompatBackend
from orchestra_env.models.backends.transformers import TransformersBackend
from orchestra_env.models.backends.vllm import VLLMBackend

_CLASSES = {"openai": OpenAICompatBackend, "transformers": TransformersBackend, "vllm": VLLMBackend}
# Each backend's required positional argument, with the config keys accepted for it.
_MODEL_KEY = {
    "openai": ("model",),
    "transformers": ("model_path_or_id", "model_path", "model"),
    "vllm": ("model", "model_path"),
}


def backend_from_config(config: Mapping[str, Any], *, source: str = "backend config") -> Backend:
    """Build a backend from `{"backend": "openai" | "transformers" | "vllm", ...}`.

    The other keys are the backend's constructor arguments; sampling defaults may sit at the
    top level or under "sampling". The model may be given as "model" (or "model_path").
    """
    if not isinstance(config, Mapping):
        raise BackendConfigError(
            f"{source}: expected a mapping with a 'backend' key, got {type(config).__name__}"
        )
    options = dict(config)
    kind = options.pop("backend", None)
    if kind not in _CLASSES:
        raise BackendConfigError(
            f"{source}: 'backend' must be one of {', '.join(KINDS)}, got {kind!r}"
        )
    options.update(options.pop("sampling", None) or {})
    for key in _MODEL_KEY[kind][1:]:
        if key in options and _MODEL_KEY[kind][0] not in options:
            options[_MODEL_KEY[kind][0]] = options.pop(key)
    cls = _CLASSES[kind]
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as e:
        raise BackendConfigError(
            f"{source}: {e} for backend {kind!r} (keys: {sorted(options)})"
        ) from None
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
            raise BackendConfigError(
                f"{path}: reading YAML needs PyYAML (pip install pyyaml), or use JSON"
            ) from e
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise BackendConfigError(f"{path}: invalid YAML: {e}") from e
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise BackendConfigError(
                f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
            ) from e
    if not isinstance(data, Mapping) or not all(isinstance(v, Mapping) for v in data.values()):
        raise BackendConfigError(f"{path}: expected a mapping {{alias: {{'backend': ..., ...}}}}")
    return {str(k): dict(v) for k, v in data.items()}


def backends_from_mapping(
    mapping: Mapping[str, Any] | str | os.PathLike, *, source: str = "expert_backends"
) -> dict[str, Backend]:
    """{key: Backend} from {key: config or Backend}, or from a JSON/YAML file of configs.

    Keys sharing an identical config share one backend instance (one model load, one
    connection limit per endpoint).
    """
    if isinstance(mapping, (str, os.PathLike)):
        source = str(mapping)
        mapping = load_backend_configs(mapping)
    if not isinstance(mapping, Mapping):
        raise BackendConfigError(
            f"{source}: expected a mapping {{alias: config}} or a file path, "
            f"got {type(mapping).__name__}"
        )
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
            raise BackendConfigError(
                f"{source}[{key!r}]: expected a backend config mapping or a Backend, "
                f"got {type(value).__name__}"
            )
    return built
