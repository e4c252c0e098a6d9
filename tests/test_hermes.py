"""The Hermes tool-call format: the bytes written and the blocks found."""

from orchestra_env.hermes import find_calls, format_call, hermes_text, remove_calls, strip_thinking


def test_format_call_bytes():
    assert format_call("search", {"q": "é"}) == '<tool_call>{"name": "search", "arguments": {"q": "é"}}</tool_call>'
    assert format_call("search", {"q": "é"}, ensure_ascii=True).endswith('{"q": "\\u00e9"}}</tool_call>')
    assert format_call("a", {}, padded=True) == '<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>'


def test_find_calls_is_non_greedy_and_reads_an_unclosed_last_block():
    text = "<tool_call>1</tool_call> x <tool_call>2</tool_call><tool_call>3"
    assert find_calls(text) == ["1", "2", "3"]
    assert find_calls(text, unclosed=False) == ["1", "2"]
    assert remove_calls(text, unclosed=False) == " x <tool_call>3"
    assert remove_calls(text) == " x "


def test_strip_thinking_and_hermes_text():
    assert strip_thinking("plan</think>act") == "act"
    assert strip_thinking("<think>still thinking") is None
    text = hermes_text("hi", [{"function": {"name": "a", "arguments": "{}"}}], reasoning=" r ")
    assert text == '<think>\nr\n</think>\n\nhi\n<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>'
