"""orchestra-mini against the baselines on the test split: the three tables of
benchmarks/mini_policy.md (headline, preferences, generalisation), from run files it writes
and resumes.

    .venv/bin/python benchmarks/mini_eval.py --out runs/mini-eval --episodes 600 \
        --holdout-checkpoint runs/mini-heads-holdout

* headline: every agent under the "accuracy" preference (the paper's benchmark setting: no
  preference instruction), accuracy with its 95% Wilson interval, overall and per family;
* preferences: orchestra-mini under each preset on the same items, with the share of calls
  to paid models, and the paper's preference reward R = M_norm · P where each item's min–max
  runs over that item's rollouts in the table (every preset's, plus the GPT-5 + basic tools
  base run);
* generalisation: with `--holdout-checkpoint` (a policy trained with `--holdout-models
  gpt-5-mini qwen2.5-coder-32b --holdout-provider deepinfra`), every agent on the default
  aliases (where the held-out models serve) at the held-out provider's prices.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np

import orchestra_env  # noqa: F401  (registers the envs)
from orchestra_env import group_normalized
from orchestra_env.eval import AgentSpec, accuracy_ci, evaluate, read_run
from orchestra_env.models.profiles import default_profiles
from orchestra_env.rewards import paid_calls, preset_preferences

ENV_ID = "ToolOrchestra-v0"
PRESETS = ("accuracy", "balanced", "cheap", "fast", "avoid_paid_apis")
FAMILIES = ("function_calling", "multihop", "reasoning")
HOLDOUT_MODELS = ("gpt-5-mini", "qwen2.5-coder-32b")
HOLDOUT_PROVIDER = "deepinfra"
BASE = "GPT-5 + basic tools"


def baselines() -> list[AgentSpec]:
    return [
        AgentSpec("basic-tools", {"model": "gpt-5"}, BASE),
        AgentSpec("alone", {"model": "gpt-5"}, "GPT-5 alone"),
        AgentSpec("cheapest-first"),
        AgentSpec("evidence-first"),
    ]


def mini(checkpoint: str | None, name: str = "orchestra-mini") -> AgentSpec:
    return AgentSpec("orchestra-mini", {"checkpoint": checkpoint} if checkpoint else {}, name)


def play(spec: AgentSpec, out: Path, episodes: int, **env_kwargs) -> list:
    """The run file of `spec` under `env_kwargs` (resumed if it exists), read back."""
    suffix = "-".join(f"{k}={v}" for k, v in sorted(env_kwargs.items()))
    path = out / f"{spec.name}--{suffix}.jsonl".replace(" ", "_").replace("/", "_")
    evaluate(
        spec, ENV_ID, env_kwargs=env_kwargs, out=path, episodes=episodes, workers=2, progress=False
    )
    return read_run(path)[1]


def row(name: str, records: Sequence) -> str:
    """| name | accuracy [CI] | $/task | s/task | turns | per family accuracy ($) |"""
    ci = accuracy_ci(sum(r.outcome for r in records), len(records))
    cells = [
        name,
        f"{ci.accuracy:.3f} [{ci.low:.2f}, {ci.high:.2f}]",
        f"{np.mean([r.cost_usd for r in records]):.4f}",
        f"{np.mean([r.latency_s for r in records]):.0f}",
        f"{np.mean([r.turns for r in records]):.2f}",
    ]
    for family in FAMILIES:
        mine = [r for r in records if r.family == family]
        f_ci = accuracy_ci(sum(r.outcome for r in mine), len(mine))
        cells.append(
            f"{f_ci.accuracy:.3f} [{f_ci.low:.2f}, {f_ci.high:.2f}] "
            f"(${np.mean([r.cost_usd for r in mine]):.3f})"
        )
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| agent | accuracy [95% CI] | $/task | s/task | turns | "
    + " | ".join(FAMILIES)
    + " |\n|---|---|---|---|---|---|---|---|"
)


def headline(out: Path, episodes: int, checkpoint: str | None) -> dict[str, list]:
    runs = {
        spec.name: play(spec, out, episodes, preference="accuracy")
        for spec in [mini(checkpoint), *baselines()]
    }
    print("\n## Headline (preference: accuracy)\n\n" + HEADER)
    for name, records in runs.items():
        print(row(name, records))
    return runs


def paid_share(records: Sequence) -> float:
    """Share of model calls and web searches that went to paid APIs (`rewards.paid_calls`)."""
    profiles = default_profiles()
    paid = sum(paid_calls(r.ledger(), profiles) for r in records)
    total = sum(sum(r.calls_by_alias.values()) + r.calls.get("web_search", 0) for r in records)
    return paid / total if total else 0.0


def tool_shares(records: Sequence) -> str:
    calls = Counter()
    for r in records:
        calls.update(r.calls_by_alias)
    total = sum(calls.values())
    return ", ".join(f"{a} {n / total:.0%}" for a, n in calls.most_common(4))


def preferences(out: Path, episodes: int, checkpoint: str | None, base: list) -> None:
    runs = {p: play(mini(checkpoint), out, episodes, preference=p) for p in PRESETS}
    tool_keys = gym.make(ENV_ID).unwrapped.tool_keys
    weights = preset_preferences(default_profiles(), tool_keys)
    groups = defaultdict(list)  # task -> [(run name, record)]: the items' groups
    for preset, records in runs.items():
        for r in records:
            groups[r.task_id].append((preset, r))
    for r in base:
        groups[r.task_id].append(("base", r))
    print(
        "\n## Preferences (orchestra-mini, same items)\n\n"
        "| preset | accuracy [95% CI] | $/task | s/task | paid-model calls | preference reward "
        "| base's preference reward | top aliases |\n|---|---|---|---|---|---|---|---|"
    )
    for preset, records in runs.items():
        mine, theirs = [], []
        for members in groups.values():
            ledgers = [r.ledger() for _, r in members]
            scores = group_normalized(
                [r.outcome for _, r in members], ledgers, weights[preset], tool_keys
            )
            names = [n for n, _ in members]
            mine.append(scores[names.index(preset)])
            theirs.append(scores[names.index("base")])
        ci = accuracy_ci(sum(r.outcome for r in records), len(records))
        print(
            f"| {preset} | {ci.accuracy:.3f} [{ci.low:.2f}, {ci.high:.2f}] "
            f"| {np.mean([r.cost_usd for r in records]):.4f} "
            f"| {np.mean([r.latency_s for r in records]):.0f} | {paid_share(records):.0%} "
            f"| {np.mean(mine):.3f} | {np.mean(theirs):.3f} | {tool_shares(records)} |"
        )


def generalisation(out: Path, episodes: int, checkpoint: str | None, holdout: str) -> None:
    setting = {"preference": "accuracy", "prices": HOLDOUT_PROVIDER}
    agents = [mini(holdout, "orchestra-mini (held-out training)"), mini(checkpoint), *baselines()]
    print(
        f"\n## Generalisation: {', '.join(HOLDOUT_MODELS)} serve their default aliases, "
        f"{HOLDOUT_PROVIDER} prices\n\n" + HEADER
    )
    for spec in agents:
        print(row(spec.name, play(spec, out, episodes, **setting)))
    print("\n(held-out policy on the paper's prices)\n\n" + HEADER)
    print(
        row(
            "orchestra-mini (held-out training)",
            play(agents[0], out, episodes, preference="accuracy"),
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/mini-eval"))
    p.add_argument("--episodes", type=int, default=600)
    p.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    p.add_argument("--holdout-checkpoint", default=None)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = headline(args.out, args.episodes, args.checkpoint)
    preferences(args.out, args.episodes, args.checkpoint, runs[BASE])
    if args.holdout_checkpoint:
        generalisation(args.out, args.episodes, args.checkpoint, args.holdout_checkpoint)


if __name__ == "__main__":
    main()
