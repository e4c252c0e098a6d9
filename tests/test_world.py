"""The generated knowledge world: corpus, look-alikes, questions, determinism."""

import collections
import contextlib
import hashlib
import io
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import time

import pytest

from orchestra_env.world import (
    KnowledgeWorld,
    MultihopQuestion,
    hidden_names,
    knowledge_world,
)

N_QUESTIONS = 600
SKILLS = {"knowledge", "query_writing", "reading", "reasoning"}


@pytest.fixture(scope="module")
def world() -> KnowledgeWorld:
    return knowledge_world(0)


@pytest.fixture(scope="module")
def questions(world) -> list[MultihopQuestion]:
    return [world.question(i) for i in range(N_QUESTIONS)]


def _digest(seed: int, n_questions: int) -> str:
    w = knowledge_world(seed)
    h = hashlib.sha256()
    for d in w.documents:
        h.update(repr(d).encode())
    for i in range(n_questions):
        h.update(repr(w.question(i)).encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- corpus


def test_world_is_cached_per_seed(world):
    assert knowledge_world(0) is world
    assert world.seed == 0


def test_corpus_size_and_web_only_share(world):
    docs = world.documents
    assert len(docs) >= 10_000
    assert [d.doc_id for d in docs] == list(range(len(docs)))
    assert world.document(123) is docs[123]
    web_only = sum(not d.local for d in docs) / len(docs)
    assert 0.2 <= web_only <= 0.3
    assert collections.Counter(e.kind for e in world.entities).keys() == {
        "person",
        "organisation",
        "place",
        "work",
        "event",
    }


def test_documents_are_encyclopedic_prose(world):
    lengths = [len(d.text) for d in world.documents]
    assert min(lengths) >= 200 and max(lengths) <= 1200
    assert statistics.median(lengths) >= 300
    for d in world.documents[::97]:
        entity = world.entity(d.doc_id)
        assert d.title == entity.name and entity.name in d.text
        for value in entity.attributes.values():
            assert value in d.text
        for target in entity.relations.values():
            assert world.entity(target).name in d.text


def test_names_are_unique_except_deliberate_same_title_works(world):
    names = collections.Counter(e.name for e in world.entities if e.kind != "work")
    assert names.most_common(1)[0][1] == 1
    works = collections.Counter((e.name, e.subtype) for e in world.entities if e.kind == "work")
    assert works.most_common(1)[0][1] == 1
    labels = collections.Counter(e.label for e in world.entities)
    assert labels.most_common(1)[0][1] == 1  # a question can always name its start


def test_lookalike_distractors_exist(world):
    by_stem = collections.defaultdict(list)
    for e in world.entities:
        by_stem[e.stem].append(e)
    kinds_sharing = [{e.kind for e in group} for group in by_stem.values() if len(group) > 1]
    # shared surnames among people, "X Group" vs "X Holdings", a person and a company
    assert sum(k == {"person"} for k in kinds_sharing) > 100
    orgs = [g for g in by_stem.values() if sum(e.kind == "organisation" for e in g) > 1]
    assert len(orgs) > 200
    assert sum({"person", "organisation"} <= k for k in kinds_sharing) > 200
    # same title, different kinds of work; editions of one event series; "North X" vs "X"
    titles = collections.Counter(e.name for e in world.entities if e.kind == "work")
    assert sum(n > 1 for n in titles.values()) > 100
    assert sum(sum(e.kind == "event" for e in g) > 1 for g in by_stem.values()) > 100
    assert sum(sum(e.kind == "place" for e in g) > 1 for g in by_stem.values()) > 100
    assert statistics.mean(e.lookalikes for e in world.entities) > 2


def test_spouses_are_symmetric_and_facts_plausible(world):
    for e in world.entities:
        if "spouse" in e.relations:
            assert world.entity(e.relations["spouse"]).relations["spouse"] == e.id
        if e.kind == "organisation":
            founder = world.entity(e.relations["founder"])
            assert int(e.attributes["founded_year"]) - int(founder.attributes["birth_year"]) >= 18
        if e.kind == "work":
            creator = world.entity(e.relations["creator"])
            assert int(e.attributes["release_year"]) - int(creator.attributes["birth_year"]) >= 18


def test_popularity_varies_and_popular_entities_are_more_often_local(world):
    pops = [e.popularity for e in world.entities]
    assert min(pops) >= 0 and max(pops) <= 1 and statistics.pstdev(pops) > 0.2
    popular = [world.document(e.id).local for e in world.entities if e.popularity > 0.7]
    obscure = [world.document(e.id).local for e in world.entities if e.popularity < 0.1]
    assert statistics.mean(popular) > statistics.mean(obscure)


# ----------------------------------------------------------------------------- questions


def test_question_fields(questions):
    for q in questions:
        assert q.question.endswith("?") and q.question[0].isupper()
        assert q.kind in {"chain", "arithmetic", "comparison"}
        assert set(q.difficulty) == SKILLS
        assert all(-3.0 <= v <= 3.0 for v in q.difficulty.values())
        assert all(0.0 <= h.popularity <= 1.0 for h in q.hops)
        assert q.answer and q.answer not in q.aliases
        assert (q.program is None) == (q.kind == "chain")
    counts = collections.Counter(q.kind for q in questions)
    assert counts["chain"] > counts["arithmetic"] > 0 and counts["comparison"] > 0


def test_hops_are_stated_by_their_documents(world, questions):
    for q in questions:
        for hop in q.hops:
            text = world.document(hop.doc_id).text
            assert hop.subject in text, (q.index, hop)
            assert hop.value in text, (q.index, hop)
            assert world.entity(hop.doc_id).name == hop.subject
            assert hop.subject in hop.query


def test_needs_web_matches_hop_documents(world, questions):
    for q in questions:
        assert q.needs_web == any(not world.document(h.doc_id).local for h in q.hops)
    share = statistics.mean(q.needs_web for q in questions)
    assert 0.3 < share < 0.8


def test_chains_link_hop_to_hop_and_end_in_the_answer(world, questions):
    for q in (q for q in questions if q.kind == "chain"):
        assert 2 <= len(q.hops) <= 4
        for a, b in zip(q.hops, q.hops[1:], strict=False):
            assert b.subject == a.value
        assert q.answer == q.hops[-1].value
        start = world.entity(q.hops[0].doc_id)
        assert start.label in q.question


def test_programs_print_the_answer_from_hop_values(questions):
    for q in (q for q in questions if q.program):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(q.program, {})  # noqa: S102 - our own reference program
        assert out.getvalue().strip() == q.answer, q
        values = {h.value for h in q.hops}
        assert set(re.findall(r"\d+", q.program)) <= values, q.program


def test_comparisons_answer_one_of_the_compared_entities(questions):
    for q in (q for q in questions if q.kind == "comparison"):
        assert q.answer in {h.subject for h in q.hops}
        assert 4 <= len(q.hops) <= 6


def test_questions_never_name_intermediate_entities_or_the_answer(world, questions):
    for q in questions:
        lowered = q.question.lower()
        starts = [
            h.subject
            for i, h in enumerate(q.hops)
            if h.subject not in {x.value for x in q.hops[:i]}
        ]
        for name in starts:
            assert name.lower() in lowered
        for name in hidden_names(q.hops):
            assert name.lower() not in lowered, (q.question, name)
        assert q.answer.isdigit() or q.answer.lower() not in lowered
        assert q.answer not in starts  # an entity reached by the hops, never a start


def test_difficulty_grows_with_hops_web_and_arithmetic(questions):
    def mean(skill, pred):
        return statistics.mean(q.difficulty[skill] for q in questions if pred(q))

    chain = [q for q in questions if q.kind == "chain"]
    assert {len(q.hops) for q in chain} == {2, 3, 4}
    assert mean("knowledge", lambda q: q.kind == "chain" and len(q.hops) == 4) > mean(
        "knowledge", lambda q: q.kind == "chain" and len(q.hops) == 2
    )
    assert mean("query_writing", lambda q: q.needs_web) > mean(
        "query_writing", lambda q: not q.needs_web
    )
    assert mean("reasoning", lambda q: q.kind == "arithmetic") > mean(
        "reasoning", lambda q: q.kind == "chain"
    )
    assert mean("knowledge", lambda q: statistics.mean(h.popularity for h in q.hops) < 0.2) > mean(
        "knowledge", lambda q: statistics.mean(h.popularity for h in q.hops) > 0.5
    )


def test_questions_are_deterministic_and_cheap(world):
    assert world.question(17) == world.question(17)
    assert world.question(10**9).index == 10**9
    with pytest.raises(ValueError):
        world.question(-1)
    start = time.perf_counter()
    for i in range(1000, 1500):
        world.question(i)
    assert (time.perf_counter() - start) / 500 < 500e-6  # ~30 µs measured; lenient for CI


def test_world_and_questions_pickle(world):
    assert pickle.loads(pickle.dumps(world)) is world  # by seed, through the per-process cache
    q = world.question(5)
    assert pickle.loads(pickle.dumps(q)) == q


def test_another_seed_gives_another_world():
    a, b = knowledge_world(0), knowledge_world(1)
    assert a.documents[0].text != b.documents[0].text
    assert a.question(0) != b.question(0)


def test_world_is_identical_in_another_process():
    """Same seed, same documents and questions, whatever the process's hash seed."""
    code = (
        "import json, sys; from tests.test_world import _digest; print(json.dumps(_digest(0, 200)))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert json.loads(out.stdout) == _digest(0, 200)
