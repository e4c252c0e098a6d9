"""BM25 retrieval: targeted queries find their hop's document, vague ones mostly do not."""

import random

import numpy as np
import pytest

from orchestra_env.tools.retrieval import SearchIndex, search_index
from orchestra_env.world import Document, knowledge_world

N_QUESTIONS = 300


@pytest.fixture(scope="module")
def world():
    return knowledge_world(0)


@pytest.fixture(scope="module")
def index():
    return search_index(0)


def _small_index(cache_size=4):
    docs = [
        Document(0, "Halvorsen Group", "Halvorsen Group was founded by Anja Halvorsen.", True),
        Document(1, "Halvorsen Holdings", "Halvorsen Holdings was founded by Ben Halvorsen.", True),
        Document(2, "Twin A", "identical twin text about lighthouses", True),
        Document(3, "Twin A", "identical twin text about lighthouses", False),
        Document(4, "Twin A", "identical twin text about lighthouses", True),
        Document(5, "Web Only", "a harbour that only the web knows about", False),
    ]
    return SearchIndex(docs, cache_size=cache_size)


def test_search_index_is_shared_per_seed(index):
    assert search_index(0) is index


def test_targeted_queries_find_the_hop_document(world, index):
    hits = total = 0
    for i in range(N_QUESTIONS):
        for hop in world.question(i).hops:
            source = "local" if world.document(hop.doc_id).local else "web"
            hits += hop.doc_id in index.search(hop.query, k=3, source=source)
            total += 1
    assert hits / total >= 0.97  # 99.9% measured


def test_vague_queries_mostly_miss(world, index):
    """Three words of the question (what a failed search writes) rarely find a needed fact."""
    rng = random.Random(0)
    hits = total = 0
    for i in range(N_QUESTIONS):
        q = world.question(i)
        words = [w for w in q.question.replace("?", "").replace(",", "").split() if len(w) > 3]
        for hop in q.hops:
            vague = " ".join(rng.sample(words, min(3, len(words))))
            hits += hop.doc_id in index.search(vague, k=3, source="web")
            total += 1
    assert hits / total < 0.3  # ~13% measured


def test_whole_question_finds_the_start_not_the_rest(world, index):
    """The question names its start, so it finds the first document, but rarely the last."""
    first = last = n = 0
    for i in range(N_QUESTIONS):
        q = world.question(i)
        if q.kind != "chain" or len(q.hops) < 3:
            continue
        found = index.search(q.question, k=3, source="web")
        first += q.hops[0].doc_id in found
        last += q.hops[-1].doc_id in found
        n += 1
    assert first / n > 0.5 and last / n < 0.15


def test_local_search_never_returns_web_only_documents(world, index):
    for i in range(50):
        for hop in world.question(i).hops:
            for doc_id in index.search(hop.query, k=10, source="local"):
                assert world.document(doc_id).local
            if not world.document(hop.doc_id).local:
                assert hop.doc_id not in index.search(hop.query, k=10, source="local")


def test_scores_equal_bm25s_own_scoring(world, index):
    for source in ("local", "web"):
        corpus = index._corpora[source]
        for i in range(20):
            q = world.question(i)
            for query in [h.query for h in q.hops] + [q.question]:
                ids = index.tokens(query)
                ours = corpus.scores(ids)
                theirs = corpus.retriever.get_scores_from_ids(ids)
                np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_ranking_matches_bm25s_retrieve_when_scores_are_distinct(world, index):
    corpus = index._corpora["web"]
    compared = 0
    for i in range(20):
        for hop in world.question(i).hops:
            ids = index.tokens(hop.query)
            scores = corpus.scores(ids)
            top = np.sort(scores)[::-1][:6]
            if len(set(top.tolist())) < len(top):
                continue  # ties: bm25s leaves their order unspecified
            docs, _ = corpus.retriever.retrieve([ids], k=5, show_progress=False)
            assert index.search(hop.query, k=5, source="web") == tuple(int(d) for d in docs[0])
            compared += 1
    assert compared >= 10, f"only {compared} queries without ties: the test checks too little"


def test_ties_are_broken_by_doc_id_and_sources_differ():
    small = _small_index()
    assert small.search("lighthouses", k=3, source="web") == (2, 3, 4)
    assert small.search("lighthouses", k=2, source="web") == (2, 3)
    assert small.search("lighthouses", k=3, source="local") == (2, 4)
    assert small.search("harbour", source="local") == ()
    assert small.search("harbour", source="web") == (5,)
    assert small.search("Anja Halvorsen founder", k=2, source="local")[0] == 0
    assert small.search("Ben Halvorsen", k=1, source="local") == (1,)


def test_queries_without_known_terms_find_nothing():
    small = _small_index()
    assert small.search("", source="web") == ()
    assert small.search("the of and", source="web") == ()  # stopwords only
    assert small.search("zzzunknown", source="web") == ()
    assert small.search("lighthouses", k=0, source="web") == ()
    assert small.search("LIGHTHOUSES!!", k=1, source="web") == (2,)
    with pytest.raises(ValueError):
        small.search("lighthouses", source="intranet")


def test_repeated_queries_hit_a_bounded_cache():
    small = _small_index(cache_size=4)
    small.search("lighthouses", source="web")
    small.search("lighthouses", source="web")
    info = small.cache_info()
    assert info.hits == 1 and info.misses == 1 and info.maxsize == 4
    for q in ("a harbour", "Halvorsen", "Anja", "Ben", "twin"):
        small.search(q, source="web")
    assert small.cache_info().currsize == 4
    # the query's words in any order share an entry; k and source are part of the key
    before = small.cache_info().hits
    assert small.search("Anja Ben", source="web") == small.search("ben ANJA", source="web")
    assert small.cache_info().hits == before + 1
    assert small.search("lighthouses", k=1, source="web") == (2,)
    assert small.search("lighthouses", k=1, source="local") == (2,)


def test_search_is_deterministic_across_indexes(world):
    docs = world.documents[:3000]
    a, b = SearchIndex(docs), SearchIndex(docs)
    for i in range(100):
        query = docs[i * 7].title + " founded"
        assert a.search(query, k=5, source="web") == b.search(query, k=5, source="web")
