"""A weighted mixture of task families, with fixed train / validation / test splits."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np

from orchestra_env.core import Task
from orchestra_env.domain import Judge, bundled_domains
from orchestra_env.domain.user import UserFactory
from orchestra_env.tasks.base import SPLITS, TaskFamily, index_in_split
from orchestra_env.tasks.function_calling import FAMILY as FC
from orchestra_env.tasks.function_calling import FunctionCallingFamily
from orchestra_env.tasks.multihop import MultihopFamily
from orchestra_env.tasks.reasoning import ReasoningFamily

# Family name -> constructor taking the world seed and `difficulty_offset=`. "function_calling"
# cycles through every bundled domain; "function_calling.<domain>" is one domain alone.
FAMILIES: dict[str, Callable[..., TaskFamily]] = {
    "multihop": MultihopFamily,
    "reasoning": ReasoningFamily,
    FC: FunctionCallingFamily,
    **{
        f"{FC}.{d}": partial(FunctionCallingFamily, domains=(d,), name=f"{FC}.{d}")
        for d in bundled_domains()
    },
}

# Tasks per family per split that `sample` draws from: large enough never to repeat in a run,
# fixed so that a split names the same tasks in every process.
SPLIT_SIZES = {"train": 80_000, "validation": 10_000, "test": 10_000}


class TaskSuite:
    """Families by weight; `domains` (bundled names or paths) replaces the bundled domains of
    the "function_calling" family, e.g. with a domain of one's own. `difficulty_offsets`
    ({family: {skill: logit}}, as in a profiles file) sets a family's difficulty offset; a
    family it does not name keeps the bundled profiles' offset. `users` makes the user of each
    conversation and `judge` grades their nl_assertions (see `FunctionCallingFamily`)."""

    def __init__(
        self,
        families: Mapping[str, float],
        *,
        world_seed: int = 0,
        domains: Sequence[str] | None = None,
        difficulty_offsets: Mapping[str, Mapping[str, float]] | None = None,
        users: UserFactory | None = None,
        judge: Judge | None = None,
    ):
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown task families {unknown}; known: {sorted(FAMILIES)}")
        if not families or any(w < 0 for w in families.values()) or sum(families.values()) <= 0:
            raise ValueError(
                f"family weights must be non-negative with a positive sum: {dict(families)}"
            )
        if domains is not None and FC not in families:
            raise ValueError(
                f"domains= sets the domains of the {FC!r} family, "
                f"which this suite lacks: {sorted(families)}"
            )
        offsets = difficulty_offsets or {}
        self.families = {
            name: FunctionCallingFamily(
                world_seed,
                domains=domains,
                difficulty_offset=offsets.get(FC),
                users=users,
                judge=judge,
            )
            if name == FC and domains
            else FAMILIES[name](
                world_seed,
                difficulty_offset=offsets.get(name.partition(".")[0]),
                **({"users": users, "judge": judge} if name.partition(".")[0] == FC else {}),
            )
            for name in families
        }
        total = sum(families.values())
        self.names = list(families)
        self.weights = np.array([families[n] / total for n in self.names])
        # What Generator.choice(p=weights) searches: drawing with it directly gives the same
        # family for the same generator state, without choice's per-call checks of p.
        self._cdf = self.weights.cumsum()
        self._cdf /= self._cdf[-1]

    def sample(self, rng: np.random.Generator, split: str) -> Task:
        """A task drawn by family weight, uniformly within the family's split."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        name = self.names[int(self._cdf.searchsorted(rng.random(), side="right"))]
        k = int(rng.integers(SPLIT_SIZES[split]))
        return self.families[name].task(index_in_split(split, k))

    def task(self, task_id: str) -> Task:
        """The task named `task_id` ("<family>/<index>")."""
        name, _, index = task_id.partition("/")
        if name not in self.families or not index.isdigit():
            raise ValueError(
                f"unknown task id {task_id!r}; "
                f"expected '<family>/<index>' with family in {self.names}"
            )
        return self.families[name].task(int(index))

    def family(self, name: str) -> TaskFamily:
        return self.families[name]

    def task_ids(self, split: str, n: int) -> list[str]:
        """The first `n` task ids of `split`: the same list in every process and run."""
        rng = random.Random(f"task_ids:{split}")
        counters = dict.fromkeys(self.names, 0)
        ids = []
        for _ in range(n):
            name = rng.choices(self.names, weights=list(self.weights))[0]
            ids.append(f"{name}/{index_in_split(split, counters[name])}")
            counters[name] += 1
        return ids
