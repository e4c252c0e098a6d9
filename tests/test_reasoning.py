"""The reasoning family: running code pays off, and a failed coder's program stays a plausible,
terminating variant of the reference (the problems themselves: tests/test_problems.py)."""

import random
import re
from collections import Counter

from orchestra_env import OrchestraEnv
from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.tasks.questions import break_program
from orchestra_env.tasks.reasoning import ReasoningFamily

from .conftest import play


def test_code_then_answer_beats_answering_in_the_head():
    family = ReasoningFamily(0)
    assert family.task(5).id == "reasoning/5"

    def accuracy(plan, n=200):
        env = OrchestraEnv("reasoning", split="test", policy_model=None)
        return sum(play(env, FixedPlan(plan), seed=s)[1]["outcome"] for s in range(n)) / n

    head = accuracy([("answer", {"model": "answer-1"})])
    coded = accuracy(
        [("enhance_reasoning", {"model": "reasoner-1"}), ("answer", {"model": "answer-1"})]
    )
    assert coded > head + 0.06  # calibrated to HLE: GPT-5 gains ~12 points from running code


def test_a_wrong_constant_stays_near_its_size():
    # A brute-force program whose exponent grew from 6 to 12 would loop until the CPU limit.
    program = "hits = sum(1 for f in product(range(1, 7), repeat=6) if sum(f) == 14)\nprint(hits)"
    originals = [1, 1, 7, 6, 14]
    kinds = Counter()
    for seed in range(500):
        broken = break_program(program, random.Random(seed))
        numbers = [int(n) for n in re.findall(r"-?\d+", broken)]
        if len(numbers) != len(originals):
            kinds["other"] += 1
            continue
        for old, new in zip(originals, numbers, strict=True):
            assert abs(new - old) <= max(2, old // 3), broken
        kinds["constant"] += numbers != originals
    assert kinds["constant"] > 100


def test_a_broken_program_never_changes_a_function_body():
    """Only the inputs and the last line change: a changed loop constant inside the solver
    could make it run forever on every call."""
    family = ReasoningFamily(0)
    for index in range(200):
        program = family.task(index).problem.program
        body = program[: program.rindex("\nprint(")]
        broken = break_program(program, random.Random(index))
        assert broken.startswith(body), index
        assert broken != program
