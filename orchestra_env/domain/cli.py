"""`orchestra domain validate|new|list|export` and `orchestra tasks export` (the same): author,
check and export JSON domains. `add_domain_commands` registers them on the `orchestra` parser's
subparsers; each handler takes (args, console) and returns the exit status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestra_env.domain.authoring import (
    ValidationReport,
    export_tau2_tasks,
    scaffold_domain,
    validate_domain,
)
from orchestra_env.domain.errors import DomainError
from orchestra_env.domain.load import bundled_domains, load_domain


def add_domain_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `domain validate|new|list` and `tasks export` on an argparse subparsers object."""
    domain = subparsers.add_parser("domain", help="author and check JSON domains")
    sub = domain.add_subparsers(dest="domain_command", required=True)

    validate = sub.add_parser(
        "validate", help="check domains end to end (every bundled one if none is named)"
    )
    validate.add_argument("domains", nargs="*", metavar="PATH|NAME")
    validate.add_argument(
        "--per-template", type=int, default=100, help="task indices tried per template"
    )
    validate.add_argument("--seed", type=int, default=0, help="world seed")
    validate.set_defaults(func=cmd_validate)

    new = sub.add_parser("new", help="write a small working example domain to start from")
    new.add_argument("name")
    new.add_argument("--dest", default=".", help="folder to create NAME/ in")
    new.set_defaults(func=cmd_new)

    sub.add_parser("list", help="the bundled domains").set_defaults(func=cmd_list)
    _add_export(sub)

    tasks = subparsers.add_parser("tasks", help="export tasks")
    _add_export(tasks.add_subparsers(dest="tasks_command", required=True))


def _add_export(subparsers: argparse._SubParsersAction) -> None:
    """`export` (as `orchestra domain export` and `orchestra tasks export`)."""
    export = subparsers.add_parser(
        "export", help="a domain's tasks in tau2-bench's task format (JSON)"
    )
    export.add_argument("--domain", required=True, metavar="PATH|NAME")
    export.add_argument("--n", type=int, default=100, help="number of tasks")
    export.add_argument("--seed", type=int, default=0, help="world seed")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    export.set_defaults(func=cmd_export)


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    names = args.domains or bundled_domains()
    reports = []
    for name in names:
        with console.status(Text(f"validating {name}")):
            reports.append(validate_domain(name, per_template=args.per_template, seed=args.seed))
    console.print(_summary(reports))
    for report in reports:
        # Per-template yields for the domains asked about by name, and for any that failed.
        if report.templates and (args.domains or not report.ok):
            console.print(_yields(report))
        for problem in report.problems:
            console.print(
                f"{report.source} {problem}",
                style="red",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    return 0 if all(r.ok for r in reports) else 1


def _summary(reports: list[ValidationReport]) -> Table:
    table = Table(title="Domains")
    for col in (
        "domain",
        "tables (rows)",
        "tools",
        "templates",
        "distinct tasks",
        "actions",
        "s",
        "status",
    ):
        table.add_column(col)
    for r in reports:
        sizes = [t.actions for t in r.templates if t.valid]
        actions = f"{min(a for a, _ in sizes)}–{max(b for _, b in sizes)}" if sizes else "-"
        rows = f"{len(r.rows)} ({min(r.rows.values())}–{max(r.rows.values())})" if r.rows else "-"
        status = "[green]ok[/green]" if r.ok else f"[red]{len(r.problems)} problem(s)[/red]"
        table.add_row(
            Text(r.domain),
            rows,
            str(r.tools),
            str(len(r.templates)),
            str(r.distinct_tasks),
            actions,
            f"{r.seconds:.1f}",
            status,
        )
    return table


def _yields(report: ValidationReport) -> Table:
    table = Table(title=Text(f"{report.domain}: templates"))
    for col in ("template", "valid / tried", "distinct", "actions"):
        table.add_column(col)
    for t in report.templates:
        low, high = t.actions
        table.add_row(
            Text(t.name),
            f"{t.valid} / {t.tried}",
            str(t.distinct),
            str(low) if low == high else f"{low}–{high}",
        )
    return table


def cmd_new(args: argparse.Namespace, console: Console) -> int:
    try:
        folder = scaffold_domain(args.name, args.dest)
    except (FileExistsError, ValueError) as exc:
        console.print(str(exc), style="red", markup=False)
        return 1
    check = f"orchestra domain validate {folder}"
    console.print(f"wrote {folder}/domain.json and policy.md; check it with: {check}", markup=False)
    return 0


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="Bundled domains")
    for col in ("domain", "tables", "tools", "templates", "description"):
        table.add_column(col)
    for name in bundled_domains():
        d = load_domain(name)
        table.add_row(
            name, str(len(d.tables)), str(len(d.tools)), str(len(d.templates)), Text(d.description)
        )
    console.print(table)
    return 0


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    try:
        tasks = export_tau2_tasks(args.domain, args.n, args.seed)
    except DomainError as exc:
        console.print(str(exc), markup=False, highlight=False)
        return 1
    text = json.dumps(tasks, indent=2, ensure_ascii=False)
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {len(tasks)} tasks to {args.out}", markup=False)
    return 0
