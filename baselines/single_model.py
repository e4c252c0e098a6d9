"""The single-model policies the paper reports and the simulator is calibrated against.

* `alone(model)` — the model answers directly: one `answer` call, no tools.
* `with_basic_tools(model)` — the model works the problem itself with the basic tools: it reads
  every turn's growing conversation (charged as the policy at the model's prices), searches the
  local corpus three times and the web twice (writing each query itself), writes and runs one
  program, then answers. The plan is fixed, so the policy is exactly defined and repeatable.

On a conversation (function calling, tau2-like) both policies are the model acting as the agent
itself: every turn it calls `call_expert` with the alias `call_expert@<model>`, so the model
writes each reply to the user and each domain call. τ² has no "none" row: `alone` plays the same
episodes as `with_basic_tools` (same outcomes), but without billing the wrapper turn (the model's
only generations are its `call_expert` steps); `with_basic_tools` also bills the model for
reading the conversation each turn, as it does on question answering.

Each returns (env kwargs, agent): the env kwargs bind aliases `<tool>@<model>` to the model and
offer them, so any profiled model — not only those in the paper's catalogue — can be measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.models.profiles import Profiles, load_profiles
from orchestra_env.observation import offered, tool_call

SOLO_TOOLS = ("search", "enhance_reasoning", "answer", "call_expert")
BASIC_PLAN = (
    ("search", {"source": "local"}),
    ("search", {"source": "local"}),
    ("search", {"source": "local"}),
    ("search", {"source": "web"}),
    ("search", {"source": "web"}),
    ("enhance_reasoning", {}),
    ("answer", {}),
)


@dataclass
class SoloPlan(FixedPlan):
    """`FixedPlan` on question answering; on a conversation (`call_expert` offered) the model
    itself takes every turn, as `call_expert` with the alias `expert` bound to it."""

    expert: str = ""

    def act(self, observation: dict) -> str:
        if "call_expert" in offered(observation):
            return tool_call("call_expert", {"expert": self.expert})
        return super().act(observation)


def solo_aliases(model: str) -> list[str]:
    """The aliases `<tool>@<model>` of every model-backed tool."""
    return [f"{tool}@{model}" for tool in SOLO_TOOLS]


def solo_profiles(model: str, profiles: Profiles | None = None) -> Profiles:
    """Profiles with aliases `<tool>@<model>` binding every model-backed tool (search,
    enhance_reasoning, answer, call_expert) to `model`."""
    profiles = profiles or load_profiles()
    return profiles.with_aliases({f"{tool}@{model}": (tool, model) for tool in SOLO_TOOLS})


def alone(model: str, profiles: Profiles | None = None) -> tuple[dict, SoloPlan]:
    """The model answers directly (one `answer` call); on conversations it acts every turn."""
    env_kwargs = {
        "profiles": solo_profiles(model, profiles),
        "tools": solo_aliases(model),
        "policy_model": None,  # a direct answer: the answer call is the model's only generation
    }
    plan = [("answer", {"model": f"answer@{model}"})]
    return env_kwargs, SoloPlan(plan, name=f"{model} alone", expert=f"call_expert@{model}")


def with_basic_tools(model: str, profiles: Profiles | None = None) -> tuple[dict, SoloPlan]:
    """The model with the basic tools (`BASIC_PLAN`); on conversations it acts every turn."""
    env_kwargs = {
        "profiles": solo_profiles(model, profiles),
        "tools": solo_aliases(model),
        "policy_model": model,  # the model is the agent: it reads every turn
    }
    plan = [(tool, {"model": f"{tool}@{model}", **args}) for tool, args in BASIC_PLAN]
    return env_kwargs, SoloPlan(plan, name=f"{model} + basic tools", expert=f"call_expert@{model}")
