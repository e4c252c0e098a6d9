"""Executors of the question-answering tools: search, enhance_reasoning, answer.

Each executor asks an expert (simulated or live — it cannot tell) for its artefact, makes the
artefact real (the retriever runs the query, the sandbox runs the program), and returns a
`ToolResult` with what the policy sees and what it cost. Executors never touch the ledger or
the reward: the env applies results. Under render="orchestrator-8b" (`ToolContext.o8b`) the
experts get the released expert prompts and their replies are read the released way
(`o8b_experts.expert_chat`, `query_of`, `code_of`).
"""

from __future__ import annotations

import math
import re

from orchestra_env import tokens
from orchestra_env.actions import ToolCall
from orchestra_env.answers import extract_answer
from orchestra_env.core import CodeRun
from orchestra_env.ledger import Charge
from orchestra_env.models.base import ExpertReply
from orchestra_env.tools import o8b_experts
from orchestra_env.tools.base import ToolContext, ToolResult, tool_reply

SEARCH_PROMPT = (
    "Write one web-search query that finds the next missing fact needed to solve the problem. "
    "Reply with the query only, inside <query></query>."
)
REASON_PROMPT = (
    "Write a self-contained Python program that computes what the problem asks from the facts "
    "in the context, printing the result. Reply with one ```python``` block."
)
ANSWER_PROMPT = (
    "Answer the problem using the context. Put the final answer alone inside "
    "<answer></answer> (or \\boxed{} for a number)."
)

_QUERY = re.compile(r"<query>(.*?)</query>", re.DOTALL)
_CODE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)


def query_in(text: str) -> str:
    """The query of a search expert's reply: inside <query></query>, else the whole reply."""
    match = _QUERY.search(text)
    return (match.group(1) if match else text).strip()


def code_in(text: str) -> str:
    """The program of a coder's reply: its first ```python``` block, else the whole reply."""
    match = _CODE.search(text)
    return (match.group(1) if match else text).strip()


def answer_in(text: str) -> str:
    """The final answer of an answerer's reply: the tagged or boxed one, else the whole reply."""
    final = extract_answer(text)
    return text.strip() if final is None else final


def _ask(
    ctx: ToolContext, role: str, alias: str, instruction: str, *, with_code: bool = True
) -> ExpertReply:
    """The expert's reply: to our prompt pieces, or to the released chat (`ctx.o8b`)."""
    if ctx.o8b:
        model = ctx.profiles.aliases[alias].model
        return ctx.ask_chat(role, alias, o8b_experts.expert_chat(role, model, ctx.episode))
    pieces = ctx.context_pieces(with_code=with_code)
    return ctx.ask(role, alias, (instruction, ctx.episode.task.prompt, *pieces))


def search(call: ToolCall, ctx: ToolContext) -> ToolResult:
    alias = call.arguments["model"]
    source = call.arguments.get("source", "local")
    reply = _ask(ctx, "search", alias, SEARCH_PROMPT, with_code=False)
    query = o8b_experts.query_of(reply.text) if ctx.o8b else query_in(reply.text)
    if query is None:  # the released loop does not search for a query under 5 characters
        return tool_reply(
            "No search: the query was shorter than 5 characters.",
            charges=(ctx.model_charge("search", alias, reply),),
        )
    doc_ids = ctx.resources.search(query, ctx.resources.search_k, source)
    fees = ctx.profiles.fees
    if source == "web":
        usd = fees.web_search_per_query_usd + fees.web_search_per_document_usd * len(doc_ids)
        charges = (ctx.model_charge("search", alias, reply), Charge(tool="web_search", usd=usd))
    else:  # the local index bills the query's embedding with the search model's call
        local = ctx.profiles.models[fees.local_search_price_model].price
        fee = local.usd(tokens.count(query), 0)
        charges = (ctx.model_charge("search", alias, reply, fee_usd=fee),)
    shown = "\n\n".join(
        f"[{i}] {title}\n{text}"
        for i, (title, text) in enumerate(map(ctx.resources.document, doc_ids), 1)
    )
    content = f"Query ({source}): {query}\n\n{shown or 'No documents found.'}"
    return tool_reply(content, charges=charges, documents=doc_ids)


def enhance_reasoning(call: ToolCall, ctx: ToolContext) -> ToolResult:
    alias = call.arguments["model"]
    reply = _ask(ctx, "reason", alias, REASON_PROMPT)
    code = o8b_experts.code_of(reply.text) if ctx.o8b else code_in(reply.text)
    result = ctx.resources.run_code(code)
    output = result.as_text()
    billed_s = max(1, math.ceil(result.cpu_seconds))  # billed per started second: deterministic
    interpreter = Charge(
        tool="interpreter",
        counted=False,
        usd=billed_s * ctx.profiles.fees.interpreter_per_second_usd,
    )
    return tool_reply(
        f"```python\n{code}\n```\nOutput:\n{output}",
        charges=(ctx.model_charge("enhance_reasoning", alias, reply), interpreter),
        code_run=CodeRun(code=code, output=output, status=result.status),
    )


def answer(call: ToolCall, ctx: ToolContext) -> ToolResult:
    alias = call.arguments["model"]
    reply = _ask(ctx, "answer", alias, ANSWER_PROMPT)
    final = answer_in(reply.text)  # <answer>…</answer>, else \\boxed{}: both released formats
    return tool_reply(
        f"Final answer ({alias}): {final}",
        charges=(ctx.model_charge("answer", alias, reply),),
        answer=final,
        final=True,
    )


EXECUTORS = {"search": search, "enhance_reasoning": enhance_reasoning, "answer": answer}
