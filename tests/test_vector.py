"""The README's vector-env snippet runs as written with `AsyncVectorEnv`, and with
`SyncVectorEnv` given the same call minus `shared_memory`; from one seed both play the same
episodes, without a format error."""

from __future__ import annotations

import gymnasium as gym

from tests.test_readme import RL_LOOP, code_blocks, run_rl_loop


def play_snippet(monkeypatch, namespace: dict, vector: str) -> list[tuple]:
    """Exec the snippet in (a copy of) the RL loop's `namespace`, whose `policy` it uses;
    returns what each `envs.step` returned."""
    code = code_blocks(RL_LOOP, "python")[1]
    if vector == "SyncVectorEnv":
        code = code.replace("AsyncVectorEnv", vector).replace("shared_memory=False, ", "")
        assert "SyncVectorEnv(" in code and "shared_memory" not in code
    steps: list[tuple] = []
    cls = getattr(gym.vector, vector)
    real_step = cls.step

    def step(self, actions):
        steps.append(real_step(self, actions))
        return steps[-1]

    monkeypatch.setattr(cls, "step", step)
    exec(code, dict(namespace))
    return steps


def trajectory(steps: list[tuple]) -> list:
    return [
        (r.tolist(), te.tolist(), tr.tolist(), info["task_id"].tolist())
        for _, r, te, tr, info in steps
    ]


def test_readme_vector_snippet_runs_async_and_sync_alike(monkeypatch):
    namespace, _ = run_rl_loop(monkeypatch)
    runs = {v: play_snippet(monkeypatch, namespace, v) for v in ("AsyncVectorEnv", "SyncVectorEnv")}
    for steps in runs.values():
        assert len(steps) == 20
        ended = [info["final_info"] for *_, info in steps if "final_info" in info]
        assert len(ended) >= 4  # SAME_STEP: the ended episodes' infos come back
        assert all(not info["format_errors"].any() for *_, info in steps)
        assert all(not (e["format_errors"] > 0).any() for e in ended)
    assert trajectory(runs["AsyncVectorEnv"]) == trajectory(runs["SyncVectorEnv"])
