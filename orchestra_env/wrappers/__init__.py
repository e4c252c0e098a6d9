"""Wrappers: classic-RL views of the env (Discrete routes, numeric features)."""

from orchestra_env.wrappers.chat import ChatPrompt
from orchestra_env.wrappers.grouped import GroupedPreferenceReward
from orchestra_env.wrappers.routing import (
    DiscreteRouting,
    FeatureObservation,
    feature_size,
    observation_features,
    observation_mask,
    routes,
)

__all__ = [
    "ChatPrompt",
    "GroupedPreferenceReward",
    "DiscreteRouting",
    "FeatureObservation",
    "feature_size",
    "observation_features",
    "observation_mask",
    "routes",
]
