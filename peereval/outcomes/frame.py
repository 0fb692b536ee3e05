"""The analysis frame of one outcome, derived once from the loaded data and shared by every view.

``rows`` holds every row in scope (after the cutoff and the declaration's ``where``), with the
team, cohort, period, per-row exposure ``treated``, the analysis value ``y`` and ``used``: whether
the row enters the period-level estimates (False for rows left out, counted in ``excluded`` with
their reason). Descriptive trends read all rows; estimates read ``used`` rows or ``cells()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.declare import Outcome
from peereval.periods import Calendar


@dataclass(frozen=True)
class OutcomeFrame:
    """One outcome's rows (or, for rates, team-period cells), what was left out, and the calendar."""

    outcome: Outcome
    rows: pd.DataFrame
    calendar: Calendar
    excluded: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    weight: str | None = None  # column of row weights (rates: headcount); None = one per row
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific facts (e.g. tenured staff)

    @property
    def used(self) -> pd.DataFrame:
        return self.rows[self.rows["used"]]

    def cells(self) -> pd.DataFrame:
        """Team-period means of ``y`` over used rows with their weight ``n`` (exact for cell-level regressors)."""
        u = self.used
        w = u[self.weight] if self.weight else pd.Series(1.0, index=u.index)
        g = u.assign(_w=w, _wy=w * u["y"]).groupby(["team", "period"], as_index=False, sort=True)
        cells = g.agg(n=("_w", "sum"), wy=("_wy", "sum"), treated=("treated", "first"), cohort=("cohort", "first"),
                      rows=("y", "size"))
        cells["y"] = cells["wy"] / cells["n"]
        return cells.drop(columns=["wy"])


def link_team(data: CohortData, o: Outcome, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``team`` (from the declared team column, or the person's team in people)."""
    if o.team:
        return frame.assign(team=frame[o.team])
    return frame.assign(team=frame[o.person].map(data.people.set_index("person_id")["team"]))


def in_scope(frame: pd.DataFrame, o: Outcome, date: str, end: pd.Timestamp | None,
             excluded: dict[str, int]) -> pd.DataFrame:
    """Apply the declaration's ``where`` and the cutoff to the placing ``date``; count what goes."""
    for col, allowed in o.where.items():
        keep = frame[col].astype("string").str.strip().str.lower().isin(allowed).fillna(False).to_numpy(bool)
        count(excluded, f"{col} not one of {', '.join(allowed)}", ~keep)
        frame = frame[keep]
    blank = frame[date].isna().to_numpy()
    count(excluded, f"no {date}", blank)
    frame = frame[~blank]
    if end is not None:
        late = (frame[date] >= end).to_numpy()
        count(excluded, f"{date} after the cutoff", late)
        frame = frame[~late]
    if o.person:  # the loader leaves out people hired after the cutoff: their earlier rows have no team
        unlinked = frame["team"].isna().to_numpy()
        count(excluded, f"{o.person} names a person hired after the cutoff", unlinked)
        frame = frame[~unlinked]
    return frame


def count(counts: dict[str, int], reason: str, mask) -> None:
    n = int(np.asarray(mask, dtype=bool).sum())
    if n:
        counts[reason] = counts.get(reason, 0) + n
