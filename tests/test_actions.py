"""Action parsing: every accepted form, clear errors, and a fuzz test that nothing raises."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_env import Message, OrchestraEnv, ParseError, ToolCall, parse_action
from orchestra_env.models.profiles import default_profiles
from orchestra_env.tools.catalogue import qa_tool_specs
from orchestra_env.tools.spec import ToolSpec

TOOLS = {s.name: s for s in qa_tool_specs(default_profiles(), list(default_profiles().aliases))}


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>{"name": "search", "arguments": {"model": "search-2"}}</tool_call>',
        (
            "<think>cheap first</think>\n"
            '<tool_call>\n{"name": "search", "arguments": {"model": "search-2"}}\n</tool_call>'
        ),
        (
            "thinking without an opening tag</think>"
            '<tool_call>{"name": "search", "arguments": {"model": "search-2"}}</tool_call>'
        ),
        '{"name": "search", "arguments": {"model": "search-2"}}',
        '{"name": "search", "arguments": "{\\"model\\": \\"search-2\\"}"}',
        (
            '{"type": "function", "function": '
            '{"name": "search", "arguments": "{\\"model\\": \\"search-2\\"}"}}'
        ),
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
        (
            '<tool_call>{"name": "search", "arguments": {"model": }}</tool_call>',
            "invalid JSON in tool call at position 42",
        ),
        (
            '<tool_call>{"name": "calc", "arguments": {}}</tool_call>',
            "unknown tool 'calc'; available: answer, enhance_reasoning, search",
        ),
        (
            '<tool_call>{"name": "answer", "arguments": {"model": "gpt-5"}}</tool_call>',
            "tool 'answer': argument 'model': 'gpt-5' is not one of",
        ),
        (
            '<tool_call>{"name": "answer", "arguments": {}}</tool_call>',
            "tool 'answer': arguments: 'model' is a required property",
        ),
        (
            (
                '<tool_call>{"name": "search", '
                '"arguments": {"model": "search-1", "source": "intranet"}}</tool_call>'
            ),
            "argument 'source': 'intranet' is not one of ['local', 'web']",
        ),
        (
            '<tool_call>{"name": "answer", "arguments": {"model": "answer-1", "x": 1}}</tool_call>',
            "Additional properties are not allowed",
        ),
        ('<tool_call>["answer"]</tool_call>', "a tool call must be a JSON object, got list"),
        ('<tool_call>{"arguments": {}}</tool_call>', 'tool call has no "name" string'),
        ('{"name": "answer", "arguments": "{model"}', "arguments string is not JSON at position 1"),
        (
            '{"name": "answer", "arguments": {"model": "answer-1"}} trailing',
            "unexpected text after the tool call's JSON",
        ),
        ("I think the answer is 42", "no tool call found"),
    ],
)
def test_errors_name_the_problem(text, expected):
    result = parse_action(text, TOOLS)
    assert isinstance(result, ParseError)
    assert expected in result.error


NOTE = ToolSpec("note", "free text", {"type": "object", "properties": {"text": {}}})


def _note(arguments: str) -> str:
    """A call to `note` with `arguments` as written (JSON text, hostile or not)."""
    return '{"name": "note", "arguments": ' + arguments + "}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<tool_call>" + "[" * 5_000 + "]" * 5_000, "tool call: nested deeper than 32 levels"),
        (_note('{"text": ' + "[" * 33 + "]" * 33 + "}"), "nested deeper than 32 levels"),
        (_note('"' + "[" * 2_000 + '"'), "arguments string is not JSON: nested deeper"),
        (_note('{"text": ' + "9" * 5_000 + "}"), "integer at position 39 has more than 4300"),
        (_note('{"text": NaN}'), "argument 'text': NaN is not a finite number"),
        (_note('{"text": [1, -Infinity]}'), "argument 'text/1': -Infinity is not a finite number"),
        (_note('{"text": 1e999}'), "argument 'text': Infinity is not a finite number"),
        (
            _note('{"text": [-9223372036854775809]}'),
            "'text/0': integer out of range (tools take -2**63",
        ),
        (_note('{"text": "ok\\ud800"}'), "argument 'text': lone surrogate at position 2"),
        (_note('{"text": "ok\ud800"}'), "argument 'text': lone surrogate at position 2"),
        (_note('"{\\"text\\": 1} x"'), "unexpected text after the arguments string's JSON"),
        ("x" * 100_001, "100,001 characters, over the action space's cap of 100,000"),
        ("<think>plan <tool_call>" + _note("{}"), "the <think> block is not closed"),
        ("<think>a</think><think>b <tool_call>" + _note("{}"), "the <think> block is not closed"),
    ],
)
def test_hostile_values_are_parse_errors(text, expected):
    result = parse_action(text, {"note": NOTE}, allow_messages=True)
    assert isinstance(result, ParseError)
    assert expected in result.error


def test_bracket_heavy_strings_and_astral_characters_are_fine():
    text = "{" * 40 + " 😀 " + "[" * 40
    call = json.dumps({"name": "note", "arguments": {"text": text}})
    assert parse_action(call, {"note": NOTE}) == ToolCall("note", {"text": text})
    nested = {"text": [[[[1.5]]]]}  # real calls are shallow, and pass
    assert parse_action(_note(json.dumps(nested)), {"note": NOTE}) == ToolCall("note", nested)


def test_lone_surrogate_in_a_message_is_refused():
    result = parse_action("<message>hello \ud800</message>", TOOLS, allow_messages=True)
    assert result == ParseError("message has a lone surrogate at position 6, not valid UTF-8")


def test_messages_when_allowed():
    assert parse_action(
        "<message>Your order ships today.</message>", TOOLS, allow_messages=True
    ) == Message("Your order ships today.")
    assert parse_action("Hello there", TOOLS, allow_messages=True) == Message("Hello there")
    assert isinstance(parse_action("   ", TOOLS, allow_messages=True), ParseError)


def test_non_string_action():
    assert "action must be a string" in parse_action(None, TOOLS).error


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _broken(data):
    """Tool calls with random damage: truncated, wrong types, bad names, junk around them."""
    call = {
        "name": data.draw(st.sampled_from(["search", "answer", "enhance_reasoning", "x", ""])),
        "arguments": data.draw(_json_like | st.just({"model": "search-1"})),
    }
    text = json.dumps(call)
    cut = data.draw(st.integers(0, len(text)))
    body = data.draw(st.sampled_from([text, text[:cut], text[cut:], text.replace('"', "'")]))
    wrap = data.draw(
        st.sampled_from(
            [
                "<tool_call>{}</tool_call>",
                "{}",
                "<think>x</think>{}",
                "<tool_call>{}",
                "{}</tool_call>",
            ]
        )
    )
    return wrap.replace("{}", body, 1)


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_random_text_never_raises(text):
    result = parse_action(text, TOOLS)
    assert isinstance(result, (ToolCall, ParseError))


@pytest.fixture(scope="module")
def fuzz_env():
    """One env for every example (building one each time is slow); each example resets it, so
    no example depends on the ones before it."""
    env = OrchestraEnv(max_turns=50, max_format_errors=10**9)
    yield env
    env.close()


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_fuzz_broken_json_never_raises_in_env(fuzz_env, data):
    seed, action = data.draw(st.integers(0, 1000)), _broken(data)
    fuzz_env.reset(seed=seed)
    _, reward, _, _, info = fuzz_env.step(action)
    assert ("error" in info) != ("tool" in info)
    if "error" in info:
        assert reward == pytest.approx(-fuzz_env.format_penalty)
