"""Evaluation metrics against hand-computed values (worked in the comments) and brute force."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra_env.eval.metrics import (
    ALL,
    accuracy_ci,
    aiq,
    apgr,
    cpt,
    default_pair,
    mean_pass_hat_k,
    nondecreasing_hull,
    pareto_frontier,
    pass_hat_k,
    routing_curve,
    routing_scores,
    summarize,
)
from orchestra_env.eval.records import EpisodeRecord

# -- accuracy -----------------------------------------------------------------------------------


def test_wilson_interval_by_hand():
    # 8/10, z = 1.959964: z² = 3.841459, denominator 1.3841459, centre (0.8 + 0.1920729)/1.3841459
    # = 0.7167401, half 1.959964·sqrt(0.016 + 0.0096036)/1.3841459 = 0.2265776.
    acc, low, high = accuracy_ci(8, 10)
    assert acc == 0.8
    assert low == pytest.approx(0.4901625, abs=1e-6) and high == pytest.approx(0.9433178, abs=1e-6)


def test_wilson_interval_at_the_ends():
    # s = 0: [0, z²/(n + z²)] = [0, 3.841459/13.841459]; s = n mirrors it.
    assert accuracy_ci(0, 10) == pytest.approx((0.0, 0.0, 0.277532), abs=1e-6)
    assert accuracy_ci(10, 10) == pytest.approx((1.0, 0.722468, 1.0), abs=1e-6)
    # A wider level gives a wider interval; z(0.90) = 1.644854.
    assert accuracy_ci(8, 10, level=0.90).low > accuracy_ci(8, 10).low


@pytest.mark.parametrize(
    ("s", "n", "level"), [(1, 0, 0.95), (-1, 5, 0.95), (6, 5, 0.95), (1, 5, 1.0)]
)
def test_wilson_interval_rejects_bad_input(s, n, level):
    with pytest.raises(ValueError):
        accuracy_ci(s, n, level)


# -- pass^k -------------------------------------------------------------------------------------


def test_pass_hat_k_by_hand():
    assert pass_hat_k(3, 5, 2) == pytest.approx(3 / 10)  # C(3,2)/C(5,2)
    assert pass_hat_k(3, 5, 1) == pytest.approx(3 / 5)  # pass^1 is the success rate
    assert pass_hat_k(5, 5, 5) == 1.0 and pass_hat_k(4, 5, 5) == 0.0
    assert mean_pass_hat_k([(3, 5), (5, 5)], 2) == pytest.approx((0.3 + 1.0) / 2)


def brute_force_pass_k(c: int, n: int, k: int) -> float:
    """The share of k-subsets of the n trials (c of them successes) that are all successes."""
    trials = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(trials, k))
    return sum(all(s) for s in subsets) / len(subsets)


@given(
    st.integers(1, 9).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n), st.integers(1, n)))
)
def test_pass_hat_k_equals_enumeration(cnk):
    c, n, k = cnk
    assert pass_hat_k(c, n, k) == pytest.approx(brute_force_pass_k(c, n, k))


@pytest.mark.parametrize(("c", "n", "k"), [(1, 3, 0), (1, 3, 4), (4, 3, 1), (-1, 3, 1)])
def test_pass_hat_k_rejects_bad_input(c, n, k):
    with pytest.raises(ValueError):
        pass_hat_k(c, n, k)


# -- cost-quality -------------------------------------------------------------------------------


def test_pareto_frontier_by_hand():
    points = [(1, 0.5), (2, 0.4), (2, 0.7), (3, 0.7), (0.5, 0.2), (4, 0.9), (4, 0.9)]
    # (2, .4) loses to (1, .5); (3, .7) to (2, .7); the duplicate (4, .9) appears once.
    assert pareto_frontier(points) == [(0.5, 0.2), (1, 0.5), (2, 0.7), (4, 0.9)]
    assert pareto_frontier([(1, 0.9), (0.5, 0.9)]) == [(0.5, 0.9)]
    assert pareto_frontier([]) == []


def test_nondecreasing_hull_by_hand():
    # (2, .6) lies under the chord (1, .5)-(3, .9) (0.7 at x = 2); after the best (3, .9) flat.
    assert nondecreasing_hull([(1, 0.5), (2, 0.6), (3, 0.9), (4, 0.8)]) == [(1, 0.5), (3, 0.9)]
    # At one cost only the better point counts, at either end.
    assert nondecreasing_hull([(1, 0.3), (1, 0.5), (2, 0.6), (2, 0.9)]) == [(1, 0.5), (2, 0.9)]


def test_aiq_by_hand():
    # Hull (1, .5)-(3, .9), flat to 4: area 2·(0.5 + 0.9)/2 + 1·0.9 = 2.3 over the range 3.
    assert aiq([(1, 0.5), (2, 0.6), (3, 0.9), (4, 0.8)]) == pytest.approx(2.3 / 3)
    assert aiq([(0, 0), (1, 1)]) == pytest.approx(0.5)
    assert aiq([(2, 0.7)]) == 0.7 and aiq([(2, 0.7), (2, 0.4)]) == 0.7
    with pytest.raises(ValueError):
        aiq([])


def test_routing_curve_by_hand():
    weak, strong = (1.0, 0.5), (3.0, 0.9)
    points = [(2.0, 0.8), (2.0, 0.7), (0.5, 0.95), (4.0, 1.0)]
    # x = (cost − 1)/2: both 2.0 points sit at 0.5 (the better kept); 0.5 and 4.0 fall outside.
    assert routing_curve(points, weak, strong) == [(0.0, 0.5), (0.5, 0.8), (1.0, 0.9)]
    with pytest.raises(ValueError, match="must cost more"):
        routing_curve(points, strong, weak)


def test_apgr_and_cpt_by_hand():
    curve = [(0.0, 0.5), (0.5, 0.8), (1.0, 0.9)]
    # AUC = 0.5·(0.5 + 0.8)/2 + 0.5·(0.8 + 0.9)/2 = 0.75; APGR = (0.75 − 0.5)/(0.9 − 0.5).
    assert apgr(curve, weak=0.5, strong=0.9) == pytest.approx(0.625)
    assert apgr([(0.0, 0.5), (1.0, 0.9)], 0.5, 0.9) == pytest.approx(0.5)  # random mixing
    # CPT(50%): target 0.7, on the first segment at 0.5·(0.2/0.3) = 1/3.
    assert cpt(curve, 0.5) == pytest.approx(1 / 3)
    # CPT(80%): target 0.82, on the second segment at 0.5 + 0.5·(0.02/0.1) = 0.6.
    assert cpt(curve, 0.8) == pytest.approx(0.6)
    assert cpt(curve, 0.0) == 0.0 and cpt(curve, 1.0) == pytest.approx(1.0)


def test_routing_scores_by_hand():
    # x = (2 − 1)/(3 − 1) = 0.5: the curve of test_apgr_and_cpt_by_hand's shape.
    scores = routing_scores((2.0, 0.8), weak=(1.0, 0.2), strong=(3.0, 1.0))
    assert scores.strong_share == pytest.approx(0.5)
    # AUC = 0.5·(0.2 + 0.8)/2 + 0.5·(0.8 + 1.0)/2 = 0.7; APGR = (0.7 − 0.2)/0.8.
    assert scores.apgr == pytest.approx(0.625)
    assert scores.cpt50 == pytest.approx(1 / 3)  # target 0.6 on the first segment
    assert scores.cpt80 == pytest.approx(0.6)  # target 0.84 on the second
    # Dearer than the strong agent: no mix of the pair, no score.
    assert routing_scores((4.0, 0.9), (1.0, 0.2), (3.0, 1.0)) == (None, None, None, None)


def test_default_pair_is_most_accurate_and_cheapest_below_it():
    points = {"a": (0.5, 0.9), "b": (0.1, 0.5), "c": (0.0, 0.5), "d": (0.2, 0.95), "e": (1.0, 0.95)}
    assert default_pair(points) == ("c", "d")  # d: most accurate, cheapest at that accuracy
    assert default_pair({"a": (0.5, 0.9), "b": (0.1, 0.5), "c": (0.0, 0.5)}) == ("c", "a")
    with pytest.raises(ValueError, match="no weak/strong pair"):
        default_pair({"a": (0.0, 0.9), "b": (0.1, 0.5)})


def test_routing_metrics_reject_bad_curves():
    with pytest.raises(ValueError, match="from 0 to 1"):
        apgr([(0.2, 0.5), (1.0, 0.9)], 0.5, 0.9)
    with pytest.raises(ValueError, match="quality gap"):
        apgr([(0.0, 0.5), (1.0, 0.5)], 0.5, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cpt([(0.0, 0.5), (1.0, 0.9)], 1.5)


# -- summaries ----------------------------------------------------------------------------------


def record(agent, task, trial, outcome, cost, *, turns=2, errors=0, calls=None, aliases=None):
    return EpisodeRecord(
        agent=agent,
        env_id="E",
        env_kwargs={},
        task_id=task,
        family=task.split("/")[0],
        seed=0,
        run_seed=0,
        trial=trial,
        outcome=outcome,
        reward=float(outcome),
        reward_terms={},
        cost_usd=cost,
        latency_s=10.0 * turns,
        prompt_tokens=0,
        completion_tokens=0,
        turns=turns,
        format_errors=errors,
        calls=calls or {"answer": 1},
        calls_by_alias=aliases or {"answer-1": 1},
    )


def test_summarize_by_hand():
    records = [
        record("a", "x/0", 0, 1, 0.01, turns=2, calls={"search": 1, "answer": 1}),
        record("a", "x/0", 1, 1, 0.03, turns=4, errors=1, calls={"search": 2, "answer": 1}),
        record("a", "y/0", 0, 0, 0.02, turns=2, aliases={"answer-2": 1}),
        record("a", "y/0", 1, 1, 0.10, turns=4),
        record("b", "x/0", 0, 0, 0.0),
    ]
    s = summarize(records)
    assert sorted(s) == ["a", "b"] and sorted(s["a"]) == [ALL, "x", "y"]
    a = s["a"][ALL]
    assert (a["n"], a["tasks"], a["trials"]) == (4, 2, 2)
    assert a["accuracy"] == 0.75
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(accuracy_ci(3, 4)[1:])
    # pass^1 = mean(2/2, 1/2); pass^2 = mean(C(2,2)/C(2,2), C(1,2)/C(2,2)) = mean(1, 0).
    assert a["pass_k"] == pytest.approx({1: 0.75, 2: 0.5})
    assert a["cost_mean"] == pytest.approx(0.04) and a["cost_median"] == pytest.approx(0.025)
    assert a["latency_mean"] == pytest.approx(30.0) and a["turns_mean"] == 3.0
    assert a["format_error_rate"] == pytest.approx(1 / 12)
    # Calls: search 3, answer 4 → answer 4/7 first; aliases: answer-1 3, answer-2 1.
    assert a["tool_share"] == pytest.approx({"answer": 4 / 7, "search": 3 / 7})
    assert list(a["tool_share"]) == ["answer", "search"]
    assert a["alias_share"] == pytest.approx({"answer-1": 0.75, "answer-2": 0.25})
    x = s["a"]["x"]
    assert (x["n"], x["accuracy"], x["pass_k"][2]) == (2, 1.0, 1.0)
    assert s["b"][ALL]["pass_k"] == {1: 0.0} and s["b"][ALL]["ci_low"] == 0.0


def test_summarize_uses_the_fewest_trials_for_pass_k():
    records = [record("a", "x/0", t, 1, 0.0) for t in range(3)] + [record("a", "x/1", 0, 1, 0.0)]
    assert set(summarize(records)["a"][ALL]["pass_k"]) == {1}
    assert math.isclose(summarize(records)["a"][ALL]["accuracy"], 1.0)
