"""Domains as data: load and validate a JSON domain, build its SQLite world, run its tools, and
make and grade its tasks.

A domain is a folder with `domain.json` (described by `schemas/domain.schema.json`) and
`policy.md`; no Python. The world is an in-memory SQLite database generated from a seed and
built once per seed; `World.reset` restores it in microseconds. Tools are parameterised SQL
from the domain file: the agent's values are only ever bound parameters. Tasks come from
templates; each is checked by replaying its golden actions, and graded tau2-style: the final
database must equal the golden replay's (a canonical hash), and every `communicate_info` string
must appear in what the agent told the user.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import sqlite3
import string
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from functools import cache, partial
from importlib import resources
from pathlib import Path
from random import Random
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from orchestra_env.tools.spec import ToolSpec

SCHEMAS = Path(__file__).with_name("schemas")
DEFAULT_TODAY = "2025-01-15"
# Sampling tries per task before a template counts as broken: the hardest bundled compositions
# need ~4 on average, so 100 leaves a spurious failure about 1e-12 likely.
MAX_ATTEMPTS = 100
WORLD_CACHE = 8  # pristine worlds (seeds) a Domain keeps
TASK_CACHE = 4096
SAMPLE_CACHE = 4096  # sample-query results a Domain keeps (by seed, step and parameter values)
# How a template's tasks are dealt to the splits: the i-th distinct row of its first sample query,
# in a fixed shuffle, goes to SPLIT_DEAL[i % 10]. Train first, so that a template with a single
# task trains; then test and validation, so that three rows reach every split; then 8:1:1.
SPLIT_DEAL = ("train", "test", "validation") + ("train",) * 7
_PARAMETER = re.compile(r"[:@$]([A-Za-z_][A-Za-z0-9_]*)")

# How a column is generated; `enum` also constrains, so it generates only when alone.
GENERATORS = ("x-faker", "x-pattern", "x-range", "x-references", "default", "enum")
SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER"}
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")
# SQL that reads the clock or a random source would make a golden replay differ from the
# agent's run; domains get today() and, while the world is built, rand_int / rand_real.
NONDETERMINISTIC = re.compile(
    r"\brandom(blob)?\s*\(|'now'|\bcurrent_(date|time|timestamp)\b", re.IGNORECASE
)
# The engine owns transactions: an episode is one transaction, a tool call a savepoint in it.
TRANSACTION_CONTROL = re.compile(r"\b(rollback|commit|savepoint|release|begin)\b", re.IGNORECASE)
BUILD_ONLY = re.compile(r"\brand_(int|real)\s*\(", re.IGNORECASE)
WHOLE_FIELD = re.compile(r"\{([A-Za-z_]\w*(?:\[[^\[\]{}]+\]|\.\w+)*)\}")
FORMATTER = string.Formatter()
MOMENT_FORMATS = {"date": "%Y-%m-%d", "date-time": "%Y-%m-%d %H:%M", "time": "%H:%M"}


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a domain, at a JSON pointer into domain.json ('' = the file)."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class DomainError(ValueError):
    """A domain file that cannot be used; `problems` says what and where."""

    def __init__(self, problems: Iterable[Problem], source: str = ""):
        self.problems = tuple(problems)
        self.source = source
        head = f"invalid domain {source}" if source else "invalid domain"
        super().__init__(head + ":\n  " + "\n  ".join(map(str, self.problems)))


def _fail(pointer: str, message: str) -> DomainError:
    return DomainError([Problem(pointer, message)])


def _ptr(*parts: object) -> str:
    """A JSON pointer from path parts (RFC 6901 escaping)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Miss(Exception):
    """A sampling attempt that found no usable task (retried with the next attempt)."""

    def __init__(self, pointer: str, reason: str):
        super().__init__(reason)
        self.pointer, self.reason = pointer, reason


# --------------------------------------------------------------------------- small helpers


def _stable_seed(*parts: object) -> int:
    """A 64-bit seed from parts, the same in every process (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "NULL" if value is None else repr(value)


def _plain(value: Any) -> Any:
    """Faker's rich values as the scalars a SQLite column holds."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (date, clock_time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _type_ok(json_type: str, value: Any) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if json_type == "integer" else isinstance(value, (int, float))


@cache
def _faker(locale: str):
    # Faker is slow to import and only needed to build worlds and draw faker slots.
    from faker import Faker

    return Faker(locale)


def _faker_call(spec: str | dict) -> tuple[str, dict]:
    return (spec, {}) if isinstance(spec, str) else (spec["provider"], spec.get("args", {}))


def _draw_faker(spec: str | dict, locale: str, rng: Random, pointer: str) -> Any:
    fake = _faker(locale)
    fake.seed_instance(rng.getrandbits(64))
    return _call_provider(fake, spec, pointer)


def _call_provider(fake, spec: str | dict, pointer: str) -> Any:
    provider, args = _faker_call(spec)
    try:
        return _plain(getattr(fake, provider)(**args))
    except Exception as exc:  # a provider may raise anything; say where it came from
        raise _fail(pointer, f"faker {provider}({args}) failed: {exc}") from None


def _parse_moment(text: str) -> tuple[str, datetime] | None:
    """('date'|'date-time'|'time', value) for the range bounds this module understands."""
    for kind, fmt in MOMENT_FORMATS.items():
        try:
            return kind, datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _draw_range(spec: dict, rng: Random) -> Any:
    """A uniform draw from an x-range / let range (see the schema for the forms)."""
    lo, hi, step = spec["min"], spec["max"], spec.get("step")
    if isinstance(lo, str):
        (kind, a), (_, b) = _parse_moment(lo), _parse_moment(hi)
        unit = timedelta(days=1) if kind == "date" else timedelta(minutes=1)
        stride = unit * (step or 1)
        value = a + stride * rng.randint(0, int((b - a) / stride))
        return value.strftime(MOMENT_FORMATS[kind])
    if all(isinstance(v, int) for v in (lo, hi, step or 1)) and "decimals" not in spec:
        return rng.randrange(lo, hi + 1, step or 1)
    if step:
        places = max(0, -Decimal(str(step)).as_tuple().exponent)
        return round(lo + step * rng.randint(0, int(round((hi - lo) / step))), places)
    return round(rng.uniform(lo, hi), spec.get("decimals", 2))


def _range_problem(spec: dict) -> str | None:
    """Why a range spec cannot be drawn from, or None."""
    lo, hi = spec["min"], spec["max"]
    if isinstance(lo, str) != isinstance(hi, str):
        return "min and max must both be numbers or both be date/time strings"
    if isinstance(lo, str):
        a, b = _parse_moment(lo), _parse_moment(hi)
        if a is None or b is None or a[0] != b[0]:
            return "dates must be 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM' or 'HH:MM', both alike"
        lo, hi = a[1], b[1]
    return f"min {spec['min']!r} is above max {spec['max']!r}" if lo > hi else None


def _fields(template: str) -> set[str]:
    """The slot names a text template reads (the root of each replacement field)."""
    names = set()
    for _, field_name, _, _ in FORMATTER.parse(template):
        if field_name is not None:
            names.add(re.match(r"\w*", field_name).group())
    return names


def _render(template: str, values: Mapping[str, Any], pointer: str) -> str:
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise _fail(pointer, f"unknown slot {exc.args[0]!r}") from None
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise _fail(pointer, f"cannot render {template!r}: {exc}") from None


def _render_value(value: Any, values: Mapping[str, Any], pointer: str) -> Any:
    """Render an argument template; a string that is exactly "{slot}" keeps the slot's type."""
    if isinstance(value, str):
        whole = WHOLE_FIELD.fullmatch(value)
        if whole is None:
            return _render(value, values, pointer)
        try:
            return FORMATTER.get_field(whole[1], (), values)[0]
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _fail(pointer, f"unknown slot or field in {value!r}: {exc}") from None
    if isinstance(value, dict):
        return {k: _render_value(v, values, pointer + _ptr(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, values, pointer + _ptr(i)) for i, v in enumerate(value)]
    return value


# --------------------------------------------------------------------------- records


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
        parts = [_q(self.name), SQL_TYPES[self.json_type]]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if "enum" in self.spec:
            parts.append(
                f"CHECK ({_q(self.name)} IN ({', '.join(map(_literal, self.spec['enum']))}))"
            )
        if "minimum" in self.spec:
            parts.append(f"CHECK ({_q(self.name)} >= {self.spec['minimum']!r})")
        if "maximum" in self.spec:
            parts.append(f"CHECK ({_q(self.name)} <= {self.spec['maximum']!r})")
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
        lines.append(f"PRIMARY KEY ({', '.join(map(_q, self.primary_key))})")
        lines += [
            f"FOREIGN KEY ({_q(c.name)}) REFERENCES {_q(c.references[0])} ({_q(c.references[1])})"
            for c in self.columns
            if c.references
        ]
        return f"CREATE TABLE {_q(self.name)} (\n  " + ",\n  ".join(lines) + "\n)"

    def index_ddl(self) -> list[str]:
        """An index per foreign key: tools look rows up by their owner (accounts of a customer)."""
        return [
            f"CREATE INDEX {_q(f'{self.name}__{c.name}')} ON {_q(self.name)} ({_q(c.name)})"
            for c in self.columns
            if c.references and not c.unique and (c.name,) != self.primary_key[:1]
        ]

    @property
    def insert_sql(self) -> str:
        names = ", ".join(_q(c.name) for c in self.columns)
        return (
            f"INSERT INTO {_q(self.name)} ({names}) VALUES ({', '.join('?' * len(self.columns))})"
        )

    @property
    def rowid(self) -> str:
        """A name of SQLite's rowid that no column of the table shadows."""
        taken = {c.name.lower() for c in self.columns}
        return next(alias for alias in ("rowid", "_rowid_", "oid") if alias not in taken)

    @property
    def row_sql(self) -> str:
        """The row with a given rowid."""
        return f"SELECT * FROM {_q(self.name)} WHERE {self.rowid} = ?"


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool call did. `content` is what the agent reads."""

    tool: str
    ok: bool
    content: str
    data: Any = None  # the returned row (dict), rows (list of dicts), or None
    error: str | None = None
    changes: int = 0  # rows the call inserted, updated or deleted


@dataclass(frozen=True)
class Check:
    """A business rule of a tool, compiled to one query whose first column says if it holds."""

    sql: str
    error: str
    missing: str | None
    pointer: str

    def failure(self, conn: sqlite3.Connection, params: dict) -> str | None:
        """The rule's error message when it does not hold, else None."""
        cur = conn.execute(self.sql, params)
        row = cur.fetchone()
        if row is None:
            return _render(self.missing or self.error, params, self.pointer)
        if row[0]:
            return None
        names = [d[0] for d in cur.description[1:]]
        return _render(
            self.error, {**params, **dict(zip(names, row[1:], strict=True))}, self.pointer
        )


@dataclass(frozen=True)
class DomainTool:
    """A domain function: validated arguments -> checks -> statements in one transaction -> answer."""

    spec: ToolSpec  # name, description, parameters (the policy's view)
    kind: str  # read | write
    price_usd: float
    checks: tuple[Check, ...]
    statements: tuple[str, ...]
    returns_sql: str | None
    returns_many: bool
    message: str | None
    defaults: tuple[tuple[str, Any], ...]  # every declared parameter with its default
    pointer: str

    @property
    def name(self) -> str:
        return self.spec.name

    def run(self, conn: sqlite3.Connection, arguments: Any) -> ToolOutcome:
        """Validate, then run as one unit (a savepoint); any failure rolls it back and is reported."""
        if not isinstance(arguments, dict):
            return self._error(f"arguments must be a JSON object, not {type(arguments).__name__}")
        problem = next(self.spec.validator.iter_errors(arguments), None)
        if problem is not None:
            return self._error(_argument_problem(problem))
        params = {name: _bindable(arguments.get(name, default)) for name, default in self.defaults}
        ok = False
        if self.kind == "write":
            conn.execute("SAVEPOINT tool")
        try:
            outcome = self._execute(conn, params)
            ok = outcome.ok
        except sqlite3.Error as exc:
            outcome = self._error(f"the database refused the call: {exc}")
        finally:
            if self.kind == "write":
                if not ok:
                    conn.execute("ROLLBACK TO tool")
                conn.execute("RELEASE tool")
        return outcome

    def _execute(self, conn: sqlite3.Connection, params: dict) -> ToolOutcome:
        for check in self.checks:
            message = check.failure(conn, params)
            if message is not None:
                return self._error(message)
        changes = 0  # rows the statements themselves changed (not the world's change log)
        for sql in self.statements:
            changes += max(0, conn.execute(sql, params).rowcount)
        data = None
        if self.returns_sql is not None:
            cur = conn.execute(self.returns_sql, params)
            names = [d[0] for d in cur.description]
            if self.returns_many:
                data = [dict(zip(names, row, strict=True)) for row in cur]
            else:
                row = cur.fetchone()
                if row is None:
                    return self._error("nothing found for these arguments")
                data = dict(zip(names, row, strict=True))
        if self.message is not None:
            content = _render(
                self.message, {**params, **(data or {})}, self.pointer + "/returns/message"
            )
        else:
            content = json.dumps(data, ensure_ascii=False)
        return ToolOutcome(self.name, True, content, data, changes=changes)

    def _error(self, message: str) -> ToolOutcome:
        error = f"{self.name}: {message}"
        return ToolOutcome(self.name, False, f"Error: {error}", error=error)


def _bindable_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bytes))


def _bindable(value: Any) -> Any:
    # SQLite binds scalars only; arrays and objects go in as JSON text for json_each / ->>.
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _argument_problem(error: jsonschema.ValidationError) -> str:
    where = "/".join(map(str, error.absolute_path))
    return (
        f"argument {where!r}: {error.message}" if where else f"invalid arguments: {error.message}"
    )


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
        where = " AND ".join(f"{_q(n)} IS :__pick_{i}" for i, n in enumerate(names))
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

    @property
    def parts(self) -> tuple[Part, ...]:
        return self.composed or (Part(self),)


# --------------------------------------------------------------------------- parsing


@cache
def _document_validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / "domain.schema.json").read_text()))


def _schema_problems(doc: Any) -> list[Problem]:
    problems = set()
    for error in _document_validator().iter_errors(doc):
        if error.context:  # oneOf / anyOf: report the closest branch's complaint
            error = best_match(error.context)
        problems.add(Problem(_ptr(*error.absolute_path), error.message))
    return sorted(problems, key=lambda p: p.pointer)


def _sql(text: str) -> str:
    # A trailing ';' would break the engine's wrapping of queries in sub-selects.
    return text.strip().rstrip(";").rstrip()


def _connect(today: str, rng: Random | None = None) -> sqlite3.Connection:
    """An in-memory connection with foreign keys on and the domain's SQL functions.

    Transactions are explicit (isolation_level=None): the engine opens and ends them.
    `rng` seeds rand_int / rand_real, which exist only while a world is built.
    """
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("today", 0, lambda: today, deterministic=True)
    if rng is not None:
        # Not marked deterministic, or SQLite could evaluate them once per statement.
        conn.create_function("rand_int", 2, rng.randint)
        conn.create_function("rand_real", 2, rng.uniform)
    return conn


def _sql_problem(exc: sqlite3.Error, params: Iterable[str]) -> str:
    missing = re.search(r"binding parameter :?(\w+)", str(exc))
    if missing:
        return f"unknown parameter :{missing[1]} (known: {', '.join(sorted(params)) or 'none'})"
    return str(exc)


def _without_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _compile(conn, sql, names, pointer, problems, *, reads, build=False) -> list[str] | None:
    """Compile one statement against the tables (EXPLAIN, params bound as NULL).

    Returns the columns a query yields ([] for a write), or None after recording a problem.
    """
    if NONDETERMINISTIC.search(sql) or (not build and BUILD_ONLY.search(sql)):
        problems.append(
            Problem(
                pointer,
                "reads the clock or a random source; use today() (rand_int / rand_real only in finalize)",
            )
        )
        return None
    if TRANSACTION_CONTROL.search(_without_literals(sql)):
        problems.append(
            Problem(
                pointer,
                "must not control transactions (no BEGIN, COMMIT, ROLLBACK, OR ROLLBACK): the engine runs each call as one unit",
            )
        )
        return None
    params = dict.fromkeys(names)
    try:
        plan = conn.execute("EXPLAIN " + sql, params).fetchall()
    except sqlite3.Error as exc:
        problems.append(Problem(pointer, _sql_problem(exc, names)))
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


def _check_fields(template: str, allowed: Iterable[str], pointer: str, problems: list) -> None:
    """Record a problem for each slot a text template reads that does not exist there."""
    try:
        unknown = _fields(template) - set(allowed)
    except ValueError as exc:
        problems.append(Problem(pointer, f"bad template {template!r}: {exc}"))
        return
    for name in sorted(unknown):
        known = ", ".join(sorted(allowed))
        problems.append(Problem(pointer, f"unknown slot {{{name}}} (known here: {known})"))


def _check_value_fields(value: Any, allowed: Iterable[str], pointer: str, problems: list) -> None:
    if isinstance(value, str):
        _check_fields(value, allowed, pointer, problems)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value_fields(item, allowed, pointer + _ptr(key), problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value_fields(item, allowed, pointer + _ptr(i), problems)


def _parse_tables(entities: dict, locale: str, problems: list) -> tuple[Table, ...]:
    tables = {}
    for name, spec in entities.items():
        pointer = _ptr("entities", name)
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
        tables[name] = Table(name, spec.get("description", ""), spec["count"], pk, columns, pointer)
    for table in tables.values():
        for column in table.columns:
            problems += [
                Problem(column.pointer + where, msg)
                for where, msg in _column_problems(column, table, tables, locale)
            ]
    return _reference_order(tables, problems)


def _parse_column(name: str, prop: dict, table_pointer: str) -> Column:
    types = [prop["type"]] if isinstance(prop["type"], str) else prop["type"]
    json_type = next(t for t in types if t != "null")
    return Column(name, json_type, "null" in types, prop, table_pointer + _ptr("properties", name))


def _column_problems(
    col: Column, table: Table, tables: dict[str, Table], locale: str
) -> list[tuple[str, str]]:
    """(sub-pointer, message) for everything wrong with one column's generator."""
    spec = col.spec
    found = col.generators
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
        "x-faker": lambda c: _faker_problems(c.spec["x-faker"], locale),
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
        (_ptr(i), f"{v!r} is not of type {col.json_type}")
        for i, v in enumerate(options)
        if not (_type_ok(col.json_type, v) or (v is None and col.nullable))
    ]
    if col.unique and table.count > len(options):
        out.append(
            ("", f"x-unique needs at most {len(options)} rows (one per value), not {table.count}")
        )
    return out


def _default_problems(col: Column) -> list[tuple[str, str]]:
    value = col.spec["default"]
    ok = _type_ok(col.json_type, value) or (value is None and col.nullable)
    return [] if ok else [("", f"{value!r} is not of type {col.json_type}")]


def _range_column_problems(col: Column) -> list[tuple[str, str]]:
    spec = col.spec["x-range"]
    problem = _range_problem(spec)
    if problem:
        return [("", problem)]
    sample = _draw_range(spec, Random(0))
    if not _type_ok(col.json_type, sample):
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
                f"x-unique needs at most {target.count} rows (the rows of {target_name}), not {table.count}",
            )
        ]
    return []


def _faker_problems(spec: str | dict, locale: str) -> list[tuple[str, str]]:
    provider, _ = _faker_call(spec)
    if provider.startswith("_") or not callable(getattr(_faker(locale), provider, None)):
        return [("", f"Faker has no provider {provider!r}")]
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


def _compile_db(today: str, tables: tuple[Table, ...], problems: list) -> sqlite3.Connection:
    conn = _connect(today, Random(0))
    for table in tables:
        try:
            for ddl in (table.ddl(), *table.index_ddl()):
                conn.execute(ddl)
        except sqlite3.Error as exc:
            problems.append(Problem(table.pointer, f"cannot create the table: {exc}"))
    return conn


def _parse_tools(
    specs: list[dict], conn: sqlite3.Connection, problems: list
) -> dict[str, DomainTool]:
    """The tools that compiled; a broken tool is reported here and left out."""
    tools: dict[str, DomainTool] = {}
    first_at: dict[str, int] = {}
    for i, spec in enumerate(specs):
        pointer = _ptr("tools", i)
        if spec["name"] in first_at:
            problems.append(
                Problem(
                    pointer + "/name",
                    f"duplicate tool name {spec['name']!r} (first at /tools/{first_at[spec['name']]})",
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
                pointer + "/parameters" + _ptr(*error.absolute_path),
                f"not a valid JSON Schema: {error.message}",
            )
        )
        return None
    names = list(parameters["properties"])
    statements = tuple(_sql(s) for s in spec.get("statements", ()))
    if spec["kind"] == "read" and statements:
        problems.append(
            Problem(pointer + "/statements", 'a read tool has no statements (make it kind "write")')
        )
    if spec["kind"] == "write" and not statements:
        problems.append(
            Problem(pointer + "/statements", "a write tool needs at least one statement")
        )
    for j, sql in enumerate(statements):
        _compile(conn, sql, names, f"{pointer}/statements/{j}", problems, reads=False)
    checks = tuple(
        _parse_check(c, f"{pointer}/checks/{j}", names, conn, problems)
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
        returns_sql = _sql(returns_sql)
        where = pointer + "/returns/" + ("row" if "row" in returns else "rows")
        columns = _compile(conn, returns_sql, names, where, problems, reads=True) or []
    if "message" in returns:
        _check_fields(
            returns["message"], [*names, *columns], pointer + "/returns/message", problems
        )
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
        pointer=pointer,
    )


def _parse_check(spec: dict, pointer: str, names: list[str], conn, problems: list) -> Check:
    query = _sql(spec["query"])
    columns = _compile(conn, query, names, pointer + "/query", problems, reads=True)
    condition = spec.get("condition")
    sql = (
        f"SELECT ({condition}) AS __ok, * FROM ({query}) LIMIT 1"
        if condition
        else f"SELECT 1 AS __ok, * FROM ({query}) LIMIT 1"
    )
    if columns is not None and condition:
        _compile(conn, sql, names, pointer + "/condition", problems, reads=True)
    _check_fields(spec["error"], [*names, *(columns or [])], pointer + "/error", problems)
    if "missing" in spec:
        _check_fields(spec["missing"], names, pointer + "/missing", problems)
    elif condition and _fields(spec["error"]) - set(names):
        problems.append(
            Problem(
                pointer + "/error",
                "uses the query's columns, so give a `missing` message for when the query finds no row",
            )
        )
    return Check(sql, spec["error"], spec.get("missing"), pointer)


def _parse_templates(specs, conn, tools, declared_tools, locale, problems) -> tuple[Template, ...]:
    atomic: dict[str, Template] = {}
    first_at: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec["name"] in first_at:
            problems.append(
                Problem(
                    _ptr("tasks", i, "name"),
                    f"duplicate template name {spec['name']!r} (first at /tasks/{first_at[spec['name']]})",
                )
            )
        first_at.setdefault(spec["name"], i)
        if "compose" not in spec:
            template = _parse_atomic(
                spec, _ptr("tasks", i), conn, tools, declared_tools, locale, problems
            )
            atomic.setdefault(spec["name"], template)
    templates = []
    for i, spec in enumerate(specs):
        if first_at[spec["name"]] != i:
            continue
        if "compose" in spec:
            templates.append(_parse_composed(spec, _ptr("tasks", i), atomic, problems))
        else:
            templates.append(atomic[spec["name"]])
    return tuple(templates)


def _parse_atomic(spec, pointer, conn, tools, declared_tools, locale, problems) -> Template:
    slots = {"today"}
    steps = []
    sampled = True  # every sample query compiled, so `slots` is complete
    for j, step in enumerate(spec.get("sample", ())):
        where = f"{pointer}/sample/{j}"
        if set(step) == {"query"}:
            query = _sql(step["query"])
            columns = _compile(conn, query, slots, where + "/query", problems, reads=True)
            sampled = sampled and columns is not None
            slots |= set(columns or ())
            parameters = tuple(sorted(set(_PARAMETER.findall(_without_literals(query)))))
            steps.append(Step(where, query=query, columns=tuple(columns or ()), parameters=parameters))
            continue
        kinds = [k for k in ("range", "choice", "faker") if k in step]
        if "query" in step or "let" not in step or len(kinds) != 1:
            problems.append(
                Problem(where, "a step is a query, or a let with one of range, choice, faker")
            )
            continue
        kind = kinds[0]
        if kind == "range" and (problem := _range_problem(step["range"])):
            problems.append(Problem(where + "/range", problem))
        if kind == "faker":
            problems += [
                Problem(where + "/faker", msg) for _, msg in _faker_problems(step["faker"], locale)
            ]
        slots.add(step["let"])
        steps.append(Step(where, let=step["let"], draw={kind: step[kind]}))
    if sampled:  # else unknown-slot reports would only echo the broken query
        _check_template_texts(spec, pointer, slots, problems)
    for j, action in enumerate(spec["actions"]):
        where = f"{pointer}/actions/{j}"
        tool = tools.get(action["name"])
        if tool is None:
            if action["name"] not in declared_tools:  # else the tool's own problem is reported
                problems.append(Problem(where + "/name", f"unknown tool {action['name']!r}"))
            continue
        declared = tool.spec.parameters["properties"]
        for key in action["arguments"]:
            if key not in declared:
                problems.append(
                    Problem(
                        f"{where}/arguments/{key}",
                        f"{tool.name} has no parameter {key!r} (parameters: {', '.join(declared)})",
                    )
                )
        if sampled:
            _check_value_fields(
                action["arguments"],
                slots | {f"result_{r}" for r in range(j)},
                where + "/arguments",
                problems,
            )
    results = {f"result_{r}" for r in range(len(spec["actions"]))}
    for j, text in enumerate(spec.get("communicate_info", ()) if sampled else ()):
        _check_fields(text, slots | results, f"{pointer}/communicate_info/{j}", problems)
    return Template(
        name=spec["name"],
        pointer=pointer,
        description=spec.get("description", ""),
        relevant_policies=spec.get("relevant_policies"),
        steps=tuple(steps),
        user=spec["user"],
        actions=tuple(spec["actions"]),
        communicate=tuple(spec.get("communicate_info", ())),
        slots=frozenset(slots),
    )


def _check_template_texts(spec: dict, pointer: str, slots: set[str], problems: list) -> None:
    """The description and user texts may read the sampled slots (not action results)."""
    _check_fields(spec.get("description", ""), slots, pointer + "/description", problems)
    _check_value_fields(spec.get("user", {}), slots, pointer + "/user", problems)


def _parse_composed(
    spec: dict, pointer: str, atomic: dict[str, Template], problems: list
) -> Template:
    for key in ("sample", "actions", "communicate_info"):
        if key in spec:
            problems.append(
                Problem(f"{pointer}/{key}", "a composed template takes this from its parts")
            )
    parts = []
    for j, ref in enumerate(spec["compose"]):
        where = f"{pointer}/compose/{j}"
        name, rename = (
            (ref, {}) if isinstance(ref, str) else (ref["template"], ref.get("rename", {}))
        )
        target = atomic.get(name)
        if target is None:
            problems.append(
                Problem(
                    where,
                    f"no atomic template named {name!r} (a composed template composes atomic ones)",
                )
            )
            continue
        for local in rename:
            if local not in target.slots:
                problems.append(
                    Problem(f"{where}/rename/{local}", f"template {name!r} has no slot {local!r}")
                )
        parts.append(Part(target, dict(rename)))
    slots = frozenset(part.glob(s) for part in parts for s in part.template.slots)
    _check_template_texts(spec, pointer, set(slots), problems)
    return Template(
        name=spec["name"],
        pointer=pointer,
        description=spec.get("description", ""),
        relevant_policies=spec.get("relevant_policies"),
        steps=(),
        user=spec.get("user", {}),
        actions=(),
        communicate=(),
        slots=slots,
        composed=tuple(parts),
    )


# --------------------------------------------------------------------------- the world


class World:
    """One live copy of a domain's database for one seed.

    The copy is made once; an episode's changes then live in one open transaction, so
    `reset()` is a rollback (µs) that keeps prepared statements warm, and a tool call is a
    savepoint inside it. `call()` runs a tool; `hash()` is the canonical hash grading compares.
    Not thread-safe.
    """

    def __init__(self, domain: Domain, seed: int, pristine: Pristine):
        self.domain = domain
        self.seed = seed
        self._pristine = pristine
        self._conn = _connect(domain.today)
        pristine.conn.backup(self._conn)
        _log_changes(self._conn, domain.tables)
        self._conn.execute("BEGIN")

    def reset(self) -> None:
        """Restore the database the seed built (undo every change since the last reset)."""
        self._conn.execute("ROLLBACK")  # the change log is in the transaction: it empties too
        self._conn.execute("BEGIN")

    def call(self, name: str, arguments: Any) -> ToolOutcome:
        """Run one tool call; bad input and broken rules come back as an error outcome."""
        tool = self.domain.tools.get(name)
        if tool is None:
            error = f"unknown tool {name!r} (tools: {', '.join(self.domain.tools)})"
            return ToolOutcome(str(name), False, f"Error: {error}", error=error)
        outcome = tool.run(self._conn, arguments)
        if not self._conn.in_transaction:  # SQLite ended the episode's transaction itself
            raise RuntimeError(
                f"{name}: the database lost this episode's changes ({outcome.error})"
            )
        return outcome

    def table_hashes(self) -> dict[str, str]:
        """A digest of each table's rows, whatever their order: the sum of the rows' sha256
        digests, so only the rows changed since the reset are read again."""
        tables, pristine = self.domain.tables, self._pristine
        totals = dict(pristine.sums)
        for index, rowid in self._conn.execute(_CHANGED_ROWS):
            table = tables[index]
            row = self._conn.execute(table.row_sql, (rowid,)).fetchone()
            now = 0 if row is None else _row_digest(row)  # None: the row was deleted
            totals[table.name] += now - pristine.row_digests[table.name].get(rowid, 0)
        return {name: _hex(total) for name, total in totals.items()}

    def hash(self) -> str:
        """One canonical hash of all tables."""
        return _combine(self.table_hashes())

    def query(self, sql: str, params: Mapping | tuple = ()) -> list[dict]:
        """Rows of an SQL query as dicts, for inspection (tests, scripted users, debugging)."""
        cur = self._conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class Pristine:
    """The database a seed builds, with each row's digest (by rowid) and each table's sum."""

    conn: sqlite3.Connection
    row_digests: dict[str, dict[int, int]]  # table -> rowid -> digest
    sums: dict[str, int]  # table -> sum of its row digests

    @classmethod
    def of(cls, conn: sqlite3.Connection, tables: Iterable[Table]) -> Pristine:
        digests = {
            t.name: {r[0]: _row_digest(r[1:]) for r in conn.execute(f"SELECT {t.rowid}, * FROM {_q(t.name)}")}
            for t in tables
        }
        return cls(conn, digests, {name: sum(rows.values()) for name, rows in digests.items()})

    def table_hashes(self) -> dict[str, str]:
        return {name: _hex(total) for name, total in self.sums.items()}


# Every write to a world's tables is logged (table index, rowid) by temporary triggers, which
# live on that connection only, inside its transaction: a rollback forgets what it undid.
_CHANGED_ROWS = "SELECT t, r FROM temp.changed_rows"


def _log_changes(conn: sqlite3.Connection, tables: Sequence[Table]) -> None:
    conn.execute("CREATE TEMP TABLE changed_rows (t INTEGER, r INTEGER, PRIMARY KEY (t, r)) WITHOUT ROWID")
    for i, table in enumerate(tables):
        events = {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("OLD", "NEW")}  # an update may move the rowid
        for event, rows in events.items():
            values = ", ".join(f"({i}, {row}.{table.rowid})" for row in rows)
            conn.execute(
                f"CREATE TEMP TRIGGER log_{event.lower()}_{i} AFTER {event} ON main.{_q(table.name)} "
                f"BEGIN INSERT OR IGNORE INTO changed_rows VALUES {values}; END"
            )


def _row_digest(row: tuple) -> int:
    # Pickle, not repr: 7x faster on floats and escaped text. Its bytes depend on the values
    # only (SQLite gives str, int, float, bytes, None; the only objects pickle could memoise
    # twice are CPython's one-character singletons, also a function of the values), and a
    # fixed protocol keeps them the same in every process.
    return int.from_bytes(hashlib.sha256(pickle.dumps(row, protocol=5)).digest(), "big")


def _hex(total: int) -> str:
    return f"{total % 2**256:064x}"


def _combine(table_hashes: Mapping[str, str]) -> str:
    joined = "\n".join(f"{name}:{digest}" for name, digest in sorted(table_hashes.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class DomainTask:
    """One task of a domain, in tau2's shape plus what a scripted user and the grader need."""

    id: str  # "<domain>/<seed>/<index>", or "<domain>/<seed>/<split>/<index>" for a split's task
    domain: str
    template: str
    index: int
    seed: int  # the world's seed: tasks and grading hold for this world only
    description: dict  # tau2: purpose, relevant_policies, notes
    user_scenario: dict  # tau2: persona, instructions{domain, reason_for_call, known_info, ...}
    evaluation_criteria: dict  # tau2: actions, communicate_info, nl_assertions, reward_basis
    known: dict[str, str]  # what the user can tell the agent, field -> value
    slots: dict[str, Any]  # the sampled values the texts were rendered from
    expected_tables: dict[str, str]  # table -> hash after replaying the golden actions

    @property
    def actions(self) -> list[dict]:
        return self.evaluation_criteria["actions"]

    @property
    def communicate_info(self) -> list[str]:
        return self.evaluation_criteria["communicate_info"]

    @property
    def difficulty(self) -> int:
        """The number of golden actions."""
        return len(self.actions)

    @property
    def expected_hash(self) -> str:
        return _combine(self.expected_tables)

    def to_tau2(self) -> dict:
        """The task in tau2-bench's task format (the world comes from the seed, not initial_state)."""
        return {
            "id": self.id,
            "description": self.description,
            "user_scenario": self.user_scenario,
            "initial_state": None,
            "evaluation_criteria": self.evaluation_criteria,
        }


DEFAULT_INSTRUCTIONS = (
    "Tell the agent why you are calling. Give the known information only when asked for it. "
    "End the conversation once everything you wanted is done."
)


def _result_slots(results: list) -> dict[str, Any]:
    return {f"result_{i}": data for i, data in enumerate(results)}


def _deal_rows(rows: list[tuple], seed: int) -> dict[str | None, list[tuple]]:
    """`rows` in a fixed shuffle (under None), and each split's distinct rows in that order:
    the i-th distinct row goes to SPLIT_DEAL[i % len(SPLIT_DEAL)]."""
    shuffled = [rows[i] for i in Random(seed).sample(range(len(rows)), len(rows))]
    dealt: dict[str | None, list[tuple]] = {None: shuffled, **{s: [] for s in SPLIT_DEAL}}
    for i, row in enumerate(dict.fromkeys(shuffled)):
        dealt[SPLIT_DEAL[i % len(SPLIT_DEAL)]].append(row)
    return dealt


def _view(ns: Mapping[str, Any], part: Part) -> dict[str, Any]:
    """The task's slots as a part sees them: its renamed slots under their local names."""
    view = dict(ns)
    for local, glob in part.rename.items():
        view.pop(local, None)
        if glob in ns:
            view[local] = ns[glob]
    return view


def _unique_join(texts: Iterable[str | None], sep: str) -> str:
    return sep.join(dict.fromkeys(t for t in texts if t))


# --------------------------------------------------------------------------- communicate


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?![\w]|\.\d)")


def _normalise(text: str) -> str:
    return " ".join(_THOUSANDS.sub("", text.lower()).split())


def communicated(info: str, messages: Iterable[str]) -> bool:
    """Whether `info` appears in what the agent told the user.

    Like tau2 (case-insensitive, thousands commas ignored), but stricter about boundaries:
    "4" does not match inside "AA-1234", and a number matches by value ("1,234.50" for 1234.5).
    """
    needle = _normalise(info)
    text = _normalise("\n".join(messages))
    try:
        value = float(needle)
    except ValueError:
        return re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", text) is not None
    return any(float(found) == value for found in _NUMBER.findall(text))


# --------------------------------------------------------------------------- the domain


@dataclass(eq=False)
class Domain:
    """A loaded, checked domain: its tables, tools and templates.

    Build a world per seed with `build_world` (built once, cached); make tasks with `task`;
    grade an episode with `grade`. Load it once and share it within a process; not thread-safe.
    """

    name: str
    description: str
    policy: str  # policy.md: what the agent is told
    today: str
    locale: str
    tables: tuple[Table, ...]  # in creation (reference) order
    tools: dict[str, DomainTool]
    templates: tuple[Template, ...]
    finalize: tuple[str, ...]
    source: str
    _pristine: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _scratch: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _tasks: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    # (template, seed, slots before it) -> the first query's rows in a fixed shuffled order,
    # and dealt to the splits (`_deal_rows`).
    _dealt: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    # (split, seed) -> the templates with tasks in the split.
    _split_templates: dict = field(default_factory=dict, init=False, repr=False)
    # Sample queries run on the pristine world, so their rows depend only on the seed, the step
    # and the slots they read: queried once, not on every task drawn.
    _sampled: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)

    def build_world(self, seed: int = 0) -> World:
        """A live world for `seed` (same seed, same rows, in any process)."""
        return World(self, seed, self._pristine_db(seed))

    def task(self, index: int, seed: int = 0, split: str | None = None) -> DomainTask:
        """Task `index` of the world built from `seed` (deterministic; cached).

        Templates take turns (index mod the number of templates); the golden actions of every
        task returned were replayed and succeed, and each task changes the database or needs
        information communicated.

        With `split` ("train", "validation" or "test"), task `index` of that split: each
        template's tasks are dealt to the splits by the row of its first sample query (see
        SPLIT_DEAL), so no task is in two splits, and the templates that have tasks in the split
        take turns. A template that queries nothing trains only.
        """
        templates = self._templates_in(split, seed)
        template = templates[index % len(templates)]
        k = index // len(templates)
        return _cached(
            self._tasks,
            (index, seed, split),
            lambda: self._make_task(template, index, k, seed, split),
            TASK_CACHE,
        )

    def grade(self, task: DomainTask, world_after: World, messages_to_user: Iterable[str]) -> dict:
        """tau2-style grade: db_match (final tables equal the golden replay's) × communicate."""
        if world_after.domain.name != self.name or world_after.seed != task.seed:
            raise ValueError(
                f"task {task.id} is for {self.name} seed {task.seed}, the world is {world_after.domain.name} seed {world_after.seed}"
            )
        actual = world_after.table_hashes()
        differ = sorted(t for t, digest in actual.items() if task.expected_tables.get(t) != digest)
        messages = list(messages_to_user)
        missing = [info for info in task.communicate_info if not communicated(info, messages)]
        db_match, communicate = float(not differ), float(not missing)
        return {
            "reward": db_match * communicate,
            "db_match": db_match,
            "communicate": communicate,
            "tables_differ": differ,
            "missing_info": missing,
        }

    # ---- worlds

    def _pristine_db(self, seed: int) -> Pristine:
        return _cached(self._pristine, seed, lambda: Pristine.of(self._build(seed), self.tables), WORLD_CACHE)

    def _build(self, seed: int) -> sqlite3.Connection:
        conn = _connect(self.today, Random(_stable_seed(self.name, seed, "finalize")))
        for table in self.tables:
            for ddl in (table.ddl(), *table.index_ddl()):
                conn.execute(ddl)
        fake = _faker(self.locale)
        values: dict[str, dict[str, list]] = {}
        conn.execute("BEGIN")
        for table in self.tables:
            fake.seed_instance(_stable_seed(self.name, seed, table.name, "faker"))
            rows = self._generate(
                table, Random(_stable_seed(self.name, seed, table.name)), fake, values
            )
            try:
                conn.executemany(table.insert_sql, rows)
            except sqlite3.Error as exc:
                raise _fail(table.pointer, f"generated rows break a constraint: {exc}") from None
        for i, sql in enumerate(self.finalize):
            try:
                conn.execute(sql)
            except sqlite3.Error as exc:
                raise _fail(_ptr("finalize", i), str(exc)) from None
        conn.execute("COMMIT")
        return conn

    def _generate(self, table: Table, rng: Random, fake, values: dict) -> list[tuple]:
        """The table's rows; rows whose key or unique columns repeat are drawn again."""
        makers = [_maker(c, rng, fake, values) for c in table.columns]
        index = {c.name: i for i, c in enumerate(table.columns)}
        keys = [tuple(index[k] for k in table.primary_key)] + [
            (index[c.name],) for c in table.columns if c.unique
        ]
        seen: list[set] = [set() for _ in keys]
        rows = []
        for n in range(1, table.count + 1):
            for _ in range(MAX_ATTEMPTS):
                row = tuple(make(n) for make in makers)
                sigs = [tuple(row[i] for i in key) for key in keys]
                if not any(sig in s and None not in sig for sig, s in zip(sigs, seen, strict=True)):
                    break
            else:
                raise _fail(
                    table.pointer,
                    f"cannot draw {table.count} rows with distinct keys (stuck at row {n}); widen the generators or lower count",
                )
            for sig, s in zip(sigs, seen, strict=True):
                s.add(sig)
            rows.append(row)
        values[table.name] = {c.name: [r[i] for r in rows] for i, c in enumerate(table.columns)}
        return rows

    def _scratch_world(self, seed: int) -> tuple[World, dict[str, str]]:
        """A world for replaying golden actions, and its pristine table hashes."""

        def make() -> tuple[World, dict[str, str]]:
            world = self.build_world(seed)
            return world, world.table_hashes()

        return _cached(self._scratch, seed, make, WORLD_CACHE)

    # ---- tasks

    def _templates_in(self, split: str | None, seed: int) -> tuple[Template, ...]:
        """The templates with tasks in `split` (None: all of them); found once per split."""
        if split is None:
            return self.templates
        if split not in SPLIT_DEAL:
            raise ValueError(
                f"unknown split {split!r}; expected None or one of {sorted(set(SPLIT_DEAL))}"
            )
        key = (split, seed)
        if key not in self._split_templates:
            found = tuple(t for t in self.templates if self._has_tasks(t, seed, split))
            if not found:
                raise ValueError(f"domain {self.name!r} has no task in split {split!r}, seed {seed}")
            self._split_templates[key] = found
        return self._split_templates[key]

    def _has_tasks(self, template: Template, seed: int, split: str) -> bool:
        """Whether `template` has tasks in `split`. One that queries nothing deals no rows, so
        trains only; otherwise its first task in the split must be possible (a split may hold
        too few of the first query's rows, or only rows a composition's later parts reject)."""
        if not any(step.query for part in template.parts for step in part.template.steps):
            return split == "train"
        return isinstance(self._try_task(template, 0, 0, seed, split), DomainTask)

    def _make_task(
        self, template: Template, index: int, k: int, seed: int, split: str | None
    ) -> DomainTask:
        made = self._try_task(template, index, k, seed, split)
        if isinstance(made, _Miss):
            raise _fail(
                made.pointer,
                f"template {template.name!r} found no valid task in {MAX_ATTEMPTS} tries; last: {made.reason}",
            )
        return made

    def _try_task(
        self, template: Template, index: int, k: int, seed: int, split: str | None
    ) -> DomainTask | _Miss:
        """The task, or why the last of MAX_ATTEMPTS tries failed."""
        world, pristine = self._scratch_world(seed)
        stream = (template.name, k) if split is None else (template.name, split, k)
        for attempt in range(MAX_ATTEMPTS):
            rng = Random(_stable_seed(self.name, seed, *stream, attempt))
            try:
                return self._attempt(
                    template, index, seed, split, k if attempt == 0 else None, rng, world, pristine
                )
            except _Miss as miss:
                last = miss
        return last

    def _attempt(self, template, index, seed, split, k, rng, world, pristine) -> DomainTask:
        """One try at a task: sample the slots, replay the golden actions, render the texts."""
        world.reset()
        ns, views = self._sample(template, seed, split, k, rng, world)
        actions: list[dict] = []
        communicate: list[str] = []
        for part, view in zip(template.parts, views, strict=True):
            results = _replay(part.template, view, world, actions)
            values = {**view, **_result_slots(results)}
            pointer = part.template.pointer + "/communicate_info/"
            communicate += [
                _render(text, values, pointer + str(j))
                for j, text in enumerate(part.template.communicate)
            ]
        expected = world.table_hashes()
        if expected == pristine and not communicate:
            raise _Miss(
                template.pointer,
                "the golden actions change nothing and nothing must be communicated: the task needs no action",
            )
        known, user_scenario = self._user(template, ns, views)
        where = f"{seed}/{index}" if split is None else f"{seed}/{split}/{index}"
        return DomainTask(
            id=f"{self.name}/{where}",
            domain=self.name,
            template=template.name,
            index=index,
            seed=seed,
            description=self._description(template, ns, views),
            user_scenario=user_scenario,
            evaluation_criteria={
                "actions": actions,
                "communicate_info": communicate,
                "nl_assertions": None,
                "reward_basis": ["DB", "COMMUNICATE"],
            },
            known=known,
            slots=ns,
            expected_tables=expected,
        )

    def _sample(
        self, template: Template, seed: int, split: str | None, k: int | None, rng: Random,
        world: World,
    ) -> tuple[dict, list[dict]]:
        """Draw the task's slots part by part on the pristine `world`; returns the task's slots
        and each part's view."""
        ns: dict[str, Any] = {"today": self.today}
        views = []
        dealt = False
        for part in template.parts:
            view = _view(ns, part)
            for step in part.template.steps:
                if step.query is None:
                    drawn = {step.let: self._draw(step, rng)}
                else:
                    # The first query deals the task to its split; later queries draw at random.
                    rows = self._rows(step, part, view, ns, world)
                    if dealt:
                        drawn = dict(zip(step.columns, rng.choice(rows), strict=True))
                    else:
                        drawn = self._deal(template, step, rows, seed, ns, split, k, rng)
                        dealt = True
                for local, value in drawn.items():
                    ns[part.glob(local)] = value
                    view[local] = value
            views.append(view)
        return ns, views

    def _draw(self, step: Step, rng: Random) -> Any:
        ((kind, spec),) = step.draw.items()
        if kind == "range":
            return _draw_range(spec, rng)
        if kind == "choice":
            return rng.choice(spec)
        return _draw_faker(spec, self.locale, rng, step.pointer + "/faker")

    def _deal(self, template, step, rows, seed, ns, split, k, rng) -> dict:
        """The row of the template's first sample query, as slots. Task k takes row k (modulo)
        of a fixed shuffle of the rows (with a split: of the distinct rows dealt to it); a retry
        (k None) any of them at random. The rows depend only on the slots drawn before (`ns`),
        so a task's slots decide its split."""
        key = (template.name, seed, tuple(ns.items()))
        deal = partial(_deal_rows, rows, _stable_seed(self.name, template.name, seed, "order"))
        try:
            hash(key)
        except TypeError:  # a slot holds a list or an object: no key
            dealt = deal()
        else:
            dealt = _cached(self._dealt, key, deal, SAMPLE_CACHE)
        ordered = dealt[split]
        if not ordered:
            raise _Miss(step.pointer, f"no row of the first sample query is in the {split} split")
        if k is None:
            row = rng.choice(rows if split is None else ordered)
        else:
            row = ordered[k % len(ordered)]
        return dict(zip(step.columns, row, strict=True))

    def _rows(self, step: Step, part: Part, view: dict, ns: dict, world: World) -> list[tuple]:
        """The step query's rows whose columns named like existing slots equal them (cached)."""
        fixed = tuple((i, n, ns[part.glob(n)]) for i, n in enumerate(step.columns) if part.glob(n) in ns)
        key = (step.pointer, world.seed, tuple(view.get(p) for p in step.parameters), fixed)
        query = partial(self._query_rows, step, view, fixed, world._conn)
        try:
            hash(key)
        except TypeError:  # a slot holds a list or an object: no key (nor bindable)
            rows = query()
        else:
            rows = _cached(self._sampled, key, query, SAMPLE_CACHE)
        if not rows:
            raise _Miss(step.pointer, "the sample query found no rows")
        return rows

    def _query_rows(self, step: Step, view: dict, fixed: tuple, conn) -> list[tuple]:
        names = step.columns
        # SQLite filters with the tables' indexes; a sub-select cannot name a column used twice.
        in_sql = bool(fixed) and len(set(names)) == len(names) and all(_bindable_scalar(v) for *_, v in fixed)
        sql, params = step.query, view
        if in_sql:
            sql = step.filtered(tuple(n for _, n, _ in fixed))
            params = {**view, **{f"__pick_{j}": v for j, (*_, v) in enumerate(fixed)}}
        try:
            cur = conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _fail(step.pointer + "/query", _sql_problem(exc, view)) from None
        if in_sql or not fixed:
            return cur.fetchall()
        return [r for r in cur if all(r[i] == v for i, _, v in fixed)]

    def _user(self, template: Template, ns: dict, views: list[dict]) -> tuple[dict, dict]:
        """(known, tau2 user_scenario): the parts' user texts, merged; a composed template's own
        user texts (over the task's slots) replace the merged ones."""
        rendered = [
            _render_user(part.template, view)
            for part, view in zip(template.parts, views, strict=True)
        ]
        own = _render_user(template, ns) if template.composed else {}
        known = {k: v for r in rendered for k, v in r.get("known", {}).items()}
        known.update(own.get("known", {}))

        def merged(key: str, sep: str) -> str:
            return own.get(key) or _unique_join((r.get(key) for r in rendered), sep)

        instructions = {
            "domain": self.name,
            "reason_for_call": merged("reason_for_call", " "),
            "known_info": "\n".join(f"{k}: {v}" for k, v in known.items()) or None,
            "unknown_info": merged("unknown_info", " ") or None,
            "task_instructions": merged("task_instructions", " ") or DEFAULT_INSTRUCTIONS,
        }
        persona = own.get("persona") or next(
            (r["persona"] for r in rendered if r.get("persona")), None
        )
        return known, {"persona": persona, "instructions": instructions}

    def _description(self, template: Template, ns: dict, views: list[dict]) -> dict:
        if template.description or not template.composed:
            purpose = _render(template.description, ns, template.pointer + "/description")
        else:
            purpose = _unique_join(
                (
                    _render(p.template.description, v, p.template.pointer + "/description")
                    for p, v in zip(template.parts, views, strict=True)
                ),
                "; then ",
            )
        policies = template.relevant_policies or _unique_join(
            (p.template.relevant_policies for p in template.parts), "\n"
        )
        return {
            "purpose": purpose or None,
            "relevant_policies": policies or None,
            "notes": f"template {template.name}",
        }


def _cached(cache: OrderedDict, key: Any, make: Callable[[], Any], limit: int) -> Any:
    """`cache[key]`, made on a miss; the least recently used entry goes past `limit`."""
    if key not in cache:
        cache[key] = make()
        if len(cache) > limit:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def _render_user(template: Template, values: dict) -> dict:
    pointer = template.pointer + "/user"
    out: dict[str, Any] = {
        key: _render(text, values, f"{pointer}/{key}")
        for key, text in template.user.items()
        if key != "known"
    }
    known = template.user.get("known", {})
    out["known"] = {k: _render(v, values, f"{pointer}/known/{k}") for k, v in known.items()}
    return out


def _replay(template: Template, view: dict, world: World, actions: list[dict]) -> list:
    """Run a template's golden actions on `world`, appending them to `actions`; their answers."""
    results: list = []
    for j, action in enumerate(template.actions):
        pointer = f"{template.pointer}/actions/{j}"
        arguments = _render_value(
            action["arguments"], {**view, **_result_slots(results)}, pointer + "/arguments"
        )
        outcome = world.call(action["name"], arguments)
        if not outcome.ok:
            raise _Miss(pointer, f"golden action failed: {outcome.error}")
        results.append(outcome.data)
        actions.append(
            {
                "action_id": f"{action['name']}_{len(actions)}",
                "requestor": "assistant",
                "name": action["name"],
                "arguments": arguments,
            }
        )
    return results


def _maker(col: Column, rng: Random, fake, values: dict) -> Callable[[int], Any]:
    """A function of the 1-based row number that generates the column's next value."""
    spec, kind = col.spec, col.generator
    if kind == "x-pattern":
        pattern, cast = spec[kind], int if col.json_type == "integer" else str
        base = lambda n: cast(pattern.format(n=n))  # noqa: E731
    elif kind == "default":
        base = lambda n: spec["default"]  # noqa: E731
    elif kind == "enum":
        options, weights = spec["enum"], spec.get("x-weights")
        if col.unique:  # distinct values: a shuffle of the options, without replacement
            order = rng.sample(options, len(options))
            base = lambda n: order[n - 1]  # noqa: E731
        elif weights:
            base = lambda n: rng.choices(options, weights)[0]  # noqa: E731
        else:
            base = lambda n: rng.choice(options)  # noqa: E731
    elif kind == "x-range":
        base = lambda n: _draw_range(spec[kind], rng)  # noqa: E731
    elif kind == "x-references":
        parent = values[col.references[0]][col.references[1]]
        if col.unique:  # one-to-one: draw without replacement
            order = rng.sample(parent, len(parent))
            base = lambda n: order[n - 1]  # noqa: E731
        else:
            base = lambda n: rng.choice(parent)  # noqa: E731
    else:
        base = lambda n: _call_provider(fake, spec[kind], col.pointer + "/x-faker")  # noqa: E731
    null_rate = spec.get("x-null-rate", 0)

    def make(n: int) -> Any:
        if null_rate and rng.random() < null_rate:
            return None
        value = base(n)
        if not (_type_ok(col.json_type, value) or (value is None and col.nullable)):
            raise _fail(col.pointer, f"generated {value!r}, which is not of type {col.json_type}")
        return value

    return make


# --------------------------------------------------------------------------- loading


def bundled_domains() -> list[str]:
    """Names of the domains shipped with the package."""
    root = resources.files("orchestra_env.bundled_domains")
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.joinpath("domain.json").is_file()
    )


def _locate(name_or_path: str | Path):
    """(domain.json, its folder) for a domain.json, a folder holding one, or a bundled name."""
    path = Path(name_or_path)
    if path.is_file():
        return path, path.parent
    if (path / "domain.json").is_file():
        return path / "domain.json", path
    if str(name_or_path) in bundled_domains():
        folder = resources.files("orchestra_env.bundled_domains").joinpath(str(name_or_path))
        return folder.joinpath("domain.json"), folder
    raise DomainError(
        [
            Problem(
                "",
                f"no domain.json at {str(name_or_path)!r}, and no bundled domain of that name (bundled: {', '.join(bundled_domains())})",
            )
        ]
    )


def load_domain(name_or_path: str | Path) -> Domain:
    """Load and check a domain: a bundled name, a folder, or a path to its domain.json.

    Raises DomainError naming every problem by JSON pointer: schema errors, bad references,
    SQL that does not compile against the tables, unknown slots, unknown tools in actions.
    """
    file, folder = _locate(name_or_path)
    source = str(file)
    try:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise _fail(
                "", f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except OSError as exc:
            raise _fail("", f"cannot read the file: {exc}") from None
        policy = folder.joinpath("policy.md")
        if not policy.is_file():
            raise _fail("", "policy.md is missing next to domain.json (it is the agent's policy)")
        return _parse(doc, policy.read_text(encoding="utf-8"), source)
    except DomainError as exc:
        raise DomainError(exc.problems, source) from None


def _parse(doc: Any, policy: str, source: str) -> Domain:
    problems = _schema_problems(doc)
    if problems:  # later checks assume the document's shape
        raise DomainError(problems)
    locale = doc.get("locale", "en_US")
    tables = _parse_tables(doc["entities"], locale, problems)
    if problems:
        raise DomainError(problems)
    today = doc.get("today", DEFAULT_TODAY)
    conn = _compile_db(today, tables, problems)
    finalize = tuple(_sql(s) for s in doc.get("finalize", ()))
    for i, sql in enumerate(finalize):
        _compile(conn, sql, (), _ptr("finalize", i), problems, reads=False, build=True)
    tools = _parse_tools(doc["tools"], conn, problems)
    declared_tools = {t["name"] for t in doc["tools"]}
    templates = _parse_templates(doc["tasks"], conn, tools, declared_tools, locale, problems)
    conn.close()
    if problems:
        raise DomainError(problems)
    return Domain(
        name=doc["name"],
        description=doc["description"],
        policy=policy,
        today=today,
        locale=locale,
        tables=tables,
        tools=tools,
        templates=templates,
        finalize=finalize,
        source=source,
    )


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class TemplateYield:
    """How many valid and distinct tasks a template gave over the indices tried."""

    name: str
    tried: int
    valid: int
    distinct: int
    actions: tuple[int, int]  # fewest and most golden actions


@dataclass
class ValidationReport:
    """What `validate_domain` found: problems (by JSON pointer), table sizes, template yields."""

    domain: str
    source: str
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    tools: int = 0
    templates: list[TemplateYield] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def distinct_tasks(self) -> int:
        return sum(t.distinct for t in self.templates)


def validate_domain(
    name_or_path: str | Path, *, per_template: int = 100, seed: int = 0
) -> ValidationReport:
    """Check a domain end to end without raising: load it (schema, references, SQL compiled
    against the tables, slots), build its world, and instantiate every template over
    `per_template` indices, replaying the golden actions on fresh worlds."""
    start = time.perf_counter()
    report = ValidationReport(domain=str(name_or_path), source=str(name_or_path))
    try:
        domain = load_domain(name_or_path)
        report.domain, report.source, report.tools = domain.name, domain.source, len(domain.tools)
        world = domain.build_world(seed)
        report.rows = {
            t.name: world.query(f"SELECT COUNT(*) AS n FROM {_q(t.name)}")[0]["n"]
            for t in domain.tables
        }
        world.close()
    except DomainError as exc:
        report.problems += exc.problems
        report.seconds = time.perf_counter() - start
        return report
    for position, template in enumerate(domain.templates):
        report.templates.append(
            _template_yield(domain, position, template, per_template, seed, report.problems)
        )
    report.seconds = time.perf_counter() - start
    return report


def _template_yield(
    domain: Domain, position: int, template: Template, tries: int, seed: int, problems: list
) -> TemplateYield:
    keys, sizes = set(), []
    for k in range(tries):
        try:
            task = domain.task(k * len(domain.templates) + position, seed)
        except DomainError as exc:
            problems += exc.problems
            break
        keys.add(json.dumps([task.actions, task.communicate_info], sort_keys=True, default=str))
        sizes.append(task.difficulty)
    return TemplateYield(
        template.name, tries, len(sizes), len(keys), (min(sizes, default=0), max(sizes, default=0))
    )


# --------------------------------------------------------------------------- authoring, export


SCAFFOLD_POLICY = """# {title} policy

You help members of the library. Before any change, identify the member by their member id.

- A member may borrow a book only while it has copies available and the member has fewer than
  their loan limit of books out.
- Returning a book closes the loan and puts the copy back.
- Tell the member the due date of every loan you open.
"""


def scaffold_domain(name: str, dest: str | Path = ".") -> Path:
    """Write a small working example domain to `dest/name/`; returns the folder."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"domain name {name!r} must be lowercase letters, digits and _")
    folder = Path(dest) / name
    if folder.exists():
        raise FileExistsError(f"{folder} already exists")
    example = json.loads((SCHEMAS / "domain.example.json").read_text())
    example["name"] = name
    folder.mkdir(parents=True)
    (folder / "domain.json").write_text(json.dumps(example, indent=2) + "\n", encoding="utf-8")
    (folder / "policy.md").write_text(
        SCAFFOLD_POLICY.format(title=name.replace("_", " ").title()), encoding="utf-8"
    )
    return folder


def export_tau2_tasks(domain: Domain | str | Path, n: int, seed: int = 0) -> list[dict]:
    """The first `n` tasks of a domain in tau2-bench's task format."""
    if not isinstance(domain, Domain):
        domain = load_domain(domain)
    return [domain.task(i, seed).to_tau2() for i in range(n)]
