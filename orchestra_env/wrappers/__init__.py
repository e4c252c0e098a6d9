"""Wrappers over the env: classic-RL views (`routing`: discrete routes and numeric features),
the chat prompt an LLM reads (`chat`), and the group-normalised reward for GRPO (`grouped`)."""

from orchestra_env.wrappers.chat import ChatPrompt
from orchestra_env.wrappers.grouped import GroupedPreferenceReward
from orchestra_env.wrappers.routing import (
    DiscreteRouting,
    FeatureLayout,
    FeatureObservation,
    observation_features,
    observation_mask,
    routes,
)

__all__ = [
    "ChatPrompt",
    "GroupedPreferenceReward",
    "DiscreteRouting",
    "FeatureLayout",
    "FeatureObservation",
    "observation_features",
    "observation_mask",
    "routes",
]
