"""The paper's question-answering tools as specs, with each alias's model, strengths and price.

The policy must read prices to learn cost-aware routing, so every description carries the
table of its aliases (model, what it is good at, $ per million tokens, mean latency) from the
profiles in force — randomised or alternative prices show up here exactly as they are charged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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


# -- the released Orchestrator-8B's schemas (render="orchestrator-8b") ---------------------------
# The exact strings the checkpoint was trained on (typos included: the model saw them). The model
# is a free string whose choices, per-alias sentences and price table sit in the parameter's
# description; the tool descriptions name no model.

O8B_TOOL_ORDER = ("enhance_reasoning", "answer", "search")
O8B_TOOL_DESCRIPTIONS = {
    "enhance_reasoning": (
        "tool to enhance answer model reasoning. analyze the problem, write code, execute it and "
        "return intermidiate results that will help solve the problem"
    ),
    "answer": "give the final answer. Not allowed to call if documents is empty.",
    "search": "Search for missing information",
    "call_expert": (
        "Call the expert such that the user request can be better solved compared to existing "
        "functions"
    ),
}
_EACH_MODEL = " The table below shows the pricing and latency of each model:"
# (what the parameter is, the words between the sentences and the table) per tool
_O8B_PARAMETER = {
    "enhance_reasoning": ("The model used to reason.", " "),
    "answer": ("The model used to answer.", _EACH_MODEL),
    "search": (
        "The model used to search for missing information.",
        " The table below shows the pricing and latency:",
    ),
    "call_expert": ("The expert.", _EACH_MODEL),
}
# The sentence after each alias, keyed by (tool, model behind the alias): a remapped alias is
# described by its model's sentence, so the description follows the model, not the name.
O8B_SENTENCES = {
    ("enhance_reasoning", "gpt-5"): "demonstrates strong understanding and reasoning "
    "capabilities, which usually provides reliable insights.",
    ("enhance_reasoning", "gpt-5-mini"): "can analyze some problems, but could hallucinate and "
    "make mistakes in difficult scenarios.",
    ("enhance_reasoning", "qwen2.5-coder-32b"): "can reason over the context and reveal the logic.",
    ("answer", "gpt-5"): "exhibits strong functional calling abilities and performs excellent in "
    "most domains (math, physics, social science, etc.).",
    ("answer", "gpt-5-mini"): "presents reasonable solutions in some tasks, but could get stuck "
    "in complex reasoning and specific domain knowledge.",
    ("answer", "llama-3.3-70b"): "could solve easy to medium tasks, but is not capable of "
    "tackling tasks with strong expertise and long-horizon planning.",
    ("answer", "qwen3-32b"): "demonstrates basic capability: it can understand basic "
    "instructions, do simple steps, yet it sometimes misreads details, mixes concepts.",
    ("answer", "qwen2.5-math-72b"): "can solve moderate (middle school) math problem, though it "
    "becomes incapable in more difficult tasks.",
    ("answer", "qwen2.5-math-7b"): "can follow simple instructions and perform easy "
    "(primary-level) math problems, but struggle in more complex logic.",
    ("search", "gpt-5"): "usually identifies the missing information and can write concise "
    "queries for effective search.",
    ("search", "gpt-5-mini"): "can reason over the context and write queries to find the "
    "missing content for answering questions.",
    ("search", "qwen3-32b"): "can also write queries to find information.",
    ("call_expert", "gpt-5"): "exhibits strong functional calling abilities and performs "
    "excellent in most domains (math, physics, social science, etc.), but could lack domain "
    "knowledge in some cases.",
    ("call_expert", "gpt-5-mini"): "presents reasonable solutions in most tasks, but could get "
    "stuck in complex reasoning and specific domain knowledge.",
    ("call_expert", "qwen3-32b"): "demonstrates moderate performance: it can parse complex "
    "prompts, performs some mathematical derivations, call functions, yet it sometimes misreads "
    "details, mixes concepts.",
}
O8B_TABLE_HEADER = (
    "Model | price per million input tokens | price per million output tokens | average latency"
)
# The released table's one typo, kept only while the row's prices are the paper's.
_O8B_ROW_TYPOS = {"answer-math-2 | $0.2 | $0.2 | 9s": "answer-math-2 | $$0.2 | $0.2 | 9s"}


@dataclass(frozen=True)
class ShownSchemaSpec(ToolSpec):
    """A spec validated against `parameters` (which keeps the `enum` of offered aliases, so an
    unknown model is a malformed call) but shown to the policy with the schema `shown`."""

    shown: dict = field(default_factory=dict, hash=False)

    def openai(self) -> dict:
        described = super().openai()
        described["function"]["parameters"] = self.shown
        return described


def o8b_model_description(tool: str, profiles: Profiles, offered: Sequence[str]) -> str:
    """The released parameter description of `tool`'s model over the `offered` aliases, with
    the prices and latencies in force."""
    intro, lead = _O8B_PARAMETER[tool]
    sentences = []
    rows = []
    for alias in offered:
        m = profiles.model_of(alias)
        sentence = O8B_SENTENCES.get((tool, m.name), f"is {m.blurb}.")
        sentences.append(f"{alias} {sentence}")
        price_in, price_out = (
            shown_price(m.price.input_per_mtok),
            shown_price(m.price.output_per_mtok),
        )
        row = f"{alias} | ${price_in:g} | ${price_out:g} | {quoted_latency_s(profiles, alias):g}s"
        rows.append(_O8B_ROW_TYPOS.get(row, row))
    table = "\n".join([O8B_TABLE_HEADER, *rows])
    return f"{intro} Choices: {list(offered)}. {' '.join(sentences)}{lead}\n{table}"


def _o8b_spec(tool: str, argument: str, description: str, offered: Sequence[str]) -> ToolSpec:
    shown_argument = {"description": description, "type": "string"}
    if tool == "call_expert":
        shown_argument = {"description": description, "title": "Expression", "type": "string"}
    return ShownSchemaSpec(
        name=tool,
        description=O8B_TOOL_DESCRIPTIONS[tool],
        parameters={  # extra arguments are ignored, as the released loop ignores them
            "type": "object",
            "properties": {argument: {"type": "string", "enum": list(offered)}},
            "required": [argument],
        },
        shown={
            "properties": {argument: shown_argument},
            "required": [argument],
            "title": "parameters",
            "type": "object",
        },
    )


def o8b_qa_tool_specs(profiles: Profiles, aliases: Sequence[str]) -> tuple[ToolSpec, ...]:
    """enhance_reasoning / answer / search as the released Orchestrator-8B saw them (no
    `source` on search), over the offered `aliases`."""
    specs = []
    for tool in O8B_TOOL_ORDER:
        offered = [a for a in aliases if profiles.aliases[a].tool == tool]
        if offered:
            described = o8b_model_description(tool, profiles, offered)
            specs.append(_o8b_spec(tool, "model", described, offered))
    return tuple(specs)


def o8b_expert_tool_spec(profiles: Profiles, aliases: Sequence[str]) -> ToolSpec:
    """`call_expert(expert)` as the released Orchestrator-8B saw it, over the offered experts."""
    offered = [a for a in aliases if profiles.aliases[a].tool == "call_expert"]
    described = o8b_model_description("call_expert", profiles, offered)
    return _o8b_spec("call_expert", "expert", described, offered)
