"""Preferences and rewards: outcome, efficiency (money, latency) and tool-use preferences.

Two rewards, both from the paper (docs/architecture.md):

* `episode_reward` — what the env pays at the end of one episode, alone: the paper's min–max
  normalisation with the group's extremes replaced by the task's own. Cost scores
  (log high − log spent) / (log high − log low), clipped to [0, 1], where low and high are what
  the task's reference plan costs with the cheapest and with the priciest alias of each tool;
  latency likewise. Logs, because spending spans orders of magnitude (a cent for local search,
  a dollar for a frontier model): on a linear scale every cheap plan scores about 1 and the
  term barely tells a $0.02 plan from a $0.20 one. A tool's usage scores calls / plan length.
  R = (Σ_k p_k · term_k) / Σ_k p_k if the answer is right, else 0; and 0 as well when the user
  asked to avoid paid APIs and the episode called one (a request not honoured is a task not
  done: the usage terms alone only nudge towards open models).
* `group_normalized` — the paper's GRPO reward over a group of rollouts of one task: build
  M = [m_1 … m_n, outcome, −cost, −latency], min–max normalise each column over the group
  (0 where max = min), R = M_norm · P if outcome = 1 else 0. Cheaper and faster normalise higher.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from orchestra_env.models.profiles import Profiles

BASE_KEYS = ("outcome", "cost", "latency")


@dataclass(frozen=True)
class Preference:
    """Weights in [0, 1] for outcome, cost, latency and per-tool usage, with their instruction.

    `tools` maps a tool key (a model alias such as "search-3", or "web_search") to a weight:
    a positive weight rewards *using* that tool more (paper §3.2). `avoid_paid_apis` says the
    user asked to keep off models reached only through paid APIs (profiles' `paid_api`).
    """

    outcome: float = 1.0
    cost: float = 0.0
    latency: float = 0.0
    tools: Mapping[str, float] = field(default_factory=dict)
    instruction: str = ""
    avoid_paid_apis: bool = False

    def __post_init__(self):
        for name, w in (("outcome", self.outcome), ("cost", self.cost), ("latency", self.latency)):
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"preference weight {name!r} must be in [0, 1], got {w}")
        for key, w in self.tools.items():
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"preference weight for tool {key!r} must be in [0, 1], got {w}")

    def vector(self, tool_keys: Sequence[str]) -> np.ndarray:
        """[outcome, cost, latency, *tools in `tool_keys` order] as float32."""
        base = [self.outcome, self.cost, self.latency]
        return np.array(base + [self.tools.get(k, 0.0) for k in tool_keys], dtype=np.float32)


# The instruction the user reads; policies also get the flag as data (info["preference"]).
AVOID_PAID_APIS_INSTRUCTION = (
    "Avoid paid APIs (GPT-5, GPT-5-mini, web search); prefer local search and open models."
)


def preset_preferences(profiles: Profiles, tool_keys: Sequence[str]) -> dict[str, Preference]:
    """The named preferences an episode can sample, each with its natural-language instruction."""
    open_tools = {
        k: 1.0 for k in tool_keys if k in profiles.aliases and not profiles.model_of(k).paid_api
    }
    return {
        "accuracy": Preference(instruction=""),
        "balanced": Preference(
            cost=0.5, latency=0.5, instruction="Balance accuracy against cost and speed."
        ),
        "cheap": Preference(
            cost=1.0, instruction="Keep the cost as low as you can while answering correctly."
        ),
        "fast": Preference(
            latency=1.0, instruction="I need the answer quickly: minimise the waiting time."
        ),
        "avoid_paid_apis": Preference(
            tools=open_tools,
            instruction=AVOID_PAID_APIS_INSTRUCTION,
            avoid_paid_apis=True,
        ),
    }


@dataclass(frozen=True)
class Reference:
    """What a task's reference plan costs (USD) and takes (seconds) when every step uses the
    cheapest (`low`) or the priciest and slowest (`high`) alias of its tool: the scale the
    episode reward puts spending on."""

    usd_low: float
    usd_high: float
    s_low: float
    s_high: float


def reference_scales(plan: Sequence[str], profiles: Profiles, prompt_tokens: int) -> Reference:
    """The `Reference` of `plan` under `profiles`' prices.

    Prompt size per call is `prompt_tokens` plus 1,000 tokens of context per earlier step.
    """
    usd_low = usd_high = s_low = s_high = 0.0
    for step, tool in enumerate(plan):
        models = [profiles.models[a.model] for a in profiles.aliases.values() if a.tool == tool]
        if not models:
            continue
        role = _ROLE_OF_TOOL.get(tool, "act")
        prompt = prompt_tokens + 1000 * step
        usd = [m.price.usd(prompt, m.completion_tokens[role]) for m in models]
        seconds = [m.seconds(m.completion_tokens[role]) for m in models]
        usd_low, usd_high = usd_low + min(usd), usd_high + max(usd)
        s_low, s_high = s_low + min(seconds), s_high + max(seconds)
    usd_high, s_high = max(usd_high, 1e-6), max(s_high, 1e-3)
    return Reference(_below(usd_low, usd_high), usd_high, _below(s_low, s_high), s_high)


def _below(low: float, high: float) -> float:
    """`low`, or a tenth of `high` where the plan's aliases all cost the same (no range)."""
    return low if 0.0 < low < high else high / 10


def log_scaled(spent: float, low: float, high: float) -> float:
    """1 at or below `low`, 0 at or above `high`, linear in log(spent) between."""
    if spent <= low:
        return 1.0
    if spent >= high:
        return 0.0
    return (math.log(high) - math.log(spent)) / (math.log(high) - math.log(low))


_ROLE_OF_TOOL = {
    "search": "search",
    "enhance_reasoning": "reason",
    "answer": "answer",
    "call_expert": "act",
}


def episode_reward(
    outcome: int,
    ledger: Mapping,
    preference: Preference,
    reference: Reference,
    plan_length: int,
    paid_calls: int = 0,
) -> dict[str, float]:
    """The end-of-episode reward terms (each in [0, 1]) and their weighted `total`;
    `paid_calls` counts the episode's calls to paid APIs (paid models, web search)."""
    terms = {
        "outcome": float(outcome),
        "cost": log_scaled(ledger["cost_usd"], reference.usd_low, reference.usd_high),
        "latency": log_scaled(ledger["latency_s"], reference.s_low, reference.s_high),
    }
    counts = {**ledger["calls_by_alias"], **ledger["calls"]}
    weights = {
        "outcome": preference.outcome,
        "cost": preference.cost,
        "latency": preference.latency,
    }
    for key, w in preference.tools.items():
        terms[f"tool:{key}"] = min(1.0, counts.get(key, 0) / max(1, plan_length))
        weights[f"tool:{key}"] = w
    honoured = not (preference.avoid_paid_apis and paid_calls)
    terms["total"] = weighted_total(terms, weights) if outcome and honoured else 0.0
    return terms


def weighted_total(terms: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ weight · term / Σ weight over `weights` (keyed as `episode_reward`'s terms: "outcome",
    "cost", "latency", "tool:KEY"); 1 when every weight is 0."""
    weighted = sum(weights.values())
    return sum(w * terms[k] for k, w in weights.items()) / weighted if weighted > 0 else 1.0


def paid_calls(ledger: Mapping, profiles: Profiles) -> int:
    """Calls of a `Ledger.as_dict()` to paid APIs: models behind one, and web search."""
    models = sum(
        n
        for alias, n in ledger["calls_by_alias"].items()
        if alias in profiles.aliases and profiles.model_of(alias).paid_api
    )
    return models + ledger["calls"].get("web_search", 0)


def group_normalized(
    outcomes: Sequence[int],
    ledgers: Sequence[Mapping],
    preference: Preference,
    tool_keys: Sequence[str] | None = None,
) -> np.ndarray:
    """The paper's group-relative preference reward for rollouts of one task (see module doc).

    `ledgers` are `Ledger.as_dict()` snapshots; `tool_keys` fixes the tool columns (default:
    the keys the preference weights).
    """
    if len(outcomes) != len(ledgers):
        raise ValueError(f"{len(outcomes)} outcomes but {len(ledgers)} ledgers")
    keys = list(preference.tools) if tool_keys is None else list(tool_keys)
    rows = []
    for outcome, ledger in zip(outcomes, ledgers, strict=True):
        counts = {**ledger["calls_by_alias"], **ledger["calls"]}
        rows.append(
            [counts.get(k, 0) for k in keys] + [outcome, -ledger["cost_usd"], -ledger["latency_s"]]
        )
    m = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(keys) + 3)
    lo, hi = m.min(axis=0), m.max(axis=0)
    span = hi - lo
    norm = np.divide(m - lo, span, out=np.zeros_like(m), where=span > 0)
    p = np.array(
        [preference.tools.get(k, 0.0) for k in keys]
        + [preference.outcome, preference.cost, preference.latency]
    )
    return np.where(np.asarray(outcomes) == 1, norm @ p, 0.0)
