"""The fidelity report: does the simulator have the causal structure of real models?

The calibration cells check the simulator's accuracies; this report checks what a policy
would learn from it (the targets of the "simulated experts that behave like models" issue).
Every number comes from fixed plans (`FixedPlan`, aliases `<tool>@<model>` of
`baselines.single_model.solo_profiles`) played through the env on the first n test tasks, with
the calibration's episode seeds (`measurement.episode_seed`: every cell shares its draws):

1. multihop: closed-book (`answer` alone) vs the oracle setting (every hop document in context:
   one web search per hop whose query writer is `GoldQueries`, which writes the hop's targeted
   query; the web corpus returns the hop's document for every test item, and `hops_in_context`
   checks it on the observation) vs the model's own basic-tools plan;
2. reasoning: the model's coder once, three times, or once then the strong coder
   (`ESCALATION`), each followed by the model's answer; and, in the thrice plan, how often the
   second program prints the gold answer after the first did not, vs the first's rate;
3. answer accuracy when the first program printed the gold answer vs when it did not;
4. how often the gold answer is in the tool replies the policy had read when the strong model's
   basic plan ends wrong (`gold_in_context`);
5. ROC-AUC, on test items, of a classifier of the problem text trained on train items to
   predict whether `LABELLER`'s basic plan solves an item (`visibility`).

What a call "succeeded" at is read from what the policy saw, never from hidden draws: a code
run succeeded when its printed output matches the gold answer (`answers.answers_match`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import gymnasium as gym

from orchestra_env.answers import answers_match, normalize_answer
from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.baselines.single_model import solo_aliases, solo_profiles, with_basic_tools
from orchestra_env.calibration.measurement import episode_seed, family_kwargs
from orchestra_env.calibration.targets import ENV_IDS
from orchestra_env.calibration.visibility import visibility_auc
from orchestra_env.models.base import Expert, ExpertReply, ExpertRequest
from orchestra_env.models.simulated import SimulatedExperts
from orchestra_env.rollout import rollout

MODELS = ("gpt-5", "gpt-5-mini", "qwen3-32b", "qwen3-8b")
STRONG, WEAK, LABELLER = "gpt-5", "qwen3-32b", "gpt-5-mini"
ESCALATION = "reasoner-1"  # the strong coder (profiles.json tier "strong")
RETRIES = 3
MULTIHOP_SETTINGS = ("closed", "oracle", "basic")
REASONING_SETTINGS = ("closed", "code", "retry", "escalate")

_OUTPUT = "\nOutput:\n"  # tools/qa.enhance_reasoning's reply: the program, then its output
_RESULT_MARK = re.compile(r"^\[\d+\] ", re.MULTILINE)  # a search reply numbers its documents


@dataclass(frozen=True)
class Played:
    """What one episode showed: its outcome; per code run, whether it printed the gold answer;
    the kinds of tool reply ("search", "code", "other") the policy read before answering that
    held the gold answer; and, on multihop, whether every hop document was in those replies."""

    outcome: int
    code_correct: tuple[bool, ...]
    gold_in: frozenset[str]
    hops_in_context: bool | None

    @property
    def gold_in_context(self) -> bool:
        return bool(self.gold_in)


@dataclass
class GoldQueries:
    """An expert that answers like `inner` except that every search query is the targeted query
    of the first hop whose document is not yet in context: the oracle setting's searcher."""

    inner: Expert

    def complete(self, request: ExpertRequest) -> ExpertReply:
        reply = self.inner.complete(request)
        if request.role != "search":
            return reply
        hops = request.task.question.hops
        hop = next((h for h in hops if not request.evidence.has_document(h.doc_id)), hops[-1])
        return replace(reply, text=f"<query>{hop.query}</query>", success=True)


def gold_answers(task) -> tuple[str, ...]:
    """The answers `task` grades as correct (multihop questions have aliases)."""
    question = getattr(task, "question", None)
    if question is not None:
        return (question.answer, *question.aliases)
    return (task.problem.answer,)


def gold_in_text(golds: Sequence[str], text: str) -> bool:
    """Whether any of `golds`, normalised, occurs in `text`, normalised, as whole tokens
    ("12" is not in "120"; "Spencer and Sons" is in "print(x + 'Spencer and Sons')")."""
    haystack = f" {normalize_answer(_RESULT_MARK.sub('', text))} "
    return any(f" {g} " in haystack for g in map(normalize_answer, golds) if g)


def reply_kind(message: dict) -> str:
    """The kind of a tool reply: "code" (a code run), "search", or "other"."""
    content = message["content"]
    if content.startswith("```") and _OUTPUT in content:
        return "code"
    return "search" if content.startswith("Query (") else "other"


def code_outputs(messages: Sequence[dict]) -> list[str]:
    """The printed output of every code run in `messages`, in order."""
    return [
        m["content"].rpartition(_OUTPUT)[2].strip()
        for m in messages
        if m["role"] == "tool" and reply_kind(m) == "code"
    ]


def hops_in_context(task, messages: Sequence[dict]) -> bool:
    """Whether a search reply in `messages` showed every hop document of a multihop `task`."""
    replies = "\n".join(m["content"] for m in messages if m["role"] == "tool")
    titles = (task.world.document(h.doc_id).title for h in task.question.hops)
    return all(f"] {title}\n" in replies for title in titles)


def read_episode(task, seen: dict, outcome: int) -> Played:
    """`Played` of an episode whose last action was taken on the observation `seen`."""
    golds = gold_answers(task)
    replies = [m for m in seen["messages"] if m["role"] == "tool"]
    return Played(
        outcome=outcome,
        code_correct=tuple(answers_match(o, golds[0], golds[1:]) for o in code_outputs(replies)),
        gold_in=frozenset(reply_kind(m) for m in replies if gold_in_text(golds, m["content"])),
        hops_in_context=hops_in_context(task, replies) if hasattr(task, "question") else None,
    )


def plan(setting: str, model: str, task) -> list[tuple[str, dict]]:
    """The fixed plan of `setting` for `model` on `task` (aliases `<tool>@<model>`)."""
    answer = ("answer", {"model": f"answer@{model}"})
    code = ("enhance_reasoning", {"model": f"enhance_reasoning@{model}"})
    if setting == "closed":
        return [answer]
    if setting == "oracle":
        search = ("search", {"model": f"search@{model}", "source": "web"})
        return [search] * len(task.question.hops) + [answer]
    if setting == "basic":
        return list(with_basic_tools(model)[1].plan)
    if setting == "code":
        return [code, answer]
    if setting == "retry":
        return [code] * RETRIES + [answer]
    if setting == "escalate":
        return [code, ("enhance_reasoning", {"model": ESCALATION}), answer]
    raise ValueError(f"unknown fidelity setting {setting!r}")


def play_cell(
    family: str, model: str, setting: str, n: int, seed: int = 0, split: str = "test"
) -> list[Played]:
    """Play `setting`'s plan for `model` on the first n `split` tasks of `family`."""
    profiles = solo_profiles(model)
    experts = SimulatedExperts(profiles)
    kwargs = {
        "profiles": profiles,
        "tools": [*solo_aliases(model), ESCALATION],
        "policy_model": None,  # billing the policy changes no outcome
        "experts": GoldQueries(experts) if setting == "oracle" else experts,
    }
    env = gym.make(ENV_IDS[family], split=split, **family_kwargs(kwargs, family))
    suite, played = env.unwrapped.suite, []
    for k, task_id in enumerate(env.unwrapped.task_ids(split, n)):
        task, last = suite.task(task_id), {}
        run = rollout(
            env,
            FixedPlan(plan(setting, model, task), name=f"{model} {setting}"),
            options={"task_id": task_id, "episode_seed": episode_seed(seed, k)},
            on_step=lambda step, last=last: last.update(seen=step.observation),
        )
        played.append(read_episode(task, last["seen"], int(run.outcome)))
    env.close()
    return played


@dataclass(frozen=True)
class Target:
    """One of the issue's targets beside its measurement."""

    name: str
    measured: float
    goal: str
    met: bool


@dataclass(frozen=True)
class Fidelity:
    """The report's numbers. `accuracy[family, model, setting]`; `oracle_coverage[model]`:
    share of oracle episodes with every hop document in context; `first_call[model]` and
    `retry_after_failure[model]`: (rate, episodes it is over); `given_output[model]`:
    ((accuracy, n) with the first program's output right, (accuracy, n) with it wrong);
    `leak[family]`: (rate, wrong episodes); `leak_in[family][kind]`: the share of those wrong
    episodes with the gold answer in a reply of `kind` ("search", "code"); `auc[family]`."""

    n: int
    seed: int
    accuracy: dict[tuple[str, str, str], float]
    oracle_coverage: dict[str, float]
    first_call: dict[str, tuple[float, int]]
    retry_after_failure: dict[str, tuple[float, int]]
    given_output: dict[str, tuple[tuple[float, int], tuple[float, int]]]
    leak: dict[str, tuple[float, int]]
    leak_in: dict[str, dict[str, float]]
    auc: dict[str, float]
    targets: list[Target] = field(default_factory=list)


def rate(values: Sequence[float]) -> tuple[float, int]:
    """(mean, count); the mean is NaN for no values."""
    return (sum(values) / len(values) if values else math.nan, len(values))


def measure_fidelity(
    n: int = 200, seed: int = 0, models: Sequence[str] = MODELS, log: Callable | None = None
) -> Fidelity:
    """Measure the report on the first n test tasks per cell (2n train tasks for the
    classifier). `models` must include `STRONG`, `WEAK` and `LABELLER`."""
    missing = {STRONG, WEAK, LABELLER} - set(models)
    if missing:
        raise ValueError(f"fidelity needs the models {sorted(missing)} among models={models}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    cells: dict[tuple[str, str, str], list[Played]] = {}
    wanted = [("multihop", m, s) for m in models for s in MULTIHOP_SETTINGS]
    wanted += [("reasoning", m, s) for m in models for s in REASONING_SETTINGS]
    wanted += [("reasoning", m, "basic") for m in (STRONG, LABELLER)]
    for key in wanted:
        cells[key] = play_cell(*key, n=n, seed=seed)
        if log:
            log(f"{' '.join(key):32s} {100 * rate([p.outcome for p in cells[key]])[0]:5.1f}%")
    wrong_strong = {  # the strong model's basic plan, where it ends wrong
        f: [p for p in cells[f, STRONG, "basic"] if not p.outcome]
        for f in ("multihop", "reasoning")
    }
    report = Fidelity(
        n=n,
        seed=seed,
        accuracy={k: rate([p.outcome for p in v])[0] for k, v in cells.items()},
        oracle_coverage={
            m: rate([p.hops_in_context for p in cells["multihop", m, "oracle"]])[0] for m in models
        },
        first_call={m: rate([p.code_correct[0] for p in cells[_retry(m)]]) for m in models},
        retry_after_failure={
            m: rate([p.code_correct[1] for p in cells[_retry(m)] if not p.code_correct[0]])
            for m in models
        },
        given_output={m: _given_output(cells["reasoning", m, "code"]) for m in models},
        leak={f: rate([p.gold_in_context for p in wrong]) for f, wrong in wrong_strong.items()},
        leak_in={
            f: {kind: rate([kind in p.gold_in for p in wrong])[0] for kind in ("search", "code")}
            for f, wrong in wrong_strong.items()
        },
        auc={
            f: _auc(f, cells[f, LABELLER, "basic"], n, seed, log) for f in ("multihop", "reasoning")
        },
    )
    return replace(report, targets=targets(report))


def _retry(model: str) -> tuple[str, str, str]:
    return ("reasoning", model, "retry")


def _given_output(played: list[Played]) -> tuple[tuple[float, int], tuple[float, int]]:
    right = [p.outcome for p in played if p.code_correct and p.code_correct[0]]
    wrong = [p.outcome for p in played if p.code_correct and not p.code_correct[0]]
    return rate(right), rate(wrong)


def _auc(family: str, test: list[Played], n: int, seed: int, log: Callable | None) -> float:
    """AUC on the test items of `family` (labels: `test`) of the classifier trained on the
    first 2n train items, labelled by `LABELLER`'s basic plan."""
    train = play_cell(family, LABELLER, "basic", 2 * n, seed, split="train")
    texts = {s: _prompts(family, s, len(p)) for s, p in (("train", train), ("test", test))}
    auc = visibility_auc(
        texts["train"], [p.outcome for p in train], texts["test"], [p.outcome for p in test]
    )
    if log:
        log(f"{family} visibility AUC {auc:.3f}")
    return auc


def _prompts(family: str, split: str, n: int) -> list[str]:
    env = gym.make(ENV_IDS[family], split=split).unwrapped
    return [env.suite.task(t).prompt for t in env.task_ids(split, n)]


def targets(report: Fidelity) -> list[Target]:
    """The issue's targets beside `report`'s measurements."""
    acc = report.accuracy
    lift = acc["multihop", STRONG, "oracle"] - acc["multihop", STRONG, "closed"]
    found = [
        Target(
            f"{STRONG} multihop oracle lift (points)",
            100 * lift,
            "+25 to +40",
            0.25 <= lift <= 0.40,
        ),
        Target(
            f"{WEAK} multihop with gold documents",
            acc["multihop", WEAK, "oracle"],
            ">= 0.6",
            acc["multihop", WEAK, "oracle"] >= 0.6,
        ),
    ]
    for model, (first, _) in report.first_call.items():
        again = report.retry_after_failure[model][0]
        found.append(
            Target(
                f"{model} retry success / first-call success",
                again / first if first else math.nan,
                "<= 0.5",
                bool(first) and again <= first / 2,
            )
        )
    for family, (leaked, _) in report.leak.items():
        found.append(
            Target(
                f"{family}: gold in context of wrong {STRONG} episodes",
                leaked,
                "<= 0.05",
                leaked <= 0.05,
            )
        )
    for family, auc in report.auc.items():
        found.append(Target(f"{family}: difficulty visibility AUC", auc, ">= 0.7", auc >= 0.7))
    return found


def fidelity_markdown(report: Fidelity, command: str = "") -> str:
    """The report as markdown tables, targets last."""
    acc = report.accuracy
    lines = [f"Fidelity report: first {report.n} test tasks per cell, seed {report.seed}"]
    lines += [f"`{command}`"] if command else []
    lines += [
        "",
        "| model | multihop closed-book | gold documents (oracle) | lift | basic plan |"
        " oracle coverage |",
        "|---|---|---|---|---|---|",
    ]
    for m in report.oracle_coverage:
        closed, oracle, basic = (acc["multihop", m, s] for s in MULTIHOP_SETTINGS)
        lines.append(
            f"| {m} | {closed:.3f} | {oracle:.3f} | {100 * (oracle - closed):+.1f} |"
            f" {basic:.3f} | {report.oracle_coverage[m]:.2f} |"
        )
    lines += [
        "",
        f"| model | reasoning closed-book | coder → answer | coder ×{RETRIES} → answer |"
        f" coder → {ESCALATION} → answer | first program right | second right after a"
        " wrong first | answer given right output | answer given wrong output |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in report.first_call:
        right, wrong = report.given_output[m]
        cells = " | ".join(f"{acc['reasoning', m, s]:.3f}" for s in REASONING_SETTINGS)
        lines.append(
            f"| {m} | {cells} | {_rate(report.first_call[m])} |"
            f" {_rate(report.retry_after_failure[m])} | {_rate(right)} | {_rate(wrong)} |"
        )
    lines += [
        "",
        f"| family | wrong {STRONG} basic-plan episodes | gold in a reply | in a search reply"
        " | in a code reply |",
        "|---|---|---|---|---|",
    ]
    for family, (leaked, wrong) in report.leak.items():
        where = report.leak_in[family]
        lines.append(
            f"| {family} | {wrong} | {leaked:.3f} | {where['search']:.3f} | {where['code']:.3f} |"
        )
    lines += ["", "| target | measured | goal | |", "|---|---|---|---|"]
    lines += [
        f"| {t.name} | {t.measured:.3f} | {t.goal} | {'met' if t.met else 'MISSED'} |"
        for t in report.targets
    ]
    lines.append("")
    lines.append("(rate (n): n is the number of episodes the rate is over)")
    return "\n".join(lines)


def _rate(value: tuple[float, int]) -> str:
    return f"{value[0]:.3f} ({value[1]})"
