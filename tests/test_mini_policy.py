"""orchestra-mini: PPO training is deterministic and logs its curve; the shipped checkpoint
plays valid tool calls on the raw env and responds to the user's preference.

Only training needs torch: the agent is numpy only, so its tests run without it."""

import filecmp
import json
import shutil
from collections import Counter
from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from orchestra_env.agents.mini import OrchestraMini, shipped_checkpoint
from orchestra_env.observation import preference_mask
from orchestra_env.rollout import Step, rollout
from orchestra_env.train import MiniConfig
from orchestra_env.wrappers import (
    DiscreteRouting,
    FeatureObservation,
    observation_features,
    observation_mask,
)

TINY = MiniConfig(seed=3, total_steps=64, num_envs=2, num_steps=16, update_epochs=2, hidden=16)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same tiny training run twice: its envs stepped here (and plotted), then in two
    worker processes."""
    pytest.importorskip("torch")
    from orchestra_env.train.mini import train

    root = tmp_path_factory.mktemp("mini")
    here = train(TINY, root / "a", log=None)
    return here, train(TINY, root / "b", plot=False, log=None, env_workers=2)


def test_training_is_deterministic_in_any_number_of_processes_and_writes_its_curve(two_runs):
    a, b = two_runs
    assert filecmp.cmp(a.curve_csv, b.curve_csv, shallow=False)
    with np.load(a.checkpoint) as wa, np.load(b.checkpoint) as wb:
        assert sorted(wa.files) == sorted(wb.files)
        assert sorted(wa.files) == ["b1", "b2", "route_w", "state_b", "state_w", "w1", "w2"]
        for key in wa.files:
            np.testing.assert_array_equal(wa[key], wb[key])
    from orchestra_env.train.mini import read_curve

    curve = read_curve(a.curve_csv)
    assert list(curve["update"]) == [1, 2] and list(curve["global_step"]) == [32, 64]
    assert np.isfinite(curve["policy_loss"]).all() and (curve["episodes"] > 0).all()
    assert a.curve_png.stat().st_size > 1000 and a.curve_png.read_bytes()[:4] == b"\x89PNG"


def _make_here_only() -> gym.Env:
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        raise RuntimeError("no env in a worker")
    return gym.make("ToolOrchestra-v0")


def test_an_env_pool_reports_a_failed_env_by_its_error_and_keeps_serving():
    from orchestra_env.train.envpool import EnvPool, EnvWorkerError

    with pytest.raises(EnvWorkerError, match="RuntimeError: no env in a worker"):
        EnvPool(_make_here_only, 2, processes=2)
    make = partial(gym.make, "ToolOrchestra-v0", split="train")
    calls = {i: {"seed": 10 + i} for i in range(3)}
    with EnvPool(make, 3, processes=2) as pool, EnvPool(make, 3) as here:
        assert pool.attribute("spec").id == "ToolOrchestra-v0"
        first, ours = pool.reset(calls), here.reset(calls)
        nonsense = {"options": {"preference": "nonsense"}}
        with pytest.raises(EnvWorkerError, match="preference must be .*got 'nonsense'"):
            pool.reset({0: {"seed": 1}, 2: {"seed": 2, **nonsense}})  # env 2: in the worker
        with pytest.raises(ValueError, match="got 'nonsense'"):
            pool.reset({0: nonsense, 2: {"seed": 2}})  # env 0: stepped here
        theirs = pool.reset(calls)  # every answer was read: the pool still serves, in order
        assert sorted(theirs) == [0, 1, 2]
        tasks = [info["task_id"] for _, info in theirs.values()]
        assert tasks == [first[i][1]["task_id"] for i in range(3)]
        assert tasks == [ours[i][1]["task_id"] for i in range(3)]
        actions = ["no tool call"] * 3  # malformed: the same penalty in both
        assert [t[1:4] for t in pool.step(actions)] == [t[1:4] for t in here.step(actions)]


def test_a_trained_checkpoint_loads_from_its_folder_or_file(two_runs):
    a, _ = two_runs
    agent = OrchestraMini(a.checkpoint.parent)
    env = gym.make("ToolOrchestra-v0", split="test")
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    assert agent.act(obs).startswith("<tool_call>")
    assert OrchestraMini(a.checkpoint).routes == agent.routes == DiscreteRouting(env).routes


def test_the_numpy_agent_scores_routes_as_the_trained_torch_policy(two_runs):
    torch = pytest.importorskip("torch")
    from orchestra_env.train.mini import Policy

    a, _ = two_runs
    agent = OrchestraMini(a.checkpoint)
    policy = Policy(agent.layout, TINY.hidden)
    with np.load(a.checkpoint) as w, torch.no_grad():
        tensors = policy.actor_tensors()
        assert sorted(tensors) == sorted(w.files)
        for key, param in tensors.items():
            param.copy_(torch.from_numpy(w[key]))
    env = FeatureObservation(DiscreteRouting(gym.make("ToolOrchestra-v0", randomize="paper")))
    for seed in range(5):
        wrapped, _ = env.reset(seed=seed)
        raw, info = env.unwrapped.reset(seed=seed)
        agent.reset(raw, info)
        with torch.no_grad():
            expected = policy.logits(torch.from_numpy(wrapped)[None])[0].numpy()
        np.testing.assert_allclose(agent.logits(raw), expected, rtol=1e-5, atol=1e-6)


def test_agent_features_and_mask_equal_the_wrappers():
    env = DiscreteRouting(gym.make("ToolOrchestra-v0", tool_subsample=0.5))
    features = FeatureObservation(env)
    agent = OrchestraMini()
    assert agent.layout.routes == features.layout.routes
    for seed in range(12):
        obs, info = env.reset(seed=seed)
        wrapped, _ = features.reset(seed=seed)  # the same episode again, through the wrapper
        np.testing.assert_array_equal(
            observation_mask(env.routes, obs["tools"]), info["action_mask"]
        )
        np.testing.assert_array_equal(observation_features(obs, agent.layout), wrapped)


def _play(agent, env, task_id, seed, **options):
    def valid(step: Step) -> None:
        assert "error" not in step.next_info, (task_id, step.action, step.next_info["error"])

    played = rollout(env, agent, seed=seed, options={"task_id": task_id, **options}, on_step=valid)
    return played.actions, played.info


def test_shipped_checkpoint_plays_valid_calls_in_every_family():
    assert shipped_checkpoint().exists()
    agent = OrchestraMini()
    env = gym.make("ToolOrchestra-v0", split="test")
    ids = env.unwrapped.task_ids("test", 40)
    seen = set()
    for i, task_id in enumerate(ids):
        family = task_id.split("/")[0]
        if family in seen and i % 4:
            continue
        seen.add(family)
        actions, info = _play(agent, env, task_id, seed=i)
        assert info["format_errors"] == 0 and info["outcome"] in (0, 1)
        if family == "function_calling":
            assert all('"call_expert"' in a for a in actions)
        else:
            assert '"answer"' in actions[-1]
    assert seen == {"multihop", "reasoning", "function_calling"}


def test_train_command_parses_into_a_config():
    import argparse

    from orchestra_env.train.cli import add_train_command, config_from_args

    parser = argparse.ArgumentParser(prog="orchestra")
    add_train_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["train", "--policy", "mini", "--steps", "1000", "--seed", "7", "--out", "x"]
    )
    config = config_from_args(args)
    assert (config.total_steps, config.seed, str(args.out)) == (1000, 7, "x")
    assert config.env_kwargs["split"] == "train" and config.env_kwargs["preference"] == "sample"
    assert args.func.__name__ == "cmd_train"
    assert "families" not in config.env_kwargs and config.preference_weights is None
    curriculum = config_from_args(
        parser.parse_args(
            [
                "train",
                "--families",
                "multihop=1",
                "reasoning=2",
                "--preference-weights",
                "accuracy=2",
            ]
        )
    )
    assert curriculum.env_kwargs["families"] == {"multihop": 1.0, "reasoning": 2.0}
    assert curriculum.preference_weights == {"accuracy": 2.0}
    assert config.mask_avoided_paid
    priced = config_from_args(
        parser.parse_args(
            ["train", "--preference-cost-penalty", "3", "--preference-latency-penalty", "0.002"]
        )
    )
    assert (priced.preference_cost_penalty, priced.preference_latency_penalty) == (3.0, 0.002)
    assert (config.preference_cost_penalty, config.preference_latency_penalty) == (0.0, 0.0)
    assert not config.linear_prices and config.preference_price_ramp == 0.0
    ramped = parser.parse_args(["train", "--preference-price-ramp", "0.5"])
    assert config_from_args(ramped).preference_price_ramp == 0.5
    assert config_from_args(parser.parse_args(["train", "--linear-prices"])).linear_prices
    assert not config_from_args(parser.parse_args(["train", "--no-avoid-mask"])).mask_avoided_paid
    assert not config.advantage_per_preset and config.init_from is None
    warm = config_from_args(
        parser.parse_args(["train", "--init-from", "runs/a", "--critic-warmup", "10"])
    )
    assert (warm.init_from, warm.critic_warmup) == ("runs/a", 10)
    assert not config.preference_heads
    assert config_from_args(parser.parse_args(["train", "--preference-heads"])).preference_heads
    fresh = ["train", "--preference-heads", "--init-from", "a", "--init-heads", "accuracy", "fast"]
    assert config_from_args(parser.parse_args(fresh)).init_heads == ("accuracy", "fast")
    copied = parser.parse_args([*fresh, "balanced=accuracy"])
    assert config_from_args(copied).init_heads == ("accuracy", "fast", "balanced=accuracy")
    assert config.init_heads is None
    for bad in ("thrifty", "balanced=thrifty", "balanced=accuracy=fast"):
        with pytest.raises(SystemExit):
            parser.parse_args(["train", "--init-heads", bad])
    for flag in ("--hidden", "--steps", "--num-envs", "--env-workers"):
        with pytest.raises(SystemExit):  # argparse names the flag and the value
            parser.parse_args(["train", flag, "0"])
    with pytest.raises(ValueError, match="MiniConfig.hidden must be at least 1, got 0"):
        MiniConfig(hidden=0)
    # how many processes step the envs is not part of the recipe: the same run for any number
    parallel = parser.parse_args(["train", "--env-workers", "2"])
    assert parallel.env_workers == 2 and args.env_workers == 1
    assert config_from_args(parallel) == config_from_args(parser.parse_args(["train"]))
    assert config_from_args(
        parser.parse_args(["train", "--advantage-per-preset"])
    ).advantage_per_preset
    for bad in ("reasoning", "reasoning=-1", "reasoning=nan", "=2"):
        with pytest.raises(SystemExit):
            parser.parse_args(["train", "--families", bad])


def _played(agent, env, task_ids, preference) -> tuple[float, float, int]:
    """($ spent, seconds waited, calls to paid APIs) over `task_ids` under one preference."""
    from orchestra_env.rewards import paid_calls

    spent = waited = paid = 0
    for i, task_id in enumerate(task_ids):
        _, info = _play(agent, env, task_id, seed=i, preference=preference)
        spent += info["ledger"]["cost_usd"]
        waited += info["ledger"]["latency_s"]
        paid += paid_calls(info["ledger"], env.unwrapped.profiles)
    return spent, waited, paid


def test_shipped_policy_responds_to_the_preference():
    # Same tasks, same draws, only the user's preference differs: asked to keep costs down the
    # shipped policy spends less than when only accuracy counts, asked to be quick it waits
    # less, asked for both it does both; asked to avoid paid APIs, it calls none of them.
    agent = OrchestraMini()
    env = gym.make("ToolOrchestra-v0", split="test")
    task_ids = env.unwrapped.task_ids("test", 12)
    spent, waited, paid = _played(agent, env, task_ids, "accuracy")
    assert paid > 0
    assert _played(agent, env, task_ids, "cheap")[0] < spent
    assert _played(agent, env, task_ids, "fast")[1] < waited
    balanced = _played(agent, env, task_ids, "balanced")
    assert balanced[0] < spent and balanced[1] < waited
    assert _played(agent, env, task_ids, "avoid_paid_apis")[2] == 0


def test_avoiding_paid_apis_masks_paid_routes_but_keeps_a_way_to_answer():
    env = DiscreteRouting(
        gym.make(
            "ToolOrchestra-Multihop-v0", tools=["search-1", "search-3", "reasoner-1", "answer-1"]
        )
    )
    _, info = env.reset(seed=0, options={"preference": "avoid_paid_apis"})
    allowed = preference_mask(env.routes, info["action_mask"], info["preference"])
    chosen = {
        (t, a.get("model"), a.get("source"))
        for (t, a), ok in zip(env.routes, allowed, strict=True)
        if ok
    }
    # search-3 serves an open model; search-1 (GPT-5), web search and reasoner-1 are paid
    assert info["preference"]["tools"].get("search-3") and not info["preference"]["tools"].get(
        "search-1"
    )
    assert chosen == {("search", "search-3", "local"), ("answer", "answer-1", None)}
    # the only answerer offered is paid: it stays callable, so the question can be answered
    _, info = env.reset(seed=0, options={"preference": "cheap"})
    np.testing.assert_array_equal(
        preference_mask(env.routes, info["action_mask"], info["preference"]), info["action_mask"]
    )


def test_avoiding_paid_apis_leaves_a_conversation_with_only_paid_experts_its_experts():
    env = DiscreteRouting(
        gym.make("ToolOrchestra-FunctionCalling-v0", tools=["expert-1", "expert-2"])
    )
    _, info = env.reset(seed=0, options={"preference": "avoid_paid_apis"})
    assert info["action_mask"].any()
    np.testing.assert_array_equal(
        preference_mask(env.routes, info["action_mask"], info["preference"]), info["action_mask"]
    )


def test_the_trainer_draws_presets_with_the_curriculum_weights():
    pytest.importorskip("torch")
    from orchestra_env.train.mini import preference_curriculum

    config = MiniConfig(seed=5, preference_weights={"accuracy": 3.0, "cheap": 1.0, "fast": 0.0})
    draw = preference_curriculum(config)
    draws = Counter(draw()["preference"] for _ in range(4000))
    assert set(draws) == {"accuracy", "cheap"} and 0.72 < draws["accuracy"] / 4000 < 0.78
    first, second = preference_curriculum(config), preference_curriculum(config)
    assert [first() for _ in range(50)] == [second() for _ in range(50)]  # seeded by the config
    assert preference_curriculum(MiniConfig())() == {}
    with pytest.raises(ValueError, match="preference_weights"):
        preference_curriculum(MiniConfig(preference_weights={"accuracy": 0.0}))


def test_advantages_are_normalised_within_each_preset_when_asked():
    torch = pytest.importorskip("torch")
    from orchestra_env.train.mini import normalize_within

    # "cheap" turns (group 1) span a hundred times the "accuracy" turns' (group 0) range.
    advantages = torch.tensor([0.01, -0.01, 0.02, 1.0, -2.0, 3.0, 0.5])
    groups = torch.tensor([0, 0, 0, 1, 1, 1, 2])
    per_group = normalize_within(advantages, groups)
    for g in (0, 1):
        members = per_group[groups == g]
        assert abs(members.mean()) < 1e-6 and abs(members.std() - 1) < 1e-5
    assert per_group[6] == 0  # a preset with one turn this batch carries no signal
    # the order within each preset survives; over the whole batch "accuracy" is drowned out
    assert torch.equal(per_group[:3].argsort(), advantages[:3].argsort())
    whole = normalize_within(advantages)
    assert abs(whole.mean()) < 1e-6
    assert (
        whole[:3].max() - whole[:3].min() < 0.05 < 1.5 < per_group[:3].max() - per_group[:3].min()
    )


def test_the_training_reward_prices_money_and_time_as_the_preference_does():
    pytest.importorskip("torch")
    from orchestra_env.train.mini import training_reward

    config = MiniConfig(
        step_penalty=0.01,
        cost_penalty=0.25,
        preference_cost_penalty=2.0,
        preference_latency_penalty=0.001,
    )
    accuracy, cheap, fast = (
        {"preference": {"outcome": 1.0, "cost": c, "latency": t, "tools": {}}}
        for c, t in ((0, 0), (1, 0), (0, 1))
    )
    # the same turn ($0.10, 30 s) after a reward of 1: every preset pays the step and the
    # prior on money; "cheap" pays its price of money, "fast" its price of time
    assert training_reward(config, 1.0, accuracy, 0.10, 30.0) == pytest.approx(1 - 0.01 - 0.025)
    assert training_reward(config, 1.0, cheap, 0.10, 30.0) == pytest.approx(1 - 0.01 - 0.225)
    assert training_reward(config, 1.0, fast, 0.10, 30.0) == pytest.approx(1 - 0.01 - 0.055)
    # without the preference penalties (the default) the preset does not change the reward
    plain = MiniConfig()
    assert training_reward(plain, 1.0, cheap, 0.1, 30.0) == training_reward(
        plain, 1.0, accuracy, 0.1, 30.0
    )
    # a ramp charges the preference's prices in part (here half), the prior on money in full
    assert training_reward(config, 1.0, cheap, 0.10, 30.0, price_scale=0.5) == pytest.approx(
        1 - 0.01 - 0.025 - 0.1
    )


def test_a_price_ramp_raises_the_preference_penalties_over_its_share_of_the_updates():
    pytest.importorskip("torch")
    from orchestra_env.train.mini import preference_price_scale

    config = MiniConfig(total_steps=100 * 1024, preference_price_ramp=0.5)  # 100 updates
    scales = [preference_price_scale(config, update) for update in (1, 26, 51, 100)]
    assert scales == [0.0, 0.5, 1.0, 1.0]
    assert preference_price_scale(MiniConfig(), 1) == 1.0  # no ramp: priced from the start
    with pytest.raises(ValueError, match="preference_price_ramp must be in"):
        MiniConfig(preference_price_ramp=1.5)


def _finished(preference: str, seed: int) -> tuple[float, dict]:
    """The last turn's reward and info of an episode the shipped policy plays."""
    played = rollout(
        gym.make("ToolOrchestra-v0", split="train"),
        OrchestraMini(),
        seed=seed,
        options={"preference": preference},
    )
    return played.rewards[-1], played.info


def test_linear_prices_pay_a_correct_answer_in_full_and_charge_for_what_it_spent():
    pytest.importorskip("torch")
    from orchestra_env.train.mini import training_reward

    linear = MiniConfig(step_penalty=0.0, cost_penalty=0.0, linear_prices=True)
    found = set()
    for seed in range(40):
        reward, info = _finished("cheap", seed)
        terms = info["reward_terms"]
        if terms["total"] and terms["cost"] < 1:  # right, and the env docked it for spending
            assert reward < 1 and training_reward(linear, reward, info, 0.0, 0.0) == 1.0
            found.add("right")
        elif not terms["total"]:
            assert training_reward(linear, reward, info, 0.0, 0.0) == reward == 0.0
            found.add("wrong")
        if found == {"right", "wrong"}:
            break
    assert found == {"right", "wrong"}
    # a preference without cost or latency weights keeps the env's total, tool terms included
    reward, info = _finished("avoid_paid_apis", 0)
    assert training_reward(linear, reward, info, 0.0, 0.0) == pytest.approx(reward)
    # a turn before the end has no total to replace
    mid = {"preference": info["preference"]}
    assert training_reward(linear, 0.0, mid, 0.0, 0.0) == 0.0


def test_a_checkpoint_of_another_feature_format_is_refused_by_name(tmp_path):
    # A checkpoint trained before the route blocks carried their model's call history reads
    # different features: the agent says which file and which formats, instead of scoring
    # routes with weights of the wrong shape.
    shipped = shipped_checkpoint()
    meta = json.loads(shipped.with_suffix(".json").read_text())
    meta["format"] = "orchestra-mini/2"
    (tmp_path / "orchestra-mini.json").write_text(json.dumps(meta))
    shutil.copy(shipped, tmp_path / "orchestra-mini.npz")
    with pytest.raises(
        ValueError, match=r"orchestra-mini\.json: format 'orchestra-mini/2', expected"
    ):
        OrchestraMini(tmp_path)


def test_a_warm_start_begins_from_the_checkpoint_and_warms_the_critic_first(two_runs, tmp_path):
    from dataclasses import replace

    from orchestra_env.train.mini import train

    start = two_runs[0].checkpoint
    # Every update trains the critic alone: the exported actor is the one it started from.
    frozen = train(
        replace(TINY, seed=4, init_from=str(start), critic_warmup=2), tmp_path / "w", log=None
    )
    with np.load(start) as before, np.load(frozen.checkpoint) as after:
        for key in before.files:
            np.testing.assert_array_equal(before[key], after[key])
    # Its record carries the recipe of the checkpoint it started from.
    record = json.loads(frozen.config.read_text())
    assert record["train"]["init_from"] == str(start)
    assert record["init"] == {"train": json.loads(two_runs[0].config.read_text())["train"]}
    # After the warm-up the actor learns from there.
    moved = train(
        replace(TINY, seed=4, init_from=str(start), critic_warmup=1), tmp_path / "m", log=None
    )
    with np.load(start) as before, np.load(moved.checkpoint) as after:
        assert any(not np.array_equal(before[k], after[k]) for k in before.files)
    with pytest.raises(ValueError, match=r"state_w has shape .*another --hidden"):
        train(replace(TINY, hidden=8, init_from=str(start)), tmp_path / "x", log=None)


def test_more_env_processes_than_envs_is_refused_before_training(tmp_path, capsys):
    from orchestra_env.cli import main

    out = tmp_path / "run"
    assert main(["train", "--num-envs", "2", "--env-workers", "3", "--out", str(out)]) == 2
    assert "--env-workers 3 is more processes than --num-envs 2" in capsys.readouterr().out
    assert not out.exists()


def test_the_preference_price_terms_pick_the_head():
    from orchestra_env.agents.mini import HEADS, head_of
    from orchestra_env.models.profiles import default_profiles
    from orchestra_env.rewards import preset_preferences

    env = gym.make("ToolOrchestra-v0")
    presets = preset_preferences(default_profiles(), env.unwrapped.tool_keys)
    picked = {
        name: HEADS[head_of(p.vector(env.unwrapped.tool_keys))] for name, p in presets.items()
    }
    assert picked == {
        "accuracy": "accuracy",
        "avoid_paid_apis": "accuracy",  # its tool weights are no price: the mask carries it
        "cheap": "cheap",
        "fast": "fast",
        "balanced": "balanced",
    }


@pytest.fixture(scope="module")
def cheap_head_run(two_runs, tmp_path_factory):
    """A warm start from the tiny one-actor run with preference heads, drawing only "cheap"."""
    from dataclasses import replace

    from orchestra_env.train.mini import train

    start = two_runs[0].checkpoint
    config = replace(
        TINY, seed=4, init_from=str(start), preference_heads=True, preference_weights={"cheap": 1}
    )
    return start, train(config, tmp_path_factory.mktemp("heads") / "h", plot=False, log=None)


def test_a_preference_head_learns_only_from_its_own_presets(cheap_head_run):
    from orchestra_env.agents.mini import HEADS

    start, run = cheap_head_run
    assert json.loads(run.config.read_text())["heads"] == list(HEADS)
    with np.load(start) as before, np.load(run.checkpoint) as after:
        assert sorted(after.files) == sorted(f"{h}.{k}" for h in HEADS for k in before.files)
        for head in ("accuracy", "fast", "balanced"):  # no episode of theirs was drawn
            for key in before.files:
                np.testing.assert_array_equal(before[key], after[f"{head}.{key}"])
        assert any(not np.array_equal(before[k], after[f"cheap.{k}"]) for k in before.files)
    # The agent scores an episode with its preference's head: the start's scores under
    # "accuracy", the trained head's under "cheap".
    heads, one = OrchestraMini(run.checkpoint), OrchestraMini(start)
    assert heads.has_heads and not one.has_heads
    env = gym.make("ToolOrchestra-v0", split="test")
    obs, _ = env.reset(seed=0, options={"preference": "accuracy"})
    np.testing.assert_array_equal(heads.logits(obs), one.logits(obs))
    obs, _ = env.reset(seed=0, options={"preference": "cheap"})
    assert not np.allclose(heads.logits(obs), one.logits(obs))


def test_the_numpy_agent_scores_each_head_as_the_torch_policy(cheap_head_run):
    torch = pytest.importorskip("torch")
    from orchestra_env.train.mini import Policy, start_from

    _, run = cheap_head_run
    agent = OrchestraMini(run.checkpoint)
    policy = Policy(agent.layout, TINY.hidden, heads=True)
    start_from(policy, run.checkpoint, agent.layout)
    env = FeatureObservation(DiscreteRouting(gym.make("ToolOrchestra-v0", randomize="paper")))
    presets = ["accuracy", "cheap", "fast", "balanced", "avoid_paid_apis", "cheap"]
    wrapped = [env.reset(seed=s, options={"preference": p})[0] for s, p in enumerate(presets)]
    with torch.no_grad():  # one batch of mixed presets, each row through its own head
        expected = policy.logits(torch.from_numpy(np.stack(wrapped))).numpy()
    for seed, preset in enumerate(presets):
        raw, info = env.unwrapped.reset(seed=seed, options={"preference": preset})
        agent.reset(raw, info)
        np.testing.assert_allclose(agent.logits(raw), expected[seed], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="has preference heads; train with --preference-heads"):
        start_from(Policy(agent.layout, TINY.hidden), run.checkpoint, agent.layout)


def test_a_checkpoint_of_one_actor_from_before_heads_still_loads(two_runs, tmp_path):
    # Format /3 held one actor under plain names, as /4 does without heads.
    a, _ = two_runs
    meta = json.loads(a.config.read_text())
    meta["format"] = "orchestra-mini/3"
    (tmp_path / "orchestra-mini.json").write_text(json.dumps(meta))
    shutil.copy(a.checkpoint, tmp_path / "orchestra-mini.npz")
    old, new = OrchestraMini(tmp_path), OrchestraMini(a.checkpoint)
    obs, _ = gym.make("ToolOrchestra-v0").reset(seed=1, options={"preference": "fast"})
    assert not old.has_heads
    np.testing.assert_array_equal(old.logits(obs), new.logits(obs))


def test_a_warm_start_can_set_some_heads_and_leave_the_others_fresh(two_runs, tmp_path):
    from dataclasses import replace

    from orchestra_env.train.mini import train

    start = two_runs[0].checkpoint
    config = replace(
        TINY,
        seed=4,
        init_from=str(start),
        preference_heads=True,
        init_heads=("accuracy",),
        preference_weights={"cheap": 1},
    )
    run = train(config, tmp_path / "h", plot=False, log=None)
    with np.load(start) as before, np.load(run.checkpoint) as after:
        for key in before.files:
            np.testing.assert_array_equal(before[key], after[f"accuracy.{key}"])
            assert not np.array_equal(before[key], after[f"fast.{key}"]) or key == "state_b"
    # A second stage from the heads run: "balanced" starts as its "accuracy" head, "cheap" as
    # its own; only "fast" is drawn, so those two stay as they started.
    again = train(
        replace(
            config,
            init_from=str(run.checkpoint),
            init_heads=("cheap", "balanced=accuracy"),
            preference_weights={"fast": 1},
        ),
        tmp_path / "h2",
        plot=False,
        log=None,
    )
    with np.load(run.checkpoint) as before, np.load(again.checkpoint) as after:
        for key in before.files:
            if key.startswith("accuracy."):
                tensor = key.removeprefix("accuracy.")
                np.testing.assert_array_equal(before[key], after[f"balanced.{tensor}"])
            if key.startswith("cheap."):
                np.testing.assert_array_equal(before[key], after[key])
    bad_heads = ({"init_heads": ("thrifty",)}, {"init_heads": ("balanced=thrifty",)})
    for bad in (*bad_heads, {"init_heads": ("accuracy",), "init_from": None}):
        with pytest.raises(ValueError, match=r"MiniConfig.init_heads .* to warm-start"):
            replace(config, **bad)
