"""Action parsing: every accepted form, clear errors, and a fuzz test that nothing raises."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_env import Message, OrchestraEnv, ParseError, ToolCall, parse_action
from orchestra_env.models.profiles import default_profiles
from orchestra_env.tools.catalogue import qa_tool_specs

TOOLS = {s.name: s for s in qa_tool_specs(default_profiles(), list(default_profiles().aliases))}


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>{"name": "search", "arguments": {"model": "search-2"}}</tool_call>',
        '<think>cheap first</think>\n<tool_call>\n{"name": "search", "arguments": {"model": "search-2"}}\n</tool_call>',
        'thinking without an opening tag</think><tool_call>{"name": "search", "arguments": {"model": "search-2"}}</tool_call>',
        '{"name": "search", "arguments": {"model": "search-2"}}',
        '{"name": "search", "arguments": "{\\"model\\": \\"search-2\\"}"}',
        '{"type": "function", "function": {"name": "search", "arguments": "{\\"model\\": \\"search-2\\"}"}}',
        '<tool_call>{"name": "search", "arguments": {"model": "search-2"}}',  # unclosed at the end
    ],
)
def test_accepted_forms(text):
    assert parse_action(text, TOOLS) == ToolCall("search", {"model": "search-2"})


def test_first_valid_call_of_a_turn_is_executed():
    text = (
        '<tool_call>{"name": "search", "arguments": {"model": "nope"}}</tool_call>'
        '<tool_call>{"name": "answer", "arguments": {"model": "answer-3"}}</tool_call>'
        '<tool_call>{"name": "search", "arguments": {"model": "search-1"}}</tool_call>'
    )
    assert parse_action(text, TOOLS) == ToolCall("answer", {"model": "answer-3"})


@pytest.mark.parametrize(
    "text, expected",
    [
        ('<tool_call>{"name": "search", "arguments": {"model": }}</tool_call>', "invalid JSON in tool call at position 42"),
        ('<tool_call>{"name": "calc", "arguments": {}}</tool_call>', "unknown tool 'calc'; available: answer, enhance_reasoning, search"),
        ('<tool_call>{"name": "answer", "arguments": {"model": "gpt-5"}}</tool_call>', "tool 'answer': argument 'model': 'gpt-5' is not one of"),
        ('<tool_call>{"name": "answer", "arguments": {}}</tool_call>', "tool 'answer': arguments: 'model' is a required property"),
        ('<tool_call>{"name": "search", "arguments": {"model": "search-1", "source": "intranet"}}</tool_call>', "argument 'source': 'intranet' is not one of ['local', 'web']"),
        ('<tool_call>{"name": "answer", "arguments": {"model": "answer-1", "x": 1}}</tool_call>', "Additional properties are not allowed"),
        ('<tool_call>["answer"]</tool_call>', "a tool call must be a JSON object, got list"),
        ('<tool_call>{"arguments": {}}</tool_call>', 'tool call has no "name" string'),
        ('{"name": "answer", "arguments": "{model"}', "arguments string is not JSON at position 1"),
        ('{"name": "answer", "arguments": {"model": "answer-1"}} trailing', "unexpected text after the tool call's JSON"),
        ("I think the answer is 42", "no tool call found"),
    ],
)
def test_errors_name_the_problem(text, expected):
    result = parse_action(text, TOOLS)
    assert isinstance(result, ParseError)
    assert expected in result.error


def test_messages_when_allowed():
    assert parse_action("<message>Your order ships today.</message>", TOOLS, allow_messages=True) == Message(
        "Your order ships today."
    )
    assert parse_action("Hello there", TOOLS, allow_messages=True) == Message("Hello there")
    assert isinstance(parse_action("   ", TOOLS, allow_messages=True), ParseError)


def test_non_string_action():
    assert "action must be a string" in parse_action(None, TOOLS).error


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _broken(data):
    """Tool calls with random damage: truncated, wrong types, bad names, junk around them."""
    call = {"name": data.draw(st.sampled_from(["search", "answer", "enhance_reasoning", "x", ""])),
            "arguments": data.draw(_json_like | st.just({"model": "search-1"}))}
    text = json.dumps(call)
    cut = data.draw(st.integers(0, len(text)))
    body = data.draw(st.sampled_from([text, text[:cut], text[cut:], text.replace('"', "'")]))
    wrap = data.draw(st.sampled_from(["<tool_call>{}</tool_call>", "{}", "<think>x</think>{}", "<tool_call>{}", "{}</tool_call>"]))
    return wrap.replace("{}", body, 1)


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_random_text_never_raises(text):
    result = parse_action(text, TOOLS)
    assert isinstance(result, (ToolCall, ParseError))


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_fuzz_broken_json_never_raises_in_env(data):
    env = _ENV
    seed, action = data.draw(st.integers(0, 1000)), _broken(data)
    if env._done:
        env.reset(seed=seed)
    _, reward, _, _, info = env.step(action)
    assert ("error" in info) != ("tool" in info)
    if "error" in info:
        assert reward == pytest.approx(-env.format_penalty)


_ENV = OrchestraEnv(max_turns=50, max_format_errors=10**9)
