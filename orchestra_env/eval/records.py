"""The run file: one JSON object per line, a header first, then one line per finished episode
(and one per failed attempt, which a resumed run retries).

    {"record": "header", "format": 1, "agent": ..., "env_id": ..., "seed": ..., ...}
    {"record": "episode", "agent": ..., "task_id": ..., "trial": 0, "outcome": 1, ...}
    {"record": "error", "agent": ..., "task_id": ..., "trial": 1, "error": "...", ...}

Every line is written with a single `write` and fsync'ed before the next episode is counted,
so a killed run leaves complete lines plus at most one torn last line, which resuming cuts
off (it was never a finished episode) and reading skips.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:  # POSIX: keep two runs from appending to one file at once
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; runs go unlocked there
    fcntl = None

FORMAT = 1


class RunFileError(ValueError):
    """A run file that cannot be read or resumed (corrupt, foreign, or in use)."""


class RunMismatchError(RunFileError):
    """Resuming a run file written by a different agent, env, kwargs, seed or split."""


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode, as stored on one line of a run file.

    `seed` is the seed the env was reset with (replay: `env.reset(seed=seed,
    options={"task_id": task_id})`); `run_seed` is the run's seed it was derived from.
    With live experts, `expert_calls` counts the episode's expert calls and `expert_errors`
    lists the failed ones (`{"alias", "model", "error"}`); both stay unset (and off the line)
    for simulated experts.
    """

    agent: str
    env_id: str
    env_kwargs: dict[str, Any]
    task_id: str
    family: str
    seed: int
    run_seed: int
    trial: int
    outcome: int
    reward: float
    reward_terms: dict[str, float]
    cost_usd: float
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    turns: int
    format_errors: int
    calls: dict[str, int]
    calls_by_alias: dict[str, int]
    trajectory: list[dict] | None = None
    expert_calls: int | None = None
    expert_errors: list[dict] = field(default_factory=list)

    @property
    def unit(self) -> tuple[str, int]:
        """The episode unit this record completes: (task_id, trial)."""
        return self.task_id, self.trial

    def ledger(self) -> dict:
        """The episode's ledger as `Ledger.as_dict()` gave it (what `rewards.paid_calls` and
        `rewards.group_normalized` read)."""
        return {
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "calls": self.calls,
            "calls_by_alias": self.calls_by_alias,
        }

    def to_json(self) -> dict:
        data = {"record": "episode", **asdict(self)}
        if self.trajectory is None:
            del data["trajectory"]
        if self.expert_calls is None:  # simulated experts: the line stays as it always was
            del data["expert_calls"], data["expert_errors"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> EpisodeRecord:
        names = {f.name for f in fields(cls)}
        missing = sorted(names - set(data) - {"trajectory", "expert_calls", "expert_errors"})
        if missing:
            raise KeyError(f"episode record lacks {missing}")
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class EpisodeFailure:
    """An episode that raised (a backend down, an agent bug). Kept on an `"error"` line for
    the record, but it finishes no unit: resuming plays the unit again."""

    agent: str
    task_id: str
    trial: int
    seed: int
    error: str  # "ExceptionType: message"
    traceback: str
    unreachable: bool = False  # the agent's server could not be reached: the run stops

    def to_json(self) -> dict:
        return {"record": "error", **asdict(self)}


@dataclass(frozen=True)
class RunHeader:
    """What a run is: resuming checks every field but `created` against the file's header."""

    agent: str
    agent_target: str
    agent_kwargs: dict[str, Any]
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    split: str
    format: int = FORMAT
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    def identity(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "created"}

    def to_json(self) -> dict:
        return {"record": "header", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> RunHeader:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data. An object JSON cannot hold (e.g. a `Profiles` passed as an env
    kwarg) becomes "<TypeName sha256:…>" of its repr: short on every line, and the same on
    resume as long as its repr is (a repr with a memory address makes resuming refuse)."""
    return json.loads(json.dumps(value, sort_keys=True, default=_fingerprint))


def _fingerprint(obj: Any) -> str:
    digest = hashlib.sha256(repr(obj).encode()).hexdigest()[:16]
    return f"<{type(obj).__qualname__} sha256:{digest}>"


def _encode(data: dict) -> bytes:
    return (json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _parse_lines(raw: bytes, path: Path) -> tuple[list[dict], int]:
    """The complete lines of `raw` as dicts, and the byte length they cover (a torn tail
    without its newline is not covered). A malformed complete line is corruption: an error."""
    end = raw.rfind(b"\n") + 1
    rows = []
    for number, line in enumerate(raw[:end].splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunFileError(
                f"{path}:{number}: not a JSON line ({exc}); the run file is corrupt"
            ) from exc
    return rows, end


def _split_rows(rows: list[dict], path: Path) -> tuple[RunHeader | None, list[EpisodeRecord]]:
    if not rows:
        return None, []
    if rows[0].get("record") != "header":
        raise RunFileError(f"{path}: the first line is not a run header; is this a run file?")
    try:
        header = RunHeader.from_json(rows[0])
    except TypeError as exc:
        raise RunFileError(
            f"{path}:1: bad run header ({exc}); written by another version?"
        ) from exc
    records: dict[tuple[str, int], EpisodeRecord] = {}
    for number, row in enumerate(rows[1:], 2):
        kind = row.get("record")
        if kind == "error":  # a failed attempt: no result
            continue
        if kind != "episode":
            raise RunFileError(f"{path}:{number}: unknown record kind {kind!r}")
        try:
            record = EpisodeRecord.from_json(row)
        except (KeyError, TypeError) as exc:
            raise RunFileError(f"{path}:{number}: bad episode record: {exc}") from exc
        if record.unit in records:  # only an unlocked concurrent writer could do this
            warnings.warn(
                f"{path}:{number}: task {record.task_id!r} trial {record.trial} again; "
                "keeping the first",
                stacklevel=3,
            )
            continue
        records[record.unit] = record
    return header, list(records.values())


def read_run(path: str | Path) -> tuple[RunHeader | None, list[EpisodeRecord]]:
    """The header and episodes of a run file, without changing it; a torn last line (a run
    being written or one that was killed) is skipped."""
    path = Path(path)
    raw = path.read_bytes()
    rows, end = _parse_lines(raw, path)
    if end < len(raw):
        warnings.warn(
            f"{path}: ignoring an incomplete last line ({len(raw) - end} bytes)", stacklevel=2
        )
    return _split_rows(rows, path)


class RunFile:
    """A run file open for appending, locked against other writers.

    Opening repairs a torn tail, refuses a file whose header differs from `header`, and writes
    the header to a new file. `done` holds the units already finished.
    """

    def __init__(self, path: str | Path, header: RunHeader):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock()
            self.header, self.records = self._recover(header)
        except BaseException:
            os.close(self._fd)
            raise
        if created:  # make the new directory entry durable too
            _fsync_dir(self.path.parent)
        self.done = {r.unit for r in self.records}

    def append(self, record: EpisodeRecord | EpisodeFailure) -> None:
        """Write one line durably (one write, then fsync)."""
        self._write(_encode(record.to_json()))
        if isinstance(record, EpisodeRecord):
            self.records.append(record)
            self.done.add(record.unit)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def __enter__(self) -> RunFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunFileError(
                f"{self.path} is being written by another run; wait for it or choose another --out"
            ) from exc

    def _recover(self, header: RunHeader) -> tuple[RunHeader, list[EpisodeRecord]]:
        raw = _read_all(self._fd)
        rows, end = _parse_lines(raw, self.path)
        found, records = _split_rows(rows, self.path)
        if found is not None:  # before any change: a foreign file is left as it is
            _check_identity(found, header, self.path)
        if end < len(raw):  # a torn last line: the episode it began was never finished
            warnings.warn(
                f"{self.path}: dropping an incomplete last line ({len(raw) - end} bytes)",
                stacklevel=3,
            )
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        if found is None:
            self._write(_encode(header.to_json()))
            return header, []
        return found, records

    def _write(self, data: bytes) -> None:
        os.lseek(self._fd, 0, os.SEEK_END)
        written = os.write(self._fd, data)
        if written != len(data):  # a short write on a regular file means the disk is full
            raise OSError(f"{self.path}: wrote {written} of {len(data)} bytes (disk full?)")
        os.fsync(self._fd)


def _check_identity(found: RunHeader, wanted: RunHeader, path: Path) -> None:
    old, new = found.identity(), wanted.identity()
    diffs = [
        f"{k}: file has {old.get(k)!r}, this run has {new[k]!r}"
        for k in new
        if old.get(k) != new[k]
    ]
    if diffs:
        raise RunMismatchError(
            f"{path} holds a different run, so it cannot be resumed:\n  "
            + "\n  ".join(diffs)
            + "\nchoose another output file, or delete this one to start over"
        )


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
