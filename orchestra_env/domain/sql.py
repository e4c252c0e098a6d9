"""The SQL a domain may run: connections with the domain's functions, quoting, and compiling a
statement against the tables (no clock or randomness, no transaction control)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from random import Random
from typing import Any

from orchestra_env.domain.errors import Problem

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")
# SQL that reads the clock or a random source would make a golden replay differ from the
# agent's run; domains get today() and, while the world is built, rand_int / rand_real.
NONDETERMINISTIC = re.compile(
    r"\brandom(blob)?\s*\(|'now'|\bcurrent_(date|time|timestamp)\b", re.IGNORECASE
)
# The engine owns transactions: an episode is one transaction, a tool call a savepoint in it.
TRANSACTION_CONTROL = re.compile(r"\b(rollback|commit|savepoint|release|begin)\b", re.IGNORECASE)
BUILD_ONLY = re.compile(r"\brand_(int|real)\s*\(", re.IGNORECASE)


# Column types whose values SQLite cannot hold as themselves: lists and objects are stored as
# JSON text, booleans as 0 / 1. Reading such a column (by its declared type) gives the JSON
# value back, so tools answer real JSON and booleans, never their stored form.
JSON_TYPE = "JSON_TEXT"  # TEXT affinity
BOOLEAN_TYPE = "BOOL_INT"  # INTEGER affinity
sqlite3.register_converter(JSON_TYPE, json.loads)
sqlite3.register_converter(BOOLEAN_TYPE, lambda stored: bool(int(stored)))


def json_text(value: Any) -> str:
    """`value` as canonical JSON text (sorted keys, no spaces): what a list or object column
    stores and what its hash reads, whatever order the keys came in."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "NULL" if value is None else repr(value)


def clean_sql(text: str) -> str:
    # A trailing ';' would break the engine's wrapping of queries in sub-selects.
    return text.strip().rstrip(";").rstrip()


def connect(today: str, rng: Random | None = None) -> sqlite3.Connection:
    """An in-memory connection with foreign keys on and the domain's SQL functions.

    Transactions are explicit (isolation_level=None): the engine opens and ends them.
    `rng` seeds rand_int / rand_real, which exist only while a world is built.
    """
    conn = sqlite3.connect(
        ":memory:",
        isolation_level=None,
        check_same_thread=False,
        detect_types=sqlite3.PARSE_DECLTYPES,
    )
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("today", 0, lambda: today, deterministic=True)
    if rng is not None:
        # Not marked deterministic, or SQLite could evaluate them once per statement.
        conn.create_function("rand_int", 2, rng.randint)
        conn.create_function("rand_real", 2, rng.uniform)
    return conn


def sql_problem(exc: sqlite3.Error, params: Iterable[str]) -> str:
    missing = re.search(r"binding parameter :?(\w+)", str(exc))
    if missing:
        return f"unknown parameter :{missing[1]} (known: {', '.join(sorted(params)) or 'none'})"
    return str(exc)


def without_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def compile_sql(conn, sql, names, pointer, problems, *, reads, build=False) -> list[str] | None:
    """Compile one statement against the tables (EXPLAIN, params bound as NULL).

    Returns the columns a query yields ([] for a write), or None after recording a problem.
    """
    if NONDETERMINISTIC.search(sql) or (not build and BUILD_ONLY.search(sql)):
        problems.append(
            Problem(
                pointer,
                "reads the clock or a random source; "
                "use today() (rand_int / rand_real only in finalize)",
            )
        )
        return None
    if TRANSACTION_CONTROL.search(without_literals(sql)):
        problems.append(
            Problem(
                pointer,
                "must not control transactions (no BEGIN, COMMIT, ROLLBACK, OR ROLLBACK): "
                "the engine runs each call as one unit",
            )
        )
        return None
    params = dict.fromkeys(names)
    try:
        plan = conn.execute("EXPLAIN " + sql, params).fetchall()
    except sqlite3.Error as exc:
        problems.append(Problem(pointer, sql_problem(exc, names)))
        return None
    if not reads:
        if sql.split(None, 1)[0].upper() not in WRITE_VERBS:
            problems.append(
                Problem(
                    pointer,
                    "must be INSERT, UPDATE, DELETE or REPLACE (the engine owns the transaction)",
                )
            )
            return None
        return []
    if any(op[1] == "OpenWrite" for op in plan):
        problems.append(Problem(pointer, "must only read, but it writes"))
        return None
    try:  # the outer LIMIT 0 names the columns without running the query on NULL params
        description = conn.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).description
    except sqlite3.Error as exc:
        problems.append(Problem(pointer, f"must be a query that returns rows ({exc})"))
        return None
    return [d[0] for d in description]
