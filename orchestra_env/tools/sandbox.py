"""A code interpreter for untrusted, model-written Python programs.

`Sandbox.run(code)` runs a program in a separate process and returns a `SandboxResult`; it never
raises for anything the program does. RL runs thousands of these, so a call costs milliseconds:

* A pool of warm *workers*. Each worker is a small Python server (this very file, run as a
  script) started once, inside `bwrap` when it works. Per call the server forks a fresh child,
  so one program never sees another's state, and pays only for a fork, not an interpreter start.
* The child runs in a new session with rlimits (CPU, address space, processes, file size, open
  files), in a fresh empty working directory, with stdout/stderr on pipes the server caps. The
  server enforces the wall-clock limit, kills the child's process group and then every other
  process the program left behind, and wipes the scratch directory before the next call.
* Isolation: the worker lives in new mount/pid/net/ipc/uts (and, unless we are root, user)
  namespaces: no network, not even the host's loopback. It sees read-only `/usr`, `/lib*` and
  the Python install, a tmpfs `/tmp` and nothing else: no `/etc`, `/home`, `/work`, and of
  `/root` only the Python install if that is where it lives (pyenv). `"bwrap"` has bubblewrap
  build that; `"process"` (no bwrap needed) builds the same with unshare, mounts and chroot,
  which takes root or user namespaces: where neither works, the sandbox refuses to start.
* Programs hold no capabilities (none effective, permitted, inheritable, ambient or in the
  bounding set) and set no_new_privs. When the caller is root they also run as an unprivileged
  uid of their own, without supplementary groups: RLIMIT_NPROC does not apply to root, and a
  fork bomb must be stopped.

The worker side (everything under "Worker side" below) uses only the standard library, because
inside the sandbox only the Python install is visible, not this package.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import json
import math
import os
import queue
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, NoReturn

ISOLATIONS = ("auto", "bwrap", "process")
STATUSES = ("ok", "error", "timeout", "memory", "output_limit", "killed")

_PROGRAM = "<program>"  # the file name tracebacks show for the program
_SERVER_IN_SANDBOX = "/opt/orchestra_sandbox/server.py"  # where bwrap shows this file
_MEMORY_EXIT = 203  # exit code the child uses after a MemoryError
_SETUP_EXIT = 205  # exit code when the sandbox could not set the child up
_BASE_UID = 2_000_000_000  # programs of a root caller run as _BASE_UID + a per-worker number
_ACK_TIMEOUT_S = 10.0  # an idle worker answers a request at once; longer means it is broken
_GRACE_S = 5.0  # time the server gets beyond the program's limit to kill, reap and wipe
_START_TIMEOUT_S = 60.0
_TMP_BYTES = 256 * 2**20  # files in the sandbox's /tmp live in RAM: bound them
_NEEDS_ISOLATION = (
    "code execution needs isolation: install bubblewrap (apt-get install bubblewrap), or run "
    "as root or where user namespaces are allowed, so that isolation='process' can isolate "
    "programs itself; it failed"
)
_ENV = {  # the whole environment of the worker: fixed, and no secrets inherited
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONUTF8": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


@dataclass(frozen=True)
class SandboxResult:
    """What one program did."""

    status: str  # "ok" | "error" | "timeout" | "memory" | "output_limit" | "killed"
    stdout: str  # captured, truncated to the output cap
    stderr: str  # captured (traceback on error), truncated
    exit_code: int | None  # negative: killed by that signal; None: unknown
    cpu_seconds: float  # CPU time the program used (what the env charges for)
    wall_seconds: float
    message: str  # one sentence for the agent

    def as_text(self) -> str:
        """What the agent sees: the output, or the output so far plus what went wrong."""
        if self.status == "ok":
            return self.stdout or "(no output)"
        parts = (self.stdout.rstrip("\n"), self.stderr.rstrip("\n"), self.message)
        return "\n".join(part for part in parts if part)


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
        if workers < 1 or timeout_s <= 0 or memory_mb < 32 or max_output_bytes < 1 or max_processes < 1:
            raise ValueError("workers, timeout_s, max_output_bytes, max_processes must be positive; memory_mb >= 32")
        self.workers = workers
        self.timeout_s = float(timeout_s)
        self.cpu_s = cpu_s
        self.memory_mb = memory_mb
        self.max_output_bytes = max_output_bytes
        self.max_processes = max_processes
        self.isolation = _choose_isolation(isolation)
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
            "cpu_s": math.ceil(timeout) + 1 if self.cpu_s is None else max(1, math.ceil(self.cpu_s)),
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
                    return _result(worker.call(request, timeout), request)
                except _WorkerLost as lost:
                    worker.kill()
                    worker = None
                    # Lost before the program started (a worker killed while idle): retry once.
                    if lost.program_started or attempt:
                        return _lost_result(time.monotonic() - started)
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


# -- isolation choice --------------------------------------------------------------------------

_warned_fallback = False


def _choose_isolation(requested: str) -> str:
    """The isolation mode to use: bwrap when asked and working, else process (see `auto`)."""
    global _warned_fallback
    if requested == "process":
        return "process"
    problem = _bwrap_problem()
    if problem is None:
        return "bwrap"
    if requested == "bwrap":
        raise RuntimeError(f"bwrap isolation is unavailable: {problem}")
    if not _warned_fallback:
        _warned_fallback = True
        warnings.warn(
            f"bwrap is unavailable ({problem}); the code sandbox uses isolation='process', "
            "which isolates programs itself with namespaces, mounts and chroot. Install "
            "bubblewrap (apt-get install bubblewrap) for the more widely tested isolation.",
            RuntimeWarning,
            stacklevel=3,
        )
    return "process"


@functools.lru_cache(maxsize=1)
def _bwrap_problem() -> str | None:
    """None if bwrap can start this Python in the sandbox we use; else what went wrong."""
    if _bwrap_path() is None:
        return "the bwrap executable is not on PATH"
    argv = _bwrap_argv() + [_interpreter(), "-S", "-c", "print('ok')"]
    try:
        done = subprocess.run(argv, env=_ENV, cwd="/", capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"running bwrap failed: {error}"
    if done.returncode != 0 or done.stdout.strip() != b"ok":
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap exited with {done.returncode}" + (f": {detail[-1]}" if detail else "")
    return None


@functools.lru_cache(maxsize=1)
def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def _interpreter() -> str:
    """The base interpreter: a venv's python is a link to (or copy of) it."""
    candidate = os.path.join(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    return candidate if os.access(candidate, os.X_OK) else os.path.realpath(sys.executable)


@functools.lru_cache(maxsize=1)
def _bwrap_argv() -> list[str]:
    """bwrap and its options, up to (not including) the command to run inside."""
    bwrap = _bwrap_path()
    assert bwrap is not None
    argv = [bwrap, "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        # Root in a user namespace is still root to RLIMIT_NPROC, so no user namespace: the
        # server keeps the few capabilities it needs to hand programs their own uid, chown
        # their directory, kill them and wipe their files (and CAP_SETPCAP to empty the bounding
        # set, then drop it); programs get none.
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        argv += ["--cap-drop", "ALL"]
        for cap in [*_SERVER_CAPS, "CAP_SETPCAP"]:
            argv += ["--cap-add", cap]
    else:
        argv += ["--unshare-all", "--cap-drop", "ALL"]
    for step in _visible_tree():
        argv += [f"--{step[0]}", *step[1:]]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if _bwrap_has_size():
        argv += ["--size", str(_TMP_BYTES)]
    argv += ["--tmpfs", "/tmp", "--ro-bind", os.path.abspath(__file__), _SERVER_IN_SANDBOX]
    argv += ["--chdir", "/tmp"]
    return argv


@functools.lru_cache(maxsize=1)
def _visible_tree() -> tuple[tuple[str, ...], ...]:
    """What programs see of the host, as bwrap options (both isolations build it from this):
    ("symlink", target, path), ("dir", path), ("ro-bind", source, path)."""
    tree: list[tuple[str, ...]] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            tree.append(("symlink", os.readlink(path), path))
        elif os.path.isdir(path):
            tree.append(("ro-bind", path, path))
    tree.append(("ro-bind", "/usr", "/usr"))
    for prefix in _python_prefixes():
        # bwrap would create the missing parents 0700; programs of another uid must pass them.
        parent, parents = os.path.dirname(prefix), []
        while parent not in ("/", ""):
            parents.append(parent)
            parent = os.path.dirname(parent)
        tree += [("dir", directory) for directory in reversed(parents)]
        tree.append(("ro-bind", prefix, prefix))
    return tuple(tree)


def _python_prefixes() -> list[str]:
    """Directories outside /usr that the interpreter needs (stdlib, libpython)."""
    interpreter_prefix = os.path.dirname(os.path.dirname(_interpreter()))
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix, interpreter_prefix)}
    outside = sorted(p for p in prefixes if p != "/usr" and not p.startswith("/usr/"))
    return [p for p in outside if not any(p.startswith(q + "/") for q in outside)]


@functools.lru_cache(maxsize=1)
def _bwrap_has_size() -> bool:
    """bwrap >= 0.8 can cap a tmpfs's size."""
    try:
        done = subprocess.run([_bwrap_path() or "bwrap", "--help"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return b"--size" in done.stdout + done.stderr


# -- one worker, seen from the pool ----------------------------------------------------------


class _WorkerLost(Exception):
    def __init__(self, program_started: bool) -> None:
        super().__init__("worker lost")
        self.program_started = program_started


class _Worker:
    """One server process (inside bwrap or not) and the pipes to it."""

    def __init__(self, isolation: str, uid: int | None) -> None:
        config: dict[str, Any] = {"isolation": isolation, "scratch": "/tmp", "uid": uid}
        if isolation == "bwrap":
            argv = _bwrap_argv() + [_interpreter(), "-S", _SERVER_IN_SANDBOX]
        else:
            # The server mounts its new root over this existing directory, in a mount namespace
            # of its own: the host's directory stays untouched, and nothing is left to clean up.
            config["root"] = tempfile.gettempdir()
            config["tree"] = _visible_tree()
            argv = [_interpreter(), "-S", os.path.abspath(__file__)]
        self.proc = subprocess.Popen(
            argv + [json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # read only if the worker fails to start
            env=_ENV,
            cwd="/",
            start_new_session=True,  # its own process group, killed as one
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._to, self._from = self.proc.stdin.fileno(), self.proc.stdout.fileno()

    def wait_ready(self) -> None:
        """Block until the server says it is ready; raise RuntimeError if it does not."""
        try:
            hello = _recv(self._from, time.monotonic() + _START_TIMEOUT_S)
        except (EOFError, TimeoutError, ValueError) as error:
            self.kill()
            detail = ""
            if self.proc.stderr is not None:
                detail = self.proc.stderr.read().decode(errors="replace").strip()[-2000:]
            raise RuntimeError(f"sandbox worker failed to start ({error!r}): {detail}") from None
        if isinstance(hello, dict) and "isolation_failed" in hello:
            self.kill()
            raise RuntimeError(f"{_NEEDS_ISOLATION}: {hello['isolation_failed']}")
        if hello != {"ready": True}:
            self.kill()
            raise RuntimeError(f"sandbox worker sent {hello!r} instead of ready")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one program, return the server's reply; raise _WorkerLost if the worker fails."""
        try:
            _send(self._to, request)
            ack = _read_exact(self._from, 1, time.monotonic() + _ACK_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError):
            raise _WorkerLost(program_started=False) from None
        if ack != b"A":
            raise _WorkerLost(program_started=False)
        try:
            return _recv(self._from, time.monotonic() + timeout_s + _GRACE_S)
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


def _result(reply: dict[str, Any], request: dict[str, Any]) -> SandboxResult:
    """Turn the server's raw facts about a run into a status and a message."""
    status, message = _classify(reply, request)
    return SandboxResult(
        status=status,
        stdout=reply["stdout"],
        stderr=reply["stderr"],
        exit_code=reply["exit_code"],
        cpu_seconds=reply["cpu_seconds"],
        wall_seconds=reply["wall_seconds"],
        message=message,
    )


def _classify(reply: dict[str, Any], request: dict[str, Any]) -> tuple[str, str]:
    code, stderr = reply["exit_code"], reply["stderr"]
    stopped = reply["stopped"]
    if stopped == "timeout":
        return "timeout", f"stopped: exceeded the {float(request['timeout_s'])!r} s time limit"
    if stopped == "output_limit":
        return "output_limit", (
            f"stopped: the output exceeded the {request['max_output_bytes']} byte limit (truncated)"
        )
    if code == -signal.SIGXCPU:
        return "timeout", f"stopped: exceeded the {request['cpu_s']} s CPU time limit"
    last_line = stderr.rstrip().rsplit("\n", 1)[-1]
    if (code == _MEMORY_EXIT and last_line.startswith("MemoryError")) or (
        code is not None and code < 0 and "MemoryError" in stderr
    ):
        return "memory", f"stopped: exceeded the {request['memory_mb']} MB memory limit"
    if code is not None and code < 0:
        return "killed", f"stopped: the program was killed by signal {_signal_name(-code)}"
    if code == 0:
        return "ok", "the program ran successfully"
    if code == _SETUP_EXIT:
        return "error", "error: the sandbox could not start the program"
    if code == 1 and ("Traceback (most recent call last)" in stderr or "Error" in last_line):
        name = last_line.split(":", 1)[0].strip()
        if name.replace(".", "").replace("_", "").isalnum():
            return "error", f"error: the program raised {name}"
    return "error", f"error: the program exited with code {code}"


def _lost_result(wall_s: float) -> SandboxResult:
    return SandboxResult(
        status="killed",
        stdout="",
        stderr="",
        exit_code=None,
        cpu_seconds=0.0,
        wall_seconds=wall_s,
        message="stopped: the sandbox worker running the program died (it has been replaced)",
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# -- wire format: 4-byte length + JSON, both directions ----------------------------------------


def _send(fd: int, message: Any) -> None:
    data = json.dumps(message).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _recv(fd: int, deadline: float | None = None) -> Any:
    (size,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    return json.loads(_read_exact(fd, size, deadline))


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    """`size` bytes from `fd`; EOFError if it closes first, TimeoutError past `deadline`."""
    data = bytearray()
    while len(data) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError(f"no reply within the deadline ({len(data)}/{size} bytes)")
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        data += chunk
    return bytes(data)


# =============================================================================================
# Worker side: runs as `python -S sandbox.py CONFIG`, inside bwrap or not. Standard library only.
# =============================================================================================

_PRELOAD = (  # imported once by the server, so programs importing them pay nothing
    "array", "bisect", "calendar", "cmath", "collections", "copy", "dataclasses", "datetime",
    "decimal", "enum", "fractions", "functools", "hashlib", "heapq", "itertools", "json",
    "math", "operator", "random", "re", "statistics", "string", "textwrap", "typing",
    "traceback", "linecache", "types", "builtins", "atexit", "ctypes",
)  # fmt: skip
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_READ, _PR_CAPBSET_DROP = 1, 4, 23, 24
_PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 36, 38
_SERVER_CAPS = {  # what a root server keeps to manage programs of another uid
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
}  # fmt: skip
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x20000, 0x4000000, 0x8000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE, _MS_RELATIME = 32, 4096, 16384, 1 << 18, 1 << 21
_DEVICES = ("null", "zero", "full", "random", "urandom")


def _serve(config: dict[str, Any]) -> None:
    """Answer requests on stdin with replies on stdout until stdin closes."""
    import importlib

    del sys.path[0]  # this script's directory; programs get their work dir instead
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the pool (process mode)
    try:
        if config["isolation"] == "process":
            _isolate(config)
        _drop_bounding_set()  # we never exec, so no cap can be needed there: programs inherit it
        _capset(0 if config["uid"] is None else sum(1 << cap for cap in _SERVER_CAPS.values()))
    except OSError as error:
        _send(1, {"isolation_failed": str(error)})
        return
    _prctl(_PR_SET_DUMPABLE, 0)  # programs sharing our uid must not ptrace us
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphans of programs become ours to kill and reap
    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    import gc

    gc.freeze()  # keep the preloaded objects' pages shared with the children
    if config["uid"] is None:
        # Programs share our uid, so RLIMIT_NPROC counts what already runs as it.
        config["tasks_before"] = _tasks_of_uid(os.getuid())
    devnull = os.open(os.devnull, os.O_RDWR)
    _send(1, {"ready": True})
    while True:
        try:
            request = _recv(0)
        except EOFError:
            return
        os.write(1, b"A")  # the program is about to run: a lost worker now means a lost call
        _send(1, _execute(request, config, devnull))


def _isolate(config: dict[str, Any]) -> None:
    """Process mode: what bwrap does. Returns in a child, pid 1 of new namespaces, chrooted."""
    uid, gid, rootless = os.getuid(), os.getgid(), os.geteuid() != 0
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS
    _libc_call("unshare", flags | (_CLONE_NEWUSER if rootless else 0))
    if rootless:  # keep our own uid and gid: the only ones an unprivileged process may map
        maps = {"setgroups": "deny", "uid_map": f"{uid} {uid} 1", "gid_map": f"{gid} {gid} 1"}
        for name, line in maps.items():
            with open(f"/proc/self/{name}", "w") as file:
                file.write(line)
    pid = os.fork()  # the new pid namespace holds our children, not us
    if pid:
        _capset(0)  # waiting needs no privilege
        _, status = os.waitpid(pid, 0)
        os._exit(0 if status == 0 else 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the parent that waits for us
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing we mount may reach the host
    _build_root(config["root"], config["tree"], config["scratch"])
    os.chroot(config["root"])
    os.chdir("/")


def _build_root(root: str, tree: list[list[str]], scratch: str) -> None:
    """Mount at `root` a read-only tmpfs holding the host directories of `tree` (bound in
    read-only), a fresh /proc, a few devices and a writable tmpfs at `scratch`.

    A program cannot leave a chroot without CAP_SYS_CHROOT, and programs hold no capability.
    """
    _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    os.umask(0o022)  # what bwrap's --dir gives: programs of another uid must pass
    for kind, *args in tree:
        if kind == "symlink":
            os.symlink(args[0], root + args[1])
            continue
        os.makedirs(root + args[-1], exist_ok=True)
        if kind == "ro-bind":
            _bind(args[0], root + args[1], readonly=True)
    os.mkdir(f"{root}/proc")
    _mount("proc", f"{root}/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    os.mkdir(f"{root}/dev")
    for name in _DEVICES:
        open(f"{root}/dev/{name}", "w").close()
        _bind(f"/dev/{name}", f"{root}/dev/{name}", readonly=False)
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{number}", f"{root}/dev/{name}")
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    os.mkdir(root + scratch)
    _mount("tmpfs", root + scratch, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={_TMP_BYTES},mode=0711")
    _mount(None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _bind(source: str, target: str, readonly: bool) -> None:
    _mount(source, target, None, _MS_BIND | _MS_REC)
    if readonly:
        # Keep the host mount's flags: a user namespace may not clear them (EPERM).
        host = os.statvfs(target).f_flag
        kept = host & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME | os.ST_NODIRATIME)
        kept |= _MS_RELATIME if host & os.ST_RELATIME else 0  # the other ST_ bits equal MS_ ones
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | kept)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    import ctypes

    def arg(text: str | None) -> bytes | None:
        return text.encode() if text else None

    try:
        _libc_call("mount", arg(source), arg(target), arg(fstype), ctypes.c_ulong(flags), arg(data))
    except OSError as error:
        what = f"{source or fstype or 'remount'} on {target}"
        raise OSError(error.errno, f"mount {what}: {os.strerror(error.errno)}") from None


def _execute(request: dict[str, Any], config: dict[str, Any], devnull: int) -> dict[str, Any]:
    """Run one program in a forked child and gather what it did."""
    work = os.path.join(config["scratch"], "work")
    os.mkdir(work, 0o700)
    if config["uid"] is not None:
        os.chown(work, config["uid"], config["uid"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(request, config, work, devnull, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    out, err = bytearray(), bytearray()
    stopped = _collect(pid, {out_r: out, err_r: err}, request, started)
    for target in (-pid, pid):  # its process group (it made one), then itself
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    cpu = usage.ru_utime + usage.ru_stime + _kill_leftovers()
    os.close(out_r)
    os.close(err_r)
    try:
        _wipe(config["scratch"])
    except (OSError, RecursionError):
        os._exit(1)  # cannot clean up: die, and the pool replaces us with a clean worker
    cap = request["max_output_bytes"]
    return {
        "stdout": bytes(out[:cap]).decode("utf-8", "replace"),
        "stderr": bytes(err[:cap]).decode("utf-8", "replace"),
        "exit_code": os.waitstatus_to_exitcode(status),
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "stopped": stopped,
    }


def _collect(pid: int, buffers: dict[int, bytearray], request: dict[str, Any], started: float) -> str | None:
    """Read the child's output until it exits; "timeout"/"output_limit" if we must stop it."""
    deadline = started + request["timeout_s"]
    cap = request["max_output_bytes"]
    try:
        exit_fd: int | None = os.pidfd_open(pid)  # readable once the child exits
    except (AttributeError, OSError):
        exit_fd = None  # old kernel: poll instead
    open_fds = set(buffers)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            watch = list(open_fds) + ([exit_fd] if exit_fd is not None else [])
            wait = remaining if exit_fd is not None else min(remaining, 0.005)
            ready = select.select(watch, [], [], wait)[0]
            if _read_ready(ready, buffers, open_fds, cap):
                return "output_limit"
            exited = exit_fd in ready if exit_fd is not None else _has_exited(pid)
            if exited:
                # Take what is already in the pipes; processes it left behind get no longer.
                while open_fds:
                    ready = select.select(list(open_fds), [], [], 0)[0]
                    if not ready:
                        break
                    if _read_ready(ready, buffers, open_fds, cap):
                        return "output_limit"
                return None
    finally:
        if exit_fd is not None:
            os.close(exit_fd)


def _read_ready(ready: list[int], buffers: dict[int, bytearray], open_fds: set[int], cap: int) -> bool:
    """Read the ready pipes; True as soon as one holds more than `cap` bytes."""
    for fd in ready:
        if fd in open_fds:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
            buffers[fd] += chunk
            if len(buffers[fd]) > cap:
                return True
    return False


def _has_exited(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_leftovers() -> float:
    """Kill and reap every process the program left behind; return their CPU seconds.

    The server is a child subreaper, so anything the program started and did not wait for
    (even a daemon in its own session) becomes our child once its parent dies. Reaping them
    here matters: zombies still count towards RLIMIT_NPROC, and not every init reaps them.
    """
    cpu = 0.0
    give_up = time.monotonic() + _GRACE_S / 2
    while time.monotonic() < give_up:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no children left: the common case costs this one system call
        if pid:
            cpu += usage.ru_utime + usage.ru_stime
            continue
        # Our own pid namespace holds only its init (us, in process mode), us and what the
        # program started.
        with contextlib.suppress(OSError):
            os.kill(-1, signal.SIGKILL)
        time.sleep(0.0005)
    return cpu


def _wipe(directory: str) -> None:
    """Delete everything inside `directory`, including entries the program made unreadable."""
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.chmod(entry.path, 0o700)
            _wipe(entry.path)
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)


def _child(request: dict[str, Any], config: dict[str, Any], work: str, devnull: int, out_w: int, err_w: int) -> NoReturn:
    """The forked child: confine itself, then run the program. Never returns."""
    status = _SETUP_EXIT
    try:
        os.setsid()  # own process group: the server kills it as one
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 1 << 16)  # the server's pipes and anything else it holds
        _apply_limits(request, config)
        _become(config["uid"])
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)  # no regaining privileges through setuid binaries
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after _become: a uid change clears it
        _prctl(_PR_SET_DUMPABLE, 1)  # undo the server's setting: the program's /proc is its own
        os.chdir(work)
        os.environ.update(HOME=work, TMPDIR=work)
        sys.path.insert(0, work)  # like `python -c`: modules the program writes are importable
        status = _run_program(request["code"])
    except BaseException as error:  # noqa: B036 - nothing may escape a forked child
        with contextlib.suppress(BaseException):
            os.write(2, f"sandbox: could not start the program: {error!r}\n".encode())
    finally:
        os._exit(status)


def _apply_limits(request: dict[str, Any], config: dict[str, Any]) -> None:
    memory = request["memory_mb"] * 2**20
    cpu = request["cpu_s"]
    processes = request["max_processes"] + config.get("tasks_before", 0)
    for limit, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),  # SIGXCPU, then SIGKILL a second later
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_NPROC, (processes, processes)),
        (resource.RLIMIT_FSIZE, (memory, memory)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(limit, value)


def _become(uid: int | None) -> None:
    """Drop every capability; given a `uid` (the server is root), become it, without groups."""
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # clears the effective, permitted and ambient sets
    # The inheritable set survives setresuid; a server in a user namespace has every capability
    # there. The bounding set the server already emptied.
    _capset(0)


def _run_program(code: str) -> int:
    """Execute `code` as `__main__`, print a traceback if it fails; return its exit status."""
    import builtins
    import linecache
    import random
    import traceback
    import types

    linecache.cache[_PROGRAM] = (len(code), None, code.splitlines(True), _PROGRAM)
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    sys.argv = [_PROGRAM]
    random.seed(0)  # preloaded, so seeded alike for every program: same code, same output
    try:
        exec(compile(code, _PROGRAM, "exec"), main.__dict__)
        status = 0
    except SystemExit as stop:
        status = _exit_status(stop.code)
    except MemoryError as error:
        # Free what the program holds, so that reporting does not run out of memory too.
        traceback.clear_frames(error.__traceback__)
        main.__dict__.clear()
        try:
            traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        except MemoryError:
            with contextlib.suppress(BaseException):
                sys.stderr.write("MemoryError\n")
        status = _MEMORY_EXIT
    except BaseException as error:  # noqa: B036 - report whatever the program raised
        # Skip our own frame: the traceback starts in the program, as with `python file.py`.
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        status = 1
    _finish()
    return status


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(BaseException):
        print(code, file=sys.stderr)
    return 1


def _finish() -> None:
    """What interpreter shutdown would do: join threads, run atexit, flush the streams."""
    import atexit as program_atexit

    steps = [program_atexit._run_exitfuncs, sys.stdout.flush, sys.stderr.flush]
    if "threading" in sys.modules:
        steps.insert(0, sys.modules["threading"]._shutdown)
    for step in steps:
        with contextlib.suppress(BaseException):
            step()


def _tasks_of_uid(uid: int) -> int:
    """Threads now running as `uid`, as far as /proc shows (RLIMIT_NPROC counts threads)."""
    count = 0
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError):
                    if os.stat(f"/proc/{name}").st_uid == uid:
                        count += len(os.listdir(f"/proc/{name}/task"))
    return count


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _libc_call(name: str, *args: Any) -> int:
    """Call libc's `name`; raise OSError (with its errno) if it fails."""
    import ctypes

    result = getattr(_libc(), name)(*args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")
    return result


def _prctl(option: int, arg2: int, arg3: int = 0) -> int:
    import ctypes

    return _libc_call("prctl", option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), 0, 0)


def _drop_bounding_set() -> None:
    """Remove every capability from the bounding set (dropping needs CAP_SETPCAP, reading not)."""
    for cap in range(64):
        try:
            present = _prctl(_PR_CAPBSET_READ, cap)
        except OSError:
            return  # past the kernel's last capability
        if present:
            _prctl(_PR_CAPBSET_DROP, cap)


def _capset(mask: int) -> None:
    """Keep exactly the capabilities in `mask` effective and permitted; none inheritable."""
    import ctypes

    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    low, high = mask & 0xFFFFFFFF, mask >> 32
    data = (ctypes.c_uint32 * 6)(low, low, 0, high, high, 0)  # effective, permitted, inheritable
    _libc_call("capset", header, data)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
