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
from peereval.periods import month_numbers

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
    (any session) ÷ its headcount hired by the month's end. All team-months at once: months as
    integers (year × 12 + month − 1), headcounts by one sorted search.
    """
    p = frame[frame["group"] == "pilot"]
    agg = p.groupby(["team", "month"], observed=True).agg(
        sessions=("session_id", "size"), attendee_hours=("attendee_hours", "sum"),
        facilitator_hours=("facilitator_hours", "sum"), person_hours=("person_hours", "sum"))
    hired = _month_numbers(who["hire_date"])  # -1: no hire date (not in people): never their own team's time
    own = who[(hired >= 0) & (hired <= _month_numbers(frame["date"])[who["session"].to_numpy()])]
    own = own.groupby(["person_team", "month"], observed=True)["hours"].sum()
    teams = sorted(pilots.index)
    first = p.groupby("team", observed=True)["month"].min().reindex(teams)
    started, held = _month_numbers(pilots.reindex(teams)), np.full(len(teams), -1)  # -1: none
    held[first.notna().to_numpy()] = _label_numbers(first.dropna())
    begin = np.where(started < 0, held, np.where(held < 0, started, np.minimum(started, held)))
    last = _label_numbers(pd.Series([month]))[0]
    span = np.where(begin < 0, 0, np.maximum(last - begin + 1, 0))
    which = np.repeat(np.arange(len(teams)), span)  # each team's months from its beginning to the read's
    months = np.repeat(begin, span) + np.arange(len(which)) - np.repeat(np.cumsum(span) - span, span)
    labels = np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(int(months.min(initial=0)),
                                                                      int(months.max(initial=0)) + 1)], dtype=object)
    names = np.array(teams, dtype=object)[which]
    key = pd.MultiIndex.from_arrays([names, labels[months - int(months.min(initial=0))] if len(months) else names])
    sums = agg.reindex(key, fill_value=0.0) if len(agg) else pd.DataFrame(0.0, index=key, columns=agg.columns)
    n = _headcounts(data.people, teams, which, months)
    hours = own.reindex(key, fill_value=0.0).to_numpy(float) if len(own) else np.zeros(len(key))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_person = np.where(n > 0, hours / n, np.nan)
    out = pd.DataFrame({"team": names, "label": np.array([f"Pilot team {i + 1}" for i in which], dtype=object),
                        "month": key.get_level_values(1).to_numpy(dtype=object),
                        **{c: sums[c].to_numpy(float) for c in HOURS}, "n_people": n, "hours_per_person": per_person})
    return out.astype({"sessions": int, "n_people": int})


def _month_numbers(dates: pd.Series) -> np.ndarray:
    """year × 12 + month − 1 of each date (-1 for a blank)."""
    values = pd.to_datetime(dates).to_numpy()
    return np.where(np.isnat(values), -1, month_numbers(values))


def _label_numbers(labels: pd.Series) -> np.ndarray:
    """year × 12 + month − 1 of ``YYYY-MM`` labels."""
    text = labels.astype(str)
    return (text.str[:4].astype(int) * 12 + text.str[5:7].astype(int) - 1).to_numpy()


def _headcounts(people: pd.DataFrame, teams: list, which: np.ndarray, months: np.ndarray) -> np.ndarray:
    """People of ``teams[which]`` hired by the end of each month (one sorted search over (team, hire month))."""
    at = pd.Index(teams).get_indexer(people["team"].to_numpy(dtype=object))
    hired = _month_numbers(people["hire_date"])
    ok = (at >= 0) & (hired >= 0)
    width = int(max(hired.max(initial=0), months.max(initial=0))) + 2
    keys = np.sort(at[ok].astype(np.int64) * width + hired[ok])
    return (np.searchsorted(keys, which.astype(np.int64) * width + months, side="right")
            - np.searchsorted(keys, which.astype(np.int64) * width, side="left"))
