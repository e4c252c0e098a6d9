"""Metrics over evaluation runs: pure functions of numbers or of `EpisodeRecord`s.

Quality/cost conventions shared by the cost-quality metrics: a *point* is `(cost, quality)`,
e.g. one agent's mean $ per episode and its accuracy on the same tasks; lower cost and higher
quality are better.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import NamedTuple

from orchestra_env.eval.records import EpisodeRecord

Point = tuple[float, float]

ALL = "all"  # the family key of the overall summary


class AccuracyCI(NamedTuple):
    accuracy: float
    low: float
    high: float


def accuracy_ci(successes: int, n: int, level: float = 0.95) -> AccuracyCI:
    """Accuracy `successes / n` with its Wilson score interval at confidence `level`.

    Wilson (not the normal approximation) because it stays inside [0, 1] and is sane at
    0 or n successes and small n: with p = s/n and z the two-sided normal quantile,
    centre = (p + z²/2n) / (1 + z²/n), half-width = z·sqrt(p(1−p)/n + z²/4n²) / (1 + z²/n).
    """
    if n <= 0:
        raise ValueError(f"accuracy needs at least one episode, got n={n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Clamp float noise at the ends (the exact interval at s=0 starts at 0).
    return AccuracyCI(p, max(0.0, centre - half), min(1.0, centre + half))


def pass_hat_k(c: int, n: int, k: int) -> float:
    """pass^k of one task (tau-bench): C(c, k) / C(n, k), with c successes in n trials — the
    chance that k trials drawn without replacement from the n all succeed."""
    if not 0 <= c <= n:
        raise ValueError(f"successes c must be in [0, n={n}], got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n={n}] (trials per task), got {k}")
    return math.comb(c, k) / math.comb(n, k)


def mean_pass_hat_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass^k averaged over tasks; `counts` holds one (successes c, trials n) per task."""
    values = [pass_hat_k(c, n, k) for c, n in counts]
    if not values:
        raise ValueError("pass^k needs at least one task")
    return sum(values) / len(values)


def pareto_frontier(points: Iterable[Point]) -> list[Point]:
    """The (cost, quality) points no other point dominates, by increasing cost.

    `p` dominates `q` when p costs no more and scores no less, and is strictly better in one.
    Duplicates appear once.
    """
    frontier: list[Point] = []
    for cost, quality in sorted(set(points), key=lambda p: (p[0], -p[1])):
        # Sorted by cost (best quality first at equal cost): a point is on the frontier iff it
        # beats the quality of every cheaper-or-equal point kept so far.
        if not frontier or quality > frontier[-1][1]:
            frontier.append((cost, quality))
    return frontier


def nondecreasing_hull(points: Iterable[Point]) -> list[Point]:
    """RouterBench's non-decreasing convex hull, as its vertices by increasing cost.

    The best quality reachable at each cost by mixing the given routers at random (the upper
    concave envelope) when one may always spend less than the budget: the upper hull up to
    its highest point, flat after it.
    """
    # Best quality first at equal cost, so the lower point of a vertical pair is always popped.
    pts = sorted(set(points), key=lambda p: (p[0], -p[1]))
    if not pts:
        raise ValueError("the hull needs at least one (cost, quality) point")
    hull: list[Point] = []
    for p in pts:  # Andrew's monotone chain, upper half
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    best = max(range(len(hull)), key=lambda i: (hull[i][1], -i))
    return hull[: best + 1]


def aiq(points: Iterable[Point]) -> float:
    """RouterBench's AIQ: the area under the non-decreasing convex hull of the (cost, quality)
    points between the lowest and highest cost among them, divided by that cost range — the
    mean quality achievable across the cost range. One point (or one cost) gives its quality.
    """
    pts = list(points)
    hull = nondecreasing_hull(pts)
    low, high = min(c for c, _ in pts), max(c for c, _ in pts)
    if high == low:
        return hull[-1][1]
    area = sum((c1 - c0) * (q0 + q1) / 2 for (c0, q0), (c1, q1) in pairwise(hull))
    area += (high - hull[-1][0]) * hull[-1][1]  # flat after the best point
    return area / (high - low)


def routing_curve(points: Iterable[Point], weak: Point, strong: Point) -> list[Point]:
    """RouteLLM's quality-vs-cost curve from agents' (cost, quality) points.

    Each agent becomes `(x, quality)` with x = (cost − cost_weak) / (cost_strong − cost_weak):
    the share of calls to the strong model when the two are the only choices (cost is linear
    in that share), and its cost-equivalent when an orchestrator mixes many tools. `weak` and
    `strong` are the (cost, quality) of the all-weak and all-strong agents; they anchor the
    curve at x = 0 and x = 1. Points outside 0 < x < 1 lie outside the curve's domain and are
    left out; at equal x the best quality is kept (the better threshold). Sorted by x.
    """
    (cw, qw), (cs, qs) = weak, strong
    if cs <= cw:
        raise ValueError(
            f"the strong model must cost more than the weak one: weak {weak}, strong {strong}"
        )
    best: dict[float, float] = {}
    for cost, quality in points:
        x = (cost - cw) / (cs - cw)
        if 0 < x < 1:
            best[x] = max(quality, best.get(x, quality))
    return [(0.0, qw), *sorted(best.items()), (1.0, qs)]


def apgr(curve: Sequence[Point], weak: float, strong: float) -> float:
    """RouteLLM's APGR: (AUC − AUC_weak) / (AUC_strong − AUC_weak).

    `curve` is `(x, quality)` over x ∈ [0, 1] (see `routing_curve`), starting at x = 0 and
    ending at x = 1; AUC is its trapezoid area. `weak` and `strong` are the qualities of the
    all-weak and all-strong models, whose flat curves have AUC = weak and AUC = strong. 0 means
    no better than the weak model everywhere, 1 as good as the strong one everywhere.
    """
    _check_curve(curve)
    if strong == weak:
        raise ValueError(f"APGR needs a quality gap between weak and strong, both are {weak}")
    area = sum((x1 - x0) * (q0 + q1) / 2 for (x0, q0), (x1, q1) in pairwise(curve))
    return (area - weak) / (strong - weak)


def cpt(curve: Sequence[Point], x: float) -> float:
    """RouteLLM's CPT(x): the least strong-model share at which the (linearly interpolated)
    curve first recovers the fraction `x` ∈ [0, 1] of the gap from its start (the weak model,
    x = 0) to its end (the strong model, x = 1); e.g. `cpt(curve, 0.5)` is CPT(50%)."""
    _check_curve(curve)
    if not 0 <= x <= 1:
        raise ValueError(f"x is a fraction of the quality gap in [0, 1], got {x}")
    weak, strong = curve[0][1], curve[-1][1]
    target = weak + x * (strong - weak)
    if weak >= target:
        return 0.0
    for (x0, q0), (x1, q1) in pairwise(curve):
        if q1 >= target:
            return x0 + (x1 - x0) * (target - q0) / (q1 - q0) if q1 != q0 else x0
    return 1.0  # only reached through float noise: the end point recovers the whole gap


class RoutingScores(NamedTuple):
    """An agent's RouteLLM scores against a weak/strong pair (None: its cost lies outside the
    pair's, so it is no mix of them)."""

    strong_share: float | None  # x: its cost as a share of the way from weak to strong
    apgr: float | None
    cpt50: float | None
    cpt80: float | None


def routing_scores(point: Point, weak: Point, strong: Point) -> RoutingScores:
    """APGR and CPT(50%), CPT(80%) of the curve weak → `point` → strong (RouteLLM, one router
    setting): how much of the weak–strong quality gap the agent recovers, and at what cost."""
    curve = routing_curve([point], weak, strong)
    if len(curve) == 2:  # the point lies outside (weak, strong) in cost
        return RoutingScores(None, None, None, None)
    gap = strong[1] != weak[1]
    return RoutingScores(
        curve[1][0],
        apgr(curve, weak[1], strong[1]) if gap else None,
        cpt(curve, 0.5) if gap else None,
        cpt(curve, 0.8) if gap else None,
    )


def default_pair(points: dict[str, Point]) -> tuple[str, str]:
    """(weak, strong) when none is named: the most accurate agent is strong, and the cheapest
    agent that is less accurate and cheaper than it is weak."""
    strong = max(points, key=lambda a: (points[a][1], -points[a][0]))
    cs, qs = points[strong]
    below = [a for a, (c, q) in points.items() if c < cs and q < qs]
    if not below:
        raise ValueError(
            f"no agent is both cheaper and less accurate than {strong!r}: no weak/strong pair"
        )
    return min(below, key=lambda a: (points[a][0], -points[a][1])), strong


def _check_curve(curve: Sequence[Point]) -> None:
    xs = [x for x, _ in curve]
    if len(xs) < 2 or xs[0] != 0 or xs[-1] != 1 or any(b < a for a, b in pairwise(xs)):
        raise ValueError(
            f"a routing curve runs over x from 0 to 1 in increasing order, got x = {xs}"
        )


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


# -- summaries of run records -----------------------------------------------------------------


def summarize(records: Iterable[EpisodeRecord], level: float = 0.95) -> dict[str, dict[str, dict]]:
    """Per agent, per family and over all families (key `ALL`): `{agent: {family: summary}}`.

    A summary holds:
    - `n` episodes and `tasks` (distinct task ids), `trials` (fewest trials of any task);
    - `accuracy`, `ci_low`, `ci_high`: success rate and its Wilson interval at `level`;
    - `pass_k`: {k: pass^k averaged over tasks} for k = 1..trials;
    - `cost_mean`, `cost_median`: $ per episode (one attempt at a task);
    - `latency_mean`: simulated seconds per episode; `turns_mean`: turns per episode;
    - `format_error_rate`: malformed actions per turn;
    - `tool_share`, `alias_share`: each tool's / model alias's share of all calls.
    """
    groups: dict[str, dict[str, list[EpisodeRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[r.agent][r.family].append(r)
        groups[r.agent][ALL].append(r)
    return {
        agent: {family: _summary(rs, level) for family, rs in sorted(by_family.items())}
        for agent, by_family in sorted(groups.items())
    }


def _summary(records: list[EpisodeRecord], level: float) -> dict:
    outcomes: dict[str, list[int]] = defaultdict(list)
    for r in records:
        outcomes[r.task_id].append(r.outcome)
    counts = [(sum(o), len(o)) for o in outcomes.values()]
    trials = min(n for _, n in counts)
    successes = sum(c for c, _ in counts)
    ci = accuracy_ci(successes, len(records), level)
    costs = [r.cost_usd for r in records]
    turns = sum(r.turns for r in records)
    return {
        "n": len(records),
        "tasks": len(outcomes),
        "trials": trials,
        "accuracy": ci.accuracy,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "pass_k": {k: mean_pass_hat_k(counts, k) for k in range(1, trials + 1)},
        "cost_mean": statistics.fmean(costs),
        "cost_median": statistics.median(costs),
        "latency_mean": statistics.fmean(r.latency_s for r in records),
        "turns_mean": turns / len(records),
        "format_error_rate": sum(r.format_errors for r in records) / turns if turns else 0.0,
        "tool_share": _shares(r.calls for r in records),
        "alias_share": _shares(r.calls_by_alias for r in records),
    }


def _shares(call_counts: Iterable[dict[str, int]]) -> dict[str, float]:
    """Each key's share of all counted calls, largest first."""
    total: Counter[str] = Counter()
    for counts in call_counts:
        total.update(counts)
    n = sum(total.values())
    return {name: count / n for name, count in total.most_common() if count} if n else {}
