"""The paper's numbers the simulator is calibrated against, as data (docs/architecture.md).

The paper reports, for six models, the accuracy of the model alone ("none") and of the model
working with the basic tools ("basic") on HLE and FRAMES, and with the basic tools on τ²; and
each policy's relative cost and latency. Here HLE is the `reasoning` family, FRAMES the
`multihop` family and τ² the `function_calling` family.
"""

from __future__ import annotations

from orchestra_env.tasks.function_calling import FunctionCallingFamily
from orchestra_env.tasks.multihop import MultihopFamily
from orchestra_env.tasks.reasoning import ReasoningFamily

MODELS = (
    "qwen3-8b",
    "llama-nemotron-49b",
    "llama-3.3-70b",
    "qwen3-235b-a22b",
    "claude-opus-4.1",
    "gpt-5",
)
SETTINGS = ("none", "basic")
QA_FAMILIES = ("reasoning", "multihop")  # HLE → reasoning, FRAMES → multihop
BENCHMARK = {"reasoning": "HLE", "multihop": "FRAMES"}
ENV_IDS = {"reasoning": "ToolOrchestra-Reasoning-v0", "multihop": "ToolOrchestra-Multihop-v0"}

# (model, setting) -> (HLE %, FRAMES %, cost, latency); cost and latency in the paper's units.
PAPER = {
    ("qwen3-8b", "none"): (3.2, 24.2, 0.2, 0.6),
    ("llama-nemotron-49b", "none"): (3.6, 25.6, 0.4, 1.1),
    ("llama-3.3-70b", "none"): (3.8, 32.4, 0.5, 1.4),
    ("qwen3-235b-a22b", "none"): (5.2, 34.3, 2.6, 3.3),
    ("claude-opus-4.1", "none"): (11.7, 58.2, 27.4, 8.2),
    ("gpt-5", "none"): (23.4, 66.3, 6.2, 4.1),
    ("qwen3-8b", "basic"): (4.7, 26.5, 1.3, 2.2),
    ("llama-nemotron-49b", "basic"): (6.8, 28.2, 2.5, 3.5),
    ("llama-3.3-70b", "basic"): (4.6, 42.3, 2.8, 4.3),
    ("qwen3-235b-a22b", "basic"): (14.0, 39.5, 12.3, 10.2),
    ("claude-opus-4.1", "basic"): (19.8, 63.5, 76.2, 32.5),
    ("gpt-5", "basic"): (35.1, 74.0, 30.2, 19.8),
}
TARGETS = {
    (model, setting, family): PAPER[model, setting][QA_FAMILIES.index(family)]
    for model in MODELS
    for setting in SETTINGS
    for family in QA_FAMILIES
}
PAPER_COST = {key: row[2] for key, row in PAPER.items()}
TOLERANCE = 3.0  # accuracy points

# τ² (tau2-bench: airline, retail, telecom) with the basic tools: the model itself is the agent
# of the conversation. The paper has no "none" row for τ².
TAU2_FAMILY = "function_calling"
TAU2 = {
    "qwen3-8b": 40.7,
    "llama-nemotron-49b": 23.2,
    "llama-3.3-70b": 17.6,
    "qwen3-235b-a22b": 52.9,
    "claude-opus-4.1": 46.0,
    "gpt-5": 77.7,
}
TAU2_TARGETS = {(model, "basic", TAU2_FAMILY): TAU2[model] for model in MODELS}
TAU2_TOLERANCE = 5.0  # accuracy points
CELLS = {**TARGETS, **TAU2_TARGETS}  # every calibrated cell: (model, setting, family) -> paper %
BENCHMARK[TAU2_FAMILY] = "τ²"
ENV_IDS[TAU2_FAMILY] = "ToolOrchestra-FunctionCalling-v0"
# The tools whose aliases each family's env offers (a single-family env offers no others).
FAMILY_TOOLS = {
    "reasoning": ReasoningFamily.tools,
    "multihop": MultihopFamily.tools,
    TAU2_FAMILY: FunctionCallingFamily.tools,
}
COLUMNS = {"all": CELLS, "hle-frames": TARGETS, "tau2": TAU2_TARGETS}  # `--columns` choices


def tolerance(cell: tuple[str, str, str]) -> float:
    """How far (points) a cell may be from the paper: 5 for τ², 3 for HLE and FRAMES."""
    return TAU2_TOLERANCE if cell[2] == TAU2_FAMILY else TOLERANCE
