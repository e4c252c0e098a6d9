"""What an episode spent: tokens, dollars, simulated seconds, and calls per tool and alias."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Charge:
    """One priced event: a model call, a search fee, interpreter seconds, the policy's own turn."""

    tool: str
    alias: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    seconds: float = 0.0
    counted: bool = True  # a call the policy made (False for fees such as interpreter seconds)


@dataclass
class Ledger:
    """Running totals of an episode's charges. `charge` is the only way in."""

    cost_usd: float = 0.0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: Counter = field(default_factory=Counter)
    calls_by_alias: Counter = field(default_factory=Counter)

    def charge(self, charge: Charge) -> None:
        """Add one charge to the totals (and to the call counts when it is a counted call)."""
        self.cost_usd += charge.usd
        self.latency_s += charge.seconds
        self.prompt_tokens += charge.prompt_tokens
        self.completion_tokens += charge.completion_tokens
        if charge.counted:
            self.calls[charge.tool] += 1
            if charge.alias:
                self.calls_by_alias[charge.alias] += 1

    def as_dict(self) -> dict:
        """A JSON-ready snapshot (what `info["ledger"]` carries)."""
        return {
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "calls": dict(self.calls),
            "calls_by_alias": dict(self.calls_by_alias),
        }
