"""Calibration: the shipped profiles reproduce the paper's "none" and "basic" rows
(docs/architecture.md).

Every cell is measured by playing its single-model policy through the env on the first `N`
test tasks of its family with the calibration's episode seeds — exactly what
`orchestra calibrate --report-only` measures and what the fit (`calibration.fitting`) fitted —
and must be within `TOLERANCE` (3 points) of the paper in all 24 HLE/FRAMES cells. The cost
facts are measured on a smaller sample (costs vary little from task to task).

τ² (the function-calling family, "basic" only): the six cells are measured through the env on
the first `N_TAU2` test tasks and must be within `TAU2_TOLERANCE` (5 points) of the paper.
"""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from orchestra_env import calibration as cal
from orchestra_env.baselines.single_model import alone, with_basic_tools
from orchestra_env.core import Evidence
from orchestra_env.models.profiles import default_profiles, parse_profiles
from orchestra_env.tasks.function_calling import FunctionCallingFamily
from orchestra_env.tasks.multihop import MultihopFamily
from orchestra_env.tasks.reasoning import ReasoningFamily

N = 1000  # tasks per family for the accuracy cells, as `orchestra calibrate` fits them
N_COST = 40  # tasks per family for the cost facts
# Function-calling tasks per model for the τ² cells (played through the env), as the τ² fit
# plays them: test tasks rotate through each domain's templates in order, so a shorter prefix is
# not a fair sample (300 tasks measure Qwen3-8B 6 points above 1,000).
N_TAU2 = 1000


@pytest.mark.parametrize("model", cal.MODELS)
def test_shipped_profiles_reproduce_the_paper(model):
    misses = []
    for (m, setting, family), target in cal.TARGETS.items():
        if m != model:
            continue
        measured = 100 * cal.measure_cell(model, setting, family, n=N, seed=0).accuracy
        if abs(measured - target) > cal.TOLERANCE:
            misses.append(f"{setting} {family}: paper {target}, measured {measured:.1f}")
    assert not misses, "\n".join(misses)


def test_costs_rank_like_the_paper_and_tools_multiply_gpt5s_bill():
    """Mean $ per task (both families) orders the six models as the paper's cost column does,
    in each setting, and GPT-5 with the basic tools costs at least 3x GPT-5 alone (paper: 4.9x)."""
    cells = {key: cal.measure_cell(*key, n=N_COST, seed=0) for key in cal.TARGETS}
    costs = cal.policy_costs(cells)
    for setting in cal.SETTINGS:
        paper = sorted(cal.MODELS, key=lambda m: cal.PAPER_COST[m, setting])
        simulated = sorted(cal.MODELS, key=lambda m: costs[m, setting][0])
        assert simulated == paper, setting
    assert costs["gpt-5", "basic"][0] >= 3 * costs["gpt-5", "none"][0]


def test_family_offsets_raise_difficulties_by_skill():
    offset = {"reading": 1.0, "knowledge": -0.5}
    plain, harder = MultihopFamily(0, {}), MultihopFamily(0, offset)
    task = plain.task(10)
    everything = Evidence()
    everything.add_documents(tuple(h.doc_id for h in task.question.hops))
    for evidence in (Evidence(), everything):
        before, after = (
            task.demands("answer", evidence),
            harder.task(10).demands("answer", evidence),
        )
        assert [c.key for c in after] == [c.key for c in before]
        assert [c.difficulty for c in after] == pytest.approx(
            [c.difficulty + offset.get(c.skill, 0.0) for c in before]
        )
    bundled = default_profiles().difficulty_offsets
    assert dict(ReasoningFamily(0).offset) == bundled.get("reasoning", {})
    assert dict(MultihopFamily(0).offset) == bundled.get("multihop", {})
    assert dict(FunctionCallingFamily(0).offset) == bundled[cal.TAU2_FAMILY]


def test_function_calling_offset_raises_tool_use_difficulty():
    """Every function-calling family (one domain or all) reads the "function_calling" offset."""
    plain = FunctionCallingFamily(0, ("bank",), name="function_calling.bank", difficulty_offset={})
    harder = FunctionCallingFamily(
        0, ("bank",), name="function_calling.bank", difficulty_offset={"tool_use": 0.7}
    )
    for index in range(3):
        (before,), (after,) = (f.task(index).demands("act", Evidence()) for f in (plain, harder))
        assert before.difficulty == plain.task(index).difficulty["tool_use"]
        assert after.difficulty == pytest.approx(before.difficulty + 0.7)
    bundled = default_profiles().difficulty_offsets[cal.TAU2_FAMILY]
    assert dict(FunctionCallingFamily(0, ("bank",), name="function_calling.bank").offset) == bundled


@pytest.mark.parametrize("model", cal.MODELS)
def test_shipped_tool_use_reproduces_tau2(model):
    """ "Model X with the basic tools" on the function-calling family, through the env."""
    cell = (model, "basic", cal.TAU2_FAMILY)
    measured = 100 * cal.measure_cell(*cell, n=N_TAU2, seed=0).accuracy
    assert abs(measured - cal.TAU2_TARGETS[cell]) <= cal.TAU2_TOLERANCE, measured


def test_tool_use_fit_moves_towards_tau2_and_carries_the_others():
    """From tool_use a logit too low, a few secant rounds on a small sample bring GPT-5's τ²
    cell much nearer the paper; merged, the other models keep their order and nothing but
    tool_use moves."""
    profiles = default_profiles()
    gpt5 = profiles.models["gpt-5"]
    low = cal.fitting._with_abilities(
        profiles, "gpt-5", {**gpt5.abilities, "tool_use": gpt5.abilities["tool_use"] - 1.0}
    )
    cell = ("gpt-5", "basic", cal.TAU2_FAMILY)
    before = 100 * cal.measure_cell(*cell, n=40, profiles=low).accuracy
    abilities, after = cal.fit_model(
        "gpt-5", low, 40, 0, 3, 1.0, pins=cal.TAU2_PINS, targets=cal.TAU2_TARGETS
    )
    target = cal.TAU2["gpt-5"]
    assert abs(after["basic", cal.TAU2_FAMILY] - target) < 0.5 * abs(before - target)
    shifted = cal.ToolUseFit(
        abilities={m: profiles.models[m].abilities["tool_use"] + 0.3 for m in cal.MODELS},
        offset=2.0,
        measured={m: cal.TAU2[m] for m in cal.MODELS},
    )
    merged = cal.with_tool_use(cal.shipped_fit(profiles), shifted, profiles)
    assert merged.offsets[cal.TAU2_FAMILY] == {"tool_use": 2.0}
    tool_use = {m: merged.abilities[m]["tool_use"] for m in merged.abilities}
    assert tool_use["gpt-5"] > tool_use["gpt-5-mini"] >= tool_use["qwen2.5-math-7b"]
    for name, model in profiles.models.items():  # nothing but tool_use moves
        assert {s: v for s, v in merged.abilities[name].items() if s != "tool_use"} == {
            s: v for s, v in model.abilities.items() if s != "tool_use"
        }


def test_solo_policies_play_conversations_as_the_model():
    """On a function-calling task the model itself acts every turn (call_expert bound to it);
    "alone" plays the same episodes as "with the basic tools", without billing the wrapper turn."""
    model, options = "qwen3-235b-a22b", {"task_id": "function_calling/0", "episode_seed": 11}
    infos = []
    for make in (alone, with_basic_tools):
        env_kwargs, agent = make(model)
        env = gym.make(
            cal.ENV_IDS[cal.TAU2_FAMILY],
            split="test",
            **cal.family_kwargs(env_kwargs, cal.TAU2_FAMILY),
        )
        infos.append(cal.play_episode(env, agent, options))
    solo, basic = infos
    assert set(basic["ledger"]["calls_by_alias"]) == {f"call_expert@{model}"}
    assert solo["outcome"] == basic["outcome"]
    assert solo["ledger"]["calls"] == basic["ledger"]["calls"]
    assert solo["ledger"]["cost_usd"] < basic["ledger"]["cost_usd"]


def test_writing_the_shipped_values_changes_nothing():
    profiles = default_profiles()
    data = json.loads(cal.profiles_path().read_text())
    same = cal.Fit(
        abilities={m: dict(p.abilities) for m, p in profiles.models.items()},
        offsets={
            f: dict(profiles.difficulty_offsets.get(f, {}))
            for f in (*cal.QA_FAMILIES, cal.TAU2_FAMILY)
        },
        expected={},
        objective=0.0,
    )
    assert cal.fitted_data(same, data) == data
    parse_profiles(data)  # "families" validates against the schema


def test_remap_keeps_other_models_in_place():
    profiles = default_profiles()
    shifted = {m: {s: v + 0.5 for s, v in profiles.models[m].abilities.items()} for m in cal.MODELS}
    abilities = cal.remap(profiles, shifted)
    for name, model in profiles.models.items():
        for skill in cal.SKILLS:
            assert abilities[name][skill] == pytest.approx(model.abilities[skill] + 0.5, abs=1e-3)


def test_fit_moves_a_model_towards_the_paper():
    """From abilities a logit too low, a few secant rounds on a small sample bring GPT-5's four
    cells much nearer the paper, moving only the pinned abilities."""
    profiles = default_profiles()
    gpt5 = profiles.models["gpt-5"]
    low = {s: v - (1.0 if s in cal.FIT_SKILLS else 0.0) for s, v in gpt5.abilities.items()}
    start = cal.fitting._with_abilities(profiles, "gpt-5", low)
    before = {
        c: 100 * cal.measure_cell("gpt-5", *c, n=60, profiles=start).accuracy for c in cal.PINS
    }
    abilities, after = cal.fit_model("gpt-5", start, n=60, seed=0, iterations=3, tolerance=0.5)

    def miss(measured):
        return sum(abs(measured[c] - cal.TARGETS[("gpt-5", *c)]) for c in cal.PINS)

    assert miss(after) < 0.5 * miss(before)
    assert {s: v for s, v in abilities.items() if s not in cal.FIT_SKILLS} == {
        s: v for s, v in low.items() if s not in cal.FIT_SKILLS
    }


def test_a_cell_is_the_same_every_time():
    first = cal.measure_cell("qwen3-8b", "basic", "multihop", n=30, seed=5)
    assert cal.measure_cell("qwen3-8b", "basic", "multihop", n=30, seed=5) == first
    assert cal.measure("qwen3-8b", "basic", "multihop", n=30, seed=5) == first.accuracy
