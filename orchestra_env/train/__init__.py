"""Training orchestrators on the environment: the mini policy (PPO, `orchestra_env.train.mini`)
and its command. `MiniConfig` lives here, free of torch, so that `orchestra --help` can show
the training defaults without the "train" extra installed."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestra_env.agents.mini import HEADS


@dataclass(frozen=True)
class MiniConfig:
    """Every setting of one training run (saved with the checkpoint)."""

    seed: int = 0
    total_steps: int = 200_000  # env steps (turns) over all envs
    num_envs: int = 32
    num_steps: int = 32  # turns per env per update: an update sees num_envs * num_steps turns
    learning_rate: float = 1e-3
    anneal_lr: bool = True
    gamma: float = 0.99
    # Subtracted from the training reward every turn (the env's reward is logged unchanged):
    # under the "accuracy" preference a useless extra call is otherwise free, and a policy
    # that never answers is only caught by max_turns.
    step_penalty: float = 0.01
    # Subtracted per dollar spent, every turn (a training prior, like step_penalty, in every
    # preset): under "accuracy" the reward ignores cost, and a call that buys a point of
    # accuracy for a dollar is not one a user who only asked for accuracy would want either.
    cost_penalty: float = 0.25
    # Subtracted per dollar and per second spent, times the episode preference's cost and
    # latency weights ("cheap": cost 1; "fast": latency 1; "balanced": 0.5 each). The env's
    # log-scale cost score moves little between a $0.07 and a $0.05 plan (about 0.03 of a
    # correct answer's reward), too little to show next to the outcome's noise; the paper's
    # GRPO reward min-max normalises cost over a group of rollouts of one task, which makes
    # such a gap as large as the outcome's. These make it visible to PPO (measured in
    # benchmarks/mini_policy.md: any price on top tips "cheap" and "fast" to the cheapest plans).
    preference_cost_penalty: float = 0.0
    preference_latency_penalty: float = 0.0
    # Drop the env's log-scale cost and latency scores from the training reward of a
    # preference that weights them, leaving the penalties above as its only price of money and
    # time: a correct answer earns 1 in every preset, less what it spent. Under "cheap" the
    # env's own reward is nearly indifferent between a plan 10 points more accurate and one
    # three times cheaper (its log score pays as much for $0.01 → $0.001 as for $0.1 → $0.01),
    # so any penalty on top tips the policy to the cheapest plans; with linear prices a saving
    # is worth its dollars and seconds, whatever it is a fraction of.
    linear_prices: bool = False
    # Raise the two penalties above from 0 to their values over this fraction of the updates,
    # so that a fresh head, which meets mostly failed episodes at first (every dollar lost),
    # may learn which calls answer before it learns to pay less. Measured for the heads'
    # second stage (benchmarks/mini_policy.md): at 0.5 it kept "cheap" and "fast" from the
    # cheapest plans and from most of the savings alike.
    preference_price_ramp: float = 0.0
    # {preset: weight}: the trainer draws each episode's preference preset with these weights
    # (a curriculum over presets); None leaves the env's uniform draw ("sample").
    preference_weights: dict[str, float] | None = None
    # Mask paid routes when the user asked to avoid paid APIs, as the agent does when it acts
    # (`observation.preference_mask`); False leaves that preference to be learned from the
    # reward alone (the agent still masks).
    mask_avoided_paid: bool = True
    # Normalise advantages within each preference preset of an update's batch (as GRPO does
    # within a group of rollouts), not per minibatch: each preset's turns then weigh alike in
    # the update whatever the spread of its returns. Measured at the start of a run with
    # linear prices, the spreads are alike (std 0.30-0.43) but for "avoid paid APIs"
    # (0.16-0.21), so this mostly up-weights that preset; results in mini_policy.md.
    advantage_per_preset: bool = False
    # A warm start: the actor begins as this checkpoint's (a folder or .npz of the same routes,
    # tools and width), e.g. to add preference prices to a policy trained without them. Its
    # critic was not saved, so the first `critic_warmup` updates train the critic alone:
    # advantages from an untrained critic would otherwise push the trained actor at random.
    init_from: str | None = None
    critic_warmup: int = 0
    # One actor per preference head (`agents.mini.HEADS`: the price terms the preference
    # weights pick it), so what "cheap" or "fast" learns cannot move "accuracy" through shared
    # weights. A head learns only from its own presets' episodes: from a warm start, drawing
    # only balanced, cheap and fast (`preference_weights`) leaves the "accuracy" head, which
    # also plays "avoid paid APIs", as the start left it.
    preference_heads: bool = False
    # The heads `init_from` sets (None: all), each from the saved head of its name or, written
    # "HEAD=SOURCE", from another (`head_sources`); the others start fresh, e.g. "cheap" and
    # "fast" heads that explore from scratch beside a trained "accuracy" head, or a "balanced"
    # head that starts as the saved "accuracy" head ("balanced=accuracy").
    init_heads: tuple[str, ...] | None = None
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    clip_coef: float = 0.2
    ent_coef: float = 0.003
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: int = 128
    env_id: str = "ToolOrchestra-v0"
    env_kwargs: dict = field(
        # the paper's per-episode randomisation (aliases, providers' prices, tool subsets),
        # with prices jittered on top; evaluation uses the eval env's own kwargs, not these
        default_factory=lambda: {
            "split": "train",
            "preference": "sample",
            "randomize": "paper",
            "price_jitter": 0.5,
        }
    )

    def __post_init__(self) -> None:
        counts = ("total_steps", "num_envs", "num_steps", "num_minibatches", "update_epochs")
        for name in (*counts, "hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"MiniConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.init_heads is not None:
            sources = head_sources(self.init_heads)
            unknown = sorted({*sources, *sources.values()} - set(HEADS))
            if unknown or not (self.preference_heads and self.init_from):
                raise ValueError(
                    f"MiniConfig.init_heads {list(self.init_heads)}: heads of {list(HEADS)} to "
                    f"warm-start, HEAD or HEAD=SOURCE (unknown: {unknown}), with "
                    "preference_heads and init_from set"
                )
        if not 0.0 <= self.preference_price_ramp <= 1.0:
            raise ValueError(
                "MiniConfig.preference_price_ramp must be in [0, 1], "
                f"got {self.preference_price_ramp}"
            )
        if self.critic_warmup < 0:
            raise ValueError(
                f"MiniConfig.critic_warmup must be at least 0, got {self.critic_warmup}"
            )

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return max(1, self.total_steps // self.batch_size)


def head_sources(init_heads: Sequence[str]) -> dict[str, str]:
    """{head: the saved head it starts from} of `MiniConfig.init_heads` entries: "HEAD" starts
    from the saved head of its name, "HEAD=SOURCE" from the saved head SOURCE."""
    sources = {}
    for entry in init_heads:
        head, _, source = entry.partition("=")
        sources[head] = source or head
    return sources


def write_together(files: Mapping[Path, Callable[[Path], object]]) -> None:
    """Write each file with `write(temporary path)` beside it, then rename them all into place:
    Ctrl-C (or a full disk) never leaves a half-written file, nor a new file beside an old
    partner (a checkpoint's weights and its .json). The temporary name keeps the suffix, which
    `np.savez` needs."""
    temporary = {path: path.with_name(f".{path.stem}.tmp{path.suffix}") for path in files}
    try:
        for path, write in files.items():
            write(temporary[path])
        for path, tmp in temporary.items():
            os.replace(tmp, path)
    finally:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)


__all__ = ["MiniConfig", "write_together"]
