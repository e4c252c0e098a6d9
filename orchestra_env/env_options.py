"""The env's options, checked: each check names the option and what it got, so a bad value
fails when the env is built, not in the middle of a run."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

from orchestra_env.domain import DomainError, bundled_domains, validate_domain
from orchestra_env.domain.grading import Judge, llm_judge
from orchestra_env.domain.user import UserFactory, UserSimulator, llm_users
from orchestra_env.models.profiles import Price, Profiles, load_profiles
from orchestra_env.rewards import Preference
from orchestra_env.tasks.suite import TaskSuite

DOMAIN_CHECK_TASKS = 5  # tasks per template an authored domain must yield at construction
RANDOMIZE = ("none", "paper")
USERS = ("scripted", "llm")
PAPER_TOOL_SUBSAMPLE = 0.25  # randomize="paper": each alias is dropped with this probability


def family_weights(families: str | Sequence[str] | Mapping[str, float]) -> dict[str, float]:
    if isinstance(families, str):
        return {families: 1.0}
    if isinstance(families, Mapping):
        return {str(k): float(v) for k, v in families.items()}
    return dict.fromkeys(families, 1.0)


def priced(profiles: Profiles, prices: str | Mapping[str, Any]) -> Profiles:
    if prices == "paper":
        return profiles
    if isinstance(prices, str):
        if prices not in profiles.providers:
            raise ValueError(
                f"unknown price table {prices!r} in prices; known: paper, "
                f"{', '.join(profiles.providers)} (the profiles' providers)"
            )
        return profiles.with_prices(profiles.providers[prices])
    if not isinstance(prices, Mapping):
        raise ValueError(
            f"prices must be a price-table name ('paper' or a provider) or "
            f"{{model: (input, output)}}, got {prices!r}"
        )
    unknown = sorted(set(prices) - set(profiles.models))
    if unknown:
        raise ValueError(f"prices name unknown models {unknown}; known: {sorted(profiles.models)}")
    return profiles.with_prices({m: price(f"prices[{m!r}]", p) for m, p in prices.items()})


def holdout_models(profiles: Profiles, value: Any, randomize: str) -> frozenset[str]:
    """Models no randomised episode may put behind an alias; at least one must stay in."""
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"holdout_models must be a list of model names, got {value!r}")
    if not value:
        return frozenset()
    _needs_randomize("holdout_models", randomize)
    unknown = sorted(set(value) - set(profiles.models))
    if unknown:
        raise ValueError(
            f"holdout_models names unknown models {unknown}; known: {sorted(profiles.models)}"
        )
    if set(value) >= set(profiles.models):
        raise ValueError("holdout_models holds out every model: no alias could be served")
    return frozenset(value)


def holdout_provider(profiles: Profiles, value: Any, randomize: str) -> str | None:
    """A provider whose price table no randomised episode draws."""
    if value is None:
        return None
    _needs_randomize("holdout_provider", randomize)
    if value not in profiles.providers:
        raise ValueError(
            f"holdout_provider must be one of {sorted(profiles.providers)}, got {value!r}"
        )
    return value


def _needs_randomize(option: str, randomize: str) -> None:
    if randomize == "none":
        raise ValueError(f"{option} only applies with randomize='paper' (it is 'none')")


def price(option: str, price: Any) -> Price:
    """A `Price`, or a pair (input, output) of non-negative USD per million tokens."""
    if isinstance(price, Price):
        price = (price.input_per_mtok, price.output_per_mtok)
    if isinstance(price, (str, bytes)) or not isinstance(price, Sequence) or len(price) != 2:
        raise ValueError(f"{option} must be (input, output) USD per million tokens, got {price!r}")
    return Price(number(f"{option} input", price[0]), number(f"{option} output", price[1]))


def offered_aliases(
    profiles: Profiles, suite: TaskSuite, tools: Sequence[str] | None
) -> tuple[str, ...]:
    family_tools = {t for name in suite.names for t in suite.family(name).tools}
    aliases = [a for a, spec in profiles.aliases.items() if spec.tool in family_tools]
    if tools is None:
        return tuple(aliases)
    # Aliases of tools no family here uses are skipped: one list serves the mixed env and each
    # family's.
    unknown = sorted(set(tools) - set(profiles.aliases) - family_tools)
    if unknown:
        raise ValueError(f"unknown tools or aliases {unknown}; available: {aliases}")
    wanted = set(tools)
    chosen = tuple(a for a in aliases if a in wanted or profiles.aliases[a].tool in wanted)
    missing = sorted(family_tools - {profiles.aliases[a].tool for a in chosen})
    if missing:
        raise ValueError(f"tools {missing} would have no model alias; add one of their aliases")
    return chosen


def preference_option(
    option: str | Preference | Mapping, presets: Mapping[str, Preference]
) -> Preference | None:
    """None means: sample a preset per episode."""
    if isinstance(option, Preference):
        return option
    if isinstance(option, Mapping):
        return Preference(**option)
    if option == "sample":
        return None
    if option in presets:
        return presets[option]
    raise ValueError(
        f"preference must be 'sample', a Preference, or one of {sorted(presets)}; got {option!r}"
    )


def choice(option: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ValueError(f"{option} must be one of {tuple(choices)}, got {value!r}")
    return value


def integer(option: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{option} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{option} must be >= {minimum}, got {value}")
    return int(value)


def number(option: str, value: Any, *, below: float | None = None) -> float:
    """A finite number >= 0 (and < `below`, if given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{option} must be a finite number, got {value!r}")
    if value < 0 or (below is not None and value >= below):
        bounds = f"in [0, {below})" if below is not None else ">= 0"
        raise ValueError(f"{option} must be {bounds}, got {value}")
    return float(value)


def budget(option: str, value: Any) -> float | None:
    """None (no budget) or a finite number >= 0."""
    return None if value is None else number(option, value)


def domains_option(domains: Any, world_seed: int) -> tuple[str, ...] | None:
    """The domain names/paths as a tuple (one name or path alone is accepted); an authored
    domain is validated now — loaded, its world built, a few tasks of every template made —
    so that a broken one fails here rather than in the middle of a run."""
    if domains is None:
        return None
    if isinstance(domains, (str, os.PathLike)):
        domains = [domains]
    paths = (str, os.PathLike)
    if not isinstance(domains, Sequence) or not all(isinstance(d, paths) for d in domains):
        raise ValueError(f"domains must be a list of domain names or paths, got {domains!r}")
    if not domains:
        raise ValueError("domains must name at least one domain (None means the bundled ones)")
    names = tuple(os.fspath(d) for d in domains)
    bundled = set(bundled_domains())
    for name in names:
        if name not in bundled:
            report = validate_domain(name, per_template=DOMAIN_CHECK_TASKS, seed=world_seed)
            if not report.ok:
                raise DomainError(report.problems, report.source)
    return names


def users_option(user: Any, backend: Any) -> UserFactory:
    """What makes each conversation's user: the rule-based simulator ("scripted"), or an LLM
    speaking through `backend` ("llm": a Backend, or a backend config such as
    {"backend": "openai", "model": ..., "base_url": ...})."""
    choice("user", user, USERS)
    if user == "scripted":
        if backend is not None:
            raise ValueError("user_backend is only used with user='llm'")
        return UserSimulator
    if backend is None:
        raise ValueError(
            "user='llm' needs user_backend: a Backend or a config {'backend': 'openai', ...}"
        )
    return llm_users(_live_backend("user_backend", backend))


def judge_option(judge: Any) -> Judge | None:
    """What grades the conversations' nl_assertions: None (they are reported as ungraded), a
    `Judge` callable, or a live model: a Backend or a backend config (as `user_backend`)."""
    from orchestra_env.models.backends import Backend

    if judge is None:
        return None
    if isinstance(judge, (Mapping, Backend)):
        return llm_judge(_live_backend("nl_judge", judge))
    if not callable(judge):
        raise ValueError(
            f"nl_judge must be a callable (assertions, conversation) -> [bool], a Backend or "
            f"a backend config, got {type(judge).__name__}"
        )
    return judge


def _live_backend(option: str, backend: Any):
    """A Backend, or one made from a backend config (docs/live.md)."""
    from orchestra_env.models.backends import Backend, backend_from_config

    if isinstance(backend, Mapping):
        backend = backend_from_config(backend, source=option)
    if not isinstance(backend, Backend):
        raise ValueError(
            f"{option} must be a Backend (with generate(messages)) or a backend config, "
            f"got {type(backend).__name__}"
        )
    return backend


def profiles_option(profiles: Any) -> Profiles:
    if isinstance(profiles, Profiles):
        return profiles
    if profiles is None or isinstance(profiles, (str, os.PathLike)):
        return load_profiles(profiles)
    raise ValueError(
        f"profiles must be a Profiles or the path of a profiles JSON, got {type(profiles).__name__}"
    )
