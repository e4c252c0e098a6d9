"""Wrappers that turn the text env into a classic RL problem: a `Discrete` choice of (tool, model)
and a fixed-length numeric observation, so any RL library (SB3, CleanRL) runs on it."""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache

import gymnasium as gym
import numpy as np

from orchestra_env.observation import evidence_strength, menu, observation_mask, tool_call
from orchestra_env.rewards import BASE_KEYS

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
    """A fixed-length float32 vector from what any policy can see, laid out by `FeatureLayout`:
    first the state (hashed words of the problem, evidence gathered, the last result's errors,
    spending, turns left, the preference vector), then one block per route (its tool, source,
    the model, strengths, prices and latency the tool descriptions print, the preference's
    weight on its alias, how often and how lately it was called, and the same of its model under
    any alias). Never the hidden difficulty or answer, nor anything the descriptions do not
    print."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        self.layout = FeatureLayout.of(env.unwrapped)
        self.observation_space = gym.spaces.Box(
            -np.inf, np.inf, shape=(self.layout.size,), dtype=np.float32
        )

    def observation(self, obs: dict) -> np.ndarray:
        return observation_features(obs, self.layout)


ROUTE_TOOLS = ("search", "enhance_reasoning", "answer", "call_expert")
STATE_FEATURES = 12  # the hand-made state features of `_state_features`
MODEL_HASH_DIM = 32  # hashed words of a route's model name and strengths
CARD_DIM = len(ROUTE_TOOLS) + 1 + 3 + MODEL_HASH_DIM  # a route's fixed card in an episode
ROUTE_DIM = CARD_DIM + 2 + 4  # + preference weights (alias, web), call history (alias, model)


@dataclass(frozen=True, eq=False)
class FeatureLayout:
    """What a feature vector is laid out over: the routes it scores (in action order), the
    preference vector's tool keys and the env's turn budget. Saved with a checkpoint, so an
    agent computes on the raw env exactly what its policy was trained on."""

    routes: tuple[tuple[str, dict], ...]
    tool_keys: tuple[str, ...]
    max_turns: int

    @classmethod
    def of(cls, env) -> FeatureLayout:
        """The layout of an unwrapped orchestra env."""
        return cls(tuple(routes(env.profiles, env.aliases)), tuple(env.tool_keys), env.max_turns)

    @property
    def preference_size(self) -> int:
        """Length of the env's preference vector: outcome, cost, latency, then the tool keys."""
        return len(BASE_KEYS) + len(self.tool_keys)

    @property
    def state_size(self) -> int:
        return HASH_DIM + STATE_FEATURES + self.preference_size

    @property
    def size(self) -> int:
        return self.state_size + len(self.routes) * ROUTE_DIM

    @cached_property
    def route_aliases(self) -> tuple[str, ...]:
        return tuple(next(iter(args.values())) for _, args in self.routes)

    @cached_property
    def preference_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(position in the preference vector of each route's alias, or of "web_search" for a
        web route; -1 where the vector has no such key)."""
        keys = {k: len(BASE_KEYS) + i for i, k in enumerate(self.tool_keys)}
        alias = np.array([keys.get(a, -1) for a in self.route_aliases])
        web = np.array(
            [
                keys.get("web_search", -1) if args.get("source") == "web" else -1
                for _, args in self.routes
            ]
        )
        return alias, web


def observation_features(obs: dict, layout: FeatureLayout) -> np.ndarray:
    """The `FeatureObservation` vector of a raw env observation (see that class): an agent acting
    on the raw env computes exactly what it was trained on."""
    messages = obs["messages"]
    problem = messages[1]["content"] if len(messages) > 1 else ""
    calls = [m["content"] for m in messages[2:] if m["role"] == "assistant"]
    called = [_called_alias(c) for c in calls]
    state = np.concatenate(
        [
            _hashed_words(problem, HASH_DIM),
            _state_features(obs, problem, calls, layout.max_turns),
            obs["preference"],
        ]
    )
    return np.concatenate([state, _route_features(obs, layout, called).ravel()]).astype(np.float32)


def _state_features(obs: dict, problem: str, calls: list[str], max_turns: int) -> np.ndarray:
    results = [m["content"] for m in obs["messages"][2:] if m["role"] in ("tool", "user")]
    last = results[-1] if results else ""
    budget = obs["budget"]
    return np.array(
        [
            len(calls) / max_turns,
            sum("search" in c for c in calls) / 5,
            sum("enhance_reasoning" in c for c in calls) / 3,
            sum("call_expert" in c for c in calls) / 10,
            evidence_strength(obs),
            float("Output:" in last and "Error" not in last),
            float(last.startswith("Error") or "Error:" in last),
            float('"call_expert"' in obs["tools"]),  # a conversation rather than a question
            math.log1p(float(budget["cost_usd"]) * 100),
            math.log1p(float(budget["latency_s"])) / 5,
            float(budget["turns_left"]) / max_turns,
            float(bool(re.search(r"\d", problem))),
        ],
        dtype=np.float32,
    )


def _route_features(obs: dict, layout: FeatureLayout, called: list[str | None]) -> np.ndarray:
    """(routes, ROUTE_DIM): the episode's fixed card of each route, then its preference weight
    and its calls so far (count / 3, whether it was the last call), and the same of its model
    through any alias — so a policy can see that an answerer is the model that just wrote the
    program it would be checking."""
    card = _route_cards(obs["tools"], layout)
    models = _route_models(obs["tools"], layout)
    model_of = menu(obs)
    called_models = [model_of[a].model if a in model_of else None for a in called]
    preference = np.append(obs["preference"], 0.0)  # index -1 reads the appended 0
    alias_at, web_at = layout.preference_index
    counts, model_counts = Counter(called), Counter(called_models)
    last = called[-1] if called else None
    last_model = called_models[-1] if called else None
    dynamic = np.array(
        [
            (
                preference[i],
                preference[w],
                counts[a] / 3,
                float(a == last),
                model_counts[m] / 3 if m else 0.0,
                float(m is not None and m == last_model),
            )
            for a, m, i, w in zip(layout.route_aliases, models, alias_at, web_at, strict=True)
        ],
        dtype=np.float32,
    )
    return np.concatenate([card, dynamic], axis=1)


@lru_cache(maxsize=64)
def _route_cards(tools_json: str, layout: FeatureLayout) -> np.ndarray:
    """Per route: tool one-hot, web source, log prices in / out and latency as the tool
    descriptions print them, hashed words of the model's name and strengths; zeros for a route
    not offered. Cached per episode's tool list (the same string every turn)."""
    listed = menu({"tools": tools_json})
    cards = np.zeros((len(layout.routes), CARD_DIM), dtype=np.float32)
    for r, (tool, args) in enumerate(layout.routes):
        entry = listed.get(layout.route_aliases[r])
        if entry is None or entry.tool != tool:
            continue
        cards[r, ROUTE_TOOLS.index(tool)] = 1.0
        cards[r, 4] = float(args.get("source") == "web")
        cards[r, 5:8] = np.log1p((entry.input_per_mtok, entry.output_per_mtok, entry.latency_s))
        cards[r, 7] /= 5
        cards[r, 8:] = _hashed_words(f"{entry.model} {entry.strengths}", MODEL_HASH_DIM)
    cards.setflags(write=False)  # cached: shared by every caller
    return cards


@lru_cache(maxsize=64)
def _route_models(tools_json: str, layout: FeatureLayout) -> tuple[str | None, ...]:
    """Per route: the model its alias serves this episode, None where it is not offered."""
    listed = menu({"tools": tools_json})
    return tuple(
        listed[a].model if a in listed and listed[a].tool == tool else None
        for a, (tool, _) in zip(layout.route_aliases, layout.routes, strict=True)
    )


_CALLED = re.compile(r'"(?:model|expert)": "([^"]+)"')


def _called_alias(call: str) -> str | None:
    """The alias an assistant turn called, if it called one."""
    found = _CALLED.search(call)
    return found.group(1) if found else None


@lru_cache(maxsize=4096)  # a problem is read on every turn of its episode, a card every reset
def _hashed_words(text: str, dim: int) -> np.ndarray:
    """A stable (crc32, not `hash`) bag of lower-cased words, L2-normalised (read-only)."""
    v = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"[a-z0-9.]+", text.lower()):
        v[zlib.crc32(word.encode()) % dim] += 1.0
    norm = float(np.linalg.norm(v))
    v = v / norm if norm else v
    v.setflags(write=False)
    return v
