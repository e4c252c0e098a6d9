"""Compare runs: a table (terminal and Markdown) and accuracy-vs-cost plots with the Pareto
frontier, overall and per task family."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
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


def routing_metrics(
    summary: dict, weak: str | None = None, strong: str | None = None
) -> Routing | None:
    """`Routing` of the real (not upper-bound) agents; the pair defaults to `default_pair`.
    None when fewer than two agents, or no pair, exist."""
    points = {a: _point(s[ALL]) for a, s in summary.items() if not is_upper_bound(a)}
    for name in (weak, strong):
        if name is not None and name not in points:
            raise ValueError(
                f"no agent {name!r} to anchor the routing metrics; agents: {sorted(points)}"
            )
    if len(points) < 2:
        return None
    try:
        pair = default_pair(points) if weak is None or strong is None else (weak, strong)
    except ValueError:
        return None
    weak, strong = weak or pair[0], strong or pair[1]
    if points[strong][0] <= points[weak][0]:
        raise ValueError(f"the strong agent {strong!r} must cost more than the weak one {weak!r}")
    scores = {
        a: routing_scores(p, points[weak], points[strong])
        for a, p in points.items()
        if a not in (weak, strong)
    }
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
        console.print(f"[yellow]note[/yellow]: {escape(note)}")  # agent names may hold "[…]"
    markdown = out_dir / "comparison.md"
    markdown.write_text(_markdown(summary, routing, note))
    families = sorted({f for by_family in summary.values() for f in by_family} - {ALL})
    pareto = plot_pareto(summary, ALL, out_dir / "pareto.png")
    family_plots = {
        f: plot_pareto(summary, f, out_dir / f"pareto_{_slug(f)}.png") for f in families
    }
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
    return (
        f"the agents played different episodes ({counts}; {len(common)} in common), "
        "so their numbers cover different tasks"
    )


# -- tables -------------------------------------------------------------------------------------


def _frontier_agents(summary: dict, family: str) -> set[str]:
    """The real agents on the Pareto frontier: an upper bound is no achievable choice, so it
    pushes no agent off."""
    points = {
        a: _point(s[family]) for a, s in summary.items() if family in s and not is_upper_bound(a)
    }
    front = set(pareto_frontier(points.values()))
    return {agent for agent, p in points.items() if p in front}


def _point(s: dict) -> tuple[float, float]:
    return s["cost_mean"], s["accuracy"]


def _accuracy(s: dict) -> str:
    return f"{s['accuracy']:.3f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]"


def _usd(x: float) -> str:
    """Five decimals, or two significant digits below a hundredth of a cent."""
    return f"{x:.5f}" if x == 0 or x >= 1e-4 else f"{x:.1e}"


def _shares(shares: dict[str, float], top: int | None = None, floor: float = 0.01) -> str:
    """The largest shares by name (at most `top`, none under `floor`), then the rest summed: a
    run over ten domains calls a hundred domain tools, most of them rarely."""
    items = sorted(shares.items(), key=lambda item: -item[1])
    named = [(name, share) for name, share in items[:top] if share >= floor]
    rest = [share for _, share in items[len(named) :]]
    parts = [f"{name} {share:.0%}" for name, share in named]
    if rest:
        parts.append(f"{len(rest)} other{'s' * (len(rest) > 1)} {sum(rest):.0%}")
    return " · ".join(parts) or "-"


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
    columns = [
        (md if markdown else short, cell) for md, short, cell in COLUMNS if markdown or short
    ]
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
        title="Agents over all task families",
        caption="$ and simulated seconds per episode; n in the Markdown",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
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
        name = escape(agent)  # cells are markup; a name such as "x [backend=…]" is text
        table.add_row(name, *(cell(s) for _, cell in columns), _pareto_mark(agent, front))
        calls.add_row(
            name, _shares(s["tool_share"], TOP_CALLS), _shares(s["alias_share"], TOP_CALLS)
        )
    return [table, calls] + ([_rich_routing(routing)] if routing else [])


ROUTING_HEADERS = ("strong share of cost", "APGR", "CPT(50%)", "CPT(80%)")


def _routing_rows(routing: Routing) -> list[list[str]]:
    return [[a, *("–" if v is None else f"{v:.3f}" for v in s)] for a, s in routing.scores.items()]


def _routing_caption(routing: Routing) -> str:
    return (
        f"weak = {routing.weak}, strong = {routing.strong}; "
        f"AIQ (all real agents) = {routing.aiq:.3f}; "
        "– : the agent's cost lies outside the pair's"
    )


def _rich_routing(routing: Routing) -> Table:
    table = Table(
        title="Routing metrics (RouteLLM, RouterBench)",
        caption=escape(_routing_caption(routing)),
        box=box.SIMPLE_HEAD,
    )
    table.add_column("agent", overflow="fold")
    for header in ROUTING_HEADERS:
        table.add_column(header, justify="right")
    for agent, *scores in _routing_rows(routing):
        table.add_row(escape(agent), *scores)
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
        (
            [a, *(cell(s[ALL]) for _, cell in columns), _pareto_mark(a, front)]
            for a, s in summary.items()
        ),
    )
    families = sorted({f for s in summary.values() for f in s} - {ALL})
    per_family = _md_table(
        ["agent", *families],
        ([a, *(_family_cell(s.get(f)) for f in families)] for a, s in summary.items()),
    )
    calls = _md_table(
        ["agent", "tool share of calls", "model alias share of calls"],
        (
            [a, _shares(s[ALL]["tool_share"]), _shares(s[ALL]["alias_share"])]
            for a, s in summary.items()
        ),
    )
    return (
        "\n\n".join(
            [
                "# Agent comparison",
                "Accuracy with its 95% Wilson interval; $ and simulated latency per episode; "
                "pass^k (the chance that k trials of a task all succeed) at the trials every "
                "task has; Pareto ✓: no other agent is both cheaper "
                "(or as cheap) and at least as accurate; bound: an upper bound (oracle), not an "
                "achievable agent, left out of the frontier.",
                *([f"**Note:** {note}."] if note else []),
                overall,
                "## Per task family (accuracy, mean $ per episode)",
                per_family,
                "## Calls",
                calls,
                *(
                    [
                        "## Routing metrics",
                        _routing_caption(routing) + ".",
                        _md_table(["agent", *ROUTING_HEADERS], _routing_rows(routing)),
                    ]
                    if routing
                    else []
                ),
            ]
        )
        + "\n"
    )


def _pareto_mark(agent: str, front: set[str]) -> str:
    return "bound" if is_upper_bound(agent) else "✓" if agent in front else ""


def _family_cell(s: dict | None) -> str:
    return f"{s['accuracy']:.3f} (${_usd(s['cost_mean'])}, n={s['n']})" if s else "-"


# -- plots --------------------------------------------------------------------------------------


def plot_pareto(summary: dict, family: str, path: Path) -> Path:
    """Write `pareto_figure(summary, family)` to `path` (a PNG)."""
    pareto_figure(summary, family).savefig(path)
    return path


def pareto_figure(summary: dict, family: str):
    """Accuracy (with 95% intervals) against mean $ per episode, log-scale x, and the Pareto
    frontier of the real agents as a staircase (the best accuracy within each budget).

    Each agent is one point with its own marker and colour (`agent_styles`: the same in every
    family's plot), named in a legend right of the axes: labels placed next to points collide
    wherever agents cost and score alike. Upper bounds (`oracle` in the name) are red stars
    off the frontier. Returns a matplotlib `Figure` (not pyplot's: no display, none to close)."""
    from matplotlib.figure import Figure

    styles = agent_styles(summary)
    agents = {a: s[family] for a, s in summary.items() if family in s}
    floor = _log_floor([s["cost_mean"] for s in agents.values()])
    fig = Figure(figsize=(11, 6), dpi=120)
    ax = fig.subplots()
    frontier = _draw_frontier(ax, agents, floor)
    points = [_draw_agent(ax, agent, s, floor, styles[agent]) for agent, s in agents.items()]
    ax.set_xscale("log")
    # "\\$": matplotlib reads a pair of bare dollar signs as mathtext.
    zero = f"; \\$0 drawn at {floor:.0e}" if floor else ""
    ax.set_xlabel(f"mean \\$ per episode (log scale){zero}")
    ax.set_ylabel("accuracy (bars: 95% Wilson interval)")
    ax.set_title(f"Accuracy vs cost — {'all task families' if family == ALL else family}")
    ax.set_ylim(-0.02, 1.06)
    ax.margins(x=0.15)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", axis="x", alpha=0.12)
    ax.legend(
        handles=[*frontier, *points],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0,
        fontsize=9,
        frameon=False,
    )
    fig.tight_layout()
    return fig


BOUND_STYLE = {"marker": "*", "markersize": 15, "color": "#d62728"}
FRONTIER_STYLE = {"color": "0.45", "linestyle": "--", "linewidth": 1.2}
# Real agents' markers and colours (tab10 without the bound's red). The lengths are coprime, so
# the first 63 agents each get a different (marker, colour) pair.
AGENT_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
AGENT_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def agent_styles(summary: dict) -> dict[str, dict]:
    """Each agent's marker, size and colour, by its place among the real agents of `summary`
    (upper bounds: `BOUND_STYLE`), so that one agent looks the same in every family's plot."""
    real = [a for a in summary if not is_upper_bound(a)]
    styles = {
        agent: {
            "marker": AGENT_MARKERS[i % len(AGENT_MARKERS)],
            "markersize": 8,
            "color": AGENT_COLORS[i % len(AGENT_COLORS)],
        }
        for i, agent in enumerate(real)
    }
    return {a: styles.get(a, BOUND_STYLE) for a in summary}


def is_upper_bound(agent: str) -> bool:
    """An agent that sees what no policy can (its name says `oracle` or `upper bound`)."""
    return "oracle" in agent.lower() or "upper bound" in agent.lower()


def _draw_frontier(ax, agents: dict[str, dict], floor: float) -> list:
    """Draw the frontier staircase; returns its line (for the legend), none without real agents."""
    real = [_point(s) for a, s in agents.items() if not is_upper_bound(a)]
    if not real:
        return []
    front = [(max(c, floor), q) for c, q in pareto_frontier(real)]
    # Extend the last step to the dearest agent: a larger budget keeps the best accuracy.
    right = max(max(s["cost_mean"], floor) for s in agents.values())
    xs, ys = zip(*front, (max(right, front[-1][0]), front[-1][1]), strict=True)
    label = "Pareto frontier (real agents)"
    return ax.plot(xs, ys, drawstyle="steps-post", zorder=1, label=label, **FRONTIER_STYLE)


def _draw_agent(ax, agent: str, s: dict, floor: float, style: dict):
    """The agent's point and interval; returns the point (a one-point line), labelled, so that
    its legend key is drawn with the point's own marker and colour."""
    from matplotlib.colors import to_rgba

    x, y = max(s["cost_mean"], floor), s["accuracy"]
    bound = is_upper_bound(agent)
    label = agent + (" (upper bound)" if bound and "upper bound" not in agent.lower() else "")
    label += " (\\$0)" if s["cost_mean"] <= 0 else ""
    point, _, _ = ax.errorbar(
        # max(0, …): at accuracy 0 or 1 the interval's end can miss it by a rounding error.
        x,
        y,
        yerr=[[max(0.0, y - s["ci_low"])], [max(0.0, s["ci_high"] - y)]],
        fmt=style["marker"],
        markersize=style["markersize"],
        color=style["color"],
        ecolor=to_rgba(style["color"], 0.45),
        elinewidth=1.2,
        capsize=3,
        markeredgecolor="black",
        markeredgewidth=0.6,
        zorder=7 if bound else 6,
    )
    point.set_label(label)
    return point


def _log_floor(costs: Sequence[float]) -> float:
    """Where a $0 agent is drawn on the log axis (0 when none costs nothing)."""
    if all(c > 0 for c in costs):
        return 0.0
    positive = [c for c in costs if c > 0]
    return min(positive) / 3 if positive else 1e-6


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
