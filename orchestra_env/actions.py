"""Model output → `ToolCall` | `Message` | `ParseError`. Never raises.

Accepted forms, after an optional `<think>…</think>` block:
* Hermes: `<tool_call>{"name": …, "arguments": {…}}</tool_call>` (the first *valid* call of a
  turn is executed, as Orchestrator-8B was evaluated);
* a bare JSON object `{"name": …, "arguments": {…}}`;
* OpenAI style: `arguments` as a JSON string, optionally wrapped as `{"function": {…}}`;
* `<message>…</message>` or plain text: words addressed to the user.
Arguments are validated against the tool's JSON Schema before anything runs. Hostile text — an
action over the length cap, JSON nested too deeply, integers too long for Python, NaN, strings
that are not valid UTF-8 — is a `ParseError` like any other malformed action.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestra_env.hermes import find_calls, strip_thinking
from orchestra_env.tools.spec import ToolSpec, lone_surrogate

MAX_ACTION_CHARS = 100_000  # the action space's cap: longer text is malformed, never parsed
MAX_JSON_DEPTH = 32  # nesting of arrays/objects a tool call may use (real ones use 3 or 4)

_MESSAGE = re.compile(r"<message>(.*?)(?:</message>|$)", re.DOTALL)
_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict = field(hash=False)


@dataclass(frozen=True)
class Message:
    text: str


@dataclass(frozen=True)
class ParseError:
    error: str  # one sentence naming what was wrong and where


Action = ToolCall | Message | ParseError


def parse_action(
    text: str,
    tools: Mapping[str, ToolSpec],
    *,
    allow_messages: bool = False,
    max_length: int = MAX_ACTION_CHARS,
) -> Action:
    """Parse one policy output against the tools offered this turn."""
    if not isinstance(text, str):
        return ParseError(f"action must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        return ParseError(
            f"action is {len(text):,} characters, over the action space's cap of {max_length:,}"
        )
    body = strip_thinking(text)
    if body is None:
        return ParseError("the <think> block is not closed: close it with </think> before acting")
    body = body.strip()
    blocks = find_calls(body)
    if blocks:
        first_error = None
        for block in blocks:
            result = _parse_call_json(block.strip(), tools)
            if isinstance(result, ToolCall):
                return result
            first_error = first_error or result
        return first_error
    if body.startswith("{"):
        return _parse_call_json(body, tools)
    if allow_messages:
        match = _MESSAGE.search(body)
        said = (match.group(1) if match else body).strip()
        if not said:
            return ParseError("empty message: nothing to say to the user")
        at = lone_surrogate(said)
        if at is not None:
            return ParseError(f"message has a lone surrogate at position {at}, not valid UTF-8")
        return Message(said)
    return ParseError(
        'no tool call found: answer with <tool_call>{"name": ..., "arguments": {...}}</tool_call>'
    )


def _parse_call_json(raw: str, tools: Mapping[str, ToolSpec]) -> ToolCall | ParseError:
    obj = _decode(raw, "invalid JSON in tool call", "unexpected text after the tool call's JSON")
    if isinstance(obj, ParseError):
        return obj
    if not isinstance(obj, dict):
        return ParseError(f"a tool call must be a JSON object, got {type(obj).__name__}")
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str):
        return ParseError('tool call has no "name" string')
    spec = tools.get(name)
    if spec is None:
        return ParseError(f"unknown tool {name!r}; available: {', '.join(sorted(tools))}")
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = arguments.strip()
        what = f"tool {name!r}: arguments string is not JSON"
        after = f"tool {name!r}: unexpected text after the arguments string's JSON"
        arguments = _decode(arguments, what, after) if arguments else {}
        if isinstance(arguments, ParseError):
            return arguments
    if not isinstance(arguments, dict):
        return ParseError(f"tool {name!r}: arguments must be a JSON object")
    error = spec.argument_error(arguments)
    if error is not None:
        return ParseError(f"tool {name!r}: {error}")
    return ToolCall(name, arguments)


def _decode(raw: str, invalid: str, trailing: str) -> Any:
    """The JSON value in `raw`, or a ParseError starting with `invalid` (`trailing` when text
    follows the value)."""
    try:
        value, end = _decoder.raw_decode(raw)
    except json.JSONDecodeError as e:
        return ParseError(f"{invalid} at position {e.pos}: {e.msg}")
    except RecursionError:
        return ParseError(f"{invalid}: nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError:  # int() refuses integers longer than sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        where = re.search(rf"\d{{{limit + 1}}}", raw)
        at = f" at position {where.start()}" if where else ""
        return ParseError(f"{invalid}: an integer{at} has more than {limit} digits")
    if raw[end:].strip():
        return ParseError(f"{trailing} at position {end}")
    # Counting brackets bounds the depth from above in two C-speed passes; only text with many
    # brackets pays for the walk.
    if raw.count("{") + raw.count("[") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        return ParseError(f"{invalid}: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any, level: int = 0) -> int:
    """Nesting depth of a decoded JSON value, counted no further than past MAX_JSON_DEPTH."""
    if level > MAX_JSON_DEPTH or not isinstance(value, (dict, list)):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(v, level + 1) for v in children), default=level + 1)
