"""Parsing domain.json into a Domain: the schema first, then tables, `finalize`, tools and
templates, every problem collected and raised together by JSON pointer."""

from __future__ import annotations

from typing import Any

from orchestra_env.domain.errors import DomainError, json_pointer
from orchestra_env.domain.model import Domain
from orchestra_env.domain.parse_tables import create_tables, parse_tables
from orchestra_env.domain.parse_tasks import parse_templates
from orchestra_env.domain.parse_tools import parse_tools
from orchestra_env.domain.schema import schema_problems
from orchestra_env.domain.sql import clean_sql, compile_sql

DEFAULT_TODAY = "2025-01-15"


def parse_document(doc: Any, policy: str, source: str) -> Domain:
    problems = schema_problems(doc)
    if problems:  # later checks assume the document's shape
        raise DomainError(problems)
    locale = doc.get("locale", "en_US")
    tables = parse_tables(doc["entities"], locale, problems)
    if problems:
        raise DomainError(problems)
    today = doc.get("today", DEFAULT_TODAY)
    conn = create_tables(today, tables, problems)
    finalize = tuple(clean_sql(s) for s in doc.get("finalize", ()))
    for i, sql in enumerate(finalize):
        compile_sql(conn, sql, (), json_pointer("finalize", i), problems, reads=False, build=True)
    tools = parse_tools(doc["tools"], conn, problems)
    declared_tools = {t["name"] for t in doc["tools"]}
    templates = parse_templates(doc["tasks"], conn, tools, declared_tools, locale, problems)
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
