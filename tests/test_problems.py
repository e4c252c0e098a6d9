"""HLE-like reasoning problems: correct answers, wrong answers that are wrong, and a difficulty
that can be read off the question."""

import ast
import datetime
import itertools
import math
import os
import random
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from orchestra_env.answers import answers_match
from orchestra_env.tasks import problems as P
from orchestra_env.tasks.problems import KINDS, make_problem


def test_reference_programs_print_the_answer():
    items = [make_problem(0, i) for i in range(150)]
    script = "\n".join(f"exec({p.program!r}, {{}})" for p in items)  # one interpreter for all
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.split("\n")[:-1] == [p.answer for p in items]


def test_wrong_programs_print_their_wrong_answer():
    """What a coder who slips writes: the reference program with its call changed, printing
    the matching wrong answer, never the right one."""
    items = [make_problem(0, i) for i in range(150)]
    programs = [w for p in items for w in p.wrong_programs]
    script = "\n".join(f"exec({w!r}, {{}})" for w in programs)  # one interpreter, via stdin
    out = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, check=True
    ).stdout
    printed = iter(out.split("\n")[:-1])
    for item in items:
        assert 2 <= len(item.wrong_programs) <= 4, item
        solver, call = item.program.rsplit("\n", 1)
        for wrong, expected in zip(item.wrong_programs, item.wrong_answers, strict=False):
            line = next(printed)
            assert line == expected and not answers_match(line, item.answer), (wrong, item)
            head, wrong_call = wrong.rsplit("\n", 1)
            assert head == solver and wrong_call != call, wrong


def _traced_lines(program: str) -> int:
    """The lines `program`'s solver call executes: its work, counted the same on any machine."""
    call = ast.parse(program.rsplit("\n", 1)[1]).body[0].value.args[0]
    solver, args = getattr(P, call.func.id), [ast.literal_eval(a) for a in call.args]
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        count += event == "line"
        return trace

    sys.settrace(trace)
    try:
        solver(*args)
    finally:
        sys.settrace(None)
    return count


def test_wrong_programs_cost_no_more_than_the_reference():
    """A wrong program runs on an instance no bigger than the reference's: at most a third
    more work, give or take a small grid (2000 lines: a fraction of a millisecond)."""
    for item in (make_problem(6, i) for i in range(300)):
        budget = 4 / 3 * _traced_lines(item.program) + 2000
        for wrong in item.wrong_programs:
            assert _traced_lines(wrong) <= budget, (wrong, item)


def test_every_kind_appears_and_generation_is_deterministic():
    kinds = Counter(make_problem(3, i).kind for i in range(600))
    assert set(kinds) == {k.__name__ for k in KINDS}
    assert min(kinds.values()) > 20  # roughly balanced: 50 each expected
    assert [make_problem(3, i) for i in range(50)] == [make_problem(3, i) for i in range(50)]
    assert [make_problem(3, i) for i in range(20)] != [make_problem(4, i) for i in range(20)]


def test_items_are_the_same_in_another_process():
    script = (
        "from orchestra_env.tasks.problems import make_problem\n"
        "print(repr([make_problem(5, i) for i in range(40)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == repr([make_problem(5, i) for i in range(40)])


def test_wrong_answers_are_wrong_distinct_and_same_shape():
    for item in (make_problem(1, i) for i in range(600)):
        wrong = item.wrong_answers
        assert 2 <= len(wrong) <= 4, item
        for i, w in enumerate(wrong):
            assert not answers_match(w, item.answer), item
            assert not any(answers_match(w, other) for other in wrong[:i]), item
            if "/" in item.answer:
                assert 0 < Fraction(w) < 1 and "/" in w, item
            else:
                assert w.isdigit() == item.answer.isdigit(), item


def test_no_item_asks_for_a_fact():
    for item in (make_problem(2, i) for i in range(600)):
        assert not re.search(r"catalogue|registry|reference works", item.question, re.I)
        if len(item.answer) >= 6:  # computed, never embedded (a short one may match a parameter)
            assert not re.search(rf"\b{re.escape(item.answer)}\b", item.program), item


# --- solvers against brute force on small instances ------------------------------------------


def _walks(a, b, blocked, via):
    count = 0
    for rights in itertools.combinations(range(a + b), a):
        x = y = 0
        points = [(0, 0)]
        for step in range(a + b):
            x, y = (x + 1, y) if step in rights else (x, y + 1)
            points.append((x, y))
        count += not set(points) & set(blocked) and (via is None or via in points)
    return count


def test_lattice_walks():
    rng = random.Random(1)
    for _ in range(60):
        a, b = rng.randint(1, 6), rng.randint(1, 6)
        blocked = tuple((rng.randint(0, a), rng.randint(0, b)) for _ in range(rng.randint(0, 3)))
        blocked = tuple(p for p in blocked if p not in ((0, 0), (a, b)))
        via = (rng.randint(0, a), rng.randint(0, b)) if rng.random() < 0.5 else None
        if via not in blocked:
            assert P.lattice_walks(a, b, blocked, via) == _walks(a, b, blocked, via)


def test_digit_sum_and_coprime_counts():
    rng = random.Random(2)
    for _ in range(100):
        n, s, m = rng.randint(1, 3000), rng.randint(1, 30), rng.randint(1, 13)
        expected = sum(1 for k in range(1, n + 1) if sum(map(int, str(k))) == s and k % m == 0)
        assert P.count_digit_sum(n, s, m) == expected, (n, s, m)
        hi = rng.randint(1, 2000)
        lo, mod = rng.randint(1, hi), rng.randint(1, 3000)
        coprime = sum(1 for k in range(lo, hi + 1) if math.gcd(k, mod) == 1)
        assert P.count_coprime(lo, hi, mod) == coprime, (lo, hi, mod)


def test_totient_sums():
    phi = [0] + [sum(math.gcd(i, n) == 1 for i in range(1, n + 1)) for n in range(1, 301)]
    for start, limit in [(1, 1), (1, 300), (2, 300), (17, 250), (299, 300)]:
        assert P.totient_sum(start, limit) == sum(phi[start : limit + 1])


def test_josephus_survivor():
    for n in range(1, 80):
        for k in range(2, 14):
            circle, at = list(range(1, n + 1)), 0
            while len(circle) > 1:
                at = (at + k - 1) % len(circle)
                circle.pop(at)
            assert P.josephus_survivor(n, k) == circle[0], (n, k)


def test_recurrence_term():
    rng = random.Random(3)
    for _ in range(100):
        a0, a1, p, q, c = (rng.randint(0, 9) for _ in range(5))
        n, m = rng.randint(0, 40), rng.choice((97, 1000))
        seq = [a0, a1]
        while len(seq) <= n:
            seq.append(p * seq[-1] + q * seq[-2] + c)
        assert P.recurrence_term(a0, a1, p, q, c, n, m) == seq[n] % m


def test_dice_probability():
    rng = random.Random(4)
    for _ in range(60):
        dice, sides = rng.randint(1, 4), rng.choice((4, 6))
        target, at_least, given_max = (
            rng.randint(1, dice * sides),
            rng.random() < 0.5,
            rng.random() < 0.5,
        )
        rolls = [
            r
            for r in itertools.product(range(1, sides + 1), repeat=dice)
            if not given_max or sides in r
        ]
        hits = sum(sum(r) >= target if at_least else sum(r) == target for r in rolls)
        p = Fraction(hits, len(rolls))
        assert (
            P.dice_probability(dice, sides, target, at_least, given_max)
            == f"{p.numerator}/{p.denominator}"
        )


def test_partition_count():
    def brute(n, largest, distinct):
        if n == 0:
            return 1
        return sum(brute(n - k, k - distinct, distinct) for k in range(1, min(n, largest) + 1))

    for n, largest, distinct in itertools.product(range(1, 25), (1, 3, 7, 24), (False, True)):
        assert P.partition_count(n, min(largest, n), distinct) == brute(
            n, min(largest, n), distinct
        )


def test_restricted_permutations():
    rng = random.Random(5)
    for n in range(1, 8):
        for _ in range(5):
            shifted = tuple(sorted(rng.sample(range(1, n), rng.randint(0, n - 1))))
            expected = sum(
                all(s[i - 1] != i for i in range(1, n + 1))
                and all(s[i - 1] != i + 1 for i in shifted)
                for s in itertools.permutations(range(1, n + 1))
            )
            assert P.count_restricted_permutations(n, shifted, None) == expected, (n, shifted)
            assert P.count_restricted_permutations(n, shifted, 7) == expected % 7


def test_committees():
    rng = random.Random(6)
    for _ in range(80):
        members = rng.randint(8, 11)
        women, size = rng.randint(3, members - 3), rng.randint(1, members)
        min_women = rng.randint(0, size)
        feuding = (rng.randint(0, 1), rng.randint(0, 1)) if rng.random() < 0.6 else ()
        required = (rng.randint(0, 1),) if rng.random() < 0.5 else ()
        named = feuding + required  # people 0, 1, ... in this order, then the others
        genders = (
            named + (1,) * (women - sum(named)) + (0,) * (members - women - len(named) + sum(named))
        )
        expected = sum(
            sum(genders[i] for i in c) >= min_women
            and not (feuding and {0, 1} <= set(c))
            and (not required or len(feuding) in c)
            for c in itertools.combinations(range(members), size)
        )
        args = (members, women, size, min_women, feuding, required)
        assert P.count_committees(*args) == expected, args


def test_weekday_dates_and_collatz():
    for first, years in [
        (1901, 100),
        (1583, 1),
        (2024, 399),
        (1600, 400),
        (1777, 401),
        (3000, 950),
    ]:
        last = first + years - 1
        for day, weekday in [(13, 4), (1, 6), (28, 0)]:
            expected = sum(
                datetime.date(y, m, day).weekday() == weekday
                for y in range(first, last + 1)
                for m in range(1, 13)
            )
            assert P.count_weekday_dates(first, last, day, weekday) == expected
    assert P.longest_collatz(27, 27) == 111 and P.longest_collatz(1, 10) == 19


# --- difficulty ------------------------------------------------------------------------------

SIZES = [  # (builder, small instance, bigger instance with the same constraints)
    (P._lattice_paths, (3, 4, ((1, 1),), None), (20, 25, ((1, 1),), None)),
    (P._digit_sums, (500, 10, 7), (5 * 10**8, 10, 7)),
    (P._coprime_range, (1, 1000, (2, 3, 5)), (1, 10**12, (2, 3, 5))),
    (P._farey_fractions, (1, 20, True), (1, 50_000, True)),
    (P._josephus, (10, 3), (10**8, 3)),
    (P._linear_recurrence, (1, 1, 1, 1, 0, 12, 1000), (1, 1, 1, 1, 0, 10**11, 1000)),
    (P._dice, (2, 6, 7, True, False), (7, 6, 25, True, False)),
    (P._partitions, (8, None, True), (150, None, True)),
    (P._restricted_derangements, (5, (1,), None), (18, (1,), None)),
    (P._collatz_record, (20, 29), (10**9, 10**9 + 9)),
    (P._committees, (10, 5, 4, 2, (1, 0), ()), (100, 50, 4, 2, (1, 0), ())),
    (P._calendar_count, (2000, 2001, 13, 4), (2000, 2600, 13, 4)),
]


def test_sizes_cover_every_kind():
    assert {build(*small).kind for build, small, _ in SIZES} == {k.__name__ for k in KINDS}


@pytest.mark.parametrize("build, small, big", SIZES, ids=[b.__name__ for b, _, _ in SIZES])
def test_a_bigger_instance_is_harder(build, small, big):
    easy, hard = build(*small).difficulty, build(*big).difficulty
    assert hard["reasoning"] > easy["reasoning"] + 0.5
    assert hard["coding"] >= easy["coding"]


def test_a_small_unconstrained_instance_reads_as_easy():
    item = P._partitions(7, None, False)
    assert item.difficulty["reasoning"] < 2.2 and item.difficulty["coding"] < 2


def test_difficulty_spans_the_calibrated_range():
    items = [make_problem(8, i) for i in range(1000)]
    for skill, (lo, hi, mean) in {"reasoning": (0.5, 6.5, 3.5), "coding": (0, 5, 2.5)}.items():
        values = [p.difficulty[skill] for p in items]
        assert lo <= min(values) and max(values) <= hi, skill
        assert abs(np.mean(values) - mean) < 0.4 and 0.7 < np.std(values) < 1.5, skill


_CONSTRAINT_WORDS = re.compile(
    r"blocked|must|at least|at most|divisible|gcd|refuse|different|given|modulo|≠|lowest terms"
)


def test_difficulty_is_predictable_from_visible_features():
    """A least-squares fit on what a reader of the question sees — which kind of problem it is
    (each has its own scale), the digit count of its largest number, its count of constraint
    words and its length — explains most of the difficulty: no hidden jitter."""
    items = [make_problem(9, i) for i in range(2000)]
    names = [k.__name__ for k in KINDS]
    rows = []
    for p in items:
        kind = np.array([p.kind == name for name in names], float)
        digits = max(len(n) for n in re.findall(r"\d+", p.question))
        words = len(_CONSTRAINT_WORDS.findall(p.question))
        rows.append(np.concatenate([kind, kind * digits, [words, len(p.question)]]))
    features = np.array(rows)
    for skill in ("reasoning", "coding"):
        y = np.array([p.difficulty[skill] for p in items])
        coef, *_ = np.linalg.lstsq(features, y, rcond=None)
        r2 = 1 - ((y - features @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        assert r2 >= 0.5, (skill, r2)
