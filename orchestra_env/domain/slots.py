"""Slot text templates: the slots a text reads, rendering a text or an argument template from
slot values, and checking that every slot a text reads exists."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

from orchestra_env.domain.errors import Problem, fail, json_pointer

WHOLE_FIELD = re.compile(r"\{([A-Za-z_]\w*(?:\[[^\[\]{}]+\]|\.\w+)*)\}")
FORMATTER = string.Formatter()


def text_fields(template: str) -> set[str]:
    """The slot names a text template reads (the root of each replacement field)."""
    names = set()
    for _, field_name, _, _ in FORMATTER.parse(template):
        if field_name is not None:
            names.add(re.match(r"\w*", field_name).group())
    return names


def render(template: str, values: Mapping[str, Any], pointer: str) -> str:
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise fail(pointer, f"unknown slot {exc.args[0]!r}") from None
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise fail(pointer, f"cannot render {template!r}: {exc}") from None


def render_value(value: Any, values: Mapping[str, Any], pointer: str) -> Any:
    """Render an argument template; a string that is exactly "{slot}" keeps the slot's type."""
    if isinstance(value, str):
        whole = WHOLE_FIELD.fullmatch(value)
        if whole is None:
            return render(value, values, pointer)
        try:
            return FORMATTER.get_field(whole[1], (), values)[0]
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise fail(pointer, f"unknown slot or field in {value!r}: {exc}") from None
    if isinstance(value, dict):
        return {k: render_value(v, values, pointer + json_pointer(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, values, pointer + json_pointer(i)) for i, v in enumerate(value)]
    return value


def check_fields(template: str, allowed: Iterable[str], pointer: str, problems: list) -> None:
    """Record a problem for each slot a text template reads that does not exist there."""
    try:
        unknown = text_fields(template) - set(allowed)
    except ValueError as exc:
        problems.append(Problem(pointer, f"bad template {template!r}: {exc}"))
        return
    for name in sorted(unknown):
        known = ", ".join(sorted(allowed))
        problems.append(Problem(pointer, f"unknown slot {{{name}}} (known here: {known})"))


def check_value_fields(value: Any, allowed: Iterable[str], pointer: str, problems: list) -> None:
    if isinstance(value, str):
        check_fields(value, allowed, pointer, problems)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value_fields(item, allowed, pointer + json_pointer(key), problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_value_fields(item, allowed, pointer + json_pointer(i), problems)
