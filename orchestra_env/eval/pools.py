"""Where the evaluator's units are played: a `UnitPool` takes units and yields their results.

`open_pool` picks one: this process (one worker), spawned local processes, or Ray actors
(`orchestra_env.integrations.ray.RayEvalPool`). Each pool plays units with
`orchestra_env.eval.play.play_unit`; only the evaluator's process writes what they return.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
import traceback
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import gymnasium as gym

from orchestra_env.eval.play import EpisodeError, PlayContext, Result, Unit, play_unit

EVAL_EXECUTORS = ("process", "ray")  # where `workers` run: local spawned processes or Ray actors
_POLL_S = 1.0  # how often waiting processes check that their peers are still alive
_EXIT_GRACE_S = 5.0  # how long a finished pool waits for its workers to exit on their own


class UnitPool(Protocol):
    """Plays units and yields their results as they finish; leaving it stops its workers
    (unfinished units are abandoned: a resumed run plays them again)."""

    def __enter__(self) -> UnitPool: ...

    def __exit__(self, *exc: object) -> None: ...

    def play(self, units: Sequence[Unit]) -> Iterator[Result]: ...


def check_executor(executor: str) -> None:
    """Refuse an unknown executor, or Ray when it is not installed, before any work starts."""
    if executor not in EVAL_EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EVAL_EXECUTORS)}; got {executor!r}")
    if executor == "ray":  # fail before the run file is opened, naming the extra to install
        from orchestra_env.integrations.ray import require_ray

        require_ray()


def open_pool(
    context: PlayContext, env: gym.Env, workers: int, executor: str, n_units: int
) -> UnitPool:
    """The pool for `n_units` units on `workers` workers of `executor`; one worker plays in
    this process on `env`."""
    if executor == "ray":
        from orchestra_env.integrations.ray import RayEvalPool

        return RayEvalPool(context, min(workers, n_units))
    if workers == 1 or n_units == 1:
        return InlinePool(context, env)
    _check_sendable(context)
    return ProcessPool(context, min(workers, n_units))


class InlinePool:
    """This process, on the evaluator's own env, with one agent built for the run."""

    def __init__(self, context: PlayContext, env: gym.Env):
        self._context, self._env = context, env

    def __enter__(self) -> InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def play(self, units: Sequence[Unit]) -> Iterator[Result]:
        agent = self._context.build_agent()
        for unit in units:
            yield play_unit(self._env, agent, unit, self._context)


def _check_sendable(context: PlayContext) -> None:
    try:
        pickle.dumps(context)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"agent {context.agent_name!r} or the env kwargs cannot be sent to worker processes "
            f"({exc}); register a module-level factory (not a lambda or local function), "
            "pass picklable env kwargs, or use workers=1"
        ) from exc


class ProcessPool:
    """Spawned processes that each build an env and an agent once, then take units from a
    shared queue (so fast workers take more) and send records back to this process."""

    def __init__(self, context: PlayContext, workers: int):
        mp = multiprocessing.get_context(
            "spawn"
        )  # fork is unsafe with threads and absent on macOS/Windows
        self._tasks, self._results = mp.Queue(), mp.Queue()
        self._procs = [
            mp.Process(
                target=_worker_main,
                args=(context, self._tasks, self._results),
                name=f"orchestra-eval-{i}",
            )
            for i in range(workers)
        ]

    def __enter__(self) -> ProcessPool:
        for proc in self._procs:
            proc.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # Unfinished episodes are abandoned: a resumed run plays them again. Units still in
        # the feeder thread are dropped rather than waited for (no reader is left for them).
        self._tasks.cancel_join_thread()
        for proc in self._procs:
            if exc_type is None:  # done: let workers that took their stop sentinel exit, since
                proc.join(_EXIT_GRACE_S)  # one killed at exit leaks its queues' semaphores
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join()
        self._tasks.close()
        self._results.close()

    def play(self, units: Sequence[Unit]) -> Iterator[Result]:
        for unit in units:
            self._tasks.put(unit)
        for _ in self._procs:
            self._tasks.put(None)
        for _ in units:
            kind, payload = self._next_result()
            if kind == "fatal":
                raise EpisodeError(f"a worker process could not go on:\n{payload}")
            yield payload

    def _next_result(self) -> tuple[str, Any]:
        while True:
            try:
                return self._results.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [p for p in self._procs if p.exitcode not in (None, 0)]
                if dead:
                    raise EpisodeError(
                        f"worker process {dead[0].name} died (exit code {dead[0].exitcode}); "
                        "records finished so far are saved, re-run to resume"
                    ) from None


def _worker_main(context: PlayContext, tasks: Any, results: Any) -> None:
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C reaches the whole group: the parent decides
    parent = multiprocessing.parent_process()
    try:
        env = context.build_env()
        agent = context.build_agent()
        while (unit := _next_unit(tasks, parent)) is not None:
            results.put(("result", play_unit(env, agent, unit, context)))
        env.close()
    except Exception:  # building the env or agent failed: no unit can be played here
        results.put(("fatal", traceback.format_exc()))
    if not parent.is_alive():  # nobody will read what is left in the pipe: don't wait on it
        results.cancel_join_thread()


def _next_unit(tasks: Any, parent: multiprocessing.process.BaseProcess) -> Unit | None:
    """The next unit, or None at the end or once the parent is gone (an orphan must not hang)."""
    while parent.is_alive():
        try:
            return tasks.get(timeout=_POLL_S)
        except queue.Empty:
            continue
    return None
