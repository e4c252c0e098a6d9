"""A generated knowledge world, its document corpus and FRAMES-like multi-hop questions.

One world per seed: people, organisations, places, creative works and events drawn with a
seeded `Faker` and a seeded `random.Random`, tied together by typed relations

    person -> birthplace (place), employer (organisation), spouse (person)
    organisation -> founder (person), headquarters (place)
    place -> mayor (person)
    work -> creator (person: author / director / artist / designer), publisher (organisation)
    event -> location (place), organiser (organisation)

and carrying attributes (person.birth_year; organisation.founded_year, .employees;
place.population, .founded_year, .country; work.release_year; event.year, .attendance).
Every entity gets one encyclopedic document that states all of its facts (and mentions a few
facts pointing at it). Names come in deliberate look-alike clusters — people sharing surnames,
"Halvorsen Group" / "Halvorsen Holdings" / a person called Halvorsen, "North Jessicaton" /
"Jessicaton", the same title for a novel and a film, yearly editions of one festival — so that
a vague query retrieves the wrong document and a targeted one the right one. About a quarter of
the documents (fewer among popular entities) are web-only: the local corpus lacks them.

Questions are generated lazily and deterministically from (seed, index): chains of 2–4 hops
("In which year was the founder of the company that published the novel 'X' born?"),
arithmetic over hop values ("How many years after its founder's birth was ... founded?",
sums and differences over two chains), and comparisons of two chains ("Which was founded
earlier, ... or ...?"). A question names only its starting entities, never the intermediate
ones. Each hop records the document that states it and the targeted query a competent
searcher writes for it. Difficulty (per skill, logit scale, clipped to ±3) grows with the
number of hops, web-only hops, look-alike density of the hops' subjects, their obscurity
(1 − popularity), and arithmetic / comparison.

Everything is byte-identical for a seed in any process: no `hash()` of strings, no iteration
over sets, no global random state.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

# ----------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class Document:
    doc_id: int  # index into KnowledgeWorld.documents
    title: str  # the entity's name
    text: str  # encyclopedic prose stating the entity's facts
    local: bool  # True: in the local corpus; False: only in the (priced) web corpus


@dataclass(frozen=True)
class Hop:
    subject: str  # name of the entity the hop starts from
    relation: str  # e.g. "founder", "birthplace", "founded_year"
    value: str  # the hop's answer as text (an entity name or an attribute value)
    doc_id: int  # the document that states this fact
    query: str  # the targeted search query a competent model writes for this hop
    popularity: float  # 0..1: how well-known the fact is


@dataclass(frozen=True)
class MultihopQuestion:
    index: int
    question: str
    answer: str
    aliases: tuple[str, ...]  # other accepted answers (e.g. a person's full name)
    hops: tuple[Hop, ...]  # every fact needed, in the order a solver resolves them
    kind: str  # "chain" | "arithmetic" | "comparison"
    needs_web: bool  # some hop's document is web-only
    difficulty: dict[str, float]  # per skill, logit scale -3..3
    program: str | None  # arithmetic/comparison: reference program printing the answer


@dataclass(frozen=True)
class Entity:
    """A thing in the world; its document has the same id."""

    id: int
    kind: str  # "person" | "organisation" | "place" | "work" | "event"
    name: str  # as questions, answers and document texts spell it
    label: str  # the noun phrase that names it in a question ("the novel 'X'")
    aliases: tuple[str, ...]  # other accepted spellings of the name
    subtype: str  # work kind ("novel", ...), event type ("jazz festival", ...), else ""
    stem: str  # the name part it shares with its look-alikes (surname, company stem, ...)
    lookalikes: int  # how many other entities share `stem`
    popularity: float  # 0..1
    relations: dict[str, int]  # relation -> entity id
    attributes: dict[str, str]  # attribute -> value as text


# ----------------------------------------------------------------------------- vocabulary

N_PEOPLE, N_ORGS, N_PLACES, N_WORKS, N_EVENTS = 4000, 2200, 1300, 2000, 1000
FIRST_YEAR, LAST_YEAR = 1900, 2024

# Company suffixes beyond Faker's six (Inc, and Sons, LLC, Group, PLC, Ltd).
_ORG_SUFFIXES = ("Holdings", "Industries", "Dynamics", "Media", "Systems", "Partners", "Labs")

class _WorkKind(NamedTuple):
    creator: str  # "author": "the author of the novel 'X'"
    made_by: str  # "written by": in the document
    made: str  # "wrote": "Who wrote the novel 'X'?"
    publisher: str  # "company": "Which company published the novel 'X'?"
    published: str  # "published": "the company that published the novel 'X'"
    released: str  # "published": "In which year was the novel 'X' published?"


_WORK_KINDS = MappingProxyType(
    {
        "novel": _WorkKind("author", "written by", "wrote", "company", "published", "published"),
        "film": _WorkKind("director", "directed by", "directed", "studio", "produced", "released"),
        "album": _WorkKind("artist", "recorded by", "recorded", "record label", "released", "released"),
        "video game": _WorkKind("designer", "designed by", "designed", "company", "published", "released"),
    }
)
_WORK_KIND_NAMES = tuple(_WORK_KINDS)

# Faker has no event types: (name part, description).
_EVENT_TYPES = (
    ("Film Festival", "film festival"),
    ("Jazz Festival", "jazz festival"),
    ("Book Fair", "book fair"),
    ("Chess Open", "chess tournament"),
    ("Marathon", "city marathon"),
    ("Science Summit", "scientific conference"),
    ("Trade Expo", "trade exhibition"),
    ("Music Awards", "music award ceremony"),
    ("Regatta", "sailing regatta"),
    ("Design Week", "design festival"),
)

# relation -> (subject kind, object kind or None for an attribute, query keyword).
RELATIONS = MappingProxyType(
    {
        "birthplace": ("person", "place", "born"),
        "employer": ("person", "organisation", "worked"),
        "spouse": ("person", "person", "married"),
        "birth_year": ("person", None, "born"),
        "founder": ("organisation", "person", "founder"),
        "headquarters": ("organisation", "place", "headquartered"),
        "founded_year": ("organisation", None, "founded"),  # also place
        "employees": ("organisation", None, "employees"),
        "mayor": ("place", "person", "mayor"),
        "population": ("place", None, "population"),
        "country": ("place", None, "country"),
        "creator": ("work", "person", ""),  # keyword: the kind's creator noun
        "publisher": ("work", "organisation", ""),  # keyword: the kind's publisher verb
        "release_year": ("work", None, ""),  # keyword: the kind's release verb
        "location": ("event", "place", "held"),
        "organiser": ("event", "organisation", "organised"),
        "year": ("event", None, "year"),
        "attendance": ("event", None, "attended"),
    }
)

# Relations a chain may walk through, per subject kind, and the attributes it may end on.
_WALKS = MappingProxyType(
    {
        "person": ("birthplace", "employer", "spouse"),
        "organisation": ("founder", "headquarters"),
        "place": ("mayor",),
        "work": ("creator", "publisher"),
        "event": ("location", "organiser"),
    }
)
_FINAL_ATTRIBUTES = MappingProxyType(
    {
        "person": ("birth_year",),
        "organisation": ("founded_year", "employees"),
        "place": ("population", "founded_year", "country"),
        "work": ("release_year",),
        "event": ("attendance",),
    }
)


# ----------------------------------------------------------------------------- phrasing


def _np(relation: str, subject: Entity, s: str) -> str:
    """Noun phrase for `relation` of the entity described by `s`."""
    if relation == "creator":
        return f"the {_WORK_KINDS[subject.subtype].creator} of {s}"
    if relation == "publisher":
        work = _WORK_KINDS[subject.subtype]
        return f"the {work.publisher} that {work.published} {s}"
    return {
        "birthplace": "the birthplace of {s}",
        "employer": "the employer of {s}",
        "spouse": "the spouse of {s}",
        "founder": "the founder of {s}",
        "headquarters": "the city where {s} is headquartered",
        "mayor": "the mayor of {s}",
        "location": "the city that hosted {s}",
        "organiser": "the organiser of {s}",
    }[relation].format(s=s)


def _ask(relation: str, subject: Entity, s: str) -> str:
    """The question whose answer is `relation` of the entity described by `s`."""
    if subject.kind == "work":
        work = _WORK_KINDS[subject.subtype]
        if relation == "creator":
            return f"Who {work.made} {s}?"
        if relation == "publisher":
            return f"Which {work.publisher} {work.published} {s}?"
        return f"In which year was {s} {work.released}?"
    return {
        "birthplace": "In which city was {s} born?",
        "employer": "Which organisation did {s} work for?",
        "spouse": "Who was {s} married to?",
        "birth_year": "In which year was {s} born?",
        "founder": "Who founded {s}?",
        "headquarters": "In which city is {s} headquartered?",
        "founded_year": "In which year was {s} founded?",
        "employees": "How many people does {s} employ?",
        "mayor": "Who is the mayor of {s}?",
        "population": "What is the population of {s}?",
        "country": "In which country is {s}?",
        "location": "In which city was {s} held?",
        "organiser": "Which organisation organised {s}?",
        "attendance": "How many people attended {s}?",
    }[relation].format(s=s)


def _keyword(relation: str, subject: Entity) -> str:
    if subject.kind == "work":
        work = _WORK_KINDS[subject.subtype]
        return {"creator": work.creator, "publisher": work.published}.get(relation, work.released)
    return RELATIONS[relation][2]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- building


class _Draft:
    """A mutable entity while the world is built."""

    __slots__ = ("kind", "name", "label", "aliases", "subtype", "stem", "popularity", "rel", "attr",
                 "full", "female", "extra", "motto", "early")

    def __init__(self, kind: str, name: str, stem: str, popularity: float, subtype: str = ""):
        self.kind, self.name, self.stem, self.subtype = kind, name, stem, subtype
        self.label = name
        self.aliases: tuple[str, ...] = ()
        self.popularity = popularity
        self.rel: dict[str, int] = {}
        self.attr: dict[str, int | str] = {}
        self.full = name
        self.female = False
        self.extra = ""  # Faker-drawn flavour phrases for the document: no facts, no numbers
        self.motto = ""
        self.early = ""


def _popularity(rng: random.Random) -> float:
    return round(rng.random() ** 2, 3)  # most entities obscure, a few famous


def _job(raw: str) -> str:
    """Faker's 'Designer, furniture' -> 'furniture designer'."""
    if ", " in raw:
        head, tail = raw.split(", ", 1)
        raw = f"{tail} {head}"
    return raw.lower()


def _motto(fake) -> str:
    """A Faker catch phrase without digits (which would read as facts)."""
    while True:
        phrase = fake.catch_phrase()
        if not any(c.isdigit() for c in phrase):
            return phrase


def _a(noun_phrase: str) -> str:
    return ("an " if noun_phrase[:1] in "aeiou" else "a ") + noun_phrase


def _title_case(phrase: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in phrase.replace("-", "- ").split()).replace("- ", "-")


class _Builder:
    def __init__(self, seed: int):
        from faker import Faker  # slow to import: only when a world is built

        self.rng = random.Random(f"orchestra-world/{seed}")
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.drafts: list[_Draft] = []
        self.taken: set[str] = set()  # membership only
        self.by_kind: dict[str, list[int]] = {k: [] for k in _WALKS}

    def add(self, draft: _Draft) -> int:
        self.drafts.append(draft)
        self.by_kind[draft.kind].append(len(self.drafts) - 1)
        self.taken.add(draft.name)
        return len(self.drafts) - 1

    def pick(self, kind: str, ok=None, tries: int = 12) -> int:
        """A random entity of `kind`, biased towards popular ones, preferably satisfying `ok`."""
        ids, rng = self.by_kind[kind], self.rng
        choice = ids[0]
        for _ in range(tries):
            choice = ids[rng.randrange(len(ids))]
            accept = rng.random() < 0.25 + 0.75 * self.drafts[choice].popularity
            if accept and (ok is None or ok(self.drafts[choice])):
                return choice
        return choice

    # -- entities ----------------------------------------------------------------------

    def people(self) -> None:
        fake, rng = self.fake, self.rng
        while len(self.by_kind["person"]) < N_PEOPLE:
            female = rng.random() < 0.5
            first = fake.first_name_female() if female else fake.first_name_male()
            last = fake.last_name()
            short = f"{first} {last}"
            if short in self.taken:
                continue
            full = short
            if rng.random() < 0.45:
                middle = fake.first_name_female() if female else fake.first_name_male()
                if middle != first:
                    full = f"{first} {middle} {last}"
            d = _Draft("person", short, last, _popularity(rng))
            d.full, d.female = full, female
            d.aliases = (full,) if full != short else ()
            d.attr["birth_year"] = rng.randint(FIRST_YEAR, 1995)
            d.extra, d.early = _job(fake.job()), _job(fake.job())
            d.motto = fake.bs()
            self.add(d)

    def places(self) -> None:
        fake, rng = self.fake, self.rng
        prefixes = ("North", "East", "West", "South", "New", "Lake", "Port")  # Faker's city prefixes
        while len(self.by_kind["place"]) < N_PLACES:
            city = fake.city()
            first, _, rest = city.partition(" ")
            base = rest if first in prefixes and rest else city
            # "Lake Emily" gives "North Emily" but no bare "Emily"; "Collinston" gives both.
            variants = [f"{p} {base}" for p in prefixes] + ([city] if base == city else [])
            rng.shuffle(variants)
            for name in variants[: rng.choice((1, 1, 2, 2, 3))]:
                if name in self.taken:
                    continue
                d = _Draft("place", name, base, _popularity(rng))
                d.attr["population"] = int(10 ** rng.uniform(3.3, 6.9))
                d.attr["founded_year"] = rng.randint(1620, 1950)
                d.attr["country"] = fake.country()
                d.extra = fake.bs()
                d.motto = fake.street_name()
                self.add(d)

    def organisations(self) -> None:
        fake, rng = self.fake, self.rng
        people = self.by_kind["person"]
        while len(self.by_kind["organisation"]) < N_ORGS:
            # Half the stems are a founder's surname ("Halvorsen Group" founded by a Halvorsen).
            founder_hint = people[rng.randrange(len(people))] if rng.random() < 0.5 else None
            stem = self.drafts[founder_hint].stem if founder_hint is not None else fake.last_name()
            if rng.random() < 0.15:
                stem = f"{stem}-{fake.last_name()}"
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                suffix = fake.company_suffix() if rng.random() < 0.45 else rng.choice(_ORG_SUFFIXES)
                name = f"{stem} {suffix}"
                if name in self.taken:
                    continue
                d = _Draft("organisation", name, stem.split("-")[0], _popularity(rng))
                if founder_hint is not None and rng.random() < 0.6:
                    founder = founder_hint
                else:
                    founder = self.pick("person", lambda p: p.attr["birth_year"] <= 1975)
                by = self.drafts[founder].attr["birth_year"]
                d.rel["founder"] = founder
                d.rel["headquarters"] = self.pick("place")
                d.attr["founded_year"] = min(LAST_YEAR - 2, by + rng.randint(22, 50))
                d.attr["employees"] = int(10 ** rng.uniform(1.0, 5.3))
                d.extra = fake.bs()
                d.motto = _motto(fake)
                self.add(d)

    def works(self) -> None:
        fake, rng = self.fake, self.rng
        titles: list[tuple[str, str]] = []  # (title, kind) so far, for same-title look-alikes
        made: set[tuple[str, str]] = set()  # membership only
        while len(self.by_kind["work"]) < N_WORKS:
            if titles and rng.random() < 0.2:
                title, other = titles[rng.randrange(len(titles))]
                kind = rng.choice([k for k in _WORK_KIND_NAMES if k != other])
                if (title, kind) in made:
                    continue
            else:
                phrase = fake.catch_phrase()
                if any(c.isdigit() or c == "/" for c in phrase):
                    continue
                title = _title_case(phrase)
                if title in self.taken:
                    continue
                kind = rng.choice(_WORK_KIND_NAMES)
            d = _Draft("work", title, title, _popularity(rng), subtype=kind)
            d.label = f"the {kind} '{title}'"
            creator = self.pick("person", lambda p: p.attr["birth_year"] <= 1990)
            born = self.drafts[creator].attr["birth_year"]
            year = min(LAST_YEAR, born + rng.randint(20, 60))
            d.rel["creator"] = creator
            d.rel["publisher"] = self.pick("organisation", lambda o, y=year: o.attr["founded_year"] < y)
            d.attr["release_year"] = year
            d.extra = f"{_job(fake.job())} who sets out to {fake.bs()}"
            d.motto = _motto(fake).lower()
            titles.append((title, kind))
            made.add((title, kind))
            self.add(d)

    def events(self) -> None:
        fake, rng = self.fake, self.rng
        while len(self.by_kind["event"]) < N_EVENTS:
            stem = fake.last_name() if rng.random() < 0.6 else self.drafts[self.pick("place")].stem
            part, desc = rng.choice(_EVENT_TYPES)
            years = sorted(rng.sample(range(1950, LAST_YEAR), rng.choice((1, 2, 2, 3, 4))))
            for year in years:
                name = f"{year} {stem} {part}"
                if name in self.taken:
                    continue
                d = _Draft("event", name, stem, _popularity(rng), subtype=desc)
                d.label = f"the {name}"
                d.rel["location"] = self.pick("place")
                d.rel["organiser"] = self.pick("organisation", lambda o, y=year: o.attr["founded_year"] < y)
                d.attr["year"] = year
                d.attr["attendance"] = int(10 ** rng.uniform(2.3, 5.6))
                d.extra, d.motto = fake.bs(), _motto(fake)
                self.add(d)

    def link(self) -> None:
        """Relations that need every kind to exist: birthplaces, employers, spouses, mayors."""
        rng = self.rng
        people = self.by_kind["person"]
        for i in people:
            p = self.drafts[i]
            p.rel["birthplace"] = self.pick("place")
            p.rel["employer"] = self.pick("organisation")
        married = [i for i in people if rng.random() < 0.6]
        # Spouses are close in age: pair neighbours in birth year, jittered.
        married.sort(key=lambda i: (self.drafts[i].attr["birth_year"] + rng.uniform(-8, 8), i))
        for a, b in zip(married[0::2], married[1::2], strict=False):
            self.drafts[a].rel["spouse"] = b
            self.drafts[b].rel["spouse"] = a
        for i in self.by_kind["place"]:
            self.drafts[i].rel["mayor"] = self.pick("person", lambda p: 1935 <= p.attr["birth_year"] <= 1985)

    # -- freezing ----------------------------------------------------------------------

    def build(self) -> tuple[tuple[Entity, ...], tuple[Document, ...], tuple[tuple[tuple[str, int], ...], ...]]:
        """Entities, their documents, and per entity the (relation, entity id) pointing at it."""
        self.people()
        self.places()
        self.organisations()
        self.works()
        self.events()
        self.link()
        drafts, rng = self.drafts, self.rng
        stems: dict[str, int] = {}
        for d in drafts:
            stems[d.stem] = stems.get(d.stem, 0) + 1
        inbound: list[list[tuple[str, int]]] = [[] for _ in drafts]
        for i, d in enumerate(drafts):
            for rel, j in d.rel.items():
                inbound[j].append((rel, i))
        entities = tuple(
            Entity(
                id=i,
                kind=d.kind,
                name=d.name,
                label=d.label,
                aliases=d.aliases,
                subtype=d.subtype,
                stem=d.stem,
                lookalikes=stems[d.stem] - 1,
                popularity=d.popularity,
                relations=dict(d.rel),
                attributes={k: str(v) for k, v in d.attr.items()},
            )
            for i, d in enumerate(drafts)
        )
        documents = tuple(
            Document(
                doc_id=i,
                title=d.name,
                text=_WRITERS[d.kind](d, drafts, inbound[i], rng),
                # Web-only: ~33% of obscure entities, ~13% of famous ones.
                local=rng.random() >= 0.33 - 0.2 * d.popularity,
            )
            for i, d in enumerate(drafts)
        )
        return entities, documents, tuple(tuple(x) for x in inbound)


# ----------------------------------------------------------------------------- documents


def _names(ids: list[int], drafts: list[_Draft], limit: int = 3) -> str:
    names = [drafts[i].name for i in ids[:limit]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _person_text(d: _Draft, drafts, inbound, rng: random.Random) -> str:
    he, his = ("She", "her") if d.female else ("He", "his")
    by, place = d.attr["birth_year"], drafts[d.rel["birthplace"]].name
    employer = drafts[d.rel["employer"]].name
    out = [
        rng.choice(
            (
                f"{d.full} (born {by}) is {_a(d.extra)} who was born in {place}.",
                f"{d.full} is {_a(d.extra)}, born in {place} in {by}.",
                f"{d.full} was born in {by} in {place} and became {_a(d.extra)}.",
            )
        )
    ]
    if d.full != d.name:
        out.append(f"{he} is generally known as {d.name}.")
    out.append(
        rng.choice(
            (
                f"{d.name} worked for {employer} for most of {his} career.",
                f"For much of {his} career {d.name} worked for {employer}.",
            )
        )
    )
    if "spouse" in d.rel:
        out.append(f"{d.name} was married to {drafts[d.rel['spouse']].name}.")
    out.append(f"Before that, {d.name} spent several years as {_a(d.early)}.")
    out.append(
        rng.choice(
            (
                f"Throughout {his} working life {d.name} argued that organisations should {d.motto}.",
                f"{d.name} is best remembered for a long campaign to {d.motto}.",
                f"Colleagues recall that {d.name} wanted every team to {d.motto}.",
            )
        )
    )
    founded = [j for rel, j in inbound if rel == "founder"]
    for j in founded[:2]:
        out.append(f"In {drafts[j].attr['founded_year']} {d.name} founded {drafts[j].name}.")
    made = [j for rel, j in inbound if rel == "creator"]
    if made:
        titles = ", ".join(f"the {drafts[j].subtype} '{drafts[j].name}'" for j in made[:3])
        out.append(f"{he} is credited with {titles}.")
    mayor = [j for rel, j in inbound if rel == "mayor"]
    if mayor:
        out.append(f"{he} is the mayor of {_names(mayor, drafts, 2)}.")
    return " ".join(out)


def _org_text(d: _Draft, drafts, inbound, rng: random.Random) -> str:
    hq, founder = drafts[d.rel["headquarters"]].name, drafts[d.rel["founder"]].name
    fy, staff = d.attr["founded_year"], d.attr["employees"]
    out = [
        rng.choice(
            (
                f"{d.name} is a company headquartered in {hq}.",
                f"{d.name} is headquartered in {hq}; its stated mission is to {d.extra}.",
            )
        ),
        rng.choice(
            (
                f"{d.name} was founded in {fy} by {founder}, its founder and first chief executive.",
                f"Its founder, {founder}, founded {d.name} in {fy}.",
            )
        ),
        f"{d.name} has {staff} employees.",
        f"Its public slogan is '{d.motto}', which appears on all of its products.",
    ]
    if "mission" not in out[0]:
        out.append(f"The company says its mission is to {d.extra}.")
    works = [j for rel, j in inbound if rel == "publisher"]
    if works:
        titles = ", ".join(f"the {drafts[j].subtype} '{drafts[j].name}'" for j in works[:3])
        out.append(f"Its catalogue includes {titles}.")
    events = [j for rel, j in inbound if rel == "organiser"]
    if events:
        out.append(f"It organised the {_names(events, drafts, 2)}.")
    staff_ids = [j for rel, j in inbound if rel == "employer"]
    if staff_ids:
        out.append(f"Notable staff have included {_names(staff_ids, drafts)}.")
    return " ".join(out)


def _place_text(d: _Draft, drafts, inbound, rng: random.Random) -> str:
    pop, fy, country = d.attr["population"], d.attr["founded_year"], d.attr["country"]
    mayor = drafts[d.rel["mayor"]].name
    out = [
        rng.choice(
            (
                f"{d.name} is a city in the country of {country}, founded in {fy}.",
                f"Founded in {fy}, {d.name} is a city in the country of {country}.",
            )
        ),
        f"{d.name} has a population of {pop}.",
        f"The mayor of {d.name} is {mayor}.",
        f"Its economy is known for firms that {d.extra}.",
        f"The old town centre of {d.name} is laid out around {d.motto}, its best-known street.",
    ]
    hq = [j for rel, j in inbound if rel == "headquarters"]
    if hq:
        out.append(f"Companies headquartered in {d.name} include {_names(hq, drafts)}.")
    born = [j for rel, j in inbound if rel == "birthplace"]
    if born:
        out.append(f"People born in {d.name} include {_names(born, drafts)}.")
    hosted = [j for rel, j in inbound if rel == "location"]
    if hosted:
        out.append(f"{d.name} hosted the {_names(hosted, drafts, 2)}.")
    return " ".join(out)


def _work_text(d: _Draft, drafts, inbound, rng: random.Random) -> str:
    work = _WORK_KINDS[d.subtype]
    creator, publisher = drafts[d.rel["creator"]].name, drafts[d.rel["publisher"]].name
    year = d.attr["release_year"]
    return " ".join(
        (
            rng.choice(
                (
                    f"{d.name} is {_a(d.subtype)} {work.made_by} {creator}, {work.released} in {year}.",
                    f"{d.name} is a {year} {d.subtype} {work.made_by} {creator}.",
                )
            ),
            f"Its {work.creator}, {creator}, is the {d.subtype}'s sole credited {work.creator}.",
            f"The {d.subtype} was {work.published} by {publisher} and first {work.released} in {year}.",
            f"It follows {_a(d.extra)}.",
            f"Reviewers praised its {d.motto} and its unusual structure, and it is still widely discussed "
            "among enthusiasts.",
        )
    )


def _event_text(d: _Draft, drafts, inbound, rng: random.Random) -> str:
    place, org = drafts[d.rel["location"]].name, drafts[d.rel["organiser"]].name
    year, people = d.attr["year"], d.attr["attendance"]
    return " ".join(
        (
            rng.choice(
                (
                    f"The {d.name} was a {d.subtype} held in {place} in {year}.",
                    f"The {d.name}, a {d.subtype}, was held in {year} in the city of {place}.",
                )
            ),
            f"It was organised by {org}, the event's organiser.",
            rng.choice(
                (
                    f"The {d.name} was attended by {people} people.",
                    f"{people} people attended the {year} edition.",
                )
            ),
            f"It was one edition of the {d.name.split(' ', 1)[1]}, a recurring {d.subtype}.",
            f"That year's programme, advertised as '{d.motto}', invited participants to {d.extra}.",
        )
    )


_WRITERS = MappingProxyType(
    {
        "person": _person_text,
        "organisation": _org_text,
        "place": _place_text,
        "work": _work_text,
        "event": _event_text,
    }
)


# ----------------------------------------------------------------------------- questions


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


class _NoQuestion(Exception):
    """A draw that cannot make a well-formed question; the generator draws again."""


class KnowledgeWorld:
    """The world of `seed`: entities, their documents, and questions by index."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.entities, self.documents, self._inbound = _Builder(seed).build()
        kinds: dict[str, list[int]] = {k: [] for k in _WALKS}
        for e in self.entities:
            kinds[e.kind].append(e.id)
        self._by_kind = MappingProxyType({k: tuple(v) for k, v in kinds.items()})

    def __reduce__(self):
        # Pickles as its seed: the other process gets (or builds) the identical world.
        return knowledge_world, (self.seed,)

    def document(self, doc_id: int) -> Document:
        return self.documents[doc_id]

    def entity(self, entity_id: int) -> Entity:
        return self.entities[entity_id]

    def question(self, index: int) -> MultihopQuestion:
        """Question `index` (any index >= 0): the same in every process."""
        if index < 0:
            raise ValueError(f"question index must be >= 0, got {index}")
        rng = random.Random(f"orchestra-question/{self.seed}/{index}")
        r = rng.random()
        kind = "chain" if r < 0.6 else "arithmetic" if r < 0.8 else "comparison"
        maker = {"chain": self._chain, "arithmetic": self._arithmetic, "comparison": self._comparison}[kind]
        for _ in range(200):
            try:
                return self._finish(index, kind, *maker(rng), rng)
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
            query=f"{subject.name}{qualifier} {_keyword(relation, subject)}",
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
            options = [r for r in _WALKS[e.kind] if r in e.relations and e.relations[r] not in seen]
            if not options:
                raise _NoQuestion
            rel = options[rng.randrange(len(options))]
            hops.append(self._hop(e, rel))
            phrase = _np(rel, e, phrase)
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
                (rel, j) for rel, j in self._inbound[e.id]
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
            phrase = _np(rel, subject, phrase)
        seen.add(end.id)
        seen.update(j for _, j in path)
        return end, phrase, hops

    def _chain(self, rng: random.Random):
        n = rng.choices((2, 3, 4), weights=(0.4, 0.35, 0.25))[0]
        start = self._random(rng)
        seen = {start.id}
        end, phrase, hops = self._walk(start, n - 1, rng, seen)
        finals = list(_FINAL_ATTRIBUTES[end.kind])
        finals += [r for r in _WALKS[end.kind] if r in end.relations and end.relations[r] not in seen]
        rel = finals[rng.randrange(len(finals))]
        hop = self._hop(end, rel)
        hops.append(hop)
        target = end.relations.get(rel)
        aliases = self.entities[target].aliases if target is not None else ()
        return _ask(rel, end, phrase), hop.value, aliases, hops, None

    def _arithmetic(self, rng: random.Random):
        form = rng.choice(("org_age", "org_age", "work_age", "event_age", "born_apart", "population_sum"))
        seen: set[int] = set()
        if form == "org_age":
            org, phrase, hops = self._towards("organisation", rng.choice((0, 1, 1)), rng, seen)
            founder = self.entities[org.relations["founder"]]
            if founder.id in seen:
                raise _NoQuestion
            hops += [self._hop(org, "founded_year"), self._hop(org, "founder"), self._hop(founder, "birth_year")]
            a, b = int(org.attributes["founded_year"]), int(founder.attributes["birth_year"])
            question = f"How many years after its founder's birth was {phrase} founded?"
            program = f"founded = {a}\nfounder_born = {b}\nprint(founded - founder_born)"
            return question, str(a - b), (), hops, program
        if form == "work_age":
            work = self._random(rng, "work")
            creator = self.entities[work.relations["creator"]]
            noun, release = _WORK_KINDS[work.subtype].creator, _WORK_KINDS[work.subtype].released
            hops = [self._hop(work, "creator"), self._hop(creator, "birth_year"), self._hop(work, "release_year")]
            a, b = int(work.attributes["release_year"]), int(creator.attributes["birth_year"])
            question = f"How many years after the birth of its {noun} was {work.label} {release}?"
            program = f"{release} = {a}\n{noun}_born = {b}\nprint({release} - {noun}_born)"
            return question, str(a - b), (), hops, program
        if form == "event_age":
            event = self._random(rng, "event")
            org = self.entities[event.relations["organiser"]]
            hops = [self._hop(event, "organiser"), self._hop(org, "founded_year"), self._hop(event, "year")]
            a, b = int(event.attributes["year"]), int(org.attributes["founded_year"])
            if a <= b:
                raise _NoQuestion
            question = f"How many years after its organiser was founded did {event.label} take place?"
            program = f"event_year = {a}\norganiser_founded = {b}\nprint(event_year - organiser_founded)"
            return question, str(a - b), (), hops, program
        kind, attr = ("person", "birth_year") if form == "born_apart" else ("place", "population")
        x, px, hx = self._towards(kind, rng.choice((1, 1, 2)), rng, seen)
        y, py, hy = self._towards(kind, rng.choice((1, 1, 2)), rng, seen)
        a, b = int(x.attributes[attr]), int(y.attributes[attr])
        hops = hx + [self._hop(x, attr)] + hy + [self._hop(y, attr)]
        if form == "born_apart":
            if a == b:
                raise _NoQuestion
            question = f"How many years apart were {px} and {py} born?"
            program = f"born_a = {a}\nborn_b = {b}\nprint(abs(born_a - born_b))"
            return question, str(abs(a - b)), (), hops, program
        question = f"What is the combined population of {px} and {py}?"
        program = f"population_a = {a}\npopulation_b = {b}\nprint(population_a + population_b)"
        return question, str(a + b), (), hops, program

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
        return question.format(a=px, b=py), winner.name, winner.aliases, hops, program

    def _finish(self, index, kind, question, answer, aliases, hops, program, rng) -> MultihopQuestion:
        question = _cap(question)
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
        jitter = rng.gauss(0.0, 0.25)
        difficulty = {
            "knowledge": -1.6 + 0.45 * (n - 2) + 2.0 * obscurity + 0.35 * web + jitter,
            "query_writing": -1.5 + 0.55 * confusion + 0.2 * (n - 2) + 0.4 * (web > 0) + jitter,
            "reading": -1.6 + 0.25 * (n - 2) + 0.3 * confusion + 0.4 * (kind != "chain") + jitter,
            "reasoning": {"chain": -1.5, "comparison": 0.0, "arithmetic": 0.6}[kind]
            + 0.3 * (n - 2)
            + 0.5 * big
            + jitter,
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
        )


@functools.lru_cache(maxsize=8)
def knowledge_world(seed: int = 0) -> KnowledgeWorld:
    """The world of `seed`, built once per process."""
    return KnowledgeWorld(seed)
