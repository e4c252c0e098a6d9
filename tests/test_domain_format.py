"""The domain format's features for real tau2-style domains: terminal tools (a transfer ends the
episode), refusal / transfer tasks and golden traces with failing calls, fixed seed rows,
list- and object-valued columns, nl_assertions, tools' named values (`let`) and a template's
split."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import gymnasium as gym
import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.core import CallRecord, Evidence
from orchestra_env.domain import DomainError, llm_judge, load_domain
from orchestra_env.domain.tools import ToolOutcome
from orchestra_env.models.backends import Generation
from orchestra_env.observation import tool_call
from orchestra_env.tasks.function_calling import next_step
from tests.test_domain import EXAMPLE, run_cli, write_domain

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


SHOP = {
    "name": "shop",
    "description": "Customers with addresses and tags.",
    "entities": {
        "customers": {
            "primary_key": "customer_id",
            "count": 3,
            "rows": [
                {
                    "customer_id": "C-1",
                    "name": "Ada Lovelace",
                    "address": {"zip": "0150", "city": "Oslo"},
                    "tags": ["vip"],
                    "active": True,
                }
            ],
            "properties": {
                "customer_id": {"type": "string", "x-pattern": "C-{n}"},
                "name": {"type": "string", "x-faker": "name"},
                "address": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                    "default": {"city": "Bergen", "zip": "5003"},
                },
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                "active": {"type": "boolean", "default": False},
            },
        }
    },
    "tools": [
        {
            "name": "get_customer",
            "description": "A customer by id.",
            "kind": "read",
            "parameters": {
                "type": "object",
                "properties": {"customer_id": {"type": "string"}},
                "required": ["customer_id"],
            },
            "returns": {"row": "SELECT * FROM customers WHERE customer_id = :customer_id"},
        },
        {
            "name": "set_address",
            "description": "Change a customer's address.",
            "kind": "write",
            "parameters": {
                "type": "object",
                "properties": {
                    "customer_id": {"type": "string"},
                    "address": {"type": "object"},
                },
                "required": ["customer_id", "address"],
            },
            "statements": [
                "UPDATE customers SET address = :address WHERE customer_id = :customer_id"
            ],
            "returns": {"row": "SELECT address FROM customers WHERE customer_id = :customer_id"},
        },
    ],
    "tasks": [
        {
            "name": "move",
            "sample": [{"query": "SELECT customer_id, address FROM customers WHERE active"}],
            "user": {
                "reason_for_call": "You moved to Tromsø.",
                "known": {"customer id": "{customer_id}"},
            },
            "actions": [
                {
                    "name": "set_address",
                    "arguments": {
                        "customer_id": "{customer_id}",
                        "address": {"city": "Tromsø", "zip": "9008"},
                    },
                }
            ],
        }
    ],
}


@pytest.fixture
def shop(tmp_path):
    return load_domain(write_domain(tmp_path / "shop", SHOP))


def test_fixed_rows_come_first_and_generated_rows_number_after_them(shop):
    world = shop.build_world(0)
    rows = world.query("SELECT * FROM customers ORDER BY rowid")
    assert [r["customer_id"] for r in rows] == ["C-1", "C-2", "C-3", "C-4"]
    assert rows[0]["name"] == "Ada Lovelace" and rows[0]["active"] is True
    assert rows[1]["address"] == {"city": "Bergen", "zip": "5003"} and rows[1]["tags"] == []
    assert rows[1]["active"] is False


def test_tools_answer_lists_objects_and_booleans_as_json(shop):
    world = shop.build_world(0)
    content = world.call("get_customer", {"customer_id": "C-1"}).content
    assert json.loads(content) == {
        "customer_id": "C-1",
        "name": "Ada Lovelace",
        "address": {"city": "Oslo", "zip": "0150"},
        "tags": ["vip"],
        "active": True,
    }
    assert '"address": {' in content and '"active": true' in content


def test_an_object_written_in_any_key_order_hashes_the_same(shop):
    task = shop.task(0)
    assert task.slots["address"] == {"city": "Oslo", "zip": "0150"}  # a slot keeps its type
    world = shop.build_world(0)
    address = {"zip": "9008", "city": "Tromsø"}  # the golden call's keys, reordered
    outcome = world.call("set_address", {"customer_id": "C-1", "address": address})
    assert outcome.data == {"address": {"city": "Tromsø", "zip": "9008"}}
    assert shop.grade(task, world, [])["db_match"] == 1.0


def test_a_list_column_refuses_an_object(shop):
    world = shop.build_world(0)
    before = world.hash()
    world._conn.execute("SAVEPOINT t")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        world._conn.execute("UPDATE customers SET tags = '{}' WHERE customer_id = 'C-1'")
    world._conn.execute("ROLLBACK TO t")
    assert world.hash() == before


@pytest.mark.parametrize(
    "row, pointer, words",
    [
        ({"customer_id": "C-9", "tags": "vip"}, "/entities/customers/rows/1/tags", "not of type"),
        ({"customer_id": "C-9", "address": {"city": 7}}, "/rows/1/address/city", "not of type"),
        ({"customer_id": "C-9", "phone": "1"}, "/entities/customers/rows/1/phone", "no column"),
        ({"name": "Bob"}, "/entities/customers/rows/1", "gives no 'customer_id'"),
    ],
)
def test_fixed_row_mistakes_are_named(tmp_path, row, pointer, words):
    doc = copy.deepcopy(SHOP)
    doc["entities"]["customers"]["rows"].append(row)
    problems = problems_of(write_domain(tmp_path / "shop", doc))
    assert pointer in problems and words in problems


def test_a_fixed_row_that_breaks_a_constraint_is_named(tmp_path):
    doc = copy.deepcopy(SHOP)
    doc["entities"]["customers"]["rows"].append(doc["entities"]["customers"]["rows"][0])
    domain = load_domain(write_domain(tmp_path / "shop", doc))
    with pytest.raises(DomainError, match="/entities/customers/rows/1.*UNIQUE"):
        domain.build_world(0)


def test_a_table_of_fixed_rows_needs_no_generators(tmp_path):
    doc = copy.deepcopy(SHOP)
    table = doc["entities"]["customers"]
    del table["count"]
    table["properties"]["name"] = {"type": "string"}
    world = load_domain(write_domain(tmp_path / "shop", doc)).build_world(0)
    assert world.query("SELECT COUNT(*) AS n FROM customers") == [{"n": 1}]


ASSERTION = 'The agent tells {name} that "{title}" is due on {due_on}.'


def judged_domain(tmp_path: Path) -> Path:
    doc = copy.deepcopy(EXAMPLE)
    doc["tasks"][0]["nl_assertions"] = [ASSERTION, "The agent is polite."]
    return write_domain(tmp_path / "lib", doc)


def test_nl_assertions_are_stored_rendered_and_exported(tmp_path):
    folder = judged_domain(tmp_path)
    task = load_domain(folder).task(0)
    slots = task.slots
    assert task.nl_assertions == [
        f'The agent tells {slots["name"]} that "{slots["title"]}" is due on {slots["due_on"]}.',
        "The agent is polite.",
    ]
    assert task.evaluation_criteria["reward_basis"] == ["DB", "COMMUNICATE", "NL_ASSERTION"]
    out = tmp_path / "tasks.json"
    code, _ = run_cli("domain", "export", "--domain", str(folder), "--n", "1", "--out", str(out))
    exported = json.loads(out.read_text())[0]["evaluation_criteria"]
    assert code == 0 and exported["nl_assertions"] == task.nl_assertions
    assert load_domain(folder).task(1).evaluation_criteria["nl_assertions"] is None


def test_nl_assertions_are_ungraded_without_a_judge_never_passed(tmp_path):
    env = conversation_env(judged_domain(tmp_path))
    task = env_task(env, "due_date")
    say = f"<message>It is due on {'; '.join(task.case.communicate_info)}.</message>"
    info, _ = play(env, task, [*golden(task), say])
    assert info["grading"]["nl_assertions"] == "ungraded" and "nl" not in info["grading"]


@pytest.mark.parametrize("verdict", [True, False])
def test_a_judge_grades_nl_assertions_on_the_conversation(tmp_path, verdict):
    seen = []

    def judge(assertions, conversation):
        seen.append((list(assertions), [m["content"] for m in conversation]))
        return [True, verdict]

    env = OrchestraEnv(
        "function_calling", domains=[str(judged_domain(tmp_path))], max_turns=20, nl_judge=judge
    )
    task = env_task(env, "due_date")
    words = f"It is due on {'; '.join(task.case.communicate_info)}."
    info, _ = play(env, task, [*golden(task), f"<message>{words}</message>"])
    assertions, contents = seen[-1]
    assert assertions == task.case.nl_assertions and any(words in c for c in contents)
    assert info["outcome"] == int(verdict) and info["grading"]["nl"] == float(verdict)
    assert [v["met"] for v in info["grading"]["nl_assertions"]] == [True, verdict]


class ScriptedBackend:
    def __init__(self, text: str):
        self.text = text

    def generate(self, messages, *, tools=None, **sampling) -> Generation:
        self.sent = messages
        return Generation(text=self.text, prompt_tokens=1, completion_tokens=1, seconds=0)


def test_llm_judge_reads_a_list_of_booleans_and_refuses_anything_else():
    backend = ScriptedBackend("Verdicts: [true, false]")
    conversation = [{"role": "assistant", "content": "Hello"}]
    assert llm_judge(backend)(["a", "b"], conversation) == [True, False]
    assert "1. a" in backend.sent[-1]["content"] and "Hello" in backend.sent[-1]["content"]
    with pytest.raises(ValueError, match="not a JSON list of booleans"):
        llm_judge(ScriptedBackend("yes"))(["a"], conversation)
    with pytest.raises(ValueError, match="nl_judge must be"):
        OrchestraEnv("function_calling", nl_judge=42)
    env = gym.make("ToolOrchestra-FunctionCalling-v0", nl_judge=ScriptedBackend("[true]"))
    assert env.spec.nondeterministic  # a live judge makes rewards irreproducible


def test_nl_assertions_name_unknown_slots(tmp_path):
    doc = copy.deepcopy(EXAMPLE)
    doc["tasks"][0]["nl_assertions"] = ["The agent greets {nobody}."]
    assert "/tasks/0/nl_assertions/0" in problems_of(write_domain(tmp_path / "lib", doc))


OPEN_LOANS = "(SELECT COUNT(*) FROM loans WHERE member_id = :member_id AND status = 'open')"


def with_lets(doc: dict) -> dict:
    """The example with borrow_book's open-loan count and next loan id as named values."""
    doc = copy.deepcopy(doc)
    borrow = next(t for t in doc["tools"] if t["name"] == "borrow_book")
    borrow["let"] = {
        "open_loans": OPEN_LOANS,
        "next_loan": "'LN-' || printf('%05d', (SELECT COUNT(*) + 1 FROM loans))",
    }
    borrow["checks"][2] = {
        "query": "SELECT loan_limit FROM members WHERE member_id = :member_id",
        "condition": ":open_loans < loan_limit",
        "missing": "no member {member_id}",
        "error": "member {member_id} already has {open_loans} books out (limit {loan_limit})",
    }
    insert = borrow["statements"][0]
    borrow["statements"][0] = insert.replace(
        "'LN-' || printf('%05d', (SELECT COUNT(*) + 1 FROM loans))", ":next_loan"
    )
    borrow["returns"]["message"] = "Lent as {next_loan}; {open_loans} loans were open."
    return doc


def borrow_once(world) -> tuple[ToolOutcome, int]:
    """borrow_book called by an active member with open loans and room for one more; the
    outcome and how many loans the member had open."""
    opened = OPEN_LOANS.replace(":member_id", "m.member_id")
    member, count = world._conn.execute(
        f"SELECT member_id, {opened} FROM members m "
        f"WHERE status = 'active' AND {opened} BETWEEN 1 AND loan_limit - 1 LIMIT 1"
    ).fetchone()
    book = world._conn.execute(
        "SELECT book_id FROM books WHERE copies_available > 0 LIMIT 1"
    ).fetchone()[0]
    return world.call("borrow_book", {"member_id": member, "book_id": book}), count


def test_a_tools_named_values_are_computed_once_before_the_statements(tmp_path):
    domain = load_domain(write_domain(tmp_path / "lib", with_lets(EXAMPLE)))
    plain = load_domain(write_domain(tmp_path / "plain", EXAMPLE))
    outcome, opened = borrow_once(domain.build_world(0))
    assert outcome.ok, outcome.error
    # next_loan was computed before the INSERT, so the new loan has the id the message names.
    assert outcome.data["loan_id"] in outcome.content
    assert outcome.content.endswith(f"{opened} loans were open.")
    for i in range(6):  # the same tasks, replayed to the same databases, as without the lets
        assert domain.task(i).expected_tables == plain.task(i).expected_tables


def test_a_named_value_reads_in_a_checks_error(tmp_path):
    doc = with_lets(EXAMPLE)
    borrow = next(t for t in doc["tools"] if t["name"] == "borrow_book")
    borrow["checks"][2]["condition"] = ":open_loans < 0"  # every borrow is over the limit
    outcome, opened = borrow_once(load_domain(write_domain(tmp_path / "lib", doc)).build_world(0))
    assert f"already has {opened} books out" in outcome.error


@pytest.mark.parametrize(
    "let, pointer, words",
    [
        ({"member_id": "1"}, "/tools/3/let/member_id", "already a parameter"),
        ({"n": "(SELECT nope FROM loans)"}, "/tools/3/let/n", "nope"),
        ({"n": ":later", "later": "1"}, "/tools/3/let/n", "later"),
        ({"n": "(SELECT loan_id, book_id FROM loans)"}, "/tools/3/let/n", "2 columns"),
        ({"N": "1"}, "/tools/3/let", "N"),
    ],
)
def test_named_value_mistakes_are_named(tmp_path, let, pointer, words):
    doc = copy.deepcopy(EXAMPLE)
    doc["tools"][3]["let"] = let
    problems = problems_of(write_domain(tmp_path / "lib", doc))
    assert pointer in problems and words in problems, problems


FIXED = {  # a fixed task: no sample query, so one task only
    "name": "first_member",
    "description": "The first member asks for their name on file.",
    "user": {
        "reason_for_call": "You want to know the name on file.",
        "known": {"member id": "MEM-0001"},
    },
    "actions": [{"name": "get_member", "arguments": {"member_id": "MEM-0001"}}],
    "communicate_info": ["{result_0[name]}"],
}


def split_templates(domain, split: str) -> set[str]:
    return {domain.task(i, 0, split).template for i in range(2 * len(domain.templates))}


@pytest.mark.parametrize("split", [None, "test", "validation"])
def test_a_fixed_task_is_in_exactly_one_split_its_own_or_train(tmp_path, split):
    doc = copy.deepcopy(EXAMPLE)
    doc["tasks"].append({**FIXED, **({"split": split} if split else {})})
    domain = load_domain(write_domain(tmp_path / "lib", doc))
    holding = [
        s for s in ("train", "test", "validation") if "first_member" in split_templates(domain, s)
    ]
    assert holding == [split or "train"]


def test_a_templates_split_holds_all_its_sampled_tasks(tmp_path):
    doc = copy.deepcopy(EXAMPLE)
    doc["tasks"][0]["split"] = "test"
    domain = load_domain(write_domain(tmp_path / "lib", doc))
    assert "due_date" not in split_templates(domain, "train") | split_templates(
        domain, "validation"
    )
    dealt = load_domain(write_domain(tmp_path / "plain", EXAMPLE))

    def loans(d, split: str) -> set[tuple]:
        tasks = (d.task(i, 0, split) for i in range(60))
        return {(t.slots["member_id"], t.slots["title"]) for t in tasks if t.template == "due_date"}

    # Rows the default deal gives to train are now the test split's too.
    assert loans(domain, "test") & loans(dealt, "train")


def test_a_split_must_be_named(tmp_path):
    doc = copy.deepcopy(EXAMPLE)
    doc["tasks"][0]["split"] = "eval"
    assert "/tasks/0/split" in problems_of(write_domain(tmp_path / "lib", doc))


AUTHORING = Path(__file__).parent.parent / "docs" / "authoring.md"


def authoring_block(after: str, language: str) -> str:
    """The first ```language block after the line `after` in docs/authoring.md."""
    text = AUTHORING.read_text(encoding="utf-8")
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start : text.index("\n```", start)]


@pytest.fixture
def bikes(tmp_path, monkeypatch):
    folder = tmp_path / "bikes"
    folder.mkdir()
    (folder / "domain.json").write_text(authoring_block("`bikes/domain.json`:", "json"))
    (folder / "policy.md").write_text(authoring_block("`bikes/policy.md`:", "markdown"))
    monkeypatch.chdir(tmp_path)
    return folder


def test_the_authoring_example_validates_and_its_python_runs(bikes):
    exec(authoring_block("## Testing tools from Python", "python"), {})


def test_each_authoring_template_plays_to_reward_one(bikes):
    env = conversation_env(bikes)
    for template in ("cancel", "cancel_started", "move_house", "damaged_bike"):
        task = env_task(env, template)
        done = "<message>That is done. Your request has been handled.</message>"
        info, _ = play(env, task, [*golden(task), done])
        assert info["outcome"] == 1, (template, info["grading"])
