"""Model profiles: prices, speed, token use and abilities of every expert model, from JSON.

`profiles.json` (validated by `schemas/profiles.schema.json`) is the single source of these
numbers; a user adds a model by adding an entry. Aliases (`search-1`, `answer-4`, …) bind a tool
to a model, as in the paper's catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema

TOOLS = ("search", "enhance_reasoning", "answer", "call_expert")  # tools whose aliases pick a model


class ProfileError(ValueError):
    """A profiles file that does not describe usable models; the message names the place."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1e6


@dataclass(frozen=True)
class ModelProfile:
    name: str
    display_name: str
    blurb: str
    price: Price
    ttft_s: float
    tokens_per_s: float
    completion_tokens: Mapping[
        str, int
    ]  # mean completion tokens per role: search/reason/answer/act
    completion_sigma: float  # log-normal spread of completion tokens
    abilities: Mapping[str, float]  # logit-scale skill levels
    paid_api: bool = False  # reached only through a paid third-party API (vs open weights)

    def seconds(self, completion_tokens: int) -> float:
        """Simulated wall-clock of one call producing `completion_tokens`."""
        return self.ttft_s + completion_tokens / self.tokens_per_s


@dataclass(frozen=True)
class Alias:
    name: str
    tool: str
    model: str
    quoted_latency_s: float | None = None


@dataclass(frozen=True)
class Fees:
    web_search_per_query_usd: float
    web_search_per_document_usd: float
    interpreter_per_second_usd: float
    local_search_price_model: str


@dataclass(frozen=True)
class Profiles:
    models: Mapping[str, ModelProfile]
    aliases: Mapping[str, Alias]
    fees: Fees
    discrimination: float
    policy_model: str
    # provider -> model -> its price there (each provider lists only the models it serves)
    providers: Mapping[str, Mapping[str, Price]]
    # family -> skill -> offset added to that family's step difficulties
    # (fitted by orchestra_env.calibration)
    difficulty_offsets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # tier name (strong, mid, cheap, open) -> tool -> the alias of that tier
    tiers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # sd of a call's own noise around a model's persistent competence, in units of the
    # competence's spread (0: a retry always repeats; 1: every call is a fresh draw)
    sampling_noise: float = 0.3

    def model_of(self, alias: str) -> ModelProfile:
        return self.models[self.aliases[alias].model]

    def aliases_for(self, tool: str) -> tuple[str, ...]:
        return tuple(a for a, spec in self.aliases.items() if spec.tool == tool)

    def with_aliases(self, aliases: Mapping[str, tuple[str, str]]) -> Profiles:
        """A copy with extra aliases {name: (tool, model)}, e.g. to give any model every tool."""
        added = {}
        for name, (tool, model) in aliases.items():
            if model not in self.models:
                raise ProfileError(
                    f"alias {name!r}: unknown model {model!r}; known: {sorted(self.models)}"
                )
            if tool not in TOOLS:
                raise ProfileError(
                    f"alias {name!r}: unknown tool {tool!r}; expected one of {TOOLS}"
                )
            added[name] = Alias(name=name, tool=tool, model=model)
        return replace(self, aliases={**self.aliases, **added})

    def with_alias_models(self, models: Mapping[str, str]) -> Profiles:
        """A copy whose aliases {alias: model} are served by other models; a remapped alias
        quotes its new model's latency, not the old model's."""
        aliases = dict(self.aliases)
        for name, model in models.items():
            if model not in self.models:
                raise ProfileError(
                    f"alias {name!r}: unknown model {model!r}; known: {sorted(self.models)}"
                )
            if model != aliases[name].model:
                aliases[name] = replace(aliases[name], model=model, quoted_latency_s=None)
        return replace(self, aliases=aliases)

    def with_prices(self, prices: Mapping[str, Price]) -> Profiles:
        """A copy whose listed models are charged (and advertised) at `prices`."""
        unknown = sorted(set(prices) - set(self.models))
        if unknown:
            raise ProfileError(f"price table names unknown models: {', '.join(unknown)}")
        models = {
            name: replace(p, price=prices.get(name, p.price)) for name, p in self.models.items()
        }
        return replace(self, models=models)


def _schema() -> dict:
    text = resources.files("orchestra_env").joinpath("schemas/profiles.schema.json").read_text()
    return json.loads(text)


def parse_profiles(data: Mapping, *, source: str = "profiles") -> Profiles:
    """Validate `data` against the profiles schema and build `Profiles`."""
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=str)
    if errors:
        e = errors[0]
        pointer = "/" + "/".join(str(p) for p in e.absolute_path)
        raise ProfileError(f"{source}: {pointer}: {e.message}")
    models = {
        name: ModelProfile(
            name=name,
            display_name=m["display_name"],
            blurb=m.get("blurb", ""),
            price=Price(**m["price"]),
            ttft_s=m["ttft_s"],
            tokens_per_s=m["tokens_per_s"],
            completion_tokens=dict(m["completion_tokens"]),
            completion_sigma=m["completion_sigma"],
            abilities=dict(m["abilities"]),
            paid_api=m.get("paid_api", False),
        )
        for name, m in data["models"].items()
    }
    aliases = {name: Alias(name=name, **a) for name, a in data["aliases"].items()}
    for name, alias in aliases.items():
        if alias.model not in models:
            raise ProfileError(f"{source}: /aliases/{name}/model: unknown model {alias.model!r}")
    for pointer, model in (
        ("/policy_model", data["policy_model"]),
        ("/fees/local_search_price_model", data["fees"]["local_search_price_model"]),
    ):
        if model not in models:
            raise ProfileError(f"{source}: {pointer}: unknown model {model!r}")
    tiers = {tier: dict(by_tool) for tier, by_tool in data.get("tiers", {}).items()}
    for tier, by_tool in tiers.items():
        for tool, alias in by_tool.items():
            if alias not in aliases or aliases[alias].tool != tool:
                raise ProfileError(f"{source}: /tiers/{tier}/{tool}: {alias!r} is no {tool} alias")
    providers = {
        provider: {m: Price(**p) for m, p in rows.items()}
        for provider, rows in data.get("providers", {}).items()
        if not provider.startswith("$")
    }
    for provider, rows in providers.items():
        for model in rows:
            if model not in models:
                raise ProfileError(f"{source}: /providers/{provider}/{model}: unknown model")
    offsets = {
        family: dict(spec.get("difficulty_offset", {}))
        for family, spec in data.get("families", {}).items()
    }
    return Profiles(
        models=models,
        aliases=aliases,
        fees=Fees(**data["fees"]),
        discrimination=data["discrimination"],
        sampling_noise=data.get("sampling_noise", 0.3),
        policy_model=data["policy_model"],
        providers=providers,
        difficulty_offsets=offsets,
        tiers=tiers,
    )


@cache
def default_profiles() -> Profiles:
    """The bundled `profiles.json`, parsed once per process."""
    text = resources.files("orchestra_env.models").joinpath("profiles.json").read_text()
    return parse_profiles(json.loads(text), source="profiles.json")


def load_profiles(path: str | Path | None = None) -> Profiles:
    """The bundled profiles, or those in the JSON file at `path`."""
    if path is None:
        return default_profiles()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ProfileError(
            f"profiles file {str(path)!r} is not valid JSON: "
            f"line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"profiles file {str(path)!r} cannot be read: {e}") from None
    return parse_profiles(data, source=str(path))
