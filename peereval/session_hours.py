"""The rows behind the investment figures: sessions with their hours, who took part, pilot team-months.

Definitions are those of :mod:`peereval.investment` (attendee, facilitator and person hours;
headcount hired by a month's end). Rows are prepared once here and only summed there. Who took
part (up to millions of invitations) is held as integer codes and Categoricals: grouping and
selecting by them costs a fraction of hashing the text ids again for every figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData

HOURS = ("sessions", "attendee_hours", "facilitator_hours", "person_hours")


def sessions_and_people(data: CohortData, m_end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sessions before ``m_end`` with their hours, and who took part: one row per (session, person)
    among the attended and the facilitator (used for counts and sums, never shown).

    ``who`` holds ``session`` (the row of the session in ``frame``), ``person`` (a code per distinct
    person id, -1 for none), ``attended``, the session's ``date``, ``month`` and ``group``, its
    ``hours``, and the person's ``person_team`` and ``hire_date`` (from people; blank when unknown).
    Attended rows come first, in the attendance table's order, then the facilitators not listed
    as attending. Session ids are unique (the loader refuses duplicates).
    """
    teams = data.teams.set_index("team")
    s = data.sessions[data.sessions["date"] < m_end]
    hours = s["duration_minutes"].astype(float) / 60
    cohort = s["team"].map(teams["cohort"])
    frame = pd.DataFrame({
        "session_id": s["session_id"], "date": s["date"], "month": _month_labels(s["date"]),
        "team": s["team"], "hours": hours,
        "group": np.select([cohort == "pilot", cohort == "control"], ["pilot", "control"], "unknown_team"),
        "before_start": (cohort == "pilot") & (s["date"] < s["team"].map(teams["pilot_start"])),
    })
    ids = pd.Index(frame["session_id"])
    if not ids.is_unique:
        raise ValueError("sessions: session_id must be unique (peereval.load refuses duplicate ids)")
    att = data.attendance
    at = ids.get_indexer(att["session_id"])  # the session's row in frame, -1: not counted
    went = np.flatnonzero((at >= 0) & (att["status"] == "attended").to_numpy(dtype=bool, na_value=False))
    session = np.concatenate([at[went], np.arange(len(frame))])
    code, persons = pd.factorize(np.concatenate([att["person_id"].to_numpy(dtype=object)[went],
                                                 s["facilitator_id"].to_numpy(dtype=object)]))
    first = ~pd.Series(session * (len(persons) + 1) + code + 1).duplicated().to_numpy()  # each person once a session
    session, code, attended = session[first], code[first], (np.arange(len(first)) < len(went))[first]
    people = data.people.set_index("person_id")
    row = people.index.get_indexer(persons)  # per distinct person id: its row in people (-1: not there)
    person_row = np.append(row, -1)[code]  # who's row in people (-1: none)
    team_codes, team_names = pd.factorize(people["team"])
    team_names = np.asarray(team_names, dtype=object)
    months, month_names = pd.factorize(frame["month"])
    groups = pd.Categorical(frame["group"], categories=["pilot", "control", "unknown_team"])
    who = pd.DataFrame({
        "session": session, "person": code, "attended": attended,
        "date": frame["date"].to_numpy()[session],
        "month": pd.Categorical.from_codes(months[session], month_names),
        "group": pd.Categorical.from_codes(groups.codes[session], groups.categories),
        "hours": frame["hours"].to_numpy(float)[session],
        "person_team": pd.Categorical.from_codes(np.append(team_codes, -1)[person_row], team_names),
        "hire_date": pd.api.extensions.take(people["hire_date"].to_numpy(), person_row, allow_fill=True),
    })
    frame["attendee_hours"] = frame["hours"] * np.bincount(session[attended], minlength=len(frame)).astype(float)
    frame["facilitator_hours"] = frame["hours"]
    frame["person_hours"] = np.bincount(session, weights=who["hours"].to_numpy(), minlength=len(frame))
    return frame, who


def _month_labels(dates: pd.Series) -> pd.Series:
    """``YYYY-MM`` of each date (numpy formats whole months much faster than ``strftime``)."""
    if not (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"):
        return dates.dt.strftime("%Y-%m")
    months = dates.to_numpy().astype("datetime64[M]")
    labels = np.datetime_as_string(months, unit="M").astype(object)
    labels[np.isnat(months)] = np.nan
    return pd.Series(labels, index=dates.index, dtype=object)


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
