"""τ² (tau2-bench), the third column: the tool_use fit, through the env.

The paper also reports the six models with the basic tools on τ²; here that is
`with_basic_tools(model)` on the `function_calling` family, where the model itself is the
agent: every turn it calls `call_expert` with an alias bound to itself. Only the `tool_use`
ability (and the family's fixed `tool_use` offset) moves these six cells, and nothing else
reads `tool_use`, so they are fitted apart from the 24 of HLE and FRAMES: each paper model's
tool_use by the secant iteration of `fitting.fit_model`, which plays the cell through the env
(the scripted user, the domain databases, the calibration's episode seeds); every other
model's tool_use is carried through the monotone map of `remap` (`with_tool_use`). A
conversation's expert steps are keyed by the task and the step (tasks/function_calling.py),
so a model that fails a step mostly fails it again: the cells are measured, not replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestra_env.calibration.fitting import Fit, fit_model, monotone
from orchestra_env.calibration.targets import MODELS, TAU2_FAMILY, TAU2_TARGETS
from orchestra_env.models.profiles import Profiles

TAU2_PINS = {("basic", TAU2_FAMILY): {"tool_use": 1.0}}


@dataclass(frozen=True)
class ToolUseFit:
    """The six paper models' fitted tool_use, the function-calling offset they were fitted
    with, and the accuracy (%) the env measured with them."""

    abilities: dict[str, float]
    offset: float
    measured: dict[str, float]


def fit_tool_use(
    profiles: Profiles,
    n: int = 1000,
    seed: int = 0,
    *,
    iterations: int = 10,
    tolerance: float = 1.0,
    log=None,
) -> ToolUseFit:
    """Each paper model's tool_use, iterated until its τ² cell (the first n function-calling
    test tasks) is within `tolerance` points of the paper."""
    abilities, measured = {}, {}
    for model in MODELS:
        fitted, cells = fit_model(
            model,
            profiles,
            n,
            seed,
            iterations,
            tolerance,
            log,
            pins=TAU2_PINS,
            targets=TAU2_TARGETS,
        )
        abilities[model] = fitted["tool_use"]
        measured[model] = cells["basic", TAU2_FAMILY]
    offset = profiles.difficulty_offsets.get(TAU2_FAMILY, {}).get("tool_use", 0.0)
    return ToolUseFit(abilities=abilities, offset=offset, measured=measured)


def with_tool_use(result: Fit, tool_use: ToolUseFit, profiles: Profiles) -> Fit:
    """`result` with the six models' fitted tool_use, every other model's carried through the
    monotone map of `remap`, the function-calling offset, and the τ² cells' measured accuracy."""
    old = np.sort([profiles.models[m].abilities["tool_use"] for m in MODELS])
    new = np.sort([tool_use.abilities[m] for m in MODELS])
    abilities = {}
    for name, skills in result.abilities.items():
        current = profiles.models[name].abilities["tool_use"]
        value = tool_use.abilities.get(name, round(monotone(current, old, new), 3))
        abilities[name] = {**skills, "tool_use": value}
    measured = {(m, "basic", TAU2_FAMILY): tool_use.measured[m] for m in MODELS}
    return Fit(
        abilities=abilities,
        offsets={**result.offsets, TAU2_FAMILY: {"tool_use": tool_use.offset}},
        expected={**result.expected, **measured},
        objective=result.objective,
    )
