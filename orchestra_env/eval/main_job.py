"""The project's main job (`make run`, `orchestra run`): every bundled baseline on one env's
fixed test split, then the comparison table and the Pareto plots."""

from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rich.console import Console

from orchestra_env.eval.agent import AgentSpec, agent_names
from orchestra_env.eval.records import read_run
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

    The agents are spread over `workers` processes, each playing whole agents in turn: a
    process builds the env's worlds once and reuses them for every agent it plays. Without
    `resume` the run files are started afresh, so that the numbers come from the code
    installed now; with it, finished episodes are kept (e.g. after Ctrl-C).
    """
    console = console or Console()
    runs_dir = Path(runs_dir)
    if not resume:
        shutil.rmtree(runs_dir, ignore_errors=True)
    known = set(agent_names())
    for spec in agents:
        if spec.target not in known:
            console.print(f"[yellow]skipping {spec.name}[/yellow]: no agent registered as {spec.target!r}")
    todo = [s for s in agents if s.target in known]
    console.print(f"{len(todo)} agents × {episodes} test tasks of {env_id}, {workers} processes")
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            pool.submit(
                _evaluate_quietly, spec, env_id, split="test", episodes=episodes, seed=seed,
                out=runs_dir / f"{_slug(spec.name)}.jsonl",
            ): spec
            for spec in sorted(todo, key=lambda s: s.target != "oracle")  # the slowest first
        }
        for done in as_completed(futures):
            records = read_run(done.result())[1]
            solved, cost = sum(r.outcome for r in records), sum(r.cost_usd for r in records)
            console.print(f"  {futures[done].name}: {solved}/{len(records)} solved, ${cost / len(records):.4f} per task")
    return compare([runs_dir], report_dir, console, weak=WEAK, strong=STRONG)


def _evaluate_quietly(spec: AgentSpec, env_id: str, **kwargs) -> Path:
    """One agent in this process (its worlds are cached per process), no progress bar."""
    return evaluate(spec, env_id, workers=1, progress=False, **kwargs)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name).strip("_")
