"""The domain file's shape: the JSON Schema that checks domain.json, and its tables and columns
as SQL (DDL, inserts, row lookups)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from orchestra_env.domain.errors import Problem, json_pointer
from orchestra_env.domain.sql import quote_name, sql_literal

SCHEMAS = Path(__file__).parent.parent / "schemas"
# How a column is generated; `enum` also constrains, so it generates only when alone.
GENERATORS = ("x-faker", "x-pattern", "x-range", "x-references", "default", "enum")
SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER"}


@cache
def _document_validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / "domain.schema.json").read_text()))


def schema_problems(doc: Any) -> list[Problem]:
    problems = set()
    for error in _document_validator().iter_errors(doc):
        if error.context:  # oneOf / anyOf: report the closest branch's complaint
            error = best_match(error.context)
        problems.add(Problem(json_pointer(*error.absolute_path), error.message))
    return sorted(problems, key=lambda p: p.pointer)


@dataclass(frozen=True)
class Column:
    """One column: its type and the generator keywords of its JSON property."""

    name: str
    json_type: str  # string | integer | number | boolean
    nullable: bool
    spec: dict = field(repr=False)  # the property as written in domain.json
    pointer: str = ""

    @property
    def generators(self) -> list[str]:
        found = [g for g in GENERATORS if g != "enum" and g in self.spec]
        return found or (["enum"] if "enum" in self.spec else [])

    @property
    def generator(self) -> str:
        return self.generators[0]

    @property
    def references(self) -> tuple[str, str] | None:
        ref = self.spec.get("x-references")
        return tuple(ref.split(".")) if ref else None

    @property
    def unique(self) -> bool:
        return bool(self.spec.get("x-unique"))

    def ddl(self) -> str:
        parts = [quote_name(self.name), SQL_TYPES[self.json_type]]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if "enum" in self.spec:
            options = ", ".join(map(sql_literal, self.spec["enum"]))
            parts.append(f"CHECK ({quote_name(self.name)} IN ({options}))")
        if "minimum" in self.spec:
            parts.append(f"CHECK ({quote_name(self.name)} >= {self.spec['minimum']!r})")
        if "maximum" in self.spec:
            parts.append(f"CHECK ({quote_name(self.name)} <= {self.spec['maximum']!r})")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    """A table of the world: columns, key, row count."""

    name: str
    description: str
    count: int
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    pointer: str

    def ddl(self) -> str:
        lines = [c.ddl() for c in self.columns]
        lines.append(f"PRIMARY KEY ({', '.join(map(quote_name, self.primary_key))})")
        lines += [
            f"FOREIGN KEY ({quote_name(c.name)}) "
            f"REFERENCES {quote_name(c.references[0])} ({quote_name(c.references[1])})"
            for c in self.columns
            if c.references
        ]
        return f"CREATE TABLE {quote_name(self.name)} (\n  " + ",\n  ".join(lines) + "\n)"

    def index_ddl(self) -> list[str]:
        """An index per foreign key: tools look rows up by their owner (accounts of a customer)."""
        return [
            f"CREATE INDEX {quote_name(f'{self.name}__{c.name}')} "
            f"ON {quote_name(self.name)} ({quote_name(c.name)})"
            for c in self.columns
            if c.references and not c.unique and (c.name,) != self.primary_key[:1]
        ]

    @property
    def insert_sql(self) -> str:
        names = ", ".join(quote_name(c.name) for c in self.columns)
        marks = ", ".join("?" * len(self.columns))
        return f"INSERT INTO {quote_name(self.name)} ({names}) VALUES ({marks})"

    @property
    def rowid(self) -> str:
        """A name of SQLite's rowid that no column of the table shadows."""
        taken = {c.name.lower() for c in self.columns}
        return next(alias for alias in ("rowid", "_rowid_", "oid") if alias not in taken)

    @property
    def row_sql(self) -> str:
        """The row with a given rowid."""
        return f"SELECT * FROM {quote_name(self.name)} WHERE {self.rowid} = ?"
