"""Monte Carlo: pilots that start on any day of a month — how should the start month enter?

Simulates ticket-level data (tickets created on every day, weekends included), pilot teams
starting on a random weekday inside their start month, team and month effects, a secular
trend, AR(1) team-month shocks and ticket noise; the program shortens log resolution time by
``EFFECT`` for tickets created on or after the team's start. Compares five ways of letting
the start month enter the two-way fixed-effects DiD, each with did()'s automatic inference
(randomization inference with few pilot teams, else the wild bootstrap) unless stated:

- ``month: start month treated``  — exposure by month, the whole start month counted as after;
- ``month: start month before``   — exposure by month, the whole start month counted as before;
- ``ticket: keep all``            — exposure per ticket, every ticket kept (treatment varies
  inside the start team-month, so randomization over teams is not available: wild bootstrap);
- ``ticket: drop pre-start rows`` — exposure per ticket, the pilot team's tickets created
  before the start in the start month left out;
- ``ticket: drop start month``    — exposure per ticket, the pilot team's whole start month left out
  (what peereval does when that month mixes tickets from before and after the start);

Scenario ``end-of-month``: tickets created late in a month take longer (log hours + 0.4 x
(day of month / length of month - 0.5)), the composition effect that could bias dropping part
of a team-month.

    python benchmarks/coverage_midmonth.py --reps 500 --jobs 2
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from montecarlo import emit, markdown_table, run  # noqa: E402

from peereval.estimate.did import did

EFFECT = -0.20
N_MONTHS = 24
RHO = 0.5
DESIGNS = (  # label, teams, pilot teams, start months of the waves
    ("4 of 12 teams, waves in months 17 and 20", 12, 4, (17, 20)),
    ("8 of 24 teams, waves in months 17 and 20", 24, 8, (17, 20)),
)
SCENARIOS = ("uniform", "end-of-month")
VARIANTS = ("month: start month treated", "month: start month before", "ticket: keep all",
            "ticket: drop pre-start rows", "ticket: drop start month")
MONTH0 = np.datetime64("2025-01-01")


def simulate(rng: np.random.Generator, n_teams: int, n_pilot: int, waves: tuple[int, ...],
             scenario: str, pilot_trend: float = 0.0) -> pd.DataFrame:
    """Ticket-level data; ``pilot_trend`` adds a per-month trend to pilot teams only (diverging trends)."""
    month_start = MONTH0.astype("datetime64[M]") + np.arange(N_MONTHS + 1)
    days_in = (month_start[1:].astype("datetime64[D]") - month_start[:-1].astype("datetime64[D]")).astype(int)
    team_fe = rng.normal(0, 0.4, n_teams)
    month_fe = rng.normal(0, 0.1, N_MONTHS) + 0.01 * np.arange(N_MONTHS)
    shock = np.empty((n_teams, N_MONTHS))
    shock[:, 0] = rng.normal(0, 0.15, n_teams)
    for m in range(1, N_MONTHS):
        shock[:, m] = RHO * shock[:, m - 1] + rng.normal(0, 0.15 * math.sqrt(1 - RHO**2), n_teams)
    pilots = rng.choice(n_teams, n_pilot, replace=False)
    start = np.full(n_teams, np.datetime64("NaT"), dtype="datetime64[s]")
    for i, team in enumerate(pilots):
        m = waves[i % len(waves)]
        first = month_start[m].astype("datetime64[D]")
        weekdays = [d for d in range(days_in[m]) if np.is_busday(first + d)]
        start[team] = (first + int(rng.choice(weekdays))).astype("datetime64[s]")
    counts = rng.poisson(25, (n_teams, N_MONTHS))
    team = np.repeat(np.repeat(np.arange(n_teams), N_MONTHS), counts.ravel())
    month = np.repeat(np.tile(np.arange(N_MONTHS), n_teams), counts.ravel())
    frac = rng.random(len(team))
    created = (month_start[month].astype("datetime64[s]")
               + (frac * days_in[month] * 86400).astype("timedelta64[s]"))
    treated = (created >= start[team]) & ~np.isnat(start[team])
    y = team_fe[team] + month_fe[month] + shock[team, month] + rng.normal(0, 1.0, len(team)) + EFFECT * treated
    y = y + pilot_trend * month * np.isin(team, pilots)
    if scenario == "end-of-month":
        y = y + 0.4 * (frac - 0.5)
    start_month = np.where(np.isnat(start), -1, (start.astype("datetime64[M]") - MONTH0.astype("datetime64[M]"))
                           .astype(int))
    return pd.DataFrame({"team": team, "month": month, "y": y, "treated": treated.astype(int),
                         "start_month": start_month[team]})


def variant_frame(df: pd.DataFrame, variant: str) -> tuple[pd.DataFrame, str]:
    pilot = df["start_month"] >= 0
    in_start = pilot & (df["month"] == df["start_month"])
    if variant == "month: start month treated":
        return df.assign(treated=(pilot & (df["month"] >= df["start_month"])).astype(int)), "auto"
    if variant == "month: start month before":
        return df.assign(treated=(pilot & (df["month"] > df["start_month"])).astype(int)), "auto"
    if variant == "ticket: keep all":
        return df, "wild"
    if variant == "ticket: drop pre-start rows":
        return df[~(in_start & (df["treated"] == 0))], "auto"
    return df[~in_start], "auto"


def one_rep(args: tuple[int, str, int, np.random.SeedSequence]) -> list[dict]:
    d, scenario, rep, seq = args
    label, n_teams, n_pilot, waves = DESIGNS[d]
    df = simulate(np.random.default_rng(seq), n_teams, n_pilot, waves, scenario)
    out = []
    for variant in VARIANTS:
        frame, inference = variant_frame(df, variant)
        r = did(frame, outcome="y", unit="team", time="month", treated="treated", inference=inference, seed=rep)
        out.append({"design": label, "scenario": scenario, "variant": variant, "inference": r.details["inference"],
                    "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
                    "rows": len(frame)})
    return out


def summarise(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["err"] = df.estimate - EFFECT
    df["covered"] = (df.ci_low <= EFFECT) & (EFFECT <= df.ci_high)
    df["width"] = df.ci_high - df.ci_low
    df["reject"] = df.p_value < 0.05
    g = df.groupby(["design", "scenario", "variant"], sort=False)
    return pd.DataFrame({
        "reps": g.size(), "inference": g.inference.agg(lambda s: "/".join(sorted(set(s)))),
        "bias": g.err.mean(), "RMSE": np.sqrt(g.err.apply(lambda e: (e**2).mean())),
        "coverage 95%": g.covered.mean(), "mean width": g.width.mean(), "power (p<0.05)": g.reject.mean(),
    }).reset_index()


def to_markdown(table: pd.DataFrame, reps: int, seconds: float) -> str:
    head = (f"### Pilots starting on any day: {reps} simulated pilots per design and scenario\n\n"
            f"Ticket-level data, {N_MONTHS} months, Poisson(25) tickets per team-month created on any day, "
            f"starts on a random weekday of the wave's month, team and month effects, trend, AR(1) team-month "
            f"shocks (rho={RHO}), true effect {EFFECT} on log hours. Monte Carlo standard error of a 95% "
            f"coverage: {math.sqrt(0.95 * 0.05 / reps):.3f}.\n\n")
    return head + markdown_table(table) + f"\n\nWall time: {seconds:.0f} s.\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--out", type=str, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    root = np.random.SeedSequence(args.seed)
    tasks = []
    for (d, scenario), seq in zip([(d, s) for d in range(len(DESIGNS)) for s in SCENARIOS],
                                  root.spawn(len(DESIGNS) * len(SCENARIOS)), strict=True):
        tasks += [(d, scenario, rep, s) for rep, s in enumerate(seq.spawn(args.reps))]
    rows = run(one_rep, tasks, args.jobs, chunksize=4)
    text = to_markdown(summarise(rows), args.reps, time.perf_counter() - t0)
    emit(text, args.out)


if __name__ == "__main__":
    main()
