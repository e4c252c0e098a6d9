"""HLE-like reasoning problems whose difficulty can be read off the question.

Each kind is a multi-step counting or computation problem where a program genuinely helps: a
small instance can be worked out in the head, a large or heavily constrained one cannot, and the
largest need a clever algorithm rather than brute force. Every item states all its parameters and
constraints, so it is answerable by computation from the question text alone.

Three layers per kind:
* a solver (plain stdlib function, imports inside): computes the gold answer in-process and, via
  its own source text, is the reference program — one source of truth, no answer literals;
* a builder `_<kind>(parameters)`: poses the question, computes the answer and the difficulty,
  and lists the arguments of plausible wrong derivations (a constraint forgotten, a bound off by
  one): the solver called on them gives the wrong programs a coder who slips writes, and their
  results the wrong answers;
* the kind itself, `<kind>(rng)`: draws the parameters (sizes on a log scale).

Difficulty, in logits comparable to model abilities (strong model ~2.2 reasoning / ~1.9 coding,
weak ~0.3), is a deterministic function of the visible parameters only: problem size (log10),
number of constraints, composed steps, and — for "coding" — whether brute force is out of reach
(`_CLEVER` is added when it would take more than `_BRUTE_FORCE_OPS` operations).
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from orchestra_env.answers import answers_match

__all__ = ["KINDS", "ReasoningItem", "make_problem"]

_BRUTE_FORCE_OPS = 1e7  # beyond this a naive program overruns the sandbox's 1-2 s CPU budget
_CLEVER = 1.2  # coding difficulty added when only a clever algorithm fits the budget
_WRONG_PROGRAMS = 3  # per item: each costs a solver run at reset, unless its builder knows it
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ReasoningItem:
    kind: str  # generator name
    question: str  # the problem as posed: states every parameter and constraint
    answer: str  # exact answer text (integer, reduced fraction "a/b", or a word)
    program: str  # reference Python program printing exactly `answer` (one line)
    difficulty: dict[str, float]  # {"reasoning": in-head difficulty, "coding": program difficulty}
    wrong_answers: tuple[str, ...]  # 2-4 plausible wrong derivations, distinct, none == answer
    # 2-3 programs a coder who slips writes: `program` with its call on perturbed arguments
    # (a constraint forgotten, a bound off by one); each prints wrong_answers[i], never answer
    wrong_programs: tuple[str, ...]


# --- shared helpers -------------------------------------------------------------------------


def _log_uniform(rng: random.Random, lo: int, hi: int) -> int:
    """An integer in [lo, hi] whose order of magnitude is uniform: sizes span decades evenly."""
    return min(hi, max(lo, round(10 ** rng.uniform(math.log10(lo), math.log10(hi)))))


def _clever(brute_force_ops: float) -> float:
    return _CLEVER if brute_force_ops > _BRUTE_FORCE_OPS else 0.0


def _ordinal(n: int) -> str:
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@cache
def _source(solver: Callable) -> str:
    return inspect.getsource(solver)


def _fits(text: str, answer: str, chosen: Sequence[str]) -> bool:
    """Whether `text` is a wrong answer shaped like `answer` (a count >= 0; a probability
    strictly between 0 and 1) and unlike every one already `chosen`."""
    shaped = 0 < Fraction(text) < 1 if "/" in answer else int(text) >= 0
    return (
        shaped
        and not answers_match(text, answer)
        and not any(answers_match(text, c) for c in chosen)
    )


def _wrong_answers(answer: str, candidates: Sequence[object]) -> tuple[str, ...]:
    """The first 2-4 candidates that are wrong, distinct and shaped like `answer`; slips (a
    count ±1; a probability's complement, numerator + 1 or a scaled value) fill up when too
    few are."""
    if "/" in answer:
        p = Fraction(answer)
        fallbacks = [1 - p, Fraction(p.numerator + 1, p.denominator), p / 2, p * 2 / 3]
        shaped = [f"{f.numerator}/{f.denominator}" for f in map(Fraction, candidates)]
        valid = shaped + [f"{f.numerator}/{f.denominator}" for f in fallbacks]
    else:
        value = int(answer)
        valid = [str(c) for c in (*candidates, value + 1, value - 1, value + 2)]
    chosen: list[str] = []
    for text in valid:
        if _fits(text, answer, chosen):
            chosen.append(text)
    return tuple(chosen[:4])


def _call(solver: Callable, args: tuple) -> str:
    """`solver`'s source plus one line printing its result on `args`: a runnable program."""
    return f"{_source(solver)}\nprint({solver.__name__}({', '.join(map(repr, args))}))"


def _item(
    kind: str,
    question: str,
    solver: Callable,
    args: tuple,
    wrong_args: Sequence[tuple],
    reasoning: float,
    coding: float,
    answer: object = None,
    known: Mapping[tuple, object] | None = None,
    slips: Sequence[object] = (),
) -> ReasoningItem:
    """The item whose reference program is `solver` called on `args`. `wrong_args` are the
    arguments of plausible wrong derivations, most plausible first: the first few whose
    result is a wrong answer unlike the others give the wrong programs, and their results
    lead `wrong_answers`, before `slips` (wrong results no call on the solver gives).
    `answer` (the solver's result on `args`) and `known` (its results on some of
    `wrong_args`) are passed when the builder has them cheaper than a solver run."""
    answer = str(solver(*args) if answer is None else answer)
    known = known or {}
    programs: list[str] = []
    values: list[str] = []
    for wrong in wrong_args:  # lazily: a solver run may cost as much as the reference
        value = str(known[wrong] if wrong in known else solver(*wrong))
        if _fits(value, answer, values):
            programs.append(_call(solver, wrong))
            values.append(value)
            if len(values) == _WRONG_PROGRAMS:
                break
    return ReasoningItem(
        kind=kind,
        question=question,
        answer=answer,
        program=_call(solver, args),
        difficulty={"reasoning": round(reasoning, 3), "coding": round(coding, 3)},
        wrong_answers=_wrong_answers(answer, [*values, *slips]),
        wrong_programs=tuple(programs),
    )


# --- lattice paths --------------------------------------------------------------------------


def lattice_walks(a: int, b: int, blocked: tuple, via: tuple | None) -> int:
    """Right/up walks from (0, 0) to (a, b) that avoid `blocked` and pass through `via`."""

    def walks(start, end):
        (x0, y0), (x1, y1) = start, end
        row = [0] * (y1 - y0 + 1)  # row[j]: walks from start to (x, y0 + j)
        for x in range(x0, x1 + 1):
            for j in range(len(row)):
                if (x, y0 + j) in blocked:
                    row[j] = 0
                elif x == x0 and j == 0:
                    row[j] = 1
                elif j:
                    row[j] += row[j - 1]
        return row[-1]

    if via is None:
        return walks((0, 0), (a, b))
    return walks((0, 0), via) * walks(via, (a, b))


# reasoning = -0.2 + 2.0·log10(a+b) + 0.5·blocked + 0.6·[via];
# coding = 1.0 + 0.6·log10(a+b) + 0.25·blocked + 0.4·[via] + clever(C(a+b, a) walks to list)
def _lattice_paths(a: int, b: int, blocked: tuple, via: tuple | None) -> ReasoningItem:
    question = (
        f"A walker goes from (0, 0) to ({a}, {b}) on the integer grid, each step moving one unit "
        "right (x + 1) or one unit up (y + 1)."
    )
    if blocked:
        points = ", ".join(f"({x}, {y})" for x, y in blocked)
        question += f" The points {points} are blocked and may not be visited."
    if via:
        question += f" The walk must pass through ({via[0]}, {via[1]})."
    question += " How many different walks are there?"
    wrong = [  # forgot the blocks, dropped one, forgot the waypoint, one step short
        (a, b, (), via),
        (a, b, blocked[:-1], via),
        (a, b, blocked, None),
        (a - 1, b, blocked, via),
        (a, b - 1, blocked, via),
        (a - 1, b - 1, blocked, via),
    ]
    return _item(
        "lattice_paths",
        question,
        lattice_walks,
        (a, b, blocked, via),
        wrong,
        reasoning=-0.2 + 2.0 * math.log10(a + b) + 0.5 * len(blocked) + 0.6 * (via is not None),
        coding=1.0
        + 0.6 * math.log10(a + b)
        + 0.25 * len(blocked)
        + 0.4 * (via is not None)
        + _clever(math.comb(a + b, a)),
    )


def lattice_paths(rng: random.Random) -> ReasoningItem:
    a, b = _log_uniform(rng, 2, 30), _log_uniform(rng, 2, 30)
    via = (rng.randint(1, a - 1), rng.randint(1, b - 1)) if rng.random() < 0.4 else None
    count = rng.randint(0, min(5, (a + 1) * (b + 1) // 5))
    while True:
        blocked: list[tuple[int, int]] = []
        while len(blocked) < count:
            point = (rng.randint(0, a), rng.randint(0, b))
            if point not in ((0, 0), (a, b), via, *blocked):
                blocked.append(point)
        item = _lattice_paths(a, b, tuple(sorted(blocked)), via)
        if item.answer != "0":  # the blocked points may cut every walk off
            return item


# --- digit sums -----------------------------------------------------------------------------


def count_digit_sum(limit: int, digit_sum: int, modulus: int) -> int:
    """How many n in 1..limit have digit sum `digit_sum` and n % modulus == 0 (digit DP)."""
    below = [[0] * modulus for _ in range(digit_sum + 1)]  # [sum][rem]: prefixes < limit's
    tight_sum = tight_rem = 0  # the prefix equal to limit's
    for digit in map(int, str(limit)):
        nxt = [[0] * modulus for _ in range(digit_sum + 1)]
        for s, rems in enumerate(below):
            for r, ways in enumerate(rems):
                if ways:
                    for d in range(min(9, digit_sum - s) + 1):
                        nxt[s + d][(r * 10 + d) % modulus] += ways
        for d in range(min(digit, digit_sum - tight_sum + 1)):
            nxt[tight_sum + d][(tight_rem * 10 + d) % modulus] += 1
        below = nxt
        tight_sum, tight_rem = tight_sum + digit, (tight_rem * 10 + digit) % modulus
    return below[digit_sum][0] + (tight_sum == digit_sum and tight_rem == 0)


# reasoning = 0.4 + 0.55·log10(N) + 0.8·[divisibility];
# coding = 1.2 + 0.2·log10(N) + 0.4·[divisibility] + clever(N numbers to scan)
def _digit_sums(limit: int, digit_sum: int, modulus: int) -> ReasoningItem:
    question = f"How many integers n with 1 ≤ n ≤ {limit} have digit sum exactly {digit_sum}"
    question += f" and are divisible by {modulus}?" if modulus > 1 else "?"
    answer = count_digit_sum(limit, digit_sum, modulus)
    at_limit = sum(map(int, str(limit))) == digit_sum and limit % modulus == 0
    excluded = (limit - 1, digit_sum, modulus)  # the limit excluded: known without a DP
    # forgot divisibility (a DP 7-13 times smaller), excluded the limit, the digit sum off
    # by one (+ 1 only where that adds at most a third to the DP), a digit short
    wrong = [(limit, digit_sum, 1)] if modulus > 1 else []
    wrong += [excluded, (limit, digit_sum - 1, modulus), (limit // 10, digit_sum, modulus)]
    if digit_sum >= 3:
        wrong.append((limit, digit_sum + 1, modulus))
    return _item(
        "digit_sums",
        question,
        count_digit_sum,
        (limit, digit_sum, modulus),
        wrong,
        reasoning=0.4 + 0.55 * math.log10(limit) + 0.8 * (modulus > 1),
        coding=1.2 + 0.2 * math.log10(limit) + 0.4 * (modulus > 1) + _clever(limit),
        answer=answer,
        known={excluded: answer - at_limit},
    )


def digit_sums(rng: random.Random) -> ReasoningItem:
    limit = _log_uniform(rng, 100, 10**9)
    digits = len(str(limit))
    modulus = rng.choice((7, 11, 13)) if rng.random() < 0.6 else 1
    while True:  # a few small limits have no such n
        item = _digit_sums(limit, rng.randint(2, 5 * digits), modulus)
        if item.answer != "0":
            return item


# --- integers coprime to M in a range -------------------------------------------------------


def count_coprime(lo: int, hi: int, modulus: int) -> int:
    """How many n in lo..hi have gcd(n, modulus) = 1 (inclusion-exclusion on its primes)."""
    primes, rest, p = [], modulus, 2
    while p * p <= rest:
        if rest % p == 0:
            primes.append(p)
            while rest % p == 0:
                rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)

    def up_to(x):
        total = 0
        for mask in range(1 << len(primes)):
            d, sign = 1, 1
            for i, q in enumerate(primes):
                if mask >> i & 1:
                    d, sign = d * q, -sign
            total += sign * (x // d)
        return total

    return up_to(hi) - up_to(lo - 1)


# reasoning = 0.3 + 0.2·log10(hi) + 0.3·log10(M) + 0.4·[lower bound > 1];
# coding = 0.9 + 0.1·log10(hi) + 0.15·log10(M) + 0.3·[lower bound] + clever(hi - lo gcds)
def _coprime_range(lo: int, hi: int, factors: tuple[int, ...]) -> ReasoningItem:
    modulus = math.prod(factors)
    question = f"How many integers n with {lo} ≤ n ≤ {hi} satisfy gcd(n, {modulus}) = 1?"
    without_last = math.prod(f for f in factors if f != factors[-1])
    wrong = [  # forgot the lower bound, an exclusive bound, forgot one prime
        (1, hi, modulus),
        (lo + 1, hi, modulus),
        (lo, hi, without_last),
        (lo, hi - 1, modulus),
        (lo - 1, hi, modulus),
    ]
    return _item(
        "coprime_range",
        question,
        count_coprime,
        (lo, hi, modulus),
        wrong,
        reasoning=0.3 + 0.2 * math.log10(hi) + 0.3 * math.log10(modulus) + 0.4 * (lo > 1),
        coding=0.9
        + 0.1 * math.log10(hi)
        + 0.15 * math.log10(modulus)
        + 0.3 * (lo > 1)
        + _clever(hi - lo),
    )


_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23)


def coprime_range(rng: random.Random) -> ReasoningItem:
    primes = sorted(rng.sample(_SMALL_PRIMES, rng.randint(1, 4)))
    factors = tuple(f for p in primes for f in [p] * (2 if rng.random() < 0.25 else 1))
    hi = _log_uniform(rng, 100, 10**15)
    lo = 1 if rng.random() < 0.5 else _log_uniform(rng, 2, hi // 2)
    return _coprime_range(lo, hi, factors)


# --- totient sums / Farey fractions ---------------------------------------------------------


def totient_sum(start: int, limit: int) -> int:
    """phi(start) + ... + phi(limit), from Phi(n) = n(n+1)/2 - sum_{d>=2} Phi(n // d)."""
    cache = {0: 0}

    def phi_sum(n):
        if n not in cache:
            total, d = n * (n + 1) // 2, 2
            while d <= n:
                q = n // d
                d_next = n // q + 1
                total -= (d_next - d) * phi_sum(q)
                d = d_next
            cache[n] = total
        return cache[n]

    return phi_sum(limit) - phi_sum(start - 1)


# reasoning = 0.4 + 1.0·log10(N) + 0.7·[posed as fractions] + 0.4·[lower bound > 1];
# coding = 1.1 + 0.3·log10(N) + 0.3·[fractions] + 0.3·[lower bound] + clever(N·sqrt(N) gcds)
def _farey_fractions(start: int, limit: int, as_fractions: bool) -> ReasoningItem:
    if as_fractions:  # p/q in (0, 1) in lowest terms: phi(q) of them for each q >= 2
        question = (
            f"How many distinct fractions p/q in lowest terms satisfy 0 < p/q < 1 with "
            f"{start} ≤ q ≤ {limit}?"
        )
        first = max(start, 2)
    else:
        question = (
            f"What is φ({start}) + φ({start + 1}) + … + φ({limit}), where φ is Euler's "
            "totient function?"
        )
        first = start
    answer = totient_sum(first, limit)
    # One below the lower bound (for fractions, counted q = 1: 0/1 or 1/1; from 0, the answer
    # again, dropped), an exclusive bound: the answer plus or minus phi at an end
    # (count_coprime(1, n, n) is phi(n)) is cheaper than a new sum. Forgot the lower bound: a
    # new sum, hence last.
    known = {
        (first - 1, limit): answer + count_coprime(1, first - 1, first - 1),
        (first + 1, limit): answer - count_coprime(1, first, first),
        (first, limit - 1): answer - count_coprime(1, limit, limit),
    }
    wrong = [*known, (1, limit)]
    slips = [(limit - start + 1) * (limit + start - 2) // 2] if as_fractions else []
    return _item(
        "farey_fractions",
        question,
        totient_sum,
        (first, limit),
        wrong,
        reasoning=0.4 + 1.0 * math.log10(limit) + 0.7 * as_fractions + 0.4 * (start > 1),
        coding=1.1
        + 0.3 * math.log10(limit)
        + 0.3 * as_fractions
        + 0.3 * (start > 1)
        + _clever(limit**1.5),
        answer=answer,
        known=known,
        slips=slips,  # forgot "lowest terms"
    )


def farey_fractions(rng: random.Random) -> ReasoningItem:
    limit = _log_uniform(rng, 5, 10**5)
    start = 1 if rng.random() < 0.6 else _log_uniform(rng, 2, limit // 2)
    return _farey_fractions(start, limit, as_fractions=rng.random() < 0.5)


# --- Josephus -------------------------------------------------------------------------------


def josephus_survivor(n: int, k: int) -> int:
    """Survivor (numbered from 1) when every k-th of n people in a circle leaves: the
    O(k log n) recurrence that removes n // k people per round, unwound iteratively."""
    sizes = []
    while n > 1:
        sizes.append(n)
        n = n - n // k if n >= k else n - 1
    pos = 0  # 0-based survivor among the remaining people
    for m in reversed(sizes):
        if m < k:
            pos = (pos + k) % m
        else:
            pos -= m % k
            pos = pos + m if pos < 0 else pos + pos // (k - 1)
    return pos + 1


# reasoning = 0.3 + 0.5·log10(n) + 0.12·k;
# coding = 1.2 + 0.15·log10(n) + 0.05·k + clever(n·k simulation steps)
def _josephus(n: int, k: int) -> ReasoningItem:
    question = (
        f"{n} people stand in a circle, numbered 1 to {n} clockwise. Counting clockwise from "
        f"person 1, every {_ordinal(k)} person is eliminated (count 1, 2, …, {k}; the "
        f"{_ordinal(k)} leaves and the count restarts at the next person still in the circle) "
        "until one remains. What is the survivor's number?"
    )
    answer = josephus_survivor(n, k)
    # the count off by one (k = 1 never ends; k + 1 only where it adds at most a third to
    # the work), one person too few or too many
    wrong = [(n, k - 1)] if k > 2 else []
    wrong += [(n - 1, k), (n + 1, k), (n - 2, k)] + ([(n, k + 1)] if k > 2 else [])
    return _item(
        "josephus",
        question,
        josephus_survivor,
        (n, k),
        wrong,
        reasoning=0.3 + 0.5 * math.log10(n) + 0.12 * k,
        coding=1.2 + 0.15 * math.log10(n) + 0.05 * k + _clever(n * k),
        answer=answer,
        slips=[answer - 1 or n],  # numbered from 0
    )


def josephus(rng: random.Random) -> ReasoningItem:
    n = _log_uniform(rng, 5, 10**9)
    return _josephus(n, rng.randint(2, min(12, n)))


# --- linear recurrences ---------------------------------------------------------------------


def recurrence_term(a0: int, a1: int, p: int, q: int, c: int, n: int, modulus: int) -> int:
    """a_n mod `modulus` for a_n = p·a_(n-1) + q·a_(n-2) + c, by 3x3 matrix powering."""

    def mul(x, y):
        cols = list(zip(*y, strict=True))
        return [[(r[0] * c[0] + r[1] * c[1] + r[2] * c[2]) % modulus for c in cols] for r in x]

    power, base, e = [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[p, q, c], [1, 0, 0], [0, 0, 1]], n
    while e:
        if e & 1:
            power = mul(power, base)
        base, e = mul(base, base), e >> 1
    # power · (a_1, a_0, 1) = (a_(n+1), a_n, 1)
    return (power[1][0] * a1 + power[1][1] * a0 + power[1][2]) % modulus


# reasoning = 0.2 + 0.35·log10(n) + 0.15·log10(m) + 0.6·[constant term];
# coding = 1.2 + 0.1·log10(n) + 0.4·[constant term] + clever(n steps)
def _linear_recurrence(
    a0: int, a1: int, p: int, q: int, c: int, n: int, modulus: int
) -> ReasoningItem:
    rule = f"a_n = {p}·a_(n-1) + {q}·a_(n-2)" + (f" + {c}" if c else "")
    question = (
        f"A sequence has a_0 = {a0}, a_1 = {a1} and {rule} for n ≥ 2. "
        f"What is a_{n} modulo {modulus}?"
    )
    wrong = [  # forgot the constant, index off by one, swapped the coefficients or the seeds
        (a0, a1, p, q, 0, n, modulus),
        (a0, a1, p, q, c, n - 1, modulus),
        (a0, a1, p, q, c, n + 1, modulus),
        (a0, a1, q, p, c, n, modulus),
        (a1, a0, p, q, c, n, modulus),
        (a0, a1, p, q, c, n - 2, modulus),
        (a0, a1, p, q, c, n + 2, modulus),
    ]
    return _item(
        "linear_recurrence",
        question,
        recurrence_term,
        (a0, a1, p, q, c, n, modulus),
        wrong,
        reasoning=0.2 + 0.35 * math.log10(n) + 0.15 * math.log10(modulus) + 0.6 * (c > 0),
        coding=1.2 + 0.1 * math.log10(n) + 0.4 * (c > 0) + _clever(n),
    )


def linear_recurrence(rng: random.Random) -> ReasoningItem:
    a0, a1, p, q = rng.randint(0, 9), rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9)
    c = rng.randint(1, 9) if rng.random() < 0.4 else 0
    n = _log_uniform(rng, 10, 10**12)
    return _linear_recurrence(a0, a1, p, q, c, n, rng.choice((97, 1000, 10007, 1_000_000_007)))


# --- dice -----------------------------------------------------------------------------------


def dice_probability(dice: int, sides: int, target: int, at_least: bool, given_max: bool) -> str:
    """P(sum == target, or >= target), optionally given that some die shows `sides`."""
    from fractions import Fraction

    def hits(faces):  # outcomes with faces 1..faces whose sum meets the target
        ways = [1]  # ways[j]: outcomes of the dice so far summing to (number of dice) + j
        for _ in range(dice):
            prefix = [0]
            for w in ways:
                prefix.append(prefix[-1] + w)
            ways = [
                prefix[min(j + 1, len(ways))] - prefix[max(0, j - faces + 1)]
                for j in range(len(ways) + faces - 1)
            ]
        meets = range(target - dice, len(ways)) if at_least else (target - dice,)
        return sum(ways[j] for j in meets if 0 <= j < len(ways))

    if given_max:
        p = Fraction(hits(sides) - hits(sides - 1), sides**dice - (sides - 1) ** dice)
    else:
        p = Fraction(hits(sides), sides**dice)
    return f"{p.numerator}/{p.denominator}"


# reasoning = 0.6 + 0.35·log10(outcomes) + 0.5·[at least] + 0.8·[conditional];
# coding = 0.9 + 0.12·log10(outcomes) + 0.3·[at least] + 0.6·[conditional] + clever(outcomes)
def _dice(dice: int, sides: int, target: int, at_least: bool, given_max: bool) -> ReasoningItem:
    question = (
        f"{dice} fair {sides}-sided dice (faces 1 to {sides}) are rolled. What is the "
        f"probability that the faces sum to {'at least' if at_least else 'exactly'} {target}"
    )
    if given_max:
        question += f", given that at least one die shows a {sides}"
    question += "? Give the answer as a reduced fraction."
    # forgot the condition, "at least" for "exactly" or back, the target, the dice or the
    # sides off by one
    wrong = [
        (dice, sides, target, at_least, False),
        (dice, sides, target, not at_least, given_max),
        (dice, sides, target + 1, at_least, given_max),
        (dice, sides, target - 1, at_least, given_max),
        (dice - 1, sides, target, at_least, given_max),
        (dice, sides - 1, target, at_least, given_max),
    ]
    outcomes = math.log10(sides) * dice
    return _item(
        "dice",
        question,
        dice_probability,
        (dice, sides, target, at_least, given_max),
        wrong,
        reasoning=0.6 + 0.35 * outcomes + 0.5 * at_least + 0.8 * given_max,
        coding=0.9 + 0.12 * outcomes + 0.3 * at_least + 0.6 * given_max + _clever(10**outcomes),
    )


def dice(rng: random.Random) -> ReasoningItem:
    sides = rng.choice((4, 6, 8, 10, 12, 20))
    count = rng.randint(2, 8)
    at_least, given_max = rng.random() < 0.6, rng.random() < 0.35
    while True:  # a target no roll (or every roll) meets, given the condition, is no question
        item = _dice(count, sides, rng.randint(count + 1, count * sides - 1), at_least, given_max)
        if item.answer not in ("0/1", "1/1"):
            return item


# --- partitions -----------------------------------------------------------------------------


def partition_count(n: int, largest: int, distinct: bool) -> int:
    """Partitions of n into parts of size at most `largest`, all different if `distinct`."""
    ways = [1] + [0] * n
    for part in range(1, largest + 1):
        totals = range(n, part - 1, -1) if distinct else range(part, n + 1)
        for total in totals:  # descending: each part used at most once
            ways[total] += ways[total - part]
    return ways[n]


# reasoning = 0.2 + 1.9·log10(n) + 0.55·[distinct] + 0.55·[largest part];
# coding = 1.0 + 0.6·log10(n) + 0.3·[distinct] + 0.3·[largest part] + clever(partitions to list)
def _partitions(n: int, largest: int | None, distinct: bool) -> ReasoningItem:
    question = f"In how many ways can {n} be written as a sum of positive integers"
    rules = (["all different"] if distinct else []) + (
        [f"each at most {largest}"] if largest else []
    )
    question += (f", {' and '.join(rules)}" if rules else "") + "? The order of the parts does "
    question += "not matter, and a single part counts as a sum."
    bound = largest or n
    # forgot "different" (or added it), "less than" for "at most" (or, with no largest part
    # given, forgot the single part), n off by one
    wrong = [
        (n, bound, False),
        (n, bound - 1, distinct),
        (n - 1, min(bound, n - 1), distinct),
        (n, bound, True),
        (n + 1, bound, distinct),
    ]
    return _item(
        "partitions",
        question,
        partition_count,
        (n, bound, distinct),
        wrong,
        reasoning=0.2 + 1.9 * math.log10(n) + 0.55 * distinct + 0.55 * (largest is not None),
        coding=1.0
        + 0.6 * math.log10(n)
        + 0.3 * distinct
        + 0.3 * (largest is not None)
        + _clever(math.exp(math.pi * math.sqrt(2 * n / 3)) / (4 * n * math.sqrt(3))),
    )


def partitions(rng: random.Random) -> ReasoningItem:
    n = _log_uniform(rng, 6, 200)
    largest = rng.randint(2, n - 1) if rng.random() < 0.5 else None
    return _partitions(n, largest, distinct=rng.random() < 0.5)


# --- permutations with forbidden positions --------------------------------------------------


def count_restricted_permutations(n: int, shifted: tuple, modulus: int | None) -> int:
    """Permutations s of 1..n with s(i) != i for all i and s(i) != i + 1 for i in `shifted`:
    inclusion-exclusion over the rook polynomial of the forbidden cells."""
    from math import factorial

    free, used = [1], []  # rook polynomials; `used`: column (row + 1) already holds a rook

    def add(x, y):
        return [
            (x[i] if i < len(x) else 0) + (y[i] if i < len(y) else 0)
            for i in range(max(len(x), len(y)))
        ]

    for row in range(1, n + 1):
        either = add(free, used)
        free, used = add(either, [0] + free), ([0] + either if row in shifted else [])
    rooks = add(free, used)
    total = sum((-1) ** j * r * factorial(n - j) for j, r in enumerate(rooks))
    return total % modulus if modulus else total


# reasoning = 0.3 + 2.2·log10(n) + 0.45·extra constraints + 0.3·[modulo];
# coding = 1.4 + 0.6·log10(n) + 0.3·extra constraints + 0.3·[modulo] + clever(n! to list)
def _restricted_derangements(
    n: int, shifted: tuple[int, ...], modulus: int | None
) -> ReasoningItem:
    question = f"How many permutations σ of {{1, 2, …, {n}}} satisfy σ(i) ≠ i for every i"
    if shifted:
        question += f", and also σ(i) ≠ i + 1 for i ∈ {{{', '.join(map(str, shifted))}}}"
    question += "?" + (f" Give the count modulo {modulus}." if modulus else "")
    wrong = [  # forgot the extra constraints or one of them, n - 1, forgot the modulus
        (n, (), modulus),
        (n, shifted[:-1], modulus),
        (n - 1, tuple(i for i in shifted if i < n - 1), modulus),
        (n, shifted, None),
        (n - 2, tuple(i for i in shifted if i < n - 2), modulus),
    ]
    return _item(
        "restricted_derangements",
        question,
        count_restricted_permutations,
        (n, shifted, modulus),
        wrong,
        reasoning=0.3 + 2.2 * math.log10(n) + 0.45 * len(shifted) + 0.3 * bool(modulus),
        coding=1.4
        + 0.6 * math.log10(n)
        + 0.3 * len(shifted)
        + 0.3 * bool(modulus)
        + _clever(math.factorial(n)),
    )


def restricted_derangements(rng: random.Random) -> ReasoningItem:
    n = _log_uniform(rng, 4, 30)
    shifted = tuple(sorted(rng.sample(range(1, n), rng.randint(0, min(4, n - 1)))))
    return _restricted_derangements(n, shifted, 1_000_000_007 if n > 20 else None)


# --- Collatz --------------------------------------------------------------------------------


def longest_collatz(lo: int, hi: int) -> int:
    """The most Collatz steps (n -> n/2 or 3n + 1) any n in lo..hi needs to reach 1."""

    def steps(n):
        count = 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            count += 1
        return count

    return max(steps(n) for n in range(lo, hi + 1))


# reasoning = 0.6 + 0.35·log10(lo) + 0.9·log10(width); coding = 0.8 + 0.1·log10(lo)
def _collatz_record(lo: int, hi: int) -> ReasoningItem:
    question = (
        "Collatz steps: from n, replace n by n/2 if n is even and by 3n + 1 if n is odd; each "
        f"replacement is one step. Among the integers from {lo} to {hi} inclusive, what is the "
        "largest number of steps needed to reach 1?"
    )
    steps = {n: longest_collatz(n, n) for n in range(lo - 1, hi + 2)}
    answer = max(steps[n] for n in range(lo, hi + 1))
    # An exclusive bound, the range shifted by one, one end or half the range checked (their
    # records read off `steps`). Step counts come in runs, so these often repeat the record:
    # failing them, the steps of one number in the range or just below it.
    mid = (lo + hi) // 2
    windows = [(lo, hi - 1), (lo + 1, hi), (lo - 1, hi - 1), (lo + 1, hi + 1), (lo, lo)]
    windows += [(hi, hi), (lo, mid), (mid + 1, hi), *((n, n) for n in range(lo + 1, hi))]
    known = {(a, b): max(steps[n] for n in range(a, b + 1)) for a, b in windows}
    wrong = [*windows, *((n, n) for n in range(lo - 2, max(0, lo - 30), -1))]
    return _item(
        "collatz_record",
        question,
        longest_collatz,
        (lo, hi),
        wrong,
        reasoning=0.6 + 0.35 * math.log10(lo) + 0.9 * math.log10(hi - lo + 1),
        coding=0.8 + 0.1 * math.log10(lo),
        answer=answer,
        known=known,
        slips=[answer + 1],  # counted the terms, not the steps
    )


def collatz_record(rng: random.Random) -> ReasoningItem:
    lo = _log_uniform(rng, 10, 10**12)
    return _collatz_record(lo, lo + _log_uniform(rng, 5, 30) - 1)


# --- committees -----------------------------------------------------------------------------


def count_committees(
    members: int, women: int, size: int, min_women: int, feuding: tuple, required: tuple
) -> int:
    """Committees of `size` with at least `min_women` women, never both `feuding` people, and
    all `required` people; named people are given by gender (1 = woman, 0 = man)."""
    from math import comb

    named = feuding + required
    other_women = women - sum(named)
    other_men = members - women - (len(named) - sum(named))
    total = 0
    for pick in ((0, 0), (1, 0), (0, 1)) if feuding else ((),):
        chosen = [g for g, p in zip(feuding, pick, strict=True) if p] + list(required)
        seats = size - len(chosen)
        for w in range(max(0, min_women - sum(chosen)), seats + 1):
            total += comb(other_women, w) * comb(other_men, seats - w)
    return total


_FEUD_NAMES = (("Carl", "Dan"), ("Ada", "Bea"))  # [gender][which of the pair]
_REQUIRED_NAMES = ("Finn", "Eve")  # [gender]


def _person(name: str, gender: int) -> str:
    return f"{name} ({'a woman' if gender else 'a man'})"


# reasoning = 0.2 + 1.6·log10(members) + 0.55·constraints;
# coding = 1.1 + 0.3·log10(members) + 0.35·constraints + clever(C(members, size) to list)
def _committees(
    members: int, women: int, size: int, min_women: int, feuding: tuple, required: tuple
) -> ReasoningItem:
    question = (
        f"A club has {members} members, {women} of them women. A committee of {size} members "
        "is to be chosen" + (f" with at least {min_women} women." if min_women else ".")
    )
    if feuding:
        a, b = (_person(_FEUD_NAMES[g][i], g) for i, g in enumerate(feuding))
        question += f" {a} and {b} refuse to serve together."
    if required:
        question += f" {_person(_REQUIRED_NAMES[required[0]], required[0])} must serve."
    question += " How many different committees are possible?"
    args = (members, women, size, min_women, feuding, required)
    # forgot the feud, the required member, the minimum, "more than" for "at least", the
    # committee or club size off by one
    wrong = [
        (members, women, size, min_women, (), required),
        (members, women, size, min_women, feuding, ()),
        (members, women, size, min_women + 1, feuding, required),
        (members, women, size, 0, feuding, required),
        (members, women, size - 1, min_women, feuding, required),
        (members, women, size + 1, min_women, feuding, required),
        (members + 1, women, size, min_women, feuding, required),
    ]
    constraints = (min_women > 0) + bool(feuding) + bool(required)
    return _item(
        "committees",
        question,
        count_committees,
        args,
        wrong,
        reasoning=0.2 + 1.6 * math.log10(members) + 0.55 * constraints,
        coding=1.1
        + 0.3 * math.log10(members)
        + 0.35 * constraints
        + _clever(math.comb(members, size)),
    )


def committees(rng: random.Random) -> ReasoningItem:
    members = _log_uniform(rng, 8, 120)
    women = rng.randint(3, members - 3)  # room for every named person of either gender
    size = rng.randint(3, max(3, members // 2))
    feuding = (rng.randint(0, 1), rng.randint(0, 1)) if rng.random() < 0.6 else ()
    required = (rng.randint(0, 1),) if rng.random() < 0.4 else ()
    while True:  # the named people may leave too few seats for the women required
        min_women = rng.randint(1, min(size, women)) if rng.random() < 0.7 else 0
        item = _committees(members, women, size, min_women, feuding, required)
        if item.answer != "0":
            return item


# --- calendar -------------------------------------------------------------------------------


def count_weekday_dates(first: int, last: int, day: int, weekday: int) -> int:
    """Months of the years first..last (Gregorian) whose `day`-th falls on `weekday`
    (0 = Monday). The calendar repeats every 400 years, so at most 400 years are walked."""
    y = first - 1  # Sakamoto's method for `day` January `first`, shifted so that 0 = Monday
    current = (y + y // 4 - y // 100 + y // 400 + day + 6) % 7
    cycles, rest = divmod(last - first + 1, 400)
    hits = partial = 0  # partial: hits in the first `rest` years
    for y in range(first, first + (400 if cycles else rest)):
        if y - first == rest:
            partial = hits
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        for length in (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31):
            hits += current == weekday
            current = (current + length) % 7
    return cycles * hits + partial if cycles else hits


# reasoning = 1.0 + 1.4·log10(years + 1) + 0.3·[not the 13th]; coding = 0.4 + 0.3·log10(years)
def _calendar_count(first: int, last: int, day: int, weekday: int) -> ReasoningItem:
    question = (
        f"In the Gregorian calendar, how many months from January {first} through December "
        f"{last} have their {_ordinal(day)} day falling on a {_WEEKDAYS[weekday]}?"
    )
    years = last - first + 1
    # Excluded the last year (none, for a single year) or both ends (each year has every
    # weekday at least once, so these differ), a weekday off by one (or more: in one year
    # not all seven counts are equal), the day off by one.
    wrong = [(first, last - 1, day, weekday)]
    if years > 1:
        wrong.append((first + 1, last - 1, day, weekday))
    wrong += [(first, last, day, (weekday + shift) % 7) for shift in (-1, 1, 2, -2, 3, -3)]
    wrong.append((first, last, day - 1 if day > 1 else 2, weekday))
    return _item(
        "calendar_count",
        question,
        count_weekday_dates,
        (first, last, day, weekday),
        wrong,
        reasoning=1.0 + 1.4 * math.log10(years + 1) + 0.3 * (day != 13),
        coding=0.4 + 0.3 * math.log10(years),
        slips=[round(12 * years / 7)],  # "one month in seven"
    )


def calendar_count(rng: random.Random) -> ReasoningItem:
    first = rng.randint(1583, 9000)
    last = min(9999, first + _log_uniform(rng, 1, 1000) - 1)
    day = 13 if rng.random() < 0.6 else rng.randint(1, 28)
    return _calendar_count(first, last, day, rng.randrange(7))


KINDS: tuple[Callable[[random.Random], ReasoningItem], ...] = (
    lattice_paths,
    digit_sums,
    coprime_range,
    farey_fractions,
    josephus,
    linear_recurrence,
    dice,
    partitions,
    restricted_derangements,
    collatz_record,
    committees,
    calendar_count,
)


def make_problem(seed: int, index: int) -> ReasoningItem:
    """Problem `index` of the world `seed`: the same in every process."""
    rng = random.Random(f"reasoning:{seed}:{index}")
    kind = rng.choice(KINDS)
    while True:  # rarely, fewer than two wrong derivations differ from the answer: redraw
        item = kind(rng)
        if len(item.wrong_programs) >= 2:
            return item
