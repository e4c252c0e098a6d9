"""`orchestra train`: train a small policy on the CPU.

    orchestra train --policy mini --steps 200000 --seed 0 --out runs/mini
    orchestra train --policy mini --out runs/mini --export agents/checkpoints   # ship it
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from rich.console import Console

POLICIES = ("mini",)


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `train` on the `orchestra` command's subparsers; returns its parser."""
    from orchestra_env.train.mini import MiniConfig

    defaults = MiniConfig()
    train = subparsers.add_parser(
        "train",
        help="train a small routing policy (PPO, CPU) and write its checkpoint and learning curve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--policy", choices=POLICIES, default="mini", help="what to train (default mini)")
    train.add_argument("--steps", type=int, default=defaults.total_steps, help="env steps in all")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--out", type=Path, default=Path("runs/mini"), help="output folder")
    train.add_argument("--env", default=defaults.env_id, help="env id to train on")
    train.add_argument("--num-envs", type=int, default=defaults.num_envs)
    train.add_argument("--num-steps", type=int, default=defaults.num_steps, help="turns per env per update")
    train.add_argument("--lr", type=float, default=defaults.learning_rate)
    train.add_argument("--ent-coef", type=float, default=defaults.ent_coef)
    train.add_argument("--hidden", type=int, default=defaults.hidden)
    train.add_argument(
        "--price-jitter", type=float, default=defaults.env_kwargs["price_jitter"],
        help="per-episode log-uniform price scale per model (randomised providers)",
    )
    train.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib needed)")
    train.add_argument(
        "--export", type=Path, default=None,
        help="also copy the checkpoint (.npz + .json) into this folder, e.g. agents/checkpoints",
    )
    train.set_defaults(func=cmd_train)
    return train


def config_from_args(args: argparse.Namespace):
    """The `MiniConfig` the command line asks for."""
    from orchestra_env.train.mini import MiniConfig

    env_kwargs = {**MiniConfig().env_kwargs, "price_jitter": args.price_jitter}
    return MiniConfig(
        seed=args.seed, total_steps=args.steps, num_envs=args.num_envs, num_steps=args.num_steps,
        learning_rate=args.lr, ent_coef=args.ent_coef, hidden=args.hidden, env_id=args.env,
        env_kwargs=env_kwargs,
    )


def cmd_train(args: argparse.Namespace, console: Console | None = None) -> int:
    """Run `orchestra train` with parsed `args`."""
    try:
        from orchestra_env.train.mini import train
    except ImportError as exc:  # torch is an optional extra
        raise SystemExit(f"orchestra train needs the train extra: pip install 'orchestra-env[train]' ({exc})") from exc
    console = console or Console()
    config = config_from_args(args)
    console.print(
        f"training {args.policy}: {config.num_updates} updates of {config.batch_size} steps, seed {config.seed}"
    )
    result = train(config, args.out, plot=not args.no_plot, log=console.print)
    console.print(
        f"done in {result.wall_s:.0f}s, {result.episodes} episodes: checkpoint {result.checkpoint}, "
        f"curve {result.curve_csv}" + (f" and {result.curve_png}" if result.curve_png else "")
    )
    if args.export:
        args.export.mkdir(parents=True, exist_ok=True)
        for path in (result.checkpoint, result.config):
            shutil.copy2(path, args.export / path.name)
        console.print(f"exported the checkpoint to {args.export}")
    return 0
