"""Descriptive views of the outcomes by cohort: what happened, before any causal estimate.

These are the raw trends a reader sees next to the effect estimates. They are not effects: pilot
teams were chosen, not randomly assigned, and the company-wide trend moves both groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData


def ticket_frame(data: CohortData) -> pd.DataFrame:
    """One row per counted ticket: team, cohort, pilot_start, created month, hours, open flag.

    ``treated`` is 1 for tickets of a pilot team created on/after the team's pilot_start.
    Open tickets have NaN ``hours`` and ``open`` True (censored at the cutoff).
    """
    t = data.tickets
    teams = data.teams.set_index("team")
    frame = pd.DataFrame({
        "ticket_id": t["ticket_id"].to_numpy(),
        "team": t["team"].to_numpy(),
        "created_at": t["created_at"].to_numpy(),
        "resolved_at": t["resolved_at"].to_numpy(),
    })
    frame["cohort"] = frame["team"].map(teams["cohort"])
    frame["pilot_start"] = frame["team"].map(teams["pilot_start"])
    frame["month"] = frame["created_at"].dt.to_period("M").astype(str)
    frame["hours"] = (frame["resolved_at"] - frame["created_at"]).dt.total_seconds() / 3600.0
    frame["open"] = frame["resolved_at"].isna()
    frame["treated"] = ((frame["cohort"] == "pilot") & (frame["created_at"] >= frame["pilot_start"])).astype(int)
    if "priority" in t.columns:
        frame["priority"] = t["priority"].fillna("unknown").to_numpy()
    return frame


def monthly_turnaround(data: CohortData) -> pd.DataFrame:
    """Median resolution hours of tickets created each month, by cohort (open tickets counted apart).

    Columns: month, cohort, median_hours, tickets, resolved, still_open. The median is over
    resolved tickets only, so recent months (with more tickets still open) look faster than
    they are; the effect estimate handles this with a fixed follow-up window.
    """
    frame = ticket_frame(data)
    if frame.empty:
        return pd.DataFrame(columns=["month", "cohort", "median_hours", "tickets", "resolved", "still_open"])
    grouped = frame.groupby(["month", "cohort"], sort=True)
    out = grouped.agg(
        median_hours=("hours", "median"),
        tickets=("ticket_id", "size"),
        resolved=("open", lambda s: int((~s).sum())),
        still_open=("open", "sum"),
    ).reset_index()
    out["still_open"] = out["still_open"].astype(int)
    return out


def data_start(data: CohortData) -> pd.Timestamp | None:
    """First day of the first month with any activity (tickets, sessions, milestones)."""
    firsts = [data.tickets["created_at"].min(), data.sessions["date"].min(), data.milestones["date"].min()]
    firsts = [f for f in firsts if pd.notna(f)]
    return min(firsts).to_period("M").start_time if firsts else None


def onboarding_frame(data: CohortData) -> pd.DataFrame:
    """One row per hire in the data window: days from hire to competency, or censored at the cutoff.

    People hired before the data window (see :func:`data_start`) are tenured staff, not new
    hires: their onboarding was never observed, so they are left out (``tenured_staff`` counts them).

    ``group`` is ``pilot`` for people hired into a pilot team on/after its pilot_start,
    ``control`` for hires into control teams, and ``pilot team, before start`` otherwise.
    ``event`` is 1 when the competency milestone was reached by the cutoff.
    """
    people = data.people
    teams = data.teams.set_index("team")
    reached = data.milestones.groupby("person_id")["date"].min()
    end = data.cutoff if data.cutoff is not None else _last_date(data)
    start = data_start(data)
    in_window = people["hire_date"] >= start if start is not None else pd.Series(True, index=people.index)
    frame = people.loc[in_window, ["person_id", "team", "role", "hire_date"]].copy()
    frame["cohort"] = frame["team"].map(teams["cohort"])
    pilot_start = frame["team"].map(teams["pilot_start"])
    frame["group"] = np.where(frame["cohort"] == "control", "control",
                              np.where(frame["hire_date"] >= pilot_start, "pilot", "pilot team, before start"))
    done = frame["person_id"].map(reached)
    frame["event"] = done.notna().astype(int)
    stop = done.fillna(end + pd.Timedelta(days=1) if end is not None else pd.NaT)
    frame["days"] = (stop - frame["hire_date"]).dt.days.astype(float)
    frame["hire_month"] = frame["hire_date"].dt.to_period("M").astype(str)
    frame.attrs["tenured_staff"] = int((~in_window).sum())
    return frame


def _last_date(data: CohortData) -> pd.Timestamp | None:
    dates = [data.milestones["date"].max(), data.people["hire_date"].max()]
    dates = [d for d in dates if pd.notna(d)]
    return max(dates).normalize() if dates else None


def latest_month(data: CohortData) -> str | None:
    """The last calendar month with any dated activity (tickets, sessions, surveys, milestones)."""
    candidates = [
        data.tickets["created_at"].max(), data.sessions["date"].max(),
        data.surveys["date"].max(), data.milestones["date"].max(), data.people["hire_date"].max(),
    ]
    candidates = [c for c in candidates if pd.notna(c)]
    return None if not candidates else str(max(candidates).to_period("M"))
