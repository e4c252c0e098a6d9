"""Classic-RL wrappers: Discrete routes, numeric features, check_env on the wrapped env."""

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

from orchestra_env.wrappers import DiscreteRouting, FeatureObservation


def make(**kwargs):
    return FeatureObservation(DiscreteRouting(gym.make("ToolOrchestra-v0", **kwargs)))


def test_check_env_on_wrapped():
    check_env(make().unwrapped)
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
        _, reward, *_, step_info = env.step(int(rng.choice(valid)))
        assert "error" not in step_info
        if len(invalid) and not step_info.get("outcome", 0) and not env.unwrapped._done:
            _, reward, *_, step_info = env.step(int(rng.choice(invalid)))
            assert "error" in step_info and reward < 0


def test_features_reflect_spending_and_evidence_but_not_the_answer():
    env = make(preference="accuracy")
    obs0, _ = env.reset(seed=3)
    search = next(i for i, (t, a) in enumerate(env.get_wrapper_attr("routes")) if t == "search")
    obs1, *_ = env.step(search)
    assert obs1.shape == obs0.shape and not np.array_equal(obs0, obs1)
    # Same visible observation -> same features, whatever the hidden task is.
    wrapper = env
    o, _ = env.unwrapped.reset(seed=3)
    assert np.array_equal(wrapper.observation(o), obs0)
