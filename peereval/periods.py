"""Periods and exposure, decided once: the period of a date, each team's start, the transition rule.

Every outcome places its rows in calendar periods (months) and decides exposure per row: a row
of a pilot team is exposed when its date is on or after the team's ``pilot_start``, whatever the
day. A pilot team's start period that holds rows from both before and after the start is left
out for that team (a washout; ``benchmarks/coverage_midmonth.py`` shows why), so every
team-period is wholly before or wholly after the start and period-level methods (randomization
over teams, the event study, the staggered check, cell-level fits) agree with per-row exposure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData

Period = Literal["month"]

TRANSITION_REASON = ("dated in the month its pilot team started, a month that mixes rows from before and after the "
                     "start (left out for that team)")


@dataclass(frozen=True)
class Calendar:
    """Each team's cohort and start, the end of the data, and the period grid (months)."""

    cohort: pd.Series  # team -> "pilot" | "control"
    start: pd.Series  # team -> pilot_start (NaT for control teams)
    end: pd.Timestamp | None  # first instant after the data (the day after the cutoff)
    period: Period = "month"

    @classmethod
    def of(cls, data: CohortData) -> Calendar:
        teams = data.teams.set_index("team")
        end = data.cutoff + pd.Timedelta(days=1) if data.cutoff is not None else None
        return cls(teams["cohort"], teams["pilot_start"], end)

    @staticmethod
    def index(ts):
        """Integer period of a date (or Series of dates): months counted from year 0."""
        if isinstance(ts, pd.Timestamp):
            return ts.year * 12 + ts.month - 1
        return ts.dt.year * 12 + ts.dt.month - 1

    @staticmethod
    def label(index: int) -> str:
        return f"{int(index) // 12:04d}-{int(index) % 12 + 1:02d}"

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
        period-level estimates and count them under :data:`TRANSITION_REASON`.
        """
        codes, teams = pd.factorize(rows["team"].to_numpy())
        teams = pd.Index(teams)

        def per_team(values: pd.Series) -> np.ndarray:
            return pd.api.extensions.take(values.reindex(teams).to_numpy(), codes, allow_fill=True)

        out = rows.copy()
        out["cohort"] = per_team(self.cohort)
        out["pilot_start"] = pd.to_datetime(per_team(self.start))
        out["period"] = self.index(out[date])
        out["treated"] = ((out["cohort"] == "pilot") & (out[date] >= out["pilot_start"])).astype(int)
        in_start = (out["cohort"] == "pilot") & (out["period"] == self.index(out["pilot_start"]))
        mixed = out.loc[in_start & (out["treated"] == 0), "team"].unique()
        return out, in_start & out["team"].isin(mixed)
