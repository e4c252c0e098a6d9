"""The world of a seed and its FRAMES-like multi-hop questions, drawn lazily by index."""

from __future__ import annotations

import functools
import math
import random
from types import MappingProxyType

from orchestra_env.world.builder import Builder
from orchestra_env.world.records import Document, Entity, Hop, MultihopQuestion
from orchestra_env.world.vocabulary import (
    FINAL_ATTRIBUTES,
    WALKS,
    WORK_KINDS,
    capitalise,
    noun_phrase,
    query_keyword,
    question_for,
)


def hidden_names(hops: tuple[Hop, ...] | list[Hop]) -> list[str]:
    """Names a question over `hops` must not spell: every entity and textual value the hops
    reach, except the starting entities (subjects no earlier hop leads to). Numbers and very
    short values are exempt."""
    reached: list[str] = []
    starts: list[str] = []
    for hop in hops:
        if hop.subject not in reached and hop.subject not in starts:
            starts.append(hop.subject)
        reached.append(hop.value)
    names = [n for n in reached if n not in starts and len(n) > 3 and not n.isdigit()]
    return sorted(set(names))


# The logit difficulty of combining the hop values, by kind of question.
COMBINE_DIFFICULTY = {"chain": -1.5, "comparison": 0.0, "arithmetic": 0.6}


class _NoQuestion(Exception):
    """A draw that cannot make a well-formed question; the generator draws again."""


class KnowledgeWorld:
    """The world of `seed`: entities, their documents, and questions by index."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.entities, self.documents, self._inbound = Builder(seed).build()
        kinds: dict[str, list[int]] = {k: [] for k in WALKS}
        stems: dict[str, list[int]] = {}
        for e in self.entities:
            kinds[e.kind].append(e.id)
            stems.setdefault(e.stem, []).append(e.id)
        self._by_kind = MappingProxyType({k: tuple(v) for k, v in kinds.items()})
        self._by_stem = MappingProxyType({k: tuple(v) for k, v in stems.items()})
        self._lookalikes: dict[int, tuple[int, ...]] = {}  # filled as entities are asked about

    def __reduce__(self):
        # Pickles as its seed: the other process gets (or builds) the identical world.
        return knowledge_world, (self.seed,)

    def document(self, doc_id: int) -> Document:
        return self.documents[doc_id]

    def entity(self, entity_id: int) -> Entity:
        return self.entities[entity_id]

    def kind_ids(self, kind: str) -> tuple[int, ...]:
        """The ids of every entity of `kind`."""
        return self._by_kind[kind]

    def lookalikes(self, entity_id: int) -> tuple[int, ...]:
        """The other entities whose names share this one's stem (surname, company stem…)."""
        found = self._lookalikes.get(entity_id)
        if found is None:
            stem = self.entities[entity_id].stem
            found = tuple(i for i in self._by_stem[stem] if i != entity_id)
            self._lookalikes[entity_id] = found
        return found

    def question(self, index: int) -> MultihopQuestion:
        """Question `index` (any index >= 0): the same in every process."""
        if index < 0:
            raise ValueError(f"question index must be >= 0, got {index}")
        rng = random.Random(f"orchestra-question/{self.seed}/{index}")
        r = rng.random()
        kind = "chain" if r < 0.6 else "arithmetic" if r < 0.8 else "comparison"
        maker = {
            "chain": self._chain,
            "arithmetic": self._arithmetic,
            "comparison": self._comparison,
        }[kind]
        for _ in range(200):
            try:
                return self._finish(index, kind, *maker(rng))
            except _NoQuestion:
                continue
        raise RuntimeError(f"no question could be drawn for index {index}")  # pragma: no cover

    # -- pieces ------------------------------------------------------------------------

    def _hop(self, subject: Entity, relation: str) -> Hop:
        target = subject.relations.get(relation)
        value = self.entities[target].name if target is not None else subject.attributes[relation]
        qualifier = f" {subject.subtype}" if subject.kind == "work" else ""
        return Hop(
            subject=subject.name,
            relation=relation,
            value=value,
            doc_id=subject.id,
            query=f"{subject.name}{qualifier} {query_keyword(relation, subject)}",
            popularity=subject.popularity,
        )

    def _random(self, rng: random.Random, kind: str | None = None) -> Entity:
        ids = self._by_kind[kind] if kind else None
        if ids is None:
            return self.entities[rng.randrange(len(self.entities))]
        return self.entities[ids[rng.randrange(len(ids))]]

    def _walk(self, start: Entity, steps: int, rng: random.Random, seen: set[int]):
        """Follow `steps` random relations from `start`: (end entity, noun phrase, hops)."""
        e, phrase, hops = start, start.label, []
        for _ in range(steps):
            options = [r for r in WALKS[e.kind] if r in e.relations and e.relations[r] not in seen]
            if not options:
                raise _NoQuestion
            rel = options[rng.randrange(len(options))]
            hops.append(self._hop(e, rel))
            phrase = noun_phrase(rel, e, phrase)
            e = self.entities[e.relations[rel]]
            seen.add(e.id)
        return e, phrase, hops

    def _towards(self, kind: str, steps: int, rng: random.Random, seen: set[int]):
        """A walk of `steps` relations that ends at an entity of `kind`, drawn backwards from
        its end: (end entity, noun phrase, hops)."""
        end = self._random(rng, kind)
        if end.id in seen:
            raise _NoQuestion
        path, e = [], end
        for _ in range(steps):
            options = [
                (rel, j)
                for rel, j in self._inbound[e.id]
                if j not in seen and j != end.id and all(j != p for _, p in path)
            ]
            if not options:
                raise _NoQuestion
            rel, j = options[rng.randrange(len(options))]
            path.append((rel, j))
            e = self.entities[j]
        start = e
        phrase, hops = start.label, []
        for rel, j in reversed(path):
            subject = self.entities[j]
            hops.append(self._hop(subject, rel))
            phrase = noun_phrase(rel, subject, phrase)
        seen.add(end.id)
        seen.update(j for _, j in path)
        return end, phrase, hops

    def _chain(self, rng: random.Random):
        n = rng.choices((2, 3, 4), weights=(0.4, 0.35, 0.25))[0]
        start = self._random(rng)
        seen = {start.id}
        end, phrase, hops = self._walk(start, n - 1, rng, seen)
        finals = list(FINAL_ATTRIBUTES[end.kind])
        finals += [
            r for r in WALKS[end.kind] if r in end.relations and end.relations[r] not in seen
        ]
        rel = finals[rng.randrange(len(finals))]
        hop = self._hop(end, rel)
        hops.append(hop)
        target = end.relations.get(rel)
        aliases = self.entities[target].aliases if target is not None else ()
        return question_for(rel, end, phrase), hop.value, aliases, hops, None, "chain", (n - 1,)

    def _arithmetic(self, rng: random.Random):
        form = rng.choice(
            ("org_age", "org_age", "work_age", "event_age", "born_apart", "population_sum")
        )
        seen: set[int] = set()
        if form == "org_age":
            org, phrase, hops = self._towards("organisation", rng.choice((0, 1, 1)), rng, seen)
            founder = self.entities[org.relations["founder"]]
            if founder.id in seen:
                raise _NoQuestion
            hops += [
                self._hop(org, "founded_year"),
                self._hop(org, "founder"),
                self._hop(founder, "birth_year"),
            ]
            a, b = int(org.attributes["founded_year"]), int(founder.attributes["birth_year"])
            question = f"How many years after its founder's birth was {phrase} founded?"
            program = f"founded = {a}\nfounder_born = {b}\nprint(founded - founder_born)"
            n = len(hops)
            return question, str(a - b), (), hops, program, "difference", (n - 3, n - 1)
        if form == "work_age":
            work = self._random(rng, "work")
            creator = self.entities[work.relations["creator"]]
            noun, release = WORK_KINDS[work.subtype].creator, WORK_KINDS[work.subtype].released
            hops = [
                self._hop(work, "creator"),
                self._hop(creator, "birth_year"),
                self._hop(work, "release_year"),
            ]
            a, b = int(work.attributes["release_year"]), int(creator.attributes["birth_year"])
            question = f"How many years after the birth of its {noun} was {work.label} {release}?"
            program = f"{release} = {a}\n{noun}_born = {b}\nprint({release} - {noun}_born)"
            return question, str(a - b), (), hops, program, "difference", (2, 1)
        if form == "event_age":
            event = self._random(rng, "event")
            org = self.entities[event.relations["organiser"]]
            hops = [
                self._hop(event, "organiser"),
                self._hop(org, "founded_year"),
                self._hop(event, "year"),
            ]
            a, b = int(event.attributes["year"]), int(org.attributes["founded_year"])
            if a <= b:
                raise _NoQuestion
            question = (
                f"How many years after its organiser was founded did {event.label} take place?"
            )
            program = (
                f"event_year = {a}\norganiser_founded = {b}\nprint(event_year - organiser_founded)"
            )
            return question, str(a - b), (), hops, program, "difference", (2, 1)
        kind, attr = ("person", "birth_year") if form == "born_apart" else ("place", "population")
        x, px, hx = self._towards(kind, rng.choice((1, 1, 2)), rng, seen)
        y, py, hy = self._towards(kind, rng.choice((1, 1, 2)), rng, seen)
        a, b = int(x.attributes[attr]), int(y.attributes[attr])
        hops = hx + [self._hop(x, attr)] + hy + [self._hop(y, attr)]
        operands = (len(hx), len(hops) - 1)
        if form == "born_apart":
            if a == b:
                raise _NoQuestion
            question = f"How many years apart were {px} and {py} born?"
            program = f"born_a = {a}\nborn_b = {b}\nprint(abs(born_a - born_b))"
            return question, str(abs(a - b)), (), hops, program, "abs_difference", operands
        question = f"What is the combined population of {px} and {py}?"
        program = f"population_a = {a}\npopulation_b = {b}\nprint(population_a + population_b)"
        return question, str(a + b), (), hops, program, "sum", operands

    def _comparison(self, rng: random.Random):
        kind, attr, question, pick = rng.choice(
            (
                ("organisation", "founded_year", "Which was founded earlier, {a} or {b}?", min),
                ("organisation", "employees", "Which has more employees, {a} or {b}?", max),
                ("person", "birth_year", "Who was born first, {a} or {b}?", min),
                ("place", "population", "Which city has the larger population, {a} or {b}?", max),
            )
        )
        seen: set[int] = set()
        x, px, hx = self._towards(kind, rng.choice((1, 1, 2)), rng, seen)
        y, py, hy = self._towards(kind, rng.choice((1, 1, 2)), rng, seen)
        a, b = int(x.attributes[attr]), int(y.attributes[attr])
        if a == b:
            raise _NoQuestion
        winner = x if pick(a, b) == a else y
        hops = hx + [self._hop(x, attr)] + hy + [self._hop(y, attr)]
        program = (
            f"values = {{{x.name!r}: {a}, {y.name!r}: {b}}}\n"
            f"print({pick.__name__}(values, key=values.get))"
        )
        operands = (len(hx), len(hops) - 1)
        return (
            question.format(a=px, b=py),
            winner.name,
            winner.aliases,
            hops,
            program,
            pick.__name__,
            operands,
        )

    def _finish(
        self, index, kind, question, answer, aliases, hops, program, operation, operands
    ) -> MultihopQuestion:
        question = capitalise(question)
        # The question names its starting entities only; a draw where an intermediate entity or
        # the answer happens to be spelled inside it (an event named after its host city...) is
        # redrawn.
        lowered = question.lower()
        if any(name.lower() in lowered for name in hidden_names(hops)):
            raise _NoQuestion
        docs = [self.documents[h.doc_id] for h in hops]
        web = sum(not d.local for d in docs)
        subjects = [self.entities[h.doc_id] for h in hops]
        confusion = sum(math.log2(1 + e.lookalikes) for e in subjects) / len(subjects)
        obscurity = sum(1 - h.popularity for h in hops) / len(hops)
        n = len(hops)
        big = kind == "arithmetic" and any(len(h.value) > 5 and h.value.isdigit() for h in hops)
        # A summary of what makes the question hard, from the hops themselves (the simulated
        # experts draw each hop's checks from that hop: tasks/multihop.py).
        difficulty = {
            "knowledge": -1.6 + 0.45 * (n - 2) + 2.0 * obscurity + 0.35 * web,
            "query_writing": -1.5 + 0.55 * confusion + 0.2 * (n - 2) + 0.4 * (web > 0),
            "reading": -1.6 + 0.25 * (n - 2) + 0.3 * confusion + 0.4 * (kind != "chain"),
            "reasoning": COMBINE_DIFFICULTY[kind] + 0.3 * (n - 2) + 0.5 * big,
        }
        difficulty = {k: round(min(3.0, max(-3.0, v)), 3) for k, v in difficulty.items()}
        return MultihopQuestion(
            index=index,
            question=question,
            answer=answer,
            aliases=tuple(aliases),
            hops=tuple(hops),
            kind=kind,
            needs_web=web > 0,
            difficulty=difficulty,
            program=program,
            operation=operation,
            operands=operands,
        )


@functools.lru_cache(maxsize=8)
def knowledge_world(seed: int = 0) -> KnowledgeWorld:
    """The world of `seed`, built once per process."""
    return KnowledgeWorld(seed)
