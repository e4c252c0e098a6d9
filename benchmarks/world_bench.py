"""Knowledge world and retrieval: build times, question and search latency, retrieval quality.

    python benchmarks/world_bench.py [--seed S] [--questions N]

Pins itself to one core. Prints a Markdown table for benchmarks/RESULTS.md:
* world build (the first includes importing Faker; a second seed is built warm),
* index build (bm25s, local + web corpus),
* question(index) latency,
* search latency uncached (each query's first call) and cached (a repeat), median µs,
* hit@3 of the hops' targeted queries in the right source (local if the document is local,
  else web) and in the web corpus, and of vague queries (three words of the question, what a
  failed search writes; the whole question, which names only the chain's start).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time


def _median_us(samples: list[float]) -> float:
    return 1e6 * statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--questions", type=int, default=2000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    from orchestra_env.tools.retrieval import SearchIndex
    from orchestra_env.world import KnowledgeWorld

    t = time.perf_counter()
    world = KnowledgeWorld(args.seed)
    world_cold = time.perf_counter() - t
    t = time.perf_counter()
    KnowledgeWorld(args.seed + 1)
    world_warm = time.perf_counter() - t
    t = time.perf_counter()
    index = SearchIndex(world.documents)
    index_s = time.perf_counter() - t

    q_times, questions = [], []
    for i in range(args.questions):
        t = time.perf_counter()
        questions.append(world.question(i))
        q_times.append(time.perf_counter() - t)

    rng = random.Random(0)
    targeted, vague, whole_first, whole_last = [], [], [], []
    for q in questions:
        words = [w for w in q.question.replace("?", "").replace(",", "").split() if len(w) > 3]
        for hop in q.hops:
            source = "local" if world.document(hop.doc_id).local else "web"
            targeted.append((hop.query, source, hop.doc_id))
            vague.append((" ".join(rng.sample(words, min(3, len(words)))), "web", hop.doc_id))
        if q.kind == "chain" and len(q.hops) >= 3:
            whole_first.append((q.question, "web", q.hops[0].doc_id))
            whole_last.append((q.question, "web", q.hops[-1].doc_id))

    def run(queries) -> tuple[list[float], float]:
        times, hits = [], 0
        for query, source, doc_id in queries:
            t = time.perf_counter()
            found = index.search(query, k=3, source=source)
            times.append(time.perf_counter() - t)
            hits += doc_id in found
        return times, hits / len(queries)

    index.cache_clear()
    distinct = list({(q, s): (q, s, d) for q, s, d in targeted + vague}.values())
    uncached, _ = run(distinct)
    cached, _ = run(distinct)
    _, hit_targeted = run(targeted)
    _, hit_web = run([(q, "web", d) for q, _, d in targeted])
    _, hit_vague = run(vague)
    _, hit_first = run(whole_first)
    _, hit_last = run(whole_last)
    web_only = sum(not d.local for d in world.documents) / len(world.documents)
    lengths = [len(d.text) for d in world.documents]

    print(
        f"world seed {args.seed}: {len(world.documents):,} documents, {web_only:.1%} web-only, "
        f"text {min(lengths)}–{max(lengths)} chars (median {statistics.median(lengths):.0f}); "
        f"{len(questions):,} questions, {len(targeted):,} hops"
    )
    print("| measure | value |")
    print("|---|---|")
    print(f"| world build, first (incl. Faker import) | {world_cold:.2f} s |")
    print(f"| world build, another seed | {world_warm:.2f} s |")
    print(f"| index build (local + web) | {index_s:.2f} s |")
    print(
        f"| question() median / mean | {_median_us(q_times):.0f} µs "
        f"/ {1e6 * statistics.mean(q_times):.0f} µs |"
    )
    print(
        f"| search uncached, median ({len(distinct):,} distinct queries) "
        f"| {_median_us(uncached):.0f} µs |"
    )
    print(f"| search cached, median | {_median_us(cached):.2f} µs |")
    print(f"| targeted hop query hit@3, right source | {hit_targeted:.2%} |")
    print(f"| targeted hop query hit@3, web | {hit_web:.2%} |")
    print(f"| vague query (3 question words) hit@3, web | {hit_vague:.2%} |")
    print(
        f"| whole question as query, 3–4-hop chains: first / last hop's document hit@3 | "
        f"{hit_first:.2%} / {hit_last:.2%} |"
    )


if __name__ == "__main__":
    main()
