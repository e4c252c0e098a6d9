"""The reasoning family (HLE-like): generated maths and computation problems, plus a slice of
specialist-knowledge questions that no corpus answers.

Every computational problem has a reference Python program that prints its answer. Small
parameters make a problem doable "in the head" (low `reasoning` difficulty); large ones make
mental computation hopeless, so only a correct program helps — exactly the choice an
orchestrator faces between answering directly and paying for `enhance_reasoning`.

What an expert does (model in models/simulated.py):
* enhance_reasoning — needs `coding`; success is the reference program, failure a broken variant.
* answer — needs `reasoning` (raised by a program output in context that holds the answer); the
  knowledge questions need `knowledge` alone.
* search — finds nothing that helps: no document holds these answers.

Every check's difficulty is then raised by the family's calibration offset for its skill
(profiles.json "families" → "reasoning" → "difficulty_offset", fitted by `orchestra calibrate`);
`difficulty` reports the generated values, before the offset.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

from orchestra_env.answers import answers_match
from orchestra_env.core import Check, Evidence, Grade
from orchestra_env.episode import Episode
from orchestra_env.tasks.offsets import Offset, family_offset, offset_checks
from orchestra_env.tasks.questions import CODE_OUTPUT_BONUS, QuestionFamily, break_program

FAMILY = "reasoning"
KNOWLEDGE_SHARE = 0.15  # share of tasks that are specialist-knowledge questions


@dataclass(frozen=True)
class ReasoningItem:
    kind: str
    question: str
    answer: str
    program: str | None  # None for knowledge questions
    difficulty: dict[str, float]  # knowledge, reasoning, coding, query_writing, reading


def _scale(x: float) -> float:
    """In-head difficulty from the size of the numbers involved (log10 scale)."""
    return math.log10(max(10.0, abs(x)))


def _problem(
    kind: str, question: str, answer, program: str, head: float, coding: float
) -> ReasoningItem:
    return ReasoningItem(
        kind=kind,
        question=question,
        answer=str(answer),
        program=program.strip(),
        difficulty={
            "knowledge": 3.0,
            "reasoning": head,
            "coding": coding,
            "query_writing": 0.0,
            "reading": -1.0,
        },
    )


def binomial(rng: random.Random) -> ReasoningItem:
    n = rng.randint(6, 60)
    k = rng.randint(2, max(2, n // 2))
    return _problem(
        "binomial",
        f"In how many ways can a committee of {k} be chosen from {n} people?",
        math.comb(n, k),
        f"import math\nprint(math.comb({n}, {k}))",
        head=-1.5 + 0.6 * _scale(math.comb(n, k)),
        coding=-1.0,
    )


def divisors(rng: random.Random) -> ReasoningItem:
    n = rng.randint(60, 10 ** rng.randint(3, 8))
    count = sum(2 if i * i != n else 1 for i in range(1, math.isqrt(n) + 1) if n % i == 0)
    return _problem(
        "divisors",
        f"How many positive divisors does {n} have?",
        count,
        f"n = {n}\nprint(sum(2 if i * i != n else 1 "
        "for i in range(1, int(n ** 0.5) + 1) if n % i == 0))",
        head=-1.0 + 0.5 * _scale(n),
        coding=-0.5,
    )


def prime_sum(rng: random.Random) -> ReasoningItem:
    n = rng.randint(30, 10 ** rng.randint(2, 6))
    sieve = bytearray([1]) * n
    sieve[:2] = b"\x00\x00"[: min(2, n)]
    for i in range(2, math.isqrt(n - 1) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    total = sum(i for i in range(n) if sieve[i])
    program = f"""
n = {n}
sieve = [True] * n
sieve[0:2] = [False, False]
for i in range(2, int(n ** 0.5) + 1):
    if sieve[i]:
        sieve[i * i :: i] = [False] * len(sieve[i * i :: i])
print(sum(i for i in range(n) if sieve[i]))"""
    return _problem(
        "prime_sum",
        f"What is the sum of all prime numbers less than {n}?",
        total,
        program,
        head=-0.5 + 0.8 * _scale(n),
        coding=0.0,
    )


def modpow(rng: random.Random) -> ReasoningItem:
    a, b, m = rng.randint(2, 999), rng.randint(5, 10 ** rng.randint(2, 9)), rng.randint(7, 9973)
    return _problem(
        "modpow",
        f"What is the remainder when {a}^{b} is divided by {m}?",
        pow(a, b, m),
        f"print(pow({a}, {b}, {m}))",
        head=0.5 + 0.5 * _scale(b),
        coding=-1.0,
    )


def dice(rng: random.Random) -> ReasoningItem:
    k = rng.randint(2, 6)
    s = rng.randint(k + 1, 6 * k - 1)
    hits = sum(1 for faces in product(range(1, 7), repeat=k) if sum(faces) == s)
    p = Fraction(hits, 6**k)
    program = f"""
from fractions import Fraction
from itertools import product
hits = sum(1 for faces in product(range(1, 7), repeat={k}) if sum(faces) == {s})
print(Fraction(hits, 6 ** {k}))"""
    return _problem(
        "dice",
        f"{k} fair six-sided dice are rolled. What is the probability that the faces sum to {s}? "
        "Give the answer as a reduced fraction.",
        f"{p.numerator}/{p.denominator}",
        program,
        head=-1.0 + 0.8 * k,
        coding=0.5,
    )


def recurrence(rng: random.Random) -> ReasoningItem:
    a0, a1, p, q = rng.randint(0, 9), rng.randint(1, 9), rng.randint(1, 5), rng.randint(1, 5)
    n, m = rng.randint(5, 10 ** rng.randint(1, 5)), rng.choice([97, 1000, 10007, 1_000_003])
    x, y = a0 % m, a1 % m
    for _ in range(n - 1):
        x, y = y, (p * y + q * x) % m
    program = f"""
x, y = {a0} % {m}, {a1} % {m}
for _ in range({n} - 1):
    x, y = y, ({p} * y + {q} * x) % {m}
print(y)"""
    return _problem(
        "recurrence",
        f"A sequence has a_0 = {a0}, a_1 = {a1} and a_n = {p}·a_(n-1) + {q}·a_(n-2). "
        f"What is a_{n} modulo {m}?",
        y,
        program,
        head=0.0 + 0.9 * _scale(n),
        coding=0.5,
    )


def weekday(rng: random.Random) -> ReasoningItem:
    day = dt.date(1600, 1, 1) + dt.timedelta(days=rng.randint(0, 180_000))
    name = calendar.day_name[day.weekday()]
    return _problem(
        "weekday",
        f"On which day of the week did {day.strftime('%B')} {day.day}, {day.year} fall "
        "(Gregorian calendar)?",
        name,
        f"import datetime\nprint(datetime.date({day.year}, {day.month}, {day.day}).strftime('%A'))",
        head=1.5 + 0.3 * abs(day.year - 2000) / 100,
        coding=-1.0,
    )


def days_between(rng: random.Random) -> ReasoningItem:
    a = dt.date(1700, 1, 1) + dt.timedelta(days=rng.randint(0, 110_000))
    b = a + dt.timedelta(days=rng.randint(10, 40_000))
    span = (b - a).days
    return _problem(
        "days_between",
        f"How many days are there from {a.isoformat()} to {b.isoformat()}?",
        span,
        f"import datetime\nprint((datetime.date({b.year}, {b.month}, {b.day}) "
        f"- datetime.date({a.year}, {a.month}, {a.day})).days)",
        head=-0.5 + 0.7 * _scale(span),
        coding=-1.0,
    )


def linear_system(rng: random.Random) -> ReasoningItem:
    while True:
        a, b, d, e = (rng.randint(-12, 12) for _ in range(4))
        if a * e - b * d:
            break
    x, y = rng.randint(-50, 50), rng.randint(-50, 50)
    c, f = a * x + b * y, d * x + e * y
    program = f"""
from fractions import Fraction
a, b, c, d, e, f = {a}, {b}, {c}, {d}, {e}, {f}
det = a * e - b * d
x, y = Fraction(c * e - b * f, det), Fraction(a * f - c * d, det)
print(x + y)"""
    return _problem(
        "linear_system",
        f"If {_terms(a, b)} = {c} and {_terms(d, e)} = {f}, what is x + y?",
        x + y,
        program,
        head=0.0 + 0.4 * _scale(max(abs(c), abs(f))),
        coding=0.0,
    )


def _terms(a: int, b: int) -> str:
    """'3x - 2y' rather than '3x + -2y'."""
    return f"{a}x {'-' if b < 0 else '+'} {abs(b)}y"


KINDS: tuple[Callable[[random.Random], ReasoningItem], ...] = (
    binomial,
    divisors,
    prime_sum,
    modpow,
    dice,
    recurrence,
    weekday,
    days_between,
    linear_system,
)

_SUBJECTS = (
    "isotope",
    "enzyme",
    "alloy",
    "protein fold",
    "lemma",
    "manuscript",
    "dialect",
    "comet",
)
_PROPERTIES = ("catalogue number", "year of first description", "reference index", "registry code")


def knowledge(rng: random.Random) -> ReasoningItem:
    """A specialist fact no corpus holds: only a model's own knowledge can answer it."""
    subject = f"{rng.choice(_SUBJECTS)} {rng.choice('ABCDEFGHKLMNPRSTVXZ')}{rng.randint(10, 999)}"
    prop = rng.choice(_PROPERTIES)
    answer = rng.randint(1700, 2020) if prop.startswith("year") else rng.randint(100, 99_999)
    return ReasoningItem(
        kind="knowledge",
        question=f"Specialist question: what is the {prop} of the {subject} "
        "as given in the standard reference works?",
        answer=str(answer),
        program=None,
        difficulty={
            "knowledge": rng.uniform(1.5, 4.5),
            "reasoning": 0.0,
            "coding": 3.0,
            "query_writing": 0.0,
            "reading": -1.0,
        },
    )


def make_problem(seed: int, index: int) -> ReasoningItem:
    """ReasoningItem `index` of the world `seed`: the same in every process."""
    rng = random.Random(f"reasoning:{seed}:{index}")
    if rng.random() < KNOWLEDGE_SHARE:
        return knowledge(rng)
    return rng.choice(KINDS)(rng)


@dataclass(frozen=True)
class ReasoningTask:
    index: int
    problem: ReasoningItem
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
        return ("enhance_reasoning", "answer") if self.problem.program else ("answer",)

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        return offset_checks(self._demands(role, evidence), self.offset)

    def _demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        d = self.problem.difficulty
        if role == "search":
            return (Check("query_writing", d["query_writing"]),)
        if role == "reason":
            return (Check("coding", d["coding"]),)
        if self.problem.program is None:
            return (Check("knowledge", d["knowledge"]),)
        bonus = CODE_OUTPUT_BONUS if self._answer_in_code_output(evidence) else 0.0
        return (Check("reasoning", d["reasoning"], bonus),)

    def artefact(self, role: str, evidence: Evidence, success: bool, rng: random.Random) -> str:
        p = self.problem
        if role == "search":
            words = re.findall(r"[A-Za-z]{4,}", p.question)
            return f"<query>{' '.join(words[:6])}</query>"
        if role == "reason":
            program = p.program or f"print({p.answer!r})"
            return f"```python\n{program if success else break_program(program, rng)}\n```"
        return f"<answer>{p.answer if success else wrong_answer(p.answer, rng)}</answer>"

    def _answer_in_code_output(self, evidence: Evidence) -> bool:
        return any(
            run.status == "ok" and answers_match(run.output.strip(), self.problem.answer)
            for run in evidence.code_runs
        )


def wrong_answer(answer: str, rng: random.Random) -> str:
    """A plausible wrong answer of the same shape: a nearby number, fraction or weekday."""
    if answer in calendar.day_name:
        return rng.choice([d for d in calendar.day_name if d != answer])
    if "/" in answer:
        num, den = (int(x) for x in answer.split("/"))
        # A numerator of 0 would make the value 0; skip it rather than fold it onto the answer.
        wrong = Fraction(rng.choice([n for n in range(num - 3, num + 4) if n not in (0, num)]), den)
        return f"{wrong.numerator}/{wrong.denominator}"
    value = int(answer)
    return str(value + rng.choice([-1, 1]) * max(1, round(abs(value) * rng.uniform(0.001, 0.2))))


class ReasoningFamily(QuestionFamily):
    """Problems `index` = 0, 1, … of `world_seed`; difficulties raised by `difficulty_offset`
    ({skill: logit}; default: the bundled profiles')."""

    name = FAMILY

    def __init__(self, world_seed: int = 0, difficulty_offset: Mapping[str, float] | None = None):
        self.seed = world_seed
        self.offset = family_offset(FAMILY, difficulty_offset)

    def task(self, index: int) -> ReasoningTask:
        return ReasoningTask(index, make_problem(self.seed, index), self.offset)

    def grade(self, task: ReasoningTask, episode: Episode) -> Grade:
        p = task.problem
        correct = episode.answer is not None and answers_match(episode.answer, p.answer)
        return Grade(
            outcome=int(correct),
            details={"answer": episode.answer, "expected": p.answer, "kind": p.kind},
        )
