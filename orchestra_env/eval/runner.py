"""`evaluate`: play an agent on a split's tasks, `trials` times each, into a resumable run file.

An episode unit is (task_id, trial). Its reset seed is a hash of (run seed, task_id, trial), so
a unit plays the same episode in any process, in any order, on resume, and — since the agent is
not part of the hash — for every agent (paired comparisons on identical draws).

With live experts (`experts="live"`), each record counts the episode's expert calls and lists
the failed ones; the run warns on stderr when some failed and ends in `AllExpertCallsFailed`
when all did. An agent whose server cannot be reached stops the run at once
(`EndpointUnreachable`): every further episode would fail the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from orchestra_env.eval.agent import AgentSpec
from orchestra_env.eval.play import EpisodeError, PlayContext, Result, Unit, unit_seed
from orchestra_env.eval.pools import check_executor, open_pool
from orchestra_env.eval.records import EpisodeFailure, EpisodeRecord, RunFile, RunHeader, jsonable

DEFAULT_EPISODES = 100  # tasks per run when `episodes` is not given (the splits are far larger)
DEFAULT_MAX_ERRORS = 10  # failed episodes tolerated per call before the run stops


class EndpointUnreachable(EpisodeError):
    """The agent's model server could not be reached: the run stopped at its first such
    episode (everything finished is saved; re-running resumes)."""


class AllExpertCallsFailed(EpisodeError):
    """Every live expert call of the run failed, so its records measure the outage, not the
    agent (they are saved, as finished episodes: delete the file before re-running)."""


def evaluate(
    agent_spec: AgentSpec | str,
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    split: str = "test",
    episodes: int | None = None,
    trials: int = 1,
    seed: int = 0,
    out: str | Path,
    workers: int = 1,
    executor: str = "process",
    keep_trajectory: bool = False,
    progress: bool = True,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> Path:
    """Play `agent_spec` on the first `episodes` tasks of `split` (default `DEFAULT_EPISODES`),
    `trials` times each, appending one JSON line per finished episode to `out`; returns `out`.

    Re-running the same call resumes: finished units are skipped, and a torn last line left by
    a killed run is dropped. A file written by another agent, env, env kwargs, seed or split is
    refused (`RunMismatchError`); more episodes or trials extend a run. `workers > 1` plays
    units in that many spawned processes (each builds its env and agent once); only this
    process writes. `executor="ray"` plays them on `workers` Ray actors instead, on the
    cluster at `RAY_ADDRESS` or a local Ray (`orchestra_env.integrations.ray`); results still
    come back to this process, the only writer. Ctrl-C (KeyboardInterrupt) stops at once,
    everything finished kept.

    An episode that raises (say, a model server that is down) is written as an `"error"` line
    and the run goes on; a resumed run plays it again. More than `max_errors` failures stop
    the run; any failure makes the call end in `EpisodeError` once the rest is done.

    Spawned workers import the main module: a script that calls this with `workers > 1`
    needs the usual `if __name__ == "__main__":` guard.
    """
    spec = AgentSpec(agent_spec) if isinstance(agent_spec, str) else agent_spec
    _check_counts(episodes=episodes, trials=trials, workers=workers)
    check_executor(executor)
    if max_errors < 0:
        raise ValueError(f"max_errors must be >= 0, got {max_errors}")
    env_kwargs = {**spec.env_kwargs(), **(env_kwargs or {})}  # the agent's needs, then the user's
    context = PlayContext(
        agent=spec.factory(),
        agent_kwargs=dict(spec.kwargs),
        agent_name=spec.name,
        env_id=env_id,
        env_kwargs=env_kwargs,
        recorded_env_kwargs=jsonable(env_kwargs),
        run_seed=seed,
        keep_trajectory=keep_trajectory,
    )
    header = RunHeader(
        agent=spec.name,
        agent_target=spec.target,
        agent_kwargs=jsonable(dict(spec.kwargs)),
        env_id=env_id,
        env_kwargs=context.recorded_env_kwargs,
        seed=seed,
        split=split,
    )
    out = Path(out)
    env = gym.make(env_id, **env_kwargs)
    try:
        units = _units(env, split, episodes or DEFAULT_EPISODES, trials, seed)
        with RunFile(out, header) as run:
            todo = [u for u in units if (u.task_id, u.trial) not in run.done]
            wanted = {(u.task_id, u.trial) for u in units}
            finished = [r for r in run.records if r.unit in wanted]
            # closing(): on Ctrl-C or an error, stop the workers now, not when the generator is
            # garbage-collected (the traceback keeps it alive).
            with (
                _ProgressBar(len(units), finished, enabled=progress) as bar,
                closing(_play(todo, context, env, workers, executor)) as results,
            ):
                failures = _record_all(results, run, bar, max_errors)
            tally = ExpertTally.of(r for r in run.records if r.unit in wanted)
    finally:
        env.close()
    if tally.all_failed:
        raise AllExpertCallsFailed(
            f"all {tally.calls} expert calls failed ({tally.usual_error()}); the episodes in {out} "
            "measure that outage, not the agent: fix the expert backends, delete the file and "
            "run again"
        )
    if tally.failed:  # markup off: error texts hold "[backend=…]", which rich would eat
        Console(stderr=True).print(
            f"warning: {tally.failed} of {tally.calls} expert calls failed "
            f"({tally.usual_error()}); each episode's failed calls are under expert_errors "
            f"in {out}",
            style="yellow",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if failures:
        raise EpisodeError(
            f"{len(failures)} of {len(todo)} episodes failed; they are logged as error lines in "
            f"{out} and replayed when the run is resumed. The first: {_describe(failures[0])}"
        )
    return out


@dataclass(frozen=True)
class ExpertTally:
    """Live expert calls over a run's records: how many, how many failed, the usual error."""

    calls: int
    failed: int = 0
    common: str = ""  # the most frequent failure, "alias (model) failed: error"
    common_count: int = 0

    @property
    def all_failed(self) -> bool:
        return self.calls > 0 and self.failed == self.calls

    @classmethod
    def of(cls, records: Iterable[EpisodeRecord]) -> ExpertTally:
        calls, errors = 0, Counter()
        for record in records:
            calls += record.expert_calls or 0
            for e in record.expert_errors:  # on one line, however the server wrapped its text
                errors[f"{e['alias']} ({e['model']}) failed: {' '.join(e['error'].split())}"] += 1
        if not errors:
            return cls(calls)
        common, count = errors.most_common(1)[0]
        return cls(calls, sum(errors.values()), common, count)

    def usual_error(self) -> str:
        """The most frequent failure, with how often it happened when there were others."""
        if self.common_count == self.failed:
            return self.common
        return f"{self.common_count}×: {self.common}"


def _record_all(
    results: Iterator[Result], run: RunFile, bar: _ProgressBar, max_errors: int
) -> list[EpisodeFailure]:
    """Write every result as it comes; the failures, or EpisodeError past `max_errors`."""
    failures = []
    for result in results:
        run.append(result)
        bar.advance(result)
        if isinstance(result, EpisodeFailure):
            failures.append(result)
            if result.unreachable:
                raise EndpointUnreachable(
                    f"stopped: the agent's server cannot be reached ({result.error}); what "
                    "finished is saved: start the server, then run again to resume"
                )
            if len(failures) > max_errors:
                raise EpisodeError(
                    f"{len(failures)} episodes failed, more than max_errors={max_errors}: stopping "
                    f"(what finished is saved). The first: {_describe(failures[0])}"
                )
    return failures


def _describe(failure: EpisodeFailure) -> str:
    return f"task {failure.task_id!r} trial {failure.trial}: {failure.error}\n{failure.traceback}"


def _check_counts(**counts: int | None) -> None:
    bad = [f"{name}={value!r}" for name, value in counts.items() if value is not None and value < 1]
    if bad:
        raise ValueError(f"these must be at least 1: {', '.join(bad)}")


def _units(env: gym.Env, split: str, n: int, trials: int, seed: int) -> list[Unit]:
    """Trial-major: every task once before any task twice, so a run stopped early still
    covers its tasks evenly."""
    lister = getattr(env.unwrapped, "task_ids", None)
    if lister is None:
        raise TypeError(
            f"{type(env.unwrapped).__name__} has no task_ids(split, n): "
            "the evaluator needs it to list tasks"
        )
    task_ids = list(dict.fromkeys(lister(split, n)))  # a repeated id would collide on resume
    return [Unit(t, trial, unit_seed(seed, t, trial)) for trial in range(trials) for t in task_ids]


def _play(
    units: Sequence[Unit], context: PlayContext, env: gym.Env, workers: int, executor: str
) -> Iterator[Result]:
    if not units:
        return
    with open_pool(context, env, workers, executor, len(units)) as pool:
        yield from pool.play(units)


# -- progress -----------------------------------------------------------------------------------


class _ProgressBar:
    """A live bar on stderr: episodes done / total, accuracy and $ so far, ETA. Silent when
    disabled or when stderr is not a terminal (logs, CI)."""

    def __init__(self, total: int, finished: Sequence[EpisodeRecord], *, enabled: bool):
        self._successes = sum(r.outcome for r in finished)
        self._cost = sum(r.cost_usd for r in finished)
        self._done = len(finished)
        self._failed = 0
        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[accuracy]}"),
            TextColumn("${task.fields[cost]}{task.fields[failed]}"),
            TimeRemainingColumn(),
            console=console,
            disable=not (enabled and console.is_terminal),
        )
        self._task = self._progress.add_task(
            "eval", total=total, completed=self._done, **self._fields()
        )

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def advance(self, result: Result) -> None:
        if isinstance(result, EpisodeFailure):
            self._failed += 1
            self._progress.update(self._task, **self._fields())
            return
        self._successes += result.outcome
        self._cost += result.cost_usd
        self._done += 1
        self._progress.update(self._task, advance=1, **self._fields())

    def _fields(self) -> dict[str, str]:
        accuracy = f"{self._successes / self._done:.3f}" if self._done else "-"
        failed = f" [red]{self._failed} failed[/red]" if self._failed else ""
        return {"accuracy": accuracy, "cost": f"{self._cost:.4f}", "failed": failed}
