"""A domain's tools at run time: argument validation, business rules, statements in one
savepoint, and the outcome the agent reads."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import jsonschema

from orchestra_env.domain.slots import render
from orchestra_env.tools.spec import ToolSpec

# By convention (tau2), this tool hands the user to a person: it ends the episode unless the
# domain says `"terminal": false`.
TRANSFER_TOOL = "transfer_to_human_agents"


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
class Rule:
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
            return render(self.missing or self.error, params, self.pointer)
        if row[0]:
            return None
        names = [d[0] for d in cur.description[1:]]
        return render(
            self.error, {**params, **dict(zip(names, row[1:], strict=True))}, self.pointer
        )


@dataclass(frozen=True)
class DomainTool:
    """A domain function: validated arguments -> rules -> statements as one unit -> answer."""

    spec: ToolSpec  # name, description, parameters (the policy's view)
    kind: str  # read | write
    price_usd: float
    checks: tuple[Rule, ...]  # its `checks` in domain.json
    statements: tuple[str, ...]
    returns_sql: str | None
    returns_many: bool
    message: str | None
    defaults: tuple[tuple[str, Any], ...]  # every declared parameter with its default
    pointer: str
    lets: tuple[tuple[str, str], ...] = ()  # name -> `SELECT (<sql>)`, computed once per call
    terminal: bool = False  # a successful call ends the episode (a transfer, say)

    @property
    def name(self) -> str:
        return self.spec.name

    def run(self, conn: sqlite3.Connection, arguments: Any) -> ToolOutcome:
        """Validate, then run as one unit (a savepoint); any failure rolls it back and is
        reported."""
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
        for name, sql in self.lets:  # before the checks, on the database as the call found it
            params[name] = conn.execute(sql, params).fetchone()[0]
        for rule in self.checks:
            message = rule.failure(conn, params)
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
            content = render(
                self.message, {**params, **(data or {})}, self.pointer + "/returns/message"
            )
        else:
            content = json.dumps(data, ensure_ascii=False)
        return ToolOutcome(self.name, True, content, data, changes=changes)

    def _error(self, message: str) -> ToolOutcome:
        error = f"{self.name}: {message}"
        return ToolOutcome(self.name, False, f"Error: {error}", error=error)


def bindable_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bytes))


def _bindable(value: Any) -> Any:
    # SQLite binds scalars only; arrays and objects go in as JSON text for json_each / ->>.
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _argument_problem(error: jsonschema.ValidationError) -> str:
    where = "/".join(map(str, error.absolute_path))
    return (
        f"argument {where!r}: {error.message}" if where else f"invalid arguments: {error.message}"
    )
