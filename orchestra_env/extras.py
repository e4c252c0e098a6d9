"""The optional extras of the package: which extra brings which module, and how to install one.

The base install stays light (gymnasium, numpy, jsonschema, faker, bm25s, rich); every heavy
library is imported only inside the command or backend that needs it, and a missing one is named
with the extra that brings it.
"""

from __future__ import annotations

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
    """The extra that provides `module` (a dotted name is looked up by its top level)."""
    return EXTRAS.get((module or "").partition(".")[0])
