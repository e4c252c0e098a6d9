"""Evaluator throughput: episodes per second of `evaluate`, by worker count, and the main job.

    python benchmarks/eval_bench.py [--episodes N] [--workers 1 2]

Times `evaluate` of a router on ToolOrchestra-v0's test split into a fresh run file (worker
start-up and world builds included, as a user pays them), then `orchestra run`'s comparison of
every bundled baseline. Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console

from orchestra_env.eval import AgentSpec, evaluate
from orchestra_env.eval.main_job import run_baselines


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--main-job-episodes", type=int, default=200)
    args = parser.parse_args()
    print("| what | workers | episodes | wall s | episodes/s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for agent in ("evidence-first", "oracle"):
            for workers in args.workers:
                out = Path(tmp) / f"{agent}-{workers}.jsonl"
                wall = timed(
                    evaluate,
                    AgentSpec(agent),
                    "ToolOrchestra-v0",
                    episodes=args.episodes,
                    workers=workers,
                    out=out,
                    progress=False,
                )
                print(
                    f"| evaluate {agent} | {workers} | {args.episodes} | {wall:.1f} "
                    f"| {args.episodes / wall:.1f} |"
                )
        wall = timed(
            run_baselines,
            episodes=args.main_job_episodes,
            runs_dir=Path(tmp) / "runs",
            report_dir=Path(tmp) / "report",
            console=Console(quiet=True),
        )
        print(
            "| `orchestra run` (every baseline, then compare) | 2 "
            f"| {args.main_job_episodes} per agent | {wall:.1f} | - |"
        )


if __name__ == "__main__":
    main()
