"""A domain's tasks: the DomainTask record, and the sampler that makes task `index` of a seed's
world from the templates (slots drawn, golden actions replayed, texts rendered), dealing each
template's tasks to the train / test / validation splits."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from random import Random
from typing import Any

from orchestra_env.domain.errors import SampleMiss, fail
from orchestra_env.domain.generate import MAX_ATTEMPTS, draw_faker, draw_range, stable_seed
from orchestra_env.domain.lru import cached
from orchestra_env.domain.slots import render, render_value
from orchestra_env.domain.sql import json_text, sql_problem
from orchestra_env.domain.templates import Part, Step, Template
from orchestra_env.domain.tools import bindable_scalar
from orchestra_env.domain.world import DomainWorld, combine_hashes

TASK_CACHE = 4096
SAMPLE_CACHE = 4096  # sample-query results a Domain keeps (by seed, step and parameter values)
# How a template's tasks are dealt to the splits: the i-th distinct row of its first sample query,
# in a fixed shuffle, goes to SPLIT_DEAL[i % 10]. Train first, so that a template with a single
# task trains; then test and validation, so that three rows reach every split; then 8:1:1.
SPLIT_DEAL = ("train", "test", "validation") + ("train",) * 7


@dataclass(frozen=True)
class DomainTask:
    """One task of a domain, in tau2's shape plus what a scripted user and the grader need."""

    id: str  # "<domain>/<seed>/<index>", or "<domain>/<seed>/<split>/<index>" for a split's task
    domain: str
    template: str
    index: int
    seed: int  # the world's seed: tasks and grading hold for this world only
    description: dict  # tau2: purpose, relevant_policies, notes
    user_scenario: dict  # tau2: persona, instructions{domain, reason_for_call, known_info, ...}
    evaluation_criteria: dict  # tau2: actions, communicate_info, nl_assertions, reward_basis
    known: dict[str, str]  # what the user can tell the agent, field -> value
    slots: dict[str, Any]  # the sampled values the texts were rendered from
    expected_tables: dict[str, str]  # table -> hash after replaying the golden actions
    # How the user behaves (see orchestra_env.domain.user): known fields it will not give, how it
    # answers the agent's proposals, and with "change_mind" what it wants instead.
    withhold: tuple[str, ...] = ()
    reactions: str = "accept"
    change_to: str | None = None
    failing: tuple[int, ...] = ()  # positions in `actions` of golden calls meant to fail

    @property
    def actions(self) -> list[dict]:
        return self.evaluation_criteria["actions"]

    @property
    def communicate_info(self) -> list[str]:
        return self.evaluation_criteria["communicate_info"]

    @property
    def nl_assertions(self) -> list[str]:
        return self.evaluation_criteria["nl_assertions"] or []

    @property
    def difficulty(self) -> int:
        """The number of golden actions."""
        return len(self.actions)

    @property
    def expected_hash(self) -> str:
        return combine_hashes(self.expected_tables)

    def to_tau2(self) -> dict:
        """The task in tau2-bench's task format (the world comes from the seed, not
        initial_state); the user's behaviour fields become words in its task_instructions."""
        user_scenario = self.user_scenario
        behaviour = behaviour_text(self.withhold, self.reactions, self.change_to)
        if behaviour:
            instructions = dict(user_scenario["instructions"])
            told = instructions.get("task_instructions")
            instructions["task_instructions"] = f"{told} {behaviour}" if told else behaviour
            user_scenario = {**user_scenario, "instructions": instructions}
        return {
            "id": self.id,
            "description": self.description,
            "user_scenario": user_scenario,
            "initial_state": None,
            "evaluation_criteria": self.evaluation_criteria,
        }


DEFAULT_INSTRUCTIONS = (
    "Tell the agent why you are calling. Give the known information only when asked for it. "
    "End the conversation once everything you wanted is done."
)


USER_TEXTS = ("persona", "reason_for_call", "unknown_info", "task_instructions", "change_to")
# Each reaction as an instruction to a simulated user (tau2's task_instructions, the LLM user).
REACTION_TEXTS = {
    "refuse": "When the agent asks you to confirm an action, decline it.",
    "change_mind": "Accept the agent's first proposal; when it asks you to confirm again, "
    "change your mind: {}",
    "insist": "If the agent refuses your request, insist once, then accept the answer.",
}


def behaviour_text(withhold: tuple[str, ...], reactions: str, change_to: str | None) -> str:
    """The user's behaviour fields as instructions to a simulated user."""
    texts = []
    if withhold:
        texts.append(f"Never give your {' or your '.join(withhold)}, even when asked.")
    if reactions != "accept":
        texts.append(REACTION_TEXTS[reactions].format(change_to or "decline it."))
    return " ".join(texts)


def _result_slots(results: list) -> dict[str, Any]:
    return {f"result_{i}": data for i, data in enumerate(results)}


def _deal_rows(rows: list[tuple], seed: int) -> dict[str | None, list[tuple]]:
    """`rows` in a fixed shuffle (under None), and each split's distinct rows in that order:
    the i-th distinct row goes to SPLIT_DEAL[i % len(SPLIT_DEAL)]."""
    shuffled = [rows[i] for i in Random(seed).sample(range(len(rows)), len(rows))]
    dealt: dict[str | None, list[tuple]] = {None: shuffled, **{s: [] for s in SPLIT_DEAL}}
    for i, row in enumerate(_distinct(shuffled)):
        dealt[SPLIT_DEAL[i % len(SPLIT_DEAL)]].append(row)
    return dealt


def _distinct(rows: list[tuple]) -> list[tuple]:
    """`rows` without repeats, in order; rows holding lists or objects compare as JSON."""
    try:
        return list(dict.fromkeys(rows))
    except TypeError:
        return list({json_text(row): row for row in rows}.values())


def _view(ns: Mapping[str, Any], part: Part) -> dict[str, Any]:
    """The task's slots as a part sees them: its renamed slots under their local names."""
    view = dict(ns)
    for local, glob in part.rename.items():
        view.pop(local, None)
        if glob in ns:
            view[local] = ns[glob]
    return view


def _unique_join(texts: Iterable[str | None], sep: str) -> str:
    return sep.join(dict.fromkeys(t for t in texts if t))


def _render_user(template: Template, values: dict) -> dict:
    pointer = template.pointer + "/user"
    out: dict[str, Any] = {
        key: render(text, values, f"{pointer}/{key}")
        for key, text in template.user.items()
        if key in USER_TEXTS
    }
    known = template.user.get("known", {})
    out["known"] = {k: render(v, values, f"{pointer}/known/{k}") for k, v in known.items()}
    out["withhold"] = tuple(template.user.get("withhold", ()))
    out["reactions"] = template.user.get("reactions")
    return out


def _replay(
    template: Template, view: dict, world: DomainWorld, actions: list[dict], failing: list[int]
) -> list:
    """Run a template's golden actions on `world`, appending them to `actions` (and the
    positions of those meant to fail to `failing`); their answers."""
    results: list = []
    for j, action in enumerate(template.actions):
        pointer = f"{template.pointer}/actions/{j}"
        arguments = render_value(
            action["arguments"], {**view, **_result_slots(results)}, pointer + "/arguments"
        )
        outcome = world.call(action["name"], arguments)
        fails = action.get("fails", False)
        if outcome.ok == fails:
            raise SampleMiss(
                pointer,
                "a golden action meant to fail succeeded"
                if fails
                else f"golden action failed: {outcome.error}",
            )
        results.append(outcome.data)
        record = {
            "action_id": f"{action['name']}_{len(actions)}",
            "requestor": "assistant",
            "name": action["name"],
            "arguments": arguments,
        }
        if fails:  # tau2's Action.info: a note for whoever reads the trace
            record["info"] = f"expected to fail: {outcome.error}"
            failing.append(len(actions))
        actions.append(record)
    return results


@dataclass(eq=False)
class TaskSampler:
    """Makes and caches a domain's tasks (see `Domain.task`).

    Sample queries run on the pristine world, so their rows depend only on the seed, the step
    and the slots they read: they are queried once, not on every task drawn.
    """

    name: str  # the domain's
    today: str
    locale: str
    templates: tuple[Template, ...]
    # seed -> a world for replaying golden actions, and its pristine table hashes
    scratch_world: Callable[[int], tuple[DomainWorld, dict[str, str]]]
    _tasks: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    # (template, seed, slots before it) -> the first query's rows in a fixed shuffled order,
    # and dealt to the splits (`_deal_rows`).
    _dealt: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    # (split, seed) -> the templates with tasks in the split.
    _split_templates: dict = field(default_factory=dict, init=False, repr=False)
    # (step, seed, parameter values, fixed columns) -> the sample query's rows.
    _sampled: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)

    def task(self, index: int, seed: int = 0, split: str | None = None) -> DomainTask:
        """Task `index` of the world built from `seed` (see `Domain.task`)."""
        templates = self._templates_in(split, seed)
        template = templates[index % len(templates)]
        k = index // len(templates)
        return cached(
            self._tasks,
            (index, seed, split),
            lambda: self._make_task(template, index, k, seed, split),
            TASK_CACHE,
        )

    def _templates_in(self, split: str | None, seed: int) -> tuple[Template, ...]:
        """The templates with tasks in `split` (None: all of them); found once per split."""
        if split is None:
            return self.templates
        if split not in SPLIT_DEAL:
            raise ValueError(
                f"unknown split {split!r}; expected None or one of {sorted(set(SPLIT_DEAL))}"
            )
        key = (split, seed)
        if key not in self._split_templates:
            found = tuple(t for t in self.templates if self._has_tasks(t, seed, split))
            if not found:
                raise ValueError(
                    f"domain {self.name!r} has no task in split {split!r}, seed {seed}"
                )
            self._split_templates[key] = found
        return self._split_templates[key]

    def _has_tasks(self, template: Template, seed: int, split: str) -> bool:
        """Whether `template` has tasks in `split`. One with a `split` has them there only; one
        that queries nothing deals no rows, so trains only; otherwise its first task in the split
        must be possible (a split may hold too few of the first query's rows, or only rows a
        composition's later parts reject)."""
        if template.split is not None and split != template.split:
            return False
        if not any(step.query for part in template.parts for step in part.template.steps):
            return split == (template.split or "train")
        return isinstance(self._try_task(template, 0, 0, seed, split), DomainTask)

    def _make_task(
        self, template: Template, index: int, k: int, seed: int, split: str | None
    ) -> DomainTask:
        made = self._try_task(template, index, k, seed, split)
        if isinstance(made, SampleMiss):
            raise fail(
                made.pointer,
                f"template {template.name!r} found no valid task in {MAX_ATTEMPTS} tries; "
                f"last: {made.reason}",
            )
        return made

    def _try_task(
        self, template: Template, index: int, k: int, seed: int, split: str | None
    ) -> DomainTask | SampleMiss:
        """The task, or why the last of MAX_ATTEMPTS tries failed."""
        world, pristine = self.scratch_world(seed)
        stream = (template.name, k) if split is None else (template.name, split, k)
        for attempt in range(MAX_ATTEMPTS):
            rng = Random(stable_seed(self.name, seed, *stream, attempt))
            try:
                return self._attempt(
                    template, index, seed, split, k if attempt == 0 else None, rng, world, pristine
                )
            except SampleMiss as miss:
                last = miss
        return last

    def _attempt(self, template, index, seed, split, k, rng, world, pristine) -> DomainTask:
        """One try at a task: sample the slots, replay the golden actions, render the texts."""
        world.reset()
        ns, views = self._sample(template, seed, split, k, rng, world)
        actions: list[dict] = []
        failing: list[int] = []
        communicate: list[str] = []
        assertions: list[str] = []
        for part, view in zip(template.parts, views, strict=True):
            before = world.table_hashes() if part.template.outcome == "refuse" else None
            results = _replay(part.template, view, world, actions, failing)
            if before is not None and world.table_hashes() != before:
                raise SampleMiss(
                    part.template.pointer, "a refusal's golden actions changed the database"
                )
            values = {**view, **_result_slots(results)}
            pointer = part.template.pointer + "/communicate_info/"
            communicate += [
                render(text, values, pointer + str(j))
                for j, text in enumerate(part.template.communicate)
            ]
            assertions += [
                render(text, values, f"{part.template.pointer}/nl_assertions/{j}")
                for j, text in enumerate(part.template.nl_assertions)
            ]
        expected = world.table_hashes()
        # A refusal or a transfer is an outcome of its own, even when nothing changes.
        changes = all(part.template.outcome == "change" for part in template.parts)
        if changes and expected == pristine and not communicate:
            raise SampleMiss(
                template.pointer,
                "the golden actions change nothing and nothing must be communicated: "
                "the task needs no action",
            )
        known, user_scenario, behaviour = self._user(template, ns, views)
        where = f"{seed}/{index}" if split is None else f"{seed}/{split}/{index}"
        return DomainTask(
            id=f"{self.name}/{where}",
            domain=self.name,
            template=template.name,
            index=index,
            seed=seed,
            description=self._description(template, ns, views),
            user_scenario=user_scenario,
            evaluation_criteria={
                "actions": actions,
                "communicate_info": communicate,
                "nl_assertions": assertions or None,
                "reward_basis": ["DB", "COMMUNICATE"] + ["NL_ASSERTION"] * bool(assertions),
            },
            known=known,
            slots=ns,
            expected_tables=expected,
            failing=tuple(failing),
            **behaviour,
        )

    def _sample(
        self,
        template: Template,
        seed: int,
        split: str | None,
        k: int | None,
        rng: Random,
        world: DomainWorld,
    ) -> tuple[dict, list[dict]]:
        """Draw the task's slots part by part on the pristine `world`; returns the task's slots
        and each part's view."""
        ns: dict[str, Any] = {"today": self.today}
        views = []
        dealt = False
        for part in template.parts:
            view = _view(ns, part)
            for step in part.template.steps:
                if step.query is None:
                    drawn = {step.let: self._draw(step, rng)}
                else:
                    # The first query deals the task to its split; later queries draw at random.
                    rows = self._rows(step, part, view, ns, world)
                    if dealt:
                        drawn = dict(zip(step.columns, rng.choice(rows), strict=True))
                    else:
                        drawn = self._deal(template, step, rows, seed, ns, split, k, rng)
                        dealt = True
                for local, value in drawn.items():
                    ns[part.glob(local)] = value
                    view[local] = value
            views.append(view)
        return ns, views

    def _draw(self, step: Step, rng: Random) -> Any:
        ((kind, spec),) = step.draw.items()
        if kind == "range":
            return draw_range(spec, rng)
        if kind == "choice":
            return rng.choice(spec)
        return draw_faker(spec, self.locale, rng, step.pointer + "/faker")

    def _deal(self, template, step, rows, seed, ns, split, k, rng) -> dict:
        """The row of the template's first sample query, as slots. Task k takes row k (modulo)
        of a fixed shuffle of the rows (with a split: of the distinct rows dealt to it); a retry
        (k None) any of them at random. The rows depend only on the slots drawn before (`ns`),
        so a task's slots decide its split. A template with a `split` keeps every row there."""
        key = (template.name, seed, tuple(ns.items()))
        deal = partial(_deal_rows, rows, stable_seed(self.name, template.name, seed, "order"))
        try:
            hash(key)
        except TypeError:  # a slot holds a list or an object: no key
            dealt = deal()
        else:
            dealt = cached(self._dealt, key, deal, SAMPLE_CACHE)
        ordered = dealt[None if template.split else split]
        if not ordered:
            raise SampleMiss(
                step.pointer, f"no row of the first sample query is in the {split} split"
            )
        if k is None:
            row = rng.choice(rows if split is None else ordered)
        else:
            row = ordered[k % len(ordered)]
        return dict(zip(step.columns, row, strict=True))

    def _rows(
        self, step: Step, part: Part, view: dict, ns: dict, world: DomainWorld
    ) -> list[tuple]:
        """The step query's rows whose columns named like existing slots equal them (cached)."""
        fixed = tuple(
            (i, n, ns[part.glob(n)]) for i, n in enumerate(step.columns) if part.glob(n) in ns
        )
        key = (step.pointer, world.seed, tuple(view.get(p) for p in step.parameters), fixed)
        query = partial(self._query_rows, step, view, fixed, world._conn)
        try:
            hash(key)
        except TypeError:  # a slot holds a list or an object: no key (nor bindable)
            rows = query()
        else:
            rows = cached(self._sampled, key, query, SAMPLE_CACHE)
        if not rows:
            raise SampleMiss(step.pointer, "the sample query found no rows")
        return rows

    def _query_rows(self, step: Step, view: dict, fixed: tuple, conn) -> list[tuple]:
        names = step.columns
        # SQLite filters with the tables' indexes; a sub-select cannot name a column used twice.
        in_sql = (
            bool(fixed)
            and len(set(names)) == len(names)
            and all(bindable_scalar(v) for *_, v in fixed)
        )
        sql, params = step.query, view
        if in_sql:
            sql = step.filtered(tuple(n for _, n, _ in fixed))
            params = {**view, **{f"__pick_{j}": v for j, (*_, v) in enumerate(fixed)}}
        try:
            cur = conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise fail(step.pointer + "/query", sql_problem(exc, view)) from None
        if in_sql or not fixed:
            return cur.fetchall()
        return [r for r in cur if all(r[i] == v for i, _, v in fixed)]

    def _user(self, template: Template, ns: dict, views: list[dict]) -> tuple[dict, dict, dict]:
        """(known, tau2 user_scenario, behaviour): the parts' user texts, merged; a composed
        template's own user texts (over the task's slots) replace the merged ones. Behaviour:
        every part's withheld fields; the reaction (and change_to) of the template's own user,
        else of the first part that sets one."""
        rendered = [
            _render_user(part.template, view)
            for part, view in zip(template.parts, views, strict=True)
        ]
        own = _render_user(template, ns) if template.composed else {}
        known = {k: v for r in rendered for k, v in r.get("known", {}).items()}
        known.update(own.get("known", {}))

        def merged(key: str, sep: str) -> str:
            return own.get(key) or _unique_join((r.get(key) for r in rendered), sep)

        reacting = next((r for r in (own, *rendered) if r.get("reactions")), {})
        behaviour = {
            "withhold": tuple(
                dict.fromkeys(f for r in (*rendered, own) for f in r.get("withhold", ()))
            ),
            "reactions": reacting.get("reactions") or "accept",
            "change_to": reacting.get("change_to"),
        }
        instructions = {
            "domain": self.name,
            "reason_for_call": merged("reason_for_call", " "),
            "known_info": "\n".join(f"{k}: {v}" for k, v in known.items()) or None,
            "unknown_info": merged("unknown_info", " ") or None,
            "task_instructions": merged("task_instructions", " ") or DEFAULT_INSTRUCTIONS,
        }
        persona = own.get("persona") or next(
            (r["persona"] for r in rendered if r.get("persona")), None
        )
        return known, {"persona": persona, "instructions": instructions}, behaviour

    def _description(self, template: Template, ns: dict, views: list[dict]) -> dict:
        if template.description or not template.composed:
            purpose = render(template.description, ns, template.pointer + "/description")
        else:
            purpose = _unique_join(
                (
                    render(p.template.description, v, p.template.pointer + "/description")
                    for p, v in zip(template.parts, views, strict=True)
                ),
                "; then ",
            )
        policies = template.relevant_policies or _unique_join(
            (p.template.relevant_policies for p in template.parts), "\n"
        )
        return {
            "purpose": purpose or None,
            "relevant_policies": policies or None,
            "notes": f"template {template.name}",
        }
