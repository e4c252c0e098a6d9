"""Compare runs: a table (terminal and Markdown) and accuracy-vs-cost plots with the Pareto
frontier, overall and per task family."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from orchestra_env.eval.metrics import (
    ALL,
    RoutingScores,
    aiq,
    default_pair,
    pareto_frontier,
    routing_scores,
    summarize,
)
from orchestra_env.eval.records import EpisodeRecord, read_run

TOP_CALLS = 3  # tools / aliases named per agent in the terminal


@dataclass(frozen=True)
class Report:
    """What `compare` produced: the summaries (see `metrics.summarize`) and the files written."""

    summary: dict[str, dict[str, dict]]
    routing: Routing | None
    markdown: Path
    pareto: Path
    family_plots: dict[str, Path]


@dataclass(frozen=True)
class Routing:
    """Cross-agent routing metrics over all families: RouterBench's AIQ of the real agents, and
    each agent's RouteLLM scores against the stated (weak, strong) pair of agents."""

    weak: str
    strong: str
    aiq: float
    scores: dict[str, RoutingScores]


def routing_metrics(summary: dict, weak: str | None = None, strong: str | None = None) -> Routing | None:
    """`Routing` of the real (not upper-bound) agents; the pair defaults to `default_pair`.
    None when fewer than two agents, or no pair, exist."""
    points = {a: _point(s[ALL]) for a, s in summary.items() if not is_upper_bound(a)}
    for name in (weak, strong):
        if name is not None and name not in points:
            raise ValueError(f"no agent {name!r} to anchor the routing metrics; agents: {sorted(points)}")
    if len(points) < 2:
        return None
    try:
        pair = default_pair(points) if weak is None or strong is None else (weak, strong)
    except ValueError:
        return None
    weak, strong = weak or pair[0], strong or pair[1]
    if points[strong][0] <= points[weak][0]:
        raise ValueError(f"the strong agent {strong!r} must cost more than the weak one {weak!r}")
    scores = {a: routing_scores(p, points[weak], points[strong]) for a, p in points.items() if a not in (weak, strong)}
    return Routing(weak, strong, aiq(points.values()), scores)


def run_files(paths: Iterable[str | Path]) -> list[Path]:
    """The run files named by `paths`: files as given, folders as their `*.jsonl` files."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(path.glob("*.jsonl")))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"no run file or folder at {path}")
    return files


def load_runs(paths: Iterable[str | Path]) -> list[EpisodeRecord]:
    """The episode records of run files (folders give their `*.jsonl`).

    An agent name found in more than one file gets the file's stem appended in each, so that
    two runs of one agent (other env kwargs, other seed) are compared, not merged.
    """
    runs = [(path, read_run(path)[1]) for path in run_files(paths)]
    files_of: dict[str, set[Path]] = defaultdict(set)
    for path, records in runs:
        for r in records:
            files_of[r.agent].add(path)
    return [
        replace(r, agent=f"{r.agent} [{path.stem}]") if len(files_of[r.agent]) > 1 else r
        for path, records in runs
        for r in records
    ]


def compare(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    console: Console | None = None,
    *,
    weak: str | None = None,
    strong: str | None = None,
) -> Report:
    """Summarize the runs at `paths`, print the comparison table, and write `comparison.md`,
    `pareto.png` and one `pareto_<family>.png` per task family into `out_dir`. `weak` and
    `strong` name the agents anchoring APGR and CPT (default: see `routing_metrics`)."""
    paths = list(paths)
    records = load_runs(paths)
    if not records:
        raise ValueError(f"no finished episodes in {[str(p) for p in paths]}")
    summary = summarize(records)
    routing = routing_metrics(summary, weak, strong)
    note = coverage_note(records)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    console = console or Console()
    for table in _rich_tables(summary, routing):
        console.print(table)
    if note:
        console.print(f"[yellow]note[/yellow]: {note}")
    markdown = out_dir / "comparison.md"
    markdown.write_text(_markdown(summary, routing, note))
    families = sorted({f for by_family in summary.values() for f in by_family} - {ALL})
    pareto = plot_pareto(summary, ALL, out_dir / "pareto.png")
    family_plots = {f: plot_pareto(summary, f, out_dir / f"pareto_{_slug(f)}.png") for f in families}
    return Report(summary, routing, markdown, pareto, family_plots)


def coverage_note(records: Sequence[EpisodeRecord]) -> str | None:
    """A warning when the agents did not all play the same (task, trial) episodes (fewer
    tasks, failed episodes not yet retried), since their numbers then compare unlike tasks."""
    units: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for r in records:
        units[r.agent].add(r.unit)
    if len({frozenset(u) for u in units.values()}) <= 1:
        return None
    common = set.intersection(*units.values())
    counts = ", ".join(f"{agent} {len(u)}" for agent, u in sorted(units.items()))
    return f"the agents played different episodes ({counts}; {len(common)} in common), so their numbers cover different tasks"


# -- tables -------------------------------------------------------------------------------------


def _frontier_agents(summary: dict, family: str) -> set[str]:
    """The real agents on the Pareto frontier: an upper bound is no achievable choice, so it
    pushes no agent off."""
    points = {a: _point(s[family]) for a, s in summary.items() if family in s and not is_upper_bound(a)}
    front = set(pareto_frontier(points.values()))
    return {agent for agent, p in points.items() if p in front}


def _point(s: dict) -> tuple[float, float]:
    return s["cost_mean"], s["accuracy"]


def _accuracy(s: dict) -> str:
    return f"{s['accuracy']:.3f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]"


def _usd(x: float) -> str:
    """Five decimals, or two significant digits below a hundredth of a cent."""
    return f"{x:.5f}" if x == 0 or x >= 1e-4 else f"{x:.1e}"


def _shares(shares: dict[str, float], top: int | None = None) -> str:
    items = list(shares.items())[:top]
    return " · ".join(f"{name} {share:.0%}" for name, share in items) or "-"


# The overall tables' columns: (Markdown header, terminal header or None to leave it out there,
# cell). Short terminal headers keep the table readable in a standard 80-100 column window.
COLUMNS: list[tuple[str, str | None, Callable[[dict], str]]] = [
    ("n", None, lambda s: str(s["n"])),
    ("accuracy [95% CI]", "accuracy [95% CI]", _accuracy),
    ("$/episode", "$/ep", lambda s: _usd(s["cost_mean"])),
    ("median $", None, lambda s: _usd(s["cost_median"])),
    ("latency s/episode", "s/ep", lambda s: f"{s['latency_mean']:.0f}"),
    ("turns", "turns", lambda s: f"{s['turns_mean']:.2f}"),
    ("format errors/turn", "err/turn", lambda s: f"{s['format_error_rate']:.3f}"),
]


def _columns(summary: dict, markdown: bool) -> list[tuple[str, Callable[[dict], str]]]:
    """(header, cell) of the overall table, with pass^k at the k every agent's tasks reach (the
    same k for all, so the column compares like with like; none when k = 1: it is accuracy)."""
    columns = [(md if markdown else short, cell) for md, short, cell in COLUMNS if markdown or short]
    k = min(by_family[ALL]["trials"] for by_family in summary.values())
    if k > 1:
        after_accuracy = 1 + next(i for i, (h, _) in enumerate(columns) if h.startswith("accuracy"))
        columns.insert(after_accuracy, (f"pass^{k}", lambda s: f"{s['pass_k'][k]:.3f}"))
    return columns


def _rich_tables(summary: dict, routing: Routing | None) -> list[Table]:
    """The overall table, each agent's most used tools and aliases, and the routing metrics."""
    front = _frontier_agents(summary, ALL)
    columns = _columns(summary, markdown=False)
    table = Table(
        title="Agents over all task families", caption="$ and simulated seconds per episode; n in the Markdown",
        box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0),
    )
    table.add_column("agent", overflow="fold", min_width=14)  # the one column that may wrap
    for header, _ in columns:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Pareto", justify="center", no_wrap=True)
    calls = Table(title="Most used tools and model aliases", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("agent", "tools", "aliases"):
        calls.add_column(header, overflow="fold")
    for agent, by_family in summary.items():
        s = by_family[ALL]
        table.add_row(agent, *(cell(s) for _, cell in columns), _pareto_mark(agent, front))
        calls.add_row(agent, _shares(s["tool_share"], TOP_CALLS), _shares(s["alias_share"], TOP_CALLS))
    return [table, calls] + ([_rich_routing(routing)] if routing else [])


ROUTING_HEADERS = ("strong share of cost", "APGR", "CPT(50%)", "CPT(80%)")


def _routing_rows(routing: Routing) -> list[list[str]]:
    return [[a, *("–" if v is None else f"{v:.3f}" for v in s)] for a, s in routing.scores.items()]


def _routing_caption(routing: Routing) -> str:
    return (
        f"weak = {routing.weak}, strong = {routing.strong}; AIQ (all real agents) = {routing.aiq:.3f}; "
        "– : the agent's cost lies outside the pair's"
    )


def _rich_routing(routing: Routing) -> Table:
    table = Table(title="Routing metrics (RouteLLM, RouterBench)", caption=_routing_caption(routing), box=box.SIMPLE_HEAD)
    table.add_column("agent", overflow="fold")
    for header in ROUTING_HEADERS:
        table.add_column(header, justify="right")
    for row in _routing_rows(routing):
        table.add_row(*row)
    return table


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _markdown(summary: dict, routing: Routing | None, note: str | None) -> str:
    front = _frontier_agents(summary, ALL)
    columns = _columns(summary, markdown=True)
    overall = _md_table(
        ["agent", *(h for h, _ in columns), "Pareto"],
        ([a, *(cell(s[ALL]) for _, cell in columns), _pareto_mark(a, front)] for a, s in summary.items()),
    )
    families = sorted({f for s in summary.values() for f in s} - {ALL})
    per_family = _md_table(
        ["agent", *families],
        ([a, *(_family_cell(s.get(f)) for f in families)] for a, s in summary.items()),
    )
    calls = _md_table(
        ["agent", "tool share of calls", "model alias share of calls"],
        ([a, _shares(s[ALL]["tool_share"]), _shares(s[ALL]["alias_share"])] for a, s in summary.items()),
    )
    return "\n\n".join([
        "# Agent comparison",
        "Accuracy with its 95% Wilson interval; $ and simulated latency per episode; "
        "pass^k (the chance that k trials of a task all succeed) at the trials every task has; Pareto ✓: no other agent is both cheaper "
        "(or as cheap) and at least as accurate; bound: an upper bound (oracle), not an "
        "achievable agent, left out of the frontier.",
        *([f"**Note:** {note}."] if note else []),
        overall,
        "## Per task family (accuracy, mean $ per episode)",
        per_family,
        "## Calls",
        calls,
        *(["## Routing metrics", _routing_caption(routing) + ".", _md_table(["agent", *ROUTING_HEADERS], _routing_rows(routing))] if routing else []),
    ]) + "\n"


def _pareto_mark(agent: str, front: set[str]) -> str:
    return "bound" if is_upper_bound(agent) else "✓" if agent in front else ""


def _family_cell(s: dict | None) -> str:
    return f"{s['accuracy']:.3f} (${_usd(s['cost_mean'])}, n={s['n']})" if s else "-"


# -- plots --------------------------------------------------------------------------------------


def plot_pareto(summary: dict, family: str, path: Path) -> Path:
    """Accuracy (with 95% intervals) against mean $ per episode, log-scale x, one labelled point
    per agent, and the Pareto frontier of the real agents as a staircase (the best accuracy
    within each budget). Upper bounds (`oracle` in the name) are red stars off the frontier."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    agents = {a: s[family] for a, s in summary.items() if family in s}
    floor = _log_floor([s["cost_mean"] for s in agents.values()])
    fig, ax = plt.subplots(figsize=(9, 6), dpi=120)
    _draw_frontier(ax, agents, floor)
    # Agents at the very same point share one label.
    labels: dict[tuple[float, float], list[str]] = defaultdict(list)
    for agent, s in sorted(agents.items(), key=lambda item: _point(item[1])):
        _draw_agent(ax, agent, s, floor)
        labels[max(s["cost_mean"], floor), s["accuracy"]].append(agent + (" (\\$0)" if s["cost_mean"] <= 0 else ""))
    for (x, y), dy in _label_offsets(list(labels)).items():
        names = labels[x, y]
        ax.annotate(  # under the markers, over the frontier line
            ", ".join(names), (x, y), xytext=(9, dy), textcoords="offset points", fontsize=9, va="center",
            color=BOUND_STYLE["color"] if all(map(is_upper_bound, names)) else "black", zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
    ax.set_xscale("log")
    # "\\$": matplotlib reads a pair of bare dollar signs as mathtext.
    ax.set_xlabel("mean \\$ per episode (log scale)" + (f"; \\$0 drawn at {floor:.0e}" if floor else ""))
    ax.set_ylabel("accuracy (bars: 95% Wilson interval)")
    ax.set_title(f"Accuracy vs cost — {'all task families' if family == ALL else family}")
    ax.set_ylim(-0.02, 1.06)
    ax.margins(x=0.25)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", axis="x", alpha=0.12)
    ax.legend(handles=_legend_handles(agents), loc="lower right", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


AGENT_STYLE = {"marker": "o", "markersize": 8, "color": "#1f77b4"}
BOUND_STYLE = {"marker": "*", "markersize": 16, "color": "#d62728"}
FRONTIER_STYLE = {"color": "0.45", "linestyle": "--", "linewidth": 1.2}


def is_upper_bound(agent: str) -> bool:
    """An agent that sees what no policy can (its name says `oracle` or `upper bound`)."""
    return "oracle" in agent.lower() or "upper bound" in agent.lower()


def _draw_frontier(ax, agents: dict[str, dict], floor: float) -> None:
    real = [_point(s) for a, s in agents.items() if not is_upper_bound(a)]
    if not real:
        return
    front = [(max(c, floor), q) for c, q in pareto_frontier(real)]
    # Extend the last step to the dearest agent: a larger budget keeps the best accuracy.
    right = max(max(s["cost_mean"], floor) for s in agents.values())
    xs, ys = zip(*front, (max(right, front[-1][0]), front[-1][1]), strict=True)
    ax.plot(xs, ys, drawstyle="steps-post", zorder=1, **FRONTIER_STYLE)


def _draw_agent(ax, agent: str, s: dict, floor: float) -> None:
    x, y = max(s["cost_mean"], floor), s["accuracy"]
    bound = is_upper_bound(agent)
    style = BOUND_STYLE if bound else AGENT_STYLE
    ax.errorbar(
        # max(0, …): at accuracy 0 or 1 the interval's end can miss it by a rounding error.
        x, y, yerr=[[max(0.0, y - s["ci_low"])], [max(0.0, s["ci_high"] - y)]], fmt=style["marker"],
        markersize=style["markersize"], color=style["color"], ecolor="0.7", elinewidth=1, capsize=3,
        markeredgecolor="black", markeredgewidth=0.6, zorder=7 if bound else 6,
    )


def _legend_handles(agents: dict[str, dict]) -> list:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], drawstyle="steps-post", label="Pareto frontier (real agents)", **FRONTIER_STYLE),
        Line2D([], [], linestyle="", markeredgecolor="black", label="agent", **AGENT_STYLE),
    ]
    if any(is_upper_bound(a) for a in agents):
        handles.append(Line2D([], [], linestyle="", markeredgecolor="black", label="upper bound (oracle)", **BOUND_STYLE))
    return handles


def _log_floor(costs: Sequence[float]) -> float:
    """Where a $0 agent is drawn on the log axis (0 when none costs nothing)."""
    if all(c > 0 for c in costs):
        return 0.0
    positive = [c for c in costs if c > 0]
    return min(positive) / 3 if positive else 1e-6


def _label_offsets(points: list[tuple[float, float]]) -> dict[tuple[float, float], float]:
    """Vertical label offsets (in points) for labels placed right of their points: 0 for a lone
    point; points with close neighbours alternate labels above and below, stepping further out
    (downwards first near the top of the plot), so no label sits on a neighbour's marker."""

    def near(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return abs(math.log10(a[0]) - math.log10(b[0])) < 0.4 and abs(a[1] - b[1]) < 0.05

    offsets: dict[tuple[float, float], float] = {}
    for p in points:
        if not any(q != p and near(p, q) for q in points):
            offsets[p] = 0.0
            continue
        rank = sum(1 for q in offsets if near(p, q))
        first = -1 if p[1] > 0.9 else 1
        offsets[p] = first * (1 if rank % 2 == 0 else -1) * 11 * (rank // 2 + 1)
    return offsets


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
