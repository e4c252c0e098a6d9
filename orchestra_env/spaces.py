"""Text spaces that hold real text: any Unicode, JSON and empty strings included.

Gymnasium's `Text` defaults to 62 alphanumeric characters with `min_length=1`, so JSON tool
calls and empty strings fail `contains()`. These subclasses keep `Text`'s batching behaviour
(vector envs batch them as tuples) but accept any string up to `max_length`; `ToolCallText`
samples valid tool calls so `check_env` and random agents really step the env.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from orchestra_env.actions import MAX_ACTION_CHARS
from orchestra_env.hermes import format_call
from orchestra_env.tools.spec import ToolSpec

_SAMPLE_CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 .,:;!?'\"{}[]()<>/-_éüñ中文€"


class UnicodeText(spaces.Text):
    """Any `str` of at most `max_length` characters (empty allowed)."""

    def __init__(
        self, max_length: int = 1_000_000, *, seed: int | np.random.Generator | None = None
    ):
        super().__init__(max_length=max_length, min_length=0, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.max_length == self.max_length


class ToolCallText(UnicodeText):
    """The action space: any text up to `max_length` characters (the env refuses longer text
    as a malformed action, unread); `sample()` returns a valid Hermes `<tool_call>`."""

    def __init__(self, tools: Sequence[ToolSpec], max_length: int = MAX_ACTION_CHARS, *, seed=None):
        super().__init__(max_length=max_length, seed=seed)
        self.tools = tuple(tools)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        spec = self.tools[int(self.np_random.integers(len(self.tools)))]
        arguments = sample_arguments(spec.parameters, self.np_random)
        return format_call(spec.name, arguments)

    def __repr__(self) -> str:
        return f"ToolCallText(tools={[t.name for t in self.tools]})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ToolCallText) and other.tools == self.tools


def sample_arguments(schema: dict, rng: np.random.Generator) -> dict:
    """Valid arguments for a JSON-Schema object of enums, strings, numbers and booleans."""
    args = {}
    for name, prop in schema.get("properties", {}).items():
        if name not in schema.get("required", ()) and rng.random() < 0.5:
            continue
        args[name] = _sample_value(prop, rng)
    return args


def _sample_value(prop: dict, rng: np.random.Generator) -> Any:
    if "enum" in prop:
        return prop["enum"][int(rng.integers(len(prop["enum"])))]
    kind = prop.get("type", "string")
    if kind == "integer":
        lo, hi = prop.get("minimum", 0), prop.get("maximum", 100)
        return int(rng.integers(lo, hi + 1))
    if kind == "number":
        return float(rng.uniform(prop.get("minimum", 0.0), prop.get("maximum", 100.0)))
    if kind == "boolean":
        return bool(rng.integers(2))
    return "".join(rng.choice(list("abcdefgh"), size=int(rng.integers(1, 9))))


def observation_space(n_preference: int, max_turns: int) -> spaces.Dict:
    """The observation: conversation, tool schemas (JSON), preference weights, budget spent."""
    message = spaces.Dict({"role": UnicodeText(32), "content": UnicodeText()})
    return spaces.Dict(
        {
            "messages": spaces.Sequence(message, stack=False),
            "tools": UnicodeText(),
            "preference": spaces.Box(0.0, 1.0, shape=(n_preference,), dtype=np.float32),
            "budget": spaces.Dict(
                {
                    "cost_usd": spaces.Box(0.0, np.inf, shape=(), dtype=np.float64),
                    "latency_s": spaces.Box(0.0, np.inf, shape=(), dtype=np.float64),
                    "turns_left": spaces.Box(0, max_turns, shape=(), dtype=np.int64),
                }
            ),
        }
    )
