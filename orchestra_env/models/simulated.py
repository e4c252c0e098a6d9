"""Simulated experts: an item-response model with persistent competence.

A step needs skills s_1..s_k, each a `Check` with a difficulty d_i, an evidence bonus b_i and a
key naming what it is about (a fact, an item's program, a hop's query). A model with abilities
θ passes check i with probability

    p_i = σ(a · (θ[s_i] − d_i) + b_i),        σ(x) = 1 / (1 + e^(−x)),

a the discrimination from `profiles.json`. Whether it passes is decided by a latent that belongs
to the (model, key) pair, not to the call:

    pass_i  ⇔  Φ(ρ · z(model, key_i) + s · ε_i)  <  p_i,        ρ = √(1 − s²),

z ~ N(0, 1) fixed by the model and the key (the same in every call, episode and process), ε a
fresh N(0, 1) per call and s the profiles' `sampling_noise`. Each call still passes with
probability p_i, but a model that failed a step mostly fails it again, and another model is
another draw. A check without a key draws afresh (u < Π p_i on one uniform u per call).

The task turns the outcome (`core.Attempt`: which checks failed, and the model's persistent
beliefs) into a real artefact — a query the real retriever runs, a program the real sandbox
runs, an answer — built from what the model knows and what is in context, never from what it
failed to know. Prompt tokens are counted from the text actually sent; completion tokens are
log-normal around the model's mean for the role; latency is time-to-first-token plus tokens
over speed. Every per-call draw comes from `random.Random(request.seed)`.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable, Mapping
from statistics import NormalDist

from orchestra_env import tokens
from orchestra_env.core import Attempt, Check
from orchestra_env.models.base import ExpertReply, ExpertRequest
from orchestra_env.models.profiles import ModelProfile, Profiles

_NORMAL = NormalDist()


def pass_probability(ability: float, check: Check, discrimination: float) -> float:
    """p = σ(a · (θ − d) + b) of one check."""
    return 1.0 / (1.0 + math.exp(-(discrimination * (ability - check.difficulty) + check.bonus)))


def success_probability(
    abilities: Mapping[str, float], checks: Iterable[Check], discrimination: float
) -> float:
    """P(every check passes) on one call: the product of the checks' probabilities."""
    p = 1.0
    for check in checks:
        p *= pass_probability(abilities[check.skill], check, discrimination)
    return p


@functools.lru_cache(maxsize=1 << 17)
def latent(model: str, key: str) -> float:
    """The persistent N(0, 1) competence draw of `model` on `key` (lower is better)."""
    return random.Random(f"latent|{model}|{key}").gauss(0.0, 1.0)


def call_draw(seed: str) -> tuple[float, random.Random]:
    """A call's uniform draw u (for unkeyed checks: the call passes them iff u < Π p), and the
    call's generator after it, which draws the keyed checks' noise, writes the artefact and
    then draws the completion tokens."""
    rng = random.Random(seed)
    return rng.random(), rng


def attempt(
    model: str,
    abilities: Mapping[str, float],
    checks: Iterable[Check],
    profiles: Profiles,
    u: float,
    rng: random.Random,
) -> Attempt:
    """Which of `checks` the model fails on this call (see the module docstring)."""
    a, s = profiles.discrimination, profiles.sampling_noise
    rho = math.sqrt(1.0 - s * s)
    failed, unkeyed = [], 1.0
    for check in checks:
        p = pass_probability(abilities[check.skill], check, a)
        if not check.key:
            unkeyed *= p
        elif _NORMAL.cdf(rho * latent(model, check.key) + s * rng.gauss(0.0, 1.0)) >= p:
            failed.append(check.key)
    if u >= unkeyed:
        failed.append("")
    return Attempt(model, frozenset(failed))


def draw_completion_tokens(model: ModelProfile, role: str, rng: random.Random) -> int:
    """Completion tokens of one call: log-normal with the profile's mean for `role`."""
    mean = model.completion_tokens[role]
    sigma = model.completion_sigma
    return max(1, round(rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)))


class SimulatedExperts:
    """Every profiled model as a simulated expert; deterministic given the request's seed."""

    def __init__(self, profiles: Profiles):
        self.profiles = profiles

    def complete(self, request: ExpertRequest) -> ExpertReply:
        model = self.profiles.models[request.model]
        u, rng = call_draw(request.seed)
        checks = request.task.demands(request.role, request.evidence)
        outcome = attempt(request.model, model.abilities, checks, self.profiles, u, rng)
        text = request.task.artefact(request.role, request.evidence, outcome, rng)
        completion = draw_completion_tokens(model, request.role, rng)
        return ExpertReply(
            text=text,
            prompt_tokens=tokens.count_all(request.prompt),
            completion_tokens=completion,
            seconds=model.seconds(completion),
            success=outcome.success,
        )
