"""The bundled baselines: preference-aware routers and the agent registry the CLI builds from."""

import json

import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.baselines.routers import CheapestFirst, EvidenceFirst
from orchestra_env.eval import AgentSpec, agent_names, evaluate, make_agent
from orchestra_env.eval.records import read_run
from orchestra_env.models.profiles import default_profiles
from orchestra_env.observation import menu
from orchestra_env.rewards import Preference

from .conftest import play

SEEDS = range(30)


def episodes(agent, preference):
    env = OrchestraEnv(split="test")
    return [play(env, agent, seed=s, options={"preference": preference}) for s in SEEDS], env


def call_of(action):
    """The {"name", "arguments"} of a router's one-call action."""
    return json.loads(action.removeprefix("<tool_call>").removesuffix("</tool_call>"))


def models_called(actions, env):
    called = []
    for action in actions:
        arguments = call_of(action)["arguments"]
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
    # The preference's data alone (the flag and the aliases it welcomes), with no instruction
    # for the user to read: the routers still honour it; without it they do call paid models.
    def paid_calls(preference):
        played, env = episodes(router, preference)
        called = [m for actions, _, _ in played for m, _ in models_called(actions, env)]
        return sum(default_profiles().models[m].paid_api for m in called)

    welcomed = OrchestraEnv(split="test").reset(seed=0, options={"preference": "avoid_paid_apis"})
    tools = welcomed[1]["preference"]["tools"]
    assert paid_calls(Preference(avoid_paid_apis=True, tools=tools)) == 0 < paid_calls(Preference())


@pytest.mark.parametrize("router", [EvidenceFirst(), CheapestFirst()], ids=lambda r: r.name)
def test_routers_are_faster_when_asked_to_be(router):
    def mean_latency(preference):
        played, _ = episodes(router, preference)
        return sum(info["ledger"]["latency_s"] for _, info, _ in played) / len(played)

    assert mean_latency("fast") < 0.8 * mean_latency("accuracy")


def called(actions, info, tool):
    """The models of the episode's `tool` calls, by its price sheet (the aliases' models)."""
    calls = [call_of(a) for a in actions]
    return [info["prices"][c["arguments"]["model"]]["model"] for c in calls if c["name"] == tool]


@pytest.mark.parametrize("preference", ["accuracy", "avoid_paid_apis"])
@pytest.mark.parametrize("router", [EvidenceFirst, CheapestFirst], ids=lambda r: r.name)
def test_routers_read_the_episodes_prices(router, preference):
    def models(prices, tool, pick):
        env = OrchestraEnv(split="test", prices=prices, preference=preference)
        played = [play(env, router(), seed=s) for s in range(5)]
        return {pick(called(actions, info, tool)) for actions, info, _ in played}

    def first_search(prices):
        return models(prices, "search", lambda ms: ms[0])

    avoid = preference == "avoid_paid_apis"
    assert first_search("paper") == {"qwen3-32b"}
    # GPT-5 made the cheapest model: the routers follow the prices, unless told to avoid it.
    swapped = {"gpt-5": (0.01, 0.01)}
    assert first_search(swapped) == ({"qwen3-32b"} if avoid else {"gpt-5"})
    if router is EvidenceFirst:
        # It answers with the mid-priced generalist: GPT-5-mini at the paper's prices; once
        # GPT-5 is the cheapest, the median moves a rank down to Llama (the open pick anyway).
        def answerer(prices):
            return models(prices, "answer", lambda ms: ms[-1])

        assert answerer("paper") == ({"llama-3.3-70b"} if avoid else {"gpt-5-mini"})
        assert answerer(swapped) == {"llama-3.3-70b"}


@pytest.mark.parametrize("router", [EvidenceFirst, CheapestFirst], ids=lambda r: r.name)
def test_routers_follow_the_printed_prices_when_aliases_are_reshuffled(router):
    # randomize="paper": each episode serves every alias by another model at another price, so
    # a fixed alias would be a random model; the routers read the tables the tools print.
    env = OrchestraEnv(split="test", randomize="paper", preference="accuracy")
    first = set()
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        agent = router()
        agent.reset(obs, info)
        call = call_of(agent.act(obs))
        listed = {a: e for a, e in menu(obs).items() if e.tool == "search"}
        general = {a: e for a, e in listed.items() if "specialist" not in e.strengths} or listed
        cheapest = min(general.values(), key=lambda e: e.input_per_mtok + e.output_per_mtok)
        assert listed[call["arguments"]["model"]] == cheapest
        first.add(call["arguments"]["model"])
    assert len(first) > 1  # the cheapest model sits behind different aliases


@pytest.mark.parametrize("router", [EvidenceFirst, CheapestFirst], ids=lambda r: r.name)
def test_routers_avoid_paid_apis_when_aliases_are_reshuffled(router):
    # Whichever aliases the open models sit behind this episode, the routers call those (the
    # ones the preference welcomes), unless the episode offers a tool only through paid ones.
    env = OrchestraEnv(split="test", randomize="paper", preference="avoid_paid_apis")
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        actions, _, _ = play(env, router(), seed=seed)
        open_tools = {e.tool for a, e in menu(obs).items() if a in info["preference"]["tools"]}
        for tool in open_tools & {"search", "enhance_reasoning", "answer"}:
            paid = [m for m in called(actions, info, tool) if default_profiles().models[m].paid_api]
            assert not paid, (
                f"seed {seed}: {tool} called paid {paid} though an open one was offered"
            )


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
