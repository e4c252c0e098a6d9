"""The `orchestra` command: list what exists, run episodes, and (as they land) evaluate, compare,
calibrate and author domains."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import gymnasium as gym
from rich.console import Console
from rich.table import Table

import orchestra_env
from orchestra_env.calibrate_cli import add_calibrate_command
from orchestra_env.domain_cli import add_domain_commands
from orchestra_env.eval.cli import add_eval_commands
from orchestra_env.models.profiles import load_profiles
from orchestra_env.tasks.suite import FAMILIES
from orchestra_env.train.cli import add_train_command


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
    """The main job: the bundled baselines on the test split, compared."""
    from orchestra_env.eval.main_job import run_baselines

    report = run_baselines(
        args.env, episodes=args.episodes, seed=args.seed, workers=args.workers,
        runs_dir=args.runs, report_dir=args.out, resume=args.resume, console=console,
    )
    console.print(f"Pareto plot: {report.pareto}\nMarkdown table: {report.markdown}")
    return 0


def cmd_play(args: argparse.Namespace, console: Console) -> int:
    """Print a few episodes of one agent, turn by turn."""
    from orchestra_env.eval.agent import make_agent

    env = gym.make(args.env, split="test")
    agent = make_agent(args.agent, env_id=args.env, env_kwargs={"split": "test"})
    for i in range(args.episodes):
        obs, info = env.reset(seed=args.seed + i)
        agent.reset(obs, info)
        console.rule(f"episode {i}: {info['task_id']}")
        console.print(obs["messages"][1]["content"], markup=False)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            done = terminated or truncated
            console.print(f"  → {info.get('tool') or info.get('error')}", markup=False)
        console.print(
            f"outcome={info['outcome']} reward={reward:.3f} "
            f"${info['ledger']['cost_usd']:.4f} {info['ledger']['latency_s']:.1f}s"
        )
    env.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orchestra", description=__doc__)
    parser.add_argument("--version", action="version", version=orchestra_env.__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="env ids, task families, tools and prices").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="the main job: compare the bundled baselines on the test split")
    run.add_argument("--env", default="ToolOrchestra-v0")
    run.add_argument("--episodes", type=int, default=200, help="test tasks per agent (default 200)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    run.add_argument("--runs", type=Path, default=Path("runs/baselines"), help="run files (default runs/baselines)")
    run.add_argument("--out", type=Path, default=Path("reports/baselines"), help="report folder (default reports/baselines)")
    run.add_argument("--resume", action="store_true", help="keep finished episodes of an earlier run")
    run.set_defaults(func=cmd_run)
    play = sub.add_parser("play", help="print a few episodes of one agent, turn by turn")
    play.add_argument("--agent", default="evidence-first")
    play.add_argument("--env", default="ToolOrchestra-v0")
    play.add_argument("--episodes", type=int, default=3)
    play.add_argument("--seed", type=int, default=0)
    play.set_defaults(func=cmd_play)
    add_domain_commands(sub)
    add_eval_commands(sub)
    add_calibrate_command(sub)
    add_train_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, Console())


if __name__ == "__main__":
    sys.exit(main())
