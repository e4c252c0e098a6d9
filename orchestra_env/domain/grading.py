"""Grading an episode tau2-style: the final tables against the golden replay's, and whether each
piece of information appears in what the agent told the user."""

from __future__ import annotations

import re
from collections.abc import Iterable

from orchestra_env.domain.tasks import DomainTask
from orchestra_env.domain.world import DomainWorld

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


def grade(task: DomainTask, world_after: DomainWorld, messages_to_user: Iterable[str]) -> dict:
    """tau2-style grade: db_match (final tables equal the golden replay's) × communicate."""
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
