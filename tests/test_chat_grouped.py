"""ChatPrompt (the observation as the model's prompt) and GroupedPreferenceReward (k rollouts of
one task paid the paper's group-normalised reward)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.rewards import group_normalized, preset_preferences
from orchestra_env.wrappers import ChatPrompt, GroupedPreferenceReward

SEARCH = '<tool_call>{"name": "search", "arguments": {"model": "search-2"}}</tool_call>'


def answer(alias: str) -> str:
    return (
        "<tool_call>"
        + json.dumps({"name": "answer", "arguments": {"model": alias}})
        + "</tool_call>"
    )


# -- ChatPrompt ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen3_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen3_dir)


def test_chat_prompt_holds_the_tools_and_ends_with_the_generation_prompt(tokenizer):
    raw = gym.make("ToolOrchestra-Multihop-v0")
    env = ChatPrompt(gym.make("ToolOrchestra-Multihop-v0"), tokenizer)
    prompt, _ = env.reset(seed=0)
    obs, _ = raw.reset(seed=0)
    assert isinstance(prompt, str) and env.observation_space.contains(prompt)
    assert prompt.startswith("<|im_start|>system\n" + obs["messages"][0]["content"])
    for tool in json.loads(obs["tools"]):  # every schema, prices included, inside <tools>
        assert "\n" + json.dumps(tool, ensure_ascii=False) + "\n" in prompt
    assert obs["messages"][1]["content"] in prompt
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    after, *_ = env.step(SEARCH)  # the tool's reply comes back as a tool response turn
    assert (
        "<tool_response>" in after and SEARCH in after and after.endswith("<|im_start|>assistant\n")
    )


def test_chat_prompt_token_ids_and_template_options(tokenizer):
    ids_env = ChatPrompt(gym.make("ToolOrchestra-Multihop-v0"), tokenizer, tokenize=True)
    text_env = ChatPrompt(
        gym.make("ToolOrchestra-Multihop-v0"),
        tokenizer,
        chat_template_kwargs={"enable_thinking": False},
    )
    ids, _ = ids_env.reset(seed=1)
    text, _ = text_env.reset(seed=1)
    assert ids.dtype == np.int64 and ids_env.observation_space.contains(ids)
    assert tokenizer.decode(list(ids)) + "<think>\n\n</think>\n\n" == text
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


# -- GroupedPreferenceReward ---------------------------------------------------------------------


class Recorder(gym.Wrapper):
    """Counts the steps a sub-env really takes and keeps its last info."""

    def reset(self, **kwargs):
        self.steps, (obs, self.info) = 0, self.env.reset(**kwargs)
        return obs, self.info

    def step(self, action):
        self.steps += 1
        obs, reward, terminated, truncated, self.info = self.env.step(action)
        return obs, reward, terminated, truncated, self.info


def grouped(num_groups=2, k=3, **kwargs) -> GroupedPreferenceReward:
    def make():
        return Recorder(gym.make("ToolOrchestra-Multihop-v0", max_turns=4, **kwargs))

    return GroupedPreferenceReward([make] * (num_groups * k), k)


def test_a_group_shares_its_task_and_preference_but_not_its_draws():
    envs = grouped(preference="sample")
    _, info = envs.reset(seed=0)
    tasks, seeds = info["task_id"], info["episode_seed"]
    assert len(set(tasks[:3])) == 1 and len(set(tasks[3:])) == 1 and tasks[0] != tasks[3]
    assert len(set(seeds)) == 6
    prefs = [e.unwrapped._episode.preference for e in envs.envs]
    assert prefs[0] == prefs[1] == prefs[2] and prefs[3] == prefs[4] == prefs[5]
    first, _ = envs.reset(seed=0)  # seeded: the same groups again
    assert [m[1]["content"] for m in first["messages"]] == [
        e.unwrapped._episode.messages[1]["content"] for e in envs.envs
    ]


def test_group_end_pays_the_group_normalised_preference_reward():
    envs = grouped(preference="cheap")
    base = envs.envs[0].unwrapped
    cheap = preset_preferences(base.profiles, base.tool_keys)["cheap"]
    envs.reset(seed=1)  # a seed whose two tasks some of the plans answer right
    # Member 0 of each group answers at once (then is parked); the others search first.
    plans = [
        [answer("answer-1"), SEARCH],
        [SEARCH, answer("answer-1")],
        [SEARCH, answer("answer-2")],
    ]
    _, r0, term0, trunc0, info0 = envs.step([plans[i % 3][0] for i in range(6)])
    assert not (term0 | trunc0).any() and list(info0["parked"]) == [True, False, False] * 2
    assert (r0 == 0).all()
    _, r1, term1, _, info1 = envs.step([plans[i % 3][1] for i in range(6)])
    assert (
        term1.all() and envs.envs[0].steps == 1 and envs.envs[3].steps == 1
    )  # parked: not stepped
    for g in (0, 3):
        members = envs.envs[g : g + 3]
        expected = group_normalized(
            [m.info["outcome"] for m in members], [m.info["ledger"] for m in members], cheap
        )
        np.testing.assert_allclose(r1[g : g + 3], expected)
        np.testing.assert_allclose(info1["group_reward"][g : g + 3], expected)
        assert all(r1[g + j] == 0 for j, m in enumerate(members) if not m.info["outcome"])
    assert (r1 > 0).any(), "the scripted plans answer some tasks right"
    # Next-step autoreset: the whole group restarts together on a fresh shared task.
    _, r2, term2, trunc2, info2 = envs.step([SEARCH] * 6)
    assert (r2 == 0).all() and not (term2 | trunc2).any()
    assert len(set(info2["task_id"][:3])) == 1 and info2["task_id"][0] != info1["task_id"][0]
    assert all(e.steps == 0 for e in envs.envs)


def test_group_size_is_checked():
    with pytest.raises(ValueError, match="multiple of group_size"):
        GroupedPreferenceReward([lambda: gym.make("ToolOrchestra-Multihop-v0")] * 3, 2)
    with pytest.raises(ValueError, match="group_size must be >= 2"):
        GroupedPreferenceReward([lambda: gym.make("ToolOrchestra-Multihop-v0")] * 2, 1)
