"""Authoring a domain: the validation report, a scaffold to start from, and tau2 task export."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestra_env.domain.errors import DomainError, Problem
from orchestra_env.domain.load import load_domain
from orchestra_env.domain.model import Domain
from orchestra_env.domain.schema import SCHEMAS
from orchestra_env.domain.sql import quote_name
from orchestra_env.domain.templates import Template


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
            t.name: world.query(f"SELECT COUNT(*) AS n FROM {quote_name(t.name)}")[0]["n"]
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
