"""Simulated experts: an item-response model of how likely a model is to get a step right.

For a step that needs skills s_1..s_k (each a `Check` with a difficulty d_i and an evidence
bonus b_i supplied by the task), a model with abilities θ succeeds with probability

    P(success) = Π_i  σ(a · (θ[s_i] − d_i) + b_i),        σ(x) = 1 / (1 + e^(−x))

where a is the discrimination from `profiles.json`. Evidence in context (a retrieved document
that holds a fact, a program's output) enters as b_i > 0. One uniform draw decides success, and
the task turns the outcome into a real artefact: a targeted or a vague query (which the real
retriever then runs), the reference program or a broken variant (which the real sandbox runs),
the right answer or a plausible wrong one.

Prompt tokens are counted from the text actually sent; completion tokens are log-normal around
the model's mean for the role; latency is time-to-first-token plus tokens over speed. Every draw
comes from `random.Random(request.seed)`, so a call is reproducible in any process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping

from orchestra_env import tokens
from orchestra_env.core import Check
from orchestra_env.models.base import ExpertReply, ExpertRequest
from orchestra_env.models.profiles import ModelProfile, Profiles


def success_probability(
    abilities: Mapping[str, float], checks: Iterable[Check], discrimination: float
) -> float:
    """P(success) of a step under the item-response model above."""
    p = 1.0
    for check in checks:
        x = discrimination * (abilities[check.skill] - check.difficulty) + check.bonus
        p *= 1.0 / (1.0 + math.exp(-x))
    return p


def call_draw(seed: str) -> tuple[float, random.Random]:
    """A call's success draw u (the call succeeds iff u < P(success)), and the call's generator
    after it, which writes the artefact and then draws the completion tokens: what an expert
    writes depends on the seed and the outcome, not on the model."""
    rng = random.Random(seed)
    return rng.random(), rng


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
        p = success_probability(model.abilities, checks, self.profiles.discrimination)
        success = u < p
        text = request.task.artefact(request.role, request.evidence, success, rng)
        completion = draw_completion_tokens(model, request.role, rng)
        return ExpertReply(
            text=text,
            prompt_tokens=tokens.count_all(request.prompt),
            completion_tokens=completion,
            seconds=model.seconds(completion),
            success=success,
        )
