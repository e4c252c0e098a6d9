"""Rewards: the paper's group-normalised formula (sign right), and the single-episode reward."""

import numpy as np
import pytest

from orchestra_env import Preference, episode_reward, group_normalized
from orchestra_env.rewards import Reference, paid_calls, reference_scales


def ledger(cost, latency, **calls):
    return {"cost_usd": cost, "latency_s": latency, "calls": {}, "calls_by_alias": calls}


def test_group_normalized_by_hand():
    # Three rollouts of one task. Columns: search-3 calls, outcome, -cost, -latency.
    ledgers = [
        ledger(0.10, 30, **{"search-3": 2}),
        ledger(0.30, 10),
        ledger(0.20, 20, **{"search-3": 1}),
    ]
    outcomes = [1, 1, 0]
    p = Preference(outcome=1.0, cost=1.0, latency=0.5, tools={"search-3": 1.0})
    r = group_normalized(outcomes, ledgers, p)
    # rollout 0: tool (2-0)/2=1, outcome (1-0)/1=1, cost (-0.1+0.3)/0.2=1, latency (-30+30)/20=0
    # rollout 1: tool 0, outcome 1, cost 0, latency 1
    np.testing.assert_allclose(r, [1 + 1 + 1 + 0, 0 + 1 + 0 + 0.5, 0.0])


def test_cheaper_and_faster_normalise_higher():
    p = Preference(outcome=0.0, cost=1.0, latency=1.0)
    r = group_normalized([1, 1], [ledger(1.0, 100), ledger(0.5, 50)], p)
    assert r[1] > r[0]
    assert r[1] == pytest.approx(2.0) and r[0] == pytest.approx(0.0)


def test_zero_when_wrong_and_constant_columns_are_zero():
    p = Preference(outcome=1.0, cost=1.0)
    r = group_normalized([0, 0], [ledger(0.1, 1), ledger(0.2, 1)], p)
    assert r.tolist() == [0.0, 0.0]
    r = group_normalized([1, 1], [ledger(0.1, 1), ledger(0.1, 1)], p)
    assert r.tolist() == [0.0, 0.0]  # every column constant: max = min → 0


def test_group_normalized_checks_lengths():
    with pytest.raises(ValueError, match="2 outcomes but 1 ledgers"):
        group_normalized([1, 0], [ledger(0, 0)], Preference())


def test_episode_reward_terms():
    p = Preference(outcome=1.0, cost=1.0, latency=0.0, tools={"search-3": 1.0})
    scale = Reference(usd_low=0.01, usd_high=1.0, s_low=1.0, s_high=100.0)
    terms = episode_reward(1, ledger(0.1, 10, **{"search-3": 1}), p, scale, plan_length=4)
    assert terms["cost"] == pytest.approx(0.5)  # a tenth of the priciest plan: halfway in logs
    assert terms["latency"] == pytest.approx(0.5)
    assert terms["tool:search-3"] == pytest.approx(0.25)
    assert terms["total"] == pytest.approx((1 + 0.5 + 0.25) / 3)
    assert episode_reward(0, ledger(0.1, 10), p, scale, 4)["total"] == 0.0
    over = episode_reward(1, ledger(5.0, 1000), Preference(outcome=0.0, cost=1.0), scale, 4)
    assert over["cost"] == 0.0 and over["total"] == 0.0
    under = episode_reward(1, ledger(0.001, 0.5), Preference(cost=1.0, latency=1.0), scale, 4)
    assert under["cost"] == 1.0 and under["latency"] == 1.0


def test_a_paid_call_voids_the_reward_when_the_user_avoids_paid_apis():
    scale = Reference(usd_low=0.01, usd_high=1.0, s_low=1.0, s_high=100.0)
    avoid = Preference(tools={"search-3": 1.0}, avoid_paid_apis=True)
    honoured = episode_reward(1, ledger(0.1, 10, **{"search-3": 1}), avoid, scale, 4)
    assert honoured["total"] > 0
    broken = episode_reward(1, ledger(0.1, 10, **{"search-3": 1}), avoid, scale, 4, paid_calls=1)
    assert broken["total"] == 0.0
    # only a user who asked is owed it
    assert episode_reward(1, ledger(0.1, 10), Preference(), scale, 4, paid_calls=3)["total"] == 1


def test_paid_calls_counts_paid_models_and_web_search():
    from orchestra_env.models.profiles import default_profiles

    calls = {"search-1": 2, "search-3": 1, "answer-2": 1}  # GPT-5, Qwen3-32B, GPT-5-mini
    spent = {"cost_usd": 0, "latency_s": 0, "calls": {"web_search": 1}, "calls_by_alias": calls}
    assert paid_calls(spent, default_profiles()) == 2 + 1 + 1


def test_cost_term_tells_a_cheap_plan_from_a_frontier_one():
    """The reason for the log scale: $0.02 and $0.20 both sit far below a $1 priciest plan,
    yet under "cheap" the first must pay clearly more."""
    scale = Reference(usd_low=0.005, usd_high=1.0, s_low=1.0, s_high=100.0)
    cheap, frontier = (
        episode_reward(1, ledger(usd, 10), Preference(cost=1.0), scale, 3)["cost"]
        for usd in (0.02, 0.20)
    )
    assert cheap - frontier > 0.4


def test_reference_spans_the_cheapest_and_priciest_aliases():
    from orchestra_env.models.profiles import default_profiles

    profiles = default_profiles()
    scale = reference_scales(["search", "answer"], profiles, prompt_tokens=500)
    assert 0 < scale.usd_low < scale.usd_high and 0 < scale.s_low < scale.s_high
    # one alias per tool: no range, so a tenth of the plan's cost scores 1
    same = {a: "gpt-5" for a in profiles.aliases}
    flat = reference_scales(["search", "answer"], profiles.with_alias_models(same), 500)
    assert flat.usd_low == pytest.approx(flat.usd_high / 10)


def test_preference_validates_weights():
    with pytest.raises(ValueError, match="'cost' must be in \\[0, 1\\]"):
        Preference(cost=2.0)
    with pytest.raises(ValueError, match="tool 'search-1'"):
        Preference(tools={"search-1": -1.0})


def test_avoid_paid_apis_weighs_the_open_aliases_of_the_profiles():
    from orchestra_env.models.profiles import default_profiles
    from orchestra_env.rewards import preset_preferences

    profiles = default_profiles()
    paid = {name for name, m in profiles.models.items() if m.paid_api}
    assert paid == {"gpt-5", "gpt-5-mini", "claude-opus-4.1"}
    keys = [*profiles.aliases, "web_search"]
    presets = preset_preferences(profiles, keys)
    avoid = presets["avoid_paid_apis"]
    assert avoid.avoid_paid_apis and not any(
        p.avoid_paid_apis for p in presets.values() if p is not avoid
    )
    assert set(avoid.tools) == {a for a, spec in profiles.aliases.items() if spec.model not in paid}
    assert set(profiles.tiers["open"].values()) <= set(avoid.tools)  # the open tier is open
