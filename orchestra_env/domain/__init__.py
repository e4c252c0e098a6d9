"""Domains as data: load and validate a JSON domain, build its SQLite world, run its tools, and
make and grade its tasks.

A domain is a folder with `domain.json` (described by `schemas/domain.schema.json`) and
`policy.md`; no Python. The world is an in-memory SQLite database generated from a seed and
built once per seed; `DomainWorld.reset` restores it in microseconds. Tools are parameterised
SQL from the domain file: the agent's values are only ever bound parameters. Tasks come from
templates; each is checked by replaying its golden actions, and graded tau2-style: the final
database must equal the golden replay's (a canonical hash), every `communicate_info` string
must appear in what the agent told the user, and a judge, when one is configured, must find
every `nl_assertions` statement true of the conversation.

Modules, lowest first: `errors` (Problem, DomainError), `slots` (text templates), `sql`
(connections, compiling statements), `schema` (the JSON Schema; tables and columns as DDL),
`generate` (value generators, Faker), `tools` (tools at run time), `templates` (task template
records), `world` (the SQLite world and its hashes), `tasks` (DomainTask, sampling, the split
deal), `grading`, `model` (Domain), `parse_tables` / `parse_tools` / `parse_tasks` / `parse`
(domain.json to a Domain), `load` (loading, bundled domains), `authoring` (validate, scaffold,
export) and `cli` (the `orchestra domain ...` and `orchestra tasks ...` commands).
"""

from orchestra_env.domain.authoring import (
    TemplateYield,
    ValidationReport,
    export_tau2_tasks,
    scaffold_domain,
    validate_domain,
)
from orchestra_env.domain.errors import DomainError, Problem
from orchestra_env.domain.grading import Judge, communicated, llm_judge
from orchestra_env.domain.load import bundled_domains, load_domain, shared_domain
from orchestra_env.domain.model import Domain
from orchestra_env.domain.parse import DEFAULT_TODAY
from orchestra_env.domain.schema import SCHEMAS, Column, Table
from orchestra_env.domain.tasks import SPLIT_DEAL, DomainTask
from orchestra_env.domain.templates import Part, Step, Template
from orchestra_env.domain.tools import DomainTool, Rule, ToolOutcome
from orchestra_env.domain.world import DomainWorld, Pristine

__all__ = [
    "DEFAULT_TODAY",
    "SCHEMAS",
    "SPLIT_DEAL",
    "Column",
    "Domain",
    "DomainError",
    "DomainTask",
    "DomainTool",
    "DomainWorld",
    "Judge",
    "Part",
    "Pristine",
    "Problem",
    "Rule",
    "Step",
    "Table",
    "Template",
    "TemplateYield",
    "ToolOutcome",
    "ValidationReport",
    "bundled_domains",
    "communicated",
    "export_tau2_tasks",
    "llm_judge",
    "load_domain",
    "shared_domain",
    "scaffold_domain",
    "validate_domain",
]
