"""ChatPrompt: the observation as the exact prompt an LLM policy reads.

The env's observation carries `messages` (a chat) and `tools` (a JSON list of OpenAI-style tool
schemas, prices in the descriptions). This wrapper renders both through a tokenizer's chat
template with `add_generation_prompt=True`, so the observation is the string (or the token ids)
a model continues from: the tool schemas sit where the model's template puts them (Qwen3: inside
`<tools>…</tools>` in the system block) and the text ends with the assistant's turn opening.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from orchestra_env.spaces import UnicodeText


class ChatPrompt(gym.ObservationWrapper):
    """Observation → `apply_chat_template(messages, tools=tools, add_generation_prompt=True)`.

    Args:
        env: an orchestra env (or a wrapper of one) whose observation has `messages` and `tools`.
        tokenizer: a Hugging Face tokenizer with a chat template that renders tools.
        tokenize: False (default) gives the prompt string; True gives its token ids as an int64
            array (the observation space is then a `Sequence` of `Discrete(len(tokenizer))`).
        chat_template_kwargs: extra template variables, e.g. `{"enable_thinking": False}`.
    """

    def __init__(
        self,
        env: gym.Env,
        tokenizer: Any,
        *,
        tokenize: bool = False,
        chat_template_kwargs: Mapping[str, Any] | None = None,
    ):
        super().__init__(env)
        self.tokenizer = tokenizer
        self.tokenize = tokenize
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        if tokenize:
            self.observation_space = spaces.Sequence(spaces.Discrete(len(tokenizer)), stack=True)
        else:
            self.observation_space = UnicodeText()

    def observation(self, observation: dict) -> str | np.ndarray:
        messages = [{"role": m["role"], "content": m["content"]} for m in observation["messages"]]
        tools = json.loads(observation["tools"]) if observation.get("tools") else None
        prompt = self.tokenizer.apply_chat_template(
            messages,
            tools=tools or None,
            add_generation_prompt=True,
            tokenize=False,
            **self.chat_template_kwargs,
        )
        if not self.tokenize:
            return prompt
        # Tokenise the rendered text (the template already wrote the special tokens).
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return np.asarray(ids, dtype=np.int64)
