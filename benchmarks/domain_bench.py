"""Speed of the JSON-domain engine, per bundled domain, on one core.

    python benchmarks/domain_bench.py [--domains bank ...] [--tasks N]

Times (medians): loading and checking domain.json, building a world from a seed, restoring it
after an episode's writes (what a reset costs), one read and one write tool call (the golden
calls of the first N tasks, each task on a freshly restored world), the canonical world hash
(what grading costs), and making one task (sampling + golden replay). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from orchestra_env.domain import bundled_domains, load_domain


def median_us(samples: list[float]) -> float:
    return 1e6 * statistics.median(samples)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def call_times(domain, world, n_tasks: int) -> tuple[list[float], list[float], list[float]]:
    """Seconds per read call, per write call, and per reset after a task's golden calls."""
    reads, writes, resets = [], [], []
    for index in range(n_tasks):
        t = time.perf_counter()
        world.reset()
        resets.append(time.perf_counter() - t)
        for action in domain.task(index).actions:
            kind = domain.tools[action["name"]].kind
            t = time.perf_counter()
            outcome = world.call(action["name"], action["arguments"])
            (writes if kind == "write" else reads).append(time.perf_counter() - t)
            assert outcome.ok, outcome.error
    return reads, writes, resets[1:]


def bench(name: str, n_tasks: int) -> dict:
    load = timed(lambda: load_domain(name), 3)
    domain = load_domain(name)
    seeds = iter(range(100, 200))
    build = timed(lambda: domain.build_world(next(seeds)), 3)
    world = domain.build_world(0)
    domain.task(n_tasks)  # the first task builds the replay world: keep that out of the timings
    reads, writes, resets = call_times(domain, world, n_tasks)
    fresh = iter(range(n_tasks + 1, n_tasks + 201))  # indices not made (cached) yet
    task_make = timed(lambda: domain.task(next(fresh)), 200)
    return {
        "domain": name,
        "rows": sum(
            world.query(f'SELECT COUNT(*) AS n FROM "{t.name}"')[0]["n"] for t in domain.tables
        ),
        "load_ms": 1e3 * statistics.median(load),
        "build_ms": 1e3 * statistics.median(build),
        "restore_us": median_us(resets),
        "read_us": median_us(reads),
        "write_us": median_us(writes),
        "hash_us": median_us(timed(world.hash, 300)),
        "task_ms": 1e3 * statistics.median(task_make),
        "calls": f"{len(reads)}/{len(writes)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domains", nargs="*", default=None)
    parser.add_argument("--tasks", type=int, default=200, help="tasks whose golden calls are timed")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(
        "| domain | rows | load ms | world build ms | restore µs | read call µs | write call µs "
        "| hash µs | new task ms | calls timed (read/write) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.domains or bundled_domains():
        r = bench(name, args.tasks)
        print(
            f"| {r['domain']} | {r['rows']} | {r['load_ms']:.0f} | {r['build_ms']:.0f} "
            f"| {r['restore_us']:.0f} | {r['read_us']:.0f} | {r['write_us']:.0f} "
            f"| {r['hash_us']:.0f} | {r['task_ms']:.2f} | {r['calls']} |"
        )


if __name__ == "__main__":
    main()
