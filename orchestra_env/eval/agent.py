"""What the evaluator runs: the `Agent` protocol, a registry of agent factories by name, and
`AgentSpec`, a picklable description from which any process can build its own agent.

An agent target is either a registered name (`agent_names()`) or an import path
`"package.module:attr"` naming a callable that returns an agent.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from orchestra_env.agents.prompted import PRESETS as LLM_PRESETS
from orchestra_env.rollout import Agent  # the protocol lives with the loop that plays it


class UnknownAgentError(LookupError):
    """An agent target that is neither a registered name nor an importable `module:attr`."""


@dataclass(frozen=True)
class AgentFactory:
    """One registry entry: how to build an agent.

    `factory` is a callable or an import path `"module:attr"` resolved on first use (so that
    registering built-ins imports nothing). With `needs_env`, the factory is also given
    `env_id=` and `env_kwargs=` of the env under evaluation (e.g. an oracle that replays it).
    `env_kwargs` (a callable or import path, given the agent's kwargs) says what the agent needs
    of the env: its render format, the model billed as the policy, the aliases it calls.
    """

    factory: Callable[..., Agent] | str
    needs_env: bool = False
    env_kwargs: Callable[..., Mapping[str, Any]] | str | None = None

    def env_kwargs_for(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The gym.make kwargs this agent needs, for the agent built with `kwargs`."""
        if self.env_kwargs is None:
            return {}
        needs = _import(self.env_kwargs) if isinstance(self.env_kwargs, str) else self.env_kwargs
        return dict(needs(**kwargs))

    def build(
        self,
        kwargs: Mapping[str, Any],
        env_id: str | None = None,
        env_kwargs: Mapping | None = None,
    ) -> Agent:
        factory = _import(self.factory) if isinstance(self.factory, str) else self.factory
        if self.needs_env:
            if env_id is None:
                raise ValueError("this agent replays the env: build it with env_id=")
            kwargs = {**kwargs, "env_id": env_id, "env_kwargs": dict(env_kwargs or {})}
        agent = factory(**kwargs)
        missing = [a for a in ("name", "reset", "act") if not hasattr(agent, a)]
        if missing:
            raise TypeError(
                f"{self.factory!r} built {type(agent).__name__}, "
                f"which lacks {missing} of the Agent protocol"
            )
        return agent


_REGISTRY: dict[str, AgentFactory] = {}


def register_agent(
    name: str,
    factory: Callable[..., Agent] | str,
    *,
    needs_env: bool = False,
    env_kwargs: Callable[..., Mapping[str, Any]] | str | None = None,
) -> None:
    """Register `factory` (a callable or `"module:attr"`) under `name`; `env_kwargs(**kwargs)`,
    when given, returns the gym.make kwargs the agent needs (the evaluator merges them under
    the user's own).

    Registering the same factory twice is a no-op; a different one under a taken name is an
    error, so that two plugins cannot silently shadow each other.
    """
    entry = AgentFactory(factory, needs_env, env_kwargs)
    if _REGISTRY.get(name, entry) != entry:
        raise ValueError(
            f"agent name {name!r} is already registered to {_REGISTRY[name].factory!r}"
        )
    _REGISTRY[name] = entry


def agent_names() -> list[str]:
    """The registered agent names, sorted."""
    return sorted(_REGISTRY)


def resolve(target: str) -> AgentFactory:
    """The registry entry for a registered name, or an entry for a `module:attr` path."""
    if target in _REGISTRY:
        return _REGISTRY[target]
    if ":" in target:
        return AgentFactory(target)
    raise UnknownAgentError(
        f"unknown agent {target!r}; registered: {', '.join(agent_names()) or 'none'} "
        "(or give an import path 'package.module:Factory')"
    )


def make_agent(
    name: str, *, env_id: str | None = None, env_kwargs: Mapping | None = None, **kwargs: Any
) -> Agent:
    """Build the agent registered as `name` (or at import path `name`) with `kwargs`;
    `env_id`/`env_kwargs` reach only factories registered with `needs_env`."""
    return resolve(name).build(kwargs, env_id, env_kwargs)


@dataclass(frozen=True)
class AgentSpec:
    """A picklable recipe for an agent: `target` (registered name or `module:attr`), the
    keyword arguments its factory takes, and the display `name` written into every record
    (default: the target, followed by the kwargs when there are any, so that two runs of one
    factory with different settings stay apart in a comparison)."""

    target: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        if not self.name:
            settings = ",".join(f"{k}={v}" for k, v in sorted(self.kwargs.items()))
            object.__setattr__(
                self, "name", f"{self.target}({settings})" if settings else self.target
            )

    def factory(self) -> AgentFactory:
        """This spec's registry entry (resolved in the calling process)."""
        return resolve(self.target)

    def env_kwargs(self) -> dict[str, Any]:
        """The gym.make kwargs this agent needs (e.g. Orchestrator-8B's render format)."""
        return resolve(self.target).env_kwargs_for(self.kwargs)

    def build(self, env_id: str | None = None, env_kwargs: Mapping | None = None) -> Agent:
        """Build the agent in whichever process calls this. A name registered at run time
        exists only in the process that registered it: `evaluate` therefore resolves the
        target in the parent and sends workers the factory itself (`factory()`)."""
        return resolve(self.target).build(self.kwargs, env_id, env_kwargs)


def _import(path: str) -> Callable[..., Agent]:
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UnknownAgentError(f"cannot import agent factory {path!r}: {exc}") from exc
    return obj


# -- built-in agents, imported only when built ------------------------------------------------


def _single_model(tier: str = "mid", alone: bool = False) -> Agent:
    """`SingleModel` with a tier by name: strong, mid, cheap or open."""
    from orchestra_env.baselines import routers

    tiers = {
        "strong": routers.STRONG,
        "mid": routers.MID,
        "cheap": routers.CHEAP,
        "open": routers.OPEN,
    }
    if tier not in tiers:
        raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(tiers)}")
    return routers.SingleModel(
        tiers[tier], alone=alone, name=f"{tier}-only" + (" (alone)" if alone else "")
    )


def _oracle(env_id: str, env_kwargs: Mapping) -> Agent:
    """The replaying upper bound, bound to the env under evaluation."""
    from orchestra_env.baselines.routers import Oracle

    return Oracle(env_id, **env_kwargs)


def _solo_agent(policy: str, model: str) -> Agent:
    """A single-model policy of `baselines.single_model` ("alone" or "with_basic_tools")."""
    from orchestra_env.baselines import single_model

    return getattr(single_model, policy)(model)[1]


def _solo_env(policy: str, model: str) -> Mapping[str, Any]:
    """The env kwargs binding every tool to `model` for that policy."""
    from orchestra_env.baselines import single_model

    return getattr(single_model, policy)(model)[0]


def _orchestrator8b(**kwargs: Any) -> Agent:
    from orchestra_env.agents.orchestrator8b import Orchestrator8B

    return Orchestrator8B.load(**kwargs)


def _orchestrator8b_env(**_: Any) -> Mapping[str, Any]:
    from orchestra_env.agents.orchestrator8b import Orchestrator8B

    return Orchestrator8B.env_kwargs


def _llm_baseline(preset: str, **kwargs: Any) -> Agent:
    """A prompt-only LLM baseline preset over its endpoint."""
    from orchestra_env.agents.prompted import make_baseline

    return make_baseline(preset, **kwargs)


def _llm_baseline_env(preset: str, **_: Any) -> Mapping[str, Any]:
    """The preset bills its own tokens at its model's price."""
    return {"policy_model": LLM_PRESETS[preset].profile}


def _llm(**kwargs: Any) -> Agent:
    from orchestra_env.agents.names import make_llm_agent

    return make_llm_agent("llm", **kwargs)


register_agent("random", "orchestra_env.baselines.routers:RandomRouter")
register_agent("evidence-first", "orchestra_env.baselines.routers:EvidenceFirst")
register_agent("cheapest-first", "orchestra_env.baselines.routers:CheapestFirst")
register_agent("single-model", _single_model)
register_agent("oracle", _oracle, needs_env=True)
register_agent("orchestra-mini", "orchestra_env.agents.mini:OrchestraMini")
for _name, _policy in (("alone", "alone"), ("basic-tools", "with_basic_tools")):
    register_agent(_name, partial(_solo_agent, _policy), env_kwargs=partial(_solo_env, _policy))
register_agent("orchestrator-8b", _orchestrator8b, env_kwargs=_orchestrator8b_env)
register_agent("llm", _llm)
for _preset in LLM_PRESETS:  # the paper's prompt-only baselines, named after their models
    register_agent(
        _preset, partial(_llm_baseline, _preset), env_kwargs=partial(_llm_baseline_env, _preset)
    )
