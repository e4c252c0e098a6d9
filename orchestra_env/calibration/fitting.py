"""The fit of the paper models' abilities to HLE and FRAMES, through the env itself.

Each paper model's four cells pin its abilities (`PINS`):

    FRAMES none → knowledge     FRAMES basic → query_writing, and reading at half its step
    HLE none    → reasoning     HLE basic    → coding

FRAMES with the basic tools measures how well a model uses retrieval end to end — the queries
it writes and what it makes of the documents that come back — so both skills move (the
paper's weak models gain almost nothing from the tools, which even hopeless queries cannot
explain: some documents of the question's named entities come back anyway).
No hidden per-family offset takes part: difficulty lives in what the items show (hops, obscure
entities, problem size; tasks/multihop.py, tasks/problems.py).

Every cell is measured by playing its policy through the env on the first n test tasks with
the calibration's episode seeds (`measurement.measure_cell`), so the fit reproduces exactly
what `orchestra calibrate --report-only` measures with the same n and seed. The solver is a
damped secant iteration per model, Gauss–Seidel over its four cells: each pinned ability moves
by (paper − measured) / slope, the slope from the last two measurements of that cell (the
logistic estimate a·p·(1 − p) at first), every step capped at `MAX_STEP` logits. Models
without targets keep their place among the six (`remap`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from orchestra_env.calibration.measurement import measure_cell
from orchestra_env.calibration.targets import MODELS, QA_FAMILIES, TARGETS
from orchestra_env.models.profiles import Profiles, default_profiles, parse_profiles

SKILLS = ("knowledge", "reasoning", "coding", "query_writing", "tool_use", "reading")
# (setting, family) -> {ability: its share of the cell's step}: the abilities that cell pins
PINS = {
    ("none", "multihop"): {"knowledge": 1.0},
    ("basic", "multihop"): {"query_writing": 1.0, "reading": 0.5},
    ("none", "reasoning"): {"reasoning": 1.0},
    ("basic", "reasoning"): {"coding": 1.0},
}
FIT_SKILLS = tuple(s for skills in PINS.values() for s in skills)
MAX_STEP = 1.5  # logits per iteration
# The τ² fit (calibration/tau2.py) pulls abilities towards its prior with these weights.
PRIOR_WEIGHT = 0.5  # points of accuracy that a 1-logit move away from the prior costs
OFFSET_WEIGHT = 0.3  # the same for a family offset away from 0


@dataclass
class Fit:
    """Fitted abilities of every model, family offsets, and the accuracies (%) the fit last
    measured; `objective` is the sum of squared misses (points²)."""

    abilities: dict[str, dict[str, float]]
    offsets: dict[str, dict[str, float]]
    expected: dict[tuple[str, str, str], float]
    objective: float


def fit(
    profiles: Profiles,
    n: int = 1000,
    seed: int = 0,
    *,
    iterations: int = 10,
    tolerance: float = 0.5,
    log: Callable[[str], None] | None = None,
) -> Fit:
    """Each paper model's pinned abilities, iterated until its four cells are within
    `tolerance` points of the paper (or `iterations` rounds)."""
    theta, expected = {}, {}
    for model in MODELS:
        theta[model], measured = fit_model(model, profiles, n, seed, iterations, tolerance, log)
        expected.update({(model, s, f): acc for (s, f), acc in measured.items()})
    misses = [expected[c] - TARGETS[c] for c in TARGETS]
    return Fit(
        abilities=remap(profiles, theta),
        offsets={f: {} for f in QA_FAMILIES},
        expected=expected,
        objective=float(sum(m * m for m in misses)),
    )


def fit_model(
    model: str,
    profiles: Profiles,
    n: int,
    seed: int,
    iterations: int,
    tolerance: float,
    log: Callable[[str], None] | None = None,
    *,
    pins: Mapping[tuple[str, str], Mapping[str, float]] = PINS,
    targets: Mapping[tuple[str, str, str], float] = TARGETS,
) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """(abilities, {(setting, family): accuracy %}) of one model after the secant iteration
    on the cells of `pins` (default: its four HLE/FRAMES cells) towards `targets`."""
    abilities = dict(profiles.models[model].abilities)
    last: dict[tuple[str, str], tuple[float, float]] = {}  # cell -> (shift, accuracy)
    shift = dict.fromkeys(pins, 0.0)  # how far each cell's abilities moved
    measured: dict[tuple[str, str], float] = {}
    for it in range(iterations):
        for cell, skills in pins.items():
            trial = _with_abilities(profiles, model, abilities)
            acc = 100 * measure_cell(model, *cell, n=n, seed=seed, profiles=trial).accuracy
            measured[cell] = acc
            miss = targets[(model, *cell)] - acc
            if abs(miss) <= tolerance:
                last[cell] = (shift[cell], acc)
                continue
            slope = _slope(last.get(cell), shift[cell], acc, profiles.discrimination)
            last[cell] = (shift[cell], acc)
            step = round(float(np.clip(miss / slope, -MAX_STEP, MAX_STEP)), 3)
            shift[cell] += step
            for skill, share in skills.items():
                abilities[skill] = round(abilities[skill] + share * step, 3)
        worst = max(abs(targets[(model, *c)] - a) for c, a in measured.items())
        if log:
            log(f"{model} round {it + 1}: worst cell {worst:.2f} points off")
        if worst <= tolerance:
            break
    return abilities, measured


def _slope(previous, ability: float, acc: float, a: float) -> float:
    """Accuracy points per logit of the pinned ability: the secant through the last two
    measurements when they moved, else the logistic estimate; never below 1 point per logit."""
    if previous is not None and abs(ability - previous[0]) > 1e-6:
        secant = (acc - previous[1]) / (ability - previous[0])
        if secant > 0:
            return max(secant, 1.0)
    p = min(max(acc / 100, 0.02), 0.98)
    return max(100 * a * p * (1 - p), 1.0)


def _with_abilities(profiles: Profiles, model: str, abilities: Mapping[str, float]) -> Profiles:
    models = dict(profiles.models)
    models[model] = replace(models[model], abilities=dict(abilities))
    return replace(profiles, models=models)


def remap(
    profiles: Profiles, theta: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Abilities of every model, rounded to 3 decimals: the paper models' fitted θ; every other
    model's current ability carried through the monotone map, per skill, that takes the paper
    models' sorted current values to their sorted fitted ones (beyond either end: shifted like
    that end), so a model keeps its place among the six."""
    out: dict[str, dict[str, float]] = {}
    for skill in SKILLS:
        old = np.sort([profiles.models[m].abilities[skill] for m in MODELS])
        new = np.sort([theta[m][skill] for m in MODELS])
        for name, model in profiles.models.items():
            current = model.abilities[skill]
            value = theta[name][skill] if name in theta else monotone(current, old, new)
            out.setdefault(name, {})[skill] = round(float(value), 3)
    return out


def monotone(value: float, old: np.ndarray, new: np.ndarray) -> float:
    if value <= old[0]:
        return value + new[0] - old[0]
    if value >= old[-1]:
        return value + new[-1] - old[-1]
    return float(np.interp(value, old, new))


def shipped_fit(profiles: Profiles) -> Fit:
    """The profiles' abilities and HLE/FRAMES offsets as a `Fit` (to refit τ² alone)."""
    return Fit(
        abilities={name: dict(model.abilities) for name, model in profiles.models.items()},
        offsets={f: dict(profiles.difficulty_offsets.get(f, {})) for f in QA_FAMILIES},
        expected={},
        objective=0.0,
    )


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
    for family, offset in result.offsets.items():
        if offset:
            families[family] = {"difficulty_offset": dict(offset)}
        else:
            families.pop(family, None)
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
