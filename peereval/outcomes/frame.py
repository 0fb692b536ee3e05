"""The analysis frame of one outcome, derived once from the loaded data and shared by every view.

``rows`` holds every row in scope (after the cutoff and the declaration's ``where``), with the
team, cohort, period, per-row exposure ``treated``, the analysis value ``y`` and ``used``: whether
the row enters the period-level estimates (False for rows left out, counted in ``excluded`` with
their reason). Descriptive trends read all rows; estimates read ``used`` rows or ``cells()``.
Frames are read-only: to save memory at millions of rows, ``rows`` may share columns with the
loaded table (copy before changing values in place).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.estimate.twfe import sorted_category_codes, sorted_codes
from peereval.outcomes.cells import cell_table
from peereval.outcomes.declare import Outcome
from peereval.periods import Calendar


@dataclass(frozen=True)
class OutcomeFrame:
    """One outcome's rows (or, for rates, team-period cells), what was left out, and the calendar.

    ``rows["team"]`` is a Categorical of the teams present and ``rows["cohort"]`` (for rows placed by
    :meth:`~peereval.periods.Calendar.expose`) a Categorical too: group with ``observed=True``.
    """

    outcome: Outcome
    rows: pd.DataFrame
    calendar: Calendar
    excluded: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    weight: str | None = None  # column of row weights (rates: headcount); None = one per row
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific facts (e.g. tenured staff)
    # when ``rows`` holds cells of rows kept in a database (peereval.engine), the row-level views
    # (trend, variance components, pre-start levels) come from here; None for rows
    summaries: Any = None

    @property
    def used(self) -> pd.DataFrame:
        """The rows that enter the estimates (computed once; treat as read-only, copy before changing)."""
        if "_used" not in self.__dict__:
            rows = self.rows
            object.__setattr__(self, "_used", rows if rows["used"].all() else rows[rows["used"].to_numpy()])
        return self.__dict__["_used"]

    def cells(self) -> pd.DataFrame:
        """Team-period means of ``y`` over used rows with their weight ``n`` (exact for cell-level regressors)."""
        if "_cells" not in self.__dict__:
            fine = self._fine()
            try:  # the adjustment-level cells summed to team-period (one pass over the rows serves both)
                if fine is None:
                    raise ValueError("no fine cells")
                c = cell_table(fine, ["team", "period"], sums={"n": fine["n"], "wy": fine["_wy"], "rows": fine["_rows"]},
                               constant=("treated", "cohort"))
                cells = c[["team", "period", "n", "wy", "treated", "cohort"]].assign(rows=c["rows"].astype(np.int64))
            except ValueError:  # treated or cohort varies within a cell: each cell's first row, as groupby gives it
                r = self.rows
                w = r[self.weight].to_numpy(float) if self.weight else np.ones(len(r))
                g = self.used.assign(_w=w[r["used"].to_numpy(bool)], _wy=lambda d: d["_w"] * d["y"]).groupby(
                    ["team", "period"], as_index=False, sort=True, observed=True)
                cells = g.agg(n=("_w", "sum"), wy=("_wy", "sum"), treated=("treated", "first"),
                              cohort=("cohort", "first"), rows=("y", "size"))
            cells["y"] = cells["wy"] / cells["n"]
            object.__setattr__(self, "_cells", cells.drop(columns=["wy"]))
        return self.__dict__["_cells"].copy()

    def adjustment_cells(self) -> pd.DataFrame:
        """Used rows by (team, period, adjustment levels): count ``n`` (weight for weighted rows), mean ``y``, ``treated``, ``cohort``.

        The same table as :func:`peereval.outcomes.adjust.adjustment_cells` of the used rows (for
        unweighted rows; its fallback otherwise), from the pass over the rows that :meth:`cells` shares.
        """
        fine = self._fine()
        keys = ["team", "period", *[c for c in self.outcome.adjust_for if c in self.rows.columns]]
        if fine is None and self.weight:
            raise ValueError("treated or cohort varies within a (team, period) cell of weighted rows")
        if fine is None:
            from peereval.outcomes.adjust import adjustment_cells

            return adjustment_cells(self.rows, self.outcome.adjust_for, mask=self.rows["used"].to_numpy(bool))
        return fine[[*keys, "n", "y", "treated", "cohort"]].copy()

    def _fine(self) -> pd.DataFrame | None:
        """Cells of used rows by team, period and adjustment levels with weight and weighted-y sums (once)."""
        if "_fine_cells" not in self.__dict__:
            r = self.rows
            keys = ["team", "period", *[c for c in self.outcome.adjust_for if c in r.columns]]
            y = r["y"].to_numpy(float)
            sums = {"n": r[self.weight].to_numpy(float), "_wy": r[self.weight].to_numpy(float) * y} if self.weight \
                else {"_wy": y}  # unweighted: n is the count (no arrays of ones)
            try:
                c = cell_table(r, keys, mask=r["used"].to_numpy(bool), sums=sums, constant=("treated", "cohort"))
                n = c["n"] if self.weight else c["size"].astype(float)
                fine = c[keys].assign(n=n, y=c["_wy"] / n, treated=c["treated"], cohort=c["cohort"],
                                      _wy=c["_wy"], _rows=c["size"])
            except ValueError:
                fine = None
            object.__setattr__(self, "_fine_cells", fine)
        return self.__dict__["_fine_cells"]


def link_team(data: CohortData, o: Outcome, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``team`` (from the declared team column, or the person's team in people)."""
    team = frame[o.team] if o.team else frame[o.person].map(data.people.set_index("person_id")["team"])
    out = frame.copy(deep=False)  # a new column only: the caller's frame is not changed, nor copied
    out["team"] = team
    return out


def in_scope(frame: pd.DataFrame, o: Outcome, date: str, end: pd.Timestamp | None,
             excluded: dict[str, int]) -> pd.DataFrame:
    """Apply the declaration's ``where`` and the cutoff to the placing ``date``; count what goes.

    Each reason counts the rows it removes among those the earlier reasons kept; the rows are
    copied once, at the end.
    """
    alive = np.ones(len(frame), dtype=bool)

    def drop(reason: str, out: np.ndarray) -> None:
        count(excluded, reason, out & alive)
        alive[out] = False

    for col, allowed in o.where.items():
        drop(where_reason(col, allowed), ~where_keeps(frame[col], allowed))
    blank = frame[date].isna().to_numpy()
    drop(f"no {date}", blank)
    if end is not None:
        drop(f"{date} after the cutoff", (frame[date] >= end).to_numpy() & ~blank)
    if o.person:  # the loader leaves out people hired after the cutoff: their earlier rows have no team
        drop(f"{o.person} names a person hired after the cutoff", frame["team"].isna().to_numpy())
    return frame if alive.all() else frame[alive]


def where_keeps(values: pd.Series, allowed) -> np.ndarray:
    """The declaration's ``where`` on one column: the value, stripped and lower-cased, is one of ``allowed``."""
    return values.astype("string").str.strip().str.lower().isin(allowed).fillna(False).to_numpy(bool)


def where_reason(col: str, allowed) -> str:
    """The ledger reason for rows a ``where`` leaves out."""
    return f"{col} not one of {', '.join(allowed)}"


def team_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """``team`` as a Categorical of the teams present, sorted (text, Arrow strings or a Categorical alike).

    Grouping by team codes is much faster than by Python strings; the values are unchanged.
    """
    team = frame["team"]
    if isinstance(team.dtype, pd.CategoricalDtype):
        # sorted like text: draws are assigned to teams by code (see estimate.twfe.codes_of)
        ranked = sorted_category_codes(team)
        if ranked is None:  # mixed kinds of names: the categories' own order, minus unused
            raw = team.cat.codes.to_numpy()
            seen = np.bincount(raw[raw >= 0], minlength=len(team.cat.categories)) > 0
            ranked = np.where(raw >= 0, (np.cumsum(seen) - 1)[np.maximum(raw, 0)], -1), team.cat.categories[seen]
        codes, cats = ranked
        if len(cats) != len(team.cat.categories) or not cats.equals(team.cat.categories):
            frame["team"] = pd.Series(pd.Categorical.from_codes(codes, cats), index=frame.index)
        return frame
    codes, uniques = sorted_codes(team)
    frame["team"] = pd.Series(pd.Categorical.from_codes(codes, np.asarray(uniques, dtype=object)), index=frame.index)
    return frame


def count(counts: dict[str, int], reason: str, mask) -> None:
    n = int(np.asarray(mask, dtype=bool).sum())
    if n:
        counts[reason] = counts.get(reason, 0) + n
