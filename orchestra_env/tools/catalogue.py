"""The paper's question-answering tools as specs, with each alias's model, strengths and price.

The policy must read prices to learn cost-aware routing, so every description carries the
table of its aliases (model, what it is good at, $ per million tokens, mean latency) from the
profiles in force — randomised or alternative prices show up here exactly as they are charged.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestra_env.models.profiles import Profiles
from orchestra_env.tools.spec import ToolSpec

QA_TOOLS = ("search", "enhance_reasoning", "answer")

_PURPOSE = {
    "search": (
        "Search for documents about the problem. The chosen model writes a query; a BM25 "
        "retriever runs it and the top documents are added to the context. "
        "source='local' searches the local corpus (cheap: the query's tokens at the local "
        "model's price); source='web' searches the larger web corpus (${q} per query plus "
        "${d} per document returned)."
    ),
    "enhance_reasoning": (
        "The chosen model writes a Python program from the problem and the context; the "
        "program runs in a sandbox (billed ${s} per started second) and its code and output "
        "are added to the context."
    ),
    "answer": "The chosen model gives the final answer from the problem and the context. "
    "This ends the episode.",
}


def shown_price(usd_per_mtok: float) -> float:
    """A price as the alias table prints it (`:g`, six significant digits): what a policy reads
    in the tool descriptions, so features from `price_sheet` equal features read off the table."""
    return float(f"{usd_per_mtok:g}")


def quoted_latency_s(profiles: Profiles, alias: str) -> float:
    """The mean latency the alias table quotes for `alias`."""
    spec = profiles.aliases[alias]
    m = profiles.models[spec.model]
    return spec.quoted_latency_s or m.seconds(m.completion_tokens["answer"])


def alias_table(profiles: Profiles, aliases: Sequence[str]) -> str:
    """A Markdown table of aliases: model, strengths, price in/out, mean latency."""
    lines = [
        "| model | backed by | strengths | $/M tokens in / out | mean latency |",
        "|---|---|---|---|---|",
    ]
    for alias in aliases:
        m = profiles.model_of(alias)
        price = m.price
        price_in, price_out = shown_price(price.input_per_mtok), shown_price(price.output_per_mtok)
        lines.append(
            f"| {alias} | {m.display_name} | {m.blurb} | "
            f"{price_in:g} / {price_out:g} | {quoted_latency_s(profiles, alias):g} s |"
        )
    return "\n".join(lines)


def price_sheet(profiles: Profiles, aliases: Sequence[str]) -> dict[str, dict]:
    """The alias table as data (`info["prices"]`): {alias: {"model", "input_per_mtok",
    "output_per_mtok", "latency_s", "paid_api"}}, with the exact prices the ledger charges."""
    sheet = {}
    for alias in aliases:
        m = profiles.model_of(alias)
        sheet[alias] = {
            "model": m.name,
            "input_per_mtok": m.price.input_per_mtok,
            "output_per_mtok": m.price.output_per_mtok,
            "latency_s": float(quoted_latency_s(profiles, alias)),
            "paid_api": m.paid_api,
        }
    return sheet


EXPERT_PURPOSE = (
    "Ask a model to take the next step of this conversation for you: it reads the whole "
    "conversation and either calls one of the domain's tools or speaks to the user, and that "
    "step is taken."
)


def expert_tool_spec(profiles: Profiles, aliases: Sequence[str]) -> ToolSpec:
    """The `call_expert(expert)` tool of conversational tasks, over the offered expert aliases."""
    offered = [a for a in aliases if profiles.aliases[a].tool == "call_expert"]
    return ToolSpec(
        name="call_expert",
        description=f"{EXPERT_PURPOSE}\nChoose the expert:\n{alias_table(profiles, offered)}",
        parameters={
            "type": "object",
            "properties": {"expert": {"type": "string", "enum": offered}},
            "required": ["expert"],
            "additionalProperties": False,
        },
    )


def qa_tool_specs(profiles: Profiles, aliases: Sequence[str]) -> tuple[ToolSpec, ...]:
    """Specs of search / enhance_reasoning / answer over the offered `aliases`."""
    fees = profiles.fees
    specs = []
    for tool in QA_TOOLS:
        offered = [a for a in aliases if profiles.aliases[a].tool == tool]
        if not offered:
            continue
        properties: dict = {"model": {"type": "string", "enum": offered}}
        if tool == "search":
            properties["source"] = {"type": "string", "enum": ["local", "web"], "default": "local"}
        purpose = (
            _PURPOSE[tool]
            .replace("${q}", f"${fees.web_search_per_query_usd:g}")
            .replace("${d}", f"${fees.web_search_per_document_usd:g}")
            .replace("${s}", f"${fees.interpreter_per_second_usd:g}")
        )
        specs.append(
            ToolSpec(
                name=tool,
                description=f"{purpose}\nChoose the model:\n{alias_table(profiles, offered)}",
                parameters={
                    "type": "object",
                    "properties": properties,
                    "required": ["model"],
                    "additionalProperties": False,
                },
            )
        )
    return tuple(specs)
