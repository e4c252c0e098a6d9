"""Gymnasium conformance: check_env, spaces, vector envs, lifecycle."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import orchestra_env
from orchestra_env import OrchestraEnv

ENV_IDS = list(orchestra_env.ENV_FAMILIES)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_via_make(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped)
    check_env(env, skip_render_check=True)
    env.close()


def test_check_env_toolorchestra_render():
    check_env(OrchestraEnv("multihop", render="toolorchestra"))


def test_make_by_module_path():
    env = gym.make("orchestra_env:ToolOrchestra-Multihop-v0")
    assert isinstance(env.unwrapped, OrchestraEnv)


def test_observation_is_in_space_every_step():
    env = OrchestraEnv(max_turns=6)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        done = terminated or truncated


def test_action_space_accepts_any_text_and_samples_valid_calls():
    env = OrchestraEnv()
    for text in ["", "{}", '<tool_call>{"a": 1}</tool_call>', "中文 ✓\n\t"]:
        assert env.action_space.contains(text)
    env.reset(seed=0)
    for _ in range(20):
        _, _, _, _, info = env.step(env.action_space.sample())
        assert "error" not in info
        if env._done:
            env.reset()


def test_messages_ready_for_chat_templates():
    env = OrchestraEnv()
    obs, _ = env.reset(seed=1)
    roles = [m["role"] for m in obs["messages"]]
    assert roles == ["system", "user"]
    obs, *_ = env.step(
        '<tool_call>{"name": "search", "arguments": {"model": "search-3"}}</tool_call>'
    )
    assert [m["role"] for m in obs["messages"]][2:] == ["assistant", "tool"]
    assert all(set(m) == {"role", "content"} for m in obs["messages"])


def test_tools_carry_prices():
    env = OrchestraEnv()
    obs, _ = env.reset(seed=0)
    import json

    tools = {t["function"]["name"]: t["function"] for t in json.loads(obs["tools"])}
    assert set(tools) == {"search", "enhance_reasoning", "answer"}
    price = env.profiles.model_of("answer-1").price  # $/M tokens in / out, as loaded
    assert f"{price.input_per_mtok:g} / {price.output_per_mtok:g}" in tools["answer"]["description"]
    assert tools["answer"]["parameters"]["properties"]["model"]["enum"][0] == "answer-1"


def test_step_after_end_raises_and_close_is_idempotent():
    env = OrchestraEnv()
    env.reset(seed=0)
    env.step('<tool_call>{"name": "answer", "arguments": {"model": "answer-4"}}</tool_call>')
    with pytest.raises(gym.error.ResetNeeded):
        env.step("anything")
    env.close()
    env.close()


@pytest.mark.parametrize("vector_cls", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_envs(vector_cls, env_id):
    kwargs = {"shared_memory": False} if vector_cls is gym.vector.AsyncVectorEnv else {}
    envs = vector_cls([lambda: gym.make(env_id, max_turns=4)] * 2, **kwargs)
    obs, infos = envs.reset(seed=11)
    assert len(obs["messages"]) == 2
    assert obs["preference"].shape[0] == 2
    for _ in range(6):
        obs, rewards, terms, truncs, infos = envs.step(envs.action_space.sample())
        assert rewards.shape == (2,)
    envs.close()


def test_bad_options_give_clear_errors():
    with pytest.raises(ValueError, match="unknown task families"):
        OrchestraEnv("nope")
    with pytest.raises(ValueError, match="render must be one of"):
        OrchestraEnv(render="html")
    with pytest.raises(ValueError, match="unknown tools or aliases"):
        OrchestraEnv(tools=["search-9"])
    with pytest.raises(ValueError, match="would have no model alias"):
        OrchestraEnv(tools=["search-1", "answer-1"])
    with pytest.raises(ValueError, match="unknown price table"):
        OrchestraEnv(prices="acme")
    with pytest.raises(ValueError, match="preference must be"):
        OrchestraEnv(preference="greedy")
    env = OrchestraEnv()
    with pytest.raises(ValueError, match="unknown task id"):
        env.reset(options={"task_id": "multihop/x"})


def test_budget_and_turn_truncation():
    env = OrchestraEnv(max_turns=3)
    env.reset(seed=0)
    search = '<tool_call>{"name": "search", "arguments": {"model": "search-1"}}</tool_call>'
    results = [env.step(search) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    assert results[-1][4]["outcome"] == 0

    env = OrchestraEnv(max_cost_usd=1e-9)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(search)
    assert truncated and not terminated and info["ledger"]["cost_usd"] > 1e-9


def test_preference_vector_and_instruction():
    env = OrchestraEnv(preference="avoid_paid_apis")
    obs, _ = env.reset(seed=0)
    keys = ("outcome", "cost", "latency") + env.tool_keys
    weights = dict(zip(keys, obs["preference"].tolist(), strict=True))
    assert weights["outcome"] == 1.0 and weights["search-1"] == 0.0 and weights["search-3"] == 1.0
    assert "Avoid paid APIs" in obs["messages"][1]["content"]
    sampled = {OrchestraEnv().reset(seed=s)[0]["preference"].tobytes() for s in range(30)}
    assert len(sampled) > 1


def test_tool_subsample_keeps_one_alias_per_tool():
    env = OrchestraEnv(tool_subsample=0.7)
    import json

    seen = set()
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        names = {t["function"]["name"] for t in json.loads(obs["tools"])}
        assert names == {"search", "enhance_reasoning", "answer"}
        seen.add(info["tools_offered"])
    assert len(seen) > 5


def test_prices_option_changes_charges():
    answer = '<tool_call>{"name": "answer", "arguments": {"model": "answer-1"}}</tool_call>'
    costs = []
    for prices in ("paper", {"gpt-5": (12.5, 100.0)}):
        env = OrchestraEnv(prices=prices, policy_model=None)
        env.reset(seed=5)
        costs.append(env.step(answer)[4]["ledger"]["cost_usd"])
    assert costs[1] == pytest.approx(10 * costs[0], rel=1e-6)
    assert np.isfinite(costs).all()


def test_price_jitter_changes_prices_shown_and_charged():
    import json
    import re

    env = OrchestraEnv(price_jitter=0.7, policy_model=None)
    answer = '<tool_call>{"name": "answer", "arguments": {"model": "answer-2"}}</tool_call>'
    seen = set()
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        desc = next(
            t["function"]["description"]
            for t in json.loads(obs["tools"])
            if t["function"]["name"] == "answer"
        )
        price_in, price_out = map(
            float,
            re.search(
                r"\| answer-2 \| GPT-5-mini \| [^|]+ \| ([\d.e-]+) / ([\d.e-]+) \|", desc
            ).groups(),
        )
        ledger = env.step(answer)[4]["ledger"]
        charged = (
            ledger["prompt_tokens"] * price_in + ledger["completion_tokens"] * price_out
        ) / 1e6
        assert ledger["cost_usd"] == pytest.approx(charged, rel=1e-3)  # shown prices are charged
        seen.add(price_in)
    assert len(seen) == 5


def test_info_carries_the_prices_charged_and_the_preference():
    env = gym.make(
        "ToolOrchestra-Multihop-v0",
        price_jitter=0.7,
        policy_model=None,
        preference="avoid_paid_apis",
        tool_subsample=0.5,
    )
    answer = '<tool_call>{{"name": "answer", "arguments": {{"model": "{}"}}}}</tool_call>'
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert set(info["prices"]) == set(info["tools_offered"])
        alias = next(a for a in info["prices"] if a.startswith("answer-"))
        price = info["prices"][alias]
        *_, step_info = env.step(answer.format(alias))
        ledger = step_info["ledger"]
        charged = ledger["prompt_tokens"] * price["input_per_mtok"]
        charged += ledger["completion_tokens"] * price["output_per_mtok"]
        assert ledger["cost_usd"] == charged / 1e6  # exactly the prices in force
        assert step_info["prices"] == info["prices"] and step_info["prices"] is not info["prices"]
        model = env.unwrapped.profiles.models[price["model"]]
        assert price["paid_api"] == model.paid_api
        assert price["input_per_mtok"] != model.price.input_per_mtok  # jittered
    preference = info["preference"]
    assert preference["preset"] == "avoid_paid_apis" and preference["avoid_paid_apis"]
    custom = env.reset(seed=0, options={"preference": {"latency": 0.7}})[1]["preference"]
    assert custom["preset"] is None and custom["latency"] == 0.7 and not custom["avoid_paid_apis"]


def test_profiles_set_the_families_difficulty_offsets():
    import dataclasses

    from orchestra_env.models.profiles import default_profiles

    bundled = default_profiles()
    harder = {"knowledge": 2.0, "reasoning": 1.0}
    custom = dataclasses.replace(bundled, difficulty_offsets={"multihop": harder})
    plain = OrchestraEnv(families=["multihop", "reasoning"])
    tuned = OrchestraEnv(families=["multihop", "reasoning"], profiles=custom)
    task, same = plain.suite.task("multihop/7"), tuned.suite.task("multihop/7")
    from orchestra_env.core import Evidence

    before = task.demands("answer", Evidence())
    after = same.demands("answer", Evidence())
    assert [c.key for c in after] == [c.key for c in before]
    assert [c.difficulty for c in after] == pytest.approx(
        [c.difficulty + harder.get(c.skill, 0.0) for c in before]
    )
    # a family the profiles do not name keeps the bundled offset
    assert tuned.suite.family("reasoning").offset == plain.suite.family("reasoning").offset


_HOSTILE = [
    "<tool_call>" + "[" * 3_000,
    '{"name": "search", "arguments": {"model": ' + "9" * 5_000 + "}}",
    '<think>plan <tool_call>{"name": "answer", "arguments": {"model": "answer-1"}}</tool_call>',
    ("spam " * 30_000)[: 1 << 20],
]


@pytest.mark.parametrize("action", _HOSTILE, ids=["deep", "huge-int", "open-think", "over-cap"])
def test_malformed_action_is_one_whole_turn(action):
    """Counted, billed for what the policy read and wrote, recorded, answered, penalised."""
    from orchestra_env import tokens

    env = OrchestraEnv(max_format_errors=10)
    obs, _ = env.reset(seed=0)
    read = tokens.count(obs["tools"]) + sum(tokens.count(m["content"]) for m in obs["messages"])
    ep, before = env._episode, env._episode.ledger.as_dict()
    obs, reward, terminated, truncated, info = env.step(action)
    cap = env.action_space.max_length
    assert (ep.turns, ep.format_errors, len(ep.messages)) == (1, 1, 4)
    assert reward == -env.format_penalty and not (terminated or truncated)
    assert info["ledger"]["prompt_tokens"] - before["prompt_tokens"] == read
    assert info["ledger"]["completion_tokens"] == tokens.count(action[:cap])
    assert obs["messages"][2] == {"role": "assistant", "content": action[:cap]}
    assert obs["messages"][3]["content"].startswith("Error: ")
    assert env.observation_space.contains(obs)


def test_non_text_actions_are_echoed_briefly():
    env = OrchestraEnv()
    env.reset(seed=0)
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    obs, reward, _, _, info = env.step(deep)
    assert info["error"] == "action must be a string, got list"
    assert len(obs["messages"][2]["content"]) < 100
    assert info["ledger"]["completion_tokens"] == 0


@pytest.mark.parametrize(
    "value, expected",
    [
        ("NaN", "argument 'amount': NaN is not a finite number"),
        (
            "1" + "0" * 20,
            "argument 'amount': integer out of range (tools take -2**63 to 2**63 - 1)",
        ),
        ('"10\\udc00"', "argument 'amount': lone surrogate at position 2, not valid UTF-8"),
    ],
)
def test_hostile_domain_arguments_never_reach_the_database(value, expected):
    env = gym.make("ToolOrchestra-FunctionCalling-Bank-v0")
    env.reset(seed=0)
    args = '{"from_account_id": "A-1", "to_account_id": "A-2", "amount": ' + value + "}"
    _, _, _, _, info = env.step('<tool_call>{"name": "transfer_funds", "arguments": ' + args + "}")
    assert info["error"] == f"tool 'transfer_funds': {expected}"


class _DownExpert:
    """An expert whose server is down: every call raises."""

    def complete(self, request):
        raise ConnectionError("expert server down")


def test_a_tool_that_raises_leaves_the_turn_untaken():
    env = gym.make("ToolOrchestra-Multihop-v0", experts=_DownExpert())
    env.reset(seed=0)
    before = env.unwrapped._episode.turns, env.unwrapped._episode.ledger.as_dict()
    action = '<tool_call>{"name": "search", "arguments": {"model": "search-1"}}</tool_call>'
    with pytest.raises(ConnectionError):
        env.step(action)
    after = env.unwrapped._episode.turns, env.unwrapped._episode.ledger.as_dict()
    assert after == before  # not counted, not billed: stepping again repeats the same turn
