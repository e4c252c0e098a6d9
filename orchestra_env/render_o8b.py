"""render="orchestrator-8b": the interface the released Orchestrator-8B was trained on, byte for
byte (its typos included: the model saw them).

Question answering: two messages rebuilt every turn — the system message `O8B_SYSTEM` and
`Problem: {problem}\\n\\n{context}\\n\\nChoose an appropriate tool.'` — with the tools
enhance_reasoning, answer, search in that order (`tools.catalogue.o8b_qa_tool_specs`). The
context lists the documents gathered so far (`Doc {i}: {title}\\n{text}`, cut at 1,200
characters, then ` ...`), in the released order: each search's results appended last-ranked
first, skipping documents already listed; then, under "python code and execution outputs:",
every code run that printed something as fenced python and output blocks. Code is cut to its
last 12,000 tokens and the whole context to its last 27,000 tokens less the problem's.

Conversations: the tau2 agent system prompt around the domain's policy, with the expert policy
sentence added to the policy (our domains have no transfer-to-a-human rule for it to replace)
and the output-format suffix; the domain's tools (minus `transfer_to_human_agents`) and
`call_expert`. Expert turns are transparent: the expert's message or tool call stands in the
history where the policy's `call_expert` call would be (`ToolResult.stand_in`).

What the env offers beyond the released interface is mapped onto it:
- search has no `source` argument: one search covers every source, i.e. the web corpus (which
  holds every document, the local ones included), and is charged as a web search;
- the model / expert argument is shown as a free string, but a name outside the choices is a
  malformed call (the released loop drops that turn too);
- prices and latencies in the tables are the ones charged this episode (jittered or another
  table); an alias remapped to another model is described by that model's sentence;
- the problem carries no preference sentence (the paper's prompts have none): a preference
  still weighs the reward and sits in the observation's `preference` vector.

The experts of the question-answering tools receive the released expert prompts
(`expert_chat`), each over the released expert context (`expert_context`: whole documents for
GPT-5 and Llama, their first 1,000 characters for the others, then the code runs, cut per
model): the query writer's and the code writer's instructions after the context, one user
message; the answerers get the context and the problem — Qwen models (Qwen2.5-Math, Qwen3:
`BOXED_PREFIXES`, as the released evaluation does) under the system message asking for
`\\boxed{}`, every other model with the released request for `<answer>…</answer>` (Llama its
own wording). The query is the text in the last `<query>` tags, cut to 390 characters; under
5 characters there is no search. The program is the last ```python block.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from orchestra_env import tokens
from orchestra_env.actions import ToolCall
from orchestra_env.episode import Episode
from orchestra_env.models.profiles import Profiles
from orchestra_env.tools.catalogue import o8b_expert_tool_spec, o8b_qa_tool_specs
from orchestra_env.tools.o8b_experts import code_blocks, document_text, keep_end
from orchestra_env.tools.spec import ToolSpec

NAME = "orchestrator-8b"
O8B_SYSTEM = "You are good at using tools."
O8B_USER = "Problem: {problem}\n\n{context}\n\nChoose an appropriate tool.'"
DOC_CHARS = 1200
CONTEXT_TOKENS = 27_000  # the whole context, less the problem's tokens
CODE_TOKENS = 12_000

EXPERT_POLICY = (
    "You should transfer the user to an expert if you are not confident about how to reply or "
    "which tool to use. To transfer, first make a tool call to call_expert, and then choose an "
    "expert based on the task difficulty, i.e. strong expert on tricky task, and weaker expert "
    "on simpler task. Think carefully about whether you are confident to meet user "
    "expectation, or call an appropriate expert based on both expert cost and performance."
)
FC_SYSTEM = (
    "<instructions>\n"
    "You are a customer service agent that helps the user according to the <policy> provided "
    "below.\n"
    "In each turn you can either:\n"
    "- Send a message to the user.\n"
    "- Make a tool call.\n"
    "You cannot do both at the same time.\n"
    "\n"
    "Try to be helpful and always follow the policy. Always make sure you generate valid JSON "
    "only.\n"
    "</instructions>\n"
    "<policy>\n"
    "{policy}\n"
    "</policy>  You are dedicated to provide the best service. Wrap thinking process between "
    "<think> </think>, message between <message> </message> and the tool call between "
    "<tool_call> </tool_call> ."
)
HIDDEN_TOOLS = ("transfer_to_human_agents",)


def system_prompt(policy: str | None) -> str:
    """The system message: the QA one, or the conversation one around a domain's `policy`."""
    if policy is None:
        return O8B_SYSTEM
    return FC_SYSTEM.format(policy=f"{policy.rstrip()}\n\n{EXPERT_POLICY}")


def opening_messages(episode: Episode, policy: str | None) -> list[dict]:
    """The history's start: the system message and the problem as the user wrote it."""
    return [
        {"role": "system", "content": system_prompt(policy)},
        {"role": "user", "content": episode.task.prompt},
    ]


def tool_specs(
    specs: Sequence[ToolSpec], profiles: Profiles, aliases: Sequence[str]
) -> tuple[ToolSpec, ...]:
    """A family's specs as the released model saw them: the QA tools in its shape and order, or
    the domain's tools and its `call_expert`."""
    if not any(s.name == "call_expert" for s in specs):
        return o8b_qa_tool_specs(profiles, aliases)
    kept = tuple(s for s in specs if s.name not in ("call_expert", *HIDDEN_TOOLS))
    return (*kept, o8b_expert_tool_spec(profiles, aliases))


def env_call(call: ToolCall) -> ToolCall:
    """The env's tool call for a released-format call: a search covers every source (web)."""
    if call.name != "search":
        return call
    return dataclasses.replace(call, arguments={**call.arguments, "source": "web"})


def gathered(doc_ids: Sequence[int]) -> tuple[int, ...]:
    """A search's results in the order they join the document list: last-ranked first."""
    return tuple(reversed(doc_ids))


def qa_messages(episode: Episode) -> tuple[dict, ...]:
    """The two messages of a question-answering turn."""
    problem = episode.task.prompt
    context = keep_end(context_str(episode), CONTEXT_TOKENS - tokens.count(problem))
    return (
        {"role": "system", "content": O8B_SYSTEM},
        {"role": "user", "content": O8B_USER.format(problem=problem, context=context)},
    )


def context_str(episode: Episode) -> str:
    """The documents and code gathered so far, as the released prompt lists them (uncut)."""
    documents = episode.evidence.documents
    doc_str = "".join(
        f"Doc {i}: {document_text(episode, d)[:DOC_CHARS]} ...\n\n"
        for i, d in enumerate(documents, 1)
    )
    code_str = keep_end(code_blocks(episode), CODE_TOKENS)
    context = f"{doc_str}\npython code and execution outputs:\n{code_str}" if code_str else doc_str
    return f"Documents:\n{context}" if documents else context
