"""The env's chat in the strict OpenAI wire format, and a prompt's token estimate."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from orchestra_env import tokens
from orchestra_env.hermes import find_calls, remove_calls


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
                wire.append(
                    {
                        "role": "assistant",
                        "content": text or None,
                        "tool_calls": [
                            {
                                "id": pending,
                                "type": "function",
                                "function": {
                                    "name": call["name"],
                                    "arguments": json.dumps(
                                        call.get("arguments", {}), ensure_ascii=False
                                    ),
                                },
                            }
                        ],
                    }
                )
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
        if (
            isinstance(call, dict)
            and isinstance(call.get("name"), str)
            and isinstance(call.get("arguments", {}), dict)
        ):
            return call
    return None


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping] | None
) -> int:
    """Qwen-vocabulary count of what was sent, for servers that report no `usage`."""
    texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
    if tools:
        texts.append(json.dumps(list(tools)))
    return tokens.count_all(texts)
