"""Stable-Baselines3 on the classic-RL view of the env: SB3's own checker, then a PPO smoke run."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.wrappers import DiscreteRouting, FeatureObservation

sb3 = pytest.importorskip("stable_baselines3")


def make_env(**kwargs) -> gym.Env:
    return FeatureObservation(DiscreteRouting(gym.make("ToolOrchestra-v0", **kwargs)))


def test_sb3_check_env_passes_without_warnings():
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(make_env(), warn=True)
    sb3_warnings = [w for w in caught if "stable_baselines3" in (w.filename or "")]
    assert not sb3_warnings, [str(w.message) for w in sb3_warnings]


def test_ppo_trains_on_the_wrapped_env_and_finishes_episodes():
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(lambda: make_env(max_turns=6), n_envs=2, seed=0)
    model = PPO("MlpPolicy", vec, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256
    episodes = [info for env in vec.envs for info in env.get_episode_rewards()]
    assert episodes, "256 steps with max_turns=6 must finish episodes"
    assert all(np.isfinite(episodes))
    # The trained policy acts in the env's Discrete route space and the env grades its episode.
    env = make_env(max_turns=6)
    obs, _ = env.reset(seed=1)
    done, info = False, {}
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        assert env.action_space.contains(int(action))
        obs, _, terminated, truncated, info = env.step(int(action))
        done = terminated or truncated
    assert "outcome" in info and "reward_terms" in info
