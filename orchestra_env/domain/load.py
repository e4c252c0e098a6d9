"""Loading a domain: the bundled domains, finding a domain.json, and reading it with its policy."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

from orchestra_env.domain.errors import DomainError, Problem, fail
from orchestra_env.domain.model import Domain
from orchestra_env.domain.parse import parse_document


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
                f"no domain.json at {str(name_or_path)!r}, and no bundled domain of that name "
                f"(bundled: {', '.join(bundled_domains())})",
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
            raise fail(
                "", f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except OSError as exc:
            raise fail("", f"cannot read the file: {exc}") from None
        policy = folder.joinpath("policy.md")
        if not policy.is_file():
            raise fail("", "policy.md is missing next to domain.json (it is the agent's policy)")
        return parse_document(doc, policy.read_text(encoding="utf-8"), source)
    except DomainError as exc:
        raise DomainError(exc.problems, source) from None


@cache
def shared_domain(name: str) -> Domain:
    """A domain (bundled name or path), loaded and validated once per process and shared by
    every env, family and live expert that names it."""
    return load_domain(name)
