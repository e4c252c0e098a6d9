"""orchestra-mini: the small routing policy trained here on the CPU (orchestra_env.train.mini),
shipped with its checkpoint, acting on the raw env like any other agent.

The evaluator does not wrap the env, so the agent computes the very features the wrapper
`FeatureObservation` computed in training (`observation_features`, with the prices of the
reset's `info`), masks the routes the observation's tools do not offer (`observation_mask`),
takes the most likely route and writes it as a Hermes tool call. Numpy only: evaluating it
needs no torch.

    from orchestra_env.agents.mini import OrchestraMini
    agent = OrchestraMini()                     # the shipped checkpoint
    agent = OrchestraMini("runs/mini")          # or one you trained (a folder or its .npz)
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from orchestra_env.observation import observation_mask, offered, tool_call
from orchestra_env.spaces import sample_arguments
from orchestra_env.wrappers.routing import feature_size, observation_features

CHECKPOINT_NAME = "orchestra-mini"  # <folder>/orchestra-mini.npz + orchestra-mini.json
CHECKPOINT_FORMAT = "orchestra-mini/1"  # written by orchestra_env.train.mini


def shipped_checkpoint() -> Path:
    """The bundled checkpoint's `.npz` (its `.json` lies beside it)."""
    return Path(
        str(resources.files("orchestra_env.agents").joinpath(f"checkpoints/{CHECKPOINT_NAME}.npz"))
    )


def _checkpoint_paths(checkpoint: str | Path | None) -> tuple[Path, Path]:
    """(.npz, .json) of a checkpoint given as None (shipped), a folder, or either file."""
    path = shipped_checkpoint() if checkpoint is None else Path(checkpoint)
    if path.is_dir():
        path = path / f"{CHECKPOINT_NAME}.npz"
    npz, meta = path.with_suffix(".npz"), path.with_suffix(".json")
    for p in (npz, meta):
        if not p.exists():
            raise FileNotFoundError(f"no orchestra-mini checkpoint file at {p}")
    return npz, meta


class OrchestraMini:
    """Greedy orchestra-mini: one MLP forward pass per turn over the observation's features.

    Args:
        checkpoint: a folder holding `orchestra-mini.npz` + `.json`, or the `.npz` path;
            default the checkpoint shipped in `orchestra_env/agents/checkpoints/`.
        name: the display name written into evaluation records.
    """

    def __init__(self, checkpoint: str | Path | None = None, name: str = "orchestra-mini"):
        npz, meta_path = _checkpoint_paths(checkpoint)
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"{meta_path}: format {meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r}"
            )
        with np.load(npz) as data:
            n_layers = sum(1 for k in data.files if k.startswith("w"))
            self._layers = [(data[f"w{i}"], data[f"b{i}"]) for i in range(n_layers)]
        self.name = name
        self.routes: list[tuple[str, dict]] = [(tool, dict(args)) for tool, args in meta["routes"]]
        self.aliases: list[str] = list(meta["aliases"])
        self.max_turns: int = int(meta["max_turns"])
        self.n_preference = int(meta["n_features"]) - feature_size(len(self.aliases), 0)
        self._texts = [tool_call(tool, args) for tool, args in self.routes]
        self._prices: dict = {}  # the episode's info["prices"], read at reset

    def reset(self, observation: dict, info: dict) -> None:
        n = len(observation["preference"])
        if n != self.n_preference:
            raise ValueError(
                f"this env's preference vector has {n} entries but orchestra-mini was trained on "
                f"{self.n_preference} (tool keys of ToolOrchestra-v0 with its default tools)"
            )
        self._prices = info["prices"]

    def act(self, observation: dict) -> str:
        mask = observation_mask(self.routes, observation["tools"])
        if not mask.any():  # no route offered (an env with other tools): any valid call
            return _any_valid_call(observation)
        logits = self.logits(observation)
        return self._texts[int(np.argmax(np.where(mask, logits, -np.inf)))]

    def logits(self, observation: dict) -> np.ndarray:
        """The policy's unmasked logits over `self.routes` for a raw observation of the episode
        last `reset` (whose info gave the prices)."""
        h = observation_features(observation, self.aliases, self.max_turns, self._prices)
        for i, (w, b) in enumerate(self._layers):
            h = w @ h + b
            if i < len(self._layers) - 1:
                h = np.tanh(h)
        return h


def _any_valid_call(observation: dict) -> str:
    tools = offered(observation)
    name = sorted(tools)[0]
    return tool_call(name, sample_arguments(tools[name]["parameters"], np.random.default_rng(0)))
