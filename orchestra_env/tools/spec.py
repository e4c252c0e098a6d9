"""A tool as the policy sees it: name, description (prices included) and JSON-Schema arguments."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import jsonschema

# One encoder for every cache key (json.dumps builds a new one per call when given options).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False)
_INT64 = range(-(2**63), 2**63)  # what SQLite (the domains' databases) can bind
_LONG_DIGITS = re.compile(r"\d{19}")  # a run this long is needed to leave _INT64


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict = field(hash=False)  # JSON Schema of the arguments object

    @cached_property
    def validator(self) -> jsonschema.protocols.Validator:
        """The compiled argument validator (built once per spec)."""
        return jsonschema.Draft202012Validator(self.parameters)

    def __getstate__(self) -> dict:
        # The compiled validator does not pickle (vector envs and Ray ship spaces between
        # processes); it is rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k != "validator"}

    def argument_error(self, arguments: dict) -> str | None:
        """Why `arguments` do not fit the schema (naming the argument), or None if they do.

        Values no tool can take are errors too: NaN and ±Infinity (Python's json reads them),
        strings with lone surrogates (they have no UTF-8) and integers outside 64 bits.
        """
        try:  # the canonical text is the cache key; writing it finds NaN for free
            canonical = _CANONICAL.encode(arguments)
        except ValueError:  # NaN or ±Infinity (or a Python caller's int over 4,300 digits)
            return _unusable(arguments) or "arguments cannot be written as JSON"
        if lone_surrogate(canonical) is not None:
            return _unusable(arguments)
        return self._argument_error(canonical)

    @lru_cache(maxsize=4096)  # noqa: B019 (specs live as long as their env; arguments repeat a lot)
    def _argument_error(self, canonical: str) -> str | None:
        arguments = json.loads(canonical)
        if _LONG_DIGITS.search(canonical) and (problem := _unusable(arguments)):
            return problem
        error = next(iter(self.validator.iter_errors(arguments)), None)
        if error is None:
            return None
        return f"{_place(error.absolute_path)}: {error.message}"

    def openai(self) -> dict:
        """The OpenAI / Hermes function-tool format that chat templates take."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def tools_json(specs: tuple[ToolSpec, ...]) -> str:
    """The observation's `tools` field: a JSON list of the specs in OpenAI format."""
    return json.dumps([s.openai() for s in specs], ensure_ascii=False)


def _place(path: Any) -> str:
    where = "/".join(str(p) for p in path)
    return f"argument {where!r}" if where else "arguments"


def _unusable(arguments: dict) -> str | None:
    """What is wrong with the first value (or key) in `arguments` that no tool can take, named
    by its path; None if there is none."""
    for path, value in _leaves(arguments, ()):
        if isinstance(value, float) and not math.isfinite(value):
            return f"{_place(path)}: {json.dumps(value)} is not a finite number"
        if isinstance(value, int) and value not in _INT64:  # not echoed: str() may refuse it
            return f"{_place(path)}: integer out of range (tools take -2**63 to 2**63 - 1)"
        if isinstance(value, str) and (at := lone_surrogate(value)) is not None:
            return f"{_place(path)}: lone surrogate at position {at}, not valid UTF-8"
    return None


def lone_surrogate(text: str) -> int | None:
    """Where `text` holds a lone surrogate (a code point with no UTF-8: tokenizers and SQLite
    refuse it), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    return None


def _leaves(value: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of every key and scalar in a decoded JSON value, depth first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key), key
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, (*path, i))
    else:
        yield path, value
