"""README.md's snippets run as written: the RL loop plays every task family without a format
error, the CPU GRPO command is the smoke test's, and installs name the checkout's extras."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import gymnasium as gym
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)

ROOT = Path(__file__).resolve().parents[1]
RL_LOOP = "A 30-line RL loop"
REAL_MAKE = gym.make


def section(heading: str) -> str:
    """The text of README.md's `## heading` section."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def code_blocks(heading: str, language: str) -> list[str]:
    """The fenced `language` code blocks of a README section, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", section(heading), re.M | re.S)


class EpisodeEnds(gym.Wrapper):
    """Keeps the last info of every episode the env plays, in `ends`."""

    def __init__(self, env: gym.Env, ends: list[dict]):
        super().__init__(env)
        self.ends = ends

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated or truncated:
            self.ends.append(info)
        return obs, reward, terminated, truncated, info


def run_rl_loop(monkeypatch) -> tuple[dict, list[dict]]:
    """Exec the README's RL loop; returns its namespace and the last info of each episode."""
    ends: list[dict] = []
    monkeypatch.setattr(gym, "make", lambda *a, **kw: EpisodeEnds(REAL_MAKE(*a, **kw), ends))
    namespace: dict = {}
    exec(code_blocks(RL_LOOP, "python")[0], namespace)
    return namespace, ends


def test_rl_loop_plays_every_family_without_format_errors(monkeypatch, capsys):
    namespace, ends = run_rl_loop(monkeypatch)
    assert len(ends) == 6 + 4  # its six episodes, then the group of four
    assert [i["task_id"] for i in ends[6:]] == ["multihop/0"] * 4
    assert len(capsys.readouterr().out.splitlines()) == 6 + 1
    ends += [namespace["rollout"](seed) for seed in range(6, 40)]  # more tasks and domains
    assert {i["family"] for i in ends} == {"multihop", "reasoning", "function_calling"}
    errors = {i["task_id"]: i["format_errors"] for i in ends if i["format_errors"]}
    assert not errors, f"the README policy wrote malformed actions: {errors}"


def grpo_script():
    spec = importlib.util.spec_from_file_location("grpo_train", ROOT / "examples" / "grpo_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_cpu_grpo_command_is_the_smoke_test():
    """The offline CPU command runs the arguments tests/test_trl.py trains with, on the tiny
    model the line before it builds."""
    from tests.test_trl import tiny_args  # skips without trl, as that smoke test does

    smoke_block = next(b for b in code_blocks("Train", "bash") if "build_tiny_qwen3" in b)
    build, train = smoke_block.replace("\\\n", " ").strip().splitlines()
    argv = shlex.split(train)
    assert argv[:2] == ["python", "examples/grpo_train.py"]
    script = grpo_script()
    readme = script.parse_args(argv[2:])
    assert f"build_tiny_qwen3('{readme.model}')" in build
    smoke = script.parse_args(tiny_args(readme.model, readme.output_dir, steps=2))
    assert readme == smoke


def test_readme_gpu_grpo_command_parses_with_the_papers_settings():
    """The documented GPU command names only flags the script has, and the script's defaults
    are the paper's recipe (8 rollouts x 16 tasks per step, lr 1e-6, KL 1e-4, temperature 1)."""
    pytest.importorskip("trl")
    block = next(
        b for b in code_blocks("Train", "bash") if "--use-vllm" in b and "grpo_train.py" in b
    )
    line = next(x for x in block.replace("\\\n", " ").splitlines() if "grpo_train.py" in x)
    args = grpo_script().parse_args(shlex.split(line)[2:])
    assert args.use_vllm and args.reward == "group"
    assert (args.num_generations, args.prompts_per_step) == (8, 16)
    assert (args.learning_rate, args.beta, args.temperature) == (1e-6, 1e-4, 1.0)


def test_readme_installs_name_the_checkouts_extras():
    """`orchestra-env` is not on PyPI: installs are `pip install -e ".[extra]"` of extras that
    pyproject.toml defines."""
    tomllib = pytest.importorskip("tomllib")
    readme = (ROOT / "README.md").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "orchestra-env[" not in readme
    named = re.findall(r'pip install -e "\.\[(\w+)\]"', readme)
    assert {"train", "sb3", "ray"} <= set(named) <= set(extras)


def test_readme_train_commands_are_the_shipped_checkpoints_recipe():
    """The documented `orchestra train` commands parse into the very configs the shipped
    orchestra-mini checkpoint records (so running them reproduces the checkpoint): the last
    one made it, each one before made the checkpoint the next starts from (`--init-from`)."""
    import argparse
    import json
    from dataclasses import asdict

    from orchestra_env.agents.mini import OrchestraMini
    from orchestra_env.train import MiniConfig
    from orchestra_env.train.cli import add_train_command, config_from_args

    text = section("Train").replace("\\\n", " ")
    lines = [x for x in text.splitlines() if x.strip().startswith("orchestra train --policy")]
    parser = argparse.ArgumentParser(prog="orchestra")
    add_train_command(parser.add_subparsers(dest="command", required=True))
    commands = [parser.parse_args(shlex.split(line)[1:]) for line in lines]
    # a setting added after a checkpoint was trained is not in its record: it trained as
    # that setting's default does
    defaults = json.loads(json.dumps(asdict(MiniConfig())))
    record = OrchestraMini().record
    for i, args in reversed(list(enumerate(commands))):
        config = json.loads(json.dumps(asdict(config_from_args(args))))
        assert config == {**defaults, **record["train"]}, lines[i]
        if i:
            assert config["init_from"] == str(commands[i - 1].out), lines[i]
        record = record.get("init")
    assert record is None, "the shipped checkpoint started from one no command here makes"
