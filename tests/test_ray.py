"""Ray: evaluation on actors gives the records of an in-process run, resumes without
duplicates, and `RolloutPool` episodes do not depend on the number of actors.

One small local Ray (2 CPUs, no dashboard) serves the whole module; skipped without ray."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections import Counter
from pathlib import Path

import gymnasium as gym
import pytest
from rich.console import Console

from orchestra_env.eval import AgentSpec, EpisodeError, register_agent
from orchestra_env.eval.cli import add_eval_commands
from orchestra_env.integrations.ray import (
    RAY_MISSING,
    FunctionPolicy,
    Rollout,
    RolloutPool,
    group_units,
    play_episode,
    require_ray,
    sample_units,
)
from tests.test_eval_runner import FAKE_ENV, ROOT, FakeAgent, episodes_of, run


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    # Actors import tests.test_eval_runner (the fake env and agents): the local Ray's workers
    # inherit this process's environment, so put the repository on their path.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", path)
        env.delenv("RAY_ADDRESS", raising=False)  # always a private local Ray, never a cluster
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def unit_rows(path: Path) -> list[tuple]:
    """Per unit: what must not depend on where it ran."""
    return [
        (r["task_id"], r["trial"], r["outcome"], r["reward"], r["cost_usd"])
        for r in episodes_of(path)
    ]


# -- evaluation -----------------------------------------------------------------------------------


def test_ray_evaluation_gives_the_records_of_an_in_process_run(ray_cluster, tmp_path):
    inline = run(tmp_path / "inline.jsonl", episodes=8)
    on_ray = run(tmp_path / "ray.jsonl", episodes=8, workers=2, executor="ray")
    assert len(unit_rows(on_ray)) == 16
    assert unit_rows(on_ray) == unit_rows(inline)
    assert episodes_of(on_ray) == episodes_of(inline)  # every field, not only those


class GatedAgent(FakeAgent):
    """`FakeAgent("cheap")` that fails every episode after its second while `gate` exists."""

    def __init__(self, gate: str):
        super().__init__("cheap")
        self.gate = Path(gate)

    def reset(self, observation: dict, info: dict) -> None:
        super().reset(observation, info)
        if self.episodes > 2 and self.gate.exists():
            raise RuntimeError("gate closed")


register_agent("gated", GatedAgent)  # by reference: actors import this module, hence the env


def test_a_partial_ray_run_resumes_without_duplicates(ray_cluster, tmp_path):
    out, gate = tmp_path / "r.jsonl", tmp_path / "gate"
    gate.touch()
    gated = AgentSpec("gated", {"gate": str(gate)}, name="fake")
    with pytest.raises(EpisodeError, match="more than max_errors=0"):  # stops mid-run
        run(out, spec=gated, workers=2, executor="ray", max_errors=0)
    partial = episodes_of(out)
    # Some units were written before the error stopped the run, the rest abandoned; how many
    # landed first depends on which actor's result the driver reads first (1 in a loaded run).
    assert 1 <= len(partial) < 12
    gate.unlink()
    run(out, spec=gated, workers=2, executor="ray", max_errors=0)
    resumed = episodes_of(out)
    assert len(resumed) == len({(r["task_id"], r["trial"]) for r in resumed}) == 12
    assert all(r in resumed for r in partial)
    assert resumed == episodes_of(run(tmp_path / "ref.jsonl", spec=AgentSpec("fake", name="fake")))
    before = out.read_bytes()
    run(out, spec=gated, workers=2, executor="ray")  # all done: nothing to play or write
    assert out.read_bytes() == before


def test_an_actor_that_cannot_build_its_agent_stops_the_run(ray_cluster, tmp_path):
    with pytest.raises(EpisodeError, match=r"(?s)Ray actor could not go on.*bogus"):
        run(
            tmp_path / "r.jsonl",
            episodes=2,
            trials=1,
            workers=1,
            executor="ray",
            spec=AgentSpec("fake", {"bogus": 1}),
        )


def test_cli_executor_flag_reaches_evaluate(monkeypatch, tmp_path):
    import orchestra_env.eval.cli as cli

    seen = {}
    monkeypatch.setattr(
        cli, "evaluate", lambda *a, **kw: seen.update(kw) or run(tmp_path / "r.jsonl")
    )
    parser = argparse.ArgumentParser()
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    argv = ["eval", "--agent", "fake", "--env", FAKE_ENV, "--workers", "8", "--out", "x.jsonl"]
    console = Console(record=True, width=200, file=io.StringIO())
    for extra, executor in (([], "process"), (["--executor", "ray"], "ray")):
        args = parser.parse_args([*argv, *extra])
        assert args.func(args, console) == 0
        assert (seen["executor"], seen["workers"]) == (executor, 8)
    with pytest.raises(SystemExit):
        parser.parse_args([*argv, "--executor", "dask"])


# -- without ray, or with a bad executor ----------------------------------------------------------


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[ray\]"'):
        require_ray()
    with pytest.raises(ImportError, match=r"\.\[ray\]"):
        run(tmp_path / "r.jsonl", executor="ray")
    assert not (tmp_path / "r.jsonl").exists()  # refused before the run file is created
    parser = argparse.ArgumentParser()
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "eval",
            "--agent",
            "fake",
            "--env",
            FAKE_ENV,
            "--executor",
            "ray",
            "--out",
            str(tmp_path / "r.jsonl"),
            "--no-progress",
        ]
    )
    console = Console(record=True, width=200, file=io.StringIO())
    assert args.func(args, console) == 2
    assert RAY_MISSING in console.export_text()


def test_unknown_executor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="executor must be one of process, ray"):
        run(tmp_path / "r.jsonl", executor="dask")


# -- rollouts -------------------------------------------------------------------------------------


def comparable(episode: Rollout) -> str:
    """An episode as canonical JSON (observations hold tuples; some envs' hold arrays)."""
    return json.dumps(
        [
            episode.task_id,
            episode.seed,
            episode.observations,
            episode.actions,
            episode.rewards,
            episode.terminated,
            episode.truncated,
            episode.info,
        ],
        sort_keys=True,
        default=repr,
    )


UNITS = [
    *group_units(["alpha/train-0", "beta/train-1", "alpha/train-2"], 3, seed=5),
    *sample_units(3, seed=5),
]


def test_rollouts_do_not_depend_on_the_number_of_actors(ray_cluster):
    env = gym.make(FAKE_ENV)
    local = [play_episode(env, FakeAgent("cheap"), task, seed) for task, seed in UNITS]
    results = {}
    for actors, batch_size in ((1, 1), (2, 1), (2, 5)):  # 12 units in calls of 5, 5 and 2
        with RolloutPool(
            FAKE_ENV,
            "fake",
            policy_kwargs={"action": "cheap"},
            actors=actors,
            batch_size=batch_size,
        ) as pool:
            assert pool.actors == actors
            results[actors, batch_size] = pool.run(UNITS)
            streamed = list(pool.stream(UNITS))
        assert sorted(map(comparable, streamed)) == sorted(
            map(comparable, results[actors, batch_size])
        )
    for result in results.values():
        assert [comparable(e) for e in result] == [comparable(e) for e in local]
    assert (
        len({tuple(e.rewards) + (e.info["ledger"]["cost_usd"],) for e in local}) > 1
    )  # seeds matter


def test_a_lost_actor_is_rebuilt_and_its_episodes_replayed(ray_cluster):
    units = sample_units(16, seed=2)
    with RolloutPool(FAKE_ENV, "fake", env_kwargs={"step_delay": 0.02}, actors=2) as pool:
        pool.update_policy("fake", {"action": "strong"})  # a rebuilt actor must play this one
        expected = [comparable(e) for e in pool.run(units)]
        got = []
        for episode in pool.stream(units):
            if len(got) == 2:  # as if its process or node were lost
                ray_cluster.kill(pool._fleet._actors[0], no_restart=False)
            got.append(comparable(episode))
    assert sorted(got) == sorted(expected) and all('"strong"' in e for e in expected)


def test_episodes_hold_what_a_trainer_needs(ray_cluster):
    policy = FunctionPolicy(lambda obs: "strong")  # a plain function, shipped by cloudpickle
    env_id = f"tests.test_eval_runner:{FAKE_ENV}"  # "module:id": actors import what registers it
    with RolloutPool(env_id, policy, actors=1) as pool:
        episodes = pool.sample(6, seed=1)
        assert [comparable(e) for e in episodes] == [comparable(e) for e in pool.sample(6, seed=1)]
        pool.update_policy(FakeAgent, {"action": "cheap"})  # a factory, e.g. a new checkpoint
        cheaper = pool.run([(e.task_id, e.seed) for e in episodes])
    for e in episodes:
        assert len(e.observations) == len(e.actions) + 1 == len(e.rewards) + 1
        assert set(e.actions) == {"strong"} and e.terminated and not e.truncated
        assert e.outcome in (0, 1) and e.total_reward == pytest.approx(
            e.info["reward_terms"]["total"]
        )
    assert Counter(a for e in cheaper for a in e.actions) == {
        "cheap": sum(len(e.actions) for e in episodes)
    }


def test_a_bad_policy_is_refused():
    with pytest.raises(TypeError, match="FunctionPolicy"):
        RolloutPool(FAKE_ENV, 42)  # type: ignore[arg-type]
