"""The reasoning family (HLE-like): multi-step computation problems whose difficulty shows in
the problem (tasks/problems.py generates them: size, constraints, composed steps).

Every problem has a reference Python program that prints its answer. Small instances can be
done in the head; large multi-constraint ones practically need a correct program — exactly the
choice an orchestrator faces between answering directly and paying for `enhance_reasoning`.

What a simulated expert does (models/simulated.py draws each check from a persistent latent of
the model and the item, so a model that cannot solve an item mostly fails it again):
* enhance_reasoning — needs `coding` at the problem's coding difficulty: success is the
  reference program, failure a program of a plausible wrong derivation (it prints a wrong
  answer) or one that raises — the model's own, persistent;
* answer — needs `reasoning` at the problem's in-head difficulty: success is the answer,
  failure one of the problem's plausible wrong derivations; an answerer that cannot solve it
  copies a program's output in context, right or wrong (tasks/questions.py `final_answer`);
* search — writes a query from the problem's words; no document holds these answers.

Every check's difficulty is then raised by the family's calibration offset for its skill, if
profiles.json gives one.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestra_env.answers import answers_match
from orchestra_env.core import Attempt, Check, Evidence, Grade
from orchestra_env.episode import Episode
from orchestra_env.tasks.offsets import Offset, family_offset, offset_checks
from orchestra_env.tasks.problems import ReasoningItem, make_problem
from orchestra_env.tasks.questions import (
    QuestionFamily,
    copy_checks,
    final_answer,
    raising_program,
)

FAMILY = "reasoning"
QUERY_DIFFICULTY = 0.0  # a query for a computation problem: nothing to find either way

_WORD = re.compile(r"[A-Za-z]{4,}")


@dataclass(frozen=True)
class ReasoningTask:
    index: int
    problem: ReasoningItem
    seed: int = 0  # the world seed the problem was drawn from
    offset: Offset = ()  # calibration offset per skill, added to every check's difficulty
    family: str = FAMILY
    toolset = "qa"

    @property
    def id(self) -> str:
        return f"{self.family}/{self.index}"

    @property
    def prompt(self) -> str:
        return self.problem.question

    @property
    def difficulty(self) -> dict[str, float]:
        return self.problem.difficulty

    @property
    def reference_plan(self) -> tuple[str, ...]:
        return ("enhance_reasoning", "answer")

    @functools.cached_property
    def _key(self) -> str:
        return f"{self.family}:{self.seed}:{self.index}"

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        d = self.problem.difficulty
        if role == "search":
            checks: tuple[Check, ...] = (
                Check("query_writing", QUERY_DIFFICULTY, key=f"{self._key}:query"),
            )
        elif role == "reason":
            checks = (Check("coding", d["coding"], key=f"{self._key}:program"),)
        else:
            solve = Check("reasoning", d["reasoning"], key=f"{self._key}:solve")
            checks = (solve, *copy_checks(self._key, evidence))
        return offset_checks(checks, self.offset)

    def artefact(self, role: str, evidence: Evidence, attempt: Attempt, rng: random.Random) -> str:
        p = self.problem
        if role == "search":
            words = _WORD.findall(p.question)
            start = rng.randrange(max(1, len(words) - 5))
            return f"<query>{' '.join(words[start : start + 6])}</query>"
        if role == "reason":
            key = f"{self._key}:program"
            if attempt.ok(key):
                return f"```python\n{p.program}\n```"
            belief = attempt.belief(key)
            program = belief.choice((*p.wrong_programs, raising_program(p.program, belief)))
            return f"```python\n{program}\n```"
        key = f"{self._key}:solve"
        own_ok = attempt.ok(key)
        own = p.answer if own_ok else attempt.belief(key).choice(p.wrong_answers)
        return f"<answer>{final_answer(own, own_ok, self._key, evidence, attempt)}</answer>"


class ReasoningFamily(QuestionFamily):
    """Problems `index` = 0, 1, … of `world_seed`; difficulties raised by `difficulty_offset`
    ({skill: logit}; default: the bundled profiles')."""

    name = FAMILY

    def __init__(self, world_seed: int = 0, difficulty_offset: Mapping[str, float] | None = None):
        self.seed = world_seed
        self.offset = family_offset(FAMILY, difficulty_offset)

    def task(self, index: int) -> ReasoningTask:
        return ReasoningTask(index, make_problem(self.seed, index), self.seed, self.offset)

    def grade(self, task: ReasoningTask, episode: Episode) -> Grade:
        p = task.problem
        correct = episode.answer is not None and answers_match(episode.answer, p.answer)
        return Grade(
            outcome=int(correct),
            details={"answer": episode.answer, "expected": p.answer, "kind": p.kind},
        )
