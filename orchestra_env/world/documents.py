"""The encyclopedic document of each entity, written from its draft while the world is built.

A document states all of its entity's facts and mentions a few facts pointing at it.
"""

from __future__ import annotations

import random
from types import MappingProxyType

from orchestra_env.world.vocabulary import WORK_KINDS, with_article


class Draft:
    """A mutable entity while the world is built."""

    __slots__ = (
        "kind",
        "name",
        "label",
        "aliases",
        "subtype",
        "stem",
        "popularity",
        "rel",
        "attr",
        "full",
        "female",
        "extra",
        "motto",
        "early",
    )

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


def _names(ids: list[int], drafts: list[Draft], limit: int = 3) -> str:
    names = [drafts[i].name for i in ids[:limit]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _person_text(d: Draft, drafts, inbound, rng: random.Random) -> str:
    he, his = ("She", "her") if d.female else ("He", "his")
    by, place = d.attr["birth_year"], drafts[d.rel["birthplace"]].name
    employer = drafts[d.rel["employer"]].name
    out = [
        rng.choice(
            (
                f"{d.full} (born {by}) is {with_article(d.extra)} who was born in {place}.",
                f"{d.full} is {with_article(d.extra)}, born in {place} in {by}.",
                f"{d.full} was born in {by} in {place} and became {with_article(d.extra)}.",
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
    out.append(f"Before that, {d.name} spent several years as {with_article(d.early)}.")
    out.append(
        rng.choice(
            (
                (
                    f"Throughout {his} working life {d.name} argued that organisations "
                    f"should {d.motto}."
                ),
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


def _org_text(d: Draft, drafts, inbound, rng: random.Random) -> str:
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
                (
                    f"{d.name} was founded in {fy} by {founder}, "
                    "its founder and first chief executive."
                ),
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


def _place_text(d: Draft, drafts, inbound, rng: random.Random) -> str:
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


def _work_text(d: Draft, drafts, inbound, rng: random.Random) -> str:
    work = WORK_KINDS[d.subtype]
    creator, publisher = drafts[d.rel["creator"]].name, drafts[d.rel["publisher"]].name
    year = d.attr["release_year"]
    return " ".join(
        (
            rng.choice(
                (
                    (
                        f"{d.name} is {with_article(d.subtype)} {work.made_by} {creator}, "
                        f"{work.released} in {year}."
                    ),
                    f"{d.name} is a {year} {d.subtype} {work.made_by} {creator}.",
                )
            ),
            f"Its {work.creator}, {creator}, is the {d.subtype}'s sole credited {work.creator}.",
            (
                f"The {d.subtype} was {work.published} by {publisher} "
                f"and first {work.released} in {year}."
            ),
            f"It follows {with_article(d.extra)}.",
            (
                f"Reviewers praised its {d.motto} and its unusual structure, "
                "and it is still widely discussed among enthusiasts."
            ),
        )
    )


def _event_text(d: Draft, drafts, inbound, rng: random.Random) -> str:
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


WRITERS = MappingProxyType(
    {
        "person": _person_text,
        "organisation": _org_text,
        "place": _place_text,
        "work": _work_text,
        "event": _event_text,
    }
)
