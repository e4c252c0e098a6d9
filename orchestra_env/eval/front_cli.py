"""The front-door commands: `orchestra list` (env ids, families, tools and prices), `orchestra
run` (the main job: the bundled baselines compared) and `orchestra play` (a few episodes of one
agent, turn by turn)."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestra_env.actions import Message, ToolCall, parse_action
from orchestra_env.eval.agent import AgentSpec, UnknownAgentError
from orchestra_env.eval.cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    check_env_id,
    parse_kwargs,
    print_error,
)
from orchestra_env.eval.runner import EpisodeError
from orchestra_env.models.profiles import load_profiles
from orchestra_env.observation import offered
from orchestra_env.registry import ENV_FAMILIES
from orchestra_env.render import FORMATS
from orchestra_env.rollout import Step, rollout
from orchestra_env.tasks.suite import FAMILIES
from orchestra_env.tools.spec import ToolSpec

REPLY_CHARS = 300  # `orchestra play` shows this much of each reply


def add_front_commands(sub) -> None:
    """Register `list`, `run` and `play` on the `orchestra` parser's subcommands."""
    sub.add_parser("list", help="env ids, task families, tools and prices").set_defaults(
        func=cmd_list
    )
    run = sub.add_parser(
        "run", help="the main job: compare the bundled baselines on the test split"
    )
    run.add_argument("--env", default="ToolOrchestra-v0")
    run.add_argument("--episodes", type=int, default=200, help="test tasks per agent (default 200)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    run.add_argument(
        "--runs",
        type=Path,
        default=Path("runs/baselines"),
        help="run files (default runs/baselines)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("reports/baselines"),
        help="report folder (default reports/baselines)",
    )
    run.add_argument(
        "--resume", action="store_true", help="keep finished episodes of an earlier run"
    )
    run.set_defaults(func=cmd_run)
    play = sub.add_parser("play", help="print a few episodes of one agent, turn by turn")
    play.add_argument("--agent", default="evidence-first", help="registered name or module:Factory")
    play.add_argument(
        "--agent-kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="agent factory argument (repeatable; VALUE is JSON, else a string)",
    )
    play.add_argument("--env", default="ToolOrchestra-v0")
    play.add_argument(
        "--render", choices=FORMATS, help="observation format (default: the agent's, else chat)"
    )
    play.add_argument("--episodes", type=int, default=3)
    play.add_argument("--seed", type=int, default=0)
    play.set_defaults(func=cmd_play)


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    # Ids and aliases never wrap: at 80 columns the wrappable columns give way instead.
    envs = Table(title="Environments", box=box.SIMPLE_HEAD, pad_edge=False)
    envs.add_column("id", no_wrap=True)
    envs.add_column("families (weight)")
    for env_id, families in ENV_FAMILIES.items():
        envs.add_row(env_id, ", ".join(f"{f} ({w:g})" for f, w in families.items()))
    console.print(envs)
    console.print("Task families: " + ", ".join(sorted(FAMILIES)), markup=False)
    profiles = load_profiles()
    tools = Table(
        title="Tools and model aliases (paper prices)", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for col in ("tool", "alias", "model"):
        tools.add_column(col, no_wrap=True)
    for col in ("$/M in", "$/M out", "latency s"):
        tools.add_column(col, justify="right")
    for alias, spec in profiles.aliases.items():
        m = profiles.models[spec.model]
        tools.add_row(
            spec.tool,
            alias,
            m.display_name,
            f"{m.price.input_per_mtok:g}",
            f"{m.price.output_per_mtok:g}",
            f"{spec.quoted_latency_s or 0:g}",
        )
    console.print(tools)
    return 0


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """The main job: the bundled baselines on the test split, compared."""
    import matplotlib  # noqa: F401  (for the plots at the end: without it, stop before playing)

    from orchestra_env.eval.main_job import run_baselines

    try:
        check_env_id(args.env)
        report = run_baselines(
            args.env,
            episodes=args.episodes,
            seed=args.seed,
            workers=args.workers,
            runs_dir=args.runs,
            report_dir=args.out,
            resume=args.resume,
            console=console,
        )
    except ValueError as exc:
        print_error(console, str(exc))
        return EXIT_USAGE
    except EpisodeError as exc:
        print_error(console, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        console.print(
            f"interrupted; finished episodes are in {args.runs}: add --resume to keep them",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_INTERRUPTED
    console.print(f"Pareto plot: {report.pareto}\nMarkdown table: {report.markdown}", markup=False)
    return 0


def cmd_play(args: argparse.Namespace, console: Console) -> int:
    """Print a few episodes of one agent, turn by turn: each action, the reply as the policy
    sees it, what the step cost, and at the end the outcome and its grading."""
    try:
        check_env_id(args.env)
        spec = AgentSpec(args.agent, parse_kwargs(args.agent_kwarg))
        env_kwargs = {**spec.env_kwargs(), "split": "test"}
        if args.render:
            env_kwargs["render"] = args.render
        agent = spec.build(args.env, env_kwargs)
    except (UnknownAgentError, ValueError) as exc:
        print_error(console, str(exc))
        return EXIT_USAGE
    except TypeError as exc:  # the agent's factory wants arguments the command line lacks
        print_error(console, f"agent {args.agent!r}: {exc}; give them with --agent-kwarg KEY=VALUE")
        return EXIT_USAGE
    env = gym.make(args.env, **env_kwargs)
    for i in range(args.episodes):
        play_episode(env, agent, args.seed + i, console)
    env.close()
    return 0


def play_episode(env: gym.Env, agent, seed: int, console: Console) -> None:
    """Play one episode of `agent`, printing every turn and the end."""

    def show(step: Step) -> None:
        if step.index == 0:  # the first turn: say which task this is
            console.rule(Text(f"{step.info['task_id']} (seed {seed})"))
            console.print(step.observation["messages"][1]["content"], markup=False, highlight=False)
        info = step.next_info
        line = describe_step(step.action, step.observation, info, step.info["ledger"])
        console.print(Text.assemble((f"turn {info['turns']}", "bold"), f"  {line}"), soft_wrap=True)
        replies = added_text(step.observation["messages"], step.next_observation["messages"])
        for role, text in replies or [("", "(nothing new)")]:
            text = f"{role}: {_clip(text)}" if role else text
            console.print(
                _indented(text, console.width), markup=False, highlight=False, soft_wrap=True
            )

    played = rollout(env, agent, seed=seed, on_step=show)
    info, ledger = played.info, played.info["ledger"]
    console.print(
        Text.assemble(
            ("outcome", "bold"),
            f" {info['outcome']}  reward {played.rewards[-1]:.3f}  "
            f"${ledger['cost_usd']:.4f}  {ledger['latency_s']:.1f} s  {info['turns']} turns",
        ),
        soft_wrap=True,
    )
    grading = ", ".join(f"{k}={v!r}" for k, v in info["grading"].items())
    console.print(f"grading: {_clip(grading)}", markup=False, highlight=False)


def describe_step(action: str, observation: dict, info: dict, spent: dict) -> str:
    """One line: the action (tool and arguments), the aliases it billed, its $ and seconds.
    `observation` is what the agent acted on; `spent` the ledger before the step."""
    if "error" in info:
        what = f"malformed action: {info['error']}"
    else:
        tools = offered(observation)
        specs = {n: ToolSpec(n, f["description"], f["parameters"]) for n, f in tools.items()}
        parsed = parse_action(action, specs, allow_messages=True)
        if isinstance(parsed, ToolCall):
            what = f"{parsed.name} {json.dumps(parsed.arguments, ensure_ascii=False)}"
        elif isinstance(parsed, Message):
            what = f"message to the user {json.dumps(_clip(parsed.text), ensure_ascii=False)}"
        else:
            what = f"malformed action: {parsed.error}"
    ledger = info["ledger"]
    billed = Counter(ledger["calls_by_alias"]) - Counter(spent["calls_by_alias"])
    usd, seconds = (ledger[k] - spent[k] for k in ("cost_usd", "latency_s"))
    return f"{what}  alias {', '.join(sorted(billed)) or '-'}  ${usd:.4f}  {seconds:.1f} s"


def added_text(before: Sequence[dict], after: Sequence[dict]) -> list[tuple[str, str]]:
    """What the env added to the observation's messages in one step, as (role, text): the
    messages appended after the policy's own (a chat), or the text inserted into the last
    message (a prompt rebuilt every turn, such as "toolorchestra")."""
    if list(after[: len(before)]) == list(before):
        added = after[len(before) :]
        if added and added[0]["role"] == "assistant":  # the action itself: shown already
            added = added[1:]
        return [(m["role"], m["content"]) for m in added]
    old, new = before[-1]["content"], after[-1]["content"]
    start = len(os.path.commonprefix([old, new]))
    end = len(os.path.commonprefix([old[start:][::-1], new[start:][::-1]]))
    inserted = new[start : len(new) - end].strip()
    return [(after[-1]["role"], inserted)] if inserted else []


def _indented(text: str, width: int, indent: str = "    ") -> str:
    """`text` wrapped to `width` columns (indent included), every line indented."""
    return "\n".join(
        textwrap.fill(line, max(width, 40), initial_indent=indent, subsequent_indent=indent)
        for line in text.splitlines()
    )


def _clip(text: str, limit: int = REPLY_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… (+{len(text) - limit} chars)"
