"""Building a world of a seed: entities drawn with a seeded Faker and `random.Random`, tied
together by typed relations, frozen into `Entity` records with their documents.
"""

from __future__ import annotations

import random

from orchestra_env.world.documents import WRITERS, Draft
from orchestra_env.world.records import Document, Entity
from orchestra_env.world.vocabulary import (
    EVENT_TYPES,
    FIRST_YEAR,
    LAST_YEAR,
    N_EVENTS,
    N_ORGS,
    N_PEOPLE,
    N_PLACES,
    N_WORKS,
    ORG_SUFFIXES,
    WALKS,
    WORK_KIND_NAMES,
)


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


def _title_case(phrase: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in phrase.replace("-", "- ").split()).replace(
        "- ", "-"
    )


class Builder:
    def __init__(self, seed: int):
        from faker import Faker  # slow to import: only when a world is built

        self.rng = random.Random(f"orchestra-world/{seed}")
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.drafts: list[Draft] = []
        self.taken: set[str] = set()  # membership only
        self.by_kind: dict[str, list[int]] = {k: [] for k in WALKS}

    def add(self, draft: Draft) -> int:
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
            d = Draft("person", short, last, _popularity(rng))
            d.full, d.female = full, female
            d.aliases = (full,) if full != short else ()
            d.attr["birth_year"] = rng.randint(FIRST_YEAR, 1995)
            d.extra, d.early = _job(fake.job()), _job(fake.job())
            d.motto = fake.bs()
            self.add(d)

    def places(self) -> None:
        fake, rng = self.fake, self.rng
        prefixes = (
            "North",
            "East",
            "West",
            "South",
            "New",
            "Lake",
            "Port",
        )  # Faker's city prefixes
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
                d = Draft("place", name, base, _popularity(rng))
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
                suffix = fake.company_suffix() if rng.random() < 0.45 else rng.choice(ORG_SUFFIXES)
                name = f"{stem} {suffix}"
                if name in self.taken:
                    continue
                d = Draft("organisation", name, stem.split("-")[0], _popularity(rng))
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
                kind = rng.choice([k for k in WORK_KIND_NAMES if k != other])
                if (title, kind) in made:
                    continue
            else:
                phrase = fake.catch_phrase()
                if any(c.isdigit() or c == "/" for c in phrase):
                    continue
                title = _title_case(phrase)
                if title in self.taken:
                    continue
                kind = rng.choice(WORK_KIND_NAMES)
            d = Draft("work", title, title, _popularity(rng), subtype=kind)
            d.label = f"the {kind} '{title}'"
            creator = self.pick("person", lambda p: p.attr["birth_year"] <= 1990)
            born = self.drafts[creator].attr["birth_year"]
            year = min(LAST_YEAR, born + rng.randint(20, 60))
            d.rel["creator"] = creator
            d.rel["publisher"] = self.pick(
                "organisation", lambda o, y=year: o.attr["founded_year"] < y
            )
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
            part, desc = rng.choice(EVENT_TYPES)
            years = sorted(rng.sample(range(1950, LAST_YEAR), rng.choice((1, 2, 2, 3, 4))))
            for year in years:
                name = f"{year} {stem} {part}"
                if name in self.taken:
                    continue
                d = Draft("event", name, stem, _popularity(rng), subtype=desc)
                d.label = f"the {name}"
                d.rel["location"] = self.pick("place")
                d.rel["organiser"] = self.pick(
                    "organisation", lambda o, y=year: o.attr["founded_year"] < y
                )
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
            self.drafts[i].rel["mayor"] = self.pick(
                "person", lambda p: 1935 <= p.attr["birth_year"] <= 1985
            )

    # -- freezing ----------------------------------------------------------------------

    def build(
        self,
    ) -> tuple[tuple[Entity, ...], tuple[Document, ...], tuple[tuple[tuple[str, int], ...], ...]]:
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
                text=WRITERS[d.kind](d, drafts, inbound[i], rng),
                # Web-only: ~33% of obscure entities, ~13% of famous ones.
                local=rng.random() >= 0.33 - 0.2 * d.popularity,
            )
            for i, d in enumerate(drafts)
        )
        return entities, documents, tuple(tuple(x) for x in inbound)
