"""Latency of the code sandbox: cold pool start and warm calls, per isolation mode.

    python benchmarks/sandbox_bench.py [--calls N] [--starts N]

A warm call runs a small program (a sum, printed) on an already started worker: fork, limits,
run, capture, clean-up, and the round trip to the worker. Cold start is `Sandbox(workers=1)`
until its worker is ready; the first start in a process also probes bwrap once (shown apart).
Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from orchestra_env.tools.sandbox import Sandbox
from orchestra_env.tools.sandbox import isolation as isolation_setup

PROGRAM = "print(sum(i * i for i in range(1000)))"
EXPECTED = f"{sum(i * i for i in range(1000))}\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench(isolation: str, calls: int, starts: int) -> dict[str, float]:
    """Milliseconds: pool start (median of `starts`), warm call median / p90 / p99."""
    start_ms = []
    for _ in range(starts):
        began = time.perf_counter()
        Sandbox(isolation=isolation).close()
        start_ms.append((time.perf_counter() - began) * 1e3)
    with Sandbox(isolation=isolation) as box:
        for _ in range(20):  # warm-up: caches, the first fork
            box.run(PROGRAM)
        call_ms = []
        for _ in range(calls):
            began = time.perf_counter()
            result = box.run(PROGRAM)
            call_ms.append((time.perf_counter() - began) * 1e3)
            assert result.stdout == EXPECTED, result
    return {
        "start": statistics.median(start_ms),
        "median": statistics.median(call_ms),
        "p90": percentile(call_ms, 0.90),
        "p99": percentile(call_ms, 0.99),
        "per_s": 1e3 / statistics.mean(call_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="warm calls per mode (default 300)")
    parser.add_argument(
        "--starts", type=int, default=5, help="cold pool starts per mode (default 5)"
    )
    args = parser.parse_args()

    began = time.perf_counter()
    problem = isolation_setup.bwrap_problem()
    probe_ms = (time.perf_counter() - began) * 1e3
    modes = ["process"] + (["bwrap"] if problem is None else [])

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, uid {os.geteuid()}, "
        f"{args.calls} warm calls of `{PROGRAM}`"
    )
    print(
        f"bwrap: {'available' if problem is None else 'unavailable: ' + problem} "
        f"(one-time probe {probe_ms:.0f} ms)\n"
    )
    print(
        "| isolation | pool start, 1 worker (ms) | warm call median (ms) "
        "| p90 (ms) | p99 (ms) | calls/s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for mode in modes:
        r = bench(mode, args.calls, args.starts)
        print(
            f"| {mode} | {r['start']:.0f} | {r['median']:.2f} | {r['p90']:.2f} "
            f"| {r['p99']:.2f} | {r['per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
