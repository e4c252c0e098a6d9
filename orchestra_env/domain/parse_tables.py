"""Parsing a domain's entities: tables and columns, each column's generator checked, tables put
in reference order and created in a scratch database the tools compile against."""

from __future__ import annotations

import sqlite3
from random import Random

import jsonschema

from orchestra_env.domain.errors import Problem, json_pointer
from orchestra_env.domain.generate import (
    draw_range,
    faker_problems,
    range_problem,
    type_ok,
)
from orchestra_env.domain.schema import GENERATORS, Column, Table
from orchestra_env.domain.sql import connect


def parse_tables(entities: dict, locale: str, problems: list) -> tuple[Table, ...]:
    tables = {}
    for name, spec in entities.items():
        pointer = json_pointer("entities", name)
        columns = tuple(
            _parse_column(cname, prop, pointer) for cname, prop in spec["properties"].items()
        )
        pk = (
            (spec["primary_key"],)
            if isinstance(spec["primary_key"], str)
            else tuple(spec["primary_key"])
        )
        by_name = {c.name: c for c in columns}
        for key in pk:
            if key not in by_name:
                problems.append(
                    Problem(pointer + "/primary_key", f"no column {key!r} in table {name!r}")
                )
            elif by_name[key].nullable:
                problems.append(
                    Problem(
                        pointer + "/primary_key", f"primary key column {key!r} cannot be nullable"
                    )
                )
        rows = _fixed_rows(spec.get("rows", ()), columns, pointer, problems)
        count = spec.get("count", 0)
        tables[name] = Table(name, spec.get("description", ""), count, pk, columns, pointer, rows)
    for table in tables.values():
        for column in table.columns:
            problems += [
                Problem(column.pointer + where, msg)
                for where, msg in _column_problems(column, table, tables, locale)
            ]
    return _reference_order(tables, problems)


# The keywords of a column that say which values it holds (the rest say how to generate them).
VALUE_KEYWORDS = ("type", "enum", "minimum", "maximum", "items", "properties", "required")


def _fixed_rows(
    specs: list[dict], columns: tuple[Column, ...], pointer: str, problems: list
) -> tuple[tuple, ...]:
    """The table's fixed rows in column order; a missing value is the column's `default`, or
    NULL in a nullable column."""
    validators = {
        c.name: jsonschema.Draft202012Validator(
            {k: c.spec[k] for k in VALUE_KEYWORDS if k in c.spec}
        )
        for c in columns
    }
    rows = []
    for i, spec in enumerate(specs):
        where = f"{pointer}/rows/{i}"
        for name in spec.keys() - validators.keys():
            problems.append(
                Problem(f"{where}/{name}", f"no column {name!r} (columns: {', '.join(validators)})")
            )
        row = []
        for column in columns:
            if column.name in spec:
                value = spec[column.name]
                error = next(validators[column.name].iter_errors(value), None)
                if error is not None:
                    problems.append(
                        Problem(
                            f"{where}/{column.name}" + json_pointer(*error.absolute_path),
                            error.message,
                        )
                    )
            elif "default" in column.spec or column.nullable:
                value = column.spec.get("default")
            else:
                problems.append(
                    Problem(where, f"gives no {column.name!r} (the column has no default)")
                )
                value = None
            row.append(value)
        rows.append(tuple(row))
    return tuple(rows)


def _parse_column(name: str, prop: dict, table_pointer: str) -> Column:
    types = [prop["type"]] if isinstance(prop["type"], str) else prop["type"]
    json_type = next(t for t in types if t != "null")
    return Column(
        name, json_type, "null" in types, prop, table_pointer + json_pointer("properties", name)
    )


def _column_problems(
    col: Column, table: Table, tables: dict[str, Table], locale: str
) -> list[tuple[str, str]]:
    """(sub-pointer, message) for everything wrong with one column's generator."""
    spec = col.spec
    found = col.generators
    if not found and not table.count:  # a table of fixed rows only generates nothing
        return []
    if len(found) != 1:
        return [
            ("", f"give exactly one generator of {', '.join(GENERATORS)} (found {found or 'none'})")
        ]
    out = []
    if "x-null-rate" in spec and not col.nullable:
        out.append(("/x-null-rate", 'only a nullable column (type [T, "null"]) can have NULLs'))
    if "x-weights" in spec and len(spec["x-weights"]) != len(spec.get("enum", ())):
        out.append(("/x-weights", "needs an enum with as many values"))
    kind = found[0]
    check = {
        "x-pattern": _pattern_problems,
        "enum": lambda c: _enum_problems(c, table),
        "default": _default_problems,
        "x-range": _range_column_problems,
        "x-references": lambda c: _reference_problems(c, table, tables),
        "x-faker": lambda c: faker_problems(c.spec["x-faker"], locale),
    }[kind]
    return out + [(f"/{kind}" + where, msg) for where, msg in check(col)]


def _pattern_problems(col: Column) -> list[tuple[str, str]]:
    pattern = col.spec["x-pattern"]
    if "{n" not in pattern:
        return [("", 'must use the row counter, e.g. "ID-{n:04d}"')]
    try:
        value = pattern.format(n=1)
        if col.json_type == "integer":
            int(value)
    except (ValueError, KeyError, IndexError) as exc:
        return [("", f"cannot make a {col.json_type} from {pattern!r}: {exc}")]
    return (
        []
        if col.json_type in ("string", "integer")
        else [("", f"makes strings, but the column is {col.json_type}")]
    )


def _enum_problems(col: Column, table: Table) -> list[tuple[str, str]]:
    options = col.spec["enum"]
    out = [
        (json_pointer(i), f"{v!r} is not of type {col.json_type}")
        for i, v in enumerate(options)
        if not (type_ok(col.json_type, v) or (v is None and col.nullable))
    ]
    if col.unique and table.count > len(options):
        out.append(
            ("", f"x-unique needs at most {len(options)} rows (one per value), not {table.count}")
        )
    return out


def _default_problems(col: Column) -> list[tuple[str, str]]:
    value = col.spec["default"]
    ok = type_ok(col.json_type, value) or (value is None and col.nullable)
    return [] if ok else [("", f"{value!r} is not of type {col.json_type}")]


def _range_column_problems(col: Column) -> list[tuple[str, str]]:
    spec = col.spec["x-range"]
    problem = range_problem(spec)
    if problem:
        return [("", problem)]
    sample = draw_range(spec, Random(0))
    if not type_ok(col.json_type, sample):
        return [("", f"draws {type(sample).__name__} values, but the column is {col.json_type}")]
    return []


def _reference_problems(
    col: Column, table: Table, tables: dict[str, Table]
) -> list[tuple[str, str]]:
    target_name, target_col = col.references
    target = tables.get(target_name)
    if target is None:
        return [("", f"unknown table {target_name!r} (tables: {', '.join(sorted(tables))})")]
    if target is table:
        return [("", "a table cannot reference itself (rows are generated in reference order)")]
    column = next((c for c in target.columns if c.name == target_col), None)
    if column is None:
        return [("", f"table {target_name!r} has no column {target_col!r}")]
    if target.primary_key != (target_col,) and not column.unique:
        return [("", f"{target_name}.{target_col} must be its table's primary key or x-unique")]
    if column.json_type != col.json_type:
        return [
            (
                "",
                f"{target_name}.{target_col} is {column.json_type}, this column is {col.json_type}",
            )
        ]
    if col.unique and table.count > target.count:
        return [
            (
                "",
                f"x-unique needs at most {target.count} rows (the rows of {target_name}), "
                f"not {table.count}",
            )
        ]
    return []


def _reference_order(tables: dict[str, Table], problems: list) -> tuple[Table, ...]:
    """Tables ordered so that each comes after the tables it references (file order otherwise)."""
    order, placed, pending = [], set(), list(tables.values())
    while pending:
        # Self and unknown references were reported with the columns; they do not block here.
        ready = [
            t
            for t in pending
            if all(ref in placed or ref == t.name or ref not in tables for ref in _referenced(t))
        ]
        if not ready:
            names = ", ".join(t.name for t in pending)
            problems.append(
                Problem("/entities", f"tables reference each other in a cycle: {names}")
            )
            return tuple(order + pending)
        order += ready
        placed |= {t.name for t in ready}
        pending = [t for t in pending if t.name not in placed]
    return tuple(order)


def _referenced(table: Table) -> set[str]:
    return {c.references[0] for c in table.columns if c.references}


def create_tables(today: str, tables: tuple[Table, ...], problems: list) -> sqlite3.Connection:
    conn = connect(today, Random(0))
    for table in tables:
        try:
            for ddl in (table.ddl(), *table.index_ddl()):
                conn.execute(ddl)
        except sqlite3.Error as exc:
            problems.append(Problem(table.pointer, f"cannot create the table: {exc}"))
    return conn
