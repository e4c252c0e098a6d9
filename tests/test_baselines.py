"""The bundled baselines: preference-aware routers and the agent registry the CLI builds from."""

import json

import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.baselines.routers import CheapestFirst, EvidenceFirst
from orchestra_env.eval import AgentSpec, agent_names, evaluate, make_agent
from orchestra_env.eval.records import read_run
from orchestra_env.models.profiles import default_profiles
from orchestra_env.rewards import Preference

from .conftest import play

SEEDS = range(30)


def episodes(agent, preference):
    env = OrchestraEnv(split="test")
    return [play(env, agent, seed=s, options={"preference": preference}) for s in SEEDS], env


def models_called(actions, env):
    called = []
    for action in actions:
        arguments = json.loads(action.removeprefix("<tool_call>").removesuffix("</tool_call>"))[
            "arguments"
        ]
        alias = arguments.get("model") or arguments.get("expert")
        called.append((env.profiles.aliases[alias].model, arguments.get("source", "local")))
    return called


@pytest.mark.parametrize("router", [EvidenceFirst(), CheapestFirst()], ids=lambda r: r.name)
def test_routers_honour_avoid_paid_apis(router):
    played, env = episodes(router, "avoid_paid_apis")
    for actions, _, _ in played:
        for model, source in models_called(actions, env):
            assert not default_profiles().models[model].paid_api and source == "local"


@pytest.mark.parametrize("router", [EvidenceFirst(), CheapestFirst()], ids=lambda r: r.name)
def test_routers_read_the_preference_not_its_wording(router):
    # The flag alone, with no instruction for the user to read: the routers still honour it
    # (they read info["preference"]); without the flag they do call paid models.
    def paid_calls(preference):
        played, env = episodes(router, preference)
        called = [m for actions, _, _ in played for m, _ in models_called(actions, env)]
        return sum(default_profiles().models[m].paid_api for m in called)

    assert paid_calls(Preference(avoid_paid_apis=True)) == 0 < paid_calls(Preference())


@pytest.mark.parametrize("router", [EvidenceFirst(), CheapestFirst()], ids=lambda r: r.name)
def test_routers_are_faster_when_asked_to_be(router):
    def mean_latency(preference):
        played, _ = episodes(router, preference)
        return sum(info["ledger"]["latency_s"] for _, info, _ in played) / len(played)

    assert mean_latency("fast") < 0.8 * mean_latency("accuracy")


@pytest.mark.parametrize("preference", ["accuracy", "avoid_paid_apis"])
def test_cheapest_first_reads_the_episodes_prices(preference):
    def first_model(prices):
        env = OrchestraEnv(split="test", prices=prices, preference=preference)
        played = [play(env, CheapestFirst(), seed=s) for s in range(5)]
        return {models_called(actions, env)[0][0] for actions, _, _ in played}

    assert first_model("paper") == {"qwen3-32b"}
    # GPT-5 made the cheapest model: the router follows the prices, unless told to avoid it.
    swapped = {"gpt-5": (0.01, 0.01)}
    assert first_model(swapped) == ({"qwen3-32b"} if preference == "avoid_paid_apis" else {"gpt-5"})


def test_registry_names_the_papers_baselines():
    names = set(agent_names())
    assert {
        "alone",
        "basic-tools",
        "orchestrator-8b",
        "gpt-5",
        "qwen3-8b",
        "llama-3.3-70b",
        "oracle",
    } <= names
    # Agents that need something of the env say so; the evaluator passes it on.
    assert AgentSpec("orchestrator-8b").env_kwargs()["render"] == "orchestrator-8b"
    assert AgentSpec("llama-3.3-70b").env_kwargs() == {"policy_model": "llama-3.3-70b"}


def test_llm_presets_need_an_endpoint(monkeypatch):
    for var in ("OPENAI_BASE_URL", "ORCHESTRA_QWEN3_8B_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="ORCHESTRA_QWEN3_8B_BASE_URL"):
        make_agent("qwen3-8b")


def test_evaluate_gives_the_env_what_the_agent_needs(tmp_path):
    spec = AgentSpec("basic-tools", {"model": "gpt-5"}, "GPT-5 + basic tools")
    path = evaluate(
        spec, "ToolOrchestra-Multihop-v0", episodes=3, out=tmp_path / "r.jsonl", progress=False
    )
    header, records = read_run(path)
    assert header.env_kwargs["policy_model"] == "gpt-5"  # recorded, so a resume must match it
    assert len(records) == 3
    for r in records:
        assert set(r.calls_by_alias) <= {"search@gpt-5", "enhance_reasoning@gpt-5", "answer@gpt-5"}
