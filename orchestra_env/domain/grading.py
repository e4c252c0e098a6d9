"""Grading an episode tau2-style: the final tables against the golden replay's, whether each
piece of information appears in what the agent told the user, and a task's nl_assertions as a
judge (a callable, or a live model through `llm_judge`) sees them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from orchestra_env.domain.tasks import DomainTask
from orchestra_env.domain.world import DomainWorld

# (assertions, the conversation as {"role", "content"} messages) -> whether each one holds.
Judge = Callable[[Sequence[str], Sequence[dict]], Sequence[bool]]
UNGRADED = "ungraded"  # what grading reports of nl_assertions when no judge is configured

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


def grade(
    task: DomainTask,
    world_after: DomainWorld,
    messages_to_user: Iterable[str],
    judge: Judge | None = None,
    conversation: Sequence[dict] = (),
) -> dict:
    """tau2-style grade: db_match (final tables equal the golden replay's) × communicate, and
    × nl (every nl_assertion holds) when the task has assertions and a `judge` reads
    `conversation`; without a judge they are reported as "ungraded", never counted as met."""
    actual = world_after.table_hashes()
    differ = sorted(t for t, digest in actual.items() if task.expected_tables.get(t) != digest)
    messages = list(messages_to_user)
    missing = [info for info in task.communicate_info if not communicated(info, messages)]
    db_match, communicate = float(not differ), float(not missing)
    result = {
        "reward": db_match * communicate,
        "db_match": db_match,
        "communicate": communicate,
        "tables_differ": differ,
        "missing_info": missing,
    }
    if task.nl_assertions:
        result.update(_judged(task.nl_assertions, judge, conversation, result["reward"]))
    return result


def _judged(
    assertions: list[str], judge: Judge | None, conversation: Sequence[dict], reward: float
) -> dict:
    if judge is None:
        return {"nl_assertions": UNGRADED}
    verdicts = [bool(v) for v in judge(assertions, conversation)]
    if len(verdicts) != len(assertions):
        raise ValueError(
            f"the judge gave {len(verdicts)} verdicts for {len(assertions)} nl_assertions"
        )
    nl = float(all(verdicts))
    return {
        "reward": reward * nl,
        "nl": nl,
        "nl_assertions": [
            {"assertion": a, "met": v} for a, v in zip(assertions, verdicts, strict=True)
        ],
    }


JUDGE_PROMPT = (
    "You judge a conversation between a customer-service agent and a customer. For each "
    "numbered assertion, decide whether the conversation satisfies it. Answer with a JSON "
    "list of true/false values only, one per assertion, in order."
)


def llm_judge(backend: Any, **sampling: Any) -> Judge:
    """A `Judge` played by a live model (`backend.generate(messages)`, as for `LLMUser`); a
    reply that is not a list of booleans, one per assertion, raises ValueError."""

    def judge(assertions: Sequence[str], conversation: Sequence[dict]) -> list[bool]:
        transcript = "\n".join(f"{m['role']}: {m['content']}" for m in conversation)
        numbered = "\n".join(f"{i}. {a}" for i, a in enumerate(assertions, 1))
        messages = [
            {"role": "system", "content": JUDGE_PROMPT},
            {"role": "user", "content": f"Conversation:\n{transcript}\n\nAssertions:\n{numbered}"},
        ]
        text = backend.generate(messages, **sampling).text or ""
        found = re.search(r"\[[^\[\]]*\]", text)
        try:
            verdicts = json.loads(found[0]) if found else None
        except json.JSONDecodeError:
            verdicts = None
        if not isinstance(verdicts, list) or not all(isinstance(v, bool) for v in verdicts):
            raise ValueError(f"the judge's reply is not a JSON list of booleans: {text!r}")
        return verdicts

    judge.nondeterministic = True  # a live model: an env judged by it says so in its spec
    return judge
