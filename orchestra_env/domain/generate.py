"""Value generators: a table's rows from its columns' generator keywords (Faker providers,
patterns, ranges, enums, references), and the seeded draws that task sampling shares."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from functools import cache
from random import Random
from typing import Any

from orchestra_env.domain.errors import fail
from orchestra_env.domain.schema import Column, Table

# Tries per task (and per generated row) before a template (a table) counts as broken: the
# hardest bundled compositions need ~4 on average, so 100 leaves a spurious failure about
# 1e-12 likely.
MAX_ATTEMPTS = 100
MOMENT_FORMATS = {"date": "%Y-%m-%d", "date-time": "%Y-%m-%d %H:%M", "time": "%H:%M"}


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from parts, the same in every process (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _plain(value: Any) -> Any:
    """Faker's rich values as the scalars a SQLite column holds."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (date, clock_time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def type_ok(json_type: str, value: Any) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type in ("array", "object"):
        return isinstance(value, list if json_type == "array" else dict)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if json_type == "integer" else isinstance(value, (int, float))


@cache
def faker_for(locale: str):
    # Faker is slow to import and only needed to build worlds and draw faker slots.
    from faker import Faker

    return Faker(locale)


def faker_call(spec: str | dict) -> tuple[str, dict]:
    return (spec, {}) if isinstance(spec, str) else (spec["provider"], spec.get("args", {}))


def draw_faker(spec: str | dict, locale: str, rng: Random, pointer: str) -> Any:
    fake = faker_for(locale)
    fake.seed_instance(rng.getrandbits(64))
    return _call_provider(fake, spec, pointer)


def _call_provider(fake, spec: str | dict, pointer: str) -> Any:
    provider, args = faker_call(spec)
    try:
        return _plain(getattr(fake, provider)(**args))
    except Exception as exc:  # a provider may raise anything; say where it came from
        raise fail(pointer, f"faker {provider}({args}) failed: {exc}") from None


def faker_problems(spec: str | dict, locale: str) -> list[tuple[str, str]]:
    provider, _ = faker_call(spec)
    if provider.startswith("_") or not callable(getattr(faker_for(locale), provider, None)):
        return [("", f"Faker has no provider {provider!r}")]
    return []


def _parse_moment(text: str) -> tuple[str, datetime] | None:
    """('date'|'date-time'|'time', value) for the range bounds this module understands."""
    for kind, fmt in MOMENT_FORMATS.items():
        try:
            return kind, datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def draw_range(spec: dict, rng: Random) -> Any:
    """A uniform draw from an x-range / let range (see the schema for the forms)."""
    lo, hi, step = spec["min"], spec["max"], spec.get("step")
    if isinstance(lo, str):
        (kind, a), (_, b) = _parse_moment(lo), _parse_moment(hi)
        unit = timedelta(days=1) if kind == "date" else timedelta(minutes=1)
        stride = unit * (step or 1)
        value = a + stride * rng.randint(0, int((b - a) / stride))
        return value.strftime(MOMENT_FORMATS[kind])
    if all(isinstance(v, int) for v in (lo, hi, step or 1)) and "decimals" not in spec:
        return rng.randrange(lo, hi + 1, step or 1)
    if step:
        places = max(0, -Decimal(str(step)).as_tuple().exponent)
        return round(lo + step * rng.randint(0, int(round((hi - lo) / step))), places)
    return round(rng.uniform(lo, hi), spec.get("decimals", 2))


def range_problem(spec: dict) -> str | None:
    """Why a range spec cannot be drawn from, or None."""
    lo, hi = spec["min"], spec["max"]
    if isinstance(lo, str) != isinstance(hi, str):
        return "min and max must both be numbers or both be date/time strings"
    if isinstance(lo, str):
        a, b = _parse_moment(lo), _parse_moment(hi)
        if a is None or b is None or a[0] != b[0]:
            return "dates must be 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM' or 'HH:MM', both alike"
        lo, hi = a[1], b[1]
    return f"min {spec['min']!r} is above max {spec['max']!r}" if lo > hi else None


def generate_rows(table: Table, rng: Random, fake, values: dict) -> list[tuple]:
    """A table's generated rows, after its fixed rows; rows whose key or unique columns repeat
    (each other's or a fixed row's) are drawn again. Row numbers (a pattern's n) continue
    after the fixed rows.

    `values` holds the columns of the tables made before (references draw from them), and gets
    this table's, fixed rows first."""
    makers = [_maker(c, rng, fake, values) for c in table.columns] if table.count else []
    index = {c.name: i for i, c in enumerate(table.columns)}
    keys = [tuple(index[k] for k in table.primary_key)] + [
        (index[c.name],) for c in table.columns if c.unique
    ]
    seen: list[set] = [{tuple(row[i] for i in key) for row in table.rows} for key in keys]
    rows = []
    first = len(table.rows) + 1
    for n in range(first, first + table.count):
        for _ in range(MAX_ATTEMPTS):
            row = tuple(make(n) for make in makers)
            sigs = [tuple(row[i] for i in key) for key in keys]
            if not any(sig in s and None not in sig for sig, s in zip(sigs, seen, strict=True)):
                break
        else:
            raise fail(
                table.pointer,
                f"cannot draw {table.count} rows with distinct keys (stuck at row {n}); "
                "widen the generators or lower count",
            )
        for sig, s in zip(sigs, seen, strict=True):
            s.add(sig)
        rows.append(row)
    every = (*table.rows, *rows)
    values[table.name] = {c.name: [r[i] for r in every] for i, c in enumerate(table.columns)}
    return rows


def _maker(col: Column, rng: Random, fake, values: dict) -> Callable[[int], Any]:
    """A function of the 1-based row number that generates the column's next value."""
    spec, kind = col.spec, col.generator
    if kind == "x-pattern":
        pattern, cast = spec[kind], int if col.json_type == "integer" else str
        base = lambda n: cast(pattern.format(n=n))  # noqa: E731
    elif kind == "default":
        base = lambda n: spec["default"]  # noqa: E731
    elif kind == "enum":
        options, weights = spec["enum"], spec.get("x-weights")
        if col.unique:  # distinct values: a shuffle of the options, without replacement
            order = rng.sample(options, len(options))
            base = lambda n: order[n - 1]  # noqa: E731
        elif weights:
            base = lambda n: rng.choices(options, weights)[0]  # noqa: E731
        else:
            base = lambda n: rng.choice(options)  # noqa: E731
    elif kind == "x-range":
        base = lambda n: draw_range(spec[kind], rng)  # noqa: E731
    elif kind == "x-references":
        parent = values[col.references[0]][col.references[1]]
        if col.unique:  # one-to-one: draw without replacement
            order = rng.sample(parent, len(parent))
            base = lambda n: order[n - 1]  # noqa: E731
        else:
            base = lambda n: rng.choice(parent)  # noqa: E731
    else:
        base = lambda n: _call_provider(fake, spec[kind], col.pointer + "/x-faker")  # noqa: E731
    null_rate = spec.get("x-null-rate", 0)

    def make(n: int) -> Any:
        if null_rate and rng.random() < null_rate:
            return None
        value = base(n)
        if not (type_ok(col.json_type, value) or (value is None and col.nullable)):
            raise fail(col.pointer, f"generated {value!r}, which is not of type {col.json_type}")
        return value

    return make
