"""``milestone`` outcomes: days from a person's hire to a milestone (e.g. onboarding to competency).

Estimand: speed-up (1 − time ratio) of pilot hires — people hired into a pilot team on or after
its start — against control-team hires. Hires who have not reached the milestone are censored at
the cutoff. People hired before the data window are tenured staff (their onboarding was never
observed) and hires into a pilot team before its start belong to neither group: both counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame, count
from peereval.periods import Calendar

PRE_START = "pilot team, before start"


def data_start(data: CohortData, milestones: pd.DataFrame) -> pd.Timestamp | None:
    """First day of the first month with any activity (tickets, sessions, milestones)."""
    firsts = [data.ticket_span()[0], data.sessions["date"].min(), milestones["date"].min()]
    firsts = [f for f in firsts if pd.notna(f)]
    return min(firsts).to_period("M").start_time if firsts else None


def reached(data: CohortData, o: Outcome) -> pd.DataFrame:
    """The milestone rows of ``o`` (person_id, date), whatever table they come from."""
    src = data.table(o.table)
    person, date = o.person or "person_id", o.date or "date"
    if o.table != "milestones" or not o.builtin:
        src = src[src[o.milestone_column].astype("string").str.strip().str.lower() == o.milestone.lower()]
    return pd.DataFrame({"person_id": src[person].to_numpy(), "date": src[date].to_numpy()}).dropna()


def build(data: CohortData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    """One row per hire in the data window: days to the milestone (or to the cutoff, censored)."""
    people = data.people
    done = reached(data, o)
    first = done.groupby("person_id")["date"].min()
    end = data.cutoff if data.cutoff is not None else _last_date(data, done)
    start = data_start(data, done)
    in_window = people["hire_date"] >= start if start is not None else pd.Series(True, index=people.index)
    frame = people.loc[in_window, ["person_id", "team", "role", "hire_date"]].copy()
    frame["cohort"] = frame["team"].map(cal.cohort)
    pilot_start = frame["team"].map(cal.start)
    frame["group"] = np.where(frame["cohort"] == "control", "control",
                              np.where(frame["hire_date"] >= pilot_start, "pilot", PRE_START))
    when = frame["person_id"].map(first)
    frame["event"] = when.notna().astype(int)
    stop = when.fillna(end + pd.Timedelta(days=1) if end is not None else pd.NaT)
    frame["days"] = (stop - frame["hire_date"]).dt.days.astype(float)
    frame["hire_month"] = frame["hire_date"].dt.to_period("M").astype(str)
    frame["is_pilot"] = (frame["group"] == "pilot").astype(int)
    frame["treated"] = frame["is_pilot"]
    frame["y"] = frame["days"]
    excluded: dict[str, int] = {}
    count(excluded, "hired into a pilot team before its start", frame["group"] == PRE_START)
    tenured = int((~in_window).sum())
    if tenured:
        excluded["hired before the data window (tenured staff)"] = tenured
    compared = frame["group"].isin(["pilot", "control"])
    zero = compared & (frame["days"] <= 0)
    count(excluded, "hired on the cutoff day (no follow-up yet)", zero)
    frame["used"] = compared & ~zero
    return OutcomeFrame(o, frame.reset_index(drop=True), cal, excluded, {}, extra={"tenured_staff": tenured})


def _last_date(data: CohortData, done: pd.DataFrame) -> pd.Timestamp | None:
    dates = [done["date"].max(), data.people["hire_date"].max()]
    dates = [d for d in dates if pd.notna(d)]
    return max(dates).normalize() if dates else None
