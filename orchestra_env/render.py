"""Episode state → the observation's `messages`, in three formats.

* "chat": a growing chat — system, the user's problem, then each assistant action followed by
  the tool's reply as a `tool` message — ready for `tokenizer.apply_chat_template`.
* "toolorchestra": the prompt the released Orchestrator-8B was trained on for question
  answering, rebuilt every turn: a short system message, and one user message holding the
  problem, the documents gathered so far (each capped at 1,200 characters), the code written so
  far with its outputs, and an instruction to choose a tool.
* "orchestrator-8b": the released Orchestrator-8B's own interface byte for byte, for question
  answering and conversations (see `orchestra_env.render_o8b`).
"""

from __future__ import annotations

from orchestra_env.episode import Episode

FORMATS = ("chat", "toolorchestra", "orchestrator-8b")

TOOLORCHESTRA_SYSTEM = "You are good at using tools."
TOOLORCHESTRA_INSTRUCTION = (
    "Choose an appropriate tool and model to make progress on the problem, "
    "weighing what each costs. Call exactly one tool."
)


def problem_text(episode: Episode) -> str:
    """The user's problem with the preference instruction appended (as in the paper)."""
    instruction = episode.preference.instruction
    return f"{episode.task.prompt}\n\n{instruction}" if instruction else episode.task.prompt


def opening_messages(episode: Episode, system: str) -> list[dict]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": problem_text(episode)},
    ]


def toolorchestra_messages(episode: Episode) -> tuple[dict, ...]:
    parts = [f"Problem: {problem_text(episode)}"]
    docs = [episode.resources.document(d) for d in episode.evidence.documents]
    if docs:
        parts.append(
            "Documents:\n" + "\n\n".join(f"[{i}] {t}\n{x}" for i, (t, x) in enumerate(docs, 1))
        )
    runs = episode.evidence.code_runs
    if runs:
        parts.append(
            "Code:\n" + "\n\n".join(f"```python\n{r.code}\n```\nOutput:\n{r.output}" for r in runs)
        )
    parts.append(TOOLORCHESTRA_INSTRUCTION)
    return (
        {"role": "system", "content": TOOLORCHESTRA_SYSTEM},
        {"role": "user", "content": "\n\n".join(parts)},
    )


def transcript(episode: Episode) -> str:
    """A plain-text view of the whole chat (the env's `render_mode="ansi"`)."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in episode.messages)
