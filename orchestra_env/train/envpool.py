"""`EnvPool`: the training envs stepped in lock-step, in this process or split over worker
processes, with the same transitions either way.

Why not gymnasium's `AsyncVectorEnv`: it resets finished envs itself, and with one `options`
for all of them, while the trainer draws each episode's preference preset from its own
generator, in env order, as episodes end (`preference_curriculum`). Here the trainer resets
the finished envs it names, each with its own options, so a run is the same run whatever the
number of processes: the envs' own generators and the trainer's draws never depend on it.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import numpy as np

Transition = tuple[Any, float, bool, bool, dict]


class EnvWorkerError(RuntimeError):
    """An env raised in a worker process (the message carries the worker's traceback)."""


class EnvPool:
    """`n` envs built by `make`, stepped together in `processes` processes.

    The envs are split into that many contiguous shares: this process steps the first, and
    each other share is stepped by a spawned worker at the same time (so `make` must pickle:
    a module-level function or a `partial` of one). Actions and results are in env order.
    """

    def __init__(self, make: Callable[[], gym.Env], n: int, processes: int = 1):
        if not 1 <= processes <= n:
            raise ValueError(
                f"processes must be between 1 and the number of envs ({n}), got {processes}"
            )
        shares = [[int(i) for i in s] for s in np.array_split(np.arange(n), processes)]
        self._local_share, self._shares = shares[0], shares[1:]  # env 0 onwards here; workers'
        self._workers: list[tuple[multiprocessing.Process, Connection]] = []
        self._local: list[gym.Env] = []
        try:
            self._start(make)  # the workers build their envs while this one builds its own
            self._local = [make() for _ in self._local_share]
            _receive_all(conn for _, conn in self._workers)  # "built", or a failed build raises
        except BaseException:
            self.close()
            raise

    def _start(self, make: Callable[[], gym.Env]) -> None:
        context = multiprocessing.get_context("spawn")
        for share in self._shares:
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs, make, len(share)), daemon=True, name="orchestra-env"
            )
            process.start()
            theirs.close()
            self._workers.append((process, mine))

    def attribute(self, name: str) -> Any:
        """The first env's `get_wrapper_attr(name)` (its `layout`, `action_space`...)."""
        return self._local[0].get_wrapper_attr(name)

    def step(self, actions: Sequence[Any]) -> list[Transition]:
        """Each env's `step(actions[i])`, in env order."""
        for (_, conn), share in zip(self._workers, self._shares, strict=True):
            conn.send(("step", [actions[i] for i in share]))
        mine, theirs = self._here_then_theirs(
            lambda: [env.step(actions[i]) for i, env in enumerate(self._local)],
            [conn for _, conn in self._workers],
        )
        return mine + [t for answer in theirs for t in answer]

    def reset(self, calls: Mapping[int, dict]) -> dict[int, tuple[Any, dict]]:
        """`reset(**calls[i])` of each env `i` named: {i: (observation, info)}."""
        asked = []
        for (_, conn), share in zip(self._workers, self._shares, strict=True):
            theirs = {j: calls[i] for j, i in enumerate(share) if i in calls}
            if theirs:
                conn.send(("reset", theirs))
                asked.append((conn, share))
        out, answers = self._here_then_theirs(
            lambda: {i: self._local[i].reset(**calls[i]) for i in self._local_share if i in calls},
            [conn for conn, _ in asked],
        )
        for (_, share), answer in zip(asked, answers, strict=True):
            out.update({share[j]: result for j, result in answer.items()})
        return out

    @staticmethod
    def _here_then_theirs(here: Callable[[], Any], asked: list[Connection]) -> tuple[Any, list]:
        """`here()` while the workers asked work, then their answers; every answer is read even
        when `here()` raises, so none is left in a pipe for the next call."""
        try:
            mine = here()
        except BaseException:
            for conn in asked:
                conn.recv()
            raise
        return mine, _receive_all(asked)

    def close(self) -> None:
        for env in self._local:
            env.close()
        for process, conn in self._workers:
            try:
                conn.send(("close", None))
            except (BrokenPipeError, OSError):
                pass  # already gone
            conn.close()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        self._local, self._workers = [], []

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _receive_all(conns) -> list:
    """Every worker's answer, read in full before the first error is raised (so no answer is
    left in a pipe)."""
    try:
        answers = [conn.recv() for conn in conns]
    except EOFError:
        raise EnvWorkerError(
            "an env worker process exited: killed, out of memory, or started from a script "
            'without an `if __name__ == "__main__":` guard (spawned workers import it again)'
        ) from None
    for status, payload in answers:
        if status == "error":
            raise EnvWorkerError(payload)
    return [payload for _, payload in answers]


def _serve(conn: Connection, make: Callable[[], gym.Env], n: int) -> None:
    """A worker: builds its share of envs, says so, and answers step / reset until closed.
    It ignores Ctrl-C: the trainer, interrupted, closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    envs: list[gym.Env] = []
    try:
        try:
            envs = [make() for _ in range(n)]
            conn.send(("ok", None))
        except Exception:
            conn.send(("error", traceback.format_exc()))
            return
        while True:
            command, payload = conn.recv()
            if command == "close":
                return
            try:
                conn.send(("ok", _answer(envs, command, payload)))
            except Exception:  # the trainer raises it, with this traceback
                conn.send(("error", traceback.format_exc()))
    except EOFError:
        pass  # the trainer went away: nothing to answer
    finally:
        for env in envs:
            env.close()
        conn.close()


def _answer(envs: list[gym.Env], command: str, payload: Any) -> Any:
    if command == "step":
        return [env.step(a) for env, a in zip(envs, payload, strict=True)]
    if command == "reset":
        return {j: envs[j].reset(**kwargs) for j, kwargs in payload.items()}
    raise ValueError(f"unknown command {command!r}")
