"""Classic-RL wrappers: Discrete routes, numeric features, check_env on the wrapped env."""

import json
import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from orchestra_env.observation import menu
from orchestra_env.wrappers import DiscreteRouting, FeatureObservation
from orchestra_env.wrappers.routing import HASH_DIM, ROUTE_DIM, ROUTE_TOOLS


def make(**kwargs):
    return FeatureObservation(DiscreteRouting(gym.make("ToolOrchestra-v0", **kwargs)))


@pytest.mark.filterwarnings("ignore:.*minimum value is -infinity:UserWarning")  # features
def test_check_env_on_wrapped():
    check_env(make())  # the wrapped env itself, not the env underneath
    env = make(max_turns=6)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["action_mask"].dtype == bool and info["action_mask"].any()


def test_masked_routes_are_valid_and_unmasked_are_penalised():
    env = make(tool_subsample=0.5, max_format_errors=100)
    rng = np.random.default_rng(0)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        mask = info["action_mask"]
        valid, invalid = np.flatnonzero(mask), np.flatnonzero(~mask)
        assert len(valid) and len(invalid)  # another family's tools are never offered
        # The invalid route first, while the episode surely goes on; then a valid one.
        _, reward, terminated, truncated, step_info = env.step(int(rng.choice(invalid)))
        assert "error" in step_info and reward < 0 and not (terminated or truncated)
        np.testing.assert_array_equal(step_info["action_mask"], mask)  # nothing new offered
        _, _, *_, step_info = env.step(int(rng.choice(valid)))
        assert "error" not in step_info


def test_features_reflect_spending_and_evidence_but_not_the_answer():
    env = make(preference="accuracy")
    obs0, _ = env.reset(seed=3)
    search = next(i for i, (t, a) in enumerate(env.get_wrapper_attr("routes")) if t == "search")
    obs1, *_ = env.step(search)
    assert obs1.shape == obs0.shape and not np.array_equal(obs0, obs1)
    spent, searches, turns = HASH_DIM + 8, HASH_DIM + 1, HASH_DIM
    assert obs0[spent] == 0 < obs1[spent]  # spending
    assert obs0[searches] == 0 < obs1[searches] and obs0[turns] == 0 < obs1[turns]  # evidence
    # Not the answer: the features are a function of what a policy sees alone (the observation
    # and the prices of the reset's info), so a wrapper whose env holds another task of the
    # family (another hidden answer, the same tools and prices) computes the same vector.
    o, info = env.unwrapped.reset(seed=3)
    family = [t for t in env.unwrapped.task_ids("train", 50) if t.split("/")[0] == info["family"]]
    task_id = next(t for t in family if t != info["task_id"])
    other = make(preference="accuracy")
    other.reset(seed=3, options={"task_id": task_id})
    assert np.array_equal(other.observation(o), obs0)


def test_route_features_read_the_tool_descriptions_under_any_randomisation():
    # Under the paper's randomisation an alias names another model each episode: a route's
    # block carries the prices the descriptions print for that episode, so two aliases backed
    # by the same model and price read alike whichever names they wear.
    env = make(randomize="paper", price_jitter=0.5)
    layout = env.layout
    for seed in range(20):
        vector, _ = env.reset(seed=seed)
        obs, info = env.unwrapped.reset(seed=seed)  # the same episode, as a text policy reads it
        text = " ".join(t["function"]["description"] for t in json.loads(obs["tools"]))
        blocks = vector[layout.state_size :].reshape(len(layout.routes), ROUTE_DIM)
        for block, (tool, args) in zip(blocks, layout.routes, strict=True):
            alias = next(iter(args.values()))
            row = re.search(rf"\| {alias} \|[^|]*\|[^|]*\| ([\d.e-]+) / ([\d.e-]+) \|", text)
            if row is None:  # not offered this episode: an empty block
                assert not block[:8].any()
                continue
            assert alias in info["prices"] and block[ROUTE_TOOLS.index(tool)] == 1.0
            np.testing.assert_array_equal(
                block[5:7], np.log1p(tuple(map(float, row.groups()))).astype(np.float32)
            )


def test_route_features_count_the_calls_to_each_alias():
    env = make(preference="accuracy", families="multihop")
    layout = env.layout
    _, info = env.reset(seed=0)
    search = next(
        i for i, ok in enumerate(info["action_mask"]) if ok and layout.routes[i][0] == "search"
    )
    obs, *_ = env.step(search)
    blocks = obs[layout.state_size :].reshape(len(layout.routes), ROUTE_DIM)
    called = layout.route_aliases[search]
    for r, alias in enumerate(layout.route_aliases):
        count, last = blocks[r, -4:-2]
        assert (count, last) == ((1 / 3, 1.0) if alias == called else (0.0, 0.0))


def test_route_features_count_the_calls_to_each_model_under_any_alias():
    # By default GPT-5 serves search-1, reasoner-1 and answer-1: after GPT-5 writes a program,
    # answer-1 reads as "the model that just spoke", answer-2 (GPT-5-mini) does not.
    env = make(preference="accuracy", families="multihop")
    layout = env.layout
    raw, _ = env.unwrapped.reset(seed=0)  # the same episode, as a text policy reads it
    model = {a: e.model for a, e in menu(raw).items()}
    env.reset(seed=0)
    reasoner = layout.routes.index(("enhance_reasoning", {"model": "reasoner-1"}))
    obs, *_ = env.step(reasoner)
    blocks = obs[layout.state_size :].reshape(len(layout.routes), ROUTE_DIM)
    spoke = model["reasoner-1"]
    for r, (tool, args) in enumerate(layout.routes):
        alias = layout.route_aliases[r]
        offered = blocks[r, ROUTE_TOOLS.index(tool)] == 1.0
        same_model = offered and model.get(alias) == spoke
        assert tuple(blocks[r, -2:]) == ((1 / 3, 1.0) if same_model else (0.0, 0.0)), args
    answer = {
        a: blocks[layout.routes.index(("answer", {"model": a})), -1]
        for a in ("answer-1", "answer-2")
    }
    assert answer["answer-1"] == 1.0 and answer["answer-2"] == 0.0
