"""orchestra-env: Gymnasium environments for training LLMs to orchestrate priced tools.

Importing the package registers the env ids; `gym.make("orchestra_env:ToolOrchestra-v0")`
imports it for you.
"""

from gymnasium.envs.registration import register, registry

from orchestra_env.actions import Message, ParseError, ToolCall, parse_action
from orchestra_env.domain import bundled_domains as _domain_names
from orchestra_env.env import OrchestraEnv
from orchestra_env.ledger import Charge, Ledger
from orchestra_env.rewards import Preference, episode_reward, group_normalized

__version__ = "0.1.0"

# env id -> the task families (and weights) it draws from. ToolOrchestra-v0 mixes them all.
ENV_FAMILIES = {
    "ToolOrchestra-v0": {"multihop": 1.0, "reasoning": 1.0, "function_calling": 1.0},
    "ToolOrchestra-Multihop-v0": {"multihop": 1.0},
    "ToolOrchestra-Reasoning-v0": {"reasoning": 1.0},
    "ToolOrchestra-FunctionCalling-v0": {"function_calling": 1.0},
    **{
        f"ToolOrchestra-FunctionCalling-{d.title()}-v0": {f"function_calling.{d}": 1.0}
        for d in _domain_names()
    },
}

for _id, _families in ENV_FAMILIES.items():
    if _id not in registry:
        register(
            id=_id, entry_point="orchestra_env.env:OrchestraEnv", kwargs={"families": _families}
        )

__all__ = [
    "ENV_FAMILIES",
    "Charge",
    "Ledger",
    "Message",
    "OrchestraEnv",
    "ParseError",
    "Preference",
    "ToolCall",
    "episode_reward",
    "group_normalized",
    "parse_action",
]
