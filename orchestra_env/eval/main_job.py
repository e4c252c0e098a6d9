"""The project's main job (`make run`, `orchestra run`): every bundled baseline on one env's
fixed test split, then the comparison table and the Pareto plots."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from orchestra_env.eval.agent import AgentSpec, agent_names
from orchestra_env.eval.report import Report, compare
from orchestra_env.eval.runner import evaluate

# The anchors of APGR/CPT: the paper's strongest baseline and the cheapest model of its table
# on its own, so "how much of GPT-5's lead does an orchestrator recover, at what share of its cost".
STRONG = "GPT-5 + basic tools"
WEAK = "Qwen3-8B alone"

BASELINES: tuple[AgentSpec, ...] = (
    AgentSpec("random"),
    AgentSpec("evidence-first"),
    AgentSpec("cheapest-first"),
    AgentSpec("alone", {"model": "qwen3-8b"}, WEAK),
    AgentSpec("basic-tools", {"model": "qwen3-8b"}, "Qwen3-8B + basic tools"),
    AgentSpec("alone", {"model": "gpt-5"}, "GPT-5 alone"),
    AgentSpec("basic-tools", {"model": "gpt-5"}, STRONG),
    AgentSpec("orchestra-mini"),
    AgentSpec("oracle"),  # the upper bound, marked as such in every table and plot
)


def run_baselines(
    env_id: str = "ToolOrchestra-v0",
    *,
    agents: Sequence[AgentSpec] = BASELINES,
    episodes: int = 200,
    seed: int = 0,
    workers: int = 2,
    runs_dir: str | Path = "runs/baselines",
    report_dir: str | Path = "reports/baselines",
    resume: bool = False,
    console: Console | None = None,
) -> Report:
    """Evaluate `agents` (those registered) on the first `episodes` test tasks of `env_id`, one
    run file each under `runs_dir`, and compare them into `report_dir`.

    Without `resume` the run files are started afresh, so that the numbers always come from
    the code installed now; with it, finished episodes are kept (e.g. after Ctrl-C).
    """
    console = console or Console()
    runs_dir = Path(runs_dir)
    if not resume:
        shutil.rmtree(runs_dir, ignore_errors=True)
    known = set(agent_names())
    for spec in agents:
        if spec.target not in known:
            console.print(f"[yellow]skipping {spec.name}[/yellow]: no agent registered as {spec.target!r}")
            continue
        console.print(f"[bold]{spec.name}[/bold] on {episodes} test tasks of {env_id}")
        evaluate(
            spec, env_id, split="test", episodes=episodes, seed=seed, workers=workers,
            out=runs_dir / f"{_slug(spec.name)}.jsonl", progress=console.is_terminal,
        )
    return compare([runs_dir], report_dir, console, weak=WEAK, strong=STRONG)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name).strip("_")
