"""Ray: evaluation and RL rollouts on actors, for when one machine is not enough.

- `evaluate(..., workers=N, executor="ray")` plays the evaluator's units on N actors
  (`RayEvalPool`); the calling process stays the only writer of the run file, so resuming,
  fsync and no-duplicates work as with local processes.
- `RolloutPool` keeps M actors, each with its own env and policy, and returns finished
  `Rollout`s for (task_id, seed) units: what an RL trainer consumes.

Both connect as `ray.init()` does: to the cluster at `RAY_ADDRESS`, else to one started on this
machine with `ray start --head`, else to a fresh local Ray. To pass anything else (a
`runtime_env`, a namespace), call `ray.init(...)` first; an initialized Ray is reused.
Every node needs orchestra-env installed. An actor lost with its process or node is rebuilt
and its units replayed (they are deterministic). Ray itself is imported on first use only:
`pip install -e ".[ray]"`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import gymnasium as gym

from orchestra_env.eval.agent import Agent, AgentFactory, AgentSpec
from orchestra_env.eval.play import EpisodeError, PlayContext, Result, Unit, play_unit, unit_seed
from orchestra_env.eval.records import jsonable
from orchestra_env.extras import install_hint
from orchestra_env.rollout import Rollout, rollout

RAY_MISSING = f"Ray is not installed; install the extra: {install_hint('ray')}"
# An actor whose process or node is lost is rebuilt and its unfinished units replayed (they
# are deterministic, so a replay returns what the lost run would have).
DEFAULT_ACTOR_OPTIONS: Mapping[str, Any] = {"num_cpus": 1, "max_restarts": 3, "max_task_retries": 3}


class RayMissing(ImportError):
    """Ray is not installed; the message names the extra that brings it."""


def require_ray() -> ModuleType:
    """The `ray` module, or `RayMissing`."""
    try:
        import ray
    except ImportError as exc:
        raise RayMissing(RAY_MISSING) from exc
    return ray


def connect() -> ModuleType:
    """`ray`, initialized: an existing connection is kept, else `ray.init()` (which honours
    `RAY_ADDRESS` and a local `ray start` cluster before starting a fresh local Ray)."""
    ray = require_ray()
    if not ray.is_initialized():
        ray.init()
    return ray


# -- a fleet of actors --------------------------------------------------------------------------


class _ActorFleet:
    """`n` Ray actors of one class. `map_unordered` feeds them items, at most `depth` in
    flight per actor, and yields (index, result) as results finish: a fast actor takes more,
    and an actor the cluster has no room for yet gets nothing until it is up."""

    def __init__(
        self,
        actor_cls: type,
        args: tuple,
        n: int,
        options: Mapping[str, Any] | None,
        depth: int = 2,
    ):
        ray = connect()
        remote_cls = ray.remote(actor_cls).options(**{**DEFAULT_ACTOR_OPTIONS, **(options or {})})
        self._ray = ray
        self._actors = [remote_cls.remote(*args) for _ in range(n)]
        self._depth = depth

    def __enter__(self) -> _ActorFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._actors)

    def close(self) -> None:
        """Kill the actors; whatever they were playing is abandoned."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []

    def map_unordered(self, method: str, items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        ray, todo = self._ray, deque(enumerate(items))
        # ref -> (item index, actor); index None marks an actor's readiness probe.
        in_flight: dict[Any, tuple[int | None, Any]] = {
            a.ready.remote(): (None, a) for a in self._actors
        }
        remaining = len(todo)
        while remaining:
            [ref], _ = ray.wait(list(in_flight), num_returns=1)
            index, actor = in_flight.pop(ref)
            result = ray.get(ref)  # raises if the actor died or could not be built
            refill = self._depth if index is None else 1
            for _ in range(min(refill, len(todo))):
                i, item = todo.popleft()
                in_flight[getattr(actor, method).remote(item)] = (i, actor)
            if index is not None:
                remaining -= 1
                yield index, result


# -- evaluation ---------------------------------------------------------------------------------


class _EvalActor:
    """An evaluation worker: builds the env and the agent once, then plays units."""

    def __init__(self, context: PlayContext):
        self._context = context
        self._env = context.build_env()
        self._agent = context.build_agent()

    def ready(self) -> bool:
        return True

    def play(self, unit: Unit) -> Result:
        return play_unit(self._env, self._agent, unit, self._context)


class RayEvalPool:
    """The evaluator's workers as Ray actors (`evaluate(..., executor="ray")` uses it): units
    go out, records come back in finishing order to the one process that writes them."""

    def __init__(
        self, context: PlayContext, workers: int, actor_options: Mapping[str, Any] | None = None
    ):
        self._fleet = _ActorFleet(_EvalActor, (context,), workers, actor_options)

    def __enter__(self) -> RayEvalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fleet.close()  # unfinished units are abandoned: a resumed run plays them

    def play(self, units: Sequence[Unit]) -> Iterator[Result]:
        ray = require_ray()
        try:
            for _, result in self._fleet.map_unordered("play", units):
                yield result
        except ray.exceptions.RayActorError as exc:
            raise EpisodeError(
                "a Ray actor could not go on; records finished so far are saved, re-run to "
                f"resume:\n{exc}"
            ) from None


# -- rollouts -----------------------------------------------------------------------------------

RolloutUnit = tuple[str | None, int]  # (task_id, or None to let the env draw one; reset seed)
# The policy to play with: a version and, past version 0, [ref to its _PolicyRecipe] (in a
# list, so that Ray hands the actor the ref and it fetches the recipe only on a new version).
PolicyVersion = tuple[int, list | None]
PolicySource = str | AgentSpec | Agent | Callable[..., Agent]


def play_episode(env: gym.Env, agent: Agent, task_id: str | None, seed: int) -> Rollout:
    """Play one episode to its end: `reset(seed=seed)` on `task_id` (None: the env draws one
    from the seed), the agent acting each turn; observations kept, the last info as JSON data
    (outcome, ledger, reward_terms, grading, ...) so that it travels between processes."""
    options = {"task_id": task_id} if task_id is not None else {}
    played = rollout(env, agent, seed=seed, options=options, keep_observations=True)
    return replace(
        played,
        task_id=str(played.task_id),
        info=jsonable(played.info),
        reset_info=jsonable(played.reset_info),
    )


@dataclass
class FunctionPolicy:
    """An `Agent` from a plain function `observation -> action` (no state between turns)."""

    fn: Callable[[dict], str]
    name: str = "function"

    def reset(self, observation: dict, info: dict) -> None:
        pass

    def act(self, observation: dict) -> str:
        return self.fn(observation)


@dataclass(frozen=True)
class _PolicyRecipe:
    """How an actor builds its policy: a factory and its kwargs (resolved in the driver, so
    agent names registered at run time work on the cluster too)."""

    factory: AgentFactory
    kwargs: Mapping[str, Any]

    @classmethod
    def of(cls, policy: PolicySource, kwargs: Mapping[str, Any] | None) -> _PolicyRecipe:
        if isinstance(policy, str):
            policy = AgentSpec(policy, dict(kwargs or {}))
        if isinstance(policy, AgentSpec):
            return cls(policy.factory(), dict(policy.kwargs))
        if not isinstance(policy, type) and isinstance(policy, Agent):
            return cls(AgentFactory(_Given(policy)), {})  # each actor gets its own copy
        if callable(policy):
            return cls(AgentFactory(policy), dict(kwargs or {}))
        raise TypeError(
            f"policy must be an agent name, an AgentSpec, an Agent or a factory of one; got "
            f"{type(policy).__name__} (wrap an observation -> action function in FunctionPolicy)"
        )

    def env_kwargs(self) -> dict[str, Any]:
        """The gym.make kwargs this policy needs (e.g. Orchestrator-8B's render format)."""
        return self.factory.env_kwargs_for(self.kwargs)

    def build(self, env_id: str, env_kwargs: Mapping[str, Any]) -> Agent:
        return self.factory.build(self.kwargs, env_id, env_kwargs)


@dataclass(frozen=True)
class _Given:
    """A factory that returns one given agent (the actor's own unpickled copy)."""

    agent: Agent

    def __call__(self) -> Agent:
        return self.agent


class _RolloutActor:
    """A rollout worker: one env and one policy, playing batches of units into `Rollout`s.
    Each batch comes with the policy version to play it with; a newer one is fetched and built
    first (so an actor rebuilt after a crash, which starts at version 0, catches up)."""

    def __init__(self, env_id: str, env_kwargs: Mapping[str, Any], recipe: _PolicyRecipe):
        self._env_id, self._env_kwargs = env_id, dict(env_kwargs)
        self._env = gym.make(env_id, **self._env_kwargs)
        self._agent = recipe.build(env_id, self._env_kwargs)
        self._version = 0

    def ready(self) -> bool:
        return True

    def play(self, job: tuple[list[RolloutUnit], PolicyVersion]) -> list[Rollout]:
        units, (version, recipe_ref) = job
        if version != self._version:
            recipe = require_ray().get(recipe_ref[0])
            self._agent = recipe.build(self._env_id, self._env_kwargs)
            self._version = version
        return [play_episode(self._env, self._agent, *unit) for unit in units]


class RolloutPool:
    """M Ray actors, each with its own env (`env_id`, `env_kwargs`) and policy, that play
    (task_id, seed) units to the end and return `Rollout`s.

    An episode depends only on its unit (reset seed and task) and the policy, never on which
    actor played it or how many there are, as long as the policy draws its randomness from
    the episode (`info["episode_seed"]` at reset, as the bundled agents do).

    `policy`: a registered agent name or `module:Factory` path (with `policy_kwargs`), an
    `AgentSpec`, an `Agent` (each actor gets a copy), or a factory returning one. A plain
    `observation -> action` function goes in `FunctionPolicy`. `actor_options` go to Ray's
    `.options()` over `DEFAULT_ACTOR_OPTIONS` (e.g. `{"num_gpus": 1}` for a policy on a GPU).
    `batch_size` units go to an actor per remote call: more amortise Ray's per-call cost
    when episodes are cheap (a router, the simulated experts), fewer balance the load better.
    """

    def __init__(
        self,
        env_id: str,
        policy: PolicySource,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        policy_kwargs: Mapping[str, Any] | None = None,
        actors: int = 1,
        actor_options: Mapping[str, Any] | None = None,
        batch_size: int = 1,
    ):
        if actors < 1:
            raise ValueError(f"actors must be at least 1, got {actors}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        recipe = _PolicyRecipe.of(policy, policy_kwargs)
        env_kwargs = {**recipe.env_kwargs(), **(env_kwargs or {})}  # the policy's needs, then yours
        actor_args = (env_id, env_kwargs, recipe)
        self._fleet = _ActorFleet(_RolloutActor, actor_args, actors, actor_options)
        self._policy: PolicyVersion = (0, None)

    def __enter__(self) -> RolloutPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def actors(self) -> int:
        return len(self._fleet)

    def run(self, units: Iterable[RolloutUnit]) -> list[Rollout]:
        """The episodes of `units`, in the order of `units`."""
        jobs = self._jobs(units)
        batches: list[list[Rollout]] = [[] for _ in jobs]
        for index, episodes in self._fleet.map_unordered("play", jobs):
            batches[index] = episodes
        return [episode for batch in batches for episode in batch]

    def stream(self, units: Iterable[RolloutUnit]) -> Iterator[Rollout]:
        """The episodes of `units` as they finish (for a trainer that consumes as it goes)."""
        for _, episodes in self._fleet.map_unordered("play", self._jobs(units)):
            yield from episodes

    def sample(self, n: int, *, seed: int = 0) -> list[Rollout]:
        """`n` episodes on tasks the env draws (from its `split`), with reset seeds derived
        from `seed`: the same `seed` gives the same episodes."""
        return self.run(sample_units(n, seed=seed))

    def update_policy(
        self, policy: PolicySource, policy_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        """Play every later unit with this policy (e.g. a new checkpoint); each actor builds
        it once, before its next unit."""
        recipe_ref = require_ray().put(_PolicyRecipe.of(policy, policy_kwargs))
        self._policy = (self._policy[0] + 1, [recipe_ref])

    def close(self) -> None:
        """Stop the actors."""
        self._fleet.close()

    def _jobs(self, units: Iterable[RolloutUnit]) -> list[tuple[list[RolloutUnit], PolicyVersion]]:
        units = [tuple(unit) for unit in units]
        size = self.batch_size
        return [(units[i : i + size], self._policy) for i in range(0, len(units), size)]


def sample_units(n: int, *, seed: int = 0) -> list[RolloutUnit]:
    """`n` units whose task the env draws from the reset seed; seeds are hashes of
    (`seed`, index), as the evaluator derives its own."""
    return [(None, unit_seed(seed, "sample", i)) for i in range(n)]


def group_units(task_ids: Iterable[str], group_size: int, *, seed: int = 0) -> list[RolloutUnit]:
    """`group_size` units per task with distinct seeds: the groups of GRPO."""
    return [(t, unit_seed(seed, t, k)) for t in task_ids for k in range(group_size)]
