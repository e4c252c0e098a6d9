"""Adversarial actions through every registered env: none may escape `step` as an exception, and
every observation must stay in the observation space.

    python benchmarks/fuzz.py [--actions 11200] [--seed 0]

Each env id gets an equal share of the actions, drawn in turn from KINDS: JSON nested thousands
deep, megabyte text, random Unicode, a message with a lone surrogate, a `<think>` left open
around a call, a non-string action, and (a third of all) well-formed calls to an offered tool
with one hostile argument value: nested thousands deep, an integer over Python's 4,300-digit
limit or outside 64 bits, NaN/Infinity, a lone surrogate, a long string, or odd (SQL, NUL
bytes, …). Episodes run until they end and restart on the next seed. Prints a Markdown table
and exits 1 if any exception escaped or any observation left the space.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter

import gymnasium as gym
import numpy as np

from orchestra_env import ENV_FAMILIES
from orchestra_env.actions import MAX_ACTION_CHARS
from orchestra_env.spaces import sample_arguments

KINDS = (
    "deep", "megabyte", "unicode", "surrogate", "open_think", "not_text",
    "hostile_call", "hostile_call", "hostile_call",
)  # fmt: skip
ODD_VALUES = (
    "'; DROP TABLE accounts; --", "\x00", "", "%s%n", "</tool_call>", "-1", "1e308", "[[], {}]",
    "-0.0", "null", "true", "99999999999999999999999999999999", "-9223372036854775809",
)  # fmt: skip


def unicode_text(rng: random.Random, n: int) -> str:
    """`n` code points from all of Unicode, lone surrogates included."""
    return "".join(chr(rng.randrange(0x110000)) for _ in range(n))


def hostile_value(rng: random.Random) -> str:
    """The JSON text of an argument value: one no tool call may carry, or an odd legal one."""
    kind = rng.randrange(6)
    if kind == 0:
        return "[" * rng.randint(1_000, 50_000)
    if kind == 1:
        return "9" * rng.randint(4_301, 20_000)
    if kind == 2:
        return rng.choice(["NaN", "Infinity", "-Infinity", "1e999"])
    if kind == 3:
        lone = chr(rng.randint(0xD800, 0xDFFF))
        return json.dumps("id-" + lone, ensure_ascii=rng.random() < 0.5)
    if kind == 4:
        return json.dumps("x " * rng.randint(1, 45_000))
    return rng.choice(ODD_VALUES)


def hostile_call(rng: random.Random, obs: dict) -> str:
    """A call to an offered tool with sampled valid arguments, one replaced by a hostile value."""
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in json.loads(obs["tools"])}
    name = rng.choice(sorted(tools))
    schema = tools[name]
    fragments = {
        k: json.dumps(v)
        for k, v in sample_arguments(schema, np.random.default_rng(rng.getrandbits(32))).items()
    }
    fragments[rng.choice(sorted(schema.get("properties", {})) or ["x"])] = hostile_value(rng)
    arguments = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in fragments.items()) + "}"
    if rng.random() < 0.3:  # OpenAI style: arguments as a JSON string
        arguments = json.dumps(arguments, ensure_ascii=False)
    return f'<tool_call>{{"name": {json.dumps(name)}, "arguments": {arguments}}}</tool_call>'


def action(kind: str, rng: random.Random, obs: dict):
    if kind == "deep":
        return "<tool_call>" + "[" * rng.randint(1_000, 100_000)
    if kind == "surrogate":  # in text to the user (conversations) or as a stray character
        return f"<message>{unicode_text(rng, 5)}{chr(rng.randint(0xD800, 0xDFFF))}</message>"
    if kind == "megabyte":
        return (unicode_text(rng, 64) + " ") * (rng.randint(MAX_ACTION_CHARS, 1 << 20) // 65)
    if kind == "unicode":
        return unicode_text(rng, rng.randint(0, 400))
    if kind == "open_think":
        return "<think>still weighing it " + hostile_call(rng, obs)
    if kind == "not_text":
        return rng.choice([None, 42, b"<tool_call>", ["x"] * 3, {"name": "answer"}])
    return hostile_call(rng, obs)


def fuzz(env_id: str, n: int, rng: random.Random) -> Counter:
    env, counts, seed = gym.make(env_id), Counter(), 0
    obs, _ = env.reset(seed=seed)
    for i in range(n):
        act = action(KINDS[i % len(KINDS)], rng, obs)
        try:
            obs, _, terminated, truncated, info = env.step(act)
        except Exception as e:  # noqa: BLE001 (counting escapes is the point)
            counts[f"escaped {type(e).__name__}"] += 1
            print(f"{env_id}: {type(e).__name__}: {e} on {repr(act)[:400]}", file=sys.stderr)
            terminated = True
        else:
            counts["format errors" if "error" in info else "accepted"] += 1
            counts["outside space"] += not env.observation_space.contains(obs)
        counts["actions"] += 1
        if terminated or truncated:
            seed += 1
            obs, _ = env.reset(seed=seed)
    env.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=11_200, help="in all, shared by the ids")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng, per_id = random.Random(args.seed), -(-args.actions // len(ENV_FAMILIES))
    total, start = Counter(), time.perf_counter()
    print("| env id | actions | format errors | accepted | escaped | outside space |")
    print("|---|---|---|---|---|---|")
    for env_id in ENV_FAMILIES:
        counts = fuzz(env_id, per_id, rng)
        total.update(counts)
        escaped = sum(v for k, v in counts.items() if k.startswith("escaped"))
        print(
            f"| {env_id} | {counts['actions']} | {counts['format errors']} | {counts['accepted']} "
            f"| {escaped} | {counts['outside space']} |"
        )
    escapes = {k: v for k, v in total.items() if k.startswith("escaped")}
    seconds = time.perf_counter() - start
    print(f"\n{total['actions']} actions in {seconds:.0f} s; escaped: {escapes or 0}")
    sys.exit(1 if escapes or total["outside space"] else 0)


if __name__ == "__main__":
    main()
