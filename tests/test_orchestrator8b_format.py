"""render="orchestrator-8b": the released Orchestrator-8B's interface, byte for byte.

The expected strings are written here from the released interface (typos included: the
checkpoint was trained on them); the episodes are fixed (a scripted corpus, experts and
sandbox), so every byte of the prompt is known in advance."""

from __future__ import annotations

import json
from dataclasses import dataclass

import gymnasium as gym
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env import env as env_module
from orchestra_env import tokens
from orchestra_env.env import OrchestraEnv
from orchestra_env.models.base import ExpertReply
from orchestra_env.models.profiles import load_profiles
from orchestra_env.models.simulated import SimulatedExperts
from orchestra_env.tools.catalogue import o8b_qa_tool_specs
from orchestra_env.tools.o8b_experts import keep_end

TABLE = "Model | price per million input tokens | price per million output tokens | average latency"
ENHANCE_REASONING = {
    "type": "function",
    "function": {
        "name": "enhance_reasoning",
        "description": "tool to enhance answer model reasoning. analyze the problem, write code, "
        "execute it and return intermidiate results that will help solve the problem",
        "parameters": {
            "properties": {
                "model": {
                    "description": "The model used to reason. Choices: ['reasoner-1', "
                    "'reasoner-2', 'reasoner-3']. reasoner-1 demonstrates strong understanding "
                    "and reasoning capabilities, which usually provides reliable insights. "
                    "reasoner-2 can analyze some problems, but could hallucinate and make "
                    "mistakes in difficult scenarios. reasoner-3 can reason over the context and "
                    f"reveal the logic. \n{TABLE}\nreasoner-1 | $1.25 | $10 | 31s\n"
                    "reasoner-2 | $0.25 | $2 | 25s\nreasoner-3 | $0.8 | $0.8 | 9s",
                    "type": "string",
                }
            },
            "required": ["model"],
            "title": "parameters",
            "type": "object",
        },
    },
}
ANSWER = {
    "type": "function",
    "function": {
        "name": "answer",
        "description": "give the final answer. Not allowed to call if documents is empty.",
        "parameters": {
            "properties": {
                "model": {
                    "description": "The model used to answer. Choices: ['answer-1', 'answer-2', "
                    "'answer-3', 'answer-4', 'answer-math-1', 'answer-math-2']. answer-1 exhibits "
                    "strong functional calling abilities and performs excellent in most domains "
                    "(math, physics, social science, etc.). answer-2 presents reasonable "
                    "solutions in some tasks, but could get stuck in complex reasoning and "
                    "specific domain knowledge. answer-3 could solve easy to medium tasks, but is "
                    "not capable of tackling tasks with strong expertise and long-horizon "
                    "planning. answer-4 demonstrates basic capability: it can understand basic "
                    "instructions, do simple steps, yet it sometimes misreads details, mixes "
                    "concepts. answer-math-1 can solve moderate (middle school) math problem, "
                    "though it becomes incapable in more difficult tasks. answer-math-2 can "
                    "follow simple instructions and perform easy (primary-level) math problems, "
                    "but struggle in more complex logic. The table below shows the pricing and "
                    f"latency of each model:\n{TABLE}\nanswer-1 | $1.25 | $10 | 96s\n"
                    "answer-2 | $0.25 | $2 | 27s\nanswer-3 | $0.9 | $0.9 | 15s\n"
                    "answer-4 | $0.8 | $0.8 | 11s\nanswer-math-1 | $0.9 | $0.9 | 13s\n"
                    "answer-math-2 | $$0.2 | $0.2 | 9s",
                    "type": "string",
                }
            },
            "required": ["model"],
            "title": "parameters",
            "type": "object",
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search for missing information",
        "parameters": {
            "properties": {
                "model": {
                    "description": "The model used to search for missing information. Choices: "
                    "['search-1', 'search-2', 'search-3']. search-1 usually identifies the "
                    "missing information and can write concise queries for effective search. "
                    "search-2 can reason over the context and write queries to find the missing "
                    "content for answering questions. search-3 can also write queries to find "
                    "information. The table below shows the pricing and latency:\n"
                    f"{TABLE}\nsearch-1 | $1.25 | $10 | 22s\nsearch-2 | $0.25 | $2 | 16s\n"
                    "search-3 | $0.8 | $0.8 | 8s",
                    "type": "string",
                }
            },
            "required": ["model"],
            "title": "parameters",
            "type": "object",
        },
    },
}
CALL_EXPERT = {
    "type": "function",
    "function": {
        "name": "call_expert",
        "description": "Call the expert such that the user request can be better solved "
        "compared to existing functions",
        "parameters": {
            "properties": {
                "expert": {
                    "description": "The expert. Choices: ['expert-1', 'expert-2', 'expert-3']. "
                    "expert-1 exhibits strong functional calling abilities and performs "
                    "excellent in most domains (math, physics, social science, etc.), but could "
                    "lack domain knowledge in some cases. expert-2 presents reasonable solutions "
                    "in most tasks, but could get stuck in complex reasoning and specific domain "
                    "knowledge. expert-3 demonstrates moderate performance: it can parse complex "
                    "prompts, performs some mathematical derivations, call functions, yet it "
                    "sometimes misreads details, mixes concepts. The table below shows the "
                    f"pricing and latency of each model:\n{TABLE}\nexpert-1 | $1.25 | $10 | 96s\n"
                    "expert-2 | $0.25 | $2 | 27s\nexpert-3 | $0.8 | $0.8 | 11s",
                    "title": "Expression",
                    "type": "string",
                }
            },
            "required": ["expert"],
            "title": "parameters",
            "type": "object",
        },
    },
}
FC_SYSTEM = (
    "<instructions>\nYou are a customer service agent that helps the user according to the "
    "<policy> provided below.\nIn each turn you can either:\n- Send a message to the user.\n"
    "- Make a tool call.\nYou cannot do both at the same time.\n\nTry to be helpful and always "
    "follow the policy. Always make sure you generate valid JSON only.\n</instructions>\n"
    "<policy>\n{policy}\n</policy>  You are dedicated to provide the best service. Wrap thinking "
    "process between <think> </think>, message between <message> </message> and the tool call "
    "between <tool_call> </tool_call> ."
)
EXPERT_POLICY = (
    "You should transfer the user to an expert if you are not confident about how to reply or "
    "which tool to use. To transfer, first make a tool call to call_expert, and then choose an "
    "expert based on the task difficulty, i.e. strong expert on tricky task, and weaker expert on "
    "simpler task. Think carefully about whether you are confident to meet user expectation, or "
    "call an appropriate expert based on both expert cost and performance."
)
LONG = "x" * 1300
DOCUMENTS = {
    1: ("Ada", "Ada was born in Paris."),
    2: ("Paris", "Paris has 2,100,000 people."),
    3: ("Bob", LONG),
    4: ("Lyon", "Lyon has 500,000 people."),
}


def call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


class ScriptedExperts:
    """Experts whose replies are fixed per role (the query, the program, the answer)."""

    def __init__(self, programs):
        self.programs = list(programs)

    def complete(self, request):
        text = {
            "search": lambda: "<query>where was ada born</query>",
            "reason": lambda: f"```python\n{self.programs.pop(0)}\n```",
            "answer": lambda: "<answer>2100000</answer>",
        }[request.role]()
        return ExpertReply(text, prompt_tokens=10, completion_tokens=5, seconds=1.0)


@dataclass
class Ran:
    stdout: str
    status: str = "ok"
    cpu_seconds: float = 0.1

    def as_text(self) -> str:
        return self.stdout or "(no output)"


@pytest.fixture
def qa_env(monkeypatch):
    """A multihop env over four known documents: searches return (1, 2, 3), then (2, 4)."""
    results, searched = [(1, 2, 3), (2, 4)], []

    class Corpus:
        def document(self, doc_id):
            return DOCUMENTS[doc_id]

        def search(self, query, k, source):
            searched.append(source)
            return results.pop(0)

    monkeypatch.setattr(
        env_module, "_run_code", lambda code: Ran("2100000\n" if "print" in code else "")
    )
    env = OrchestraEnv(
        "multihop",
        render="orchestrator-8b",
        experts=ScriptedExperts(["print(2100000)", "x = 1"]),
        preference="cheap",  # a preset with an instruction: the released prompt shows none
    )
    env._corpus = Corpus()
    env.searched = searched
    return env


def test_question_answering_prompt_is_the_released_one_byte_for_byte(qa_env):
    obs, info = qa_env.reset(seed=0)
    problem = qa_env._episode.task.prompt
    assert obs["messages"] == (
        {"role": "system", "content": "You are good at using tools."},
        {"role": "user", "content": f"Problem: {problem}\n\n\n\nChoose an appropriate tool.'"},
    )
    assert json.loads(obs["tools"]) == [ENHANCE_REASONING, ANSWER, SEARCH]
    for action in (
        call("search", model="search-2"),
        call("enhance_reasoning", model="reasoner-3"),
        call("enhance_reasoning", model="reasoner-3"),  # prints nothing: not kept
        call("search", model="search-1"),
    ):
        obs, _, terminated, truncated, info = qa_env.step(action)
        assert "error" not in info and not (terminated or truncated)
    bob = f"Bob\n{LONG}"[:1200]
    assert obs["messages"][1]["content"] == (
        f"Problem: {problem}\n\nDocuments:\n"
        f"Doc 1: {bob} ...\n\n"
        "Doc 2: Paris\nParis has 2,100,000 people. ...\n\n"
        "Doc 3: Ada\nAda was born in Paris. ...\n\n"
        "Doc 4: Lyon\nLyon has 500,000 people. ...\n\n"
        "\npython code and execution outputs:\n"
        "```python\nprint(2100000)\n```\n\n```output\n2100000\n\n```\n\n"
        "\n\nChoose an appropriate tool.'"
    )
    # One search covers every source: the web corpus, charged as a web search.
    assert qa_env.searched == ["web", "web"] and info["ledger"]["calls"]["web_search"] == 2


def test_code_alone_is_listed_without_a_documents_header(qa_env):
    qa_env.reset(seed=0)
    problem = qa_env._episode.task.prompt
    obs, *_ = qa_env.step(call("enhance_reasoning", model="reasoner-1"))
    assert obs["messages"][1]["content"] == (
        f"Problem: {problem}\n\n\npython code and execution outputs:\n"
        "```python\nprint(2100000)\n```\n\n```output\n2100000\n\n```\n\n"
        "\n\nChoose an appropriate tool.'"
    )


def test_a_model_outside_the_choices_loses_the_turn(qa_env):
    qa_env.reset(seed=0)
    obs, reward, terminated, truncated, info = qa_env.step(call("search", model="search-9"))
    assert "search-9" in info["error"] and info["format_errors"] == 1
    assert not (terminated or truncated) and info["ledger"]["calls"] == {}


def test_tables_show_the_prices_in_force_and_follow_remapped_models():
    env = OrchestraEnv("multihop", render="orchestrator-8b", prices={"gpt-5": (2, 16)})
    obs, info = env.reset(seed=0)
    search = json.loads(obs["tools"])[2]["function"]["parameters"]["properties"]["model"]
    assert "\nsearch-1 | $2 | $16 | 22s\n" in search["description"]
    assert info["prices"]["search-1"]["input_per_mtok"] == 2
    # The released typo belongs to the released price: another price gets a plain row.
    cheap = OrchestraEnv("multihop", render="orchestrator-8b", prices={"qwen2.5-math-7b": (1, 1)})
    answer = json.loads(cheap.reset(seed=0)[0]["tools"])[1]["function"]["parameters"]
    assert answer["properties"]["model"]["description"].endswith("\nanswer-math-2 | $1 | $1 | 9s")
    profiles = load_profiles().with_aliases(
        {"answer-1": ("answer", "qwen3-32b"), "search-3": ("search", "claude-opus-4.1")}
    )
    specs = {
        s.name: s.openai()["function"]
        for s in o8b_qa_tool_specs(profiles, ["answer-1", "search-3"])
    }
    assert "answer-1 demonstrates basic capability:" in json.dumps(specs["answer"])
    assert "search-3 is a frontier model; very expensive." in json.dumps(specs["search"])


def test_keep_end_keeps_the_longest_end_that_fits():
    text = "".join(f"Paragraph {i} about the problem.\n\n" for i in range(200))
    cut = keep_end(text, 100)
    assert text.endswith(cut) and tokens.count(cut) <= 100
    assert tokens.count(text[len(text) - len(cut) - 1 :]) > 100
    assert keep_end(text, 10_000) == text and keep_end(text, 0) == ""


class Recording:
    """The simulated experts, keeping every request and reply."""

    def __init__(self):
        self.inner, self.calls = SimulatedExperts(load_profiles()), []

    def complete(self, request):
        reply = self.inner.complete(request)
        self.calls.append((request, reply))
        return reply


def test_conversation_prompt_and_transparent_expert_turns():
    experts = Recording()
    env = gym.make("ToolOrchestra-FunctionCalling-v0", render="orchestrator-8b", experts=experts)
    obs, info = env.reset(seed=0)
    base = env.unwrapped
    task = base._episode.task
    policy = base.suite.family(task.family).policy(task)
    assert obs["messages"] == (
        {
            "role": "system",
            "content": FC_SYSTEM.format(policy=f"{policy.rstrip()}\n\n{EXPERT_POLICY}"),
        },
        {"role": "user", "content": task.prompt},  # no preference sentence
    )
    tools = json.loads(obs["tools"])
    assert tools[-1] == CALL_EXPERT and "transfer_to_human_agents" not in obs["tools"]
    history = list(obs["messages"])
    for turn in range(3):
        obs, _, terminated, truncated, info = env.step(call("call_expert", expert="expert-1"))
        request, reply = experts.calls[-1]
        # The expert read the history so far, in which no expert ever appears.
        assert request.prompt == tuple(m["content"] for m in history)
        added = list(obs["messages"][len(history) :])
        assert added[0] == {"role": "assistant", "content": reply.text.strip()}
        assert [m["role"] for m in added[1:]] in (["tool"], ["user"])
        assert info["ledger"]["calls_by_alias"]["expert-1"] == turn + 1
        history = list(obs["messages"])
        if terminated or truncated:
            break
    shown = json.dumps(history[1:])
    assert "call_expert" not in shown and "took the step" not in shown


def test_the_mode_passes_gymnasiums_checker_and_its_specs_pickle():
    import pickle

    from gymnasium.utils.env_checker import check_env

    env = OrchestraEnv(["multihop", "function_calling"], render="orchestrator-8b")
    check_env(env)
    space = pickle.loads(pickle.dumps(env.action_space))  # vector envs ship spaces
    assert space.contains(call("search", model="search-1"))
