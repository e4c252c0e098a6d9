"""The domain format's features for real tau2-style domains: terminal tools (a transfer ends the
episode), refusal / transfer tasks and golden traces with failing calls, fixed seed rows,
list- and object-valued columns, and nl_assertions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.core import CallRecord, Evidence
from orchestra_env.domain import SCHEMAS, DomainError, load_domain
from orchestra_env.observation import tool_call
from orchestra_env.tasks.function_calling import next_step

EXAMPLE = json.loads((SCHEMAS / "domain.example.json").read_text())

TRANSFER = {
    "name": "transfer_to_human_agents",
    "description": "Hand the user to a human agent, with a summary of the request.",
    "kind": "read",
    "parameters": {
        "type": "object",
        "properties": {"summary": {"type": "string"}},
        "required": ["summary"],
        "additionalProperties": False,
    },
    "returns": {"message": "Transfer successful."},
}


def write_domain(folder: Path, doc: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "domain.json").write_text(json.dumps(doc))
    (folder / "policy.md").write_text("# policy\n")
    return folder


def example(*tools: dict) -> dict:
    doc = copy.deepcopy(EXAMPLE)
    doc["tools"].extend(copy.deepcopy(tools))
    return doc


def problems_of(folder: Path) -> str:
    with pytest.raises(DomainError) as exc:
        load_domain(folder)
    return str(exc.value)


def conversation_env(folder: Path) -> OrchestraEnv:
    return OrchestraEnv("function_calling", domains=[str(folder)], max_turns=20)


@pytest.mark.parametrize(
    "tool, ends",
    [
        (TRANSFER, True),  # by convention
        ({**TRANSFER, "terminal": False}, False),  # the domain says otherwise
        ({**TRANSFER, "name": "escalate", "terminal": True}, True),
        ({**TRANSFER, "name": "escalate"}, False),
    ],
)
def test_a_terminal_tool_ends_the_episode_when_its_call_succeeds(tmp_path, tool, ends):
    env = conversation_env(write_domain(tmp_path / "lib", example(tool)))
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(tool_call(tool["name"], {"summary": "help"}))
    assert terminated is ends and not truncated
    if ends:  # graded as usual: the call is recorded and the database is compared
        assert info["outcome"] in (0, 1) and "db_match" in info["grading"]


def test_a_failed_terminal_call_does_not_end_the_episode(tmp_path):
    env = conversation_env(write_domain(tmp_path / "lib", example(TRANSFER)))
    env.reset(seed=0)
    _, _, terminated, _, _ = env.step(tool_call(TRANSFER["name"], {}))
    assert not terminated


def test_terminal_must_be_a_boolean(tmp_path):
    folder = write_domain(tmp_path / "lib", example({**TRANSFER, "terminal": "yes"}))
    assert "/tools/5/terminal" in problems_of(folder)


REFUSAL = {
    "name": "borrow_while_suspended",
    "description": "A suspended member asks to borrow a book: the agent must decline.",
    "outcome": "refuse",
    "sample": [
        {"query": "SELECT member_id, name FROM members WHERE status = 'suspended'"},
        {"query": "SELECT book_id, title FROM books WHERE copies_available > 0"},
    ],
    "user": {
        "reason_for_call": 'You want to borrow "{title}".',
        "known": {"member id": "{member_id}", "book id": "{book_id}"},
    },
    "actions": [
        {"name": "get_member", "arguments": {"member_id": "{member_id}"}},
        {
            "name": "borrow_book",
            "arguments": {"member_id": "{member_id}", "book_id": "{book_id}"},
            "fails": True,
        },
    ],
}
TRANSFER_TASK = {
    "name": "lost_card",
    "description": "A member lost their card; only staff can issue one.",
    "outcome": "transfer",
    "sample": [{"query": "SELECT member_id, name FROM members"}],
    "user": {
        "reason_for_call": "You lost your library card and want a new one.",
        "known": {"member id": "{member_id}"},
    },
    "actions": [
        {"name": "get_member", "arguments": {"member_id": "{member_id}"}},
        {"name": "transfer_to_human_agents", "arguments": {"summary": "{member_id} lost a card"}},
    ],
}


def outcome_domain(tmp_path: Path) -> Path:
    doc = example(TRANSFER)
    doc["tasks"] += [copy.deepcopy(REFUSAL), copy.deepcopy(TRANSFER_TASK)]
    return write_domain(tmp_path / "lib", doc)


def env_task(env: OrchestraEnv, template: str):
    return next(
        t
        for i in range(60)
        if (t := env.suite.task(f"function_calling/{i}")).case.template == template
    )


def play(env: OrchestraEnv, task, actions: list[str]) -> tuple[dict, bool]:
    """Play `actions` then say goodbye; (the last info, whether the episode ended by itself)."""
    env.reset(seed=0, options={"task_id": task.id})
    for action in [*actions, "<message>Goodbye.</message>"]:
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info, action != "<message>Goodbye.</message>"
    raise AssertionError("the episode did not end")


def golden(task) -> list[str]:
    return [tool_call(a["name"], a["arguments"]) for a in task.case.actions]


def test_a_refusal_keeps_its_failing_golden_call_and_passes_only_unchanged(tmp_path):
    env = conversation_env(outcome_domain(tmp_path))
    task = env_task(env, "borrow_while_suspended")
    assert task.case.failing == (1,)
    failed = task.case.actions[1]
    assert failed["name"] == "borrow_book" and "is suspended" in failed["info"]
    info, _ = play(env, task, [*golden(task), "<message>I cannot lend to you.</message>"])
    assert info["outcome"] == 1, info["grading"]
    lending = env_task(env, "borrow").case.actions  # a change the refusal must not make
    info, _ = play(env, task, [tool_call(a["name"], a["arguments"]) for a in lending])
    assert info["outcome"] == 0 and info["grading"]["db_match"] == 0.0


def test_a_transfer_task_is_kept_and_the_transfer_ends_it_graded(tmp_path):
    env = conversation_env(outcome_domain(tmp_path))
    task = env_task(env, "lost_card")
    assert task.case.actions[-1]["name"] == "transfer_to_human_agents"
    info, ended_by_transfer = play(env, task, golden(task))
    assert ended_by_transfer and info["outcome"] == 1


def test_the_expert_moves_past_a_golden_call_meant_to_fail(tmp_path):
    env = conversation_env(outcome_domain(tmp_path))
    case = env_task(env, "borrow_while_suspended").case
    calls = [CallRecord(a["name"], a["arguments"], i == 0, "") for i, a in enumerate(case.actions)]
    said = list(case.known.values())
    assert next_step(case, Evidence(calls=calls[:1], user_said=said)).key == "call:1"
    assert next_step(case, Evidence(calls=calls, user_said=said)).key == "close"


def ends_without_transfer(template: dict) -> None:
    template["actions"].pop()


def reads_a_failed_result(template: dict) -> None:
    template["actions"][1]["fails"] = True
    reader = {"name": "get_member", "arguments": {"member_id": "{result_1[member_id]}"}}
    template["actions"].append(reader)


@pytest.mark.parametrize(
    "edit, pointer, words",
    [
        (ends_without_transfer, "/tasks/5/outcome", "terminal"),
        (reads_a_failed_result, "/tasks/5/actions/2/arguments/member_id", "result_1"),
    ],
)
def test_outcome_mistakes_are_named(tmp_path, edit, pointer, words):
    doc = example(TRANSFER)
    transfer = copy.deepcopy(TRANSFER_TASK)
    edit(transfer)
    doc["tasks"] += [copy.deepcopy(REFUSAL), transfer]
    problems = problems_of(write_domain(tmp_path / "lib", doc))
    assert pointer in problems and words in problems


def test_a_refusal_that_changes_the_database_finds_no_task(tmp_path):
    doc = example(TRANSFER)
    refusal = copy.deepcopy(REFUSAL)
    refusal["sample"][0]["query"] = "SELECT member_id, name FROM members WHERE status = 'active'"
    del refusal["actions"][1]["fails"]
    doc["tasks"].append(refusal)
    domain = load_domain(write_domain(tmp_path / "lib", doc))
    with pytest.raises(DomainError, match="changed the database"):
        domain.task(4)
