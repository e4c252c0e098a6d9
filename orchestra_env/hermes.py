"""The Hermes tool-call text format (Qwen3's chat template), read and written in one place.

A call is `<tool_call>{"name": …, "arguments": {…}}</tool_call>`; reasoning comes first inside
`<think>…</think>`. The env parses policy text with `strip_thinking` and `find_calls`; agents,
oracles, routers and backends write calls with `format_call` (and `hermes_text` for a whole
reply). A leaf module: it imports nothing of the package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

OPEN, CLOSE = "<tool_call>", "</tool_call>"

# Non-greedy, so several calls in one turn stay separate blocks.
_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
# As `_CALL`, and a final block whose closing tag is missing counts too (generation stopped at
# the stop string): the env executes such a call.
_CALL_OR_UNCLOSED = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)


def format_call(
    name: Any, arguments: Any, *, ensure_ascii: bool = False, padded: bool = False
) -> str:
    """One call as Hermes text. `ensure_ascii` escapes non-ASCII characters as json.dumps does;
    `padded` puts the JSON on its own line, as the Qwen3 chat template writes it."""
    call_json = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=ensure_ascii)
    return f"{OPEN}\n{call_json}\n{CLOSE}" if padded else f"{OPEN}{call_json}{CLOSE}"


def find_calls(text: str, *, unclosed: bool = True) -> list[str]:
    """The raw text between the tags of each `<tool_call>` block, in order (unstripped).

    With `unclosed`, an unclosed final block counts as a call, as the env reads it."""
    return (_CALL_OR_UNCLOSED if unclosed else _CALL).findall(text)


def remove_calls(text: str, *, unclosed: bool = True) -> str:
    """`text` without its `<tool_call>` blocks (the blocks `find_calls` finds)."""
    return (_CALL_OR_UNCLOSED if unclosed else _CALL).sub("", text)


def strip_thinking(text: str) -> str | None:
    """Drop reasoning: everything up to the last `</think>` (Qwen3 may omit the opening tag).

    None when a `<think>` is still open at the end: the text after it is reasoning, and a tool
    call written there must not run.
    """
    end = text.rfind("</think>")
    rest = text[end + len("</think>") :] if end >= 0 else text
    return None if "<think>" in rest else rest


def hermes_text(
    content: str | None, tool_calls: Sequence[Mapping] = (), reasoning: str | None = None
) -> str:
    """A reply as the text a Hermes-format model writes: `<think>` reasoning, content, calls.

    Servers that parse tool calls (vLLM's `hermes` parser, OpenAI) return them as structured
    `tool_calls`; the env reads text, so they are written back in the Qwen3 template's format.
    """
    parts = [f"<think>\n{reasoning.strip()}\n</think>\n\n" if reasoning else "", content or ""]
    for call in tool_calls:
        function = call.get("function", call) if isinstance(call, Mapping) else {}
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                pass  # kept as a string: the env reports the bad JSON to the policy
        block = format_call(function.get("name"), arguments, padded=True)
        parts.append(("\n" if parts[-1] else "") + block)
    return "".join(parts)
