"""The domain format's features for real tau2-style domains: terminal tools (a transfer ends the
episode), refusal / transfer tasks and golden traces with failing calls, fixed seed rows,
list- and object-valued columns, and nl_assertions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.domain import SCHEMAS, DomainError, load_domain
from orchestra_env.observation import tool_call

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
