"""``duration`` outcomes: time from ``start`` to ``end`` per row (e.g. bug turnaround, sales cycle).

Estimand: relative change in the typical duration — DiD on log hours. Rows are placed in a
period and exposed by ``start``. Only rows with a full follow-up window (``start`` at least
``window_days`` before the end of the data) enter the estimate; rows still open after the window
(or at the cutoff) are top-coded at the window length. Blank ``adjust_for`` values are a level
of their own ("unknown").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame, count, in_scope, link_team, team_codes
from peereval.periods import Calendar, transition_reason


def build(data: CohortData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    """The duration rows of ``o``: hours, log hours top-coded at the window, exposure, and what was left out."""
    src = data.table(o.table)
    excluded: dict[str, int] = {}
    notes: dict[str, int] = {}
    cols = [c for c in dict.fromkeys([o.person, o.team, o.start, o.end, *o.where, *o.adjust_for])
            if c and c in src.columns]  # an optional adjustment may be absent: effects says so in the method
    picked = pd.DataFrame({c: src[c] for c in cols}, copy=False)  # the columns, not a copy: scope filters copy once
    df = team_codes(in_scope(link_team(data, o, picked), o, o.start, cal.end, excluded))
    end = cal.end if cal.end is not None else df[o.start].max()
    late_end = (df[o.end] >= cal.end).to_numpy() if cal.end is not None else None
    if late_end is not None:
        count(notes, f"{o.end} after the cutoff: counted as still open", late_end)
    hours = _hours(df[o.start], df[o.end], late_end)
    backwards = hours < 0
    count(excluded, f"{o.end} before {o.start}", backwards)
    if backwards.any():
        df, hours = df[~backwards], hours[~backwards]
    df["date"], df["hours"], df["open"] = df[o.start].to_numpy(), hours, np.isnan(hours)
    rows, transition = cal.expose(df, "date")
    full = (rows["date"] <= end - pd.Timedelta(days=o.window_days)).to_numpy()
    cap = o.window_days * 24.0
    y = np.where(np.isnan(hours), cap, hours)  # open items top-coded at the window, in place from here
    rows["y"] = np.log(np.clip(y, 1 / 60, cap, out=y), out=y)
    rows["used"] = full & ~transition.to_numpy()
    for col in o.adjust_for:
        if col in rows.columns:
            rows[col] = _blank_is_unknown(rows[col])
    count(excluded, window_reason(o), ~full)
    count(excluded, transition_reason(cal.period), transition.to_numpy() & full)
    late = rows["used"].to_numpy() & (np.isnan(hours) | (hours > cap))
    notes[capped_note(o)] = int(late.sum())
    rows.index = pd.RangeIndex(len(rows))  # rows is this function's own frame: no copy needed
    return OutcomeFrame(o, rows, cal, excluded, notes, extra={"end": end})


def window_reason(o: Outcome) -> str:
    """The ledger reason for rows whose follow-up window is not complete yet."""
    began = "created" if o.start == "created_at" else f"{o.start}"
    return f"{began} in the last {o.window_days} days (follow-up window not complete)"


def capped_note(o: Outcome) -> str:
    """The note on used rows still open after the window (top-coded at it)."""
    return f"still open after {o.window_days} days: counted as {o.window_days} days"


def _hours(start: pd.Series, finish: pd.Series, late: np.ndarray | None) -> np.ndarray:
    """Hours from start to finish (NaN: no finish, or ``late``), the same floats as ``dt.total_seconds() / 3600``.

    numpy dates are subtracted as integers in their unit and divided in place: no Series of
    timedeltas and no masked copy of the finish column.
    """
    a, b = start.to_numpy(), finish.to_numpy()
    if not (a.dtype.kind == "M" and b.dtype.kind == "M" and np.datetime_data((b - a).dtype)[0] in _PER_SECOND):
        # e.g. time zones: pandas' own arithmetic
        hours = ((finish.mask(late) if late is not None else finish) - start).dt.total_seconds() / 3600.0
        return hours.to_numpy(float)
    delta = b - a
    unit, step = np.datetime_data(delta.dtype)
    hours = delta.view(np.int64) / (_PER_SECOND[unit] // step)  # pandas: asi8 / periods per second
    hours[np.isnat(delta) if late is None else np.isnat(delta) | late] = np.nan
    return np.divide(hours, 3600.0, out=hours)


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _blank_is_unknown(values: pd.Series) -> pd.Series:
    """Blank adjustment values as the level "unknown" (a Categorical gains that category)."""
    if not values.isna().any():
        return values
    if isinstance(values.dtype, pd.CategoricalDtype) and "unknown" not in values.cat.categories:
        values = values.cat.add_categories("unknown")
    return values.fillna("unknown")
