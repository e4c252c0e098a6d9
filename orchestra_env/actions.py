"""Model output → `ToolCall` | `Message` | `ParseError`. Never raises.

Accepted forms, after an optional `<think>…</think>` block:
* Hermes: `<tool_call>{"name": …, "arguments": {…}}</tool_call>` (the first *valid* call of a
  turn is executed, as Orchestrator-8B was evaluated);
* a bare JSON object `{"name": …, "arguments": {…}}`;
* OpenAI style: `arguments` as a JSON string, optionally wrapped as `{"function": {…}}`;
* `<message>…</message>` or plain text: words addressed to the user.
Arguments are validated against the tool's JSON Schema before anything runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestra_env.tools.spec import ToolSpec

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
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


def strip_thinking(text: str) -> str:
    """Drop reasoning: everything up to the last `</think>` (Qwen3 may omit the opening tag)."""
    end = text.rfind("</think>")
    return text[end + len("</think>") :] if end >= 0 else text


def parse_action(text: str, tools: Mapping[str, ToolSpec], *, allow_messages: bool = False) -> Action:
    """Parse one policy output against the tools offered this turn."""
    if not isinstance(text, str):
        return ParseError(f"action must be a string, got {type(text).__name__}")
    body = strip_thinking(text).strip()
    blocks = _TOOL_CALL.findall(body)
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
        return Message(said) if said else ParseError("empty message: nothing to say to the user")
    return ParseError(
        "no tool call found: answer with <tool_call>{\"name\": ..., \"arguments\": {...}}</tool_call>"
    )


def _parse_call_json(raw: str, tools: Mapping[str, ToolSpec]) -> ToolCall | ParseError:
    try:
        obj, end = _decoder.raw_decode(raw)
    except json.JSONDecodeError as e:
        return ParseError(f"invalid JSON in tool call at position {e.pos}: {e.msg}")
    if raw[end:].strip():
        return ParseError(f"unexpected text after the tool call's JSON at position {end}")
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
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as e:
            return ParseError(f"tool {name!r}: arguments string is not JSON at position {e.pos}: {e.msg}")
    if not isinstance(arguments, dict):
        return ParseError(f"tool {name!r}: arguments must be a JSON object")
    error = spec.argument_error(arguments)
    if error is not None:
        return ParseError(f"tool {name!r}: {error}")
    return ToolCall(name, arguments)
