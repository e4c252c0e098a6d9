"""Wrappers that turn the text env into a classic RL problem: a `Discrete` choice of (tool, model)
and a fixed-length numeric observation, so any RL library (SB3, CleanRL) runs on it."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache

import gymnasium as gym
import numpy as np

from orchestra_env.observation import evidence_strength, observation_mask, tool_call
from orchestra_env.tools.catalogue import shown_price

HASH_DIM = 64  # hashed bag-of-words features of the problem text


def routes(profiles, aliases) -> list[tuple[str, dict]]:
    """Every (tool, arguments) a router can choose: each alias of search (local and web),
    enhance_reasoning, answer and call_expert."""
    out = []
    for alias in aliases:
        tool = profiles.aliases[alias].tool
        if tool == "search":
            out += [
                (tool, {"model": alias, "source": "local"}),
                (tool, {"model": alias, "source": "web"}),
            ]
        elif tool == "call_expert":
            out.append((tool, {"expert": alias}))
        else:
            out.append((tool, {"model": alias}))
    return out


class DiscreteRouting(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Action `i` is the i-th route of `routes(...)`, sent as a Hermes tool call.

    A route the episode does not offer (another family's tool, or an alias dropped by
    `tool_subsample`) is a malformed action and is penalised by the env; `action_masks()`
    (the sb3-contrib convention) and `info["action_mask"]` say which routes are valid now,
    read from the observation's tools: wrap the env itself, under any observation wrapper.
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)  # so gym.make(env.spec) rebuilds it
        super().__init__(env)
        base = env.unwrapped
        self.routes = routes(base.profiles, base.aliases)
        self.action_space = gym.spaces.Discrete(len(self.routes))
        self._texts = [tool_call(t, a) for t, a in self.routes]
        self._tools_json = "[]"  # the last observation's tools: no route is valid before reset
        self._mask: tuple[str, np.ndarray] | None = None

    def action(self, action: int) -> str:
        return self._texts[int(action)]

    def action_masks(self) -> np.ndarray:
        # Read from the observation's tools (parsed once per episode's tool list), as an agent
        # acting on the raw env does with `observation_mask`.
        if self._mask is None or self._mask[0] is not self._tools_json:
            self._mask = (self._tools_json, observation_mask(self.routes, self._tools_json))
        return self._mask[1].copy()

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._tools_json = obs["tools"]
        info["action_mask"] = self.action_masks()
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        self._tools_json = obs["tools"]
        info["action_mask"] = self.action_masks()
        return obs, reward, terminated, truncated, info


class FeatureObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """A fixed-length float32 vector from what any policy can see: hashed words of the problem,
    evidence gathered (documents, code outputs, how many of the problem's names the results
    mention), the last result's errors, spending, turns left, the preference vector and each
    alias's prices (`info["prices"]`, as the tool descriptions print them). Never the hidden
    difficulty or answer."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        base = env.unwrapped
        self._aliases = list(base.aliases)
        self._max_turns = base.max_turns
        self._prices: Mapping[str, Mapping] = {}  # the episode's info["prices"]
        n_pref = base.observation_space["preference"].shape[0]
        self._size = feature_size(len(self._aliases), n_pref)
        self.observation_space = gym.spaces.Box(
            -np.inf, np.inf, shape=(self._size,), dtype=np.float32
        )

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._prices = info["prices"]
        return self.observation(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._prices = info["prices"]
        return self.observation(obs), reward, terminated, truncated, info

    def observation(self, obs: dict) -> np.ndarray:
        return observation_features(obs, self._aliases, self._max_turns, self._prices)


def feature_size(n_aliases: int, n_preference: int) -> int:
    """Length of the `observation_features` vector."""
    return HASH_DIM + 12 + n_preference + 2 * n_aliases


def observation_features(
    obs: dict, aliases: Sequence[str], max_turns: int, prices: Mapping[str, Mapping]
) -> np.ndarray:
    """The `FeatureObservation` vector of a raw env observation (see that class), for an env
    offering `aliases` and truncating at `max_turns`, with the episode's `info["prices"]`;
    usable without the wrapper (an agent acting on the raw env computes exactly what it was
    trained on)."""
    messages = obs["messages"]
    problem = messages[1]["content"] if len(messages) > 1 else ""
    results = [m["content"] for m in messages[2:] if m["role"] in ("tool", "user")]
    last = results[-1] if results else ""
    calls = [m["content"] for m in messages[2:] if m["role"] == "assistant"]
    features = [
        len(calls) / max_turns,
        sum("search" in c for c in calls) / 5,
        sum("enhance_reasoning" in c for c in calls) / 3,
        sum("call_expert" in c for c in calls) / 10,
        evidence_strength(obs),
        float("Output:" in last and "Error" not in last),
        float(last.startswith("Error") or "Error:" in last),
        float('"call_expert"' in obs["tools"]),  # a conversation rather than a question
        math.log1p(float(obs["budget"]["cost_usd"]) * 100),
        math.log1p(float(obs["budget"]["latency_s"])) / 5,
        float(obs["budget"]["turns_left"]) / max_turns,
        float(bool(re.search(r"\d", problem))),
    ]
    return np.concatenate(
        [
            _hashed_words(problem),
            np.asarray(features, dtype=np.float32),
            obs["preference"],
            _price_features(prices, aliases),
        ]
    ).astype(np.float32)


def _price_features(prices: Mapping[str, Mapping], aliases: Sequence[str]) -> np.ndarray:
    """log $/M tokens (in, out) per alias, rounded as the tool descriptions print them (the
    features orchestra-mini was trained on); 0 for an alias not offered this episode."""
    offered = tuple(
        (i, prices[a]["input_per_mtok"], prices[a]["output_per_mtok"])
        for i, a in enumerate(aliases)
        if a in prices
    )
    return _logged_prices(offered, len(aliases))


@lru_cache(maxsize=256)
def _logged_prices(offered: tuple[tuple[int, float, float], ...], n_aliases: int) -> np.ndarray:
    """Cached per episode's prices: (alias index, in, out) -> the features of `_price_features`."""
    features = np.zeros(2 * n_aliases, dtype=np.float32)
    for i, price_in, price_out in offered:
        features[2 * i : 2 * i + 2] = np.log1p((shown_price(price_in), shown_price(price_out)))
    features.setflags(write=False)  # cached: shared by every caller
    return features


def _hashed_words(text: str) -> np.ndarray:
    """A stable (crc32, not `hash`) bag of lower-cased words, L2-normalised."""
    v = np.zeros(HASH_DIM, dtype=np.float32)
    for word in re.findall(r"[a-z]+", text.lower()):
        v[zlib.crc32(word.encode()) % HASH_DIM] += 1.0
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v
