"""The mini policy: PPO with action masking on `FeatureObservation(DiscreteRouting(env))`.

A CleanRL-style single file: the whole algorithm — rollouts, GAE, the clipped PPO update — is
here, top to bottom, and nothing else is needed to read it. The action is one of the discrete
routes (tool, alias). The actor scores each route with one small MLP over the state (hashed
problem words, evidence gathered, spending, the preference vector) and that route's card (the
model, strengths, prices and latency its tool description prints, the preference's weight on
it, its calls so far): the same weights for every route, so what it learns about "a cheap
open model" or "GPT-5 at this price" holds whichever alias names it, and carries over to
models and prices it never saw. With `preference_heads` there is one such actor per
preference head (`agents.mini.HEADS`, picked by the price terms the preference weights),
each trained only on its own presets' turns. Invalid routes (another family's tools, and
paid APIs when the user asked to avoid them: `preference_mask`) get logit -1e8, so they are
never sampled and never trained on.

Why PPO and not GRPO: the wrapped env gives one observation per turn and one reward at the
end. PPO's learned critic, conditioned on the features (preference and prices included), is
a per-state baseline from ordinary rollouts of random tasks; GRPO would need groups of
rollouts of one task (pinning `task_id`) and gives every turn of a rollout the same
advantage. PPO needs fewer episodes for the same signal, which is what matters on 2 cores.

The training reward is the env's, less `step_penalty` per turn, `cost_penalty` per dollar,
and, weighted by the episode's preference, `preference_cost_penalty` per dollar and
`preference_latency_penalty` per second (`training_reward`; `linear_prices` drops the
env's own cost and latency scores; the curve logs the env's reward). Advantages are
normalised per minibatch, as in CleanRL, or with `advantage_per_preset` once per update within
each preference preset (`normalize_within`). `init_from` starts the actor from a checkpoint
(`start_from`), its first `critic_warmup` updates training the critic alone.
Training draws tasks from the train split, a preference preset per episode (the env's uniform
draw, or `preference_weights`: a curriculum; a preset passed to `reset` replaces the env's own
draw, so the same seed gives other episodes with and without one) and randomises each episode
as the paper does (`randomize="paper"`: which model serves each alias, which provider prices
each model, which tools are offered), with prices jittered on top (`price_jitter`), so the
policy learns to read all of them.

Deterministic given a seed: torch, numpy and every env are seeded, torch uses one thread,
and the CSV holds no wall-clock values (two runs write identical files).

    from orchestra_env.train.mini import MiniConfig, train
    result = train(MiniConfig(total_steps=200_000, seed=1), "runs/mini")
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, astuple, dataclass, field
from functools import partial
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from orchestra_env.agents.mini import (  # what the agent reads
    CHECKPOINT_FORMAT,
    CHECKPOINT_NAME,
    HEADS,
    OrchestraMini,
    head_of,
)
from orchestra_env.observation import preference_mask
from orchestra_env.rewards import weighted_total
from orchestra_env.train import MiniConfig, head_sources, write_together
from orchestra_env.train.envpool import EnvPool
from orchestra_env.wrappers import DiscreteRouting, FeatureLayout, FeatureObservation
from orchestra_env.wrappers.routing import ROUTE_DIM

MASKED_LOGIT = -1e8
LOGGED_FAMILIES = ("multihop", "reasoning", "function_calling")
CSV_FIELDS = (
    "update",
    "global_step",
    "episodes",
    "reward",
    "accuracy",
    "cost_usd",
    "latency_s",
    "turns",
    *(f"accuracy_{f}" for f in LOGGED_FAMILIES),
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "learning_rate",
)


@dataclass(frozen=True)
class TrainResult:
    """The files a run wrote and what it took."""

    checkpoint: Path
    config: Path
    curve_csv: Path
    curve_png: Path | None
    wall_s: float
    episodes: int


# -- the policy -------------------------------------------------------------------------------


def _layer(n_in: int, n_out: int, std: float = math.sqrt(2)) -> nn.Linear:
    """Orthogonal init, zero bias (CleanRL's default for PPO)."""
    layer = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, 0.0)
    return layer


class Actor(nn.Module):
    """Scores every route from the state and that route's block of features with one MLP (the
    same weights for every route, so a route is judged by what its card says: an alias
    remapped to another model, a new price table or an unseen model is scored by the same
    function). Two tanh layers; the first is split into a state part (computed once per
    state) and a route part."""

    def __init__(self, state_size: int, hidden: int):
        super().__init__()
        self.state = _layer(state_size, hidden)
        self.route = _layer(ROUTE_DIM, hidden)
        self.route.bias.requires_grad_(False)  # the state part carries the bias
        self.mlp = nn.Sequential(
            nn.Tanh(), _layer(hidden, hidden), nn.Tanh(), _layer(hidden, 1, std=0.01)
        )

    def forward(self, state: torch.Tensor, route: torch.Tensor) -> torch.Tensor:
        """Logits (B, R) of states (B, S) and route blocks (B, R, ROUTE_DIM)."""
        h = self.state(state).unsqueeze(1) + self.route(route)
        return self.mlp(h).squeeze(-1)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Its parameters by their names in a checkpoint (`agents.mini.ACTOR_TENSORS`)."""
        head = [m for m in self.mlp if isinstance(m, nn.Linear)]
        return {
            "state_w": self.state.weight,
            "state_b": self.state.bias,
            "route_w": self.route.weight,
            **{f"w{i}": layer.weight for i, layer in enumerate(head, start=1)},
            **{f"b{i}": layer.bias for i, layer in enumerate(head, start=1)},
        }


class Policy(nn.Module):
    """Actor: one `Actor` for every preference, or with `heads` one per preference head
    (`agents.mini.HEADS`, picked by `head_of` from the preference vector in the state: a head
    learns only from its own presets' turns). Critic: an MLP over the state and the mean route
    block."""

    def __init__(self, layout: FeatureLayout, hidden: int = 128, heads: bool = False):
        super().__init__()
        self.state_size, self.n_routes = layout.state_size, len(layout.routes)
        self.preference_at = layout.state_size - layout.preference_size
        self.actors = nn.ModuleList(
            Actor(self.state_size, hidden) for _ in range(len(HEADS) if heads else 1)
        )
        self.critic = nn.Sequential(
            _layer(self.state_size + ROUTE_DIM, hidden),
            nn.Tanh(),
            _layer(hidden, hidden),
            nn.Tanh(),
            _layer(hidden, 1, std=1.0),
        )

    def actor_tensors(self) -> dict[str, torch.Tensor]:
        """The actors' parameters by their names in a checkpoint's `.npz` (what
        `agents.mini.OrchestraMini` reads): `{tensor}` for one actor, `{head}.{tensor}` for
        heads."""
        if len(self.actors) == 1:
            return self.actors[0].tensors()
        return {
            f"{head}.{name}": tensor
            for head, actor in zip(HEADS, self.actors, strict=True)
            for name, tensor in actor.tensors().items()
        }

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(state (B, S), route blocks (B, R, ROUTE_DIM)) of flat feature vectors."""
        return x[:, : self.state_size], x[:, self.state_size :].reshape(
            -1, self.n_routes, ROUTE_DIM
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        state, route = self.split(x)
        if len(self.actors) == 1:
            return self.actors[0](state, route)
        head = head_of(state[:, self.preference_at :])
        logits = x.new_zeros(len(x), self.n_routes)
        for k, actor in enumerate(self.actors):  # each row through its own head only
            rows = head == k
            if rows.any():
                logits[rows] = actor(state[rows], route[rows])
        return logits

    def value(self, x: torch.Tensor) -> torch.Tensor:
        state, route = self.split(x)
        return self.critic(torch.cat([state, route.mean(dim=1)], dim=-1)).squeeze(-1)

    def act(
        self, x: torch.Tensor, mask: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(action, log-prob, entropy, value); samples an action unless one is given."""
        logits = self.logits(x).masked_fill(~mask, MASKED_LOGIT)
        dist = torch.distributions.Categorical(logits=logits)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(x)


def start_from(
    policy: Policy,
    checkpoint: str | Path,
    layout: FeatureLayout,
    heads: Sequence[str] | None = None,
) -> dict:
    """Copy a saved checkpoint's actors into `policy` (its critic stays as it is): one actor
    into every head, or each head into its own; with `heads` (`MiniConfig.init_heads`), into
    those heads only, each from the saved head `head_sources` names (the others keep their
    fresh init). Returns the saved checkpoint's record (`OrchestraMini.record`)."""
    saved = OrchestraMini(checkpoint)
    if astuple(saved.layout) != astuple(layout):  # FeatureLayout compares by identity
        raise ValueError(
            f"{checkpoint}: trained on other routes, tool keys or max_turns than this env has"
        )
    if saved.has_heads and len(policy.actors) == 1:
        raise ValueError(f"{checkpoint}: has preference heads; train with --preference-heads")
    sources = head_sources(heads) if heads is not None else {head: head for head in HEADS}
    for head, actor in zip(HEADS, policy.actors, strict=False):  # one actor: "accuracy"'s
        if head in sources:
            _copy_actor(actor, saved.actors[HEADS.index(sources[head])], checkpoint)
    return saved.record


def _copy_actor(actor: Actor, weights: dict[str, np.ndarray], checkpoint: str | Path) -> None:
    for name, param in actor.tensors().items():
        value = torch.as_tensor(weights[name])
        if value.shape != param.shape:
            raise ValueError(
                f"{checkpoint}: {name} has shape {tuple(value.shape)}, this policy "
                f"{tuple(param.shape)} (trained with another --hidden?)"
            )
        with torch.no_grad():
            param.copy_(value)


# -- envs and episode statistics ----------------------------------------------------------------


def make_env(config: MiniConfig) -> gym.Env:
    """The wrapped env the policy trains on."""
    return FeatureObservation(DiscreteRouting(gym.make(config.env_id, **config.env_kwargs)))


@dataclass
class EpisodeStats:
    """Finished episodes of one update: their reward, outcome, $ and seconds."""

    rows: list[dict] = field(default_factory=list)

    def add(self, info: dict, reward: float) -> None:
        self.rows.append(
            {
                "reward": reward,
                "outcome": float(info["outcome"]),
                "family": info["family"],
                "cost": float(info["ledger"]["cost_usd"]),
                "latency": float(info["ledger"]["latency_s"]),
                "turns": float(info["turns"]),
            }
        )

    def summary(self) -> dict[str, float]:
        if not self.rows:
            return {"episodes": 0}
        mean = lambda key, rows=self.rows: float(np.mean([r[key] for r in rows]))  # noqa: E731
        out = {
            "episodes": len(self.rows),
            "reward": mean("reward"),
            "accuracy": mean("outcome"),
            "cost_usd": mean("cost"),
            "latency_s": mean("latency"),
            "turns": mean("turns"),
        }
        by_family = defaultdict(list)
        for r in self.rows:
            by_family[r["family"].split(".")[0]].append(r)
        for family in LOGGED_FAMILIES:
            rows = by_family.get(family)
            out[f"accuracy_{family}"] = mean("outcome", rows) if rows else float("nan")
        return out


# -- training -----------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed torch and numpy, one thread, deterministic kernels: the same seed, the same run."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def train(
    config: MiniConfig,
    out_dir: str | Path,
    *,
    plot: bool = True,
    log: Callable[[str], None] | None = print,
    env_workers: int = 1,
) -> TrainResult:
    """Train the mini policy; write the checkpoint, its config, the learning-curve CSV and
    (with `plot`) its PNG into `out_dir`. `env_workers` > 1 steps the envs in that many
    processes, this one and spawned workers (`EnvPool`): the same run, sooner where cores are
    free."""
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    with EnvPool(partial(make_env, config), config.num_envs, env_workers) as envs:
        layout = envs.attribute("layout")
        n_features = envs.attribute("observation_space").shape[0]
        n_actions = envs.attribute("action_space").n
        policy = Policy(layout, config.hidden, config.preference_heads)
        init_record = (
            start_from(policy, config.init_from, layout, config.init_heads)
            if config.init_from
            else None
        )
        optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, eps=1e-5)

        T, N = config.num_steps, config.num_envs  # noqa: N806  (the usual rollout-buffer names)
        obs_buf = torch.zeros(T, N, n_features)
        mask_buf = torch.zeros(T, N, n_actions, dtype=torch.bool)
        act_buf = torch.zeros(T, N, dtype=torch.long)
        logp_buf, rew_buf, done_buf, val_buf = (torch.zeros(T, N) for _ in range(4))
        preset_buf = torch.zeros(T, N, dtype=torch.long)  # which preset each turn's episode has
        preset_ids: dict[str, int] = {}

        # Each env gets its own seed once; later resets continue its own generator.
        reset_options = preference_curriculum(config)
        first = envs.reset(
            {i: {"seed": config.seed * 1000 + i, "options": reset_options()} for i in range(N)}
        ).values()
        next_obs = torch.tensor(np.stack([o for o, _ in first]))
        # The routes the policy may take: those offered, less paid ones the user asked to avoid.
        allowed = (
            partial(preference_mask, layout.routes)
            if config.mask_avoided_paid
            else lambda offered_mask, _preference: offered_mask
        )
        next_mask = torch.tensor(
            np.stack([allowed(i["action_mask"], i["preference"]) for _, i in first])
        )
        next_done = torch.zeros(N)

        def preset_of(info: dict) -> int:
            return preset_ids.setdefault(info["preference"]["preset"], len(preset_ids))

        next_preset = torch.tensor([preset_of(i) for _, i in first])
        returns_so_far, spent_so_far, waited_so_far = np.zeros(N), np.zeros(N), np.zeros(N)
        global_step, total_episodes, rows = 0, 0, []

        for update in range(1, config.num_updates + 1):
            lr = config.learning_rate * (
                1.0 - (update - 1) / config.num_updates if config.anneal_lr else 1.0
            )
            optimizer.param_groups[0]["lr"] = lr
            price_scale = preference_price_scale(config, update)
            stats = EpisodeStats()
            for t in range(T):  # -- rollout
                obs_buf[t], mask_buf[t], done_buf[t] = next_obs, next_mask, next_done
                preset_buf[t] = next_preset
                with torch.no_grad():
                    action, logp, _, value = policy.act(next_obs, next_mask)
                act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
                observations, infos, dones, finished = [], [], [], {}
                for i, (o, r, terminated, truncated, info) in enumerate(envs.step(action.tolist())):
                    spent, waited = info["ledger"]["cost_usd"], info["ledger"]["latency_s"]
                    rew_buf[t, i] = training_reward(
                        config,
                        float(r),
                        info,
                        spent - spent_so_far[i],
                        waited - waited_so_far[i],
                        price_scale,
                    )
                    returns_so_far[i] += float(r)
                    spent_so_far[i], waited_so_far[i] = spent, waited
                    if terminated or truncated:
                        stats.add(info, returns_so_far[i])
                        returns_so_far[i] = spent_so_far[i] = waited_so_far[i] = 0.0
                        finished[i] = {"options": reset_options()}
                    observations.append(o)
                    infos.append(info)
                    dones.append(float(terminated or truncated))
                for i, (o, info) in envs.reset(finished).items():  # the next episodes' first turns
                    observations[i], infos[i] = o, info
                next_obs = torch.tensor(np.stack(observations))
                next_mask = torch.tensor(
                    np.stack([allowed(i["action_mask"], i["preference"]) for i in infos])
                )
                next_done = torch.tensor(dones)
                next_preset = torch.tensor([preset_of(i) for i in infos])
                global_step += N

            advantages, returns = _gae(
                policy, next_obs, next_done, rew_buf, val_buf, done_buf, config
            )
            if config.advantage_per_preset:
                advantages = normalize_within(advantages.reshape(-1), preset_buf.reshape(-1))
            losses = _ppo_update(
                policy,
                optimizer,
                config,
                obs_buf.reshape(-1, n_features),
                mask_buf.reshape(-1, n_actions),
                act_buf.reshape(-1),
                logp_buf.reshape(-1),
                advantages.reshape(-1),
                returns.reshape(-1),
                val_buf.reshape(-1),
                train_actor=update > config.critic_warmup,
            )
            summary = stats.summary()
            total_episodes += summary["episodes"]
            rows.append(
                {
                    "update": update,
                    "global_step": global_step,
                    **summary,
                    **losses,
                    "learning_rate": lr,
                }
            )
            if log and (update % 10 == 0 or update == config.num_updates):
                log(_progress_line(rows[-1], time.perf_counter() - start))

    checkpoint, config_path = save_checkpoint(policy, config, layout, out, init_record)
    curve_csv = write_curve(rows, out / "learning_curve.csv")
    curve_png = plot_curve(curve_csv, out / "learning_curve.png") if plot else None
    wall_s = time.perf_counter() - start
    (out / "train_summary.json").write_text(
        json.dumps(
            {"wall_s": round(wall_s, 1), "episodes": total_episodes, "steps": global_step}, indent=2
        )
    )
    return TrainResult(checkpoint, config_path, curve_csv, curve_png, wall_s, total_episodes)


def training_reward(
    config: MiniConfig,
    reward: float,
    info: dict,
    spent: float,
    waited: float,
    price_scale: float = 1.0,
) -> float:
    """One turn's training reward from the env's `reward` and `info`: less `step_penalty`,
    `cost_penalty` per dollar `spent` this turn, and the preference's own price of money and
    time (`preference_cost_penalty` per dollar times its cost weight,
    `preference_latency_penalty` per second `waited` times its latency weight, both times
    `price_scale`: `preference_price_scale`). With `linear_prices`, an episode's end pays
    `priced_total` in place of the env's total."""
    preference = info["preference"]
    if config.linear_prices and "reward_terms" in info:
        terms = info["reward_terms"]
        reward += priced_total(terms, preference) - terms["total"]
    per_dollar = (
        config.cost_penalty + price_scale * config.preference_cost_penalty * preference["cost"]
    )
    per_second = price_scale * config.preference_latency_penalty * preference["latency"]
    return reward - config.step_penalty - per_dollar * spent - per_second * waited


def preference_price_scale(config: MiniConfig, update: int) -> float:
    """How much of the preference penalties update `update` (from 1) charges: rising from 0
    to 1 over the first `preference_price_ramp` of the updates, then 1."""
    ramp = config.preference_price_ramp * config.num_updates
    return 1.0 if ramp <= 0 else min(1.0, (update - 1) / ramp)


def priced_total(terms: dict, preference: dict) -> float:
    """The env's end-of-episode total (`info["reward_terms"]`) without the preference's cost
    and latency terms: the weighted mean of outcome and tool usage, 0 where the env's is 0 (a
    wrong answer, or a paid call the user asked to avoid)."""
    if not terms["total"]:
        return 0.0
    weights = {"outcome": preference["outcome"]}
    weights.update({f"tool:{key}": w for key, w in preference["tools"].items()})
    return weighted_total(terms, weights)


def preference_curriculum(config: MiniConfig) -> Callable[[], dict]:
    """The reset options of the next episode: {"preference": a preset drawn with
    `config.preference_weights`}, or {} (the env draws uniformly) when none are set."""
    if not config.preference_weights:
        return dict
    names = sorted(config.preference_weights)
    weights = np.array([config.preference_weights[n] for n in names], dtype=float)
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(
            f"preference_weights must be finite, >= 0 and not all 0: {config.preference_weights}"
        )
    p = weights / weights.sum()
    rng = np.random.default_rng(config.seed)
    return lambda: {"preference": names[rng.choice(len(names), p=p)]}


def _gae(
    policy: Policy, next_obs, next_done, rewards, values, dones, config: MiniConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and the returns the critic regresses to."""
    with torch.no_grad():
        next_value = policy.value(next_obs)
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(config.num_steps)):
        if t == config.num_steps - 1:
            nonterminal, following = 1.0 - next_done, next_value
        else:
            nonterminal, following = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + config.gamma * following * nonterminal - values[t]
        last = delta + config.gamma * config.gae_lambda * nonterminal * last
        advantages[t] = last
    return advantages, advantages + values


def normalize_within(advantages: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
    """`advantages` shifted and scaled to mean 0 and std 1, over all of them or within each
    group (equal values of `groups`); a group of one gets 0."""
    if groups is None:
        return (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    out = torch.zeros_like(advantages)
    for group in groups.unique():
        members = groups == group
        if members.sum() > 1:
            out[members] = normalize_within(advantages[members])
    return out


def _ppo_update(
    policy,
    optimizer,
    config: MiniConfig,
    obs,
    masks,
    actions,
    old_logp,
    advantages,
    returns,
    old_values,
    train_actor: bool = True,
) -> dict[str, float]:
    """`update_epochs` passes of clipped-surrogate minibatch SGD (of the critic alone unless
    `train_actor`); the last epoch's losses."""
    batch = obs.shape[0]
    minibatch = batch // config.num_minibatches
    order = np.arange(batch)
    clip_fractions, info = [], {}
    for _ in range(config.update_epochs):
        np.random.shuffle(order)  # seeded by seed_everything
        for begin in range(0, batch, minibatch):
            idx = torch.as_tensor(order[begin : begin + minibatch])
            _, logp, entropy, value = policy.act(obs[idx], masks[idx], actions[idx])
            log_ratio = logp - old_logp[idx]
            ratio = log_ratio.exp()
            with torch.no_grad():
                approx_kl = ((ratio - 1) - log_ratio).mean()
                clip_fractions.append(
                    ((ratio - 1.0).abs() > config.clip_coef).float().mean().item()
                )
            adv = advantages[idx]
            if not config.advantage_per_preset:  # else normalised once, per preset
                adv = normalize_within(adv)
            pg_loss = torch.max(
                -adv * ratio, -adv * torch.clamp(ratio, 1 - config.clip_coef, 1 + config.clip_coef)
            ).mean()
            # Clipped value loss, as in CleanRL's PPO.
            v_clipped = old_values[idx] + torch.clamp(
                value - old_values[idx], -config.clip_coef, config.clip_coef
            )
            v_loss = (
                0.5 * torch.max((value - returns[idx]) ** 2, (v_clipped - returns[idx]) ** 2).mean()
            )
            entropy_loss = entropy.mean()
            loss = config.vf_coef * v_loss
            if train_actor:
                loss = loss + pg_loss - config.ent_coef * entropy_loss
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
            optimizer.step()
            info = {
                "policy_loss": pg_loss.item(),
                "value_loss": v_loss.item(),
                "entropy": entropy_loss.item(),
                "approx_kl": approx_kl.item(),
            }
    return {**info, "clip_fraction": float(np.mean(clip_fractions))}


def _progress_line(row: dict, elapsed: float) -> str:
    if not row.get("episodes"):
        return f"update {row['update']} step {row['global_step']}: no episode ended"
    return (
        f"update {row['update']:4d} step {row['global_step']:7d} | reward {row['reward']:.3f} "
        f"acc {row['accuracy']:.3f} ${row['cost_usd']:.4f}/task {row['turns']:.1f} turns | "
        f"entropy {row['entropy']:.2f} | {elapsed:.0f}s"
    )


# -- outputs ------------------------------------------------------------------------------------


def save_checkpoint(
    policy: Policy, config: MiniConfig, layout: FeatureLayout, out: Path, init: dict | None = None
) -> tuple[Path, Path]:
    """Write the actor's weights (`.npz`: the agent needs numpy only) and what it needs to act
    on a raw env (`.json`: the feature layout — routes, tool keys, max_turns — the training
    config, and for a warm start `init`: the record of the checkpoint it started from)."""
    weights = {k: v.detach().numpy().astype(np.float32) for k, v in policy.actor_tensors().items()}
    meta = {
        "format": CHECKPOINT_FORMAT,
        **({"heads": list(HEADS)} if len(policy.actors) > 1 else {}),
        "routes": [[tool, args] for tool, args in layout.routes],
        "tool_keys": list(layout.tool_keys),
        "max_turns": layout.max_turns,
        "n_features": layout.size,
        "activation": "tanh",
        "train": asdict(config),
    }
    if init is not None:  # a warm start: the recipe includes how its start was trained
        meta["init"] = init
    checkpoint, config_path = out / f"{CHECKPOINT_NAME}.npz", out / f"{CHECKPOINT_NAME}.json"
    write_together(
        {
            checkpoint: lambda tmp: np.savez(tmp, **weights),
            config_path: lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n"),
        }
    )
    return checkpoint, config_path


def write_curve(rows: list[dict], path: Path) -> Path:
    """One CSV line per update (floats rounded to 6 digits: stable, diffable)."""
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k, "")) for k in CSV_FIELDS})
    return path


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def read_curve(path: str | Path) -> dict[str, np.ndarray]:
    """The CSV as columns of floats (empty cells are NaN)."""
    with Path(path).open() as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in CSV_FIELDS}


def plot_curve(csv_path: str | Path, png_path: str | Path, smooth: int = 10) -> Path:
    """Reward, accuracy and $ per task against env steps (raw and a moving average)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = read_curve(csv_path)
    panels = (("reward", "episode reward"), ("accuracy", "accuracy"), ("cost_usd", "$ per task"))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    steps = curve["global_step"]
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.plot(steps, curve[key], color="tab:blue", alpha=0.3, linewidth=0.8)
        ax.plot(steps, _moving_average(curve[key], smooth), color="tab:blue", linewidth=1.6)
        ax.set_xlabel("env steps")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.suptitle(
        "orchestra-mini PPO on ToolOrchestra-v0 (train split, sampled preferences)", fontsize=10
    )
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=80)
    plt.close(fig)
    return png_path


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    out = np.empty_like(values)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        chunk = chunk[~np.isnan(chunk)]
        out[i] = chunk.mean() if len(chunk) else np.nan
    return out
