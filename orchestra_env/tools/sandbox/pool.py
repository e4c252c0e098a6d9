"""The host side: `Sandbox`, a pool of warm worker servers, and `shared_sandbox`, one pool per
process."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import math
import os
import queue
import signal
import subprocess
import threading
import time
from typing import Any

from orchestra_env.tools.sandbox.isolation import (
    ENV,
    ISOLATIONS,
    NEEDS_ISOLATION,
    choose_isolation,
    worker_argv,
)
from orchestra_env.tools.sandbox.results import SandboxResult, lost_result, result_from_reply
from orchestra_env.tools.sandbox.server import GRACE_S, read_exact, recv, send

_BASE_UID = 2_000_000_000  # programs of a root caller run as _BASE_UID + a per-worker number
_ACK_TIMEOUT_S = 10.0  # an idle worker answers a request at once; longer means it is broken
_START_TIMEOUT_S = 60.0


class Sandbox:
    """A pool of warm workers that run untrusted Python programs; `run` is thread-safe."""

    def __init__(
        self,
        *,
        workers: int = 1,
        timeout_s: float = 5.0,
        cpu_s: float | None = None,
        memory_mb: int = 512,
        max_output_bytes: int = 20_000,
        max_processes: int = 16,
        isolation: str = "auto",
    ) -> None:
        """`timeout_s` bounds a program's wall-clock time and `cpu_s` (whole seconds) its CPU
        time: the limit to rely on for repeatable results, since unlike the wall clock it
        barely depends on how busy the machine is."""
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, not {isolation!r}")
        if cpu_s is not None and cpu_s <= 0:
            raise ValueError(f"cpu_s must be positive, got {cpu_s}")
        if (
            workers < 1
            or timeout_s <= 0
            or memory_mb < 32
            or max_output_bytes < 1
            or max_processes < 1
        ):
            raise ValueError(
                "workers, timeout_s, max_output_bytes, max_processes must be positive; "
                "memory_mb >= 32"
            )
        self.workers = workers
        self.timeout_s = float(timeout_s)
        self.cpu_s = cpu_s
        self.memory_mb = memory_mb
        self.max_output_bytes = max_output_bytes
        self.max_processes = max_processes
        self.isolation = choose_isolation(isolation)
        self._serial = itertools.count()
        self._closed = False
        self._reset_pool()
        # Start every worker at once: the first call is then as fast as any other.
        started = [self._spawn() for _ in range(workers)]
        try:
            for worker in started:
                worker.wait_ready()
        except BaseException:
            for worker in started:
                worker.kill()
            raise
        for worker in started:
            self._idle.put(worker)

    # -- public ------------------------------------------------------------------------------

    def run(self, code: str, *, timeout_s: float | None = None) -> SandboxResult:
        """Run `code` as a fresh program and report what it did.

        Never raises for anything the program does; raises RuntimeError only if no worker can
        be started at all (or the sandbox is closed).
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        if timeout <= 0:
            raise ValueError("timeout_s must be positive")
        request = {
            "code": code,
            "timeout_s": timeout,
            # Without cpu_s, a backstop a second past the wall clock, which then stops it first.
            "cpu_s": math.ceil(timeout) + 1
            if self.cpu_s is None
            else max(1, math.ceil(self.cpu_s)),
            "memory_mb": self.memory_mb,
            "max_output_bytes": self.max_output_bytes,
            "max_processes": self.max_processes,
        }
        worker = self._acquire()
        started = time.monotonic()
        try:
            for attempt in range(2):
                if worker is None or not worker.alive():
                    if worker is not None:
                        worker.kill()
                    worker = None  # so a failed start leaves a lazy slot, not a dead worker
                    worker = self._start_worker()
                try:
                    return result_from_reply(worker.call(request, timeout), request)
                except _WorkerLost as lost:
                    worker.kill()
                    worker = None
                    # Lost before the program started (a worker killed while idle): retry once.
                    if lost.program_started or attempt:
                        return lost_result(time.monotonic() - started)
            raise AssertionError("unreachable")
        finally:
            self._release(worker)

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers' outermost processes (for monitoring and tests)."""
        with self._idle.mutex:
            idle = list(self._idle.queue)
        return [w.proc.pid for w in idle if w is not None and w.alive()]

    def close(self) -> None:
        """Stop all workers; idempotent. Workers busy in other threads stop when they finish."""
        if self._closed:
            return
        self._closed = True
        if self._pid != os.getpid():
            return  # a forked copy: the workers belong to the parent process
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker is not None:
                worker.kill()
        for _ in range(self.workers):
            self._idle.put(None)  # wakes threads waiting for a worker; they then see `closed`

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.workers} workers"
        return f"Sandbox(isolation={self.isolation!r}, {state})"

    # -- pool --------------------------------------------------------------------------------

    def _reset_pool(self) -> None:
        """Fresh, empty pool state, owned by the current process."""
        self._pid = os.getpid()
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()  # LIFO keeps one worker hot

    def _acquire(self) -> _Worker | None:
        """An idle worker, or None for a slot whose worker must be (re)started."""
        if self._pid != os.getpid():
            # Forked (e.g. by AsyncVectorEnv): the pipes lead to the parent's workers, which the
            # parent still uses. Leave them alone and start this process's own, lazily.
            self._reset_pool()
            for _ in range(self.workers):
                self._idle.put(None)
        if self._closed:
            raise RuntimeError("this Sandbox is closed")
        worker = self._idle.get()
        if self._closed:
            self._idle.put(worker)
            raise RuntimeError("this Sandbox is closed")
        return worker

    def _release(self, worker: _Worker | None) -> None:
        if self._closed or self._pid != os.getpid():
            if worker is not None and self._pid == os.getpid():
                worker.kill()
            return
        if worker is None:
            with contextlib.suppress(Exception):  # replace it now; else the next call will
                worker = self._start_worker()
        self._idle.put(worker)

    def _spawn(self) -> _Worker:
        uid = None
        if os.geteuid() == 0:
            # RLIMIT_NPROC ignores root, so programs get a uid of their own: unique per live
            # worker (pid, counter), so the limit counts only this worker's programs.
            uid = _BASE_UID + (os.getpid() % 2**22) * 512 + next(self._serial) % 512
        return _Worker(self.isolation, uid)

    def _start_worker(self) -> _Worker:
        worker = self._spawn()
        try:
            worker.wait_ready()
        except BaseException:
            worker.kill()
            raise
        return worker


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """One lazily created pool per process (re-created after a fork), closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._pid != os.getpid() or _shared.closed:
            # Stopped by CPU time, with the wall clock only catching programs that wait: the
            # same seed then gives the same code result on an idle or a busy machine.
            _shared = Sandbox(timeout_s=30.0, cpu_s=5.0)
        return _shared


def _close_shared() -> None:
    if _shared is not None and _shared._pid == os.getpid():
        _shared.close()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay held forever in the child.
    global _shared_lock
    _shared_lock = threading.Lock()


atexit.register(_close_shared)
os.register_at_fork(after_in_child=_after_fork_in_child)


# -- one worker, seen from the pool ----------------------------------------------------------


class _WorkerLost(Exception):
    def __init__(self, program_started: bool) -> None:
        super().__init__("worker lost")
        self.program_started = program_started


class _Worker:
    """One server process (inside bwrap or not) and the pipes to it."""

    def __init__(self, isolation: str, uid: int | None) -> None:
        config: dict[str, Any] = {"isolation": isolation, "scratch": "/tmp", "uid": uid}
        argv = worker_argv(isolation, config)
        self.proc = subprocess.Popen(
            argv + [json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # read only if the worker fails to start
            env=ENV,
            cwd="/",
            start_new_session=True,  # its own process group, killed as one
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._to, self._from = self.proc.stdin.fileno(), self.proc.stdout.fileno()

    def wait_ready(self) -> None:
        """Block until the server says it is ready; raise RuntimeError if it does not."""
        try:
            hello = recv(self._from, time.monotonic() + _START_TIMEOUT_S)
        except (EOFError, TimeoutError, ValueError) as error:
            self.kill()
            detail = ""
            if self.proc.stderr is not None:
                detail = self.proc.stderr.read().decode(errors="replace").strip()[-2000:]
            raise RuntimeError(f"sandbox worker failed to start ({error!r}): {detail}") from None
        if isinstance(hello, dict) and "isolation_failed" in hello:
            self.kill()
            raise RuntimeError(f"{NEEDS_ISOLATION}: {hello['isolation_failed']}")
        if hello != {"ready": True}:
            self.kill()
            raise RuntimeError(f"sandbox worker sent {hello!r} instead of ready")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one program, return the server's reply; raise _WorkerLost if the worker fails."""
        try:
            send(self._to, request)
            ack = read_exact(self._from, 1, time.monotonic() + _ACK_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError):
            raise _WorkerLost(program_started=False) from None
        if ack != b"A":
            raise _WorkerLost(program_started=False)
        try:
            return recv(self._from, time.monotonic() + timeout_s + GRACE_S)
        except (OSError, EOFError, TimeoutError, ValueError):
            raise _WorkerLost(program_started=True) from None

    def kill(self) -> None:
        """Stop the worker and everything in its process group; idempotent."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
