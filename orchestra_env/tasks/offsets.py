"""A family's calibration offset: logits added to the difficulty of every check of a skill.

Fitted by `orchestra calibrate` and stored per family in profiles.json ("families" → name →
"difficulty_offset"); every family raises its checks by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from orchestra_env.core import Check
from orchestra_env.models.profiles import default_profiles

Offset = tuple[tuple[str, float], ...]  # (skill, logit) pairs, sorted: hashable and frozen


def family_offset(family: str, offset: Mapping[str, float] | None = None) -> Offset:
    """`offset`, or else the family's difficulty offset in the bundled profiles."""
    if offset is None:
        offset = default_profiles().difficulty_offsets.get(family, {})
    return tuple(sorted(offset.items()))


def offset_checks(checks: Iterable[Check], offset: Offset) -> tuple[Check, ...]:
    """`checks` with each difficulty raised by the offset of its skill."""
    shift = dict(offset)
    if not shift:
        return tuple(checks)
    return tuple(replace(c, difficulty=c.difficulty + shift.get(c.skill, 0.0)) for c in checks)
