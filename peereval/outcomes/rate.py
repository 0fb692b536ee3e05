"""``rate`` outcomes: rows per person per period (e.g. deals closed per rep per month).

Estimand: relative change in the rate, from a DiD on team-month rates (rows ÷ headcount)
weighted by headcount; the change in rows per person per month is divided by the pilot teams'
counterfactual rate. Headcount is everyone in the team hired on or before the month's last day
(the people export has no leaving dates). A team-month with no people is not a cell. A pilot
team's start month counts only when the start is on the 1st; otherwise its rows are left out
for that team (exposure would cover part of the month).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame, in_scope, link_team
from peereval.periods import Calendar, transition_reason


def build(data: CohortData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    src = data.table(o.table)
    excluded: dict[str, int] = {}
    cols = [c for c in dict.fromkeys([o.person, o.team, o.date, *o.where]) if c]
    df = link_team(data, o, src[cols])
    df = in_scope(df, o, o.date, cal.end, excluded)
    period = cal.index(df[o.date])
    last = cal.index(cal.end - pd.Timedelta(days=1)) if cal.end is not None else int(period.max())
    first = int(period.min()) if len(period) else last
    teams = cal.cohort.index
    grid = pd.MultiIndex.from_product([teams, np.arange(first, last + 1)], names=["team", "period"])
    counts = df.groupby([df["team"], period.rename("period")]).size().reindex(grid, fill_value=0)
    hire = cal.index(data.people["hire_date"])  # hired by a period's end: counted from that period on
    heads = pd.DataFrame({"team": data.people["team"].to_numpy(), "period": hire.to_numpy()})
    cells = pd.DataFrame(index=grid).reset_index()
    cells["count"] = counts.to_numpy()
    by_team = {t: np.sort(g["period"].to_numpy()) for t, g in heads.groupby("team")}
    cells["headcount"] = [int(np.searchsorted(by_team.get(t, np.array([])), p, side="right"))
                          for t, p in zip(cells["team"], cells["period"], strict=True)]
    empty = cells["headcount"] == 0
    _add(excluded, f"in a team-{cal.period} with nobody in the team yet", cells.loc[empty, "count"].sum())
    cells = cells[~empty]
    cells["cohort"] = cells["team"].map(cal.cohort)
    start = cells["team"].map(cal.start)
    start_period = cal.index(start)
    cells["treated"] = ((cells["cohort"] == "pilot") & (cells["period"] > start_period)).astype(int)
    on_first = (start == start.map(lambda d: cal.first_day(cal.index(d)) if pd.notna(d) else pd.NaT))  # starts a period
    cells.loc[(cells["period"] == start_period) & on_first.fillna(False), "treated"] = 1
    transition = (cells["cohort"] == "pilot") & (cells["period"] == start_period) & ~on_first.fillna(False)
    _add(excluded, transition_reason(cal.period), cells.loc[transition, "count"].sum())
    cells["y"] = cells["count"] / cells["headcount"]
    cells["used"] = ~transition.to_numpy()
    cells["date"] = pd.to_datetime([cal.first_day(p) for p in cells["period"]])
    return OutcomeFrame(o, cells.reset_index(drop=True), cal, excluded, {}, weight="headcount",
                        extra={"rows": int(len(df))})


def _add(counts: dict[str, int], reason: str, n) -> None:
    if int(n):
        counts[reason] = counts.get(reason, 0) + int(n)
