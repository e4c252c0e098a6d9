"""What a user sees from `orchestra`: one-line errors, whole ids in `list`, turn-by-turn `play`,
the extra to install, and Ctrl-C in `train`."""

from __future__ import annotations

import re
import sys
import types

import pytest

import orchestra_env
from orchestra_env.cli import main
from orchestra_env.eval.agent import agent_names
from orchestra_env.models.profiles import load_profiles
from orchestra_env.train import write_together


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    """`orchestra argv` in this process: (exit status, everything printed)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out + err


@pytest.fixture(autouse=True)
def _columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # what a plain terminal (and rich off a terminal) gives


@pytest.mark.parametrize(
    "argv",
    [
        ("eval", "--env", "Nope", "--agent", "random", "--out", "x.jsonl"),
        ("play", "--env", "Nope"),
        ("run", "--env", "Nope"),
    ],
)
def test_an_unknown_env_is_one_line_listing_the_known_ids(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    status, out = run_cli(capsys, *argv)
    assert status == 2 and "Traceback" not in out
    (line,) = out.splitlines()
    assert line.startswith("error: unknown env 'Nope'; known ids: ")
    assert all(env_id in line for env_id in orchestra_env.ENV_FAMILIES)
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["eval", "play"])
def test_an_unknown_agent_is_one_line_listing_the_known_agents(capsys, tmp_path, command):
    extra = ("--out", str(tmp_path / "x.jsonl")) if command == "eval" else ()
    status, out = run_cli(capsys, command, "--agent", "nope", "--env", "ToolOrchestra-v0", *extra)
    assert status == 2 and "Traceback" not in out
    (line,) = out.splitlines()
    assert line.startswith("error: unknown agent 'nope'; registered: ")
    assert all(name in line for name in agent_names())


def test_play_names_arguments_an_agent_lacks(capsys):
    status, out = run_cli(capsys, "play", "--agent", "alone", "--env", "ToolOrchestra-Multihop-v0")
    assert status == 2 and len(out.splitlines()) == 1
    assert "'model'" in out and "--agent-kwarg KEY=VALUE" in out


def test_list_shows_every_id_and_alias_whole_at_80_columns(capsys):
    status, out = run_cli(capsys, "list")
    assert status == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = {w for line in lines for w in line.split()}
    assert set(orchestra_env.ENV_FAMILIES) <= words
    assert set(load_profiles().aliases) <= words


def test_play_shows_each_action_its_reply_and_cost(capsys):
    status, out = run_cli(
        capsys,
        "play",
        "--agent",
        "evidence-first",
        "--env",
        "ToolOrchestra-Multihop-v0",
        "--episodes",
        "1",
    )
    assert status == 0
    # tool, arguments, the alias billed, the step's $ and simulated seconds
    step = r'^turn 1  search \{"model": "(search-\d)"\}  alias (\S+)  \$\d+\.\d{4}  \d+\.\d s$'
    turn = re.search(step, out, re.M)
    assert turn and turn.group(1) == turn.group(2)
    # the search results as the policy reads them: "[1] Title" is not eaten as markup
    assert re.search(r"^    tool: Query \(local\): .*\n(( {4}.*)?\n)*    \[1\] \S", out, re.M)
    end = r"^outcome [01]  reward -?\d\.\d{3}  \$\d+\.\d{4}  \d+\.\d s  \d+ turns$"
    assert re.search(end, out, re.M)
    assert re.search(r"^grading: answer=.*expected=", out, re.M)


def test_play_renders_the_toolorchestra_prompt(capsys):
    status, out = run_cli(
        capsys,
        "play",
        "--agent",
        "evidence-first",
        "--env",
        "ToolOrchestra-Multihop-v0",
        "--episodes",
        "1",
        "--render",
        "toolorchestra",
    )
    assert status == 0
    assert out.splitlines()[1].startswith("Problem: ")  # the rebuilt prompt, not the chat
    assert re.search(r"^    user: Documents:\n    \[1\] \S", out, re.M)  # what the search added


@pytest.mark.parametrize("argv", [("compare", "runs"), ("run", "--runs", "runs", "--out", "out")])
def test_a_command_without_its_extra_names_it_before_any_work(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    if argv[0] == "compare":  # a real run file, which only the plots cannot take
        assert (
            main(
                [
                    "eval",
                    "--agent",
                    "random",
                    "--env",
                    "ToolOrchestra-Reasoning-v0",
                    "--episodes",
                    "1",
                    "--out",
                    "runs/r.jsonl",
                    "--no-progress",
                ]
            )
            == 0
        )
        capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    status, out = run_cli(capsys, *argv)
    assert status == 1
    command = argv[0]
    assert out.splitlines() == [
        f'orchestra {command} needs the "plots" extra: pip install -e ".[plots]"'
    ]
    assert not (tmp_path / "out").exists()


def _fake_mini(monkeypatch, train) -> None:
    """`orchestra_env.train.mini` replaced by a module whose `train` is `train` (no torch)."""
    module = types.ModuleType("orchestra_env.train.mini")
    module.train = train
    monkeypatch.setitem(sys.modules, "orchestra_env.train.mini", module)


def test_ctrl_c_in_train_says_nothing_was_saved(capsys, tmp_path, monkeypatch):
    def interrupted(config, out, **_):
        raise KeyboardInterrupt

    _fake_mini(monkeypatch, interrupted)
    status, out = run_cli(capsys, "train", "--steps", "64", "--out", str(tmp_path / "mini"))
    assert status == 130 and out.splitlines()[-1] == "interrupted; nothing saved"


def test_ctrl_c_in_train_names_what_was_saved(capsys, tmp_path, monkeypatch):
    (tmp_path / "older.csv").write_text("from an earlier run\n")

    def interrupted_after_the_checkpoint(config, out, **_):
        (out / "orchestra-mini.npz").write_bytes(b"weights")
        raise KeyboardInterrupt

    _fake_mini(monkeypatch, interrupted_after_the_checkpoint)
    status, out = run_cli(capsys, "train", "--steps", "64", "--out", str(tmp_path))
    assert status == 130
    assert out.splitlines()[-1] == f"interrupted; saved orchestra-mini.npz in {tmp_path}"


def test_write_together_leaves_the_old_files_when_interrupted(tmp_path):
    weights, meta = tmp_path / "m.npz", tmp_path / "m.json"
    weights.write_text("old weights")
    meta.write_text("old meta")

    def interrupted(path):
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_together({weights: lambda p: p.write_text("new weights"), meta: interrupted})
    assert (weights.read_text(), meta.read_text()) == ("old weights", "old meta")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]  # no temporaries
    write_together(
        {weights: lambda p: p.write_text("new weights"), meta: lambda p: p.write_text("new")}
    )
    assert (weights.read_text(), meta.read_text()) == ("new weights", "new")
