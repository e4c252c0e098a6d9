"""Wrappers: classic-RL views of the env (Discrete routes, numeric features)."""

from orchestra_env.wrappers.routing import DiscreteRouting, FeatureObservation, routes

__all__ = ["DiscreteRouting", "FeatureObservation", "routes"]
