"""The function-calling family (ToolScale/tau2-like): conversations over JSON-authored domains.

The policy talks to a user (`orchestra_env.domain.user`: the rule-based `UserSimulator`, seeded
per episode, or a live `LLMUser`), calls the domain's functions (real SQL on the
episode's SQLite world), or pays `call_expert(expert)` to have a model propose and take the next
step. Graded as tau2: the final database must equal the golden replay's, and every
`communicate_info` item must have been said to the user. Golden actions are *not* a required
script: any sequence of calls that reaches the same database (and says the same facts) passes.

The simulated expert (role "act") reads the dialogue and needs `tool_use` for the step it
faces — ask the user for a missing fact, make the next golden call, tell the user the outcome
the calls showed, close. The check is keyed by the task and that step, so a model that fails a
step mostly fails it again when called again (models/simulated.py); another model is another
draw. On success it takes the step; on failure it makes a plausible mistake of its own, drawn
from the context and persistent for the model: an argument off (a look-alike id, a wrong
amount), skipping a lookup the policy requires, asking again for something already given, or
ending early — and it never tells the user what the conversation has not shown. The step's
difficulty grows with the task's number of golden actions and is then raised by the family's
calibration offset (profiles.json "families" → "function_calling" → "difficulty_offset",
fitted by `orchestra calibrate`; every `function_calling.<domain>` family shares it);
`difficulty` reports the value before the offset.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from orchestra_env.actions import Message, ParseError, ToolCall, parse_action
from orchestra_env.core import Attempt, CallRecord, Check, Evidence, Grade
from orchestra_env.domain import (
    Domain,
    DomainTask,
    Judge,
    bundled_domains,
    communicated,
    shared_domain,
)
from orchestra_env.domain.user import Scenario, User, UserFactory, UserSimulator, opening
from orchestra_env.episode import Episode
from orchestra_env.hermes import format_call, strip_thinking
from orchestra_env.ledger import Charge
from orchestra_env.models.profiles import Profiles
from orchestra_env.tasks.base import index_in_split, split_position
from orchestra_env.tasks.offsets import Offset, family_offset, offset_checks
from orchestra_env.tools.base import ToolContext, ToolResult, tool_reply
from orchestra_env.tools.catalogue import expert_tool_spec
from orchestra_env.tools.spec import ToolSpec

FAMILY = "function_calling"
TOOL_USE_BASE = -0.5  # difficulty of a one-action task; each further action adds TOOL_USE_STEP
TOOL_USE_STEP = 0.35

AGENT_INSTRUCTIONS = (
    "\n\nYou are the agent serving this user. Each turn do exactly one thing: call one tool as "
    '<tool_call>{"name": ..., "arguments": {...}}</tool_call>, or talk to the user inside '
    "<message></message>. You may think first inside <think></think>. call_expert asks a "
    "stronger model to take the next step for you, at its price."
)


@dataclass(frozen=True)
class FunctionCallingTask:
    index: int
    case: DomainTask
    family: str = FAMILY
    offset: Offset = ()  # calibration offset per skill, added to every check's difficulty

    @property
    def id(self) -> str:
        return f"{self.family}/{self.index}"

    @property
    def toolset(self) -> str:
        return self.case.domain

    @property
    def labels(self) -> dict[str, str]:
        """What the env's `info` adds for this task: its domain and template."""
        return {"domain": self.case.domain, "template": self.case.template}

    @cached_property
    def prompt(self) -> str:
        """The user's opening: what it wants, in its own words."""
        return "Hi. " + opening(self.case.user_scenario["instructions"]["reason_for_call"])

    @property
    def difficulty(self) -> dict[str, float]:
        return {"tool_use": TOOL_USE_BASE + TOOL_USE_STEP * (len(self.case.actions) - 1)}

    @property
    def reference_plan(self) -> tuple[str, ...]:
        return ("call_expert",) * (len(self.case.actions) + 1)

    def demands(self, role: str, evidence: Evidence) -> tuple[Check, ...]:
        key = f"{self.family}:{self.case.id}:{next_step(self.case, evidence).key}"
        return offset_checks(
            (Check("tool_use", self.difficulty["tool_use"], key=key),), self.offset
        )

    def artefact(self, role: str, evidence: Evidence, attempt: Attempt, rng: random.Random) -> str:
        step = next_step(self.case, evidence)
        if attempt.success:
            return step.text
        return mistake(step, self.case, evidence, attempt.belief(f"{self.case.id}:{step.key}"))


@dataclass(frozen=True)
class Step:
    """The step a competent agent takes next: its text, and which step it is (`key`: "ask:…",
    "call:<i>", "tell", "close"), what a model's competence is keyed by."""

    text: str
    key: str
    action: int = -1  # the golden action a "call" step makes


def next_step(case: DomainTask, evidence: Evidence) -> Step:
    """What a competent agent does next: ask for a missing fact, make the next golden call, or
    tell the user what the calls showed and they need to hear."""
    made = {(c.name, _canonical(c.arguments)) for c in evidence.calls}
    done = {(c.name, _canonical(c.arguments)) for c in evidence.calls if c.ok}
    context = _context(case, evidence)
    for i, action in enumerate(case.actions):
        # A golden call meant to fail is done once made; any other once it succeeded.
        if (action["name"], _canonical(action["arguments"])) in (
            made if i in case.failing else done
        ):
            continue
        values = {str(v).lower() for v in action["arguments"].values()}
        for name, value in case.known.items():
            if str(value).lower() in values and str(value).lower() not in context:
                return Step(
                    f"<message>Could you tell me your {name}, please?</message>", f"ask:{name}"
                )
        return Step(
            format_call(action["name"], action["arguments"], ensure_ascii=True), f"call:{i}", i
        )
    missing = [i for i in case.communicate_info if not communicated(i, evidence.said_to_user)]
    shown = [i for i in missing if communicated(i, [context])]
    if shown:
        text = f"<message>All done. Here is what you asked for: {'; '.join(shown)}.</message>"
        return Step(text, "tell")
    return Step(_CLOSING[0], "close")


def _context(case: DomainTask, evidence: Evidence) -> str:
    """What the conversation has shown: the user's words and the calls' outputs."""
    opening = case.user_scenario["instructions"]["reason_for_call"]
    return " ".join([opening, *evidence.user_said, *(c.output for c in evidence.calls)]).lower()


_CLOSING = (
    "<message>Everything is done. Is there anything else I can help you with?</message>",
    "<message>That is all taken care of. Have a good day!</message>",
    "<message>Your request has been handled; you will see the change shortly.</message>",
    "<message>I have sorted that out for you. Anything else?</message>",
)


def mistake(step: Step, case: DomainTask, evidence: Evidence, rng: random.Random) -> str:
    """A plausible wrong version of `step`, drawn by the model's own persistent generator: an
    argument off, a lookup skipped, a question asked again, or an early goodbye."""
    kinds = ["end_early"]
    if step.action >= 0 and case.actions[step.action]["arguments"]:
        kinds += ["argument", "argument"]
    if step.action >= 0 and step.action + 1 < len(case.actions):
        kinds.append("skip")
    given = [
        n for n, v in case.known.items() if str(v).lower() in " ".join(evidence.user_said).lower()
    ]
    if given:
        kinds.append("ask_again")
    kind = rng.choice(kinds)
    if kind == "argument":
        action = case.actions[step.action]
        arguments = dict(action["arguments"])
        name = rng.choice(sorted(arguments))
        arguments[name] = _perturb(arguments[name], rng)
        return format_call(action["name"], arguments, ensure_ascii=True)
    if kind == "skip":  # the next call, without the lookup or check before it
        action = case.actions[step.action + 1]
        return format_call(action["name"], action["arguments"], ensure_ascii=True)
    if kind == "ask_again":
        return f"<message>Before I continue, could you give me your {rng.choice(given)}?</message>"
    return rng.choice(_CLOSING[1:])


def _perturb(value, rng: random.Random):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + rng.choice([-1, 1]) * max(1, abs(value) * 0.1)
    text = str(value)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if digits:
        i = rng.choice(digits)
        return text[:i] + str((int(text[i]) + rng.randint(1, 9)) % 10) + text[i + 1 :]
    return text + " "


def _canonical(arguments: dict) -> str:
    return json.dumps(arguments, sort_keys=True, default=str)


# -- the family ------------------------------------------------------------------------------


class FunctionCallingFamily:
    """Task `index` is task k of its split (`split_position`); within a split, tasks take turns
    through the n domains: task k is the split's task k // n of domain k % n (`Domain.task`,
    which deals each template's tasks to one split each and takes turns through the templates).
    Difficulties are raised by `difficulty_offset` ({skill: logit}; default: the bundled
    profiles' offset of "function_calling"). `users` makes each episode's user from the task's
    scenario and the episode's seed (default: the rule-based `UserSimulator`). `judge` grades
    the tasks' nl_assertions (`orchestra_env.domain.llm_judge` makes one of a live model);
    without one they are reported as "ungraded" in the grading details."""

    tools = ("call_expert",)
    conversational = True

    def __init__(
        self,
        world_seed: int = 0,
        domains: Sequence[str] | None = None,
        name: str = FAMILY,
        difficulty_offset: Mapping[str, float] | None = None,
        users: UserFactory | None = None,
        judge: Judge | None = None,
    ):
        self.name = name
        self.users = users or UserSimulator
        self.judge = judge
        self.seed = world_seed
        self.offset = family_offset(FAMILY, difficulty_offset)
        self.domains = tuple(shared_domain(d) for d in (domains or bundled_domains()))
        self._worlds: dict = {}
        self._specs: dict[str, tuple[ToolSpec, ...]] = {}

    def task(self, index: int) -> FunctionCallingTask:
        split, k = split_position(index)
        domain = self.domains[k % len(self.domains)]
        case = domain.task(k // len(self.domains), self.seed, split)
        return FunctionCallingTask(index, case, self.name, self.offset)

    def example_tasks(self) -> tuple[FunctionCallingTask, ...]:
        return tuple(self.task(index_in_split("train", k)) for k in range(len(self.domains)))

    def system_prompt(self, task: FunctionCallingTask) -> str:
        return self._domain(task).policy + AGENT_INSTRUCTIONS

    def tool_specs(
        self, task: FunctionCallingTask, profiles: Profiles, aliases: Sequence[str]
    ) -> tuple[ToolSpec, ...]:
        domain_specs = tuple(t.spec for t in self._domain(task).tools.values())
        return domain_specs + (expert_tool_spec(profiles, aliases),)

    def policy(self, task: FunctionCallingTask) -> str:
        """The domain's policy text (the released Orchestrator-8B prompt wraps it its own way)."""
        return self._domain(task).policy

    def begin(self, task: FunctionCallingTask) -> dict:
        name = task.case.domain
        if name not in self._worlds:
            self._worlds[name] = self._domain(task).build_world(self.seed)
        world = self._worlds[name]
        world.reset()
        return {"world": world, "user": None}  # the user comes at the first message (`_user`)

    def execute(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        if call.name != "call_expert":
            return self._run_domain_tool(call, ctx)
        proposal = self._propose(call, ctx)
        if isinstance(proposal.step, ParseError):
            return tool_reply(
                f"{proposal.alias} proposed an invalid step: {proposal.step.error}",
                charges=(proposal.charge,),
                stand_in=proposal.stand_in(
                    ({"role": "tool", "content": f"Error: {proposal.step.error}"},)
                ),
            )
        if isinstance(proposal.step, ToolCall):
            return proposal.taken(self._run_domain_tool(proposal.step, ctx))
        return proposal.taken(self.respond(proposal.step, ctx))

    def respond(self, message: Message, ctx: ToolContext) -> ToolResult:
        """The user's reply: it hears only what the agent says (never the grader's state)."""
        answer, over = self._user(ctx).reply(message.text)
        return ToolResult(
            replies=({"role": "user", "content": answer},),
            said=(message.text,),
            user_said=(answer,),
            final=over,
        )

    def grade(self, task: FunctionCallingTask, episode: Episode) -> Grade:
        world = episode.resources.family["world"]
        result = self._domain(task).grade(
            task.case, world, episode.evidence.said_to_user, self.judge, episode.messages
        )
        return Grade(
            outcome=int(result["reward"] == 1.0), details={"domain": task.case.domain, **result}
        )

    # -- executors -------------------------------------------------------------------------

    def _domain(self, task: FunctionCallingTask) -> Domain:
        return next(d for d in self.domains if d.name == task.case.domain)

    def scenario(self, task: FunctionCallingTask) -> Scenario:
        """The user's scenario in `task` (it waits to hear of a change if a golden call writes)."""
        tools = self._domain(task).tools
        writes = any(
            tools[a["name"]].kind == "write" and i not in task.case.failing
            for i, a in enumerate(task.case.actions)
        )
        return Scenario.of(task.case, writes)

    def _user(self, ctx: ToolContext) -> User:
        """The episode's user, made when the agent first speaks (it needs the episode seed)."""
        resources = ctx.resources.family
        if resources["user"] is None:
            resources["user"] = self.users(self.scenario(ctx.episode.task), ctx.episode.seed)
        return resources["user"]

    def _run_domain_tool(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        outcome = ctx.resources.family["world"].call(call.name, call.arguments)
        tool = self._domain(ctx.episode.task).tools[call.name]
        return tool_reply(
            outcome.content,
            call=CallRecord(call.name, call.arguments, outcome.ok, outcome.content),
            charges=(Charge(tool=call.name, usd=tool.price_usd),),
            final=outcome.ok and tool.terminal,  # a transfer ends the episode
        )

    def _propose(self, call: ToolCall, ctx: ToolContext) -> Proposal:
        """The expert reads the conversation and proposes one step (not yet taken)."""
        alias = call.arguments["expert"]
        episode = ctx.episode
        if ctx.o8b:  # the released loop hands the expert the conversation itself, roles and all
            reply = ctx.ask_chat("act", alias, tuple(episode.messages))
        else:
            reply = ctx.ask("act", alias, tuple(m["content"] for m in episode.messages))
        charge = ctx.model_charge("call_expert", alias, reply)
        # Only the domain's tools parse: an expert cannot propose call_expert again.
        specs = {n: t.spec for n, t in self._domain(episode.task).tools.items()}
        step = parse_action(reply.text, specs, allow_messages=True)
        return Proposal(alias=alias, text=reply.text, charge=charge, step=step)


@dataclass(frozen=True)
class Proposal:
    """The step an expert proposed through `call_expert`, and what asking it cost."""

    alias: str
    text: str  # the expert's reply, as written
    charge: Charge
    step: ToolCall | Message | ParseError

    def taken(self, result: ToolResult) -> ToolResult:
        """The call's result once the proposed step ran and gave `result`: the expert's step
        shown first, its charge added before the step's."""
        header = f"{self.alias} took the step: {self.text.strip()}"
        if isinstance(self.step, ToolCall):
            replies = ({"role": "tool", "content": f"{header}\n{result.content}"},)
        else:
            replies = ({"role": "tool", "content": header}, *result.replies)
        return ToolResult(
            replies=replies,
            charges=(self.charge, *result.charges),
            call=result.call,
            said=result.said,
            user_said=result.user_said,
            final=result.final,
            stand_in=self.stand_in(result.replies),
        )

    def stand_in(self, answered: tuple[dict, ...]) -> tuple[dict, ...]:
        """The expert's step as if the policy had taken it, followed by what `answered` it; the
        expert's own reasoning is not the policy's, so it is left out."""
        shown = strip_thinking(self.text)
        return ({"role": "assistant", "content": (shown or "").strip()}, *answered)
