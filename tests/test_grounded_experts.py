"""Simulated experts behave like models, not dice: a model's competence on a step persists
(across calls and processes), failures hold only what the model could know, evidence in
context is the main way up, and a wrong program output misleads the answerers that cannot
solve the item themselves (models/simulated.py, tasks/multihop.py, tasks/reasoning.py)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from orchestra_env.calibration.fidelity import gold_answers, gold_in_text, play_cell
from orchestra_env.core import Attempt, CodeRun, Evidence
from orchestra_env.models.base import ExpertRequest
from orchestra_env.models.profiles import default_profiles
from orchestra_env.models.simulated import SimulatedExperts, latent
from orchestra_env.tasks.function_calling import FunctionCallingFamily
from orchestra_env.tasks.multihop import MultihopFamily
from orchestra_env.tasks.reasoning import ReasoningFamily

ROLES = ("search", "reason", "answer")
STRONG, WEAK = "gpt-5", "qwen3-32b"


def ask(task, role: str, model: str, evidence: Evidence, seed: str):
    request = ExpertRequest(role, model, (task.prompt,), task, evidence, seed)
    return SimulatedExperts(default_profiles()).complete(request)


def evidence_without_gold(task, rng: random.Random) -> Evidence:
    """Some of the task's hop documents, none of which states the gold answer."""
    evidence = Evidence()
    golds = gold_answers(task)
    docs = [h.doc_id for h in task.question.hops] if hasattr(task, "question") else []
    for doc in docs:
        text = task.world.document(doc)
        if rng.random() < 0.5 and not gold_in_text(golds, f"{text.title}\n{text.text}"):
            evidence.add_documents((doc,))
    return evidence


@pytest.mark.parametrize("family", [MultihopFamily(0), ReasoningFamily(0)], ids=lambda f: f.name)
def test_a_model_that_knows_nothing_writes_no_gold(family):
    """Failing every check, with no gold in context, an expert's query, program and answer
    never hold the gold answer: a failure is built from the model's beliefs and the context."""
    rng = random.Random(7)
    for index in range(0, 3000, 10):
        task = family.task(index)
        stated = f"{task.prompt}\n{getattr(getattr(task, 'problem', None), 'program', '')}"
        if gold_in_text(gold_answers(task), stated):
            continue  # a small answer that is also one of the problem's own numbers
        evidence = evidence_without_gold(task, rng)
        for role in ROLES:
            if role == "reason" and len(gold_answers(task)[0]) <= 2:
                continue  # numbers that small are in any program's text
            for model in (STRONG, WEAK):
                failed = frozenset(c.key for c in task.demands(role, evidence))
                text = task.artefact(role, evidence, Attempt(model, failed), rng)
                assert not gold_in_text(gold_answers(task), text), (task.id, role, model, text)


def test_competence_is_the_same_in_another_process():
    keys = [("gpt-5", "fact:0:12:founder"), ("qwen3-8b", "reasoning:0:40:program")]
    code = (
        "from orchestra_env.models.simulated import latent\n"
        f"print([latent(m, k) for m, k in {keys!r}])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == repr([latent(m, k) for m, k in keys])


def _success_rates(family, role: str, model_first: str, model_second: str, n: int = 600):
    """(first-call success, second-call success after a failed first) of `role`'s first step
    on n tasks of `family`; the two calls have different call seeds."""
    first, retried, after_failure = 0, 0, 0
    for index in range(n):
        task = family.task(index)
        ok = ask(task, role, model_first, Evidence(), f"a:{index}").success
        first += ok
        if not ok:
            after_failure += 1
            retried += ask(task, role, model_second, Evidence(), f"b:{index}").success
    return first / n, retried / max(1, after_failure)


@pytest.mark.parametrize(
    "family, role, weak",
    [
        (ReasoningFamily(0), "reason", WEAK),  # write the program for an HLE-like item
        (FunctionCallingFamily(0), "act", "llama-3.3-70b"),  # a conversation's first step
    ],
    ids=["coder", "agent"],
)
def test_a_retry_mostly_repeats_a_failure_and_another_model_is_another_draw(family, role, weak):
    first, retry = _success_rates(family, role, weak, weak)
    assert 0.02 < first < 0.95
    assert retry <= 0.5 * first  # the same model fails the same step again
    strong_first, _ = _success_rates(family, role, STRONG, STRONG)
    _, escalated = _success_rates(family, role, weak, STRONG)
    assert escalated >= 0.5 * strong_first  # the stronger model is the lever


def test_evidence_is_the_main_way_up_on_multihop():
    """The oracle setting (every hop document in context) lifts a strong answerer by 25+
    points over closed-book, and brings a weak one to 0.6 or more."""

    def accuracy(model: str, setting: str) -> float:
        played = play_cell("multihop", model, setting, n=200)
        return sum(p.outcome for p in played) / len(played)

    assert accuracy(STRONG, "oracle") >= accuracy(STRONG, "closed") + 0.25
    assert accuracy(WEAK, "oracle") >= 0.6


def test_a_wrong_program_output_misleads_the_answerers_that_cannot_solve_the_item():
    family = ReasoningFamily(0)
    copied = {STRONG: 0, WEAK: 0}
    right_with_right_output = {STRONG: 0, WEAK: 0}
    n = 300
    for index in range(n):
        task = family.task(index)
        wrong = task.problem.wrong_answers[0]
        for model in copied:
            misled = Evidence(code_runs=[CodeRun("print(x)", f"{wrong}\n", "ok")])
            text = ask(task, "answer", model, misled, f"m:{index}").text
            copied[model] += gold_in_text([wrong], text)
            helped = Evidence(code_runs=[CodeRun("print(x)", f"{task.problem.answer}\n", "ok")])
            text = ask(task, "answer", model, helped, f"h:{index}").text
            right_with_right_output[model] += gold_in_text([task.problem.answer], text)
    assert copied[WEAK] / n >= 0.6
    assert copied[STRONG] < copied[WEAK]  # competence on the item protects the strong model
    assert min(right_with_right_output.values()) / n >= 0.9  # a right output is read
