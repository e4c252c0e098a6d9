"""The package without its optional extras: every module imports, `orchestra --help` imports
none of them, and `orchestra run` (what `make run` installs: base + matplotlib) works.

Each test runs a fresh Python in which the extras are blocked by a meta path finder installed
from a `sitecustomize` on PYTHONPATH, so that the processes `orchestra run` spawns are blocked
too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from orchestra_env.extras import EXTRAS

# Every optional extra's top-level modules: torch, transformers, trl, ray, matplotlib, ...
HEAVY = tuple(EXTRAS)
# `make run` installs matplotlib (the "plots" extra) and nothing else.
RUN_BLOCKED = tuple(m for m in HEAVY if m != "matplotlib")
# Modules that are an extra's adapter and import it at the top: keep this list short.
NEEDS_AN_EXTRA = {"orchestra_env.train.mini"}  # PPO in torch

BLOCKER = """
import os
import sys

_BLOCKED = set(os.environ["ORCHESTRA_TEST_BLOCK"].split(","))


class _BlockExtras:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _BlockExtras())
"""

IMPORT_ALL = """
import importlib, json, pkgutil
failed = {}
# agents/ and baselines/ install inside the package from their own folders: walk them too.
for root in ("orchestra_env", "orchestra_env.agents", "orchestra_env.baselines"):
    package = importlib.import_module(root)
    for info in pkgutil.walk_packages(package.__path__, root + "."):
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            failed[info.name] = str(exc)
print(json.dumps(failed))
"""

CLI = "import sys; from orchestra_env.cli import main; sys.exit(main(sys.argv[1:]))"


def python(
    code: str, *args: str, blocked=HEAVY, tmp_path, timeout=120
) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter with `blocked` modules unimportable."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "ORCHESTRA_TEST_BLOCK": ",".join(blocked),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_blocker_blocks(tmp_path):
    done = python("import torch", blocked=("torch",), tmp_path=tmp_path)
    assert done.returncode != 0 and "No module named 'torch' (blocked)" in done.stderr


def test_every_module_imports_without_the_extras(tmp_path):
    done = python(IMPORT_ALL, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    failed = json.loads(done.stdout)
    assert set(failed) == NEEDS_AN_EXTRA, failed  # and each listed one really needs its extra


def test_help_imports_no_extra(tmp_path):
    # Not blocked: where the extras are installed, --help must still leave them unimported.
    code = textwrap.dedent(f"""
        import sys
        from orchestra_env.cli import main
        for argv in (["--help"], ["train", "--help"], ["eval", "--help"], ["run", "--help"]):
            try:
                main(argv)
            except SystemExit as exc:
                assert exc.code == 0, argv
        print(sorted({{m.partition(".")[0] for m in sys.modules}} & set({HEAVY!r})))
    """)
    done = python(code, blocked=(), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_list_and_run_work_with_only_the_run_install(tmp_path):
    listed = python(CLI, "list", blocked=RUN_BLOCKED, tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "ToolOrchestra-v0" in listed.stdout and "search-3" in listed.stdout
    runs, out = tmp_path / "runs", tmp_path / "out"
    argv = ["run", "--episodes", "3", "--workers", "1", "--runs", str(runs), "--out", str(out)]
    done = python(CLI, *argv, blocked=RUN_BLOCKED, tmp_path=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Agents over all task families" in done.stdout and "GPT-5 + basic tools" in done.stdout
    assert (out / "comparison.md").exists() and (out / "pareto.png").exists()


def test_train_without_torch_names_the_extra(tmp_path):
    argv = ["train", "--steps", "64", "--out", "mini"]
    done = python(CLI, *argv, blocked=("torch",), tmp_path=tmp_path)
    assert done.returncode == 1
    expected = 'orchestra train needs the "train" extra: pip install -e ".[train]"'
    assert done.stdout.strip().splitlines() == [expected]  # one line, nothing else
    assert "Traceback" not in done.stderr and not (tmp_path / "mini").exists()


def test_a_missing_extra_is_named_only_when_the_extra_is_absent(monkeypatch):
    from orchestra_env import extras

    monkeypatch.setattr(extras, "_installed", lambda module: False)
    assert extras.extra_for("torch.nn") == "train"
    assert extras.extra_for("orchestra_env.nothing") is None  # our own bug, not an extra
    monkeypatch.setattr(extras, "_installed", lambda module: True)
    assert extras.extra_for("torch._C") is None  # an installed library missing a part
