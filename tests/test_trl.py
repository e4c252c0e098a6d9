"""TRL GRPO on the env, offline: the adapters' tools and rewards, then real GRPOTrainer steps on
the tiny Qwen3 (random weights, Qwen3's own chat template) through examples/grpo_train.py."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)

pytest.importorskip("trl")
from orchestra_env.integrations import trl as trl_adapter  # noqa: E402
from orchestra_env.integrations.trl import (  # noqa: E402
    EnvReward,
    GroupPreferenceReward,
    environment_factories,
    paper_advantages,
    task_dataset,
    task_rows,
)
from orchestra_env.rewards import group_normalized, preset_preferences  # noqa: E402

ENV_ID = "ToolOrchestra-Multihop-v0"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def call(name: str, **arguments) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


def test_env_tools_become_the_models_tools():
    from transformers.utils import get_json_schema

    factories = environment_factories(ENV_ID, max_turns=5, randomize="none")  # default tables
    assert list(factories) == ["qa"]
    factories = pickle.loads(pickle.dumps(factories))  # TRL's async trainer pickles them
    env, other = factories["qa"](), factories["qa"]()
    assert type(env) is type(other)  # TRL scores rollouts by exact environment type
    schemas = {
        name: get_json_schema(getattr(env, name))["function"]
        for name in ("search", "enhance_reasoning", "answer")
    }
    spec = {
        t["function"]["name"]: t["function"]
        for t in json.loads(gym.make(ENV_ID).reset(seed=0)[0]["tools"])
    }
    for name, schema in schemas.items():
        assert schema["description"] == spec[name]["description"]  # prices and strengths included
        assert schema["parameters"]["required"] == spec[name]["parameters"]["required"]
        model = schema["parameters"]["properties"]["model"]
        assert model["enum"] == spec[name]["parameters"]["properties"]["model"]["enum"]


def test_conversational_tool_sets_get_the_domain_functions_and_a_way_to_talk():
    from transformers.utils import get_json_schema

    factories = environment_factories("ToolOrchestra-FunctionCalling-Railway-v0")
    env = factories["railway"]()
    assert callable(env.message_user) and callable(env.call_expert)
    booking = get_json_schema(env.book_ticket)["function"]["parameters"]
    assert booking["properties"]["class_"]["enum"] == ["standard", "first"]  # `class` is a keyword


def test_environment_reward_is_the_envs_graded_reward():
    """Tool calls through the adapter = the same actions on the env: same replies, same reward."""
    row = task_rows(ENV_ID, 3, max_turns=5)[2]
    env = environment_factories(ENV_ID, max_turns=5, randomize="none")["qa"]()
    assert env.reset(**row) is None  # the row's prompt already is the env's opening
    replies = [env.search(model="search-2"), env.answer(model="answer-1")]
    assert env.done and env.search(model="search-3").startswith("The episode has ended")
    direct = gym.make(ENV_ID, max_turns=5)
    options = {
        "task_id": row["task_id"],
        "preference": row["preference"],
        "episode_seed": env.info["episode_seed"],
    }
    obs, _ = direct.reset(options=options)
    assert [dict(m) for m in obs["messages"]] == row["prompt"]
    total = 0.0
    for action, reply in zip(
        [call("search", model="search-2"), call("answer", model="answer-1")], replies, strict=True
    ):
        obs, reward, terminated, truncated, info = direct.step(action)
        assert obs["messages"][-1]["content"] == reply
        total += reward
    assert terminated and env.get_reward() == pytest.approx(total) == info["reward_terms"]["total"]
    assert env.info["outcome"] == info["outcome"]


def test_single_turn_reward_function_grades_each_completion():
    rows = task_rows(ENV_ID, 2, preference="accuracy", max_turns=1)
    reward = pickle.loads(pickle.dumps(EnvReward(ENV_ID, preference="accuracy")))
    as_messages = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "type": "function",
                    "function": {"name": "answer", "arguments": {"model": "answer-1"}},
                }
            ],
        }
    ]
    scores = reward(
        prompts=[r["prompt"] for r in rows] * 2,
        completions=[
            "not a tool call",
            as_messages,
            call("answer", model="answer-1"),
            "<tool_call>{bad",
        ],
        task_id=[r["task_id"] for r in rows] * 2,
        preference=[r["preference"] for r in rows] * 2,
    )
    infos = reward.last_infos
    assert scores[0] == pytest.approx(-0.1) and "error" in infos[0]  # the env's format penalty
    for score, info in zip(scores[1:3], infos[1:3], strict=True):
        assert "error" not in info and score == pytest.approx(info["reward_terms"]["total"])
        assert score == (1.0 if info["outcome"] else 0.0)  # "accuracy": outcome alone
    assert [i["task_id"] for i in infos] == [r["task_id"] for r in rows] * 2


def played(rows, plans):
    """One environment per (row, plan): reset on the row, then the plan's tool calls."""
    factory = environment_factories(ENV_ID, max_turns=5, randomize="none")["qa"]
    envs = []
    for row, plan in zip(rows, plans, strict=True):
        env = factory()
        env.reset(**row)
        for alias in plan:
            getattr(env, alias.split("-")[0])(model=alias)
        envs.append(env)
    return envs


def test_group_reward_is_the_papers_formula_over_each_tasks_rollouts():
    """Two tasks' rollouts interleaved in one batch: each is paid `group_normalized` over its own
    task's rollouts (outcomes, ledgers, the preset's weights); a wrong or unfinished one gets 0."""
    rows = task_rows(ENV_ID, 2, preference="balanced", max_turns=5)
    plans = [["answer-1"], ["answer-4"], ["search-3", "answer-4"], ["search-1"]]
    envs = played([rows[0], rows[1]] * 4, [p for p in plans for _ in range(2)])
    paid = GroupPreferenceReward(group_size=4)(environments=envs, prompts=[None] * 8)
    base = gym.make(ENV_ID).unwrapped
    balanced = preset_preferences(base.profiles, base.tool_keys)["balanced"]
    outcomes = [int(e.info.get("outcome") or 0) for e in envs]
    ledgers = [e.info["ledger"] for e in envs]
    for task in (0, 1):
        members = list(range(task, 8, 2))
        expected = group_normalized(
            [outcomes[i] for i in members], [ledgers[i] for i in members], balanced
        )
        assert [paid[i] for i in members] == pytest.approx(expected.tolist())
    mixed = group_normalized(outcomes, ledgers, balanced)  # one group of both tasks: not this
    assert not np.allclose(paid, mixed)
    answered = [i for i, e in enumerate(envs) if "outcome" in e.info]
    assert {outcomes[i] for i in answered} == {0, 1}  # the plans give right and wrong answers
    assert all(paid[i] == 0.0 for i, e in enumerate(envs) if not outcomes[i])
    assert all(paid[i] > 0.0 for i in answered if outcomes[i])
    assert "outcome" not in envs[6].info and paid[6] == 0.0  # searched, never answered
    order = [5, 0, 3, 6, 1, 7, 2, 4]  # groups come from the tasks, not from batch order
    assert GroupPreferenceReward(4)(environments=[envs[i] for i in order]) == [
        paid[i] for i in order
    ]


def test_group_reward_refuses_a_group_split_across_the_batch():
    rows = task_rows(ENV_ID, 1, max_turns=5)
    envs = played(rows * 3, [["answer-1"]] * 3)
    with pytest.raises(
        ValueError, match="3 rollouts in this batch, not a multiple of group_size=2"
    ):
        GroupPreferenceReward(2)(environments=envs)
    with pytest.raises(ValueError, match="group_size must be >= 2"):
        GroupPreferenceReward(1)
    with pytest.raises(ValueError, match="environment_factory"):
        GroupPreferenceReward(2)(prompts=["p"], completions=["c"])


def test_paper_advantage_is_the_clipped_z_score_and_drops_flat_groups():
    torch = pytest.importorskip("torch")
    spread = [0.0, 1.0, 0.0, 1.0] * 4  # z-scores of exactly -1 and +1
    outlier = [0.0] * 15 + [1.0]  # z = sqrt(15) ≈ 3.9: clipped to 3
    flat = [0.5, 0.6] * 8  # std 0.05 < 0.1: no signal, dropped
    unscored = [float("nan")] + spread[1:]
    rewards = torch.tensor(spread + outlier + flat + unscored)
    advantages, kept = paper_advantages(rewards, 16)
    groups = advantages.view(4, 16)
    assert groups[0].tolist() == pytest.approx([-1.0, 1.0] * 8, abs=1e-5)
    assert groups[1, -1].item() == pytest.approx(3.0) and groups[1, 0].item() < 0
    assert kept.view(4, 16).all(dim=1).tolist() == [True, True, False, True]
    assert groups[2].abs().sum().item() == 0.0
    assert groups[3, 0].item() == 0.0 and groups[3, 1:].abs().min().item() > 0.9


@pytest.fixture(scope="module")
def grpo_train():
    sys.path.insert(0, str(EXAMPLES))
    import grpo_train

    yield grpo_train
    sys.path.remove(str(EXAMPLES))


def tiny_args(model_dir, out_dir, steps: int) -> list[str]:
    return [
        "--model",
        str(model_dir),
        "--env-id",
        ENV_ID,
        "--steps",
        str(steps),
        "--output-dir",
        str(out_dir),
        "--tasks",
        "4",
        "--num-generations",
        "2",
        "--batch-size",
        "2",
        "--prompts-per-step",
        "1",
        "--max-completion-length",
        "16",
        "--max-tool-calls",
        "2",
        "--max-turns",
        "4",
        "--beta",
        "0",
        "--cpu",
    ]


def test_grpo_example_trains_two_steps_on_a_tiny_qwen3(grpo_train, tiny_qwen3_dir, tmp_path):
    trainer = grpo_train.main(tiny_args(tiny_qwen3_dir, tmp_path / "run", steps=2))
    steps = [h for h in trainer.state.log_history if "loss" in h]
    assert len(steps) == 2
    for h in steps:  # trained on the group reward; the env's own reward logged beside it
        assert {"rewards/group_preference/mean", "rewards/Orchestra_qa/mean"} <= set(h)
        assert 0.0 <= h["frac_groups_dropped"] <= 1.0
    assert trainer.reward_weights.tolist() == [1.0, 0.0]
    assert (tmp_path / "run" / "model.safetensors").exists()


def test_grpo_pays_the_group_reward_and_trains_only_valid_tool_calls(
    grpo_train, tiny_qwen3_dir, tmp_path, monkeypatch
):
    """Scripted generations: rollout 0 answers, calls a tool after its episode ended, then
    writes text; rollout 1 searches, answers, then writes a malformed call. TRL runs the env's
    tools, the reward is the group's, and only the turns that were tool calls on a live episode
    stay in the loss."""
    args = tiny_args(tiny_qwen3_dir, tmp_path, steps=1) + [
        "--max-completion-length",
        "4096",
    ]  # room for documents
    # The scripted calls name aliases, which randomisation could leave out of an episode.
    monkeypatch.setattr(trl_adapter, "training_kwargs", lambda kw: {**kw, "randomize": "none"})
    trainer = grpo_train.build_trainer(grpo_train.parse_args(args))
    tok = trainer.processing_class
    turns = [
        [call("answer", model="answer-1"), call("search", model="search-3")],
        [call("answer", model="answer-4")] * 2,
        ["Done.", '<tool_call>{"name": "answer", "arguments": {'],
    ]
    generated = []  # the number of tokens of each call's turns

    def scripted(prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        ids = [
            tok.encode(
                t.replace("<tool_call>", "<tool_call>\n").replace("</tool_call>", "\n</tool_call>")
                + "<|im_end|>",
                add_special_tokens=False,
            )
            for t in turns[len(generated)][: len(prompt_ids)]
        ]
        generated.append([len(i) for i in ids])
        return ids, None

    # Private TRL methods (tested on trl 1.x; pyproject caps the train extra below 2).
    monkeypatch.setattr(trainer, "_generate_single_turn", scripted)
    seen, batches = [], []
    tool_call_loop = trainer._tool_call_loop
    monkeypatch.setattr(
        trainer, "_tool_call_loop", lambda *a: seen.append(tool_call_loop(*a)) or seen[-1]
    )
    score = trainer._generate_and_score_completions
    monkeypatch.setattr(
        trainer,
        "_generate_and_score_completions",
        lambda x: batches.append(score(x)) or batches[-1],
    )
    trainer.train()
    log = next(h for h in trainer.state.log_history if "loss" in h)
    envs = trainer.environments
    assert log["tools/call_frequency"] > 0 and all(e.done for e in envs)
    rewards = [e.get_reward() for e in envs]
    assert log["rewards/Orchestra_qa/mean"] == pytest.approx(np.mean(rewards))  # logged only
    assert rewards == [pytest.approx(e.info["reward_terms"]["total"]) for e in envs]
    assert envs[0].info["ledger"]["calls_by_alias"] == {"answer-1": 1}
    assert envs[1].info["ledger"]["calls_by_alias"] == {"search-3": 1, "answer-4": 1}
    # The two rollouts are one GRPO group: one dataset row, one task, one preference.
    assert (
        envs[0].info["task_id"]
        == envs[1].info["task_id"]
        in set(task_dataset(ENV_ID, 4, max_turns=4)["task_id"])
    )
    base = envs[0].env.unwrapped
    preference = preset_preferences(base.profiles, base.tool_keys)[
        envs[0].info["preference"]["preset"]
    ]
    group = group_normalized(
        [e.info["outcome"] for e in envs], [e.info["ledger"] for e in envs], preference
    )
    assert log["rewards/group_preference/mean"] == pytest.approx(group.mean())
    # The paper's advantage: a z-score with the population std, so exactly -1 and +1 for two.
    assert abs(group[0] - group[1]) > 0.2 and log["frac_groups_dropped"] == 0.0
    advantages = batches[0]["advantages"].tolist()
    assert advantages == pytest.approx(list(np.sign(group - group.mean())), abs=1e-4)
    # Loss masks: rollout 0 keeps its answer only; rollout 1 its search and its answer.
    (mask0, mask1), completions = seen[0][0], seen[0][1]
    first, second, third = generated
    assert mask0[: first[0]] == [1] * first[0] and sum(mask0) == first[0]
    assert sum(mask1) == first[1] + second[1] and mask1[-third[1] :] == [0] * third[1]
    assert "tool_calls" not in completions[1][-1]  # the malformed call did not parse


def test_episode_reward_option_trains_on_the_envs_own_reward(grpo_train, tiny_qwen3_dir, tmp_path):
    args = grpo_train.parse_args(tiny_args(tiny_qwen3_dir, tmp_path, 1) + ["--reward", "episode"])
    trainer = grpo_train.build_trainer(args)
    assert trainer.reward_func_names == ["Orchestra_qa"] and trainer.reward_weights.tolist() == [
        1.0
    ]
    with pytest.raises(SystemExit):  # 1 task x 2 rollouts per step cannot split in passes of 4
        grpo_train.parse_args(tiny_args(tiny_qwen3_dir, tmp_path, 1) + ["--batch-size", "4"])
