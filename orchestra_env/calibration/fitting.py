"""The fit of the paper models' abilities and the families' offsets to HLE and FRAMES.

Unknowns: the abilities θ_m,s of the six paper models for the skills the two
families use (knowledge, reasoning, coding, query_writing, reading) and the offsets δ_f,s of
`OFFSET_SKILLS`. Levenberg–Marquardt (numpy; forward-difference Jacobian) minimises

    Σ_cells (E[acc] − target)²                                  accuracy in points
    + Σ_m,s (w_θ (θ_m,s − θ⁰_m,s))² + Σ_f,s (w_δ δ_f,s)²        θ⁰ = PRIOR, the hand-set values
    + Σ_ORDER (w · max(0, 0.1 − (θ_stronger,s − θ_weaker,s)))²   the paper's ranking of models
    + Σ_m (w · max(0, READING_MARGIN − g_m))²                   evidence helps every model

where E[acc] is `evidence.expected_accuracy` and g_m = mean over the multihop facts of [logit
of reading the fact's document − logit of recalling it] (`reading_gain`): without it the fit
may make recall easier than reading, so that searching would lower a strong model's accuracy.
The targets pin what the data pins; the prior keeps the rest near the hand-set profile. Models
without targets keep their place among the six: each skill's current values are carried
through the monotone map that takes the six models' sorted current values to their sorted
fitted ones (`remap`). `write_profiles` writes a fit into profiles.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from orchestra_env.calibration.evidence import (
    SKILLS,
    EvidenceTable,
    expected_accuracy,
    reading_gain,
    skill_vector,
)
from orchestra_env.calibration.targets import MODELS, QA_FAMILIES, TARGETS
from orchestra_env.models.profiles import Profiles, default_profiles, parse_profiles

FIT_SKILLS = (
    "knowledge",
    "reasoning",
    "coding",
    "query_writing",
    "reading",
)  # tool_use: no target here
# Family difficulty offsets that are fitted: what each family makes harder than its generator
# says (e.g. writing a program that solves an HLE question; reading a long document).
OFFSET_SKILLS = {
    "reasoning": ("knowledge", "reasoning", "coding"),
    "multihop": ("knowledge", "reading", "reasoning"),
}
# The hand-set abilities the fit starts from and is pulled towards (the prior θ⁰): fixed here,
# so that a fit does not depend on what an earlier fit wrote.
PRIOR = {
    "qwen3-8b": {
        "knowledge": -0.8,
        "reasoning": 0.3,
        "coding": 0.5,
        "query_writing": 0.3,
        "reading": 0.8,
    },
    "llama-nemotron-49b": {
        "knowledge": 0.0,
        "reasoning": 0.4,
        "coding": 0.6,
        "query_writing": 0.6,
        "reading": 1.0,
    },
    "llama-3.3-70b": {
        "knowledge": 0.4,
        "reasoning": 0.0,
        "coding": 0.5,
        "query_writing": 0.8,
        "reading": 1.2,
    },
    "qwen3-235b-a22b": {
        "knowledge": 0.6,
        "reasoning": 1.0,
        "coding": 1.4,
        "query_writing": 1.0,
        "reading": 1.6,
    },
    "claude-opus-4.1": {
        "knowledge": 1.6,
        "reasoning": 1.5,
        "coding": 2.2,
        "query_writing": 1.6,
        "reading": 2.3,
    },
    "gpt-5": {
        "knowledge": 2.0,
        "reasoning": 2.5,
        "coding": 2.5,
        "query_writing": 2.0,
        "reading": 2.5,
    },
}
# (stronger, weaker, skills): orders the paper's numbers imply, kept by hinge penalties. GPT-5
# is the strongest at everything and Claude Opus next; Claude is not forced above Qwen3-235B at
# coding: the paper's HLE gain from tools is relatively larger for Qwen3-235B (5.2 → 14.0) than
# for Claude (11.7 → 19.8). Llama-3.3-70B is a weak reasoner and coder but a good reader.
_ALL = FIT_SKILLS
ORDER = (
    *(("gpt-5", m, _ALL) for m in MODELS[:5]),
    ("claude-opus-4.1", "qwen3-235b-a22b", ("knowledge", "reasoning", "query_writing", "reading")),
    *(("claude-opus-4.1", m, _ALL) for m in MODELS[:3]),
    ("qwen3-235b-a22b", "qwen3-8b", _ALL),
    ("qwen3-235b-a22b", "llama-nemotron-49b", ("reasoning", "coding")),
    ("qwen3-235b-a22b", "llama-3.3-70b", ("reasoning", "coding")),
    ("llama-3.3-70b", "qwen3-8b", ("knowledge", "query_writing", "reading")),
    ("llama-nemotron-49b", "qwen3-8b", ("knowledge", "reasoning")),
)
PRIOR_WEIGHT = 0.5  # points of accuracy that a 1-logit move away from the prior costs
OFFSET_WEIGHT = 0.3  # the same for a family offset away from 0
ORDER_WEIGHT = 20.0
ORDER_MARGIN = 0.1  # logits
# Evidence must help: for every paper model, the answer's check on a fact with its document in
# context (reading) beats recalling it (knowledge) by at least this many logits, on average over
# the multihop facts; otherwise searching would lower a strong model's accuracy.
READING_MARGIN = 1.0


@dataclass
class Fit:
    """Fitted abilities of every model, family offsets, and the expected accuracies (%)."""

    abilities: dict[str, dict[str, float]]
    offsets: dict[str, dict[str, float]]
    expected: dict[tuple[str, str, str], float]
    objective: float


class FitProblem:
    """The objective of the module docstring as residuals over a parameter vector x =
    [θ of each paper model over FIT_SKILLS] + [δ of each family over OFFSET_SKILLS]."""

    def __init__(self, tables: Mapping[str, EvidenceTable], profiles: Profiles):
        self.tables, self.a = tables, profiles.discrimination
        # Skills that are not fitted (tool_use) keep the profile's values.
        self.base = {m: skill_vector(profiles.models[m].abilities) for m in MODELS}
        self.slots = [("theta", m, s) for m in MODELS for s in FIT_SKILLS]
        self.slots += [("offset", f, s) for f in QA_FAMILIES for s in OFFSET_SKILLS[f]]
        self.prior = np.array(
            [PRIOR[m][s] if kind == "theta" else 0.0 for kind, m, s in self.slots]
        )
        self.is_theta = np.array([kind == "theta" for kind, _, _ in self.slots])
        self.cells = list(TARGETS)
        self.target = np.array([TARGETS[c] for c in self.cells])

    def unpack(self, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """x as ({model: θ over SKILLS}, {family: δ over SKILLS})."""
        theta = {m: v.copy() for m, v in self.base.items()}
        offset = {f: np.zeros(len(SKILLS)) for f in QA_FAMILIES}
        for value, (kind, owner, skill) in zip(x, self.slots, strict=True):
            (theta if kind == "theta" else offset)[owner][SKILLS.index(skill)] = value
        return theta, offset

    def accuracies(self, x: np.ndarray, cells: Iterable[tuple[str, str, str]]) -> dict:
        """Expected accuracy (%) of `cells` at x."""
        theta, offset = self.unpack(x)
        return {
            (m, s, f): 100 * expected_accuracy(self.tables[f], s, theta[m], offset[f], self.a)
            for m, s, f in cells
        }

    def residuals(self, x: np.ndarray, acc: Mapping) -> np.ndarray:
        fitted = np.array([acc[c] for c in self.cells]) - self.target
        prior = np.where(self.is_theta, PRIOR_WEIGHT, OFFSET_WEIGHT) * (x - self.prior)
        return np.concatenate([fitted, prior, ORDER_WEIGHT * self.hinges(x)])

    def hinges(self, x: np.ndarray) -> np.ndarray:
        """How far x is from each ordering and from evidence helping every model (0: kept)."""
        theta, offset = self.unpack(x)
        order = [
            max(0.0, ORDER_MARGIN - (theta[hi][SKILLS.index(s)] - theta[lo][SKILLS.index(s)]))
            for hi, lo, skills in ORDER
            for s in skills
        ]
        table = self.tables["multihop"]
        reading = [
            max(0.0, READING_MARGIN - reading_gain(table, theta[m], offset["multihop"], self.a))
            for m in MODELS
        ]
        return np.array(order + reading)

    def depends(self, j: int) -> list[tuple[str, str, str]]:
        """The cells slot j moves: its model's, or its family's."""
        kind, owner, _ = self.slots[j]
        return [c for c in self.cells if (c[0] if kind == "theta" else c[2]) == owner]

    def jacobian(self, x: np.ndarray, acc: Mapping, r: np.ndarray, h: float = 1e-4) -> np.ndarray:
        """Forward differences; each column recomputes only the cells its slot moves."""
        jac = np.zeros((len(r), len(x)))
        for j in range(len(x)):
            step = x.copy()
            step[j] += h
            moved = {**acc, **self.accuracies(step, self.depends(j))}
            jac[:, j] = (self.residuals(step, moved) - r) / h
        return jac


def fit(
    tables: Mapping[str, EvidenceTable], profiles: Profiles, *, iterations: int = 100, log=None
) -> Fit:
    """Levenberg–Marquardt on the objective of the module docstring, from the prior."""
    problem = FitProblem(tables, profiles)
    x = problem.prior.copy()
    acc = problem.accuracies(x, problem.cells)
    r = problem.residuals(x, acc)
    damping = 1e-2
    for it in range(iterations):
        jac = problem.jacobian(x, acc, r)
        x_new, acc_new, r_new, damping = _lm_step(problem, x, r, jac, damping)
        gain = (r @ r - r_new @ r_new) / (r @ r)
        x, acc, r = x_new, acc_new, r_new
        if log:
            worst = max(abs(acc[c] - TARGETS[c]) for c in problem.cells)
            log(f"iteration {it + 1}: objective {r @ r:.4f}, worst cell {worst:.2f} points off")
        if gain < 1e-6:
            break
    theta, offset = problem.unpack(x)
    return Fit(
        abilities=remap(profiles, theta),
        offsets={
            f: {s: round(float(offset[f][SKILLS.index(s)]), 3) for s in OFFSET_SKILLS[f]}
            for f in QA_FAMILIES
        },
        expected=acc,
        objective=float(r @ r),
    )


def _lm_step(problem: FitProblem, x, r, jac, damping: float):
    """One accepted Levenberg–Marquardt step (raising the damping until the objective falls);
    (x, accuracies, residuals, damping), unchanged when no step helps."""
    jtj, grad = jac.T @ jac, jac.T @ r
    scale = np.diag(np.diag(jtj)) + np.eye(len(x))
    while damping < 1e8:
        trial = x + np.linalg.solve(jtj + damping * scale, -grad)
        acc = problem.accuracies(trial, problem.cells)
        r_trial = problem.residuals(trial, acc)
        if r_trial @ r_trial < r @ r:
            return trial, acc, r_trial, max(damping / 3, 1e-7)
        damping *= 4
    return x, problem.accuracies(x, problem.cells), r, damping


def remap(profiles: Profiles, theta: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Abilities of every model, rounded to 3 decimals: the paper models' fitted θ; every other
    model's current ability carried through the monotone map, per skill, that takes the paper
    models' sorted current values to their sorted fitted ones (beyond either end: shifted like
    that end), so a model keeps its place among the six."""
    out: dict[str, dict[str, float]] = {}
    for i, skill in enumerate(SKILLS):
        old = np.sort([profiles.models[m].abilities[skill] for m in MODELS])
        new = np.sort([theta[m][i] for m in MODELS])
        for name, model in profiles.models.items():
            value = theta[name][i] if name in theta else monotone(model.abilities[skill], old, new)
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
    families.update({f: {"difficulty_offset": dict(o)} for f, o in result.offsets.items()})
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
