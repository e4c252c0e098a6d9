"""`orchestra train`: train a small policy on the CPU.

    orchestra train --policy mini --steps 200000 --seed 0 --out runs/mini
    orchestra train --policy mini --out runs/mini --export agents/checkpoints   # ship it

Needs the "train" extra (torch); building this parser imports none of it.
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rich.console import Console

from orchestra_env.agents.mini import HEADS
from orchestra_env.eval.cli import EXIT_INTERRUPTED, EXIT_USAGE, plain
from orchestra_env.train import MiniConfig, write_together

POLICIES = ("mini",)


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `train` on the `orchestra` command's subparsers; returns its parser."""
    defaults = MiniConfig()
    train = subparsers.add_parser(
        "train",
        help="train a small routing policy (PPO, CPU) and write its checkpoint and learning curve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--policy", choices=POLICIES, default="mini", help="what to train (default mini)"
    )
    train.add_argument(
        "--steps", type=at_least(1), default=defaults.total_steps, help="env steps in all"
    )
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--out", type=Path, default=Path("runs/mini"), help="output folder")
    train.add_argument("--env", default=defaults.env_id, help="env id to train on")
    train.add_argument("--num-envs", type=at_least(1), default=defaults.num_envs)
    train.add_argument(
        "--num-steps", type=at_least(1), default=defaults.num_steps, help="turns per env per update"
    )
    train.add_argument("--lr", type=float, default=defaults.learning_rate)
    train.add_argument("--ent-coef", type=float, default=defaults.ent_coef)
    train.add_argument("--hidden", type=at_least(1), default=defaults.hidden)
    train.add_argument(
        "--cost-penalty",
        type=float,
        default=defaults.cost_penalty,
        help="training reward subtracted per dollar spent",
    )
    train.add_argument(
        "--preference-cost-penalty",
        type=float,
        default=defaults.preference_cost_penalty,
        help="also subtracted per dollar, times the preference's cost weight (1 under 'cheap')",
    )
    train.add_argument(
        "--preference-latency-penalty",
        type=float,
        default=defaults.preference_latency_penalty,
        help="subtracted per second, times the preference's latency weight (1 under 'fast')",
    )
    train.add_argument(
        "--linear-prices",
        action="store_true",
        help="train without the env's log-scale cost and latency scores: the preference "
        "penalties above are the only price of money and time",
    )
    train.add_argument(
        "--price-jitter",
        type=float,
        default=defaults.env_kwargs["price_jitter"],
        help="per-episode log-uniform price scale per model (randomised providers)",
    )
    train.add_argument(
        "--holdout-models",
        nargs="+",
        default=None,
        metavar="MODEL",
        help="models no training episode puts behind an alias (to test generalisation)",
    )
    train.add_argument(
        "--holdout-provider", default=None, help="a provider whose prices training never draws"
    )
    train.add_argument(
        "--families",
        nargs="+",
        type=weight,
        default=None,
        metavar="FAMILY=W",
        help="task families and their sampling weights, e.g. multihop=1 reasoning=2 "
        "function_calling=1 (default: the env id's own)",
    )
    train.add_argument(
        "--preference-price-ramp",
        type=float,
        default=defaults.preference_price_ramp,
        metavar="FRACTION",
        help="raise the preference penalties from 0 over this fraction of training (0..1)",
    )
    train.add_argument(
        "--preference-weights",
        nargs="+",
        type=weight,
        default=None,
        metavar="PRESET=W",
        help="draw each episode's preference preset with these weights, e.g. accuracy=2 "
        "balanced=1 cheap=1 fast=1 avoid_paid_apis=1 (default: uniform)",
    )
    train.add_argument(
        "--no-avoid-mask",
        action="store_true",
        help="train without masking paid routes under 'avoid paid APIs' (learned from the "
        "reward alone; the agent still masks them when it acts)",
    )
    train.add_argument(
        "--advantage-per-preset",
        action="store_true",
        help="normalise advantages within each preference preset of a batch (GRPO-like groups) "
        "rather than over the whole batch",
    )
    train.add_argument(
        "--preference-heads",
        action="store_true",
        help="one actor per preference head (accuracy, cheap, fast, balanced), each trained on "
        "its own presets' episodes only",
    )
    train.add_argument(
        "--init-from",
        default=None,
        metavar="CHECKPOINT",
        help="start the actor from this checkpoint (folder or .npz; same routes and --hidden)",
    )
    train.add_argument(
        "--init-heads",
        nargs="+",
        type=init_head,
        default=None,
        metavar="HEAD[=SOURCE]",
        help=f"with --preference-heads, the heads --init-from sets ({', '.join(HEADS)}; "
        "default all), each from the saved head of its name or SOURCE's (balanced=accuracy); "
        "the others start fresh",
    )
    train.add_argument(
        "--critic-warmup",
        type=at_least(0),
        default=defaults.critic_warmup,
        help="updates that train the critic alone first (for --init-from)",
    )
    train.add_argument(
        "--env-workers",
        type=at_least(1),
        default=1,
        help="processes that step the envs (default 1: this one); the same run for any number",
    )
    train.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib needed)")
    train.add_argument(
        "--export",
        type=Path,
        default=None,
        help="also copy the checkpoint (.npz + .json) into this folder, e.g. agents/checkpoints",
    )
    train.set_defaults(func=cmd_train)
    return train


def init_head(text: str) -> str:
    """An argparse type: HEAD or HEAD=SOURCE, both of `HEADS`."""
    if any(name not in HEADS for name in text.split("=", 1)):
        raise argparse.ArgumentTypeError(
            f"expected HEAD or HEAD=SOURCE of {list(HEADS)}, got {text!r}"
        )
    return text


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= `minimum`."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return number

    return parse


def weight(text: str) -> tuple[str, float]:
    """`NAME=W` as (NAME, W), W finite and >= 0: one entry of --families or
    --preference-weights."""
    name, _, value = (part.strip() for part in text.partition("="))
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not name or not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(
            f"expected NAME=WEIGHT with a weight >= 0 (e.g. reasoning=2), got {text!r}"
        )
    return name, number


def config_from_args(args: argparse.Namespace) -> MiniConfig:
    """The `MiniConfig` the command line asks for."""
    env_kwargs = {**MiniConfig().env_kwargs, "price_jitter": args.price_jitter}
    if args.holdout_models:
        env_kwargs["holdout_models"] = list(args.holdout_models)
    if args.holdout_provider:
        env_kwargs["holdout_provider"] = args.holdout_provider
    if args.families:
        env_kwargs["families"] = dict(args.families)
    return MiniConfig(
        seed=args.seed,
        total_steps=args.steps,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        learning_rate=args.lr,
        ent_coef=args.ent_coef,
        hidden=args.hidden,
        cost_penalty=args.cost_penalty,
        preference_cost_penalty=args.preference_cost_penalty,
        preference_latency_penalty=args.preference_latency_penalty,
        linear_prices=args.linear_prices,
        preference_price_ramp=args.preference_price_ramp,
        preference_weights=dict(args.preference_weights) if args.preference_weights else None,
        mask_avoided_paid=not args.no_avoid_mask,
        advantage_per_preset=args.advantage_per_preset,
        preference_heads=args.preference_heads,
        init_from=args.init_from,
        init_heads=tuple(args.init_heads) if args.init_heads else None,
        critic_warmup=args.critic_warmup,
        env_id=args.env,
        env_kwargs=env_kwargs,
    )


def cmd_train(args: argparse.Namespace, console: Console) -> int:
    """Run `orchestra train` with parsed `args`. Without torch, the ModuleNotFoundError goes up
    to `orchestra_env.cli.main`, which names the extra to install."""
    from orchestra_env.train.mini import train

    config = config_from_args(args)
    if args.env_workers > config.num_envs:
        console.print(
            f"orchestra train: --env-workers {args.env_workers} is more processes than "
            f"--num-envs {config.num_envs} envs to step",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_USAGE
    console.print(
        f"training {args.policy}: {config.num_updates} updates of {config.batch_size} steps, "
        f"seed {config.seed}",
        markup=False,
    )
    started = time.time()
    try:
        result = train(
            config,
            args.out,
            plot=not args.no_plot,
            log=plain(console),
            env_workers=args.env_workers,
        )
        if args.export:
            _export((result.checkpoint, result.config), args.export)
    except KeyboardInterrupt:
        saved = [p.name for p in sorted(args.out.glob("*")) if p.stat().st_mtime >= started]
        what = f"saved {', '.join(saved)} in {args.out}" if saved else "nothing saved"
        console.print(f"interrupted; {what}", markup=False, soft_wrap=True)
        return EXIT_INTERRUPTED
    curve = f"{result.curve_csv}" + (f" and {result.curve_png}" if result.curve_png else "")
    console.print(
        f"done in {result.wall_s:.0f}s, {result.episodes} episodes: checkpoint "
        f"{result.checkpoint}, curve {curve}",
        markup=False,
    )
    if args.export:
        console.print(f"exported the checkpoint to {args.export}", markup=False)
    return 0


def _export(paths: tuple[Path, ...], folder: Path) -> None:
    """Copy `paths` into `folder`, all or none (the agent loads the pair from there)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_together({folder / p.name: partial(shutil.copy2, p) for p in paths})
