"""orchestra-env: Gymnasium environments for training LLMs to orchestrate priced tools.

Importing the package registers the env ids; `gym.make("orchestra_env:ToolOrchestra-v0")`
imports it for you.
"""

from orchestra_env.actions import Message, ParseError, ToolCall, parse_action
from orchestra_env.env import OrchestraEnv
from orchestra_env.ledger import Charge, Ledger
from orchestra_env.registry import ENV_FAMILIES, register_envs
from orchestra_env.rewards import Preference, episode_reward, group_normalized

__version__ = "0.1.0"

register_envs()

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
