"""compare(): tables, Markdown and Pareto plots from run files; load_runs and the CLI."""

from __future__ import annotations

import argparse
import io
from collections import defaultdict

import pytest
from rich.console import Console

from orchestra_env.eval import compare, load_runs
from orchestra_env.eval.cli import add_eval_commands
from orchestra_env.eval.metrics import ALL, summarize
from orchestra_env.eval.records import RunFile, RunHeader
from orchestra_env.eval.report import pareto_figure
from tests.test_eval_metrics import record

PNG = b"\x89PNG\r\n\x1a\n"


def write_run(path, agent, outcomes_costs, *, seed=0):
    """A run file of `agent` holding one record per (task, trial, outcome, cost)."""
    header = RunHeader(agent, agent, {}, "E", {}, seed, "test")
    with RunFile(path, header) as run:
        for task, trial, outcome, cost in outcomes_costs:
            run.append(record(agent, task, trial, outcome, cost))
    return path


def overall_rows(markdown: str) -> dict[str, str]:
    """The lines of the first (overall) table by agent."""
    table = next(block for block in markdown.split("\n\n") if block.startswith("| agent | n |"))
    return {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    tasks = [("x/0", 0), ("x/0", 1), ("y/0", 0), ("y/0", 1)]
    plan = {
        "cheap": [1, 0, 0, 0],  # accuracy .25 at $0.001
        "mid": [1, 1, 1, 0],  # .75 at $0.01
        "wasteful": [1, 0, 1, 0],  # .5 at $0.05: dominated by mid
        "strong": [1, 1, 1, 1],  # 1.0 at $0.1
        "oracle": [1, 1, 1, 1],  # 1.0 at $0.0005: an upper bound, not on the frontier
        "free": [0, 0, 1, 0],  # .25 at $0: drawn at a floor on the log axis
    }
    cost = {
        "cheap": 0.001,
        "mid": 0.01,
        "wasteful": 0.05,
        "strong": 0.1,
        "oracle": 0.0005,
        "free": 0.0,
    }
    for agent, outcomes in plan.items():
        rows = [(t, k, o, cost[agent]) for (t, k), o in zip(tasks, outcomes, strict=True)]
        write_run(folder / f"{agent}.jsonl", agent, rows)
    return folder


def test_compare_writes_table_markdown_and_plots(runs, tmp_path):
    out = tmp_path / "report"
    console = Console(record=True, width=120, file=io.StringIO())
    report = compare([runs], out, console)
    assert report.markdown == out / "comparison.md"
    assert report.pareto.read_bytes().startswith(PNG) and report.pareto.stat().st_size > 10_000
    assert sorted(report.family_plots) == ["x", "y"]
    assert all(p.read_bytes().startswith(PNG) for p in report.family_plots.values())
    md = report.markdown.read_text()
    rows = overall_rows(md)
    assert rows["mid"].endswith("| ✓ |") and rows["strong"].endswith("| ✓ |")
    assert rows["wasteful"].endswith("|  |")
    assert rows["oracle"].endswith("| bound |")
    assert "| mid | 4 | 0.750 [0.30, 0.95] | 0.500 |" in md  # pass^2 = mean(1, 0)
    text = console.export_text()
    assert "Agents over all task families" in text and "wasteful" in text and "pass^2" in text


def test_compare_reports_routing_metrics_against_a_stated_pair(runs, tmp_path):
    report = compare([runs], tmp_path / "r", Console(file=io.StringIO()))
    # Default pair over the real agents (the oracle is left out): the most accurate and the
    # cheapest less accurate one.
    assert (report.routing.weak, report.routing.strong) == ("free", "strong")
    assert "oracle" not in report.routing.scores
    md = report.markdown.read_text()
    assert "## Routing metrics" in md and "weak = free, strong = strong" in md
    named = compare(
        [runs], tmp_path / "n", Console(file=io.StringIO()), weak="cheap", strong="strong"
    )
    # mid: x = (0.01 − 0.001)/(0.1 − 0.001); recovers (0.75 − 0.25)/(1 − 0.25) of the gap there.
    assert named.routing.scores["mid"].strong_share == pytest.approx(0.009 / 0.099)
    assert named.routing.scores["mid"].apgr > 0.75
    with pytest.raises(ValueError, match="no agent 'nobody'"):
        compare([runs], tmp_path / "x", Console(file=io.StringIO()), weak="nobody")


def test_free_agent_dominates_an_equally_accurate_paid_one(runs, tmp_path):
    report = compare([runs], tmp_path / "r", Console(file=io.StringIO()))
    rows = overall_rows(report.markdown.read_text())
    # free (.25 at $0) dominates cheap (.25 at $0.001).
    assert rows["cheap"].endswith("|  |") and rows["free"].endswith("| ✓ |")


def test_compare_notes_agents_that_played_different_episodes(tmp_path):
    a = write_run(tmp_path / "a.jsonl", "a", [("x/0", 0, 1, 0.1), ("x/1", 0, 1, 0.1)])
    b = write_run(tmp_path / "b.jsonl", "b", [("x/0", 0, 1, 0.1)])
    console = Console(record=True, width=200, file=io.StringIO())
    report = compare([a, b], tmp_path / "r", console)
    note = "the agents played different episodes (a 2, b 1; 1 in common)"
    assert note in console.export_text() and note in report.markdown.read_text()
    report = compare([a], tmp_path / "r", Console(record=True, file=io.StringIO()))
    assert "Note" not in report.markdown.read_text()


def test_load_runs_keeps_two_runs_of_one_agent_apart(tmp_path):
    a = write_run(tmp_path / "seed0.jsonl", "agent", [("x/0", 0, 1, 0.1)])
    b = write_run(tmp_path / "seed1.jsonl", "agent", [("x/0", 0, 0, 0.1)], seed=1)
    other = write_run(tmp_path / "other.jsonl", "other", [("x/0", 0, 0, 0.1)])
    names = sorted(r.agent for r in load_runs([a, b, other]))
    assert names == ["agent [seed0]", "agent [seed1]", "other"]
    assert [r.agent for r in load_runs([a])] == ["agent"]


def test_load_runs_reports_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run file or folder"):
        load_runs([tmp_path / "nope.jsonl"])


def test_compare_without_episodes_is_an_error(tmp_path):
    empty = write_run(tmp_path / "empty.jsonl", "a", [])
    with pytest.raises(ValueError, match="no finished episodes"):
        compare([empty], tmp_path / "r", Console(file=io.StringIO()))


def test_cli_compare(runs, tmp_path):
    parser = argparse.ArgumentParser()
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    console = Console(record=True, width=120, file=io.StringIO())
    args = parser.parse_args(
        [
            "compare",
            str(runs / "mid.jsonl"),
            str(runs / "strong.jsonl"),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert args.func(args, console) == 0
    assert (tmp_path / "r" / "pareto.png").exists() and (tmp_path / "r" / "comparison.md").exists()
    args = parser.parse_args(["compare", str(tmp_path / "missing.jsonl")])
    assert args.func(args, console) == 2
    assert "no run file or folder" in console.export_text()


def test_pareto_legend_keys_each_agent_to_its_own_point(runs):
    """Every agent's legend entry is drawn with the marker and colour of a point that sits at
    that agent's (cost, accuracy); no two agents look alike; an agent looks the same in every
    family's plot."""
    summary = summarize(load_runs([runs]))
    looks: dict[str, set] = defaultdict(set)
    for family in (ALL, "x", "y"):
        ax = pareto_figure(summary, family).axes[0]
        legend = ax.get_legend()
        texts = [t.get_text() for t in legend.get_texts()]
        keys = dict(zip(texts, legend.legend_handles, strict=True))
        assert keys.pop("Pareto frontier (real agents)").get_linestyle() == "--"
        assert keys.pop("oracle (upper bound)").get_marker() == "*"
        assert sorted(keys) == ["cheap", "free (\\$0)", "mid", "strong", "wasteful"]
        points = {line.get_label(): line for line in ax.lines}
        floor = summary["oracle"][family]["cost_mean"] / 3  # "free" ($0): a third of the cheapest
        for label, key in keys.items():
            agent = label.removesuffix(" (\\$0)")
            s, point = summary[agent][family], points[label]
            assert point.get_xydata().tolist() == [[s["cost_mean"] or floor, s["accuracy"]]]
            look = (point.get_marker(), point.get_markerfacecolor())
            assert (key.get_marker(), key.get_markerfacecolor()) == look
            looks[agent].add(look)
        assert len({next(iter(looks[a])) for a in looks}) == len(looks)  # all distinct
    assert all(len(seen) == 1 for seen in looks.values())  # the same in every plot


def test_call_shares_name_the_main_tools_and_sum_the_rare_ones():
    from orchestra_env.eval.report import _shares

    shares = {"call_expert": 0.6, "search": 0.3, **{f"tool_{i}": 0.1 / 50 for i in range(50)}}
    assert _shares(shares) == "call_expert 60% · search 30% · 50 others 10%"
    assert _shares(shares, top=1) == "call_expert 60% · 51 others 40%"
    assert _shares({}) == "-"
