"""Task templates as parsed: sampling steps, golden actions, user texts, and compositions of
atomic templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestra_env.domain.sql import quote_name


@dataclass(frozen=True)
class Step:
    """One sampling step of a template: a query (its columns become slots) or a let."""

    pointer: str
    query: str | None = None
    let: str | None = None
    draw: dict = field(default_factory=dict)  # {"range"|"choice"|"faker": spec}
    columns: tuple[str, ...] = ()  # what the query yields
    parameters: tuple[str, ...] = ()  # slots the query may read (a superset: found by pattern)

    def filtered(self, names: tuple[str, ...]) -> str:
        """The query keeping only rows whose columns `names` equal :__pick_0, :__pick_1, ...

        SQLite filters (with the tables' indexes) instead of Python looking at every row.
        `IS` is `=` that also matches NULL to NULL, as Python's == does for None.
        """
        where = " AND ".join(f"{quote_name(n)} IS :__pick_{i}" for i, n in enumerate(names))
        return f"SELECT * FROM ({self.query}) WHERE {where}"


@dataclass(frozen=True)
class Part:
    """A template inside a composed one, with its slots renamed into the task's."""

    template: Template
    rename: Mapping[str, str] = field(default_factory=dict)

    def glob(self, local: str) -> str:
        return self.rename.get(local, local)


@dataclass(frozen=True)
class Template:
    """An intent template, or a composition of atomic ones (`composed`)."""

    name: str
    pointer: str
    description: str
    relevant_policies: str | None
    steps: tuple[Step, ...]
    user: Mapping[str, Any]
    actions: tuple[dict, ...]
    communicate: tuple[str, ...]
    slots: frozenset[str]  # every slot name its texts may use
    composed: tuple[Part, ...] = ()
    outcome: str = "change"  # change | refuse (changes nothing) | transfer (ends on a transfer)
    nl_assertions: tuple[str, ...] = ()  # what a judge checks of the conversation
    split: str | None = None  # the one split all its tasks go to; None: dealt (SPLIT_DEAL)

    @property
    def parts(self) -> tuple[Part, ...]:
        return self.composed or (Part(self),)
