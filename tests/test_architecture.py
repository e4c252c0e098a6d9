"""The package's import graph: no cycles, and every module imports only from layers below its
own (docs/architecture.md draws the layers). Read from the source with `ast`, so that an import
hidden under TYPE_CHECKING or inside a function counts too."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Import name -> source folder (agents/ and baselines/ install inside the one import root).
PACKAGES = {
    "orchestra_env": ROOT / "orchestra_env",
    "orchestra_env.agents": ROOT / "agents",
    "orchestra_env.baselines": ROOT / "baselines",
}
# Layers, lowest first: a module imports modules of its own layer or lower ones, never higher.
LAYERS = (
    ("records", ["core", "answers", "ledger", "tokens", "extras", "hermes", "tools.spec"]),
    ("engines", ["models", "world", "domain", "actions", "rewards", "spaces", "episode"]),
    ("tools", ["tools"]),
    ("tasks", ["tasks"]),
    ("env", ["render", "render_o8b", "env_options", "env", "registry"]),
    ("loops", ["observation", "rollout", "wrappers"]),
    ("agents", ["agents"]),
    ("baselines", ["baselines"]),
    ("jobs", ["eval", "train", "calibration", "integrations"]),
    ("front", ["cli", ""]),
)


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            if package == "orchestra_env" and parts[:1] in (["agents"], ["baselines"]):
                continue
            found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports (a `from pkg import sub` counts as pkg.sub)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        for target in targets:
            resolved = _resolve(target) if target.startswith("orchestra_env") else None
            if resolved and resolved != name:
                out.add(resolved)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    local = module.removeprefix("orchestra_env").removeprefix(".")
    best, level = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if local == prefix or (prefix and local.startswith(prefix + ".")):
                if len(prefix) > best:
                    best, level = len(prefix), i
    if level is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
    return level


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_import_cycles():
    order, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        if state.get(module) == "done":
            return
        if state.get(module) == "open":
            cycle = stack[stack.index(module) :] + [module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        state[module] = "open"
        for dep in sorted(GRAPH[module]):
            if not _is_package_of(dep, module):
                visit(dep, [*stack, module])
        state[module] = "done"
        order.append(module)

    for module in sorted(MODULES):
        visit(module, [])


def _is_package_of(package: str, module: str) -> bool:
    """A submodule importing its own package's __init__ is how Python loads it, not a cycle —
    except the root: `orchestra_env/__init__` registers the envs and re-exports the public API,
    so a module that imports from it reaches up to the front layer."""
    return package != "orchestra_env" and module.startswith(package + ".")


def test_each_module_imports_only_below_its_layer():
    wrong = defaultdict(list)
    for module, deps in GRAPH.items():
        for dep in deps:
            if _is_package_of(dep, module) or _is_package_of(module, dep):
                continue
            if _layer(dep) > _layer(module):
                wrong[module].append(dep)
    assert not wrong, "imports that climb a layer:\n" + "\n".join(
        f"  {m} -> {', '.join(sorted(d))}" for m, d in sorted(wrong.items())
    )
