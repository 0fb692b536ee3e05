"""Descriptive views of the outcomes by cohort: what happened, before any causal estimate.

These are the raw trends a reader sees next to the effect estimates. They are not effects: pilot
teams were chosen, not randomly assigned, and the company-wide trend moves both groups.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData

_TICKET_FRAMES: dict[int, tuple] = {}  # id(data) -> (weak ref, its tickets, its teams, frame)


def month_labels(ts: pd.Series) -> np.ndarray:
    """``ts.dt.to_period("M").astype(str)`` ("2026-10", "NaT" when missing), formatting each month once."""
    codes, months = pd.factorize(ts.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]"))
    labels = np.append(pd.PeriodIndex(months, freq="M").astype(str).to_numpy(dtype=object), "NaT")
    return labels[codes]


def ticket_frame(data: CohortData) -> pd.DataFrame:
    """One row per counted ticket: team, cohort, pilot_start, created month, hours, open flag.

    ``treated`` is 1 for tickets of a pilot team created on/after the team's pilot_start.
    Open tickets have NaN ``hours`` and ``open`` True (censored at the cutoff).
    Built once per loaded data set (the report asks for it several times); the frame returned
    is a shallow copy, so adding columns is fine but do not modify its values in place.
    """
    key = id(data)
    hit = _TICKET_FRAMES.get(key)
    if hit is not None and hit[0]() is data and hit[1] is data.tickets and hit[2] is data.teams:
        return hit[3].copy(deep=False)
    frame = _ticket_frame(data)
    ref = weakref.ref(data, lambda _, key=key: _TICKET_FRAMES.pop(key, None))  # dropped with the data
    _TICKET_FRAMES[key] = (ref, data.tickets, data.teams, frame)
    return frame.copy(deep=False)


def _ticket_frame(data: CohortData) -> pd.DataFrame:
    t = data.tickets
    teams = data.teams.set_index("team")
    codes, team_ids = pd.factorize(t["team"].to_numpy())  # look each team up once, not once per ticket
    team_ids = pd.Index(team_ids)

    def per_team(values: pd.Series) -> np.ndarray:  # as values.map(team): missing teams give NaN/NaT
        return pd.api.extensions.take(values.reindex(team_ids).to_numpy(), codes, allow_fill=True)

    frame = pd.DataFrame({
        "ticket_id": t["ticket_id"].to_numpy(),
        "team": t["team"].to_numpy(),
        "created_at": t["created_at"].to_numpy(),
        "resolved_at": t["resolved_at"].to_numpy(),
    })
    frame["cohort"] = per_team(teams["cohort"])
    frame["pilot_start"] = per_team(teams["pilot_start"])
    frame["month"] = month_labels(frame["created_at"])
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


def ticket_variability(data: CohortData) -> dict[str, float] | None:
    """Variance components of log resolution hours among resolved tickets, for power calculations.

    Team-month cell means are cleaned of team and month effects; the part of their variance
    beyond ticket noise (within-cell variance / tickets per cell) is the team-month shock.
    Returns tickets_per_team_month, sd_log_hours (total), icc (shock share), serial_corr (lag-1
    correlation of the cleaned cell means within team, clipped to [0, 0.95]), baseline_hours
    (median) and months (with data); ``None`` without resolved tickets.
    """
    t = ticket_frame(data)
    t = t[~t["open"]]
    if t.empty:
        return None
    log_hours = np.log(t["hours"].clip(lower=1 / 60))
    cells = log_hours.groupby([t["team"], t["month"]]).agg(["mean", "var", "size"]).reset_index()
    resid = (cells["mean"] - cells.groupby("team")["mean"].transform("mean")
             - cells.groupby("month")["mean"].transform("mean") + cells["mean"].mean())
    within = float(cells["var"].mean())
    per_cell = float(cells["size"].mean())
    shock = max(0.0, float(resid.var()) - within / per_cell)
    pair = pd.concat([resid, resid.groupby(cells["team"]).shift(1)], axis=1).dropna()
    rho = float(np.clip(pair.corr().iloc[0, 1], 0.0, 0.95)) if len(pair) > 3 else 0.0
    return {"tickets_per_team_month": per_cell, "sd_log_hours": math.sqrt(within + shock),
            "icc": shock / (within + shock), "serial_corr": rho,
            "baseline_hours": float(t["hours"].median()), "months": int(t["month"].nunique())}
