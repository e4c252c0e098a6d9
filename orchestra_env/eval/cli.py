"""`orchestra eval` and `orchestra compare`. `add_eval_commands` registers them on the
`orchestra` parser's subparsers; each handler takes (args, console) and returns the exit status."""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
from rich.console import Console
from rich.text import Text

from orchestra_env.eval.agent import AgentSpec, UnknownAgentError, agent_names
from orchestra_env.eval.pools import EVAL_EXECUTORS
from orchestra_env.eval.records import RunFileError, read_run
from orchestra_env.eval.runner import (
    DEFAULT_EPISODES,
    DEFAULT_MAX_ERRORS,
    AllExpertCallsFailed,
    EndpointUnreachable,
    EpisodeError,
    evaluate,
)
from orchestra_env.integrations.ray import RayMissing
from orchestra_env.registry import ENV_FAMILIES

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def add_eval_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `eval` and `compare` on an argparse subparsers object."""
    ev = subparsers.add_parser(
        "eval",
        help="evaluate an agent into a resumable JSONL run file",
        description="Play an agent on a split's tasks, TRIALS times each. Re-running the same "
        "command resumes the run where it stopped.",
    )
    ev.add_argument(
        "--agent",
        required=True,
        help=f"registered name ({', '.join(agent_names())}) or import path module:Factory",
    )
    ev.add_argument(
        "--agent-kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="agent factory argument (repeatable; VALUE is JSON, else a string)",
    )
    ev.add_argument(
        "--name", default="", help="agent name in the records (default: the agent and its kwargs)"
    )
    ev.add_argument("--env", required=True, help="Gymnasium env id, e.g. ToolOrchestra-v0")
    ev.add_argument(
        "--env-kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="gym.make argument (repeatable; VALUE is JSON, else a string)",
    )
    ev.add_argument("--split", default="test", help="split the tasks come from (default: test)")
    ev.add_argument("--episodes", type=int, help=f"number of tasks (default: {DEFAULT_EPISODES})")
    ev.add_argument(
        "--trials", type=int, default=1, help="episodes per task, for pass^k (default: 1)"
    )
    ev.add_argument("--seed", type=int, default=0, help="run seed; episode seeds derive from it")
    ev.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes, or Ray actors with --executor ray (default: 1)",
    )
    ev.add_argument(
        "--executor",
        choices=EVAL_EXECUTORS,
        default="process",
        help="where the workers run: local processes, or Ray actors on the cluster at "
        "RAY_ADDRESS (else a local Ray); needs the ray extra (default: process)",
    )
    ev.add_argument("--out", type=Path, required=True, help="run file (JSONL) to write or resume")
    ev.add_argument(
        "--trajectories", action="store_true", help="keep each episode's actions and replies"
    )
    ev.add_argument(
        "--max-errors",
        type=int,
        default=DEFAULT_MAX_ERRORS,
        help=f"failed episodes tolerated before stopping (default: {DEFAULT_MAX_ERRORS}); "
        "failed ones are retried on resume",
    )
    ev.add_argument("--no-progress", action="store_true", help="no live progress bar")
    live = ev.add_argument_group(
        "LLM agents and live experts (shorthands for --agent-kwarg / --env-kwarg)"
    )
    live.add_argument("--backend", help="agent backend: transformers, vllm or openai")
    live.add_argument(
        "--model-path", help="agent model: hub id or local directory (orchestrator-8b)"
    )
    live.add_argument("--model", help="served model name (llm and baseline presets)")
    live.add_argument("--base-url", help="agent endpoint, e.g. http://localhost:8000/v1")
    live.add_argument("--experts", choices=("simulated", "live"), help="expert mode of the env")
    live.add_argument(
        "--expert-backends",
        help="with --experts live: JSON/YAML file {alias | model | '*': backend config}",
    )
    ev.set_defaults(func=cmd_eval)

    cmp = subparsers.add_parser(
        "compare", help="compare run files: table, Markdown and Pareto plots"
    )
    cmp.add_argument(
        "runs", nargs="+", type=Path, metavar="RUN", help="run files or folders of them"
    )
    cmp.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        help="folder for comparison.md and the plots (default: reports)",
    )
    cmp.add_argument(
        "--weak",
        help="agent anchoring APGR/CPT at the cheap end "
        "(default: the cheapest agent less accurate than --strong)",
    )
    cmp.add_argument(
        "--strong",
        help="agent anchoring APGR/CPT at the strong end (default: the most accurate real agent)",
    )
    cmp.set_defaults(func=cmd_compare)


def parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs as a dict; VALUE as JSON when it parses (`3`, `true`, `["a"]`), else
    as the string itself."""
    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def shorthand_kwargs(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(agent kwargs, env kwargs) from --agent-kwarg/--env-kwarg and the live shorthands."""
    agent_kwargs, env_kwargs = parse_kwargs(args.agent_kwarg), parse_kwargs(args.env_kwarg)
    for flag in ("backend", "model_path", "model", "base_url"):
        if getattr(args, flag) is not None:
            agent_kwargs[flag] = getattr(args, flag)
    for flag in ("experts", "expert_backends"):
        if getattr(args, flag) is not None:
            env_kwargs[flag] = getattr(args, flag)
    return agent_kwargs, env_kwargs


def check_env_id(env_id: str) -> None:
    """Raise ValueError, naming the known ids, unless `gym.make(env_id)` would find the env
    (a registered id, or `module:Id` whose module registers it)."""
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ValueError(f"env {env_id!r}: cannot import {module!r} ({exc})") from exc
    try:
        gym.spec(name)
    except gym.error.Error as exc:
        raise ValueError(
            f"unknown env {env_id!r}; known ids: {', '.join(ENV_FAMILIES)} "
            "(or any registered Gymnasium id)"
        ) from exc


def print_error(console: Console, message: str) -> None:
    """`error: message` on one line, never wrapped nor read as markup (messages quote input)."""
    console.print(Text.assemble(("error", "red"), f": {message}"), soft_wrap=True, highlight=False)


def plain(console: Console) -> Callable[[str], None]:
    """A `log` function that prints lines as they are: no markup, no highlighting."""
    return partial(console.print, markup=False, highlight=False, soft_wrap=True)


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    try:
        check_env_id(args.env)
        agent_kwargs, env_kwargs = shorthand_kwargs(args)
        spec = AgentSpec(args.agent, agent_kwargs, args.name)
        path = evaluate(
            spec,
            args.env,
            env_kwargs=env_kwargs,
            split=args.split,
            episodes=args.episodes,
            trials=args.trials,
            seed=args.seed,
            out=args.out,
            workers=args.workers,
            executor=args.executor,
            keep_trajectory=args.trajectories,
            progress=not args.no_progress,
            max_errors=args.max_errors,
        )
    except KeyboardInterrupt:
        saved = f": finished episodes are saved in {args.out}; run the same command again to resume"
        console.print(Text.assemble(("interrupted", "yellow"), saved), soft_wrap=True)
        return EXIT_INTERRUPTED
    except (AllExpertCallsFailed, EndpointUnreachable) as exc:
        print_error(console, str(exc))
        return EXIT_FAILED
    except EpisodeError as exc:
        console.print(Text.assemble(("episodes failed", "red"), f": {exc}"), highlight=False)
        return EXIT_FAILED
    except (UnknownAgentError, RunFileError, ValueError) as exc:
        print_error(console, str(exc))
        return EXIT_USAGE
    except ImportError as exc:  # --executor ray without the extra: the message names it
        if not isinstance(exc, RayMissing):
            raise
        print_error(console, str(exc))
        return EXIT_USAGE
    records = read_run(path)[1]
    solved, cost = sum(r.outcome for r in records), sum(r.cost_usd for r in records)
    console.print(
        f"{spec.name}: {solved}/{len(records)} solved, ${cost:.4f} in all → {path}", markup=False
    )
    return 0


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    import matplotlib  # noqa: F401  (for the plots: without it, stop before any output)

    from orchestra_env.eval.report import compare

    try:
        report = compare(args.runs, args.out, console, weak=args.weak, strong=args.strong)
    except (FileNotFoundError, RunFileError, ValueError) as exc:
        print_error(console, str(exc))
        return EXIT_USAGE
    console.print(
        f"wrote {report.markdown}, {report.pareto} and {len(report.family_plots)} per-family plots",
        markup=False,
    )
    return 0
