"""Bad options fail when the env is built, with a message naming the option, not mid-run."""

from __future__ import annotations

import json
import math
import re

import gymnasium as gym
import numpy as np
import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.domain import DomainError, scaffold_domain
from orchestra_env.models.profiles import ProfileError


@pytest.mark.parametrize(
    "option, value",
    [
        ("max_turns", 0),
        ("max_turns", -3),
        ("max_turns", 2.5),
        ("max_turns", "10"),
        ("max_turns", True),
        ("max_format_errors", -1),
        ("max_format_errors", 1.5),
        ("search_k", 0),
        ("search_k", None),
        ("world_seed", 1.0),
        ("world_seed", "0"),
        ("format_penalty", -0.1),
        ("format_penalty", math.nan),
        ("format_penalty", math.inf),
        ("max_cost_usd", -1.0),
        ("max_cost_usd", math.nan),
        ("max_cost_usd", "1"),
        ("max_latency_s", -5),
        ("price_jitter", math.nan),
        ("tool_subsample", 1.0),
        ("tool_subsample", "0.5"),
        ("split", "dev"),
        ("render", "html"),
        ("render_mode", "human"),
    ],
)
def test_bad_values_name_the_option(option, value):
    with pytest.raises(ValueError, match=rf"^{option}\b"):
        OrchestraEnv(**{option: value})


def test_good_values_are_kept_in_their_type():
    env = OrchestraEnv(max_turns=np.int64(5), world_seed=np.int32(-2), max_cost_usd=1)
    assert (env.max_turns, env.world_seed, env.max_cost_usd) == (5, -2, 1.0)
    assert type(env.max_turns) is int and type(env.max_cost_usd) is float


@pytest.mark.parametrize(
    "prices, message",
    [
        ({"gpt-5": 3}, "prices['gpt-5'] must be (input, output)"),
        ({"gpt-5": (1.0, 2.0, 3.0)}, "prices['gpt-5'] must be (input, output)"),
        ({"gpt-5": (-1.0, 2.0)}, "prices['gpt-5'] input must be >= 0"),
        ({"gpt-5": (1.0, math.nan)}, "prices['gpt-5'] output must be a finite number"),
        ({"gpt-5": ("1", 2.0)}, "prices['gpt-5'] input must be a finite number"),
        ({"gpt-9": (1.0, 2.0)}, "prices name unknown models ['gpt-9']"),
        (3, "prices must be a price-table name"),
        ("acme", "unknown price table 'acme'"),
    ],
)
def test_bad_prices_name_the_model_and_the_problem(prices, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        OrchestraEnv(prices=prices)


@pytest.mark.parametrize(
    "domains, message",
    [
        ([], "domains must name at least one domain"),
        ([3], "domains must be a list of domain names or paths"),
        ({"bank": 1}, "domains must be a list of domain names or paths"),
    ],
)
def test_bad_domains_option(domains, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        OrchestraEnv("function_calling", domains=domains)


def test_one_domain_name_alone_is_accepted():
    env = OrchestraEnv("function_calling", domains="bank")
    assert [d.name for d in env.suite.family("function_calling").domains] == ["bank"]


def _authored(tmp_path, edit) -> str:
    folder = scaffold_domain("library", tmp_path)
    doc = json.loads((folder / "domain.json").read_text())
    edit(doc)
    (folder / "domain.json").write_text(json.dumps(doc))
    return str(folder)


def test_authored_domain_whose_template_never_yields_fails_at_make(tmp_path):
    def no_rows(doc):  # the third template's sample query can never match (tasks 2, 6, ...)
        doc["tasks"][2]["sample"][0]["query"] += " AND 1 = 0"

    folder = _authored(tmp_path, no_rows)
    never = "/tasks/2/sample/0: template 'return' found no valid task"
    with pytest.raises(DomainError, match=never) as e:
        gym.make("ToolOrchestra-FunctionCalling-v0", domains=[folder])
    assert folder in str(e.value)


def test_authored_domain_that_does_not_load_fails_at_make(tmp_path):
    folder = _authored(tmp_path, lambda doc: doc.pop("tools"))
    with pytest.raises(DomainError, match="'tools' is a required property"):
        gym.make("ToolOrchestra-FunctionCalling-v0", domains=[folder])


def test_valid_authored_domain_is_accepted(tmp_path):
    folder = _authored(tmp_path, lambda doc: None)
    env = gym.make("ToolOrchestra-FunctionCalling-v0", domains=folder)
    obs, _ = env.reset(seed=0)
    assert "library" in obs["messages"][0]["content"].lower()


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"models": ', "is not valid JSON: line 1 column 12"),
        ("[]", "is not of type 'object'"),
    ],
)
def test_malformed_profiles_file_is_named(tmp_path, text, message):
    path = tmp_path / "my_profiles.json"
    path.write_text(text)
    with pytest.raises(ProfileError, match=re.escape(message)) as e:
        OrchestraEnv(profiles=str(path))
    assert str(path) in str(e.value)


def test_missing_profiles_file_is_named(tmp_path):
    with pytest.raises(ProfileError, match="profiles file .*nope.json' cannot be read"):
        OrchestraEnv(profiles=tmp_path / "nope.json")


def test_profiles_of_the_wrong_type():
    with pytest.raises(ValueError, match="profiles must be a Profiles or the path"):
        OrchestraEnv(profiles={"models": {}})
