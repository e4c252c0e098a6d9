"""The bundled ToolScale-style domains: each validates (a sample of task indices here; the
`orchestra domain validate` command tries 100 per template) and has the promised size."""

from __future__ import annotations

import pytest

from orchestra_env.domain import Pristine, bundled_domains, load_domain, validate_domain

TOOLSCALE = {
    "bank",
    "basketball",
    "ecommerce",
    "medicine",
    "movie",
    "railway",
    "restaurant",
    "school",
    "travel",
    "weather",
}


def test_the_ten_toolscale_domains_are_bundled():
    assert set(bundled_domains()) == TOOLSCALE


@pytest.mark.parametrize("name", sorted(TOOLSCALE))
def test_bundled_domain_validates_and_has_its_size(name):
    report = validate_domain(name, per_template=14)
    assert report.ok, "\n".join(map(str, report.problems))
    domain = load_domain(name)
    assert 4 <= len(domain.tables) <= 8
    assert all(50 <= rows <= 300 for rows in report.rows.values()), report.rows
    kinds = [tool.kind for tool in domain.tools.values()]
    assert 10 <= len(kinds) <= 20 and kinds.count("read") >= 3 and kinds.count("write") >= 3
    assert len(domain.templates) >= 15
    assert report.distinct_tasks >= 200
    assert min(t.actions[0] for t in report.templates) == 1  # one-step lookups ...
    assert max(t.actions[1] for t in report.templates) >= 6  # ... to multi-goal tasks
    assert domain.policy.startswith("# ")


@pytest.mark.parametrize("name", sorted(TOOLSCALE))
def test_bundled_golden_replays_grade_one(name):
    domain = load_domain(name)
    world = domain.build_world(0)
    for index in range(0, 40, 7):
        task = domain.task(index)
        world.reset()
        for action in task.actions:
            outcome = world.call(action["name"], action["arguments"])
            assert outcome.ok, outcome.error
        assert domain.grade(task, world, task.communicate_info)["reward"] == 1.0, task.id
        # the world rehashes only the rows its calls changed: the same as hashing every row
        assert world.table_hashes() == Pristine.of(world._conn, domain.tables).table_hashes()
