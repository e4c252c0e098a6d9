"""Calibrating the simulated experts against the paper's published accuracies.

The paper reports, for six models, the accuracy of the model alone ("none") and of the model
working with the basic tools ("basic") on HLE and FRAMES, and with the basic tools on τ². Here
HLE is the `reasoning` family, FRAMES the `multihop` family and τ² the `function_calling`
family; "none" is `baselines.single_model.alone(model)` and "basic" is
`with_basic_tools(model)`: 24 cells for HLE and FRAMES, 6 for τ². The modules:

* `targets` — the paper's numbers (accuracies, costs, latencies) and tolerances, as data;
* `measurement` — a cell measured by playing its policy through the real env (`measure_cell`,
  `sweep`);
* `fitting` — each paper model's abilities fitted to its four HLE/FRAMES cells through the env
  (`fit`), written into profiles.json (`write_profiles`);
* `tau2` — the τ² tool_use fit through the env (`fit_tool_use`, `with_tool_use`);
* `reporting` — the markdown comparison with the paper (`report`);
* `fidelity` — the fidelity report: the simulator's causal structure (oracle evidence, retry
  vs escalate, program output in context, gold leaks) beside the targets real models set
  (`measure_fidelity`, `fidelity_markdown`); `visibility` — its difficulty classifier and ROC-AUC;
* `cli` — the `orchestra calibrate` command.
"""

from orchestra_env.calibration.fidelity import (
    Fidelity,
    GoldQueries,
    Played,
    Target,
    fidelity_markdown,
    gold_in_text,
    measure_fidelity,
    play_cell,
)
from orchestra_env.calibration.fitting import (
    FIT_SKILLS,
    MAX_STEP,
    OFFSET_WEIGHT,
    PINS,
    PRIOR_WEIGHT,
    SKILLS,
    Fit,
    fit,
    fit_model,
    fitted_data,
    monotone,
    profiles_path,
    remap,
    shipped_fit,
    write_profiles,
)
from orchestra_env.calibration.measurement import (
    Cell,
    episode_seed,
    family_kwargs,
    measure,
    measure_cell,
    play_episode,
    policy,
    sweep,
    task_ids,
)
from orchestra_env.calibration.reporting import fitted_cells, policy_costs, report, tau2_costs
from orchestra_env.calibration.targets import (
    BENCHMARK,
    CELLS,
    COLUMNS,
    ENV_IDS,
    FAMILY_TOOLS,
    MODELS,
    PAPER,
    PAPER_COST,
    QA_FAMILIES,
    SETTINGS,
    TARGETS,
    TAU2,
    TAU2_FAMILY,
    TAU2_TARGETS,
    TAU2_TOLERANCE,
    TOLERANCE,
    tolerance,
)
from orchestra_env.calibration.tau2 import TAU2_PINS, ToolUseFit, fit_tool_use, with_tool_use
from orchestra_env.calibration.visibility import roc_auc, visibility_auc

__all__ = [
    "BENCHMARK",
    "CELLS",
    "COLUMNS",
    "ENV_IDS",
    "QA_FAMILIES",
    "FAMILY_TOOLS",
    "FIT_SKILLS",
    "MAX_STEP",
    "PINS",
    "MODELS",
    "OFFSET_WEIGHT",
    "PAPER",
    "PAPER_COST",
    "PRIOR_WEIGHT",
    "SETTINGS",
    "SKILLS",
    "TARGETS",
    "TAU2",
    "TAU2_FAMILY",
    "TAU2_PINS",
    "TAU2_TARGETS",
    "TAU2_TOLERANCE",
    "TOLERANCE",
    "Cell",
    "Fidelity",
    "Fit",
    "GoldQueries",
    "Played",
    "Target",
    "ToolUseFit",
    "episode_seed",
    "family_kwargs",
    "fidelity_markdown",
    "fit",
    "fit_model",
    "fitted_cells",
    "fit_tool_use",
    "fitted_data",
    "gold_in_text",
    "measure",
    "measure_cell",
    "measure_fidelity",
    "monotone",
    "play_cell",
    "play_episode",
    "policy",
    "policy_costs",
    "profiles_path",
    "remap",
    "report",
    "roc_auc",
    "shipped_fit",
    "sweep",
    "task_ids",
    "tau2_costs",
    "tolerance",
    "visibility_auc",
    "with_tool_use",
    "write_profiles",
]
