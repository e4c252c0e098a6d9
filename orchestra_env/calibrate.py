"""Calibrate the simulated experts against the paper's published accuracies (facts §6).

The paper reports, for six models, the accuracy of the model alone ("none") and of the model
working with the basic tools ("basic") on HLE and FRAMES. Here HLE is the `reasoning` family and
FRAMES the `multihop` family, "none" is `baselines.single_model.alone(model)` and "basic" is
`with_basic_tools(model)`: 24 cells in all. This module

* measures a cell by playing those policies through the real env (`measure`, `measure_cell`);
* computes the same cells fast (`evidence_table`, `expected_accuracy`, `crn_accuracy`);
* fits each model's abilities and a few per-family difficulty offsets to the 24 numbers
  (`fit`), writes them into profiles.json (`write_profiles`) and prints the comparison
  (`report`).

**The fast path.** An episode's only ability-dependent randomness is one uniform draw per expert
call, u_i = Random("<episode seed>:<i>").random(), and call i succeeds iff u_i < p_i with

    p_i = Π_checks σ(a · (θ[skill] − d − δ_family[skill]) + bonus)        (models/simulated.py)

where δ is the family's difficulty offset (profiles.json "families"). Everything else an episode
draws — the vague query a failed search writes, the broken program a failed coder writes, the
documents the retriever returns, the sandbox's output — depends on the call's seed and on which
earlier calls succeeded, never on the model. So for a fixed task and episode seed the episode
is a small tree: each search call moves the set of question facts in context (a bitmask over
the hops) to one of two next sets; the program is the reference or a broken variant; the answer
call's checks follow from the facts in context and the program's real output. `evidence_table`
walks that tree once per task through the tasks' own `demands`/`artefact`, the real retriever and
the real sandbox, and stores the checks of every reachable node. Then, for any abilities and
offsets,

    E[accuracy] = mean_tasks Σ_nodes P(node) · p_answer(node)              (`expected_accuracy`)

exactly (given the model-independent draws above), and replaying the stored u_i gives the
accuracy the env itself measures with those episode seeds, episode for episode
(`crn_accuracy`; tests/test_calibration.py checks the two paths agree).

**The fit.** Unknowns: the abilities θ_m,s of the six paper models for the skills the two
families use (knowledge, reasoning, coding, query_writing, reading) and the offsets δ_f,s of
`OFFSET_SKILLS`. Levenberg–Marquardt (numpy; forward-difference Jacobian) minimises

    Σ_cells (E[acc] − target)²                                  accuracy in points
    + Σ_m,s (w_θ (θ_m,s − θ⁰_m,s))² + Σ_f,s (w_δ δ_f,s)²        θ⁰ = PRIOR, the hand-set values
    + Σ_ORDER (w · max(0, 0.1 − (θ_stronger,s − θ_weaker,s)))²   the paper's ranking of models
    + Σ_m (w · max(0, READING_MARGIN − g_m))²                   evidence helps every model

where g_m = mean over the multihop facts of [logit of reading the fact's document − logit of
recalling it] (`reading_gain`): without it the fit may make recall easier than reading, so that
searching would lower a strong model's accuracy. The targets pin what the data pins; the prior
keeps the rest near the hand-set profile. Models without targets keep their place among the six:
each skill's current values are carried through the monotone map that takes the six models'
sorted current values to their sorted fitted ones (`remap`).

**τ² (tau2-bench), the third column.** The paper also reports the six models with the basic
tools on τ²; here that is `with_basic_tools(model)` on the `function_calling` family, where the
model itself is the agent: every turn it calls `call_expert` with an alias bound to itself. Only
the `tool_use` ability (and the family's `tool_use` offset) moves these six cells, and nothing
else reads `tool_use`, so they are fitted apart from the 24 (`fit_tool_use`). Every expert call
of a conversation has the same one check (tool_use at the task's difficulty), so every call
succeeds with the same chance p, and call i succeeds iff u_i < p: the episode depends on p only
through which of its draws lie below it. `chance_table` plays each task once per p-interval
that can change the outcome (the real env, domain database and scripted user), so the measured
accuracy is known exactly for any ability and offset (`ChanceTable.accuracy`, episode for
episode what the env measures). Each model's ability is the grid point whose accuracy is
closest to the paper with no offset; the offset δ is then the shift (abilities and offset
moving together leave every chance unchanged) that minimises
Σ_m (w_θ (θ_m − θ⁰_m))² + (w_δ δ)², θ⁰ = `TOOL_USE_PRIOR`, the hand-set values.
"""

from __future__ import annotations

import inspect
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import gymnasium as gym
import numpy as np

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.baselines.single_model import BASIC_PLAN, alone, with_basic_tools
from orchestra_env.env import OrchestraEnv
from orchestra_env.episode import CodeRun, Episode, Evidence
from orchestra_env.models.base import Check, ExpertReply, ExpertRequest
from orchestra_env.models.profiles import Profiles, default_profiles, parse_profiles
from orchestra_env.models.simulated import SimulatedExperts
from orchestra_env.tasks.function_calling import FunctionCallingFamily
from orchestra_env.tasks.grading import extract_answer
from orchestra_env.tasks.multihop import MultihopFamily
from orchestra_env.tasks.reasoning import ReasoningFamily
from orchestra_env.tasks.suite import TaskSuite
from orchestra_env.tools import qa
from orchestra_env.tools.retrieval import search_index

# -- the paper's numbers (reference/toolorchestra-facts.md §6) -------------------------------

MODELS = ("qwen3-8b", "llama-nemotron-49b", "llama-3.3-70b", "qwen3-235b-a22b", "claude-opus-4.1", "gpt-5")
SETTINGS = ("none", "basic")
FAMILIES = ("reasoning", "multihop")  # HLE → reasoning, FRAMES → multihop
BENCHMARK = {"reasoning": "HLE", "multihop": "FRAMES"}
ENV_IDS = {"reasoning": "ToolOrchestra-Reasoning-v0", "multihop": "ToolOrchestra-Multihop-v0"}

# (model, setting) -> (HLE %, FRAMES %, cost, latency); cost and latency in the paper's units.
PAPER = {
    ("qwen3-8b", "none"): (3.2, 24.2, 0.2, 0.6),
    ("llama-nemotron-49b", "none"): (3.6, 25.6, 0.4, 1.1),
    ("llama-3.3-70b", "none"): (3.8, 32.4, 0.5, 1.4),
    ("qwen3-235b-a22b", "none"): (5.2, 34.3, 2.6, 3.3),
    ("claude-opus-4.1", "none"): (11.7, 58.2, 27.4, 8.2),
    ("gpt-5", "none"): (23.4, 66.3, 6.2, 4.1),
    ("qwen3-8b", "basic"): (4.7, 26.5, 1.3, 2.2),
    ("llama-nemotron-49b", "basic"): (6.8, 28.2, 2.5, 3.5),
    ("llama-3.3-70b", "basic"): (4.6, 42.3, 2.8, 4.3),
    ("qwen3-235b-a22b", "basic"): (14.0, 39.5, 12.3, 10.2),
    ("claude-opus-4.1", "basic"): (19.8, 63.5, 76.2, 32.5),
    ("gpt-5", "basic"): (35.1, 74.0, 30.2, 19.8),
}
TARGETS = {
    (model, setting, family): PAPER[model, setting][FAMILIES.index(family)]
    for model in MODELS
    for setting in SETTINGS
    for family in FAMILIES
}
PAPER_COST = {key: row[2] for key, row in PAPER.items()}
TOLERANCE = 3.0  # accuracy points

# τ² (tau2-bench: airline, retail, telecom) with the basic tools: the model itself is the agent
# of the conversation. The paper has no "none" row for τ².
TAU2_FAMILY = "function_calling"
TAU2 = {
    "qwen3-8b": 40.7,
    "llama-nemotron-49b": 23.2,
    "llama-3.3-70b": 17.6,
    "qwen3-235b-a22b": 52.9,
    "claude-opus-4.1": 46.0,
    "gpt-5": 77.7,
}
TAU2_TARGETS = {(model, "basic", TAU2_FAMILY): TAU2[model] for model in MODELS}
TAU2_TOLERANCE = 5.0  # accuracy points
CELLS = {**TARGETS, **TAU2_TARGETS}  # every calibrated cell: (model, setting, family) -> paper %
BENCHMARK[TAU2_FAMILY] = "τ²"
ENV_IDS[TAU2_FAMILY] = "ToolOrchestra-FunctionCalling-v0"
# The tools whose aliases each family's env offers (a single-family env offers no others).
FAMILY_TOOLS = {
    "reasoning": ReasoningFamily.tools,
    "multihop": MultihopFamily.tools,
    TAU2_FAMILY: FunctionCallingFamily.tools,
}
COLUMNS = {"all": CELLS, "hle-frames": TARGETS, "tau2": TAU2_TARGETS}  # `--columns` choices


def tolerance(cell: tuple[str, str, str]) -> float:
    """How far (points) a cell may be from the paper: 5 for τ², 3 for HLE and FRAMES."""
    return TAU2_TOLERANCE if cell[2] == TAU2_FAMILY else TOLERANCE

# -- what is fitted -------------------------------------------------------------------------

SKILLS = ("knowledge", "reasoning", "coding", "query_writing", "tool_use", "reading")
FIT_SKILLS = ("knowledge", "reasoning", "coding", "query_writing", "reading")  # tool_use: no target here
# Family difficulty offsets that are fitted: what each family makes harder than its generator
# says (e.g. writing a program that solves an HLE question; reading a long document).
OFFSET_SKILLS = {
    "reasoning": ("knowledge", "reasoning", "coding"),
    "multihop": ("knowledge", "reading", "reasoning"),
}
# The hand-set abilities the fit starts from and is pulled towards (the prior θ⁰): fixed here,
# so that a fit does not depend on what an earlier fit wrote.
PRIOR = {
    "qwen3-8b": {"knowledge": -0.8, "reasoning": 0.3, "coding": 0.5, "query_writing": 0.3, "reading": 0.8},
    "llama-nemotron-49b": {"knowledge": 0.0, "reasoning": 0.4, "coding": 0.6, "query_writing": 0.6, "reading": 1.0},
    "llama-3.3-70b": {"knowledge": 0.4, "reasoning": 0.0, "coding": 0.5, "query_writing": 0.8, "reading": 1.2},
    "qwen3-235b-a22b": {"knowledge": 0.6, "reasoning": 1.0, "coding": 1.4, "query_writing": 1.0, "reading": 1.6},
    "claude-opus-4.1": {"knowledge": 1.6, "reasoning": 1.5, "coding": 2.2, "query_writing": 1.6, "reading": 2.3},
    "gpt-5": {"knowledge": 2.0, "reasoning": 2.5, "coding": 2.5, "query_writing": 2.0, "reading": 2.5},
}
# (stronger, weaker, skills): orders the paper's numbers imply, kept by hinge penalties. GPT-5
# is the strongest at everything and Claude Opus next; Claude is not forced above Qwen3-235B at
# coding: the paper's HLE gain from tools is relatively larger for Qwen3-235B (5.2 → 14.0) than
# for Claude (11.7 → 19.8). Llama-3.3-70B is a weak reasoner and coder but a good reader.
_ALL = FIT_SKILLS
ORDER = (
    *(("gpt-5", m, _ALL) for m in MODELS[:5]),
    ("claude-opus-4.1", "qwen3-235b-a22b", ("knowledge", "reasoning", "query_writing", "reading")),
    *(("claude-opus-4.1", m, _ALL) for m in MODELS[:3]),
    ("qwen3-235b-a22b", "qwen3-8b", _ALL),
    ("qwen3-235b-a22b", "llama-nemotron-49b", ("reasoning", "coding")),
    ("qwen3-235b-a22b", "llama-3.3-70b", ("reasoning", "coding")),
    ("llama-3.3-70b", "qwen3-8b", ("knowledge", "query_writing", "reading")),
    ("llama-nemotron-49b", "qwen3-8b", ("knowledge", "reasoning")),
)
# The hand-set tool_use abilities (the τ² fit's prior θ⁰).
TOOL_USE_PRIOR = {
    "qwen3-8b": 0.5,
    "llama-nemotron-49b": 0.2,
    "llama-3.3-70b": 0.0,
    "qwen3-235b-a22b": 1.4,
    "claude-opus-4.1": 1.8,
    "gpt-5": 2.5,
}
PRIOR_WEIGHT = 0.5  # points of accuracy that a 1-logit move away from the prior costs
OFFSET_WEIGHT = 0.3  # the same for a family offset away from 0
ORDER_WEIGHT = 20.0
ORDER_MARGIN = 0.1  # logits
# Evidence must help: for every paper model, the answer's check on a fact with its document in
# context (reading) beats recalling it (knowledge) by at least this many logits, on average over
# the multihop facts; otherwise searching would lower a strong model's accuracy.
READING_MARGIN = 1.0


# -- measuring through the real env ---------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One measured cell: accuracy (0–1), mean $ and mean simulated seconds per task."""

    accuracy: float
    cost_usd: float
    latency_s: float
    n: int


def policy(model: str, setting: str, profiles: Profiles | None = None):
    """(env kwargs, agent) of the paper's single-model policy for `setting`."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    return (alone if setting == "none" else with_basic_tools)(model, profiles)


def episode_seed(seed: int, k: int) -> int:
    """Episode seed of the k-th task of a sweep; the same for every model and setting, so the
    cells share their random draws (common random numbers)."""
    return seed * 1_000_003 + k


def task_ids(family: str, n: int) -> list[str]:
    """The first n test-split task ids of `family` (what `env.unwrapped.task_ids` returns)."""
    return TaskSuite({family: 1.0}).task_ids("test", n)


def family_kwargs(env_kwargs: Mapping, family: str) -> dict:
    """`env_kwargs` with `tools` cut to the aliases of the tools `family` uses: an env of one
    family rejects aliases of tools it does not offer."""
    kwargs = dict(env_kwargs)
    if kwargs.get("tools") is not None:
        aliases = kwargs["profiles"].aliases
        kwargs["tools"] = [t for t in kwargs["tools"] if aliases[t].tool in FAMILY_TOOLS[family]]
    return kwargs


def measure_cell(
    model: str, setting: str, family: str, n: int = 1000, seed: int = 0, profiles: Profiles | None = None
) -> Cell:
    """Play the single-model policy on the first n test tasks of `family` through the env.
    `profiles` replaces the bundled abilities and prices; the families' difficulty offsets are
    always the bundled ones (the families read them)."""
    env_kwargs, agent = policy(model, setting, profiles)
    env = gym.make(ENV_IDS[family], split="test", **family_kwargs(env_kwargs, family))
    solved = cost = latency = 0.0
    ids = env.unwrapped.task_ids("test", n)
    for k, task_id in enumerate(ids):
        info = play_episode(env, agent, {"task_id": task_id, "episode_seed": episode_seed(seed, k)})
        solved += info["outcome"]
        cost += info["ledger"]["cost_usd"]
        latency += info["ledger"]["latency_s"]
    env.close()
    return Cell(accuracy=solved / n, cost_usd=cost / n, latency_s=latency / n, n=n)


def measure(model: str, setting: str, family: str, n: int = 1000, seed: int = 0) -> float:
    """Simulated accuracy (0–1) of `model` in `setting` on the first n test tasks of `family`."""
    return measure_cell(model, setting, family, n, seed).accuracy


def play_episode(env, agent, options: dict) -> dict:
    """One episode; the final info."""
    obs, info = env.reset(options=options)
    agent.reset(obs, info)
    while True:
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        if terminated or truncated:
            return info


def sweep(
    n: int = 1000, seed: int = 0, profiles: Profiles | None = None, log=None, cells: Iterable = CELLS
) -> dict:
    """The `cells` (default: every calibrated cell) measured: {(model, setting, family): Cell}."""
    wanted, cells = cells, {}
    for model, setting, family in wanted:
        cells[model, setting, family] = measure_cell(model, setting, family, n, seed, profiles)
        if log:
            log(f"{model:20s} {setting:5s} {family:9s} {100 * cells[model, setting, family].accuracy:5.1f}%")
    return cells


# -- the fast path: the evidence tree of every task -----------------------------------------


SEARCH_K = inspect.signature(OrchestraEnv).parameters["search_k"].default  # the env's default


@dataclass(frozen=True)
class Checks:
    """Steps' checks padded to a common count C: skill index (−1: padding, always passes),
    difficulty and bonus, each of shape (..., C)."""

    skill: np.ndarray
    difficulty: np.ndarray
    bonus: np.ndarray

    @staticmethod
    def pack(steps: Sequence[Sequence[Check]], shape: tuple[int, ...]) -> Checks:
        """Checks of `steps` (one tuple of `Check`s per step, in C order of `shape`)."""
        width = max(1, *(len(s) for s in steps))
        skill = np.full((len(steps), width), -1, dtype=np.int64)
        difficulty, bonus = np.zeros((len(steps), width)), np.zeros((len(steps), width))
        for i, checks in enumerate(steps):
            for j, check in enumerate(checks):
                skill[i, j] = SKILLS.index(check.skill)
                difficulty[i, j], bonus[i, j] = check.difficulty, check.bonus
        full = (*shape, width)
        return Checks(skill.reshape(full), difficulty.reshape(full), bonus.reshape(full))

    def logits(self, theta: np.ndarray, offset: np.ndarray, a: float) -> np.ndarray:
        """a · (θ[skill] − d − δ[skill]) + bonus of every check (padding included)."""
        s = np.maximum(self.skill, 0)
        return a * (theta[s] - self.difficulty - offset[s]) + self.bonus

    def probability(self, theta: np.ndarray, offset: np.ndarray, a: float) -> np.ndarray:
        """P(success) of each step: the product over its checks (the last axis)."""
        p = 1.0 / (1.0 + np.exp(-self.logits(theta, offset, a)))
        return np.where(self.skill < 0, 1.0, p).prod(axis=-1)


@dataclass(frozen=True)
class EvidenceTable:
    """Every reachable step of the two calibration policies on T tasks (checks carry the
    difficulty offset the family was built with).

    Nodes are the sets of question facts in context (node 0: none). With K searches:
    `search` (T, K, R) is search k's check from node r, `after` (T, K, R, 2) the node it leads
    to on failure / success, `code` (T, R) the program's check from node r, `answer` (T, R, 2)
    the answer's checks after a failed / successful program, `alone` (T,) the answer's checks
    with nothing in context, and `u` (T, K + 2) the uniform draws of calls 1 … K + 2.
    `alone_graded` (T, 2) and `graded` (T, R, 2, 2) say whether the answer written on failure /
    success is graded correct (a plausible wrong answer is now and then right).
    `recall` and `read` (H,) are the answer's check of each of the tasks' H facts (multihop
    only) without and with the fact's document in context.
    """

    family: str
    task_ids: tuple[str, ...]
    alone: Checks
    alone_graded: np.ndarray
    search: Checks
    after: np.ndarray
    code: Checks
    answer: Checks
    graded: np.ndarray
    u: np.ndarray
    recall: Checks
    read: Checks


def basic_searches() -> tuple[str, ...]:
    """The search sources of `BASIC_PLAN`, which must be: searches, one program, the answer."""
    tools = [tool for tool, _ in BASIC_PLAN]
    k = tools.count("search")
    if tools != ["search"] * k + ["enhance_reasoning", "answer"]:
        raise ValueError(f"the fast path expects searches, one program, then the answer; BASIC_PLAN is {tools}")
    return tuple(args.get("source", "local") for _, args in BASIC_PLAN[:k])


def sandbox_runner() -> Callable[[str], tuple[str, str]]:
    """code -> (output as the policy sees it, status), through the env's sandbox, memoised."""
    from orchestra_env.tools.sandbox import shared_sandbox

    done: dict[str, tuple[str, str]] = {}

    def run(code: str) -> tuple[str, str]:
        if code not in done:
            result = shared_sandbox().run(code)
            done[code] = (result.as_text(), result.status)
        return done[code]

    return run


def evidence_table(
    family: str,
    n: int,
    seed: int = 0,
    *,
    world_seed: int = 0,
    difficulty_offset: Mapping[str, float] | None = MappingProxyType({}),
    run=None,
) -> EvidenceTable:
    """The evidence tree of the first n test tasks of `family` with the episode seeds of
    `measure_cell(..., n, seed)`. By default the family has no difficulty offset (the fit adds
    candidate offsets itself); `difficulty_offset=None` builds it as the env does, with the
    bundled profiles' offsets already in every check."""
    run = run or sandbox_runner()
    source = {"reasoning": ReasoningFamily, "multihop": MultihopFamily}[family](world_seed, difficulty_offset)
    ids = tuple(task_ids(family, n))
    sources = basic_searches()
    trees = [
        _task_tree(source, source.task(int(task_id.partition("/")[2])), episode_seed(seed, k), sources, world_seed, run)
        for k, task_id in enumerate(ids)
    ]
    return _pack(family, ids, trees, len(sources))


@dataclass
class _Tree:
    """One task's tree; nodes are fact bitmasks, numbered in order of discovery."""

    nodes: dict[int, int] = field(default_factory=lambda: {0: 0})
    search: list[dict[int, tuple[Check, ...]]] = field(default_factory=list)
    after: list[dict[int, tuple[int, int]]] = field(default_factory=list)
    code: dict[int, tuple[Check, ...]] = field(default_factory=dict)
    answer: dict[int, tuple[tuple[Check, ...], tuple[Check, ...]]] = field(default_factory=dict)
    alone: tuple[Check, ...] = ()
    alone_graded: tuple[bool, bool] = (False, True)
    graded: dict[int, tuple[tuple[bool, bool], tuple[bool, bool]]] = field(default_factory=dict)
    u: tuple[float, ...] = ()
    recall: tuple[Check, ...] = ()  # per fact: the answer's check without its document
    read: tuple[Check, ...] = ()  # … and with it


def _task_tree(family, task, seed: int, sources: Sequence[str], world_seed: int, run) -> _Tree:
    hops = hop_documents(task)
    tree = _Tree(alone=task.demands("answer", Evidence()))
    tree.alone_graded = _graded_answers(family, task, Evidence(), f"{seed}:1")
    # The answer's first checks are one per fact, in hop order (tasks/multihop.py).
    tree.recall = tree.alone[: len(hops)]
    tree.read = task.demands("answer", facts_evidence(hops, (1 << len(hops)) - 1))[: len(hops)]
    level = _search_levels(tree, task, hops, seed, sources, world_seed)
    call = len(sources) + 1  # the program; the answer is the call after it
    for mask in level:
        evidence = facts_evidence(hops, mask)
        tree.code[mask] = task.demands("reason", evidence)
        after_code = [
            facts_evidence(hops, mask, _program_run(task, evidence, ok, f"{seed}:{call}", run)) for ok in (False, True)
        ]
        tree.answer[mask] = tuple(task.demands("answer", e) for e in after_code)
        tree.graded[mask] = tuple(_graded_answers(family, task, e, f"{seed}:{call + 1}") for e in after_code)
    tree.u = tuple(random.Random(f"{seed}:{i}").random() for i in range(1, call + 2))
    return tree


def _search_levels(tree: _Tree, task, hops, seed: int, sources: Sequence[str], world_seed: int) -> list[int]:
    """Record each search's check and both outcomes from every node it can start from; returns
    the nodes reachable after the last search."""
    level = [0]
    for k, source in enumerate(sources, start=1):
        checks, after = {}, {}
        for mask in level:
            evidence = facts_evidence(hops, mask)
            checks[mask] = task.demands("search", evidence)
            after[mask] = tuple(
                _after_search(task, hops, mask, evidence, ok, f"{seed}:{k}", source, world_seed)
                for ok in (False, True)
            )
        tree.search.append(checks)
        tree.after.append(after)
        level = sorted({m for pair in after.values() for m in pair})
        for mask in level:
            tree.nodes.setdefault(mask, len(tree.nodes))
    return level


def hop_documents(task) -> tuple[int, ...]:
    """The documents holding the task's facts (none for the reasoning family)."""
    question = getattr(task, "question", None)
    return tuple(h.doc_id for h in question.hops) if question is not None else ()


def facts_evidence(hops: Sequence[int], mask: int, run: CodeRun | None = None) -> Evidence:
    """Evidence holding the facts of `mask` (and the program run, if any)."""
    evidence = Evidence()
    evidence.add_documents(tuple(d for i, d in enumerate(hops) if mask >> i & 1))
    if run is not None:
        evidence.code_runs.append(run)
    return evidence


def _expert_rng(seed: str) -> random.Random:
    """A call's generator after its success draw, as `SimulatedExperts.complete` leaves it for
    the artefact: what an expert writes depends on the seed and the outcome, not the model."""
    rng = random.Random(seed)
    rng.random()
    return rng


def _after_search(task, hops, mask: int, evidence: Evidence, ok: bool, seed: str, source: str, world_seed: int) -> int:
    """The facts in context after a search that succeeds or fails (as tools/qa.search runs it)."""
    if not hops:
        return mask
    text = task.artefact("search", evidence, ok, _expert_rng(seed))
    match = qa._QUERY.search(text)
    query = (match.group(1) if match else text).strip()
    found = search_index(world_seed).search(query, k=SEARCH_K, source=source)
    return mask | sum(1 << i for i, d in enumerate(hops) if d in found)


def _program_run(task, evidence: Evidence, ok: bool, seed: str, run) -> CodeRun:
    """The program a coder writes on success / failure, run (as tools/qa.enhance_reasoning)."""
    text = task.artefact("reason", evidence, ok, _expert_rng(seed))
    match = qa._CODE.search(text)
    code = (match.group(1) if match else text).strip()
    output, status = run(code)
    return CodeRun(code=code, output=output, status=status)


def _graded_answers(family, task, evidence: Evidence, seed: str) -> tuple[bool, bool]:
    """Whether the answer written on failure / on success is graded correct (as tools/qa.answer
    extracts it). A failed answer is meant to be wrong, but a plausible wrong answer can happen to
    be right. Multihop wrong answers draw on the titles in context, of which the tree holds only
    the facts' documents; they are never graded right unless nothing is in context."""
    graded = []
    for ok in (False, True):
        text = task.artefact("answer", evidence, ok, _expert_rng(seed))
        final = extract_answer(text)
        episode = Episode(task=task, preference=None, seed=0, tools=())
        episode.answer = text.strip() if final is None else final
        graded.append(bool(family.grade(task, episode).outcome))
    return graded[0], graded[1]


def _pack(family: str, ids: tuple[str, ...], trees: list[_Tree], k: int) -> EvidenceTable:
    t, r = len(trees), max(len(tree.nodes) for tree in trees)
    search = [() for _ in range(t * k * r)]
    code = [() for _ in range(t * r)]
    answer = [() for _ in range(t * r * 2)]
    graded = np.zeros((t, r, 2, 2), dtype=bool)
    after = np.zeros((t, k, r, 2), dtype=np.int64)
    after[...] = np.arange(r)[None, None, :, None]  # unreachable nodes stay put
    for i, tree in enumerate(trees):
        for level in range(k):
            for mask, checks in tree.search[level].items():
                node = tree.nodes[mask]
                search[(i * k + level) * r + node] = checks
                after[i, level, node] = [tree.nodes[m] for m in tree.after[level][mask]]
        for mask, checks in tree.code.items():
            node = tree.nodes[mask]
            code[i * r + node] = checks
            answer[(i * r + node) * 2], answer[(i * r + node) * 2 + 1] = tree.answer[mask]
            graded[i, node] = tree.graded[mask]
    return EvidenceTable(
        family=family,
        task_ids=ids,
        alone=Checks.pack([tree.alone for tree in trees], (t,)),
        alone_graded=np.array([tree.alone_graded for tree in trees]),
        search=Checks.pack(search, (t, k, r)),
        after=after,
        code=Checks.pack(code, (t, r)),
        answer=Checks.pack(answer, (t, r, 2)),
        graded=graded,
        u=np.array([tree.u for tree in trees]),
        recall=Checks.pack([(c,) for tree in trees for c in tree.recall] or [()], (-1,)),
        read=Checks.pack([(c,) for tree in trees for c in tree.read] or [()], (-1,)),
    )


# -- accuracy from a table ------------------------------------------------------------------


def skill_vector(values: Mapping[str, float]) -> np.ndarray:
    """{skill: value} as a vector over SKILLS (missing skills: 0)."""
    return np.array([float(values.get(s, 0.0)) for s in SKILLS])


def expected_accuracy(table: EvidenceTable, setting: str, theta: np.ndarray, offset: np.ndarray, a: float) -> float:
    """Mean over the tasks of P(solved), summed exactly over the tree's success draws."""
    return float(task_probabilities(table, setting, theta, offset, a).mean())


def task_probabilities(table: EvidenceTable, setting: str, theta, offset, a: float) -> np.ndarray:
    """P(solved) of every task of `table` under the `setting` policy."""
    if setting == "none":
        return _solved(table.alone.probability(theta, offset, a), table.alone_graded)
    t, k, r, _ = table.after.shape
    reach = np.zeros((t, r))
    reach[:, 0] = 1.0
    p_search = table.search.probability(theta, offset, a)
    base = (np.arange(t) * r)[:, None]
    for level in range(k):
        won = reach * p_search[:, level]
        reach = sum(
            np.bincount((base + table.after[:, level, :, ok]).ravel(), weights.ravel(), t * r)
            for ok, weights in ((0, reach - won), (1, won))
        ).reshape(t, r)
    p_code = table.code.probability(theta, offset, a)
    p_answer = _solved(table.answer.probability(theta, offset, a), table.graded)
    return (reach * (p_code * p_answer[..., 1] + (1 - p_code) * p_answer[..., 0])).sum(axis=1)


def _solved(p: np.ndarray, graded: np.ndarray) -> np.ndarray:
    """P(graded correct) of answer steps that succeed with probability p; `graded[..., ok]`
    says whether the answer written on failure (0) / success (1) is right."""
    return p * graded[..., 1] + (1 - p) * graded[..., 0]


def reading_gain(table: EvidenceTable, theta, offset, a: float) -> float:
    """Mean over the table's facts of the answer check's logit with the fact's document in
    context minus without it (recall): > 0 when evidence helps."""
    gain = table.read.logits(theta, offset, a) - table.recall.logits(theta, offset, a)
    return float(gain.mean())


def crn_outcomes(table: EvidenceTable, setting: str, theta, offset, a: float) -> np.ndarray:
    """The outcome of every task as the env plays it with the table's episode seeds: the stored
    draws u replayed against the probabilities (call i succeeds iff u_i < p_i)."""
    if setting == "none":
        ok = table.u[:, 0] < table.alone.probability(theta, offset, a)
        return table.alone_graded[np.arange(len(ok)), ok.astype(np.int64)]
    t, k, _, _ = table.after.shape
    rows, node = np.arange(t), np.zeros(t, dtype=np.int64)
    p_search = table.search.probability(theta, offset, a)
    for level in range(k):
        ok = table.u[:, level] < p_search[rows, level, node]
        node = table.after[rows, level, node, ok.astype(np.int64)]
    coded = (table.u[:, k] < table.code.probability(theta, offset, a)[rows, node]).astype(np.int64)
    ok = table.u[:, k + 1] < table.answer.probability(theta, offset, a)[rows, node, coded]
    return table.graded[rows, node, coded, ok.astype(np.int64)]


def crn_accuracy(table: EvidenceTable, setting: str, theta, offset, a: float) -> float:
    """What `measure` returns for the table's tasks and seeds, without playing the env."""
    return float(crn_outcomes(table, setting, theta, offset, a).mean())


# -- the fit --------------------------------------------------------------------------------


@dataclass
class Fit:
    """Fitted abilities of every model, family offsets, and the expected accuracies (%)."""

    abilities: dict[str, dict[str, float]]
    offsets: dict[str, dict[str, float]]
    expected: dict[tuple[str, str, str], float]
    objective: float


class _Problem:
    """The objective of the module docstring as residuals over a parameter vector x =
    [θ of each paper model over FIT_SKILLS] + [δ of each family over OFFSET_SKILLS]."""

    def __init__(self, tables: Mapping[str, EvidenceTable], profiles: Profiles):
        self.tables, self.a = tables, profiles.discrimination
        # Skills that are not fitted (tool_use) keep the profile's values.
        self.base = {m: skill_vector(profiles.models[m].abilities) for m in MODELS}
        self.slots = [("theta", m, s) for m in MODELS for s in FIT_SKILLS]
        self.slots += [("offset", f, s) for f in FAMILIES for s in OFFSET_SKILLS[f]]
        self.prior = np.array([PRIOR[m][s] if kind == "theta" else 0.0 for kind, m, s in self.slots])
        self.is_theta = np.array([kind == "theta" for kind, _, _ in self.slots])
        self.cells = list(TARGETS)
        self.target = np.array([TARGETS[c] for c in self.cells])

    def unpack(self, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """x as ({model: θ over SKILLS}, {family: δ over SKILLS})."""
        theta = {m: v.copy() for m, v in self.base.items()}
        offset = {f: np.zeros(len(SKILLS)) for f in FAMILIES}
        for value, (kind, owner, skill) in zip(x, self.slots, strict=True):
            (theta if kind == "theta" else offset)[owner][SKILLS.index(skill)] = value
        return theta, offset

    def accuracies(self, x: np.ndarray, cells: Iterable[tuple[str, str, str]]) -> dict:
        """Expected accuracy (%) of `cells` at x."""
        theta, offset = self.unpack(x)
        return {
            (m, s, f): 100 * expected_accuracy(self.tables[f], s, theta[m], offset[f], self.a)
            for m, s, f in cells
        }

    def residuals(self, x: np.ndarray, acc: Mapping) -> np.ndarray:
        fitted = np.array([acc[c] for c in self.cells]) - self.target
        prior = np.where(self.is_theta, PRIOR_WEIGHT, OFFSET_WEIGHT) * (x - self.prior)
        return np.concatenate([fitted, prior, ORDER_WEIGHT * self.hinges(x)])

    def hinges(self, x: np.ndarray) -> np.ndarray:
        """How far x is from each ordering and from evidence helping every model (0: kept)."""
        theta, offset = self.unpack(x)
        order = [
            max(0.0, ORDER_MARGIN - (theta[hi][SKILLS.index(s)] - theta[lo][SKILLS.index(s)]))
            for hi, lo, skills in ORDER
            for s in skills
        ]
        table = self.tables["multihop"]
        reading = [
            max(0.0, READING_MARGIN - reading_gain(table, theta[m], offset["multihop"], self.a)) for m in MODELS
        ]
        return np.array(order + reading)

    def depends(self, j: int) -> list[tuple[str, str, str]]:
        """The cells slot j moves: its model's, or its family's."""
        kind, owner, _ = self.slots[j]
        return [c for c in self.cells if (c[0] if kind == "theta" else c[2]) == owner]

    def jacobian(self, x: np.ndarray, acc: Mapping, r: np.ndarray, h: float = 1e-4) -> np.ndarray:
        """Forward differences; each column recomputes only the cells its slot moves."""
        jac = np.zeros((len(r), len(x)))
        for j in range(len(x)):
            step = x.copy()
            step[j] += h
            moved = {**acc, **self.accuracies(step, self.depends(j))}
            jac[:, j] = (self.residuals(step, moved) - r) / h
        return jac


def fit(tables: Mapping[str, EvidenceTable], profiles: Profiles, *, iterations: int = 100, log=None) -> Fit:
    """Levenberg–Marquardt on the objective of the module docstring, from the prior."""
    problem = _Problem(tables, profiles)
    x = problem.prior.copy()
    acc = problem.accuracies(x, problem.cells)
    r = problem.residuals(x, acc)
    damping = 1e-2
    for it in range(iterations):
        jac = problem.jacobian(x, acc, r)
        x_new, acc_new, r_new, damping = _lm_step(problem, x, r, jac, damping)
        gain = (r @ r - r_new @ r_new) / (r @ r)
        x, acc, r = x_new, acc_new, r_new
        if log:
            worst = max(abs(acc[c] - TARGETS[c]) for c in problem.cells)
            log(f"iteration {it + 1}: objective {r @ r:.4f}, worst cell {worst:.2f} points off")
        if gain < 1e-6:
            break
    theta, offset = problem.unpack(x)
    return Fit(
        abilities=remap(profiles, theta),
        offsets={f: {s: round(float(offset[f][SKILLS.index(s)]), 3) for s in OFFSET_SKILLS[f]} for f in FAMILIES},
        expected=acc,
        objective=float(r @ r),
    )


def _lm_step(problem: _Problem, x, r, jac, damping: float):
    """One accepted Levenberg–Marquardt step (raising the damping until the objective falls);
    (x, accuracies, residuals, damping), unchanged when no step helps."""
    jtj, grad = jac.T @ jac, jac.T @ r
    scale = np.diag(np.diag(jtj)) + np.eye(len(x))
    while damping < 1e8:
        trial = x + np.linalg.solve(jtj + damping * scale, -grad)
        acc = problem.accuracies(trial, problem.cells)
        r_trial = problem.residuals(trial, acc)
        if r_trial @ r_trial < r @ r:
            return trial, acc, r_trial, max(damping / 3, 1e-7)
        damping *= 4
    return x, problem.accuracies(x, problem.cells), r, damping


def remap(profiles: Profiles, theta: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Abilities of every model, rounded to 3 decimals: the paper models' fitted θ; every other
    model's current ability carried through the monotone map, per skill, that takes the paper
    models' sorted current values to their sorted fitted ones (beyond either end: shifted like
    that end), so a model keeps its place among the six."""
    out: dict[str, dict[str, float]] = {}
    for i, skill in enumerate(SKILLS):
        old = np.sort([profiles.models[m].abilities[skill] for m in MODELS])
        new = np.sort([theta[m][i] for m in MODELS])
        for name, model in profiles.models.items():
            value = theta[name][i] if name in theta else _monotone(model.abilities[skill], old, new)
            out.setdefault(name, {})[skill] = round(float(value), 3)
    return out


def _monotone(value: float, old: np.ndarray, new: np.ndarray) -> float:
    if value <= old[0]:
        return value + new[0] - old[0]
    if value >= old[-1]:
        return value + new[-1] - old[-1]
    return float(np.interp(value, old, new))


# -- τ²: the chance table and the tool_use fit ------------------------------------------------


@dataclass(frozen=True)
class ChanceTable:
    """What `with_basic_tools` scores on T function-calling tasks for any per-call success
    chance. Task t's calls all succeed with the same chance p (one tool_use check at the task's
    difficulty), call i iff u_i < p, so its outcome is `outcome[t, j]` for p in
    (cuts[t, j - 1], cuts[t, j]], j = the number of cuts below p. `cuts` (T, M) ascend and are
    padded with 2.0 (above every p); `outcome` is (T, M + 1); `difficulty` (T,) is each task's
    tool_use difficulty before the family offset."""

    task_ids: tuple[str, ...]
    difficulty: np.ndarray
    cuts: np.ndarray
    outcome: np.ndarray

    def chances(self, theta: np.ndarray | float, offset: float, a: float) -> np.ndarray:
        """Each task's per-call success chance for abilities θ (a scalar, or shape (G, 1))."""
        return 1.0 / (1.0 + np.exp(-a * (theta - self.difficulty - offset)))

    def outcomes(self, p: np.ndarray) -> np.ndarray:
        """Each task's outcome at chances p of shape (T,) or (G, T)."""
        below = (self.cuts < p[..., None]).sum(axis=-1)
        return self.outcome[np.arange(len(self.task_ids)), below]

    def accuracy(self, theta: float, offset: float, a: float) -> float:
        """What the env measures (0–1) on the table's tasks and episode seeds."""
        return float(self.outcomes(self.chances(theta, offset, a)).mean())

    def accuracy_curve(self, grid: np.ndarray, a: float, chunk: int = 64) -> np.ndarray:
        """`accuracy(θ, 0, a)` at every θ of `grid`."""
        parts = []
        for start in range(0, len(grid), chunk):
            thetas = grid[start : start + chunk, None]
            parts.append(self.outcomes(self.chances(thetas, 0.0, a)).mean(axis=1))
        return np.concatenate(parts)


class _ChanceExperts:
    """Simulated experts whose acting model succeeds at every call with a chance set per
    episode (`force`), through the real `SimulatedExperts` with an ability chosen to give it."""

    def __init__(self, profiles: Profiles, model: str):
        self.profiles, self.model = profiles, model
        self._inner = SimulatedExperts(profiles)

    def force(self, p: float, difficulty: float) -> None:
        """From now on a tool_use check at `difficulty` succeeds with chance p."""
        theta = difficulty + math.log(p / (1.0 - p)) / self.profiles.discrimination
        profile = self.profiles.models[self.model]
        forced = replace(profile, abilities={**profile.abilities, "tool_use": theta})
        self._inner = SimulatedExperts(replace(self.profiles, models={**self.profiles.models, self.model: forced}))

    def complete(self, request: ExpertRequest) -> ExpertReply:
        return self._inner.complete(request)


def chance_table(n: int, seed: int = 0, *, model: str = "qwen3-8b", log=None) -> ChanceTable:
    """The chance table of the first n test tasks of the function-calling family with the
    episode seeds of `measure_cell(..., n, seed)`: each task played through the env once per
    interval of p that can change what happens. The acting model only sets prices and token
    counts, which change no outcome (no budget limits here)."""
    env_kwargs, agent = policy(model, "basic")
    experts = _ChanceExperts(env_kwargs["profiles"], model)
    kwargs = {**family_kwargs(env_kwargs, TAU2_FAMILY), "experts": experts}
    env = gym.make(ENV_IDS[TAU2_FAMILY], split="test", **kwargs)
    ids = tuple(env.unwrapped.task_ids("test", n))
    rows = []
    for k, task_id in enumerate(ids):
        rows.append(_task_chances(env, agent, experts, task_id, episode_seed(seed, k)))
        if log and (k + 1) % 200 == 0:
            log(f"chance table: {k + 1}/{n} tasks")
    env.close()
    return _pack_chances(ids, rows)


def _task_chances(env, agent, experts: _ChanceExperts, task_id: str, seed: int):
    """(difficulty before the offset, cuts, outcomes) of one task: play at a chance p inside
    the current interval; the outcome holds up to the next draw, among the calls made, above it."""
    task = env.unwrapped.suite.task(task_id)
    (check,) = task.demands("act", Evidence())
    draws = [random.Random(f"{seed}:{i}").random() for i in range(1, env.unwrapped.max_turns + 1)]
    cuts: list[float] = []
    outcomes: list[int] = []
    low = 0.0
    while True:
        high = min((u for u in draws if u > low), default=1.0)
        experts.force((low + high) / 2, check.difficulty)
        info = play_episode(env, agent, {"task_id": task_id, "episode_seed": seed})
        outcomes.append(int(info["outcome"]))
        calls = info["ledger"]["calls"].get("call_expert", 0)
        cut = min((u for u in draws[:calls] if u > low), default=None)
        if cut is None:
            return task.difficulty["tool_use"], cuts, outcomes
        cuts.append(cut)
        low = cut


def _pack_chances(ids: tuple[str, ...], rows: Sequence[tuple[float, list[float], list[int]]]) -> ChanceTable:
    width = max(len(cuts) for _, cuts, _ in rows)
    cuts = np.full((len(rows), width), 2.0)
    outcome = np.zeros((len(rows), width + 1), dtype=np.int64)
    for t, (_, row_cuts, row_outcomes) in enumerate(rows):
        cuts[t, : len(row_cuts)] = row_cuts
        outcome[t, : len(row_outcomes)] = row_outcomes
        outcome[t, len(row_outcomes) :] = row_outcomes[-1]
    difficulty = np.array([d for d, _, _ in rows])
    return ChanceTable(task_ids=ids, difficulty=difficulty, cuts=cuts, outcome=outcome)


@dataclass(frozen=True)
class ToolUseFit:
    """The six paper models' fitted tool_use, the function-calling offset, and the accuracy (%)
    the env measures with them on the table's tasks."""

    abilities: dict[str, float]
    offset: float
    replayed: dict[str, float]


TOOL_USE_GRID = np.round(np.arange(-8.0, 8.0 + 1e-9, 0.005), 3)


def fit_tool_use(table: ChanceTable, a: float, grid: np.ndarray = TOOL_USE_GRID) -> ToolUseFit:
    """Each paper model's tool_use: the grid point whose accuracy is nearest the paper's τ²
    (the middle one of a tie), with no offset; then the offset and abilities shifted together
    towards the prior (the module docstring's closed form)."""
    curve = 100 * table.accuracy_curve(grid, a)
    free = {m: _nearest(grid, curve, TAU2[m]) for m in MODELS}
    pull = sum(free[m] - TOOL_USE_PRIOR[m] for m in MODELS)
    offset = round(-(PRIOR_WEIGHT**2) * pull / (len(MODELS) * PRIOR_WEIGHT**2 + OFFSET_WEIGHT**2), 3)
    abilities = {m: round(free[m] + offset, 3) for m in MODELS}
    replayed = {m: 100 * table.accuracy(abilities[m], offset, a) for m in MODELS}
    return ToolUseFit(abilities=abilities, offset=offset, replayed=replayed)


def _nearest(grid: np.ndarray, curve: np.ndarray, target: float) -> float:
    """The grid point whose value on `curve` is nearest `target` (the middle of a tie)."""
    gap = np.abs(curve - target)
    best = np.flatnonzero(gap <= gap.min() + 1e-9)
    return float(grid[best[len(best) // 2]])


def with_tool_use(result: Fit, tool_use: ToolUseFit, profiles: Profiles) -> Fit:
    """`result` with the six models' fitted tool_use, every other model's carried through the
    monotone map of `remap`, the function-calling offset, and the τ² cells' replayed accuracy."""
    old = np.sort([profiles.models[m].abilities["tool_use"] for m in MODELS])
    new = np.sort([tool_use.abilities[m] for m in MODELS])
    abilities = {}
    for name, skills in result.abilities.items():
        current = profiles.models[name].abilities["tool_use"]
        value = tool_use.abilities.get(name, round(_monotone(current, old, new), 3))
        abilities[name] = {**skills, "tool_use": value}
    replayed = {(m, "basic", TAU2_FAMILY): tool_use.replayed[m] for m in MODELS}
    return Fit(
        abilities=abilities,
        offsets={**result.offsets, TAU2_FAMILY: {"tool_use": tool_use.offset}},
        expected={**result.expected, **replayed},
        objective=result.objective,
    )


def shipped_fit(profiles: Profiles) -> Fit:
    """The profiles' abilities and HLE/FRAMES offsets as a `Fit` (to refit τ² alone)."""
    return Fit(
        abilities={name: dict(model.abilities) for name, model in profiles.models.items()},
        offsets={f: dict(profiles.difficulty_offsets.get(f, {})) for f in FAMILIES},
        expected={},
        objective=0.0,
    )


def replayed_tau2(table: ChanceTable, profiles: Profiles) -> dict:
    """τ² cells from the chance table (accuracy only) with `profiles`' tool_use and offset."""
    offset = profiles.difficulty_offsets.get(TAU2_FAMILY, {}).get("tool_use", 0.0)
    return {
        (m, "basic", TAU2_FAMILY): Cell(
            table.accuracy(profiles.models[m].abilities["tool_use"], offset, profiles.discrimination),
            math.nan,
            math.nan,
            len(table.task_ids),
        )
        for m in MODELS
    }


# -- writing and reporting ------------------------------------------------------------------


def profiles_path() -> Path:
    """The bundled profiles.json (in the source tree for an editable install)."""
    return Path(str(resources.files("orchestra_env.models").joinpath("profiles.json")))


def write_profiles(result: Fit, path: Path | None = None) -> Path:
    """Write fitted abilities and family offsets into profiles.json (layout kept: key order,
    indent 1), after validating the result."""
    path = path or profiles_path()
    data = fitted_data(result, json.loads(path.read_text()))
    parse_profiles(data, source=str(path))
    path.write_text(json.dumps(data, indent=1))
    default_profiles.cache_clear()  # envs made from now on read the new file
    return path


def fitted_data(result: Fit, data: Mapping) -> dict:
    """A copy of profiles JSON `data` holding `result`; "families" goes before "models" when new.
    Families that `result` has no offsets for keep theirs."""
    data = json.loads(json.dumps(data))
    for name, abilities in result.abilities.items():
        current = data["models"][name]["abilities"]
        data["models"][name]["abilities"] = {s: abilities[s] for s in current}
    families = dict(data.get("families", {}))
    families.update({f: {"difficulty_offset": dict(o)} for f, o in result.offsets.items()})
    if "families" not in data:
        data = _insert_before(data, "models", "families", families)
    data["families"] = families
    return data


def _insert_before(data: dict, key: str, new_key: str, value) -> dict:
    out = {}
    for k, v in data.items():
        if k == key:
            out[new_key] = value
        out[k] = v
    return out


def report(
    cells: Mapping[tuple[str, str, str], Cell],
    *,
    command: str = "",
    note: str = "",
    expected: Mapping[tuple[str, str, str], float] | None = None,
) -> str:
    """Markdown: accuracy per cell against the paper (and the fit's expected accuracy, when
    given; for τ² the accuracy the fit replays), then $ and seconds per task of each policy on
    HLE/FRAMES, and of "basic" on τ²."""
    n = {c.n for c in cells.values()}
    lines = [f"Simulated accuracy over {'/'.join(map(str, sorted(n)))} test tasks per cell"]
    if command:
        lines[0] += f", from `{command}`"
    lines += [note] if note else []
    extra = (" expected % |", "---:|") if expected else ("", "")
    lines += [
        "",
        f"| model | tools | benchmark (family) | paper % | simulated % | difference |{extra[0]}",
        f"|---|---|---|---:|---:|---:|{extra[1]}",
    ]
    for (model, setting, family), cell in cells.items():
        target, sim = CELLS[model, setting, family], 100 * cell.accuracy
        row = f"| {model} | {setting} | {BENCHMARK[family]} ({family}) | {target:.1f} | {sim:.1f} | {sim - target:+.1f} |"
        if expected:
            row += f" {expected[model, setting, family]:.1f} |" if (model, setting, family) in expected else " – |"
        lines.append(row)
    costs = policy_costs(cells)
    if costs:
        lines += [
            "",
            "Mean cost and simulated latency per task of each policy (both families), with the",
            "paper's relative cost and latency columns:",
            "",
            "| model | tools | $ per task | s per task | paper cost | paper latency |",
            "|---|---|---:|---:|---:|---:|",
        ]
    for (model, setting), (cost, latency) in costs.items():
        paper = PAPER[model, setting]
        lines.append(f"| {model} | {setting} | {cost:.4f} | {latency:.1f} | {paper[2]:g} | {paper[3]:g} |")
    return "\n".join(lines + tau2_costs(cells))


def tau2_costs(cells: Mapping[tuple[str, str, str], Cell]) -> list[str]:
    """Markdown lines: mean $ and simulated seconds per τ² task of each measured model."""
    rows = [
        f"| {m} | {c.cost_usd:.4f} | {c.latency_s:.1f} |"
        for (m, _, f), c in cells.items()
        if f == TAU2_FAMILY and not math.isnan(c.cost_usd)
    ]
    if not rows:
        return []
    head = ["", "Mean cost and simulated latency per τ² (function-calling) task, with the basic tools:", ""]
    return head + ["| model | $ per task | s per task |", "|---|---:|---:|", *rows]


def policy_costs(cells: Mapping[tuple[str, str, str], Cell]) -> dict[tuple[str, str], tuple[float, float]]:
    """{(model, setting): (mean $, mean s) per task}, averaged over the HLE/FRAMES families
    measured."""
    out = {}
    for model, setting in PAPER:
        mine = [c for (m, s, f), c in cells.items() if (m, s) == (model, setting) and f in FAMILIES]
        if mine and not any(math.isnan(c.cost_usd) for c in mine):
            out[model, setting] = (
                sum(c.cost_usd for c in mine) / len(mine),
                sum(c.latency_s for c in mine) / len(mine),
            )
    return out


def replayed_cells(tables: Mapping[str, EvidenceTable], profiles: Profiles) -> dict:
    """Cells from the fast path (accuracy only): what `measure` would return for the tables'
    tasks and seeds with `profiles`' abilities and family offsets."""
    cells = {}
    for model, setting, family in TARGETS:
        theta = skill_vector(profiles.models[model].abilities)
        offset = skill_vector(profiles.difficulty_offsets.get(family, {}))
        accuracy = crn_accuracy(tables[family], setting, theta, offset, profiles.discrimination)
        cells[model, setting, family] = Cell(accuracy, math.nan, math.nan, len(tables[family].task_ids))
    return cells
