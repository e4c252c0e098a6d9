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
    environment_factories,
    task_dataset,
    task_rows,
)

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
    assert len(steps) == 2 and all("rewards/Orchestra_qa/mean" in h for h in steps)
    assert (tmp_path / "run" / "model.safetensors").exists()


def test_grpo_reward_comes_from_the_envs_grading(grpo_train, tiny_qwen3_dir, tmp_path, monkeypatch):
    """With scripted generations (one rollout answers at once, the other searches, then
    answers), TRL runs the env's tools and its reward is each environment's graded reward."""
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
    ]
    calls = []

    def scripted(prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        texts = turns[len(calls)] if len(calls) < len(turns) else ["Done."] * len(prompt_ids)
        calls.append(len(prompt_ids))
        return [
            tok.encode(
                t.replace("<tool_call>", "<tool_call>\n").replace("</tool_call>", "\n</tool_call>")
                + "<|im_end|>",
                add_special_tokens=False,
            )
            for t in texts[: len(prompt_ids)]
        ], None

    # A private TRL method (tested on trl 1.x; pyproject caps the train extra below 2).
    monkeypatch.setattr(trainer, "_generate_single_turn", scripted)
    trainer.train()
    log = next(h for h in trainer.state.log_history if "loss" in h)
    envs = trainer.environments
    assert log["tools/call_frequency"] > 0 and all(e.done for e in envs)
    rewards = [e.get_reward() for e in envs]
    assert log["rewards/Orchestra_qa/mean"] == pytest.approx(np.mean(rewards))
    assert rewards == [pytest.approx(e.info["reward_terms"]["total"]) for e in envs]
    assert envs[0].info["ledger"]["calls_by_alias"] == {"answer-1": 1}
    assert envs[1].info["ledger"]["calls_by_alias"] == {"search-3": 1, "answer-4": 1}
    # The two rollouts are one GRPO group: one dataset row, one task, one preference.
    assert (
        envs[0].info["task_id"]
        == envs[1].info["task_id"]
        in set(task_dataset(ENV_ID, 4, max_turns=4)["task_id"])
    )
