"""randomize="paper": the paper's per-episode randomisation (alias -> model over every profiled
model, providers' prices, tool subsets), what the policy is shown of it, and held-out models and
providers."""

from __future__ import annotations

import json
from functools import partial

import gymnasium as gym
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.models.profiles import Price, default_profiles
from orchestra_env.tools.catalogue import shown_price
from orchestra_env.train import MiniConfig

ENV_ID = "ToolOrchestra-v0"


def episode(env: gym.Env, seed: int) -> tuple[dict, dict]:
    return env.reset(seed=seed)


def alias_map(info: dict) -> dict[str, str]:
    return {alias: row["model"] for alias, row in info["prices"].items()}


def test_providers_are_data_and_select_a_price_table():
    providers = default_profiles().providers
    assert len(providers) >= 5
    assert all(isinstance(p, Price) for table in providers.values() for p in table.values())
    env = gym.make("ToolOrchestra-Multihop-v0", prices="deepinfra")
    _, info = env.reset(seed=0)
    row = info["prices"]["answer-3"]  # llama-3.3-70b
    deepinfra = providers["deepinfra"]["llama-3.3-70b"]
    assert (row["input_per_mtok"], row["output_per_mtok"]) == (
        deepinfra.input_per_mtok,
        deepinfra.output_per_mtok,
    )


def test_each_seed_draws_its_own_aliases_tools_and_prices_and_replays():
    env = gym.make(ENV_ID, randomize="paper")
    draws = []
    for seed in range(8):
        _, info = episode(env, seed)
        prices = {a: (r["input_per_mtok"], r["output_per_mtok"]) for a, r in info["prices"].items()}
        draws.append((alias_map(info), info["tools_offered"], prices))
    assert len({json.dumps(d[0], sort_keys=True) for d in draws}) > 1
    assert len({d[1] for d in draws}) > 1
    assert len({json.dumps(sorted(d[2].items())) for d in draws}) > 1
    again = gym.make(ENV_ID, randomize="paper")
    for seed in (0, 5):
        obs, info = episode(again, seed)
        assert (alias_map(info), info["tools_offered"]) == draws[seed][:2]
        assert obs["tools"] == episode(env, seed)[0]["tools"]


def test_every_profiled_model_serves_some_alias_over_training():
    env = gym.make(ENV_ID, randomize="paper")
    seen = {model for seed in range(60) for model in alias_map(episode(env, seed)[1]).values()}
    assert seen == set(default_profiles().models)


def test_descriptions_and_info_show_exactly_what_the_ledger_charges():
    profiles = default_profiles()
    env = gym.make("ToolOrchestra-Multihop-v0", randomize="paper", policy_model=None)
    for seed in range(5):
        obs, info = episode(env, seed)
        alias = next(a for a in info["tools_offered"] if a.startswith("answer"))
        row = info["prices"][alias]
        model = profiles.models[row["model"]]
        answer = next(t for t in json.loads(obs["tools"]) if t["function"]["name"] == "answer")
        shown = f"{shown_price(row['input_per_mtok']):g} / {shown_price(row['output_per_mtok']):g}"
        line = next(
            r for r in answer["function"]["description"].splitlines() if r.startswith(f"| {alias} ")
        )
        assert f"| {model.display_name} | {model.blurb} | {shown} |" in line
        call = json.dumps({"name": "answer", "arguments": {"model": alias}})
        *_, info = env.step(f"<tool_call>{call}</tool_call>")
        ledger = info["ledger"]
        price = Price(row["input_per_mtok"], row["output_per_mtok"])
        charged = price.usd(ledger["prompt_tokens"], ledger["completion_tokens"])
        assert ledger["cost_usd"] == pytest.approx(charged, rel=1e-12)


def test_held_out_models_and_provider_never_appear_in_training():
    profiles = default_profiles()
    held = ["gpt-5", "qwen3-235b-a22b"]
    env = gym.make(ENV_ID, randomize="paper", holdout_models=held, holdout_provider="deepinfra")
    deepinfra = profiles.providers["deepinfra"]
    for seed in range(200):
        _, info = episode(env, seed)
        for row in info["prices"].values():
            assert row["model"] not in held
            price = deepinfra.get(row["model"])
            if price is not None:
                assert row["input_per_mtok"] != price.input_per_mtok


def test_off_by_default_and_on_for_training():
    _, info = gym.make("ToolOrchestra-Multihop-v0").reset(seed=3)
    aliases = default_profiles().aliases
    assert alias_map(info) == {a: aliases[a].model for a in info["tools_offered"]}
    assert len(info["tools_offered"]) == len([a for a in aliases if not a.startswith("expert")])
    assert MiniConfig().env_kwargs["randomize"] == "paper"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"randomize": "always"}, "randomize"),
        ({"randomize": "paper", "holdout_models": ["gpt-6"]}, "holdout_models"),
        ({"randomize": "paper", "holdout_models": "gpt-5"}, "holdout_models"),
        ({"randomize": "paper", "holdout_provider": "acme"}, "holdout_provider"),
        ({"holdout_provider": "azure"}, "holdout_provider"),
        ({"holdout_models": ["gpt-5"]}, "holdout_models"),
        ({"prices": "acme"}, "prices"),
    ],
)
def test_bad_options_are_rejected_naming_the_option(kwargs, named):
    with pytest.raises(ValueError, match=named):
        gym.make(ENV_ID, **kwargs)


def test_trl_episodes_show_the_tables_in_force():
    pytest.importorskip("trl")
    from orchestra_env.integrations.trl import environment_factories, tables_in_force

    env = environment_factories("ToolOrchestra-Multihop-v0", max_turns=5)["qa"]()
    assert "$/M tokens" not in env.answer.__doc__  # no default price table in the schema
    shown = env.reset()
    obs_tools = env.env.unwrapped._tools_json
    assert shown.endswith(tables_in_force(obs_tools))
    for alias, row in env.info["prices"].items():
        model = default_profiles().models[row["model"]]
        assert f"| {alias} | {model.display_name} |" in shown


def _draws(seeds: range, **kwargs) -> list:
    env = gym.make(ENV_ID, randomize="paper", **kwargs)
    return [
        [info["tools_offered"], info["prices"]] for _, info in map(partial(episode, env), seeds)
    ]


def test_the_draws_do_not_depend_on_the_process_string_hashing():
    """Each process hashes strings with its own random seed (PYTHONHASHSEED), so iterating a set
    of strings while drawing would give another episode in another process: a subsample that
    drops every alias of two tools restores one of each in a fixed order."""
    import os
    import subprocess
    import sys

    code = (
        "import json; from tests.test_randomize import _draws; "
        "print(json.dumps(_draws(range(40), tool_subsample=0.9)))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
        ).stdout
        for hash_seed in (1, 2, 3, 4)
    }
    assert len(runs) == 1
    assert json.loads(runs.pop()) == json.loads(json.dumps(_draws(range(40), tool_subsample=0.9)))
