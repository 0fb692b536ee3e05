"""The rows behind the investment figures: sessions with their hours, who took part, pilot team-months.

Definitions are those of :mod:`peereval.investment` (attendee, facilitator and person hours;
headcount hired by a month's end). Rows are prepared once here and only summed there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData

HOURS = ("sessions", "attendee_hours", "facilitator_hours", "person_hours")


def sessions_and_people(data: CohortData, m_end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sessions before ``m_end`` with their hours, and who took part: one row per (session, person)
    among the attended and the facilitator (used for counts and sums, never shown)."""
    teams = data.teams.set_index("team")
    s = data.sessions[data.sessions["date"] < m_end]
    hours = s["duration_minutes"].astype(float) / 60
    cohort = s["team"].map(teams["cohort"])
    frame = pd.DataFrame({
        "session_id": s["session_id"], "date": s["date"], "month": s["date"].dt.strftime("%Y-%m"),
        "team": s["team"], "hours": hours,
        "group": np.select([cohort == "pilot", cohort == "control"], ["pilot", "control"], "unknown_team"),
        "before_start": (cohort == "pilot") & (s["date"] < s["team"].map(teams["pilot_start"])),
    })
    att = data.attendance[(data.attendance["status"] == "attended") & data.attendance["session_id"].isin(s["session_id"])]
    who = pd.concat([att[["session_id", "person_id"]].assign(attended=True),
                     s[["session_id", "facilitator_id"]].rename(columns={"facilitator_id": "person_id"})
                     .assign(attended=False)]).drop_duplicates(["session_id", "person_id"], keep="first")
    who = who.merge(frame[["session_id", "date", "month", "group", "hours"]], on="session_id")
    person = data.people.set_index("person_id")
    at = person.index.get_indexer(who["person_id"])  # one lookup for both columns (-1: not in people)
    who = who.assign(person_team=pd.api.extensions.take(person["team"].to_numpy(), at, allow_fill=True),
                     hire_date=pd.api.extensions.take(person["hire_date"].to_numpy(), at, allow_fill=True))
    n_att = frame["session_id"].map(who[who["attended"]].groupby("session_id").size()).fillna(0)
    frame["attendee_hours"] = frame["hours"] * n_att
    frame["facilitator_hours"] = frame["hours"]
    frame["person_hours"] = frame["session_id"].map(who.groupby("session_id")["hours"].sum()).fillna(0.0)
    return frame, who


def per_team_month(frame: pd.DataFrame, who: pd.DataFrame, data: CohortData, month: str,
              pilots: pd.Series) -> pd.DataFrame:
    """Pilot team × month, from the team's start (or first session) month to ``month``, zeros included.

    Hours are those of the sessions the team held; ``hours_per_person`` is its own people's time
    (any session) ÷ its headcount hired by the month's end."""
    p = frame[frame["group"] == "pilot"]
    agg = p.groupby(["team", "month"], observed=True).agg(
        sessions=("session_id", "size"), attendee_hours=("attendee_hours", "sum"),
        facilitator_hours=("facilitator_hours", "sum"), person_hours=("person_hours", "sum"))
    month_of = lambda col: who[col].to_numpy().astype("datetime64[M]")  # noqa: E731 (NaT compares False)
    own = who[month_of("hire_date") <= month_of("date")]
    own = own.groupby(["person_team", "month"], observed=True)["hours"].sum().to_dict()
    first, last = p.groupby("team", observed=True)["month"].min(), pd.Period(month, freq="M")
    hired = (data.people["hire_date"].dt.year * 12 + data.people["hire_date"].dt.month).dropna()  # month numbers
    hires_of = {t: np.sort(m.to_numpy()) for t, m in hired.groupby(data.people.loc[hired.index, "team"].to_numpy())}
    sums = {k: dict(zip(agg.columns, map(float, v))) for k, v in zip(agg.index, agg.to_numpy(float))}  # noqa: B905
    rows = []
    for i, team in enumerate(sorted(pilots.index), start=1):
        starts = [pd.Period(pilots[team], freq="M")] + ([pd.Period(first[team], freq="M")] if team in first else [])
        hires, zeros = hires_of.get(team, np.array([])), dict.fromkeys(agg.columns, 0.0)
        for per in pd.period_range(min(starts), last, freq="M"):
            key = per.strftime("%Y-%m")
            n = int(np.searchsorted(hires, per.year * 12 + per.month, side="right"))
            rows.append({"team": team, "label": f"Pilot team {i}", "month": key, **sums.get((team, key), zeros),
                         "n_people": n, "hours_per_person": float(own.get((team, key), 0.0)) / n if n else np.nan})
    out = pd.DataFrame(rows, columns=["team", "label", "month", *HOURS, "n_people", "hours_per_person"])
    return out.astype({"sessions": int, "n_people": int})
