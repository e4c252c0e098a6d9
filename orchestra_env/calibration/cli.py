"""`orchestra calibrate`: fit the simulated experts to the paper's published accuracies, or
report how the shipped profiles compare (see the `orchestra_env.calibration` package).

* `orchestra calibrate` — fit on n tasks per family and print the fit, with the accuracies the
  env measured with the fitted values; writes nothing.
* `--write` — also write the fit into profiles.json, then measure every cell through the env.
* `--report-only` — no fit: measure the shipped profiles through the env and print the table.
* `--columns all|hle-frames|tau2` — which of the paper's columns to fit and measure (default
  all: HLE and FRAMES, "none" and "basic", and τ² "basic"); the others keep their values.
* `--fidelity` — no fit: print the fidelity report (`calibration.fidelity`: oracle evidence,
  retry vs escalate, program output in context, gold leaks, difficulty visibility) with the
  targets beside it, on n test tasks per cell (default 200); exit status 0 whatever it shows.
Exit status 1 when a measured cell is further from the paper than its tolerance (3 points for
HLE and FRAMES, 5 for τ²).
"""

from __future__ import annotations

import argparse

from rich.console import Console

from orchestra_env import calibration as cal
from orchestra_env.eval.cli import plain
from orchestra_env.models.profiles import load_profiles

CALIBRATE_N, FIDELITY_N = 1000, 200  # default test tasks per cell


def add_calibrate_command(subparsers: argparse._SubParsersAction) -> None:
    """Register `calibrate [--n N] [--seed S] [--columns C] [--write | --report-only |
    --fidelity]`."""
    parser = subparsers.add_parser(
        "calibrate", help="fit the simulated experts to the paper's accuracies (HLE, FRAMES, τ²)"
    )
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        help="test tasks per cell (default 1000; 200 with --fidelity)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the episode seeds (default 0)")
    parser.add_argument(
        "--columns",
        choices=sorted(cal.COLUMNS),
        default="all",
        help="the paper's columns to fit and measure: HLE and FRAMES, τ², or all (default)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--write", action="store_true", help="write the fit into profiles.json, then measure"
    )
    mode.add_argument(
        "--report-only", action="store_true", help="measure the shipped profiles; no fit"
    )
    mode.add_argument(
        "--fidelity",
        action="store_true",
        help="print the fidelity report (the simulator's causal structure vs its targets); no fit",
    )
    parser.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    fidelity = getattr(args, "fidelity", False)
    if args.n is None:
        args.n = FIDELITY_N if fidelity else CALIBRATE_N
    if args.n < 1:
        console.print("[red]--n must be at least 1[/red]")
        return 2
    args.columns = getattr(args, "columns", "all")
    if fidelity:
        return _fidelity_report(args, console)
    command = _command(args)
    if args.report_only:
        return _measured_report(args, console, command)
    fit_qa, fit_tau2 = args.columns in ("all", "hle-frames"), args.columns in ("all", "tau2")
    profiles = load_profiles()
    result = cal.shipped_fit(profiles)
    if fit_qa:
        console.print(f"fitting HLE and FRAMES through the env on {args.n} tasks per cell …")
        result = cal.fit(profiles, args.n, args.seed, log=plain(console))
    if fit_tau2:
        console.print(f"fitting τ² through the env on {args.n} function-calling tasks …")
        tool_use = cal.fit_tool_use(profiles, args.n, args.seed, log=plain(console))
        result = cal.with_tool_use(result, tool_use, profiles)
    _print_fit(result, console)
    if args.write:
        path = cal.write_profiles(result)
        console.print(f"wrote {path}; measuring every cell through the env …", markup=False)
        return _measured_report(args, console, command, result.expected)
    cells = cal.fitted_cells(result.expected, args.n)
    note = "(measured through the env with the fitted values: nothing written)"
    console.print(
        cal.report(cells, command=command, note=note, expected=result.expected),
        markup=False,
        highlight=False,
    )
    return _status(cells)


def _measured_report(
    args: argparse.Namespace, console: Console, command: str, expected=None
) -> int:
    cells = cal.sweep(args.n, args.seed, log=plain(console), cells=cal.COLUMNS[args.columns])
    console.print(
        cal.report(cells, command=command, expected=expected), markup=False, highlight=False
    )
    return _status(cells)


def _fidelity_report(args: argparse.Namespace, console: Console) -> int:
    report = cal.measure_fidelity(args.n, args.seed, log=plain(console))
    command = f"orchestra calibrate --fidelity --n {args.n} --seed {args.seed}"
    # soft_wrap: markdown table rows must stay whole lines at any terminal width
    text = cal.fidelity_markdown(report, command)
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    return 0


def _print_fit(result: cal.Fit, console: Console) -> None:
    console.print(
        f"objective {result.objective:.4f}; family offsets {result.offsets}", markup=False
    )
    for model in cal.MODELS:
        console.print(f"  {model:20s} {result.abilities[model]}", markup=False, highlight=False)


def _status(cells) -> int:
    """0 when every cell is within its tolerance of the paper, else 1."""
    off = [abs(100 * c.accuracy - cal.CELLS[k]) > cal.tolerance(k) for k, c in cells.items()]
    return 1 if any(off) else 0


def _command(args: argparse.Namespace) -> str:
    flags = " --write" if args.write else " --report-only" if args.report_only else ""
    columns = f" --columns {args.columns}" if args.columns != "all" else ""
    return f"orchestra calibrate --n {args.n} --seed {args.seed}{columns}{flags}"
