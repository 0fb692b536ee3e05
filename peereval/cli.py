"""``peereval`` on the command line: a thin shell over the runner, loader and sample generator.

Exit codes: 0 success; 2 the input or the options need fixing (message says where and how);
1 an unexpected internal error (message says so; set PEEREVAL_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from peereval.errors import DataError, PeerevalError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="peereval: did our peer-to-peer learning program work?",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DataDir = Annotated[str, typer.Argument(help="folder with teams, people, sessions, … exports; or a DuckDB file "
                                              "(exports.duckdb) or a PostgreSQL URL (postgresql://user@host/db?schema=s)")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress display (errors and the result only)")]
FetchRows = Annotated[bool | None, typer.Option(
    "--fetch-rows/--sum-in-database",
    help="a database: read every ticket, or leave the tickets that pass every check to the database, which "
         "sums them (default: sum in a DuckDB file, read from PostgreSQL: faster on one server)")]
ConfigFile = Annotated[Path | None, typer.Option(
    "--config", help="program.toml to use (default: the folder's own, or a database's 'program' table)")]


def _months(spec: str) -> list[str]:
    """'2026-10' or a range '2026-01:2026-10' (inclusive)."""
    import pandas as pd

    from peereval.errors import ParameterError

    try:
        if ":" in spec:
            lo, hi = spec.split(":", 1)
            rng = pd.period_range(pd.Period(lo, "M"), pd.Period(hi, "M"), freq="M")
            if len(rng) == 0:
                raise ValueError
            return [str(p) for p in rng]
        pd.Period(spec, "M")
        return [spec]
    except (ValueError, TypeError):
        raise ParameterError(f"--month/--months must be YYYY-MM or YYYY-MM:YYYY-MM, got {spec!r}") from None


@app.command()
def report(
    data_dir: DataDir,
    month: Annotated[str | None, typer.Option(help="report month YYYY-MM (default: latest month in the data)")] = None,
    months: Annotated[str | None, typer.Option(help="back-fill a range, e.g. 2026-01:2026-10")] = None,
    week: Annotated[str | None, typer.Option(help="weekly read: ISO week YYYY-Www (the cutoff is its Sunday)")] = None,
    weeks: Annotated[str | None, typer.Option(help="back-fill weekly reads, e.g. 2026-W37:2026-W44")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path("reports"),
    min_group_size: Annotated[int | None, typer.Option(help="smallest group shown (default: program.toml or 5)")] = None,
    participation_target: Annotated[float | None, typer.Option(help="e.g. 0.6")] = None,
    sessions_target: Annotated[float | None, typer.Option(help="sessions per pilot team per month, e.g. 4")] = None,
    onboarding_target: Annotated[float | None, typer.Option(help="share faster onboarding, e.g. 0.2")] = None,
    bug_turnaround_target: Annotated[float | None, typer.Option(help="proportional change, e.g. -0.1")] = None,
    alpha: Annotated[float, typer.Option(help="two-sided level of the intervals")] = 0.05,
    strict: Annotated[bool, typer.Option("--strict", help="treat any excluded row as an error")] = False,
    config: ConfigFile = None,
    quiet: Quiet = False,
    fetch_rows: FetchRows = None,
) -> None:
    """Render the report to OUT/YYYY-MM/index.html (monthly) or OUT/YYYY-Www/index.html (weekly), + results.json."""
    from peereval.report.analysis import ReportParameters
    from peereval.report.runner import run_report

    given = [name for name, v in (("--month", month), ("--months", months), ("--week", week), ("--weeks", weeks)) if v]
    if len(given) > 1:
        from peereval.errors import ParameterError

        raise ParameterError(f"give one of --month, --months, --week, --weeks, not {' and '.join(given)}")
    if week or weeks:
        targets, weekly = _weeks(weeks or week), True
    else:
        targets, weekly = (_months(months or month) if (months or month) else [_latest_month(data_dir, config, fetch_rows)]), False
    for m in targets:
        params = ReportParameters(
            data_dir=str(data_dir), month="" if weekly else m, week=m if weekly else "",
            min_group_size=min_group_size,
            participation_target=participation_target, sessions_target=sessions_target,
            onboarding_target=onboarding_target, bug_turnaround_target=bug_turnaround_target,
            alpha=alpha, strict=strict, config=str(config or ""), fetch_rows=fetch_rows,
        )
        with _progress(quiet, f"[{m}] ") as progress:
            outcome = run_report(params, out_dir, progress=progress)
        out.print(f"[{m}] report written in {outcome.seconds:.1f} s ({outcome.where_the_time_went}): {outcome.html}")


@contextlib.contextmanager
def _progress(quiet: bool, prefix: str = ""):
    """A progress callback: a spinner with the current stage, and on a terminal one line per finished
    stage with its rows per second (stderr, so piped output stays clean); nothing when ``quiet``."""
    if quiet:
        yield lambda _msg: None
        return
    with err.status(f"{prefix}starting") as status:
        def progress(msg: str) -> None:
            status.update(f"{prefix}{msg}")
            if err.is_terminal and ("rows" in msg or msg.startswith("executing")):
                err.print(f"{prefix}{msg}", markup=False)

        yield progress


def _weeks(spec: str) -> list[str]:
    """``2026-W37`` or ``2026-W37:2026-W44`` (ISO weeks, inclusive) as a list of week labels."""
    from peereval.errors import ParameterError
    from peereval.periods import read_bounds, read_kind

    parts = spec.split(":")
    if len(parts) not in (1, 2) or any(read_kind(p) != "week" for p in parts):
        raise ParameterError(f"--week/--weeks must be YYYY-Www or YYYY-Www:YYYY-Www (ISO weeks), got {spec!r}")
    import pandas as pd

    first, last = read_bounds(parts[0])[0], read_bounds(parts[-1])[0]
    if last < first:
        raise ParameterError(f"--weeks {spec!r} runs backwards; give the earlier week first")
    out = []
    day = first
    while day <= last:
        year, wk, _ = day.isocalendar()
        out.append(f"{year:04d}-W{wk:02d}")
        day += pd.Timedelta(days=7)
    return out


def _latest_month(data_dir: str, config: Path | None = None, fetch_rows: bool | None = None) -> str:
    from peereval.data.cohort import load
    from peereval.describe import latest_month
    from peereval.engine import load_aggregated, sums_in_database

    data = load_aggregated(data_dir, None, config_file=config) if sums_in_database(data_dir, fetch_rows) else \
        load(data_dir, config_file=config)
    month = latest_month(data)
    if month is None:
        raise DataError([])
    return month


@app.command()
def validate(
    data_dir: DataDir,
    month: Annotated[str | None, typer.Option(help="check as of the end of this month (YYYY-MM)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="treat any excluded row as an error")] = False,
    config: ConfigFile = None,
    quiet: Quiet = False,
    fetch_rows: FetchRows = None,
) -> None:
    """Check a data folder (or database) and print the data-quality ledger (exit 0 usable, 2 not)."""
    import pandas as pd
    from rich.table import Table

    from peereval.data.cohort import load

    cutoff = None if month is None else pd.Period(_months(month)[0], "M").end_time.normalize()
    from peereval.data.database import display, is_database

    started = time.perf_counter()
    with _progress(quiet) as progress:
        progress(f"reading {display(data_dir) if is_database(data_dir) else data_dir}")
        from peereval.engine import load_aggregated, sums_in_database

        if sums_in_database(data_dir, fetch_rows):  # tickets that pass every check in SQL are counted there
            data = load_aggregated(data_dir, cutoff, strict=strict, config_file=config, progress=progress)
        else:
            data = load(data_dir, cutoff=cutoff, strict=strict, config_file=config, progress=progress)
    table = Table(title=f"Data-quality ledger for {display(data_dir) if is_database(data_dir) else data_dir}" + (f" (cutoff {cutoff.date()})" if cutoff else ""))
    for col in ("table", "rows read", "rows used", "excluded / notes"):
        table.add_column(col)
    for name, entry in data.ledger.to_dict().items():
        detail = [f"{r}: {n:,}" for r, n in entry["excluded"].items()] + \
                 [f"note — {r}: {n:,}" for r, n in entry["notes"].items()]
        table.add_row(name, f"{entry['rows_read']:,}", f"{entry['rows_used']:,}", "\n".join(detail) or "—")
    for name in data.missing_tables:
        table.add_row(name, "not provided", "—", "—")
    out.print(table)
    inside = getattr(data, "engine_rows", 0)
    out.print(f"usable: yes · input fingerprint {data.fingerprint[:16]}… · "
              f"{sum(data.ledger.rows_read.values()):,} rows checked in {time.perf_counter() - started:.1f} s"
              + (f" ({inside:,} tickets inside the database)" if inside else ""))


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Argument(help="folder to write the generated dataset into")],
    kind: Annotated[str, typer.Option(help="engineering (tickets, onboarding) or sales (deals, role-play pods)")] = "engineering",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    teams: Annotated[int | None, typer.Option(help="number of teams (default 12; 15 sales; 1,000 with --scale large)")] = None,
    months: Annotated[int, typer.Option(help="number of months")] = 22,
    scale: Annotated[str, typer.Option(help="small, or large (~10 million tickets, Parquet)")] = "small",
    end_month: Annotated[str, typer.Option(help="last month of the data, YYYY-MM")] = "2026-10",
    quirks: Annotated[str, typer.Option(help="none, or random: the seed picks a mix of the quirks below")] = "none",
    start_day: Annotated[str | None, typer.Option(help="first (weekday of the month) or any weekday")] = None,
    any_day_tickets: Annotated[float | None, typer.Option(help="share of tickets on any day, weekends too")] = None,
    one_team_pilot: Annotated[bool | None, typer.Option("--one-team-pilot/--no-one-team-pilot", help="a single pilot team")] = None,
    blank_priority: Annotated[float | None, typer.Option(help="share of tickets without priority")] = None,
    empty_months: Annotated[float | None, typer.Option(help="share of team-months without tickets")] = None,
    never_competent: Annotated[float | None, typer.Option(help="share of hires never reaching competency")] = None,
    odd_durations: Annotated[float | None, typer.Option(help="share of sessions with odd lengths")] = None,
    duplicate_people: Annotated[int | None, typer.Option(help="people listed twice (identical rows)")] = None,
    changed_duplicate_people: Annotated[int | None, typer.Option(help="people listed twice, role changed")] = None,
) -> None:
    """Generate a realistic dataset with known truth (OUT/TRUTH.json); quirks add real exports' irregularities."""
    from peereval.data.sample import Quirks, generate
    from peereval.errors import ParameterError

    if kind not in ("engineering", "sales"):
        raise ParameterError(f"--kind must be engineering or sales, got {kind!r}")
    if scale not in ("small", "large"):
        raise ParameterError(f"--scale must be small or large, got {scale!r}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", end_month):
        raise ParameterError(f"--end-month must be YYYY-MM, e.g. 2026-10, got {end_month!r}")
    if quirks not in ("none", "random"):
        raise ParameterError(f"--quirks must be none or random, got {quirks!r}")
    try:
        mix = (Quirks.random(seed) if quirks == "random" else Quirks()).with_options(
            start_day=start_day, any_day_tickets=any_day_tickets, one_team_pilot=one_team_pilot,
            blank_priority=blank_priority, empty_months=empty_months, never_competent=never_competent,
            odd_durations=odd_durations, duplicate_people=duplicate_people,
            changed_duplicate_people=changed_duplicate_people)
    except ValueError as exc:
        raise ParameterError(f"sample option: {exc}") from None
    if kind == "sales" and (scale != "small" or mix.active):
        raise ParameterError("--kind sales takes only --seed, --teams, --months and --end-month "
                             "(no --scale large, no quirks)")
    with out.status("generating sample data"):
        try:
            if kind == "sales":
                from peereval.data.sample_sales import generate_sales

                generate_sales(out_dir, seed=seed, teams=teams, months=months, end_month=end_month)
            else:
                generate(out_dir, seed=seed, teams=teams, months=months, scale=scale, end_month=end_month,
                         quirks=mix)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
    if mix.active:
        out.print(f"quirks: {' '.join(mix.cli_args())}", markup=False)
    out.print(f"sample data written to {out_dir} (ground truth in {out_dir / 'TRUTH.json'})")


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="jira, github, ics, forms or hr")],
    source: Annotated[Path, typer.Argument(help="the exported file")],
    into: Annotated[str, typer.Option("--into", help="where to add the rows: a data folder, a DuckDB file "
                                      "(exports.duckdb, created if missing) or a PostgreSQL URL "
                                      "(postgresql://user@host/db?schema=s)")],
    mapping: Annotated[Path | None, typer.Option(help="mapping.toml (teams, columns, keywords)")] = None,
    allow_skips: Annotated[bool, typer.Option(
        "--allow-skips", help="write the import even when it skips more than 5% of the rows")] = False,
) -> None:
    """Import a Jira/GitHub/calendar/survey/HR export into a data folder or database (idempotent upsert).

    Stops (exit 2, nothing written) when more than 5% of the export's rows would be skipped or
    none imported, listing each reason with its count and fix; --allow-skips accepts them. A
    database's tables are written in one transaction: a failure leaves them as they were.
    """
    from peereval.errors import ParameterError
    from peereval.importers import KINDS, run_import

    if kind not in KINDS:
        raise ParameterError(f"unknown import kind {kind!r}; choose one of: {', '.join(KINDS)}")
    summary = run_import(kind, source, into, mapping=mapping, allow_skips=allow_skips)
    out.print(summary.render(), markup=False)


@app.command()
def plan(
    history: Annotated[Path | None, typer.Option(help="folder of historical exports to estimate variability from")] = None,
    pilot_teams: Annotated[int, typer.Option(help="planned pilot teams")] = 1,
    control_teams: Annotated[int, typer.Option(help="planned control teams")] = 4,
    hires_per_team_month: Annotated[float | None, typer.Option(help="new hires per team per month")] = None,
    tickets_per_team_month: Annotated[float | None, typer.Option(help="bugs per team per month")] = None,
    median_days: Annotated[float | None, typer.Option(help="median days from hire to competency")] = None,
    icc: Annotated[float | None, typer.Option(help="team-month intraclass correlation of log hours")] = None,
    follow_up_months: Annotated[float, typer.Option(help="months hires are followed after the pilot")] = 3.0,
    bug_target: Annotated[float, typer.Option(help="target change in bug turnaround, e.g. -0.2")] = -0.20,
    onboarding_target: Annotated[float, typer.Option(help="target onboarding speed-up, e.g. 0.2")] = 0.20,
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path("reports"),
) -> None:
    """Plan a pilot: smallest detectable effects for 4-26 weeks, and the teams the targets need."""
    from peereval.report.runner import run_plan

    params = {
        "history_dir": str(history) if history else "", "n_pilot_teams": pilot_teams,
        "n_control_teams": control_teams, "hires_per_team_month": hires_per_team_month,
        "tickets_per_team_month": tickets_per_team_month, "median_days_competency": median_days, "icc": icc,
        "follow_up_months": follow_up_months, "bug_target": bug_target, "onboarding_target": onboarding_target,
    }
    with out.status("planning") as status:
        html = run_plan(params, out_dir, progress=lambda msg: status.update(msg))
    out.print(f"pilot plan written: {html}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every failure into a clear message and exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except DataError as exc:
        err.print(exc.render() if exc.problems else "The data folder holds no dated rows to report on.",
                  markup=False)
        return 2
    except PeerevalError as exc:
        err.print(f"error: {exc}", markup=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted", markup=False)
        return 130
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # a usage error from the CLI parser
            exc.show()
            return 2
        if os.environ.get("PEEREVAL_DEBUG"):
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "This is a bug in peereval, not in your data. Re-run with PEEREVAL_DEBUG=1 and report it.",
                  markup=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
