"""The `orchestra` command: list what exists, run the main job, play, evaluate, compare, train,
calibrate and author domains.

Building the parser imports no optional extra (torch, transformers, trl, ray, matplotlib,
stable-baselines3, vllm): a command imports what it needs when it runs, and one whose extra is
missing says which to install."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

import orchestra_env
from orchestra_env.calibration.cli import add_calibrate_command
from orchestra_env.domain.cli import add_domain_commands
from orchestra_env.eval.cli import EXIT_INTERRUPTED, add_eval_commands
from orchestra_env.eval.front_cli import add_front_commands
from orchestra_env.extras import extra_for, install_hint
from orchestra_env.train.cli import add_train_command

EXIT_MISSING_EXTRA = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orchestra", description=__doc__)
    parser.add_argument("--version", action="version", version=orchestra_env.__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_front_commands(sub)
    add_domain_commands(sub)
    add_eval_commands(sub)
    add_calibrate_command(sub)
    add_train_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `orchestra argv`; returns the exit status. A missing extra or Ctrl-C ends a command
    with one line, not a traceback."""
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return args.func(args, console)
    except ModuleNotFoundError as exc:
        extra = extra_for(exc.name)
        if extra is None:
            raise
        console.print(
            f'orchestra {args.command} needs the "{extra}" extra: {install_hint(extra)}',
            markup=False,
            soft_wrap=True,
        )
        return EXIT_MISSING_EXTRA
    except KeyboardInterrupt:
        console.print("interrupted", markup=False)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
