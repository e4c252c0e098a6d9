"""The domain file's shape: the JSON Schema that checks domain.json, and its tables and columns
as SQL (DDL, inserts, row lookups)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from orchestra_env.domain.errors import Problem, json_pointer
from orchestra_env.domain.sql import BOOLEAN_TYPE, JSON_TYPE, json_text, quote_name, sql_literal

SCHEMAS = Path(__file__).parent.parent / "schemas"
# How a column is generated; `enum` also constrains, so it generates only when alone.
GENERATORS = ("x-faker", "x-pattern", "x-range", "x-references", "default", "enum")
SQL_TYPES = {
    "string": "TEXT",
    "integer": "INTEGER",
    "number": "REAL",
    "boolean": BOOLEAN_TYPE,
    "array": JSON_TYPE,
    "object": JSON_TYPE,
}
# What a column's JSON type allows its stored value to be (NULL passes a CHECK).
TYPE_CHECKS = {
    "boolean": "{name} IN (0, 1)",
    "array": "json_type({name}) = 'array'",
    "object": "json_type({name}) = 'object'",
}


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
    json_type: str  # string | integer | number | boolean | array | object
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

    @property
    def is_json(self) -> bool:
        """Whether values are lists or objects (stored as JSON text)."""
        return SQL_TYPES[self.json_type] == JSON_TYPE

    def ddl(self) -> str:
        parts = [quote_name(self.name), SQL_TYPES[self.json_type]]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if self.json_type in TYPE_CHECKS:
            parts.append(
                f"CHECK ({TYPE_CHECKS[self.json_type].format(name=quote_name(self.name))})"
            )
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
    """A table of the world: columns, key, how many rows to generate, and fixed rows."""

    name: str
    description: str
    count: int  # rows generated after the fixed ones
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    pointer: str
    rows: tuple[tuple, ...] = ()  # fixed rows (values in column order), inserted first

    @cached_property
    def json_columns(self) -> tuple[int, ...]:
        """Positions of the columns holding lists or objects."""
        return tuple(i for i, c in enumerate(self.columns) if c.is_json)

    def stored(self, row: tuple) -> tuple:
        """`row` as SQLite holds it: lists and objects as canonical JSON text."""
        if not self.json_columns:
            return row
        return tuple(
            json_text(v) if i in self.json_columns and v is not None else v
            for i, v in enumerate(row)
        )

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
