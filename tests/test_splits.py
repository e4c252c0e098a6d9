"""Fixed splits: every split draws from every function-calling domain and template it can, no
task (domain, template, slots) is in two splits, and the question families keep their tasks."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys

import pytest

from orchestra_env import ENV_FAMILIES
from orchestra_env.domain import SCHEMAS, bundled_domains, load_domain
from orchestra_env.tasks.base import SPLITS, index_in_split, split_of
from orchestra_env.tasks.function_calling import FunctionCallingFamily
from orchestra_env.tasks.suite import TaskSuite

FAMILIES = ENV_FAMILIES["ToolOrchestra-v0"]
EXAMPLE = json.loads((SCHEMAS / "domain.example.json").read_text())


def key(task) -> tuple[str, str, str]:
    """What makes two function-calling tasks the same task."""
    case = task.case
    return case.domain, case.template, json.dumps(case.slots, sort_keys=True, default=str)


@pytest.fixture(scope="module")
def suite():
    return TaskSuite(FAMILIES)


@pytest.fixture(scope="module")
def family(suite):
    return suite.family("function_calling")


def split_tasks(family, split: str, n: int) -> list:
    return [family.task(index_in_split(split, k)) for k in range(n)]


def test_the_test_split_holds_every_domain(suite):
    ids = [i for i in suite.task_ids("test", 200) if i.startswith("function_calling/")]
    domains = {suite.task(i).case.domain for i in ids}
    assert domains == set(bundled_domains()), ids


def test_each_split_takes_turns_through_the_domains(family):
    n = len(family.domains)
    for split in SPLITS:
        tasks = split_tasks(family, split, 2 * n)
        assert [t.case.domain for t in tasks] == [d.name for d in family.domains] * 2, split
        assert all(split_of(t.index) == split for t in tasks)


def test_no_task_is_in_two_splits(family):
    seen: dict[tuple, str] = {}
    for split in SPLITS:
        for task in split_tasks(family, split, 300):
            assert seen.setdefault(key(task), split) == split, (task.id, key(task), seen[key(task)])


def test_every_template_of_every_domain_trains(family):
    n = len(family.domains) * max(len(d.templates) for d in family.domains)
    trained = {(t.case.domain, t.case.template) for t in split_tasks(family, "train", n)}
    assert trained == {(d.name, t.name) for d in family.domains for t in d.templates}


def test_the_question_families_keep_their_tasks(suite):
    """Their ids are still the k-th index of the split (index_in_split) in the same draw order."""
    for split in SPLITS:
        rng, counters, old = random.Random(f"task_ids:{split}"), dict.fromkeys(FAMILIES, 0), []
        for _ in range(50):
            name = rng.choices(list(FAMILIES), weights=list(FAMILIES.values()))[0]
            old.append(f"{name}/{index_in_split(split, counters[name])}")
            counters[name] += 1
        assert suite.task_ids(split, 50) == old
        for task_id in old:
            name, _, index = task_id.partition("/")
            task = suite.task(task_id)
            assert (task.id, task.index) == (task_id, int(index)) and split_of(task.index) == split


def test_function_calling_tasks_are_the_same_in_another_process():
    ids = [index_in_split(split, k) for split in SPLITS for k in (0, 7)]
    family = FunctionCallingFamily(0, ("bank",), name="function_calling.bank")
    here = [family.task(i).case.to_tau2() for i in ids]
    code = (
        "import json, sys\n"
        "from orchestra_env.tasks.function_calling import FunctionCallingFamily as F\n"
        "f = F(0, ('bank',), name='function_calling.bank')\n"
        "cases = [f.task(i).case.to_tau2() for i in json.loads(sys.argv[1])]\n"
        "print(json.dumps(cases, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(ids)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(here, default=str))


# -- how a domain deals its templates' tasks to the splits ---------------------------------------


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    """The example domain plus a template with one possible task and one with three."""
    doc = copy.deepcopy(EXAMPLE)
    due = next(t for t in doc["tasks"] if t["name"] == "due_date")
    query = due["sample"][0]["query"] + " ORDER BY l.loan_id LIMIT {}"
    for name, rows in (("one_loan", 1), ("three_loans", 3)):
        sample = [{"query": query.format(rows)}]
        doc["tasks"].append({**copy.deepcopy(due), "name": name, "sample": sample})
    folder = tmp_path_factory.mktemp("domains") / "library"
    folder.mkdir()
    (folder / "domain.json").write_text(json.dumps(doc))
    (folder / "policy.md").write_text("# policy\n")
    return load_domain(folder)


def test_a_template_with_one_task_trains_only_and_three_reach_every_split(small_library):
    by_split = {split: [small_library.task(i, split=split) for i in range(40)] for split in SPLITS}
    templates = {s: {t.template for t in tasks} for s, tasks in by_split.items()}
    assert "one_loan" in templates["train"]
    assert "one_loan" not in templates["test"] | templates["validation"]
    slots = {
        s: {json.dumps(t.slots, sort_keys=True) for t in tasks if t.template == "three_loans"}
        for s, tasks in by_split.items()
    }
    assert [len(slots[s]) for s in SPLITS] == [1, 1, 1]  # one row each, none shared
    assert len(set.union(*slots.values())) == 3
    assert by_split["test"][0].id.startswith("library/0/test/")


def test_an_unknown_split_is_named(small_library):
    with pytest.raises(ValueError, match="'dev'"):
        small_library.task(0, split="dev")


def test_without_a_split_every_template_takes_its_turn(small_library):
    """Domain.task(i) (what validation and export use) still cycles through every template."""
    n = len(small_library.templates)
    tasks = [small_library.task(i) for i in range(n)]
    assert [t.template for t in tasks] == [t.name for t in small_library.templates]
    assert tasks[0].id == "library/0/0"
