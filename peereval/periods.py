"""Periods and exposure, decided once: the period of a date, each team's start, the transition rule.

A read is monthly (``YYYY-MM``) or weekly (ISO ``YYYY-Www``, Monday to Sunday); the period of
every estimate follows the read. Every outcome places its rows in those periods and decides
exposure per row: a row
of a pilot team is exposed when its date is on or after the team's ``pilot_start``, whatever the
day. A pilot team's start period that holds rows from both before and after the start is left
out for that team (a washout; ``benchmarks/coverage_midmonth.py`` shows why), so every
team-period is wholly before or wholly after the start and period-level methods (randomization
over teams, the event study, the staggered check, cell-level fits) agree with per-row exposure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData

Period = Literal["month", "week"]
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")
_MONDAY0 = pd.Timestamp("1970-01-05")  # a Monday: week 0
DAYS_PER_MONTH = 365.25 / 12


def read_kind(label: str) -> Period | None:
    """``"month"`` for ``YYYY-MM``, ``"week"`` for ISO ``YYYY-Www``, None for anything else."""
    if not isinstance(label, str):
        return None
    if _MONTH.match(label):
        return "month"
    if _WEEK.match(label):
        try:
            pd.Timestamp.fromisocalendar(int(label[:4]), int(label[6:]), 1)
        except ValueError:  # week 53 of a 52-week year
            return None
        return "week"
    return None


def read_bounds(label: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day and exclusive end of a read (``YYYY-MM`` or ``YYYY-Www``); the cutoff is ``end - 1 day``."""
    kind = read_kind(label)
    if kind == "month":
        start = pd.Period(label, freq="M").start_time.normalize()
        return start, (pd.Period(label, freq="M") + 1).start_time.normalize()
    if kind == "week":
        start = pd.Timestamp.fromisocalendar(int(label[:4]), int(label[6:]), 1)
        return start, start + pd.Timedelta(days=7)
    raise ValueError(f"{label!r} is neither a month (YYYY-MM) nor an ISO week (YYYY-Www)")

def month_numbers(values: np.ndarray) -> np.ndarray:
    """Months since year 0 (year × 12 + month − 1) of datetime64 values (NaT: any number; the caller masks it).

    A date's month depends on its day only: days are whole divisions, and a table of the days
    between the first and the last date gives their months (numpy's own conversion to months
    works out the calendar for every value, several times slower on millions of rows).
    """
    days = values.astype("datetime64[D]").view(np.int64)  # a new array: shifted in place below
    nat = np.isnat(values)
    seen = days[~nat] if nat.any() else days
    if not len(seen) or int(seen.max()) - int(seen.min()) > 1_000_000:
        return values.astype("datetime64[M]").astype(np.int64) + 1970 * 12
    lo = int(seen.min())
    table = np.arange(lo, int(seen.max()) + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    table += 1970 * 12
    days -= lo
    if nat.any():
        days[nat] = 0
    return table.astype(np.int32)[days] if table[-1] < 2**31 else table[days]


TRANSITION_REASON = ("dated in the month its pilot team started, a month that mixes rows from before and after the "
                     "start (left out for that team)")


def transition_reason(period: Period) -> str:
    """The ledger reason for rows of a mixed start period (the month's wording is :data:`TRANSITION_REASON`)."""
    return TRANSITION_REASON.replace("month", period)


def start_transition(codes: np.ndarray, period: np.ndarray, start_period: np.ndarray,
                     treated: np.ndarray) -> np.ndarray:
    """Rows in their pilot team's start period when that period also holds rows from before the start.

    ``codes``: each row's team code (-1: no team); ``start_period``: each code's start period, then
    one entry for -1, holding a period no row has (or NaN) where a team has no start; ``treated``:
    each row dated on or after its team's start.
    """
    in_start = period == start_period[codes]
    mixed = np.zeros(len(start_period), dtype=bool)  # code -1 (no team) is the last entry
    mixed[codes[in_start & ~treated]] = True
    return in_start & mixed[codes]


@dataclass(frozen=True)
class Calendar:
    """Each team's cohort and start, the end of the data, and the period grid (months)."""

    cohort: pd.Series  # team -> "pilot" | "control"
    start: pd.Series  # team -> pilot_start (NaT for control teams)
    end: pd.Timestamp | None  # first instant after the data (the day after the cutoff)
    period: Period = "month"

    @classmethod
    def of(cls, data: CohortData, period: Period = "month") -> Calendar:
        teams = data.teams.set_index("team")
        end = data.cutoff + pd.Timedelta(days=1) if data.cutoff is not None else None
        return cls(teams["cohort"], teams["pilot_start"], end, period)

    def index(self, ts):
        """Integer period of a date (or Series of dates): months from year 0, or weeks from 1970-01-05."""
        if self.period == "week":
            if isinstance(ts, pd.Timestamp):
                return (ts.normalize() - _MONDAY0).days // 7
            return (ts.dt.normalize() - _MONDAY0).dt.days // 7
        if isinstance(ts, pd.Timestamp):
            return ts.year * 12 + ts.month - 1
        if isinstance(ts.dtype, np.dtype) and ts.dtype.kind == "M":  # tz-naive: months by numpy, no fields
            values = ts.to_numpy()
            months = month_numbers(values)
            nat = np.isnat(values)
            return pd.Series(np.where(nat, np.nan, months) if nat.any() else months.astype(np.int32, copy=False),
                             index=ts.index, name=ts.name)
        return ts.dt.year * 12 + ts.dt.month - 1

    def label(self, index: int) -> str:
        """``YYYY-MM`` or ISO ``YYYY-Www`` of a period index."""
        if self.period == "week":
            year, week, _ = (_MONDAY0 + pd.Timedelta(days=7 * int(index))).isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{int(index) // 12:04d}-{int(index) % 12 + 1:02d}"

    def first_day(self, index: int) -> pd.Timestamp:
        """The first day of a period."""
        if self.period == "week":
            return _MONDAY0 + pd.Timedelta(days=7 * int(index))
        return pd.Timestamp(year=int(index) // 12, month=int(index) % 12 + 1, day=1)

    @property
    def months_per_period(self) -> float:
        return 7 / DAYS_PER_MONTH if self.period == "week" else 1.0

    def start_periods(self, *, started_by: pd.Timestamp | None = None) -> pd.Series:
        """Period of each pilot team's start (teams that started before ``started_by`` when given)."""
        s = self.start[(self.cohort == "pilot") & self.start.notna()]
        if started_by is not None:
            s = s[s < started_by]
        return self.index(s).astype(int) if len(s) else pd.Series(dtype=int)

    def expose(self, rows: pd.DataFrame, date: str) -> tuple[pd.DataFrame, pd.Series]:
        """Add ``cohort``, ``pilot_start``, ``period`` and ``treated`` (per row) to ``rows`` (which has ``team``).

        Returns the rows and a boolean Series marking the transition rows (a pilot team's start
        period that mixes rows dated before and after its start); callers leave them out of
        period-level estimates and count them under :data:`TRANSITION_REASON`. ``cohort`` is a
        Categorical (its categories sorted; blank for teams not in the calendar). Team facts are
        looked up once per team and spread to the rows by team codes.
        """
        team = rows["team"]
        if isinstance(team.dtype, pd.CategoricalDtype):  # its codes as they are
            codes, teams = team.cat.codes.to_numpy(), team.cat.categories
        else:
            codes, teams = pd.factorize(team)
        teams = pd.Index(np.asarray(teams, dtype=object))
        cohort = self.cohort.reindex(teams)
        levels = pd.Index(cohort.dropna().unique())
        try:
            levels = levels.sort_values()
        except TypeError:  # mixed kinds of labels: their order of appearance
            pass
        start = pd.to_datetime(self.start.reindex(teams)).to_numpy("datetime64[ns]")

        def per_team(values: np.ndarray) -> np.ndarray:  # code -1 (no team) takes the last entry, the fill
            return values[codes]

        pilot = np.append((cohort == "pilot").to_numpy(bool), False)
        out = rows.copy(deep=False)  # new columns only: the caller's frame is not changed
        out["cohort"] = pd.Categorical.from_codes(per_team(np.append(levels.get_indexer(cohort), -1)), levels)
        out["pilot_start"] = per_team(np.append(start, np.datetime64("NaT", "ns")))
        out["period"] = self.index(out[date])
        when, pilot_row = out[date], per_team(pilot)
        treated = (when.to_numpy() >= out["pilot_start"].to_numpy() if isinstance(when.dtype, np.dtype)
                   else (when >= out["pilot_start"]).to_numpy(dtype=bool, na_value=False))
        treated &= pilot_row
        out["treated"] = treated.astype(int)
        period = out["period"].to_numpy()
        has_start = pilot[:-1] & ~np.isnat(start)
        starts = self.index(pd.Series(start[has_start])).to_numpy()
        if period.dtype.kind == "i":  # a period no row has (the smallest integer) marks teams without a start
            start_period = np.full(len(teams) + 1, np.iinfo(period.dtype).min, dtype=period.dtype)
        else:
            start_period = np.full(len(teams) + 1, np.nan)
        start_period[:-1][has_start] = starts  # only pilot teams with a start have one
        return out, pd.Series(start_transition(codes, period, start_period, treated), index=out.index)
