"""BM25 retrieval over a knowledge world's documents: a local corpus and a web corpus.

The web corpus is every document; the local corpus only those with `Document.local`. Both are
`bm25s` indexes (Lucene BM25, k1=1.5, b=0.75) over one shared vocabulary from bm25s's
tokenizer with its English stopwords (no stemmer: PyStemmer is not a dependency). A document is
indexed as its title followed by its text, so names weigh a little more, as a title field does.

`search` is deterministic: documents are ranked by score, ties broken by doc id, and documents
that share no term with the query are never returned (a query of stopwords finds nothing).
Single queries bypass bm25s's batch machinery: the query's token ids are scored straight from
the index's sparse score matrix (each posting list holds a document at most once, so summing
columns is exact), then the top k are selected. Each index keeps a bounded LRU cache on the
query's sorted token ids, k and source, so a repeated query (or the same words in another
order) costs a dictionary lookup.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
from bm25s.tokenization import Tokenizer

from orchestra_env.world import Document, knowledge_world

SOURCES = ("local", "web")
CACHE_SIZE = 16384  # (query, k, source) entries per index
SNIPPET_CHARS = 1200  # documents are capped like this in the released evaluation prompts


class _Corpus:
    """One bm25s index and the doc ids of its rows."""

    def __init__(self, token_ids: list[list[int]], vocab: dict[str, int], doc_ids: Sequence[int]):
        self.retriever = bm25s.BM25()
        self.retriever.index((token_ids, vocab), show_progress=False)
        self.data = self.retriever.scores["data"]
        self.indices = self.retriever.scores["indices"]
        self.indptr = self.retriever.scores["indptr"]
        self.n_docs = len(doc_ids)
        self.doc_ids = np.asarray(doc_ids, dtype=np.int64)

    def scores(self, token_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every row; equal to `self.retriever.get_scores_from_ids(token_ids)`."""
        scores = np.zeros(self.n_docs, dtype=np.float32)
        indptr, indices, data = self.indptr, self.indices, self.data
        for t in token_ids:  # columns hold each row once: += is exact (no np.add.at needed)
            start, end = indptr[t], indptr[t + 1]
            scores[indices[start:end]] += data[start:end]
        return scores

    def top(self, token_ids: Sequence[int], k: int) -> tuple[int, ...]:
        scores = self.scores(token_ids)
        hits = np.flatnonzero(
            scores > 0
        )  # ascending row order = ascending doc id (a bool mask: 5x faster)
        if len(hits) > k:
            hit_scores = scores[hits]
            kth = np.partition(hit_scores, len(hits) - k)[len(hits) - k]
            hits = hits[hit_scores >= kth]  # every document tied with the k-th stays in
        order = np.lexsort((hits, -scores[hits]))[:k]  # by score, then by doc id
        return tuple(int(d) for d in self.doc_ids[hits[order]])


class SearchIndex:
    """BM25 over the local and the web corpus of `documents`."""

    def __init__(self, documents: Sequence[Document], *, cache_size: int = CACHE_SIZE):
        self._tokenizer = Tokenizer(stopwords="english")
        token_ids = self._tokenizer.tokenize(
            [f"{d.title}\n{d.text}" for d in documents], update_vocab=True, show_progress=False
        )
        vocab = self._tokenizer.get_vocab_dict()
        self._vocab = vocab
        local = [i for i, d in enumerate(documents) if d.local]
        self._corpora = {
            "web": _Corpus(token_ids, vocab, [d.doc_id for d in documents]),
            "local": _Corpus(
                [token_ids[i] for i in local], vocab, [documents[i].doc_id for i in local]
            ),
        }
        self._cached = functools.lru_cache(maxsize=cache_size)(self._top)

    def tokens(self, query: str) -> list[int]:
        """The query's token ids in the shared vocabulary (stopwords and unknown words dropped)."""
        vocab = self._vocab
        return [vocab[w] for w in self._tokenizer.splitter(query.lower()) if w in vocab]

    def search(self, query: str, *, k: int = 3, source: str = "local") -> tuple[int, ...]:
        """Doc ids of the `k` best documents for `query` in `source`, best first."""
        if source not in self._corpora:
            raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
        if k <= 0:
            return ()
        token_ids = self.tokens(query)
        return self._cached(tuple(sorted(token_ids)), k, source) if token_ids else ()

    def _top(self, token_ids: tuple[int, ...], k: int, source: str) -> tuple[int, ...]:
        return self._corpora[source].top(token_ids, k)

    def cache_info(self):
        return self._cached.cache_info()

    def cache_clear(self) -> None:
        self._cached.cache_clear()


@functools.lru_cache(maxsize=8)
def search_index(seed: int = 0) -> SearchIndex:
    """The index of the world of `seed`: built once per process, shared by every env."""
    return SearchIndex(knowledge_world(seed).documents)


@dataclass(frozen=True)
class WorldCorpus:
    """The documents and the search index of the world of `seed`, each built on first use (an
    env of conversations alone never builds them)."""

    seed: int = 0

    def document(self, doc_id: int) -> tuple[str, str]:
        """(title, text capped at `SNIPPET_CHARS`) of a document."""
        doc = knowledge_world(self.seed).document(doc_id)
        return doc.title, doc.text[:SNIPPET_CHARS]

    def search(self, query: str, k: int, source: str) -> tuple[int, ...]:
        return search_index(self.seed).search(query, k=k, source=source)
