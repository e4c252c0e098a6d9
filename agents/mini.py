"""orchestra-mini: the small routing policy trained here on the CPU (orchestra_env.train.mini),
shipped with its checkpoint, acting on the raw env like any other agent.

The evaluator does not wrap the env, so the agent computes the very features the wrapper
`FeatureObservation` computed in training (`observation_features`: the state, and per route
the model, strengths, prices and latency the tool descriptions print), scores every route with
the actor, masks the routes the observation's tools do not offer (`observation_mask`) and, when
the user asked to avoid paid APIs, the paid ones (`preference_mask`, whether or not training
masked them: `MiniConfig.mask_avoided_paid`), takes
the most likely one and writes it as a Hermes tool call. Numpy only: evaluating it needs no
torch. A checkpoint holds one actor for every preference, or one per head (`HEADS`): the
preference's price terms pick the head (`head_of`), so what a "cheap" head learned cannot move
the "accuracy" one.

    from orchestra_env.agents.mini import OrchestraMini
    agent = OrchestraMini()                     # the shipped checkpoint
    agent = OrchestraMini("runs/mini")          # or one you trained (a folder or its .npz)
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from orchestra_env.observation import observation_mask, offered, preference_mask, tool_call
from orchestra_env.spaces import sample_arguments
from orchestra_env.wrappers.routing import FeatureLayout, observation_features

CHECKPOINT_NAME = "orchestra-mini"  # <folder>/orchestra-mini.npz + orchestra-mini.json
# written by orchestra_env.train.mini; /3 added routes' model call history, /4 preference heads
CHECKPOINT_FORMAT = "orchestra-mini/4"
READABLE_FORMATS = ("orchestra-mini/3", CHECKPOINT_FORMAT)  # /3 holds one actor, as /4 may
ACTOR_TENSORS = ("state_w", "state_b", "route_w", "w1", "b1", "w2", "b2")
# An actor per set of price terms the preference weights: none ("accuracy", and "avoid paid
# APIs", whose tools the mask and the route features carry), cost, latency, both.
HEADS = ("accuracy", "cheap", "fast", "balanced")


def head_of(preference):
    """The index in `HEADS` of a preference vector [outcome, cost, latency, ...], or of each row
    of a batch of them (numpy or torch)."""
    return (preference[..., 1] > 0) * 1 + (preference[..., 2] > 0) * 2


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
    """Greedy orchestra-mini: one actor pass per turn over the observation's features.

    Args:
        checkpoint: a folder holding `orchestra-mini.npz` + `.json`, or the `.npz` path;
            default the checkpoint shipped in `orchestra_env/agents/checkpoints/`.
        name: the display name written into evaluation records.
    """

    def __init__(self, checkpoint: str | Path | None = None, name: str = "orchestra-mini"):
        npz, meta_path = _checkpoint_paths(checkpoint)
        meta = json.loads(meta_path.read_text())
        if meta.get("format") not in READABLE_FORMATS:
            raise ValueError(
                f"{meta_path}: format {meta.get('format')!r}, expected one of {READABLE_FORMATS}"
            )
        with np.load(npz) as data:
            weights = {k: data[k] for k in data.files}
        # the actor of each head in HEADS' order (one actor serves all when none are named)
        self.actors: list[dict[str, np.ndarray]] = _actors(weights, meta.get("heads"), npz)
        self.name = name
        # how it was trained: its config, and the record of the checkpoint it started from
        self.record: dict = {key: meta[key] for key in ("train", "init") if key in meta}
        self.routes: list[tuple[str, dict]] = [(tool, dict(args)) for tool, args in meta["routes"]]
        self.layout = FeatureLayout(
            tuple(self.routes), tuple(meta["tool_keys"]), int(meta["max_turns"])
        )
        self._texts = [tool_call(tool, args) for tool, args in self.routes]
        self._preference: dict = {}

    def reset(self, observation: dict, info: dict) -> None:
        n, expected = len(observation["preference"]), self.layout.preference_size
        if n != expected:
            raise ValueError(
                f"this env's preference vector has {n} entries but orchestra-mini was trained on "
                f"{expected} (tool keys of ToolOrchestra-v0 with its default tools)"
            )
        self._preference = info.get("preference", {})

    def act(self, observation: dict) -> str:
        mask = preference_mask(
            self.routes, observation_mask(self.routes, observation["tools"]), self._preference
        )
        if not mask.any():  # no route offered (an env with other tools): any valid call
            return _any_valid_call(observation)
        logits = self.logits(observation)
        return self._texts[int(np.argmax(np.where(mask, logits, -np.inf)))]

    @property
    def has_heads(self) -> bool:
        """Whether each preference head has its own actor."""
        return any(actor is not self.actors[0] for actor in self.actors)

    def logits(self, observation: dict) -> np.ndarray:
        """The unmasked score of each of `self.routes` for a raw observation, by the actor of
        the observation's preference head."""
        w = self.actors[int(head_of(observation["preference"]))]
        x = observation_features(observation, self.layout)
        state = x[: self.layout.state_size]
        route = x[self.layout.state_size :].reshape(len(self.routes), -1)
        h = np.tanh(w["state_w"] @ state + w["state_b"] + route @ w["route_w"].T)
        h = np.tanh(h @ w["w1"].T + w["b1"])
        return (h @ w["w2"].T + w["b2"]).ravel()


def _actors(
    weights: dict[str, np.ndarray], heads: list[str] | None, npz: Path
) -> list[dict[str, np.ndarray]]:
    """Each head's actor from a checkpoint's arrays: `{head}.{tensor}` for the named heads, or
    the one actor's `{tensor}` for all."""
    if heads is None:
        return [_actor(weights, "", npz)] * len(HEADS)
    if sorted(heads) != sorted(HEADS):
        raise ValueError(f"{npz}: heads {heads}, expected {list(HEADS)}")
    return [_actor(weights, f"{head}.", npz) for head in HEADS]


def _actor(weights: dict[str, np.ndarray], prefix: str, npz: Path) -> dict[str, np.ndarray]:
    missing = [prefix + name for name in ACTOR_TENSORS if prefix + name not in weights]
    if missing:
        raise ValueError(f"{npz}: no array {', '.join(missing)}")
    return {name: weights[prefix + name] for name in ACTOR_TENSORS}


def _any_valid_call(observation: dict) -> str:
    tools = offered(observation)
    name = sorted(tools)[0]
    return tool_call(name, sample_arguments(tools[name]["parameters"], np.random.default_rng(0)))
