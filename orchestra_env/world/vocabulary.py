"""What the world is made of and how it is phrased: how many entities of each kind, the kinds
of works and events, the typed relations, and the English that names a relation or asks for it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

from orchestra_env.world.records import Entity

N_PEOPLE, N_ORGS, N_PLACES, N_WORKS, N_EVENTS = 4000, 2200, 1300, 2000, 1000
FIRST_YEAR, LAST_YEAR = 1900, 2024

# Company suffixes beyond Faker's six (Inc, and Sons, LLC, Group, PLC, Ltd).
ORG_SUFFIXES = ("Holdings", "Industries", "Dynamics", "Media", "Systems", "Partners", "Labs")


class WorkKind(NamedTuple):
    creator: str  # "author": "the author of the novel 'X'"
    made_by: str  # "written by": in the document
    made: str  # "wrote": "Who wrote the novel 'X'?"
    publisher: str  # "company": "Which company published the novel 'X'?"
    published: str  # "published": "the company that published the novel 'X'"
    released: str  # "published": "In which year was the novel 'X' published?"


WORK_KINDS = MappingProxyType(
    {
        "novel": WorkKind("author", "written by", "wrote", "company", "published", "published"),
        "film": WorkKind("director", "directed by", "directed", "studio", "produced", "released"),
        "album": WorkKind(
            "artist", "recorded by", "recorded", "record label", "released", "released"
        ),
        "video game": WorkKind(
            "designer", "designed by", "designed", "company", "published", "released"
        ),
    }
)
WORK_KIND_NAMES = tuple(WORK_KINDS)

# Faker has no event types: (name part, description).
EVENT_TYPES = (
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
WALKS = MappingProxyType(
    {
        "person": ("birthplace", "employer", "spouse"),
        "organisation": ("founder", "headquarters"),
        "place": ("mayor",),
        "work": ("creator", "publisher"),
        "event": ("location", "organiser"),
    }
)
FINAL_ATTRIBUTES = MappingProxyType(
    {
        "person": ("birth_year",),
        "organisation": ("founded_year", "employees"),
        "place": ("population", "founded_year", "country"),
        "work": ("release_year",),
        "event": ("attendance",),
    }
)


def noun_phrase(relation: str, subject: Entity, s: str) -> str:
    """Noun phrase for `relation` of the entity described by `s`."""
    if relation == "creator":
        return f"the {WORK_KINDS[subject.subtype].creator} of {s}"
    if relation == "publisher":
        work = WORK_KINDS[subject.subtype]
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


def question_for(relation: str, subject: Entity, s: str) -> str:
    """The question whose answer is `relation` of the entity described by `s`."""
    if subject.kind == "work":
        work = WORK_KINDS[subject.subtype]
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


def query_keyword(relation: str, subject: Entity) -> str:
    if subject.kind == "work":
        work = WORK_KINDS[subject.subtype]
        return {"creator": work.creator, "publisher": work.published}.get(relation, work.released)
    return RELATIONS[relation][2]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def with_article(noun_phrase: str) -> str:
    return ("an " if noun_phrase[:1] in "aeiou" else "a ") + noun_phrase
