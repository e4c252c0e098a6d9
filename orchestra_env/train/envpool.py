"""`EnvPool`: the training envs stepped in lock-step, in this process or split over worker
processes, with the same transitions either way.

Why not gymnasium's `AsyncVectorEnv`: it resets finished envs itself, and with one `options`
for all of them, while the trainer draws each episode's preference preset from its own
generator, in env order, as episodes end (`preference_curriculum`). Here the trainer resets
the finished envs it names, each with its own options, so a run is the same run whatever the
number of workers: the envs' own generators and the trainer's draws never depend on it.
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
    """`n` envs built by `make`, stepped together.

    `workers=1` steps them here; more splits them into that many contiguous shares, one
    process each (spawned, so `make` must pickle: a module-level function or a `partial` of
    one). Actions and results are in env order.
    """

    def __init__(self, make: Callable[[], gym.Env], n: int, workers: int = 1):
        if not 1 <= workers <= n:
            raise ValueError(
                f"workers must be between 1 and the number of envs ({n}), got {workers}"
            )
        self._local: list[gym.Env] = []
        self._workers: list[tuple[multiprocessing.Process, Connection]] = []
        self._shares = [[int(i) for i in s] for s in np.array_split(np.arange(n), workers)]
        if workers == 1:
            self._local = [make() for _ in range(n)]
            return
        try:
            self._start(make)
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
        _receive_all(c for _, c in self._workers)  # built in parallel; a failed build raises

    def attribute(self, name: str) -> Any:
        """The first env's `get_wrapper_attr(name)` (its `layout`, `action_space`...)."""
        if self._local:
            return self._local[0].get_wrapper_attr(name)
        conn = self._workers[0][1]
        conn.send(("attribute", name))
        return _receive(conn)

    def step(self, actions: Sequence[Any]) -> list[Transition]:
        """Each env's `step(actions[i])`, in env order."""
        if self._local:
            return [env.step(a) for env, a in zip(self._local, actions, strict=True)]
        for (_, conn), share in zip(self._workers, self._shares, strict=True):
            conn.send(("step", [actions[i] for i in share]))
        return [t for answer in _receive_all(c for _, c in self._workers) for t in answer]

    def reset(self, calls: Mapping[int, dict]) -> dict[int, tuple[Any, dict]]:
        """`reset(**calls[i])` of each env `i` named: {i: (observation, info)}."""
        if self._local:
            return {i: self._local[i].reset(**kwargs) for i, kwargs in calls.items()}
        asked = []
        for (_, conn), share in zip(self._workers, self._shares, strict=True):
            mine = {j: calls[i] for j, i in enumerate(share) if i in calls}
            if mine:
                conn.send(("reset", mine))
                asked.append((conn, share))
        answers = _receive_all(conn for conn, _ in asked)
        return {
            share[j]: result
            for (_, share), answer in zip(asked, answers, strict=True)
            for j, result in answer.items()
        }

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


def _receive(conn: Connection) -> Any:
    return _receive_all([conn])[0]


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
    """A worker: builds its share of envs, says so, and answers attribute / step / reset
    until closed. It ignores Ctrl-C: the trainer, interrupted, closes it."""
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
    if command == "attribute":
        return envs[0].get_wrapper_attr(payload)
    raise ValueError(f"unknown command {command!r}")
