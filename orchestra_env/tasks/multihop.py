"""The multihop family (FRAMES-like): chained factual questions over a generated world.

The world stands in for the web the models were trained on. What a simulated expert holds of
each hop of a question (models/simulated.py draws every check from a persistent latent):

* a hop whose document is in context is **read** (`reading`, easy with a bonus; harder with a
  longer context and with look-alikes' documents beside it); misread, it holds a near value;
* otherwise it is **recalled** (`knowledge`, harder the more obscure the fact and when only the
  web holds it; keyed by the fact, so a model that knows a fact knows it in every question);
  unknown — or about an entity the model got wrong on an earlier hop — it holds its own
  persistent wrong belief: a look-alike entity, a near year or figure.

Then, per role:
* search — write a query for the first hop whose document is not in context, naming the hop's
  subject as the model holds it. Needs `query_writing` (persistent per model, item and hop):
  success is the targeted query; failure a real but poor query (a look-alike's name, the bare
  surname, the question's words, the previous hop again). The real retriever runs it.
* enhance_reasoning — a program over the values the coder holds (`coding`); a failed program is
  a plausible bug in it. A program only ever holds what the coder read or believes.
* answer — the values held, combined (`reasoning` for arithmetic and comparisons; a failure is
  a plausible wrong derivation); an answerer that cannot derive the answer copies a program's
  output in context (tasks/questions.py `final_answer`).

Every check's difficulty is then raised by the family's calibration offset for its skill, if
profiles.json gives one; `difficulty` summarises the question's generated values.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orchestra_env.answers import answers_match, normalize_answer
from orchestra_env.core import Attempt, Check, Evidence, Grade
from orchestra_env.episode import Episode
from orchestra_env.tasks.offsets import Offset, family_offset, offset_checks
from orchestra_env.tasks.questions import (
    QuestionFamily,
    break_program,
    copy_checks,
    final_answer,
)
from orchestra_env.world import Hop, KnowledgeWorld, MultihopQuestion, knowledge_world

FAMILY = "multihop"
# Reading a fact off a document in context: easy, harder with every document beside it and
# with look-alikes' documents (the same surname, the same company stem) there — per doubling
# of their number: the first look-alike confuses most.
READ_DIFFICULTY, READING_BONUS = 0.0, 1.5
READ_PER_DOCUMENT, READ_PER_LOOKALIKE = 0.03, 0.8
# Recalling a fact: obscure facts and facts only the web holds are rarely memorised, and a
# look-alike's document in context pulls a model's recall towards the look-alike.
KNOW_DIFFICULTY, KNOW_PER_OBSCURITY, KNOW_WEB_ONLY = -1.0, 2.0, 0.4
KNOW_PER_LOOKALIKE = 1.2
# Each hop deeper into a chain is about an entity further from the question's named ones: less
# often written about, harder to recall and to search for. This is what makes a long question
# visibly harder than a short one.
KNOW_PER_DEPTH, QUERY_PER_DEPTH = 0.6, 0.3
# Writing the targeted query for a hop: harder for obscure subjects with many look-alikes.
QUERY_DIFFICULTY, QUERY_PER_OBSCURITY, QUERY_PER_LOOKALIKE = -0.5, 1.0, 0.3
CODE_DIFFICULTY = {"chain": -2.0, "comparison": -1.0, "arithmetic": -0.5}

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOP = frozenset("which what when where from with that than their there many years".split())


@dataclass(frozen=True)
class Held:
    """What a model holds of one hop: the value, and whether it is the world's."""

    value: str
    right: bool


@dataclass(frozen=True)
class MultihopTask:
    question: MultihopQuestion
    world: KnowledgeWorld = field(repr=False, compare=False)
    offset: Offset = ()  # calibration offset per skill, added to every check's difficulty
    family: str = FAMILY
    toolset = "qa"

    @property
    def id(self) -> str:
        return f"{self.family}/{self.question.index}"

    @property
    def index(self) -> int:
        return self.question.index

    @property
    def prompt(self) -> str:
        return self.question.question

    @property
    def difficulty(self) -> dict[str, float]:
        return self.question.difficulty

    @property
    def reference_plan(self) -> tuple[str, ...]:
        code = ("enhance_reasoning",) if self.question.program else ()
        return ("search",) * len(self.question.hops) + code + ("answer",)

    @functools.cached_property
    def _key(self) -> str:
        return f"{self.family}:{self.world.seed}:{self.question.index}"

    @functools.cached_property
    def _sources(self) -> tuple[int | None, ...]:
        """Per hop, the earlier hop whose value is its subject (None: named in the question)."""
        hops, sources = self.question.hops, []
        for i, hop in enumerate(hops):
            earlier = [j for j in range(i) if hops[j].value == hop.subject]
            sources.append(earlier[-1] if earlier else None)
        return tuple(sources)

    # -- what experts need ----------------------------------------------------------------

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        checks = [self._hop_check(i, evidence) for i in range(len(self.question.hops))]
        if role == "search":
            checks.append(self._query_check(self._target(evidence)))
        elif role == "reason":
            kind = self.question.kind
            checks.append(Check("coding", CODE_DIFFICULTY[kind], key=f"{self._key}:program"))
        else:
            if self.question.operation != "chain":
                checks.append(self._combine_check())
            checks.extend(copy_checks(self._key, evidence))
        return offset_checks(checks, self.offset)

    def _hop_check(self, i: int, evidence: Evidence) -> Check:
        hop = self.question.hops[i]
        lookalikes = math.log2(
            1 + sum(evidence.has_document(d) for d in self.world.lookalikes(hop.doc_id))
        )
        if self._in_context(i, evidence):
            difficulty = (
                READ_DIFFICULTY
                + READ_PER_DOCUMENT * len(evidence.documents)
                + READ_PER_LOOKALIKE * lookalikes
            )
            return Check("reading", difficulty, READING_BONUS, key=self._read_key(i))
        web_only = not self.world.document(hop.doc_id).local
        difficulty = (
            KNOW_DIFFICULTY
            + KNOW_PER_OBSCURITY * (1 - hop.popularity)
            + KNOW_WEB_ONLY * web_only
            + KNOW_PER_LOOKALIKE * lookalikes
            + KNOW_PER_DEPTH * self._depths[i]
        )
        return Check("knowledge", difficulty, key=self._fact_key(hop))

    def _query_check(self, i: int) -> Check:
        hop = self.question.hops[i]
        lookalikes = len(self.world.lookalikes(hop.doc_id))
        difficulty = (
            QUERY_DIFFICULTY
            + QUERY_PER_OBSCURITY * (1 - hop.popularity)
            + QUERY_PER_LOOKALIKE * min(lookalikes, 8)
            + QUERY_PER_DEPTH * self._depths[i]
        )
        return Check("query_writing", difficulty, key=f"{self._key}:query:{i}")

    def _combine_check(self) -> Check:
        # The question's own "reasoning" difficulty: its kind, its hops, big numbers.
        difficulty = self.question.difficulty["reasoning"]
        return Check("reasoning", difficulty, key=f"{self._key}:combine")

    @functools.cached_property
    def _depths(self) -> tuple[int, ...]:
        """Per hop, how many hops lead to its subject from an entity the question names."""
        depths: list[int] = []
        for source in self._sources:
            depths.append(0 if source is None else depths[source] + 1)
        return tuple(depths)

    @functools.cached_property
    def _stating(self) -> tuple[tuple[int, ...], ...]:
        """Per hop, the documents that state its fact: the subject's own, and the value's when
        it mentions the subject ("… among its staff, Jonathan Murphy")."""
        stating = []
        for hop in self.question.hops:
            target = self.world.entity(hop.doc_id).relations.get(hop.relation)
            docs = [hop.doc_id]
            if target is not None and hop.subject in self.world.document(target).text:
                docs.append(target)
            stating.append(tuple(docs))
        return tuple(stating)

    def _in_context(self, i: int, evidence: Evidence) -> bool:
        """Whether a document stating hop i's fact is in context."""
        return any(evidence.has_document(d) for d in self._stating[i])

    def _read_key(self, i: int) -> str:
        return f"{self._key}:read:{i}"

    def _fact_key(self, hop: Hop) -> str:
        return f"fact:{self.world.seed}:{hop.doc_id}:{hop.relation}"

    def _target(self, evidence: Evidence) -> int:
        """The hop a searcher looks for: the first whose document is not in context."""
        hops = self.question.hops
        return next((i for i in range(len(hops)) if not self._in_context(i, evidence)), -1)

    # -- what experts write ---------------------------------------------------------------

    def artefact(self, role: str, evidence: Evidence, attempt: Attempt, rng: random.Random) -> str:
        held = self._held(evidence, attempt)
        if role == "search":
            return f"<query>{self._query(evidence, held, attempt)}</query>"
        if role == "reason":
            program = self._program(held)
            if not attempt.ok(f"{self._key}:program"):
                program = break_program(program, attempt.belief(f"{self._key}:program"))
            return f"```python\n{program}\n```"
        own_ok = all(h.right for h in held) and attempt.ok(f"{self._key}:combine")
        own = self._combine(held, attempt)
        return f"<answer>{final_answer(own, own_ok, self._key, evidence, attempt)}</answer>"

    def _held(self, evidence: Evidence, attempt: Attempt) -> list[Held]:
        """Per hop, the value the model holds: read, recalled, or its own wrong belief."""
        held: list[Held] = []
        for i, hop in enumerate(self.question.hops):
            if self._in_context(i, evidence):
                key = self._read_key(i)
                right = attempt.ok(key)
            else:
                key, source = self._fact_key(hop), self._sources[i]
                right = attempt.ok(key) and (source is None or held[source].right)
            held.append(Held(hop.value, True) if right else self._belief(hop, attempt.belief(key)))
        return held

    def _belief(self, hop: Hop, rng: random.Random) -> Held:
        """A wrong value of the hop's kind: a look-alike or same-kind entity, a near figure."""
        subject = self.world.entity(hop.doc_id)
        target = subject.relations.get(hop.relation)
        if target is not None:
            kind = self.world.entity(target).kind
            pool = self.world.lookalikes(target) or self.world.kind_ids(kind)
            names = [self.world.entity(pool[rng.randrange(len(pool))]).name for _ in range(4)]
            names = [n for n in names if not _overlap(n, hop.value)]
            return Held(names[0] if names else "(unknown)", False)
        if hop.value.isdigit():
            return Held(str(_near(int(hop.value), hop.relation, rng)), False)
        other = self.world.entity(rng.choice(self.world.kind_ids(subject.kind)))
        value = other.attributes.get(hop.relation, hop.value)
        return Held(value if value != hop.value else f"not {value}", False)

    def _query(self, evidence: Evidence, held: Sequence[Held], attempt: Attempt) -> str:
        i = self._target(evidence)
        hop = self.question.hops[i]
        source = self._sources[i]
        name = hop.subject if source is None else held[source].value
        key = f"{self._key}:query:{i}"
        if attempt.ok(key):
            return hop.query.replace(hop.subject, name, 1)
        return self._poor_query(i, name, attempt.belief(key))

    def _poor_query(self, i: int, name: str, rng: random.Random) -> str:
        """A real query that finds related but wrong documents: a look-alike's name, the
        question's own words, the previous hop's query again."""
        hop = self.question.hops[i]
        keyword = hop.query[len(hop.subject) :].strip() or hop.relation
        options = []
        lookalikes = self.world.lookalikes(hop.doc_id)
        if lookalikes:
            other = self.world.entity(lookalikes[rng.randrange(len(lookalikes))]).name
            options.append(f"{other} {keyword}")
        # the question's own words, without the names it gives: a vague restatement
        words = [w for w in _WORD.findall(self.question.question) if w.islower()]
        options.append(" ".join(w for w in words if w not in _STOP)[:60] or keyword)
        if i > 0:
            options.append(self.question.hops[i - 1].query)
        return rng.choice(options)

    def _program(self, held: Sequence[Held]) -> str:
        """The program a coder writes over the values it holds."""
        q = self.question
        if q.operation == "chain":
            return f"# the {q.hops[-1].relation.replace('_', ' ')} the context gives\n" + (
                f"print({held[-1].value!r})"
            )
        a, b = q.operands
        if q.operation in ("min", "max"):
            x, y = (self._subject_name(i, held) for i in (a, b))
            return (
                f"values = {{{x!r}: {held[a].value}, {y!r}: {held[b].value}}}\n"
                f"print({q.operation}(values, key=values.get))"
            )
        na, nb = q.hops[a].relation, q.hops[b].relation
        if na == nb:
            na, nb = f"{na}_a", f"{nb}_b"
        body = {"difference": f"{na} - {nb}", "abs_difference": f"abs({na} - {nb})"}
        expression = body.get(q.operation, f"{na} + {nb}")
        return f"{na} = {held[a].value}\n{nb} = {held[b].value}\nprint({expression})"

    def _subject_name(self, i: int, held: Sequence[Held]) -> str:
        source = self._sources[i]
        return self.question.hops[i].subject if source is None else held[source].value

    def _combine(self, held: Sequence[Held], attempt: Attempt) -> str:
        """The answer the model derives from the values it holds; a failed combination is a
        plausible wrong derivation (its own, persistent)."""
        q = self.question
        if q.operation == "chain":
            return held[-1].value
        a, b = q.operands
        slipped = not attempt.ok(f"{self._key}:combine")
        if q.operation in ("min", "max"):
            x, y = (self._subject_name(i, held) for i in (a, b))
            va, vb = _number(held[a].value), _number(held[b].value)
            smaller = x if va <= vb else y
            pick = smaller if q.operation == "min" else (y if smaller == x else x)
            return (y if pick == x else x) if slipped else pick
        va, vb = _number(held[a].value), _number(held[b].value)
        value = {"difference": va - vb, "abs_difference": abs(va - vb)}.get(q.operation, va + vb)
        if slipped:
            rng = attempt.belief(f"{self._key}:combine")
            slips = [value + 1, value - 1, vb - va, va + vb, abs(va - vb)]
            value = rng.choice([s for s in slips if s != value])
        if str(value) == q.answer and not (held[a].right and held[b].right and not slipped):
            value += 1  # wrong values and a slip do not land on the answer by luck
        return str(value)


def _overlap(a: str, b: str) -> bool:
    """Whether one name spells the other as whole words ("East Tracyville", "Tracyville")."""
    a, b = f" {normalize_answer(a)} ", f" {normalize_answer(b)} "
    return a in b or b in a


def _number(text: str) -> int:
    return int(text) if re.fullmatch(r"-?\d+", text) else 0


def _near(value: int, relation: str, rng: random.Random) -> int:
    """A figure a model might misremember: a year a few years off, a count of the same size."""
    if relation.endswith("year") or relation == "year":
        return value + rng.choice([-1, 1]) * rng.randint(1, 15)
    wrong = round(value * rng.uniform(0.55, 1.45), -max(0, len(str(value)) - 3))
    return int(wrong) if int(wrong) != value else value + 1


class MultihopFamily(QuestionFamily):
    """Questions `index` = 0, 1, … over the knowledge world of `world_seed`; difficulties
    raised by `difficulty_offset` ({skill: logit}; default: the bundled profiles')."""

    name = FAMILY

    def __init__(self, world_seed: int = 0, difficulty_offset: Mapping[str, float] | None = None):
        self.world = knowledge_world(world_seed)
        self.offset = family_offset(FAMILY, difficulty_offset)

    def task(self, index: int) -> MultihopTask:
        return MultihopTask(self.world.question(index), self.world, self.offset)

    def grade(self, task: MultihopTask, episode: Episode) -> Grade:
        q = task.question
        correct = episode.answer is not None and answers_match(episode.answer, q.answer, q.aliases)
        return Grade(
            outcome=int(correct),
            details={
                "answer": episode.answer,
                "expected": q.answer,
                "kind": q.kind,
                "hops": len(q.hops),
            },
        )
