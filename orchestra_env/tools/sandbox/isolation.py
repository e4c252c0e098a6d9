"""Host side of isolation: which mode to use (bwrap when it works, else process), the bwrap
command line, what programs see of the host, and the command that starts a worker server."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from typing import Any

from orchestra_env.tools.sandbox import server
from orchestra_env.tools.sandbox.server import SERVER_CAPS, TMP_BYTES

ISOLATIONS = ("auto", "bwrap", "process")
SERVER_SCRIPT = os.path.abspath(server.__file__)
SERVER_IN_SANDBOX = "/opt/orchestra_sandbox/server.py"  # where bwrap shows SERVER_SCRIPT
NEEDS_ISOLATION = (
    "code execution needs isolation: install bubblewrap (apt-get install bubblewrap), or run "
    "as root or where user namespaces are allowed, so that isolation='process' can isolate "
    "programs itself; it failed"
)
ENV = {  # the whole environment of the worker: fixed, and no secrets inherited
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONUTF8": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}

_warned_fallback = False


def choose_isolation(requested: str) -> str:
    """The isolation mode to use: bwrap when asked and working, else process (see `auto`)."""
    global _warned_fallback
    if requested == "process":
        return "process"
    problem = bwrap_problem()
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
def bwrap_problem() -> str | None:
    """None if bwrap can start this Python in the sandbox we use; else what went wrong."""
    if _bwrap_path() is None:
        return "the bwrap executable is not on PATH"
    argv = bwrap_argv() + [interpreter(), "-S", "-c", "print('ok')"]
    try:
        done = subprocess.run(argv, env=ENV, cwd="/", capture_output=True, timeout=30)
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
def interpreter() -> str:
    """The base interpreter: a venv's python is a link to (or copy of) it."""
    candidate = os.path.join(
        sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    return candidate if os.access(candidate, os.X_OK) else os.path.realpath(sys.executable)


@functools.lru_cache(maxsize=1)
def bwrap_argv() -> list[str]:
    """bwrap and its options, up to (not including) the command to run inside."""
    bwrap = _bwrap_path()
    assert bwrap is not None
    argv = [bwrap, "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        # Root in a user namespace is still root to RLIMIT_NPROC, so no user namespace: the
        # server keeps the few capabilities it needs to hand programs their own uid, chown
        # their directory, kill them and wipe their files (and CAP_SETPCAP to empty the bounding
        # set, then drop it); programs get none.
        argv += [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        argv += ["--cap-drop", "ALL"]
        for cap in [*SERVER_CAPS, "CAP_SETPCAP"]:
            argv += ["--cap-add", cap]
    else:
        argv += ["--unshare-all", "--cap-drop", "ALL"]
    for step in visible_tree():
        argv += [f"--{step[0]}", *step[1:]]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if _bwrap_has_size():
        argv += ["--size", str(TMP_BYTES)]
    argv += ["--tmpfs", "/tmp", "--ro-bind", SERVER_SCRIPT, SERVER_IN_SANDBOX]
    argv += ["--chdir", "/tmp"]
    return argv


@functools.lru_cache(maxsize=1)
def visible_tree() -> tuple[tuple[str, ...], ...]:
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
    for prefix in python_prefixes():
        # bwrap would create the missing parents 0700; programs of another uid must pass them.
        parent, parents = os.path.dirname(prefix), []
        while parent not in ("/", ""):
            parents.append(parent)
            parent = os.path.dirname(parent)
        tree += [("dir", directory) for directory in reversed(parents)]
        tree.append(("ro-bind", prefix, prefix))
    return tuple(tree)


def python_prefixes() -> list[str]:
    """Directories outside /usr that the interpreter needs (stdlib, libpython)."""
    interpreter_prefix = os.path.dirname(os.path.dirname(interpreter()))
    prefixes = {
        os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix, interpreter_prefix)
    }
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


def worker_argv(isolation: str, config: dict[str, Any]) -> list[str]:
    """The command that starts one worker server under `isolation`, less its config argument;
    in process mode, adds to `config` the root the server builds for itself."""
    if isolation == "bwrap":
        return bwrap_argv() + [interpreter(), "-S", SERVER_IN_SANDBOX]
    # The server mounts its new root over this existing directory, in a mount namespace of its
    # own: the host's directory stays untouched, and nothing is left to clean up.
    config["root"] = tempfile.gettempdir()
    config["tree"] = visible_tree()
    return [interpreter(), "-S", SERVER_SCRIPT]
