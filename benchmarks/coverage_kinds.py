"""Monte Carlo: bias, 95% coverage, width and power of the proportion, mean and rate outcomes.

Each replication generates a company (teams, people with hire dates, and a ``deals`` outcome
table: one row per deal, dated on any day of a month, linked to a rep), declares the outcome as
``program.toml`` would (:class:`~peereval.outcomes.declare.Outcome`), builds its frame with
``peereval.outcomes.build`` and estimates with ``peereval.effects.effect`` — the report's path,
so inference is did()'s automatic rule (randomization inference with fewer than 8 pilot teams,
else the wild bootstrap) and the pilot teams' mixed start months are washed out.

The latent team-month level has team and month effects, a secular trend and AR(1) team-month
shocks; pilot teams start on a random weekday of their wave's month. Truth on the report's
scale, by kind:

- ``proportion``: each deal is won with probability level + ``0.06`` when closed on or after
  its team's start — truth +6 points;
- ``mean (log)``: log deal size + log(1.10) — truth +10% (relative change in the typical size);
- ``mean (level)``: a score + 0.25 units — truth +0.25;
- ``rate``: deals per rep-month × 1.15 — truth +15%, the ratio of the change in deals per rep to
  the counterfactual rate (``OutcomeEffect.to_scale``), whatever the team's level.

``rate, former interval`` is the interval the report gave before: both ends of the interval
on rates divided by the estimated counterfactual rate. It ignores that the baseline is itself
estimated (treated mean − estimate) and covers P(|Z| ≤ 1.96 / (1 + r)) — 91% for r = 0.15.
``rate`` transforms each end (``x / (treated mean − x)``), which is exact given the treated mean.

    nice python benchmarks/coverage_kinds.py --reps 500 --jobs 2 --out benchmarks/out/kinds.md
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
from montecarlo import run  # noqa: E402

from peereval.config import ProgramConfig
from peereval.data.cohort import CohortData
from peereval.data.ledger import Ledger
from peereval.effects import effect
from peereval.outcomes import build
from peereval.outcomes.declare import Outcome

N_MONTHS = 24
FIRST = pd.Timestamp("2025-01-01")
RHO = 0.6
# label, teams, pilot teams, wave months (index into the 24 months)
DESIGNS = (
    ("4 of 24 teams, one wave (month 13)", 24, 4, (12,)),
    ("20 of 60 teams, waves in months 9/13/17", 60, 20, (8, 12, 16)),
)
TRUTH = {"proportion": 0.06, "mean (log)": 0.10, "mean (level)": 0.25, "rate": 0.15}
KINDS = tuple(TRUTH)
FORMER = "rate, former interval (both ends ÷ baseline)"
LABELS = {"proportion": "proportion (points)", "mean (log)": "mean, log (relative)",
          "mean (level)": "mean, level (units)", "rate": "**rate (relative)**"}
OUTCOMES = {
    "proportion": Outcome(name="Close rate", kind="proportion", table="deals", key="close_rate", person="rep_id",
                          date="closed_at", value="won"),
    "mean (log)": Outcome(name="Deal size", kind="mean", table="deals", key="deal_size", person="rep_id",
                          date="closed_at", value="amount", scale="log"),
    "mean (level)": Outcome(name="Score", kind="mean", table="deals", key="score", person="rep_id",
                            date="closed_at", value="score", scale="level"),
    "rate": Outcome(name="Deals per rep", kind="rate", table="deals", key="deals_per_rep", person="rep_id",
                    date="closed_at"),
}


def _ar1(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    shock = np.empty((n, N_MONTHS))
    shock[:, 0] = rng.normal(0, sd, n)
    for m in range(1, N_MONTHS):
        shock[:, m] = RHO * shock[:, m - 1] + rng.normal(0, sd * math.sqrt(1 - RHO**2), n)
    return shock


def simulate(rng: np.random.Generator, kind: str, n_teams: int, n_pilot: int,
             waves: tuple[int, ...]) -> tuple[CohortData, float]:
    """One generated company with a ``deals`` table for ``kind`` (see the module docs).

    Also returns, for proportions, the relative change's truth: 0.06 ÷ the pilot deals' mean
    counterfactual win probability (NaN for the other kinds).
    """
    month_start = pd.date_range(FIRST, periods=N_MONTHS + 1, freq="MS")
    days_in = np.diff(month_start.values).astype("timedelta64[D]").astype(int)
    teams = [f"t{i:02d}" for i in range(n_teams)]
    pilots = rng.choice(n_teams, n_pilot, replace=False)
    start = np.full(n_teams, np.datetime64("NaT"), dtype="datetime64[D]")
    for i, team in enumerate(pilots):
        first = month_start[waves[i % len(waves)]].to_datetime64().astype("datetime64[D]")
        start[team] = np.busday_offset(first, int(rng.integers(0, 20)), roll="forward")
    team_df = pd.DataFrame({"team": teams, "cohort": np.where(np.isnat(start), "control", "pilot"),
                            "pilot_start": pd.to_datetime(start)})
    # people: a core hired before the data, then about one hire per team every 3 months
    core = rng.poisson(8, n_teams) + 3
    hires = rng.poisson(1 / 3, (n_teams, N_MONTHS))
    p_team = np.concatenate([np.repeat(np.arange(n_teams), core), np.repeat(np.repeat(np.arange(n_teams), N_MONTHS),
                                                                            hires.ravel())])
    hire_month = np.concatenate([np.full(core.sum(), -1), np.repeat(np.tile(np.arange(N_MONTHS), n_teams),
                                                                   hires.ravel())])
    hire_frac = np.where(hire_month < 0, 0.0, rng.random(len(p_team)))
    hire_date = np.where(hire_month < 0, np.datetime64("2023-06-01"),
                         month_start.values[np.maximum(hire_month, 0)].astype("datetime64[D]")
                         + (hire_frac * days_in[np.maximum(hire_month, 0)]).astype("timedelta64[D]"))
    people = pd.DataFrame({"person_id": [f"p{i:05d}" for i in range(len(p_team))], "team": np.array(teams)[p_team],
                           "role": "rep", "hire_date": pd.to_datetime(hire_date)})
    # team-month latent level: team + month effects, trend, AR(1) shocks
    t = np.arange(N_MONTHS)
    sd = {"proportion": (0.05, 0.015, 0.002, 0.03), "mean (log)": (0.3, 0.08, 0.005, 0.1),
          "mean (level)": (0.4, 0.1, 0.01, 0.15), "rate": (0.8, 0.25, 0.02, 0.4)}[kind]
    level = (rng.normal(0, sd[0], n_teams)[:, None] + rng.normal(0, sd[1], N_MONTHS)[None, :] + sd[2] * t[None, :]
             + _ar1(rng, n_teams, sd[3]))
    # working rep-months per team-month (a hire counts from the hire date)
    worked = np.zeros((n_teams, N_MONTHS))
    for m in range(N_MONTHS):
        frac = np.where(hire_month < m, 1.0, np.where(hire_month == m, 1 - hire_frac, 0.0))
        worked[:, m] = np.bincount(p_team, weights=frac, minlength=n_teams)
    if kind == "rate":
        lam = np.maximum(4.0 + level, 0.5)
        mean_rows = lam * worked
    else:
        mean_rows = np.full((n_teams, N_MONTHS), 40.0)
    # rows: dated uniformly in the month; effect for rows on or after the team's start
    counts_cf = rng.poisson(mean_rows * (1 + TRUTH["rate"]) if kind == "rate" else mean_rows)
    team_of = np.repeat(np.repeat(np.arange(n_teams), N_MONTHS), counts_cf.ravel())
    month_of = np.repeat(np.tile(t, n_teams), counts_cf.ravel())
    day = (rng.random(len(team_of)) * days_in[month_of]).astype(int)
    date = month_start.values[month_of].astype("datetime64[D]") + day.astype("timedelta64[D]")
    treated = ~np.isnat(start[team_of]) & (date >= start[team_of])
    if kind == "rate":  # thin untreated rows back to the counterfactual rate (Poisson thinning)
        keep = treated | (rng.random(len(team_of)) < 1 / (1 + TRUTH["rate"]))
        team_of, month_of, date, treated = team_of[keep], month_of[keep], date[keep], treated[keep]
    base = level[team_of, month_of]
    n = len(team_of)
    cols: dict[str, object] = {}
    relative = math.nan
    if kind == "proportion":
        p = np.clip(0.30 + base + TRUTH["proportion"] * treated, 0.01, 0.99)
        cols["won"] = np.where(rng.random(n) < p, "true", "false")
        relative = TRUTH["proportion"] / float(np.clip(0.30 + base[treated], 0.01, 0.99).mean())
    elif kind == "mean (log)":
        cols["amount"] = np.exp(np.log(10_000) + base + math.log1p(TRUTH["mean (log)"]) * treated
                                + rng.normal(0, 0.8, n)).round(2)
    elif kind == "mean (level)":
        cols["score"] = 3.5 + base + TRUTH["mean (level)"] * treated + rng.normal(0, 1.0, n)
    # each row to a rep of its team who was there by that day
    rep = np.empty(n, dtype=np.int64)
    order = np.lexsort((hire_date, p_team))
    by_team = np.split(order, np.cumsum(np.bincount(p_team, minlength=n_teams))[:-1])
    for team in range(n_teams):
        rows = np.flatnonzero(team_of == team)
        members = by_team[team]
        available = np.searchsorted(hire_date[members], date[rows], side="right")
        rep[rows] = members[(rng.random(len(rows)) * np.maximum(available, 1)).astype(int)]
    deals = pd.DataFrame({"rep_id": people["person_id"].to_numpy()[rep], "closed_at": pd.to_datetime(date), **cols})
    cutoff = month_start[N_MONTHS] - pd.Timedelta(days=1)
    empty = pd.DataFrame()
    data = CohortData(teams=team_df, people=people, sessions=empty, attendance=empty, milestones=empty, tickets=empty,
                      surveys=empty, config=ProgramConfig(declared=(OUTCOMES[kind],)), ledger=Ledger(), cutoff=cutoff,
                      source=Path("."), fingerprint="", outcome_tables={"deals": deals})
    return data, relative


def naive_rate_interval(e) -> tuple[float, float]:
    """The former rate interval: both ends divided by the estimated counterfactual rate."""
    return e.model.ci_low / e.baseline, e.model.ci_high / e.baseline


def one_rep(args: tuple[int, str, int, np.random.SeedSequence]) -> list[dict]:
    d, kind, rep, seq = args
    label, n_teams, n_pilot, waves = DESIGNS[d]
    data, relative = simulate(np.random.default_rng(seq), kind, n_teams, n_pilot, waves)
    t0 = time.perf_counter()
    e = effect(build(data, OUTCOMES[kind]), seed=rep)
    ms = 1000 * (time.perf_counter() - t0)
    row = {"design": label, "kind": kind, "truth": TRUTH[kind],
           "inference": e.model.details["inference"] if e.model else "refused",
           "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value, "ms": ms}
    out = [row]
    if kind == "rate" and e.model is not None:
        lo, hi = naive_rate_interval(e)
        out.append(row | {"kind": FORMER, "ci_low": lo, "ci_high": hi})
    if kind == "proportion":  # the relative change shown beside the points (no interval)
        out.append(row | {"kind": "proportion: relative change (point only)", "truth": relative,
                          "estimate": e.relative, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan})
    return out


def summarise(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["err"] = df.estimate - df.truth
    df["covered"] = (df.ci_low <= df.truth) & (df.truth <= df.ci_high)
    df["width"] = df.ci_high - df.ci_low
    df["reject"] = df.p_value < 0.05
    g = df.groupby(["design", "kind"], sort=False)
    reps = g.size()
    cov = g.covered.mean()
    table = pd.DataFrame({
        "reps": reps, "inference": g.inference.agg(lambda s: "/".join(sorted(set(s)))), "truth": g.truth.mean(),
        "bias": g.err.mean(), "bias MC s.e.": g.err.std() / np.sqrt(reps),
        "coverage 95%": cov, "MC s.e.": np.sqrt(cov * (1 - cov) / reps), "mean width": g.width.mean(),
        "power (p<0.05)": g.reject.mean(), "ms per effect()": g.ms.mean(),
    }).reset_index()
    point_only = table["kind"].str.contains("point only")
    table.loc[point_only, ["coverage 95%", "MC s.e.", "mean width", "power (p<0.05)"]] = math.nan
    table["kind"] = table["kind"].map(lambda k: LABELS.get(k, k))
    return table


def to_markdown(table: pd.DataFrame, reps: int, seconds: float) -> str:
    head = (f"### proportion, mean and rate outcomes: {reps} generated companies per design and kind\n\n"
            f"Deal-level data, {N_MONTHS} months, team and month effects, trend, AR(1) team-month shocks "
            f"(rho={RHO}), starts on a random weekday of the wave's month (mixed start months washed out). "
            "Estimates, intervals and p-values from effect(build(data, outcome)) on the report's scale.\n\n")
    ms = table.pop("ms per effect()")
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(("—" if math.isnan(v) else f"{v:.3f}") if isinstance(v, float) else str(v)
                                        for v in r) + " |")
    return (head + "\n".join(lines) + f"\n\nWall time: {seconds:.0f} s; {ms.min() / 1000:.1f}–{ms.max() / 1000:.1f} s "
            "per effect() (mean by design and kind).\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261210)
    ap.add_argument("--designs", type=str, default=None, help="comma-separated design indices")
    ap.add_argument("--kinds", type=str, default=None, help="comma-separated kinds, e.g. rate,proportion")
    ap.add_argument("--out", type=str, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    which = range(len(DESIGNS)) if args.designs is None else [int(i) for i in args.designs.split(",")]
    kinds = KINDS if args.kinds is None else tuple(k.strip() for k in args.kinds.split(","))
    root = np.random.SeedSequence(args.seed)
    seqs = dict(zip([(d, k) for d in range(len(DESIGNS)) for k in KINDS],
                    root.spawn(len(DESIGNS) * len(KINDS)), strict=True))
    tasks = [(d, k, rep, s) for d in which for k in kinds for rep, s in enumerate(seqs[d, k].spawn(args.reps))]
    rows = run(one_rep, tasks, args.jobs, chunksize=4)
    text = to_markdown(summarise(rows), args.reps, time.perf_counter() - t0)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
