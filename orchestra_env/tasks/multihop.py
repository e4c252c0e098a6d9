"""The multihop family (FRAMES-like): chained factual questions over a generated world.

What an expert does at each step, and how hard it is (see models/simulated.py for the model):
* search — write a query for the first fact not yet in context. Needs `query_writing`; success
  is the hop's targeted query, failure a vague one built from the question's words. Either way
  the real retriever decides which documents come back.
* enhance_reasoning — write a program over the facts in context. Needs `coding`; success with
  every fact in context is the reference program, otherwise a plausibly broken variant.
* answer — needs, per hop, `reading` (fact in context, a large bonus) or `knowledge` (recall,
  easier for popular facts); arithmetic and comparisons also need `reasoning`, made easy by a
  program output in context that already holds the answer.

Every check's difficulty is then raised by the family's calibration offset for its skill
(profiles.json "families" → "multihop" → "difficulty_offset", fitted by `orchestra calibrate`);
`difficulty` reports the generated values, before the offset.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestra_env.answers import answers_match
from orchestra_env.core import Check, Evidence, Grade
from orchestra_env.episode import Episode
from orchestra_env.tasks.offsets import Offset, family_offset, offset_checks
from orchestra_env.tasks.questions import CODE_OUTPUT_BONUS, QuestionFamily, break_program
from orchestra_env.world import KnowledgeWorld, MultihopQuestion, knowledge_world

READING_BONUS = 3.0  # the fact is in a document in context
POPULARITY_BONUS = 2.0  # recall of a fully popular fact, scaled by Hop.popularity
FAMILY = "multihop"

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")


@dataclass(frozen=True)
class MultihopTask:
    question: MultihopQuestion
    world: KnowledgeWorld = field(repr=False, compare=False)
    offset: Offset = ()  # calibration offset per skill, added to every check's difficulty
    family: str = FAMILY
    toolset = "qa"

    @property
    def id(self) -> str:
        return f"{self.family}/{self.question.index}"

    @property
    def index(self) -> int:
        return self.question.index

    @property
    def prompt(self) -> str:
        return self.question.question

    @property
    def difficulty(self) -> dict[str, float]:
        return self.question.difficulty

    @property
    def reference_plan(self) -> tuple[str, ...]:
        code = ("enhance_reasoning",) if self.question.program else ()
        return ("search",) * len(self.question.hops) + code + ("answer",)

    # -- what experts need and write -------------------------------------------------------

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        return offset_checks(self._demands(role, evidence), self.offset)

    def _demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        d = self.question.difficulty
        if role == "search":
            return (Check("query_writing", d["query_writing"]),)
        if role == "reason":
            return (Check("coding", d["reasoning"]),)
        checks = [self._hop_check(hop, evidence) for hop in self.question.hops]
        if self.question.kind != "chain":
            bonus = CODE_OUTPUT_BONUS if self._answer_in_code_output(evidence) else 0.0
            checks.append(Check("reasoning", d["reasoning"], bonus))
        return tuple(checks)

    def artefact(self, role: str, evidence: Evidence, success: bool, rng: random.Random) -> str:
        if role == "search":
            return f"<query>{self._query(evidence, success, rng)}</query>"
        if role == "reason":
            return f"```python\n{self._program(evidence, success, rng)}\n```"
        answer = self.question.answer if success else self._wrong_answer(evidence, rng)
        return f"<answer>{answer}</answer>"

    def _hop_check(self, hop, evidence: Evidence) -> Check:
        d = self.question.difficulty
        if evidence.has_document(hop.doc_id):
            return Check("reading", d["reading"], READING_BONUS)
        return Check("knowledge", d["knowledge"], POPULARITY_BONUS * hop.popularity)

    def _unresolved(self, evidence: Evidence):
        return [h for h in self.question.hops if not evidence.has_document(h.doc_id)]

    def _query(self, evidence: Evidence, success: bool, rng: random.Random) -> str:
        missing = self._unresolved(evidence)
        hop = missing[0] if missing else self.question.hops[-1]
        if success:
            return hop.query
        words = _WORD.findall(self.question.question)
        return " ".join(rng.sample(words, min(3, len(words)))) if words else hop.relation

    def _answer_in_code_output(self, evidence: Evidence) -> bool:
        q = self.question
        return any(
            run.status == "ok" and answers_match(run.output.strip(), q.answer, q.aliases)
            for run in evidence.code_runs
        )

    def _program(self, evidence: Evidence, success: bool, rng: random.Random) -> str:
        q = self.question
        reference = q.program or f"print({q.answer!r})"
        if success and not self._unresolved(evidence):
            return reference
        return break_program(reference, rng)

    def _wrong_answer(self, evidence: Evidence, rng: random.Random) -> str:
        answer = self.question.answer
        if re.fullmatch(r"-?\d+", answer):
            return str(int(answer) + rng.choice([-1, 1]) * rng.randint(1, 12))
        titles = [self.world.document(d).title for d in evidence.documents]
        candidates = [t for t in titles if not answers_match(t, answer, self.question.aliases)]
        if not candidates:
            doc = self.world.document(rng.randrange(len(self.world.documents)))
            candidates = [doc.title]
        return rng.choice(candidates)


class MultihopFamily(QuestionFamily):
    """Questions `index` = 0, 1, … over the knowledge world of `world_seed`; difficulties
    raised by `difficulty_offset` ({skill: logit}; default: the bundled profiles')."""

    name = FAMILY

    def __init__(self, world_seed: int = 0, difficulty_offset: Mapping[str, float] | None = None):
        self.world = knowledge_world(world_seed)
        self.offset = family_offset(FAMILY, difficulty_offset)

    def task(self, index: int) -> MultihopTask:
        return MultihopTask(self.world.question(index), self.world, self.offset)

    def grade(self, task: MultihopTask, episode: Episode) -> Grade:
        q = task.question
        correct = episode.answer is not None and answers_match(episode.answer, q.answer, q.aliases)
        return Grade(
            outcome=int(correct),
            details={
                "answer": episode.answer,
                "expected": q.answer,
                "kind": q.kind,
                "hops": len(q.hops),
            },
        )
