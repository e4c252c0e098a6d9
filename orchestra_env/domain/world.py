"""The SQLite world: a seed's database built once (rows generated, then `finalize`), live copies
that reset by rollback, and the canonical table hashes grading compares."""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any, Protocol

from orchestra_env.domain.errors import fail, json_pointer
from orchestra_env.domain.generate import faker_for, generate_rows, stable_seed
from orchestra_env.domain.schema import Table
from orchestra_env.domain.sql import connect, quote_name
from orchestra_env.domain.tools import DomainTool, ToolOutcome


class Schema(Protocol):
    """What a world reads of its domain (a `Domain` is one): the world sits below the domain
    that builds it, so it names only these fields."""

    name: str
    today: str
    locale: str
    tables: tuple[Table, ...]
    tools: Mapping[str, DomainTool]
    finalize: tuple[str, ...]


class DomainWorld:
    """One live copy of a domain's database for one seed.

    The copy is made once; an episode's changes then live in one open transaction, so
    `reset()` is a rollback (µs) that keeps prepared statements warm, and a tool call is a
    savepoint inside it. `call()` runs a tool; `hash()` is the canonical hash grading compares.
    Not thread-safe.
    """

    def __init__(self, domain: Schema, seed: int, pristine: Pristine):
        self.domain = domain
        self.seed = seed
        self._pristine = pristine
        self._conn = connect(domain.today)
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
            now = 0 if row is None else _row_digest(table.stored(row))  # None: deleted
            totals[table.name] += now - pristine.row_digests[table.name].get(rowid, 0)
        return {name: _hex(total) for name, total in totals.items()}

    def hash(self) -> str:
        """One canonical hash of all tables."""
        return combine_hashes(self.table_hashes())

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
            t.name: {
                r[0]: _row_digest(t.stored(r[1:]))
                for r in conn.execute(f"SELECT {t.rowid}, * FROM {quote_name(t.name)}")
            }
            for t in tables
        }
        return cls(conn, digests, {name: sum(rows.values()) for name, rows in digests.items()})

    def table_hashes(self) -> dict[str, str]:
        return {name: _hex(total) for name, total in self.sums.items()}


# Every write to a world's tables is logged (table index, rowid) by temporary triggers, which
# live on that connection only, inside its transaction: a rollback forgets what it undid.
_CHANGED_ROWS = "SELECT t, r FROM temp.changed_rows"


def _log_changes(conn: sqlite3.Connection, tables: Sequence[Table]) -> None:
    conn.execute(
        "CREATE TEMP TABLE changed_rows (t INTEGER, r INTEGER, PRIMARY KEY (t, r)) WITHOUT ROWID"
    )
    for i, table in enumerate(tables):
        events = {
            "INSERT": ("NEW",),
            "DELETE": ("OLD",),
            "UPDATE": ("OLD", "NEW"),
        }  # an update may move the rowid
        for event, rows in events.items():
            values = ", ".join(f"({i}, {row}.{table.rowid})" for row in rows)
            conn.execute(
                f"CREATE TEMP TRIGGER log_{event.lower()}_{i} "
                f"AFTER {event} ON main.{quote_name(table.name)} "
                f"BEGIN INSERT OR IGNORE INTO changed_rows VALUES {values}; END"
            )


def _row_digest(row: tuple) -> int:
    # Pickle, not repr: 7x faster on floats and escaped text. Its bytes depend on the values
    # only (SQLite gives str, int, float, bytes, None, and bool for boolean columns; the only
    # objects pickle could memoise twice are CPython's one-character singletons, also a
    # function of the values), and a fixed protocol keeps them the same in every process.
    # Callers pass `Table.stored` rows: lists and objects as canonical JSON, whatever the order
    # of their keys.
    return int.from_bytes(hashlib.sha256(pickle.dumps(row, protocol=5)).digest(), "big")


def _hex(total: int) -> str:
    return f"{total % 2**256:064x}"


def combine_hashes(table_hashes: Mapping[str, str]) -> str:
    joined = "\n".join(f"{name}:{digest}" for name, digest in sorted(table_hashes.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def build_database(domain: Schema, seed: int) -> sqlite3.Connection:
    """The database `seed` builds for `domain`: tables, generated rows, then `finalize`."""
    conn = connect(domain.today, Random(stable_seed(domain.name, seed, "finalize")))
    for table in domain.tables:
        for ddl in (table.ddl(), *table.index_ddl()):
            conn.execute(ddl)
    fake = faker_for(domain.locale)
    values: dict[str, dict[str, list]] = {}
    conn.execute("BEGIN")
    for table in domain.tables:
        fake.seed_instance(stable_seed(domain.name, seed, table.name, "faker"))
        for i, row in enumerate(table.rows):
            try:
                conn.execute(table.insert_sql, table.stored(row))
            except sqlite3.Error as exc:
                raise fail(f"{table.pointer}/rows/{i}", f"breaks a constraint: {exc}") from None
        rows = generate_rows(
            table, Random(stable_seed(domain.name, seed, table.name)), fake, values
        )
        try:
            conn.executemany(table.insert_sql, map(table.stored, rows))
        except sqlite3.Error as exc:
            raise fail(table.pointer, f"generated rows break a constraint: {exc}") from None
    for i, sql in enumerate(domain.finalize):
        try:
            conn.execute(sql)
        except sqlite3.Error as exc:
            raise fail(json_pointer("finalize", i), str(exc)) from None
    conn.execute("COMMIT")
    return conn
