import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.rollout import rollout
from orchestra_env.tools.sandbox.isolation import bwrap_problem


def pytest_sessionstart(session):
    """Say once, at the start (even under -q), that the bwrap sandbox tests will be skipped."""
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller says it
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    problem = bwrap_problem()
    if problem is not None and reporter is not None:
        reporter.write_line(
            f"bwrap sandbox tests are skipped ({problem}): install bwrap with "
            "`apt-get install bubblewrap`"
        )


@pytest.fixture
def evidence_router():
    """Search three times with a mid model, then answer with a strong one."""
    return FixedPlan(
        [("search", {"model": "search-2"})] * 3 + [("answer", {"model": "answer-1"})],
        name="evidence",
    )


def play(env, agent, *, seed=None, options=None):
    """Run one episode; returns (actions, final info, total reward)."""
    played = rollout(env, agent, seed=seed, options=options)
    return played.actions, played.info, played.total_reward


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory):
    """The directory of the tiny offline Qwen3 (`build_tiny_qwen3`), built once per session."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.tiny_qwen3 import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3"))
