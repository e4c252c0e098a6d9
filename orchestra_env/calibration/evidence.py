"""The fast path: every task's evidence tree, and the accuracy it gives for any abilities.

An episode's only ability-dependent randomness is one uniform draw per expert call,
u_i = `models.simulated.call_draw(episode.call_seed(episode seed, i))`, and call i succeeds iff
u_i < p_i with

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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from orchestra_env.baselines.single_model import BASIC_PLAN
from orchestra_env.calibration.measurement import episode_seed, task_ids
from orchestra_env.core import Check, CodeRun, Evidence
from orchestra_env.env import OrchestraEnv
from orchestra_env.episode import Episode, call_seed
from orchestra_env.models.simulated import call_draw
from orchestra_env.tasks.multihop import MultihopFamily
from orchestra_env.tasks.reasoning import ReasoningFamily
from orchestra_env.tools import qa
from orchestra_env.tools.retrieval import search_index

# The order of the skills in every ability and offset vector of the fast path.
SKILLS = ("knowledge", "reasoning", "coding", "query_writing", "tool_use", "reading")
SEARCH_K = inspect.signature(OrchestraEnv).parameters["search_k"].default  # the env's default


@dataclass(frozen=True)
class StepChecks:
    """Steps' checks padded to a common count C: skill index (−1: padding, always passes),
    difficulty and bonus, each of shape (..., C)."""

    skill: np.ndarray
    difficulty: np.ndarray
    bonus: np.ndarray

    @staticmethod
    def pack(steps: Sequence[Sequence[Check]], shape: tuple[int, ...]) -> StepChecks:
        """The checks of `steps` (one tuple of `Check`s per step, in C order of `shape`)."""
        width = max(1, *(len(s) for s in steps))
        skill = np.full((len(steps), width), -1, dtype=np.int64)
        difficulty, bonus = np.zeros((len(steps), width)), np.zeros((len(steps), width))
        for i, checks in enumerate(steps):
            for j, check in enumerate(checks):
                skill[i, j] = SKILLS.index(check.skill)
                difficulty[i, j], bonus[i, j] = check.difficulty, check.bonus
        full = (*shape, width)
        return StepChecks(skill.reshape(full), difficulty.reshape(full), bonus.reshape(full))

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
    alone: StepChecks
    alone_graded: np.ndarray
    search: StepChecks
    after: np.ndarray
    code: StepChecks
    answer: StepChecks
    graded: np.ndarray
    u: np.ndarray
    recall: StepChecks
    read: StepChecks


def basic_searches() -> tuple[str, ...]:
    """The search sources of `BASIC_PLAN`, which must be: searches, one program, the answer."""
    tools = [tool for tool, _ in BASIC_PLAN]
    k = tools.count("search")
    if tools != ["search"] * k + ["enhance_reasoning", "answer"]:
        raise ValueError(
            f"the fast path expects searches, one program, then the answer; BASIC_PLAN is {tools}"
        )
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
    source = {"reasoning": ReasoningFamily, "multihop": MultihopFamily}[family](
        world_seed, difficulty_offset
    )
    ids = tuple(task_ids(family, n))
    sources = basic_searches()
    trees = [
        _task_tree(
            source,
            source.task(int(task_id.partition("/")[2])),
            episode_seed(seed, k),
            sources,
            world_seed,
            run,
        )
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
    tree.alone_graded = _graded_answers(family, task, Evidence(), call_seed(seed, 1))
    # The answer's first checks are one per fact, in hop order (tasks/multihop.py).
    tree.recall = tree.alone[: len(hops)]
    tree.read = task.demands("answer", facts_evidence(hops, (1 << len(hops)) - 1))[: len(hops)]
    level = _search_levels(tree, task, hops, seed, sources, world_seed)
    call = len(sources) + 1  # the program; the answer is the call after it
    for mask in level:
        evidence = facts_evidence(hops, mask)
        tree.code[mask] = task.demands("reason", evidence)
        after_code = [
            facts_evidence(hops, mask, _program_run(task, evidence, ok, call_seed(seed, call), run))
            for ok in (False, True)
        ]
        tree.answer[mask] = tuple(task.demands("answer", e) for e in after_code)
        tree.graded[mask] = tuple(
            _graded_answers(family, task, e, call_seed(seed, call + 1)) for e in after_code
        )
    tree.u = tuple(call_draw(call_seed(seed, i))[0] for i in range(1, call + 2))
    return tree


def _search_levels(
    tree: _Tree, task, hops, seed: int, sources: Sequence[str], world_seed: int
) -> list[int]:
    """Record each search's check and both outcomes from every node it can start from; returns
    the nodes reachable after the last search."""
    level = [0]
    for k, source in enumerate(sources, start=1):
        checks, after = {}, {}
        for mask in level:
            evidence = facts_evidence(hops, mask)
            checks[mask] = task.demands("search", evidence)
            after[mask] = tuple(
                _after_search(
                    task, hops, mask, evidence, ok, call_seed(seed, k), source, world_seed
                )
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


def _artefact(task, role: str, evidence: Evidence, ok: bool, seed: str) -> str:
    """What a simulated expert writes for `role` at the call of `seed` when it succeeds or
    fails (`call_draw`'s generator, as `SimulatedExperts.complete` uses it)."""
    _, rng = call_draw(seed)
    return task.artefact(role, evidence, ok, rng)


def _after_search(
    task, hops, mask: int, evidence: Evidence, ok: bool, seed: str, source: str, world_seed: int
) -> int:
    """The facts in context after a search that succeeds or fails (as tools/qa.search runs it)."""
    if not hops:
        return mask
    text = _artefact(task, "search", evidence, ok, seed)
    query = qa.query_in(text)
    found = search_index(world_seed).search(query, k=SEARCH_K, source=source)
    return mask | sum(1 << i for i, d in enumerate(hops) if d in found)


def _program_run(task, evidence: Evidence, ok: bool, seed: str, run) -> CodeRun:
    """The program a coder writes on success / failure, run (as tools/qa.enhance_reasoning)."""
    text = _artefact(task, "reason", evidence, ok, seed)
    code = qa.code_in(text)
    output, status = run(code)
    return CodeRun(code=code, output=output, status=status)


def _graded_answers(family, task, evidence: Evidence, seed: str) -> tuple[bool, bool]:
    """Whether the answer written on failure / on success is graded correct (as tools/qa.answer
    extracts it). A failed answer is meant to be wrong, but a plausible wrong answer can happen to
    be right. Multihop wrong answers draw on the titles in context, of which the tree holds only
    the facts' documents; they are never graded right unless nothing is in context."""
    graded = []
    for ok in (False, True):
        text = _artefact(task, "answer", evidence, ok, seed)
        episode = Episode(task=task, preference=None, seed=0, tools=())
        episode.answer = qa.answer_in(text)
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
        alone=StepChecks.pack([tree.alone for tree in trees], (t,)),
        alone_graded=np.array([tree.alone_graded for tree in trees]),
        search=StepChecks.pack(search, (t, k, r)),
        after=after,
        code=StepChecks.pack(code, (t, r)),
        answer=StepChecks.pack(answer, (t, r, 2)),
        graded=graded,
        u=np.array([tree.u for tree in trees]),
        recall=StepChecks.pack([(c,) for tree in trees for c in tree.recall] or [()], (-1,)),
        read=StepChecks.pack([(c,) for tree in trees for c in tree.read] or [()], (-1,)),
    )


# -- accuracy from a table ------------------------------------------------------------------


def skill_vector(values: Mapping[str, float]) -> np.ndarray:
    """{skill: value} as a vector over SKILLS (missing skills: 0)."""
    return np.array([float(values.get(s, 0.0)) for s in SKILLS])


def expected_accuracy(
    table: EvidenceTable, setting: str, theta: np.ndarray, offset: np.ndarray, a: float
) -> float:
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
