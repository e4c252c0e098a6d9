"""The `orchestra` command: list what exists, run episodes, and (as they land) evaluate, compare,
calibrate and author domains."""

from __future__ import annotations

import argparse
import sys

import gymnasium as gym
from rich.console import Console
from rich.table import Table

import orchestra_env
from orchestra_env.domain_cli import add_domain_commands
from orchestra_env.models.profiles import load_profiles
from orchestra_env.tasks.suite import FAMILIES


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    envs = Table(title="Environments")
    envs.add_column("id")
    envs.add_column("families (weight)")
    for env_id, families in orchestra_env.ENV_FAMILIES.items():
        envs.add_row(env_id, ", ".join(f"{f} ({w:g})" for f, w in families.items()))
    console.print(envs)
    console.print("Task families: " + ", ".join(sorted(FAMILIES)))
    profiles = load_profiles()
    tools = Table(title="Tools and model aliases (paper prices)")
    for col in ("tool", "alias", "model", "$/M in", "$/M out", "mean latency s"):
        tools.add_column(col)
    for alias, spec in profiles.aliases.items():
        m = profiles.models[spec.model]
        tools.add_row(
            spec.tool, alias, m.display_name, f"{m.price.input_per_mtok:g}",
            f"{m.price.output_per_mtok:g}", f"{spec.quoted_latency_s or 0:g}",
        )
    console.print(tools)
    return 0


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """A short printout of episodes played by a fixed router (evidence first, mid answerer)."""
    from orchestra_env.baselines.routers import FixedPlan

    env = gym.make(args.env, split="test")
    agent = FixedPlan(
        [
            ("search", {"model": "search-3"}),
            ("search", {"model": "search-3"}),
            ("search", {"model": "search-3"}),
            ("answer", {"model": "answer-2"}),
        ],
        name="search-3x3,answer-2",
    )
    solved = 0
    for i in range(args.episodes):
        obs, info = env.reset(seed=args.seed + i)
        agent.reset(obs, info)
        console.rule(f"episode {i}: {info['task_id']}")
        console.print(obs["messages"][1]["content"])
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            done = terminated or truncated
            console.print(f"  → {info.get('tool') or info.get('error')}")
        solved += info["outcome"]
        grading = info["grading"]
        console.print(
            f"answer {grading['answer']!r} (expected {grading['expected']!r}) "
            f"outcome={info['outcome']} reward={reward:.3f} "
            f"${info['ledger']['cost_usd']:.4f} {info['ledger']['latency_s']:.1f}s"
        )
    console.print(f"[bold]{agent.name}: solved {solved}/{args.episodes}[/bold]")
    env.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orchestra", description=__doc__)
    parser.add_argument("--version", action="version", version=orchestra_env.__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="env ids, task families, tools and prices").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="the main job: play and print a few episodes")
    run.add_argument("--env", default="ToolOrchestra-v0")
    run.add_argument("--episodes", type=int, default=5)
    run.add_argument("--seed", type=int, default=0)
    run.set_defaults(func=cmd_run)
    add_domain_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, Console())


if __name__ == "__main__":
    sys.exit(main())
