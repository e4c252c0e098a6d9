"""Hostile actions on every registered env: `step` never raises, the observation stays in the
observation space, and text that cannot be a valid action is a format error.

The generators: JSON nested thousands deep, integers over Python's 4,300-digit limit or outside
64 bits, lone surrogates, NaN and Infinity, megabyte strings, random Unicode, and well-formed
calls to each tool the episode offers with one hostile argument value.
"""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_env import ENV_FAMILIES
from orchestra_env.actions import MAX_ACTION_CHARS
from orchestra_env.spaces import sample_arguments

ENV_IDS = sorted(ENV_FAMILIES)


@pytest.fixture(scope="module")
def envs():
    """Each env built once for the module (domains take seconds); every example resets it."""
    made = {env_id: gym.make(env_id) for env_id in ENV_IDS}
    yield made
    for env in made.values():
        env.close()


# -- JSON value texts no tool call may carry ---------------------------------------------------

_deep = st.builds(
    lambda opener, n, closed: opener * n + ("]" * n if closed and opener == "[" else ""),
    st.sampled_from(["[", '{"a": ']),
    st.integers(1_000, 20_000),
    st.booleans(),
)
_huge_int = st.builds(
    lambda sign, n: sign + "7" * n, st.sampled_from(["", "-"]), st.integers(4_301, 12_000)
)
_wide_int = st.one_of(st.integers(2**63, 10**300), st.integers(-(10**300), -(2**63) - 1)).map(str)
_non_finite = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
_surrogate = st.builds(
    lambda head, lone, ascii_only: json.dumps(head + lone, ensure_ascii=ascii_only),
    st.text(max_size=5),
    st.characters(categories=["Cs"]),
    st.booleans(),  # escaped as \udXXX in the JSON text, or the raw code point
)
UNCARRIABLE = st.one_of(_deep, _huge_int, _wide_int, _non_finite, _surrogate)

# -- JSON value texts that are odd but legal (the tool may accept or refuse them) ----------------

_long_text = st.builds(
    lambda chunk, n: (chunk + " ") * n, st.text(max_size=9), st.integers(100, 9_000)
)
ODD = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    _long_text,
    st.sampled_from(["'; DROP TABLE accounts; --", "\x00", "", "%s%n", "{}", "</tool_call>"]),
    st.lists(st.integers(), max_size=3),
).map(json.dumps)


def _offered(obs: dict) -> dict[str, dict]:
    return {t["function"]["name"]: t["function"]["parameters"] for t in json.loads(obs["tools"])}


@st.composite
def hostile_calls(draw, obs: dict, values) -> str:
    """A call to an offered tool: valid sampled arguments, one of them replaced by `values`."""
    tools = _offered(obs)
    name = draw(st.sampled_from(sorted(tools)))
    schema = tools[name]
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    fragments = {k: json.dumps(v) for k, v in sample_arguments(schema, rng).items()}
    key = draw(st.sampled_from(sorted(schema.get("properties", {})) or ["x"]))
    fragments[key] = draw(values)
    arguments = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in fragments.items()) + "}"
    if draw(st.booleans()):  # OpenAI style: the arguments as a JSON string
        arguments = json.dumps(arguments, ensure_ascii=False)
    call = f'{{"name": {json.dumps(name)}, "arguments": {arguments}}}'
    wrap = draw(st.sampled_from(["<tool_call>{}</tool_call>", "{}", "plan</think>\n<tool_call>{}"]))
    return wrap.replace("{}", call, 1)


_megabyte = st.builds(
    lambda chunk, n: ((chunk + " ") * n)[:n],
    st.text(min_size=1, max_size=9),
    st.integers(MAX_ACTION_CHARS + 1, 1 << 20),
)


def hostile_actions(obs: dict):
    """(action text, whether it must be refused as malformed)."""
    return st.one_of(
        hostile_calls(obs, UNCARRIABLE).map(lambda a: (a, True)),
        hostile_calls(obs, ODD).map(lambda a: (a, False)),
        hostile_calls(obs, ODD).map(lambda a: ("<think>still " + a.replace("</think>", ""), True)),
        _megabyte.map(lambda a: (a, True)),
        _deep.map(lambda a: ("<tool_call>" + a, True)),
        st.text(st.characters(exclude_categories=[]), max_size=300).map(lambda a: (a, False)),
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_hostile_actions_never_raise(envs, env_id, data):
    env = envs[env_id]
    obs, _ = env.reset(seed=data.draw(st.integers(0, 2**16), label="seed"))
    for _ in range(data.draw(st.integers(1, 3), label="turns")):
        action, malformed = data.draw(hostile_actions(obs), label="action")
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs)
        assert math.isfinite(reward)
        assert ("error" in info) != ("tool" in info)
        if malformed:
            assert "error" in info, info.get("tool")
        if terminated or truncated:
            break
