"""The evaluator's runner against a small fake env that keeps exactly the env's contract:
resume after SIGKILL and torn lines, identity checks, workers, interruption, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium import spaces

from orchestra_env.eval import (
    AgentSpec,
    EpisodeError,
    RunFileError,
    RunMismatchError,
    UnknownAgentError,
    evaluate,
    make_agent,
    read_run,
    register_agent,
    unit_seed,
)
from orchestra_env.eval.cli import add_eval_commands, parse_kwargs
from orchestra_env.eval.records import RunFile, RunHeader
from orchestra_env.eval.runner import AllExpertCallsFailed, EndpointUnreachable
from orchestra_env.models.backends import Generation
from orchestra_env.models.profiles import load_profiles
from tests.test_backends import closed_port

FAKE_ENV = "OrchestraEvalFake-v0"
ROOT = Path(__file__).resolve().parents[1]
PRICES = {"cheap": 0.001, "strong": 0.02}
SUCCESS = {"cheap": 0.4, "strong": 0.85}


class FakeOrchestraEnv(gym.Env):
    """The env contract the evaluator relies on, nothing more: `task_ids(split, n)`, reset
    with `options={"task_id"}`, dict observations with chat `messages`, string actions, and
    the end-of-episode info. Outcome and cost are random draws from the reset seed; actions
    "cheap" and "strong" are priced tool calls, anything else is a format error."""

    def __init__(self, families=("alpha", "beta"), step_delay: float = 0.0):
        self.families = tuple(families)
        self.step_delay = step_delay
        self.action_space = spaces.Text(16)
        self.observation_space = spaces.Dict({})  # the env checker is off for this id

    def task_ids(self, split: str, n: int) -> list[str]:
        return [f"{self.families[i % len(self.families)]}/{split}-{i}" for i in range(n)]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._task = (options or {}).get("task_id") or self.task_ids("train", 1)[0]
        self._turns = self._errors = 0
        self._cost = self._latency = 0.0
        self._calls, self._aliases = Counter(), Counter()
        self._length = int(self.np_random.integers(1, 4))
        self._messages = [{"role": "user", "content": f"solve {self._task}"}]
        return self._obs(), self._info()

    def step(self, action: str):
        if self.step_delay:
            time.sleep(self.step_delay)
        self._turns += 1
        if action in PRICES:
            self._calls["answer"] += 1
            self._calls["search"] += int(self.np_random.integers(0, 2))
            self._aliases[f"answer-{action}"] += 1
            self._cost += PRICES[action] * float(self.np_random.uniform(0.5, 1.5))
            self._latency += float(self.np_random.uniform(1, 3))
        else:
            self._errors += 1
        self._messages += [
            {"role": "assistant", "content": action},
            {"role": "tool", "content": f"turn {self._turns}"},
        ]
        info = self._info()
        terminated = self._turns >= self._length
        reward = 0.0
        if terminated:
            p = SUCCESS.get(action, 0.0)
            outcome = int(self.np_random.random() < p)
            terms = {"outcome": float(outcome), "cost": -self._cost, "total": outcome - self._cost}
            info.update(outcome=outcome, reward_terms=terms)
            reward = terms["total"]
        return self._obs(), reward, terminated, False, info

    def _obs(self) -> dict:
        return {"messages": tuple(dict(m) for m in self._messages)}

    def _info(self) -> dict:
        return {
            "task_id": self._task,
            "family": self._task.split("/")[0],
            "turns": self._turns,
            "format_errors": self._errors,
            "ledger": {
                "cost_usd": self._cost,
                "latency_s": self._latency,
                "prompt_tokens": 100 * self._turns,
                "completion_tokens": 10 * self._turns,
                "calls": dict(self._calls),
                "calls_by_alias": dict(self._aliases),
            },
        }


if FAKE_ENV not in gym.registry:
    gym.register(FAKE_ENV, entry_point=FakeOrchestraEnv, disable_env_checker=True)


class FakeAgent:
    """Always the same action. On its episode number `fail_at` / `interrupt_at` / `exit_at`
    (1-based) it raises, raises KeyboardInterrupt, or ends its process; on tasks named in
    `fail_tasks` it always raises."""

    def __init__(self, action="cheap", fail_at=0, interrupt_at=0, exit_at=0, fail_tasks=()):
        self.name = f"fake-{action}"
        self.action, self.fail_at, self.interrupt_at, self.exit_at = (
            action,
            fail_at,
            interrupt_at,
            exit_at,
        )
        self.fail_tasks = set(fail_tasks)
        self.episodes = 0

    def reset(self, observation: dict, info: dict) -> None:
        self.episodes += 1
        if self.episodes == self.interrupt_at:
            raise KeyboardInterrupt
        if self.episodes == self.fail_at or info["task_id"] in self.fail_tasks:
            raise RuntimeError("agent bug")
        if self.episodes == self.exit_at:
            os._exit(3)

    def act(self, observation: dict) -> str:
        return self.action


def _local_factory():
    def build():  # a closure: pickle cannot send it to another process
        return FakeAgent("strong")

    return build


register_agent("fake", FakeAgent)
register_agent("fake-local", _local_factory())


def episodes_of(path: Path) -> list[dict]:
    """The episode lines, as dicts sorted by unit."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(
        (r for r in rows if r["record"] == "episode"), key=lambda r: (r["task_id"], r["trial"])
    )


def run(out: Path, **overrides) -> Path:
    kwargs = {"episodes": 6, "trials": 2, "seed": 7, "progress": False} | overrides
    spec = kwargs.pop("spec", AgentSpec("fake", {"action": "cheap"}))
    return evaluate(spec, FAKE_ENV, out=out, **kwargs)


# -- basics -------------------------------------------------------------------------------------


def test_unit_seed_is_stable_and_distinct():
    # Pinned: changing the derivation would silently change every recorded episode.
    assert unit_seed(0, "multihop/0", 0) == unit_seed(0, "multihop/0", 0) == 2203705993260960758
    seeds = {unit_seed(s, t, k) for s in (0, 1) for t in ("a/0", "a/1") for k in (0, 1)}
    assert len(seeds) == 8 and all(0 <= s < 2**63 for s in seeds)


def test_records_hold_the_contract(tmp_path):
    out = run(tmp_path / "r.jsonl", keep_trajectory=True)
    header, records = read_run(out)
    assert header.agent == "fake(action=cheap)" and header.seed == 7 and header.split == "test"
    assert len(records) == 12
    assert Counter(r.trial for r in records) == {0: 6, 1: 6}
    assert {r.family for r in records} == {"alpha", "beta"}
    r = records[0]
    assert r.agent == "fake(action=cheap)" and r.env_id == FAKE_ENV and r.run_seed == 7
    assert r.seed == unit_seed(7, r.task_id, r.trial)
    assert r.reward == pytest.approx(r.reward_terms["total"])
    assert r.calls["answer"] == r.turns == len(r.trajectory) - 1
    assert r.trajectory[0] == {
        "action": None,
        "message": {"role": "user", "content": f"solve {r.task_id}"},
    }
    assert r.trajectory[1]["action"] == "cheap"
    assert out.read_bytes().endswith(b"\n")


def test_same_seed_same_records_and_replayable(tmp_path):
    a, b = run(tmp_path / "a.jsonl"), run(tmp_path / "b.jsonl")
    assert episodes_of(a) == episodes_of(b)
    r = read_run(a)[1][3]
    env = gym.make(FAKE_ENV)
    env.reset(seed=r.seed, options={"task_id": r.task_id})
    for _ in range(r.turns):
        *_, info = env.step("cheap")
    assert info["outcome"] == r.outcome and info["ledger"]["cost_usd"] == r.cost_usd


def test_rerun_is_a_no_op_and_more_episodes_extend(tmp_path):
    out = run(tmp_path / "r.jsonl", episodes=4)
    before = out.read_bytes()
    run(out, episodes=4)
    assert out.read_bytes() == before
    run(out, episodes=6)
    assert out.read_bytes().startswith(before)
    assert episodes_of(out) == episodes_of(run(tmp_path / "full.jsonl", episodes=6))


# -- resume after interruption ------------------------------------------------------------------

SLOW = {"step_delay": 0.02}
CHILD = """
import sys
from tests.test_eval_runner import run, SLOW
run(__import__("pathlib").Path(sys.argv[1]), env_kwargs=SLOW)
"""


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    out = tmp_path / "killed.jsonl"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (out.exists() and out.read_bytes().count(b"\n") >= 5):  # header + 4 episodes
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    killed_at = len(read_run(out)[1])
    assert 4 <= killed_at < 12
    run(out, env_kwargs=SLOW)
    resumed = episodes_of(out)
    assert len({(r["task_id"], r["trial"]) for r in resumed}) == len(resumed) == 12
    assert resumed == episodes_of(run(tmp_path / "whole.jsonl", env_kwargs=SLOW))


def test_torn_last_line_is_dropped_and_replayed(tmp_path):
    out = run(tmp_path / "r.jsonl")
    whole = out.read_bytes()
    last_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    out.write_bytes(whole[: last_start + 40])  # the last record half written
    with pytest.warns(UserWarning, match="incomplete last line"):
        assert len(read_run(out)[1]) == 11  # reading skips it, and leaves the file alone
    assert len(out.read_bytes()) == last_start + 40
    with pytest.warns(UserWarning, match="dropping an incomplete last line"):
        run(out)
    assert out.read_bytes() == whole


def test_keyboard_interrupt_keeps_finished_episodes(tmp_path):
    out = tmp_path / "r.jsonl"
    flaky = AgentSpec("fake", {"interrupt_at": 5}, name="fake")  # Ctrl-C on its 5th episode
    for saved in (4, 8):
        with pytest.raises(KeyboardInterrupt):
            run(out, spec=flaky)
        assert len(read_run(out)[1]) == saved and out.read_bytes().endswith(b"\n")
    run(out, spec=flaky)  # 4 units left: done before a 5th episode
    assert episodes_of(out) == episodes_of(
        run(tmp_path / "ref.jsonl", spec=AgentSpec("fake", name="fake"))
    )


def test_failed_episodes_are_logged_skipped_and_retried_on_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    flaky = AgentSpec("fake", {"fail_at": 3}, name="fake")  # raises on its 3rd episode
    with pytest.raises(
        EpisodeError,
        match=r"(?s)1 of 12 episodes failed.*task 'alpha/test-2' trial 0: RuntimeError: agent bug",
    ):
        run(out, spec=flaky)
    errors = [
        json.loads(line) for line in out.read_text().splitlines() if '"record": "error"' in line
    ]
    assert [(e["task_id"], e["trial"], e["error"]) for e in errors] == [
        ("alpha/test-2", 0, "RuntimeError: agent bug")
    ]
    assert "agent bug" in errors[0]["traceback"] and len(read_run(out)[1]) == 11
    run(out, spec=flaky)  # one unit left: the agent's 1st episode, which succeeds
    assert episodes_of(out) == episodes_of(
        run(tmp_path / "ref.jsonl", spec=AgentSpec("fake", name="fake"))
    )


def test_more_failures_than_max_errors_stop_the_run(tmp_path):
    out = tmp_path / "r.jsonl"
    with pytest.raises(EpisodeError, match=r"1 episodes failed, more than max_errors=0: stopping"):
        run(out, spec=AgentSpec("fake", {"fail_at": 3}), max_errors=0)
    assert len(read_run(out)[1]) == 2


# -- identity and file safety -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seed": 8}, "seed"),
        ({"env_kwargs": {"families": ["alpha"]}}, "env_kwargs"),
        ({"spec": AgentSpec("fake", {"action": "strong"})}, "agent"),
        ({"split": "validation"}, "split"),
    ],
)
def test_resuming_a_different_run_is_refused(tmp_path, change, field):
    out = run(tmp_path / "r.jsonl", episodes=2)
    before = out.read_bytes()
    with pytest.raises(RunMismatchError, match=rf"(?s){field}: file has .*this run has"):
        run(out, episodes=2, **change)
    assert out.read_bytes() == before


def test_a_run_file_has_one_writer_at_a_time(tmp_path):
    header = RunHeader("a", "fake", {}, FAKE_ENV, {}, 0, "test")
    with RunFile(tmp_path / "r.jsonl", header):
        with pytest.raises(RunFileError, match="being written by another run"):
            RunFile(tmp_path / "r.jsonl", header)
    RunFile(tmp_path / "r.jsonl", header).close()  # released on close


def test_corrupt_middle_line_is_an_error_not_silently_dropped(tmp_path):
    out = run(tmp_path / "r.jsonl", episodes=2)
    lines = out.read_bytes().splitlines(keepends=True)
    lines[2] = b"{not json\n"
    out.write_bytes(b"".join(lines))
    with pytest.raises(RunFileError, match=r"r\.jsonl:3: not a JSON line"):
        run(out, episodes=2)


def test_a_duplicated_record_counts_once(tmp_path):
    out = run(tmp_path / "r.jsonl", episodes=2)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join([*lines, lines[1]]))
    with pytest.warns(UserWarning, match=r"r\.jsonl:6: task .* again; keeping the first"):
        assert len(read_run(out)[1]) == 4


def test_a_foreign_file_with_a_torn_tail_is_left_untouched(tmp_path):
    out = run(tmp_path / "r.jsonl", episodes=2)
    out.write_bytes(out.read_bytes() + b'{"record": "epi')
    before = out.read_bytes()
    with pytest.raises(RunMismatchError):
        run(out, episodes=2, seed=8)
    assert out.read_bytes() == before


def test_not_a_run_file(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text('{"hello": 1}\n')
    with pytest.raises(RunFileError, match="not a run header"):
        run(out)


# -- workers, agents, arguments -----------------------------------------------------------------


def test_two_workers_give_the_same_records_as_one(tmp_path):
    one = run(tmp_path / "one.jsonl", episodes=8)
    two = run(tmp_path / "two.jsonl", episodes=8, workers=2)
    assert episodes_of(two) == episodes_of(one)


def test_a_finished_run_lets_its_workers_exit_on_their_own(tmp_path, monkeypatch):
    # A worker killed at the end leaves its queues' semaphores behind (Python then warns of
    # leaked semaphores at shutdown); after the last episode each has its stop sentinel.
    from multiprocessing.context import SpawnProcess

    killed = []
    monkeypatch.setattr(SpawnProcess, "terminate", lambda self: killed.append(self.name))
    run(tmp_path / "r.jsonl", episodes=8, workers=2)
    assert killed == []


def test_failures_in_workers_are_logged_like_inline_ones(tmp_path):
    out = tmp_path / "r.jsonl"
    failing = {"fail_tasks": ["alpha/test-0", "beta/test-3"]}
    with pytest.raises(EpisodeError, match="2 of 4 episodes failed"):
        run(out, episodes=4, trials=1, workers=2, spec=AgentSpec("fake", failing))
    assert len(read_run(out)[1]) == 2 and out.read_text().count('"record": "error"') == 2


def test_a_worker_that_cannot_build_its_agent_stops_the_run(tmp_path):
    with pytest.raises(EpisodeError, match=r"(?s)could not go on.*TypeError.*bogus"):
        run(
            tmp_path / "r.jsonl",
            episodes=4,
            trials=1,
            workers=2,
            spec=AgentSpec("fake", {"bogus": 1}),
        )


def test_a_dead_worker_stops_the_run_with_a_clear_error(tmp_path):
    out = tmp_path / "r.jsonl"
    with pytest.raises(EpisodeError, match=r"worker process .* died \(exit code 3\)"):
        run(out, episodes=4, trials=1, workers=2, spec=AgentSpec("fake", {"exit_at": 2}))
    assert out.read_bytes().endswith(b"\n")


def test_unpicklable_factory_works_inline_and_is_refused_for_workers(tmp_path):
    assert len(read_run(run(tmp_path / "a.jsonl", spec=AgentSpec("fake-local")))[1]) == 12
    with pytest.raises(ValueError, match="cannot be sent to worker processes"):
        run(tmp_path / "b.jsonl", spec=AgentSpec("fake-local"), workers=2)


def test_unknown_agent_lists_the_known_ones():
    with pytest.raises(
        UnknownAgentError, match=r"unknown agent 'nope'; registered: .*evidence-first.*fake"
    ):
        make_agent("nope")
    with pytest.raises(UnknownAgentError, match="cannot import agent factory"):
        make_agent("tests.test_eval_runner:Nope")
    assert make_agent("tests.test_eval_runner:FakeAgent", action="strong").name == "fake-strong"


def test_registering_another_factory_under_a_taken_name_is_refused():
    register_agent("fake", FakeAgent)  # the same again: fine
    with pytest.raises(ValueError, match="already registered"):
        register_agent("fake", dict)


def test_bad_counts_are_refused(tmp_path):
    with pytest.raises(ValueError, match="trials=0"):
        run(tmp_path / "r.jsonl", trials=0)


def test_progress_is_quiet_off_a_terminal(tmp_path, capsys):
    run(tmp_path / "r.jsonl", progress=True)
    assert capsys.readouterr() == ("", "")


def test_cli_eval_writes_and_resumes(tmp_path):
    import argparse
    import io

    from rich.console import Console

    parser = argparse.ArgumentParser()
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "cli.jsonl"
    argv = [
        "eval",
        "--agent",
        "tests.test_eval_runner:FakeAgent",
        "--agent-kwarg",
        "action=strong",
        "--env",
        FAKE_ENV,
        "--env-kwarg",
        'families=["alpha"]',
        "--episodes",
        "3",
        "--trials",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    console = Console(record=True, width=200, file=io.StringIO())
    args = parser.parse_args(argv)
    assert args.func(args, console) == 0
    assert "solved" in console.export_text()
    records = read_run(out)[1]
    assert len(records) == 6 and {r.family for r in records} == {"alpha"}
    args = parser.parse_args([*argv, "--seed", "1"])
    assert args.func(args, console) == 2  # another seed into the same file: refused, explained
    assert "seed: file has 0, this run has 1" in console.export_text()


def test_parse_kwargs():
    assert parse_kwargs(["a=3", "b=true", 'c=["x"]', "d=hello", "e=a=b"]) == {
        "a": 3,
        "b": True,
        "c": ["x"],
        "d": "hello",
        "e": "a=b",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_kwargs(["novalue"])


# -- live models --------------------------------------------------------------------------------

LIVE_ENV = "ToolOrchestra-Multihop-v0"
SEARCH_THEN_ANSWER = AgentSpec(
    "orchestra_env.baselines.routers:FixedPlan",
    {
        "plan": [["search", {"model": "search-2"}], ["answer", {"model": "answer-1"}]],
        "name": "plan",
    },
)


class CannedAnswer:
    """A live expert backend that always answers 42."""

    def generate(self, messages, *, tools=None, **sampling) -> Generation:
        return Generation("<answer>42</answer>", 50, 5, 0.0)

    def __repr__(self) -> str:  # stable: it is fingerprinted into the run header
        return "CannedAnswer()"


def dead_backend(port: int) -> dict:
    return {
        "backend": "openai",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "model": "m",
        "connect_tries": 1,
        "max_retries": 0,
    }


def live_run(out: Path, backends: dict, **overrides) -> Path:
    env_kwargs = {"experts": "live", "expert_backends": backends, "policy_model": None}
    kwargs = {"episodes": 3, "progress": False, "env_kwargs": env_kwargs} | overrides
    return evaluate(SEARCH_THEN_ANSWER, LIVE_ENV, out=out, **kwargs)


def test_failed_expert_calls_are_recorded_and_warned_about(tmp_path, capsys):
    port = closed_port()
    out = live_run(tmp_path / "r.jsonl", {"answer-1": CannedAnswer(), "*": dead_backend(port)})
    records = read_run(out)[1]
    assert [(r.expert_calls, len(r.expert_errors)) for r in records] == [(2, 1)] * 3
    failed = records[0].expert_errors[0]
    assert failed["alias"] == "search-2"
    assert failed["model"] == load_profiles().aliases["search-2"].model
    assert f"could not reach http://127.0.0.1:{port}/v1 after 1 try over" in failed["error"]
    assert all(r.calls_by_alias == {"search-2": 1, "answer-1": 1} for r in records)
    err = capsys.readouterr().err
    assert "warning: 3 of 6 expert calls failed (search-2 (" in err
    assert "[backend=openai, model='m'" in err  # printed as text, not eaten as rich markup
    simulated = evaluate(
        SEARCH_THEN_ANSWER, LIVE_ENV, out=tmp_path / "s.jsonl", episodes=2, progress=False
    )
    assert "expert_" not in simulated.read_text()  # simulated run files are unchanged


def test_a_run_whose_expert_calls_all_failed_fails(tmp_path):
    with pytest.raises(AllExpertCallsFailed, match=r"^all 6 expert calls failed \(3×: search-2"):
        live_run(tmp_path / "r.jsonl", {"*": dead_backend(closed_port())})
    assert len(read_run(tmp_path / "r.jsonl")[1]) == 3  # kept, with their errors, for the record


def test_the_cli_exits_1_when_every_expert_call_failed(tmp_path):
    import argparse
    import io

    from rich.console import Console

    parser = argparse.ArgumentParser()
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    backends = json.dumps({"*": dead_backend(closed_port())})
    args = parser.parse_args(
        [
            "eval",
            "--agent",
            "cheapest-first",
            "--env",
            LIVE_ENV,
            "--episodes",
            "2",
            "--no-progress",
            "--experts",
            "live",
            "--env-kwarg",
            f"expert_backends={backends}",
            "--out",
            str(tmp_path / "r.jsonl"),
        ]
    )
    console = Console(record=True, width=400, file=io.StringIO())
    assert args.func(args, console) == 1
    text = console.export_text()
    assert "expert calls failed" in text and "[backend=openai" in text


def test_an_unreachable_agent_server_stops_the_run_at_once(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    spec = AgentSpec("llm", {"backend": "openai", "base_url": url, "model": "m", "backoff": 0.01})
    start = time.perf_counter()
    with pytest.raises(EndpointUnreachable, match=f"could not reach {url} after 3 tries"):
        evaluate(
            spec, LIVE_ENV, out=tmp_path / "r.jsonl", episodes=20, progress=False, max_errors=100
        )
    assert time.perf_counter() - start < 15
    assert (tmp_path / "r.jsonl").read_text().count('"record": "error"') == 1
