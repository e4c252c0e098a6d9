"""The knowledge world's public records: entities, their documents, questions and hops."""

from __future__ import annotations

from dataclasses import dataclass


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
    # How the answer follows from the hop values: "chain" (the last hop's value), "difference"
    # (a − b), "abs_difference", "sum", "min" / "max" (the subject whose value is smaller /
    # larger); `operands` are the indices of the hops whose values it combines.
    operation: str = "chain"
    operands: tuple[int, ...] = ()


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
