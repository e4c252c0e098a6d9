"""The env ids: which task families each id draws from, registered with Gymnasium.

`orchestra_env/__init__` calls `register_envs()`, so importing the package (or anything in it)
registers every id; `gym.make("orchestra_env:ToolOrchestra-v0")` imports it for you.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from orchestra_env.domain import bundled_domains

# env id -> the task families (and weights) it draws from. ToolOrchestra-v0 mixes them all.
ENV_FAMILIES: dict[str, dict[str, float]] = {
    "ToolOrchestra-v0": {"multihop": 1.0, "reasoning": 1.0, "function_calling": 1.0},
    "ToolOrchestra-Multihop-v0": {"multihop": 1.0},
    "ToolOrchestra-Reasoning-v0": {"reasoning": 1.0},
    "ToolOrchestra-FunctionCalling-v0": {"function_calling": 1.0},
    **{
        f"ToolOrchestra-FunctionCalling-{d.title()}-v0": {f"function_calling.{d}": 1.0}
        for d in bundled_domains()
    },
}


def register_envs() -> None:
    """Register every id of `ENV_FAMILIES` with Gymnasium (ids already registered are kept)."""
    for env_id, families in ENV_FAMILIES.items():
        if env_id not in registry:
            register(
                id=env_id,
                entry_point="orchestra_env.env:OrchestraEnv",
                kwargs={"families": families},
            )
