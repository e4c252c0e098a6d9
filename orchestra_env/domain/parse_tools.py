"""Parsing a domain's tools: parameters checked as JSON Schema, statements, rules and returns
compiled against the tables."""

from __future__ import annotations

import sqlite3

import jsonschema
from jsonschema.exceptions import best_match

from orchestra_env.domain.errors import Problem, json_pointer
from orchestra_env.domain.slots import check_fields, text_fields
from orchestra_env.domain.sql import clean_sql, compile_sql
from orchestra_env.domain.tools import TRANSFER_TOOL, DomainTool, Rule
from orchestra_env.tools.spec import ToolSpec


def parse_tools(
    specs: list[dict], conn: sqlite3.Connection, problems: list
) -> dict[str, DomainTool]:
    """The tools that compiled; a broken tool is reported here and left out."""
    tools: dict[str, DomainTool] = {}
    first_at: dict[str, int] = {}
    for i, spec in enumerate(specs):
        pointer = json_pointer("tools", i)
        if spec["name"] in first_at:
            problems.append(
                Problem(
                    pointer + "/name",
                    f"duplicate tool name {spec['name']!r} "
                    f"(first at /tools/{first_at[spec['name']]})",
                )
            )
            continue
        first_at[spec["name"]] = i
        tool = _parse_tool(spec, pointer, conn, problems)
        if tool is not None:
            tools[tool.name] = tool
    return tools


def _parse_tool(
    spec: dict, pointer: str, conn: sqlite3.Connection, problems: list
) -> DomainTool | None:
    start = len(problems)
    parameters = spec["parameters"]
    try:
        jsonschema.Draft202012Validator.check_schema(parameters)
    except jsonschema.SchemaError as exc:
        error = best_match(exc.context) if exc.context else exc
        problems.append(
            Problem(
                pointer + "/parameters" + json_pointer(*error.absolute_path),
                f"not a valid JSON Schema: {error.message}",
            )
        )
        return None
    names = list(parameters["properties"])
    lets = _parse_lets(spec.get("let", {}), pointer, names, conn, problems)
    names += [name for name, _ in lets]
    statements = tuple(clean_sql(s) for s in spec.get("statements", ()))
    if spec["kind"] == "read" and statements:
        problems.append(
            Problem(pointer + "/statements", 'a read tool has no statements (make it kind "write")')
        )
    if spec["kind"] == "write" and not statements:
        problems.append(
            Problem(pointer + "/statements", "a write tool needs at least one statement")
        )
    for j, sql in enumerate(statements):
        compile_sql(conn, sql, names, f"{pointer}/statements/{j}", problems, reads=False)
    checks = tuple(
        _parse_rule(c, f"{pointer}/checks/{j}", names, conn, problems)
        for j, c in enumerate(spec.get("checks", ()))
    )
    returns = spec["returns"]
    if "rows" in returns and ({"row", "message"} & set(returns)):
        problems.append(
            Problem(pointer + "/returns", "`rows` goes alone (`row` may have a `message`)")
        )
    returns_sql = returns.get("row") or returns.get("rows")
    columns: list[str] = []
    if returns_sql:
        returns_sql = clean_sql(returns_sql)
        where = pointer + "/returns/" + ("row" if "row" in returns else "rows")
        columns = compile_sql(conn, returns_sql, names, where, problems, reads=True) or []
    if "message" in returns:
        check_fields(returns["message"], [*names, *columns], pointer + "/returns/message", problems)
    if len(problems) > start:
        return None
    defaults = tuple(
        (name, prop.get("default") if isinstance(prop, dict) else None)
        for name, prop in parameters["properties"].items()
    )
    return DomainTool(
        spec=ToolSpec(spec["name"], spec["description"], parameters),
        kind=spec["kind"],
        price_usd=float(spec.get("price_usd", 0.0)),
        checks=checks,
        statements=statements,
        returns_sql=returns_sql,
        returns_many="rows" in returns,
        message=returns.get("message"),
        defaults=defaults,
        lets=lets,
        pointer=pointer,
        terminal=spec.get("terminal", spec["name"] == TRANSFER_TOOL),
    )


def _parse_rule(spec: dict, pointer: str, names: list[str], conn, problems: list) -> Rule:
    query = clean_sql(spec["query"])
    columns = compile_sql(conn, query, names, pointer + "/query", problems, reads=True)
    condition = spec.get("condition")
    sql = (
        f"SELECT ({condition}) AS __ok, * FROM ({query}) LIMIT 1"
        if condition
        else f"SELECT 1 AS __ok, * FROM ({query}) LIMIT 1"
    )
    if columns is not None and condition:
        compile_sql(conn, sql, names, pointer + "/condition", problems, reads=True)
    check_fields(spec["error"], [*names, *(columns or [])], pointer + "/error", problems)
    if "missing" in spec:
        check_fields(spec["missing"], names, pointer + "/missing", problems)
    elif condition and text_fields(spec["error"]) - set(names):
        problems.append(
            Problem(
                pointer + "/error",
                "uses the query's columns, so give a `missing` message "
                "for when the query finds no row",
            )
        )
    return Rule(sql, spec["error"], spec.get("missing"), pointer)


def _parse_lets(
    spec: dict, pointer: str, names: list[str], conn: sqlite3.Connection, problems: list
) -> tuple[tuple[str, str], ...]:
    """Each named value compiled as `SELECT (<sql>)` over the arguments and the earlier names."""
    lets = []
    known = list(names)
    for name, expression in spec.items():
        where = f"{pointer}/let/{name}"
        if name in known:
            problems.append(Problem(where, f"{name!r} is already a parameter or an earlier let"))
            continue
        sql = f"SELECT ({clean_sql(expression)})"
        if compile_sql(conn, sql, known, where, problems, reads=True) is not None:
            lets.append((name, sql))
        known.append(name)
    return tuple(lets)
