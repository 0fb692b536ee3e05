"""Descriptive views of an outcome by cohort: what happened, before any causal estimate.

These are the raw trends a reader sees next to the effect estimates. They are not effects: pilot
teams were chosen, not randomly assigned, and the company-wide trend moves both groups. Every
view reads the outcome's frame (:mod:`peereval.outcomes`); nothing here derives rows again.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.cells import cell_table
from peereval.outcomes.frame import OutcomeFrame

TREND_COLUMNS = ["month", "cohort", "value", "rows", "still_open", "people"]


def trend(frame: OutcomeFrame) -> pd.DataFrame:
    """One row per month and cohort: the outcome's level that month (all rows in scope, by their date).

    ``value``: median hours of resolved items (duration; recent months look faster than they are,
    because slow items are still open — the estimate uses a fixed follow-up window instead),
    the share (proportion), the mean (mean; the typical value on a log scale), rows per person
    (rate). ``rows`` counts rows; ``still_open`` counts open items (durations). Milestones have
    no monthly trend (their curves are Kaplan–Meier).
    """
    o, rows = frame.outcome, frame.rows
    if frame.summaries is not None:  # rows kept in a database (peereval.engine)
        return frame.summaries.trend()[TREND_COLUMNS] if frame.summaries.rows_in_scope() else \
            pd.DataFrame(columns=TREND_COLUMNS)
    if o.kind == "milestone" or rows.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    try:
        key, decode = _period_cohort(rows)  # (period, cohort) as one integer; a period's label comes after
    except ValueError:  # a team's rows with different cohorts: group by the columns themselves
        key, decode = [rows["period"], rows["cohort"].astype(object)], lambda table: table.reset_index()
    g = rows.groupby(key, sort=True, observed=True)
    if o.kind == "duration":
        out = g.agg(value=("hours", "median"), rows=("hours", "size"), still_open=("open", "sum"))
    elif o.kind == "rate":
        out = g.agg(count=("count", "sum"), heads=("headcount", "sum"))
        out = pd.DataFrame({"value": out["count"] / out["heads"], "rows": out["count"], "still_open": 0})
    else:
        out = g.agg(value=("y", "mean"), rows=("y", "size"))
        if o.kind == "mean" and o.scale == "log":
            out["value"] = np.exp(out["value"])
        out["still_open"] = 0
    person = o.person if o.person in rows.columns else None
    out["people"] = g[person].nunique() if person else np.nan
    out = decode(out)
    out["month"] = out["period"].map({p: frame.calendar.label(p) for p in out["period"].unique()})
    out["still_open"] = out["still_open"].astype(int)
    return out[TREND_COLUMNS]


def _period_cohort(rows: pd.DataFrame):
    """An integer key ordered as (period, cohort) and a function turning a table indexed by it into columns.

    A cohort is a team's: it is read once per team (from team codes) instead of hashing every
    row's text; rows without a cohort get key -1, dropped as groupby drops missing keys.
    """
    team, period = rows["team"], rows["period"].to_numpy()
    tc = team.cat.codes.to_numpy(np.int64) if isinstance(team.dtype, pd.CategoricalDtype) else pd.factorize(team)[0]
    n_team, n = int(tc.max()) + 1 if len(tc) else 0, len(rows)
    cohort = rows["cohort"]
    if isinstance(cohort.dtype, pd.CategoricalDtype):  # compare codes (-1: blank), not text
        values, names = cohort.cat.codes.to_numpy(), np.append(np.asarray(cohort.cat.categories, dtype=object), None)
    else:
        values = cohort.to_numpy(dtype=object)
    one = np.full(n_team + 1, -1 if values.dtype != object else None, dtype=values.dtype)
    one[tc] = values  # a row's cohort for each team (a missing team, -1, lands in the last slot)
    same = values == one[tc]
    if not same.all() and not np.all(same | (pd.isna(values) & pd.isna(one[tc]))):  # blanks are equal
        raise ValueError("a team's rows have different cohorts")
    per_team = names[one] if isinstance(cohort.dtype, pd.CategoricalDtype) else one
    per_team[-1] = None  # no team, no cohort
    labels, codes = np.unique(np.array([c for c in per_team if not pd.isna(c)], dtype=object), return_inverse=True)
    team_code = np.full(n_team + 1, -1, dtype=np.int64)
    team_code[[i for i, c in enumerate(per_team) if not pd.isna(c)]] = codes
    row_code = team_code[tc]
    lo, width = (int(period.min()) if n else 0), max(len(labels), 1)
    key = np.where(row_code >= 0, (period.astype(np.int64) - lo) * width + row_code, -1)

    def decode(table: pd.DataFrame) -> pd.DataFrame:
        table = table[table.index >= 0]
        k = table.index.to_numpy()
        return table.reset_index(drop=True).assign(
            period=(lo + k // width).astype(period.dtype), cohort=labels[k % width] if len(labels) else None)

    return key, decode


def typical(frame: OutcomeFrame, trend_table: pd.DataFrame | None = None) -> float | None:
    """The control teams' level over their last three months with data (for plain-language sizes)."""
    t = trend(frame) if trend_table is None else trend_table
    t = t[t["cohort"] == "control"].dropna(subset=["value"])
    return float(t["value"].tail(3).median()) if len(t) else None


def variability(frame: OutcomeFrame) -> dict[str, float] | None:
    """Variance components of the outcome's analysis value, for minimum detectable effects.

    Team-month cell means are cleaned of team and month effects; the part of their variance
    beyond row noise (within-cell variance / rows per cell) is the team-month shock. Returns
    rows_per_cell, sd (total), icc (shock share), serial_corr (lag-1 correlation of the cleaned
    cell means within team, clipped to [0, 0.95]) and months; ``None`` without data. Durations
    use resolved items only (their log hours are not top-coded); rates treat each team-month
    as one row.
    """
    found = resolved_cells(frame)
    if found is None:
        return None
    c, baseline = found
    size = c["size"].to_numpy(float)
    mean = c["s1"].to_numpy() / size
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(size > 1, (c["s2"].to_numpy() - size * mean * mean) / (size - 1), np.nan)
    cells = pd.DataFrame({"team": c["team"], "period": c["period"], "mean": mean, "var": var, "size": c["size"]})
    resid = (cells["mean"] - cells.groupby("team", observed=True)["mean"].transform("mean")
             - cells.groupby("period")["mean"].transform("mean") + cells["mean"].mean())
    within = float(cells["var"].mean()) if cells["var"].notna().any() else 0.0
    per_cell = float(cells["size"].mean())
    shock = max(0.0, float(resid.var()) - within / per_cell) if len(cells) > 1 else 0.0
    pair = pd.concat([resid, resid.groupby(cells["team"], observed=True).shift(1)], axis=1).dropna()
    rho = float(np.clip(pair.corr().iloc[0, 1], 0.0, 0.95)) if len(pair) > 3 else 0.0
    total = within + shock
    if not total > 0 or not math.isfinite(total):
        return None
    out = {"rows_per_cell": per_cell, "sd": math.sqrt(total), "icc": shock / total, "serial_corr": rho,
           "months": int(cells["period"].nunique())}
    if frame.outcome.kind == "duration":
        out["baseline_hours"] = baseline
    return out


def resolved_cells(frame: OutcomeFrame) -> tuple[pd.DataFrame, float | None] | None:
    """Rows by (team, period) with ``size`` and sums ``s1``/``s2`` of the analysis value (resolved items'
    log hours for durations), and the median hours of those items; None without rows (or resolved ones)."""
    rows = frame.rows
    if frame.outcome.kind == "milestone":
        return None
    if frame.summaries is not None:  # rows kept in a database (peereval.engine)
        c, baseline = frame.summaries.resolved_cells()
        return None if c.empty else (c, baseline)
    if rows.empty:
        return None
    if frame.outcome.kind == "duration":
        keep = ~rows["open"].to_numpy(bool)
        y = np.clip(rows["hours"].to_numpy(float), 1 / 60, None)  # a new array: logged in place
        np.log(y, out=y)
    else:
        keep, y = np.ones(len(rows), dtype=bool), rows["y"].to_numpy(float)
    if not keep.any():
        return None
    c = cell_table(rows, ["team", "period"], mask=keep, sums={"s1": y, "s2": y * y})  # one pass, by codes
    baseline = float(np.median(rows["hours"].to_numpy(float)[keep])) if frame.outcome.kind == "duration" else None
    return c, baseline


def latest_month(data: CohortData) -> str | None:
    """The last calendar month with any dated activity (any table, outcome tables included)."""
    candidates = [
        data.ticket_span()[1], data.sessions["date"].max(),
        data.surveys["date"].max(), data.milestones["date"].max(), data.people["hire_date"].max(),
    ]
    for frame in data.outcome_tables.values():
        candidates += [frame[c].max() for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    candidates = [c for c in candidates if pd.notna(c)]
    return None if not candidates else str(max(candidates).to_period("M"))
