"""The Domain: a loaded, checked domain that builds worlds, makes tasks and grades episodes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from orchestra_env.domain.grading import Judge, grade
from orchestra_env.domain.lru import cached
from orchestra_env.domain.schema import Table
from orchestra_env.domain.tasks import DomainTask, TaskSampler
from orchestra_env.domain.templates import Template
from orchestra_env.domain.tools import DomainTool
from orchestra_env.domain.world import DomainWorld, Pristine, build_database

WORLD_CACHE = 8  # pristine worlds (seeds) a Domain keeps


@dataclass(eq=False)
class Domain:
    """A loaded, checked domain: its tables, tools and templates.

    Build a world per seed with `build_world` (built once, cached); make tasks with `task`;
    grade an episode with `grade`. Load it once and share it within a process; not thread-safe.
    """

    name: str
    description: str
    policy: str  # policy.md: what the agent is told
    today: str
    locale: str
    tables: tuple[Table, ...]  # in creation (reference) order
    tools: dict[str, DomainTool]
    templates: tuple[Template, ...]
    finalize: tuple[str, ...]
    source: str
    _pristine: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _scratch: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _sampler: TaskSampler = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sampler = TaskSampler(
            self.name, self.today, self.locale, self.templates, self._scratch_world
        )

    def build_world(self, seed: int = 0) -> DomainWorld:
        """A live world for `seed` (same seed, same rows, in any process)."""
        return DomainWorld(self, seed, self._pristine_db(seed))

    def task(self, index: int, seed: int = 0, split: str | None = None) -> DomainTask:
        """Task `index` of the world built from `seed` (deterministic; cached).

        Templates take turns (index mod the number of templates); the golden actions of every
        task returned were replayed and succeed, and each task changes the database or needs
        information communicated.

        With `split` ("train", "validation" or "test"), task `index` of that split: each
        template's tasks are dealt to the splits by the row of its first sample query (see
        SPLIT_DEAL), so no task is in two splits, and the templates that have tasks in the split
        take turns. A template that queries nothing trains only; one with a `split` puts all its
        tasks in that split.
        """
        return self._sampler.task(index, seed, split)

    def grade(
        self,
        task: DomainTask,
        world_after: DomainWorld,
        messages_to_user: Iterable[str],
        judge: Judge | None = None,
        conversation: Sequence[dict] = (),
    ) -> dict:
        """tau2-style grade: db_match (final tables equal the golden replay's) × communicate,
        × the nl_assertions when a `judge` reads `conversation` (see `grading.grade`)."""
        if world_after.domain.name != self.name or world_after.seed != task.seed:
            raise ValueError(
                f"task {task.id} is for {self.name} seed {task.seed}, "
                f"the world is {world_after.domain.name} seed {world_after.seed}"
            )
        return grade(task, world_after, messages_to_user, judge, conversation)

    def _pristine_db(self, seed: int) -> Pristine:
        return cached(
            self._pristine,
            seed,
            lambda: Pristine.of(build_database(self, seed), self.tables),
            WORLD_CACHE,
        )

    def _scratch_world(self, seed: int) -> tuple[DomainWorld, dict[str, str]]:
        """A world for replaying golden actions, and its pristine table hashes."""

        def make() -> tuple[DomainWorld, dict[str, str]]:
            world = self.build_world(seed)
            return world, world.table_hashes()

        return cached(self._scratch, seed, make, WORLD_CACHE)
