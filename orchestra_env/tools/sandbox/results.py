"""What one program did (`SandboxResult`), from the facts a worker server reports."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from orchestra_env.tools.sandbox.server import MEMORY_EXIT, SETUP_EXIT

STATUSES = ("ok", "error", "timeout", "memory", "output_limit", "killed")


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


def result_from_reply(reply: dict[str, Any], request: dict[str, Any]) -> SandboxResult:
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
    if (code == MEMORY_EXIT and last_line.startswith("MemoryError")) or (
        code is not None and code < 0 and "MemoryError" in stderr
    ):
        return "memory", f"stopped: exceeded the {request['memory_mb']} MB memory limit"
    if code is not None and code < 0:
        return "killed", f"stopped: the program was killed by signal {_signal_name(-code)}"
    if code == 0:
        return "ok", "the program ran successfully"
    if code == SETUP_EXIT:
        return "error", "error: the sandbox could not start the program"
    if code == 1 and ("Traceback (most recent call last)" in stderr or "Error" in last_line):
        name = last_line.split(":", 1)[0].strip()
        if name.replace(".", "").replace("_", "").isalnum():
            return "error", f"error: the program raised {name}"
    return "error", f"error: the program exited with code {code}"


def lost_result(wall_s: float) -> SandboxResult:
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
