"""The evaluator: play agents on an env's tasks into resumable run files, then compare them.

    from orchestra_env.eval import AgentSpec, evaluate, compare
    evaluate(AgentSpec("evidence-first"), "ToolOrchestra-v0", episodes=200, trials=3,
             out="runs/evidence-first.jsonl", workers=2)
    compare(["runs/"], "reports/")

`workers=N` plays in N local processes; `executor="ray"` on N Ray actors (the cluster at
RAY_ADDRESS), see `orchestra_env.integrations.ray`.

Modules: `agent` (the agent registry), `play` (one unit of work: a task, a trial, a seed, into
its record), `pools` (where units are played), `runner` (`evaluate`), `records` (run files),
`metrics` and `report` (`compare`), `cli` and `main_job` (the `orchestra eval` commands).
"""

from orchestra_env.eval.agent import (
    Agent,
    AgentSpec,
    UnknownAgentError,
    agent_names,
    make_agent,
    register_agent,
)
from orchestra_env.eval.metrics import (
    accuracy_ci,
    aiq,
    apgr,
    cpt,
    mean_pass_hat_k,
    pareto_frontier,
    pass_hat_k,
    routing_curve,
    summarize,
)
from orchestra_env.eval.records import (
    EpisodeFailure,
    EpisodeRecord,
    RunFileError,
    RunMismatchError,
    read_run,
)
from orchestra_env.eval.report import Report, compare, load_runs
from orchestra_env.eval.runner import (
    AllExpertCallsFailed,
    EndpointUnreachable,
    EpisodeError,
    evaluate,
    unit_seed,
)

__all__ = [
    "Agent",
    "AgentSpec",
    "AllExpertCallsFailed",
    "EndpointUnreachable",
    "EpisodeError",
    "EpisodeFailure",
    "EpisodeRecord",
    "Report",
    "RunFileError",
    "RunMismatchError",
    "UnknownAgentError",
    "accuracy_ci",
    "agent_names",
    "aiq",
    "apgr",
    "compare",
    "cpt",
    "evaluate",
    "load_runs",
    "make_agent",
    "mean_pass_hat_k",
    "pareto_frontier",
    "pass_hat_k",
    "read_run",
    "register_agent",
    "routing_curve",
    "summarize",
    "unit_seed",
]
