"""The fidelity report computes its numbers right: the gold-leak detector, the program-output
reader, the ROC-AUC and its classifier, the oracle setting's documents, and the targets'
verdicts. The simulator's values themselves are not tested here: they are what the report
measures, and they will change."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.baselines.single_model import solo_aliases, solo_profiles
from orchestra_env.calibration import (
    Fidelity,
    GoldQueries,
    fidelity_markdown,
    gold_in_text,
    measure_fidelity,
    play_cell,
    roc_auc,
    visibility_auc,
)
from orchestra_env.calibration.fidelity import (
    ESCALATION,
    STRONG,
    WEAK,
    plan,
    read_episode,
    targets,
)
from orchestra_env.cli import main
from orchestra_env.models.simulated import SimulatedExperts
from orchestra_env.rollout import rollout
from orchestra_env.tasks.suite import TaskSuite
from orchestra_env.tools.retrieval import WorldCorpus


def test_the_gold_leak_detector_finds_a_planted_answer_as_whole_tokens():
    code = "```python\nprint(undefined_fact + 'Spencer and Sons')\n```\nOutput:\nNameError"
    assert gold_in_text(["Spencer & Sons", "spencer and sons"], code)
    assert gold_in_text(["1,234"], "the hall seats 1234 people")  # normalised like a grade
    assert not gold_in_text(["12"], "attended by 120 people in 2012")
    # A search reply numbers its documents: "[1]" is not the answer 1.
    assert not gold_in_text(["1"], "Query (web): x\n\n[1] Krause Fair\nA fair.")


def test_a_code_run_printing_the_gold_answer_is_read_as_right():
    task = TaskSuite({"reasoning": 1.0}).task("reasoning/0")
    gold = task.problem.answer
    seen = {
        "messages": (
            {"role": "user", "content": task.prompt},
            {"role": "assistant", "content": "<tool_call>…</tool_call>"},
            {"role": "tool", "content": "```python\nprint(1)\n```\nOutput:\nnot it\n"},
            {"role": "assistant", "content": "<tool_call>…</tool_call>"},
            {"role": "tool", "content": f"```python\nprint(2)\n```\nOutput:\n{gold}\n"},
        )
    }
    played = read_episode(task, seen, outcome=0)
    assert played.code_correct == (False, True)
    assert played.gold_in == {"code"} and played.hops_in_context is None


def test_roc_auc_on_known_cases():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert roc_auc([1, 2, 3], [0, 1, 1]) == 1.0
    assert roc_auc([3, 2, 1], [0, 1, 1]) == 0.0
    assert roc_auc([5, 5, 5, 5], [0, 1, 0, 1]) == 0.5  # ties count half
    assert math.isnan(roc_auc([1, 2], [1, 1]))


def test_the_classifier_finds_difficulty_written_in_the_text():
    easy = [f"add {i} and {i + 1}" for i in range(20)]
    hard = [f"count the subsets of {i} items with constraints" for i in range(20)]
    texts, labels = easy + hard, [1] * 20 + [0] * 20
    assert visibility_auc(texts[::2], labels[::2], texts[1::2], labels[1::2]) == 1.0


def test_the_oracle_setting_puts_every_hop_document_in_context():
    model = "qwen3-8b"
    profiles = solo_profiles(model)
    env = gym.make(
        "ToolOrchestra-Multihop-v0",
        split="test",
        profiles=profiles,
        tools=[a for a in solo_aliases(model) if not a.startswith("call_expert")],
        experts=GoldQueries(SimulatedExperts(profiles)),
    )
    corpus = WorldCorpus(0)
    for k, task_id in enumerate(env.unwrapped.task_ids("test", 8)):
        task = env.unwrapped.suite.task(task_id)
        run = rollout(
            env,
            FixedPlan(plan("oracle", model, task)),
            options={"task_id": task_id, "episode_seed": k},
            keep_observations=True,
        )
        seen = "\n".join(m["content"] for m in run.observations[-2]["messages"])
        for hop in task.question.hops:
            assert corpus.document(hop.doc_id)[1] in seen, (task_id, hop)
    assert all(p.hops_in_context for p in play_cell("multihop", model, "oracle", 8))
    assert not all(p.hops_in_context for p in play_cell("multihop", model, "closed", 8))


def test_the_reasoning_plans_run_the_coders_they_name():
    task = TaskSuite({"reasoning": 1.0}).task("reasoning/0")
    coders = [args["model"] for tool, args in plan("escalate", "qwen3-8b", task)[:-1]]
    assert coders == ["enhance_reasoning@qwen3-8b", ESCALATION]
    assert all(len(p.code_correct) == 3 for p in play_cell("reasoning", "qwen3-8b", "retry", 3))


def _report(**changes) -> Fidelity:
    values = dict(
        n=10,
        seed=0,
        accuracy={
            ("multihop", STRONG, "closed"): 0.40,
            ("multihop", STRONG, "oracle"): 0.72,
            ("multihop", WEAK, "oracle"): 0.55,
        },
        oracle_coverage={},
        first_call={STRONG: (0.6, 10)},
        retry_after_failure={STRONG: (0.3, 4)},
        given_output={},
        leak={"multihop": (0.1, 10)},
        leak_in={"multihop": {"search": 0.1, "code": 0.0}},
        auc={"reasoning": 0.71},
    )
    return Fidelity(**{**values, **changes})


def test_targets_mark_each_measurement_met_or_missed():
    verdicts = {t.name: (round(t.measured, 3), t.met) for t in targets(_report())}
    assert verdicts == {
        f"{STRONG} multihop oracle lift (points)": (32.0, True),
        f"{WEAK} multihop with gold documents": (0.55, False),
        f"{STRONG} retry success / first-call success": (0.5, True),
        f"multihop: gold in context of wrong {STRONG} episodes": (0.1, False),
        "reasoning: difficulty visibility AUC": (0.71, True),
    }


def test_measure_fidelity_names_what_is_wrong_with_its_arguments():
    with pytest.raises(ValueError, match="qwen3-32b"):
        measure_fidelity(1, models=("gpt-5", "gpt-5-mini"))
    with pytest.raises(ValueError, match="n must be at least 1"):
        measure_fidelity(0)


def test_the_cli_prints_the_report_with_its_targets(capsys):
    assert main(["calibrate", "--fidelity", "--n", "2"]) == 0
    out = capsys.readouterr().out
    assert "orchestra calibrate --fidelity --n 2 --seed 0" in out
    assert "difficulty visibility AUC" in out and ("met" in out or "MISSED" in out)


def test_the_markdown_has_a_row_per_target():
    report = _report(oracle_coverage={}, first_call={}, retry_after_failure={})
    report = Fidelity(**{**report.__dict__, "targets": targets(report)})
    text = fidelity_markdown(report)
    assert text.count("| MISSED |") == 2 and text.count("| met |") == 2
