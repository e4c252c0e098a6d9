"""Parsing a domain's task templates: sample steps compiled, every slot a text or an argument
reads checked, golden actions checked against the tools, compositions resolved."""

from __future__ import annotations

import re

from orchestra_env.domain.errors import Problem, json_pointer
from orchestra_env.domain.generate import faker_problems, range_problem
from orchestra_env.domain.slots import check_fields, check_value_fields
from orchestra_env.domain.sql import clean_sql, compile_sql, without_literals
from orchestra_env.domain.templates import Part, Step, Template

_PARAMETER = re.compile(r"[:@$]([A-Za-z_][A-Za-z0-9_]*)")


def parse_templates(specs, conn, tools, declared_tools, locale, problems) -> tuple[Template, ...]:
    atomic: dict[str, Template] = {}
    first_at: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec["name"] in first_at:
            problems.append(
                Problem(
                    json_pointer("tasks", i, "name"),
                    f"duplicate template name {spec['name']!r} "
                    f"(first at /tasks/{first_at[spec['name']]})",
                )
            )
        first_at.setdefault(spec["name"], i)
        if "compose" not in spec:
            template = _parse_atomic(
                spec, json_pointer("tasks", i), conn, tools, declared_tools, locale, problems
            )
            atomic.setdefault(spec["name"], template)
    templates = []
    for i, spec in enumerate(specs):
        if first_at[spec["name"]] != i:
            continue
        if "compose" in spec:
            templates.append(_parse_composed(spec, json_pointer("tasks", i), atomic, problems))
        else:
            templates.append(atomic[spec["name"]])
    return tuple(templates)


def _parse_atomic(spec, pointer, conn, tools, declared_tools, locale, problems) -> Template:
    slots = {"today"}
    steps = []
    sampled = True  # every sample query compiled, so `slots` is complete
    for j, step in enumerate(spec.get("sample", ())):
        where = f"{pointer}/sample/{j}"
        if set(step) == {"query"}:
            query = clean_sql(step["query"])
            columns = compile_sql(conn, query, slots, where + "/query", problems, reads=True)
            sampled = sampled and columns is not None
            slots |= set(columns or ())
            parameters = tuple(sorted(set(_PARAMETER.findall(without_literals(query)))))
            steps.append(
                Step(where, query=query, columns=tuple(columns or ()), parameters=parameters)
            )
            continue
        kinds = [k for k in ("range", "choice", "faker") if k in step]
        if "query" in step or "let" not in step or len(kinds) != 1:
            problems.append(
                Problem(where, "a step is a query, or a let with one of range, choice, faker")
            )
            continue
        kind = kinds[0]
        if kind == "range" and (problem := range_problem(step["range"])):
            problems.append(Problem(where + "/range", problem))
        if kind == "faker":
            problems += [
                Problem(where + "/faker", msg) for _, msg in faker_problems(step["faker"], locale)
            ]
        slots.add(step["let"])
        steps.append(Step(where, let=step["let"], draw={kind: step[kind]}))
    if sampled:  # else unknown-slot reports would only echo the broken query
        _check_template_texts(spec, pointer, slots, problems)
    _check_withheld(spec["user"], set(spec["user"].get("known", {})), pointer, problems)
    _check_outcome(spec, pointer, tools, problems)
    # A failing golden call answers nothing, so no later text may read its result.
    answered = [r for r, a in enumerate(spec["actions"]) if not a.get("fails")]
    for j, action in enumerate(spec["actions"]):
        where = f"{pointer}/actions/{j}"
        tool = tools.get(action["name"])
        if tool is None:
            if action["name"] not in declared_tools:  # else the tool's own problem is reported
                problems.append(Problem(where + "/name", f"unknown tool {action['name']!r}"))
            continue
        declared = tool.spec.parameters["properties"]
        for key in action["arguments"]:
            if key not in declared:
                problems.append(
                    Problem(
                        f"{where}/arguments/{key}",
                        f"{tool.name} has no parameter {key!r} (parameters: {', '.join(declared)})",
                    )
                )
        if sampled:
            check_value_fields(
                action["arguments"],
                slots | {f"result_{r}" for r in answered if r < j},
                where + "/arguments",
                problems,
            )
    results = {f"result_{r}" for r in answered}
    for key in ("communicate_info", "nl_assertions"):
        for j, text in enumerate(spec.get(key, ()) if sampled else ()):
            check_fields(text, slots | results, f"{pointer}/{key}/{j}", problems)
    return Template(
        name=spec["name"],
        pointer=pointer,
        description=spec.get("description", ""),
        relevant_policies=spec.get("relevant_policies"),
        steps=tuple(steps),
        user=spec["user"],
        actions=tuple(spec["actions"]),
        communicate=tuple(spec.get("communicate_info", ())),
        slots=frozenset(slots),
        outcome=spec.get("outcome", "change"),
        nl_assertions=tuple(spec.get("nl_assertions", ())),
        split=spec.get("split"),
    )


def _check_outcome(spec: dict, pointer: str, tools: dict, problems: list) -> None:
    """A transfer template's golden actions end with a terminal tool."""
    if spec.get("outcome") != "transfer" or not spec["actions"]:
        return
    last = spec["actions"][-1]
    tool = tools.get(last["name"])
    if tool is not None and not tool.terminal:
        problems.append(
            Problem(
                f"{pointer}/outcome",
                f"a transfer ends with a terminal tool, but the last golden action calls "
                f'{last["name"]!r} (mark a tool "terminal": true)',
            )
        )


def _check_template_texts(spec: dict, pointer: str, slots: set[str], problems: list) -> None:
    """The description and user texts may read the sampled slots (not action results)."""
    check_fields(spec.get("description", ""), slots, pointer + "/description", problems)
    check_value_fields(spec.get("user", {}), slots, pointer + "/user", problems)


def _check_withheld(user: dict, known: set[str], pointer: str, problems: list) -> None:
    """A user can only withhold what it knows."""
    for j, name in enumerate(user.get("withhold", ())):
        if name not in known:
            problems.append(
                Problem(
                    f"{pointer}/user/withhold/{j}",
                    f"withhold names {name!r}, which is not a known field "
                    f"(known: {', '.join(sorted(known)) or 'none'})",
                )
            )


def _parse_composed(
    spec: dict, pointer: str, atomic: dict[str, Template], problems: list
) -> Template:
    for key in ("sample", "actions", "communicate_info", "nl_assertions", "outcome"):
        if key in spec:
            problems.append(
                Problem(f"{pointer}/{key}", "a composed template takes this from its parts")
            )
    parts = []
    for j, ref in enumerate(spec["compose"]):
        where = f"{pointer}/compose/{j}"
        name, rename = (
            (ref, {}) if isinstance(ref, str) else (ref["template"], ref.get("rename", {}))
        )
        target = atomic.get(name)
        if target is None:
            problems.append(
                Problem(
                    where,
                    f"no atomic template named {name!r} (a composed template composes atomic ones)",
                )
            )
            continue
        for local in rename:
            if local not in target.slots:
                problems.append(
                    Problem(f"{where}/rename/{local}", f"template {name!r} has no slot {local!r}")
                )
        parts.append(Part(target, dict(rename)))
    slots = frozenset(part.glob(s) for part in parts for s in part.template.slots)
    _check_template_texts(spec, pointer, set(slots), problems)
    own = spec.get("user", {})
    known = {k for part in parts for k in part.template.user.get("known", {})}
    _check_withheld(own, known | set(own.get("known", {})), pointer, problems)
    return Template(
        name=spec["name"],
        pointer=pointer,
        description=spec.get("description", ""),
        relevant_policies=spec.get("relevant_policies"),
        steps=(),
        user=spec.get("user", {}),
        actions=(),
        communicate=(),
        slots=slots,
        composed=tuple(parts),
        split=spec.get("split"),
    )
