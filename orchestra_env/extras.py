"""The optional extras of the package: which extra brings which module, and how to install one.

The base install stays light (gymnasium, numpy, jsonschema, faker, bm25s, rich); every heavy
library is imported only inside the command or backend that needs it, and a missing one is named
with the extra that brings it.
"""

from __future__ import annotations

import importlib.util

# top-level module -> the extra (pyproject.toml [project.optional-dependencies]) that installs it
EXTRAS = {
    "torch": "train",
    "transformers": "train",
    "trl": "train",
    "datasets": "train",
    "ray": "ray",
    "matplotlib": "plots",
    "stable_baselines3": "sb3",
    "vllm": "vllm",
}


def install_hint(extra: str) -> str:
    """The command that installs `extra` into a checkout of this repository."""
    return f'pip install -e ".[{extra}]"'


def extra_for(module: str | None) -> str | None:
    """The extra that provides `module` when that extra is not installed (a dotted name is
    looked up by its top level); None for any other missing module — a submodule missing from
    an installed library is a version problem, not a missing extra."""
    top = (module or "").partition(".")[0]
    if top not in EXTRAS or _installed(top):
        return None
    return EXTRAS[top]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a finder that refuses the name: not importable here
        return False
