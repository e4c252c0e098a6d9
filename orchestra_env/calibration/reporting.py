"""The calibration report: each cell's accuracy against the paper, and each policy's costs.

Cells come measured through the env (`measurement.sweep`, or the fit's own last measurements),
or for τ² replayed from the chance table (`tau2.replayed_tau2`: accuracy only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from orchestra_env.calibration.measurement import Cell
from orchestra_env.calibration.targets import (
    BENCHMARK,
    CELLS,
    PAPER,
    QA_FAMILIES,
    TAU2_FAMILY,
)


def report(
    cells: Mapping[tuple[str, str, str], Cell],
    *,
    command: str = "",
    note: str = "",
    expected: Mapping[tuple[str, str, str], float] | None = None,
) -> str:
    """Markdown: accuracy per cell against the paper (and the fit's expected accuracy, when
    given; for τ² the accuracy the fit replays), then $ and seconds per task of each policy on
    HLE/FRAMES, and of "basic" on τ²."""
    n = {c.n for c in cells.values()}
    lines = [f"Simulated accuracy over {'/'.join(map(str, sorted(n)))} test tasks per cell"]
    if command:
        lines[0] += f", from `{command}`"
    lines += [note] if note else []
    extra = (" expected % |", "---:|") if expected else ("", "")
    lines += [
        "",
        f"| model | tools | benchmark (family) | paper % | simulated % | difference |{extra[0]}",
        f"|---|---|---|---:|---:|---:|{extra[1]}",
    ]
    for (model, setting, family), cell in cells.items():
        target, sim = CELLS[model, setting, family], 100 * cell.accuracy
        row = (
            f"| {model} | {setting} | {BENCHMARK[family]} ({family}) "
            f"| {target:.1f} | {sim:.1f} | {sim - target:+.1f} |"
        )
        if expected:
            row += (
                f" {expected[model, setting, family]:.1f} |"
                if (model, setting, family) in expected
                else " – |"
            )
        lines.append(row)
    costs = policy_costs(cells)
    if costs:
        lines += [
            "",
            "Mean cost and simulated latency per task of each policy (both families), with the",
            "paper's relative cost and latency columns:",
            "",
            "| model | tools | $ per task | s per task | paper cost | paper latency |",
            "|---|---|---:|---:|---:|---:|",
        ]
    for (model, setting), (cost, latency) in costs.items():
        paper = PAPER[model, setting]
        lines.append(
            f"| {model} | {setting} | {cost:.4f} | {latency:.1f} | {paper[2]:g} | {paper[3]:g} |"
        )
    return "\n".join(lines + tau2_costs(cells))


def tau2_costs(cells: Mapping[tuple[str, str, str], Cell]) -> list[str]:
    """Markdown lines: mean $ and simulated seconds per τ² task of each measured model."""
    rows = [
        f"| {m} | {c.cost_usd:.4f} | {c.latency_s:.1f} |"
        for (m, _, f), c in cells.items()
        if f == TAU2_FAMILY and not math.isnan(c.cost_usd)
    ]
    if not rows:
        return []
    head = [
        "",
        "Mean cost and simulated latency per τ² (function-calling) task, with the basic tools:",
        "",
    ]
    return head + ["| model | $ per task | s per task |", "|---|---:|---:|", *rows]


def policy_costs(
    cells: Mapping[tuple[str, str, str], Cell],
) -> dict[tuple[str, str], tuple[float, float]]:
    """{(model, setting): (mean $, mean s) per task}, averaged over the HLE/FRAMES families
    measured."""
    out = {}
    for model, setting in PAPER:
        mine = [
            c for (m, s, f), c in cells.items() if (m, s) == (model, setting) and f in QA_FAMILIES
        ]
        if mine and not any(math.isnan(c.cost_usd) for c in mine):
            out[model, setting] = (
                sum(c.cost_usd for c in mine) / len(mine),
                sum(c.latency_s for c in mine) / len(mine),
            )
    return out


def fitted_cells(expected: Mapping[tuple[str, str, str], float], n: int) -> dict:
    """Cells (accuracy only) from a fit's measured accuracies in %."""
    return {cell: Cell(acc / 100, math.nan, math.nan, n) for cell, acc in expected.items()}
