"""The Hermes tool-call format: the bytes written and the blocks found."""

from orchestra_env.hermes import find_calls, format_call, hermes_text, remove_calls, strip_thinking


def test_format_call_bytes():
    call = '{"name": "s", "arguments": {"q": "é"}}'
    assert format_call("s", {"q": "é"}) == f"<tool_call>{call}</tool_call>"
    escaped = call.replace("é", "\\u00e9")
    assert format_call("s", {"q": "é"}, ensure_ascii=True) == f"<tool_call>{escaped}</tool_call>"
    assert format_call("s", {"q": "é"}, padded=True) == f"<tool_call>\n{call}\n</tool_call>"


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
    call = '<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>'
    assert text == f"<think>\nr\n</think>\n\nhi\n{call}"
