"""A built wheel installs the one import root with its data, and nothing top-level besides."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contents_and_import(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("orchestra_env-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("orchestra_env-")}
    assert tops == {"orchestra_env"}  # no top-level agents/ or baselines/
    assert "orchestra_env/models/profiles.json" in names
    assert "orchestra_env/schemas/profiles.schema.json" in names
    assert "orchestra_env/baselines/routers.py" in names

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import gymnasium as gym, orchestra_env, orchestra_env.agents, "
        "orchestra_env.baselines.routers as r;"
        "env = gym.make('orchestra_env:ToolOrchestra-v0'); env.reset(seed=0);"
        "print(orchestra_env.__file__); print(r.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert all(line.startswith(str(target)) for line in out), out
