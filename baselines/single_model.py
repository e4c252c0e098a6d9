"""The single-model policies the paper reports and the simulator is calibrated against.

* `alone(model)` — the model answers directly: one `answer` call, no tools.
* `with_basic_tools(model)` — the model works the problem itself with the basic tools: it reads
  every turn's growing conversation (charged as the policy at the model's prices), searches the
  local corpus three times and the web twice (writing each query itself), writes and runs one
  program, then answers. The plan is fixed, so the policy is exactly defined and repeatable.

Each returns (env kwargs, agent): the env kwargs bind aliases to the model, so any profiled
model — not only those in the paper's catalogue — can be measured.
"""

from __future__ import annotations

from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.models.profiles import Profiles, load_profiles

BASIC_PLAN = (
    ("search", {"source": "local"}),
    ("search", {"source": "local"}),
    ("search", {"source": "local"}),
    ("search", {"source": "web"}),
    ("search", {"source": "web"}),
    ("enhance_reasoning", {}),
    ("answer", {}),
)


def solo_profiles(model: str, profiles: Profiles | None = None) -> Profiles:
    """Profiles with aliases `<tool>@<model>` binding every QA tool to `model`."""
    profiles = profiles or load_profiles()
    return profiles.with_aliases(
        {f"{tool}@{model}": (tool, model) for tool in ("search", "enhance_reasoning", "answer")}
    )


def alone(model: str, profiles: Profiles | None = None) -> tuple[dict, FixedPlan]:
    env_kwargs = {
        "profiles": solo_profiles(model, profiles),
        "tools": [f"search@{model}", f"enhance_reasoning@{model}", f"answer@{model}"],
        "policy_model": None,  # a direct answer: the answer call is the model's only generation
    }
    return env_kwargs, FixedPlan([("answer", {"model": f"answer@{model}"})], name=f"{model} alone")


def with_basic_tools(model: str, profiles: Profiles | None = None) -> tuple[dict, FixedPlan]:
    env_kwargs = {
        "profiles": solo_profiles(model, profiles),
        "tools": [f"search@{model}", f"enhance_reasoning@{model}", f"answer@{model}"],
        "policy_model": model,  # the model is the agent: it reads every turn
    }
    plan = [(tool, {"model": f"{tool}@{model}", **args}) for tool, args in BASIC_PLAN]
    return env_kwargs, FixedPlan(plan, name=f"{model} + basic tools")
