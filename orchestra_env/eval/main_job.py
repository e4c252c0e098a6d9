"""The project's main job (`make run`, `orchestra run`): every bundled baseline on one env's
fixed test split, then the comparison table and the Pareto plots."""

from __future__ import annotations

import multiprocessing
import shutil
import signal
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.text import Text

from orchestra_env.eval.agent import AgentSpec, agent_names
from orchestra_env.eval.records import read_run
from orchestra_env.eval.report import Report, compare
from orchestra_env.eval.runner import EpisodeError, evaluate

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
    installed now; with it, finished episodes are kept (e.g. after Ctrl-C). An agent whose
    episodes fail (one that cannot play this env) is reported and left out; the others are
    still compared, then `EpisodeError` names the agents that failed.
    """
    console = console or Console()
    runs_dir = Path(runs_dir)
    if not resume:
        shutil.rmtree(runs_dir, ignore_errors=True)
    known = set(agent_names())
    for spec in agents:
        if spec.target not in known:
            why = f": no agent registered as {spec.target!r}"
            console.print(Text.assemble((f"skipping {spec.name}", "yellow"), why))
    # The slowest first: the oracle replays the env.
    todo = sorted((s for s in agents if s.target in known), key=lambda s: s.target != "oracle")
    console.print(
        f"{len(todo)} agents × {episodes} test tasks of {env_id}, {workers} "
        f"process{'es' if workers != 1 else ''}",
        markup=False,
    )
    play = partial(_play_agent, env_id=env_id, runs_dir=runs_dir, episodes=episodes, seed=seed)
    played, failed = [], []
    # Leaving the block early terminates the workers (which ignore Ctrl-C): an interrupted run
    # stops at once, and its finished episodes stay in the run files for --resume.
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_ignore_sigint) as pool:
        for spec, path, error in pool.imap_unordered(play, todo):
            if error:
                failed.append(spec.name)
                failure = Text.assemble(f"  {spec.name}: ", (f"failed: {error}", "red"))
                console.print(failure, soft_wrap=True)
                continue
            played.append(path)
            records = read_run(path)[1]
            solved, cost = sum(r.outcome for r in records), sum(r.cost_usd for r in records)
            per_task = cost / len(records)
            console.print(
                f"  {spec.name}: {solved}/{len(records)} solved, ${per_task:.4f} per task",
                markup=False,
            )
        pool.close()  # done: the workers exit on their own (killed, they leak semaphores)
        pool.join()
    if not played:
        raise EpisodeError(f"every agent failed on {env_id}; their run files are in {runs_dir}")
    names = {s.name for s in todo} - set(failed)
    weak, strong = (anchor if anchor in names else None for anchor in (WEAK, STRONG))
    report = compare(played, report_dir, console, weak=weak, strong=strong)
    if failed:
        raise EpisodeError(
            f"{', '.join(failed)} failed on {env_id} (see above); the comparison of the others "
            f"is in {report_dir}"
        )
    return report


def _play_agent(
    spec: AgentSpec, *, env_id: str, runs_dir: Path, episodes: int, seed: int
) -> tuple[AgentSpec, Path, str]:
    """One agent on the test split in this worker (its worlds are cached per process), without
    a progress bar: (its spec, its run file, the first line of why it failed or "")."""
    out = runs_dir / f"{_slug(spec.name)}.jsonl"
    try:
        evaluate(
            spec,
            env_id,
            split="test",
            episodes=episodes,
            seed=seed,
            out=out,
            workers=1,
            progress=False,
        )
    except EpisodeError as exc:  # the message's first line says which episode and why
        return spec, out, str(exc).splitlines()[0]
    return spec, out, ""


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group: the parent decides (and terminates the pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name).strip("_")
