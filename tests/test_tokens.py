"""Token counts are what the real Qwen tokenizer gives, however the text is cut to be cached."""

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_env import tokens

# Pieces that stress the pre-tokenizer at paragraph boundaries: runs of newlines and spaces,
# punctuation that swallows following newlines, digits, accents given as combining marks,
# special tokens, and long words.
_PIECES = st.sampled_from(
    [
        "\n",
        "\n\n",
        "\n\n\n",
        " ",
        "  \n",
        "\t",
        "\r\n",
        ".",
        "!?\n",
        "[1]",
        "(",
        "'s",
        "’",
        "12",
        "3.5",
        "e\u0301",
        "\u0301",
        "Ωμέγα",
        "北京",
        "<|im_start|>",
        "<|im_end|>",
        "<|",
        "```python\nprint(1)\n```",
        "Founded in 1735",
        "word",
        "Title\ntext",
        "x" * 300,
    ]
)
_TEXTS = st.lists(_PIECES | st.text(max_size=20), max_size=40).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_TEXTS)
def test_count_equals_the_tokenizers_length(text):
    assert tokens.count(text) == len(tokens.encode(text))


def test_long_replies_made_of_known_paragraphs_count_exactly():
    docs = [
        f"[{i}] Title {i}\n" + f"Some text about a lighthouse, founded in 19{i:02d}. " * 12
        for i in range(5)
    ]
    for sep in ("\n\n", "\n\n\n", "\n\n ", ".\n\n"):
        text = "Query (local): lighthouse founders" + sep + sep.join(docs)
        assert len(text) > 256
        assert tokens.count(text) == len(tokens.encode(text))
    assert tokens.count_all(docs) == sum(len(tokens.encode(d)) for d in docs)
    assert tokens.count("") == 0
