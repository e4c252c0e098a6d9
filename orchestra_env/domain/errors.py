"""What can go wrong with a domain: a Problem at a JSON pointer, the DomainError that carries
them, and the miss a task-sampling attempt retries on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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


def fail(pointer: str, message: str) -> DomainError:
    """A DomainError of one problem, to raise."""
    return DomainError([Problem(pointer, message)])


def json_pointer(*parts: object) -> str:
    """A JSON pointer from path parts (RFC 6901 escaping)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class SampleMiss(Exception):
    """A sampling attempt that found no usable task (retried with the next attempt)."""

    def __init__(self, pointer: str, reason: str):
        super().__init__(reason)
        self.pointer, self.reason = pointer, reason
