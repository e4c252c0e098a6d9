"""render="orchestrator-8b": the experts receive the released expert prompts, byte for byte.

The expected strings are written here from the released evaluation (typos included), over a
scripted corpus and sandbox, so every byte each expert is sent is known in advance."""

from __future__ import annotations

import json

import pytest

from orchestra_env import env as env_module
from orchestra_env.env import OrchestraEnv
from orchestra_env.models.base import ExpertReply
from orchestra_env.models.live import expert_messages
from orchestra_env.tools.qa import SEARCH_PROMPT
from tests import test_orchestrator8b_format as o8b

QUERY_QUESTION = (
    "Question: {problem}\nInstead of directly answering the question, please write a query to "
    "search for a piece of relevant and missing information. The query should be a few key words "
    "about the information to search or a short sentence. Wrap the query within <query> and "
    "</query>."
)
CODE_QUESTION = (
    "Question: {problem}\nInstead of directly answering the question, please write additional "
    "python code that will give intermidiate results after execution. Wrap the code within "
    "```python and ```. The code should be self-contained with all the import and initialization."
)
BOXED = "Please reason step by step, and put your final answer within \\boxed{}."
GPT_TAGS = (
    "\n\nTake a deep breath and think hard with high reasoning, wrap the thoughts within <think> "
    "and </think>, and wrap only the exact answer without any explanation within <answer> and "
    "</answer>.Output using the following format:\n<think>\n...\n</think>\n<answer>\n...\n</answer>"
)
LLAMA_TAGS = (
    "\nWrap the thinking process and explanation between <think> and </think> and wrap only the "
    "exact answer without any explanation within <answer> and </answer>."
)


class RecordingExpert:
    """A live-style expert: records each request and answers with the next scripted text."""

    def __init__(self, *replies: str):
        self.replies, self.requests = list(replies), []

    def complete(self, request):
        self.requests.append(request)
        return ExpertReply(self.replies.pop(0), prompt_tokens=10, completion_tokens=5, seconds=1.0)


@pytest.fixture
def make_env(monkeypatch):
    """An env over the four scripted documents; every search returns (1, 2, 3)."""
    queries: list[str] = []

    class Corpus:
        def document(self, doc_id):
            return o8b.DOCUMENTS[doc_id]

        def search(self, query, k, source):
            queries.append(query)
            return (1, 2, 3)

    monkeypatch.setattr(env_module, "_run_code", lambda code: o8b.Ran("2100000\n"))

    def make(*replies: str, render: str = "orchestrator-8b") -> OrchestraEnv:
        env = OrchestraEnv("multihop", render=render, experts=RecordingExpert(*replies))
        env._corpus = Corpus()
        env.queries = queries
        env.reset(seed=0)
        return env

    return make


def sent(env: OrchestraEnv) -> list[dict]:
    """The chat the last expert request would put on the wire (what a live expert receives)."""
    return expert_messages(env.experts.requests[-1])


def documents(chars: int | None) -> str:
    """The three documents as the expert context lists them, gathered last-ranked first."""
    bob = f"Bob\n{o8b.LONG}"[:chars]
    return (
        f"Documents:\nDoc 1: {bob}\n\nDoc 2: Paris\nParis has 2,100,000 people.\n\n"
        "Doc 3: Ada\nAda was born in Paris."
    )


def test_query_writer_and_code_writer_get_the_released_prompts(make_env):
    env = make_env("<query>where was ada born</query>", "```python\nprint(2100000)\n```")
    problem = env._episode.task.prompt
    env.step(o8b.call("search", model="search-1"))
    # No context yet: the released prompt still opens with the (empty) context's separator.
    assert sent(env) == [
        {"role": "user", "content": "\n\n" + QUERY_QUESTION.format(problem=problem)}
    ]
    env.step(o8b.call("enhance_reasoning", model="reasoner-3"))  # Qwen2.5-Coder: 1,000 chars
    assert env.experts.requests[-1].model == "qwen2.5-coder-32b"
    assert sent(env) == [
        {
            "role": "user",
            "content": f"{documents(1000)}\n\n" + CODE_QUESTION.format(problem=problem),
        }
    ]
    assert env._episode.evidence.code_runs[-1].code == "print(2100000)"


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("answer-math-1", "boxed"),  # Qwen2.5-Math-72B
        ("answer-4", "boxed"),  # Qwen3-32B: the release boxes every Qwen answerer
        ("answer-1", GPT_TAGS),  # GPT-5: whole documents
        ("answer-3", LLAMA_TAGS),  # Llama-3.3-70B: whole documents, its own wording
    ],
)
def test_answerers_get_boxed_or_answer_tag_prompts(make_env, alias, expected):
    env = make_env("<query>where was ada born</query>", "<answer>Paris</answer>")
    problem = env._episode.task.prompt
    env.step(o8b.call("search", model="search-1"))
    env.step(o8b.call("answer", model=alias))
    if expected == "boxed":
        prompt = f"{documents(1000)}\n\nProblem:\n{problem}"
        assert sent(env) == [
            {"role": "system", "content": BOXED},
            {"role": "user", "content": prompt},
        ]
    else:
        prompt = f"{documents(None)}\n\nProblem:\n{problem}{expected}"
        assert sent(env) == [{"role": "user", "content": prompt}]


def test_the_code_is_the_last_python_block(make_env):
    env = make_env("first:\n```python\nprint(1)\n```\nbetter:\n```python\nprint(2)\n```\ndone")
    env.step(o8b.call("enhance_reasoning", model="reasoner-1"))
    assert env._episode.evidence.code_runs[-1].code == "print(2)"


def test_the_query_is_the_last_tagged_one_cut_to_390_characters(make_env):
    env = make_env(f"<query>draft</query> then <query>{'q' * 500}</query>")
    env.step(o8b.call("search", model="search-2"))
    assert env.queries == ["q" * 390]


@pytest.mark.parametrize("reply", ["<query>ada</query>", "<query>  abcd </query>"])
def test_a_query_under_five_characters_means_no_search(make_env, reply):
    env = make_env(reply)
    obs, _, _, _, info = env.step(o8b.call("search", model="search-2"))
    assert env.queries == [] and not env._episode.evidence.documents
    assert "web_search" not in info["ledger"]["calls"]  # nothing searched, nothing charged
    assert info["ledger"]["calls_by_alias"]["search-2"] == 1  # the query writer is still paid


@pytest.mark.parametrize(
    ("alias", "reply"),
    [
        ("answer-math-2", "Step 1: 2 + 2 = 4, so \\boxed{\\frac{1}{2}} is wrong; \\boxed{4}"),
        ("answer-2", "<think>\nhmm\n</think>\n<answer>\nParis\n</answer>"),
    ],
)
def test_boxed_and_tagged_answers_are_extracted(make_env, alias, reply):
    env = make_env(reply)
    *_, terminated, _, _ = env.step(o8b.call("answer", model=alias))
    assert terminated and env._episode.answer == ("4" if "boxed" in reply else "Paris")


def test_simulated_experts_play_the_mode_with_the_released_prompts():
    env = OrchestraEnv("multihop", render="orchestrator-8b")
    env.reset(seed=3)
    env.step(o8b.call("search", model="search-1"))
    *_, terminated, _, info = env.step(o8b.call("answer", model="answer-math-1"))
    # The simulator's <answer> reply is read in the boxed models' mode too.
    assert terminated and env._episode.answer
    assert info["ledger"]["calls_by_alias"]["answer-math-1"] == 1


def test_the_default_modes_keep_our_own_expert_prompts(make_env):
    env = make_env("<query>where was ada born</query>", render="chat")
    env.step(o8b.call("search", model="search-1", source="local"))
    request = env.experts.requests[-1]
    assert request.messages == () and request.prompt[0] == SEARCH_PROMPT
    assert sent(env)[0] == {"role": "system", "content": SEARCH_PROMPT}


@pytest.mark.parametrize("render", ["orchestrator-8b", "chat"])
def test_a_conversation_expert_receives_the_conversation_itself_in_this_mode(render):
    """The released loop gives the chosen expert the same conversation (roles and all); other
    modes keep our transcript prompt."""
    expert = RecordingExpert("<message>Could you give me your customer id?</message>")
    env = OrchestraEnv("function_calling", render=render, experts=expert)
    obs, _ = env.reset(seed=0)
    call = {"name": "call_expert", "arguments": {"expert": env.aliases[0]}}
    env.step(f"<tool_call>{json.dumps(call)}</tool_call>")
    chat = expert_messages(expert.requests[-1])
    if render == "orchestrator-8b":
        assert chat == [dict(m) for m in obs["messages"]]  # the history the policy saw
    else:
        assert chat[-1]["content"].startswith("The conversation so far:")
