"""A duration outcome on tickets from the database's sums and the fetched rows' cells.

The database sums the tickets it kept by (team, period, follow-up complete, treated, before the
first start, priority/type): rows, open rows, the analysis value's sum (log hours top-coded at
the window) and, over resolved rows, the sums of log hours and of their squares. A row is
treated when its team is a pilot team and it was created on or after the team's start (the
starts are sent as a VALUES list), as :meth:`~peereval.periods.Calendar.expose` decides for rows;
the start month's transition, the cohort and the declaration's ``where`` are functions of the
keys, computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.database import Database, literal, quote
from peereval.engine.source import EngineData, timestamp
from peereval.engine.summaries import EngineSummaries, Sql
from peereval.errors import ArgumentError
from peereval.outcomes.cells import cell_table
from peereval.outcomes.declare import Outcome
from peereval.outcomes.duration import capped_note, window_reason
from peereval.outcomes.frame import OutcomeFrame, team_codes, where_keeps, where_reason
from peereval.periods import Calendar, start_transition, transition_reason


def build(data: EngineData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    """The outcome's analysis frame: (team, period, adjustment) cells weighted by their rows (``weight="n"``).

    A duration outcome on tickets adds the engine's sums to the fetched rows' cells, and its
    row-level views (monthly medians, variance components, pre-start levels) come from
    ``frame.summaries``; any other outcome is built from its (whole) table as usual.
    """
    from peereval.outcomes.builder import build as build_rows

    if o.table != "tickets" or not data.engine_rows:
        return build_rows(data.fetched, o, cal)
    if cal.end is None:
        raise ArgumentError("tickets summed in the database need a cutoff: load_aggregated(target, cutoff='YYYY-MM-DD')")
    why = unsupported(o)
    if why:
        raise ArgumentError(f"{why}; use peereval.load for it")
    extra = [c for c in dict.fromkeys([*o.where, *o.adjust_for]) if c in data.table("tickets").columns]
    sql = Sql(data, o, cal)
    fetched = build_rows(data.fetched, o, cal)
    sums = _sums(sql, extra)
    excluded, notes = dict(fetched.excluded), dict(fetched.notes)
    alive = np.ones(len(sums), dtype=bool)
    n = sums["n"].to_numpy(np.int64)
    accepted: dict[str, list[str]] = {}
    for col, allowed in o.where.items():  # the declaration's filter, by the rule rows follow (in_scope)
        keep = where_keeps(sums[col], allowed)
        _add(excluded, where_reason(col, allowed), n[~keep & alive])
        alive &= keep
        accepted[col] = sorted(set(sums.loc[keep, col].dropna()))  # the stored values the filter keeps
    sql.keep_only(accepted)
    sums, n = sums[alive], n[alive]
    rows, transition = _placed(sums, cal)
    full = rows["full"].to_numpy(bool)
    _add(excluded, window_reason(o), n[~full])
    _add(excluded, transition_reason(cal.period), n[transition & full])
    used = full & ~transition
    notes[capped_note(o)] = notes.get(capped_note(o), 0) + int(rows["n_capped"].to_numpy(np.int64)[used].sum())
    for col in o.adjust_for:
        if col in rows.columns:
            rows[col] = rows[col].astype(object).where(rows[col].notna(), "unknown")
    keys = ["team", "period", *[c for c in o.adjust_for if c in rows.columns]]
    mine = cell_table(rows, keys, mask=used, sums={"n": rows["n"].to_numpy(float), "wy": rows["sy"].to_numpy(float)},
                      constant=("treated", "cohort"))
    theirs = fetched.adjustment_cells()
    parts = [mine[[*keys, "n", "wy", "treated", "cohort"]],
             theirs[keys].assign(n=theirs["n"], wy=theirs["n"] * theirs["y"], treated=theirs["treated"],
                                 cohort=theirs["cohort"])]
    both = pd.concat([p.astype({k: object for k in keys if k != "period"} | {"cohort": object}) for p in parts],
                     ignore_index=True)
    cells = cell_table(both, keys, sums={"n": both["n"].to_numpy(float), "wy": both["wy"].to_numpy(float)},
                       constant=("treated", "cohort"))
    out = team_codes(cells[keys].copy())
    out["cohort"] = pd.Categorical(cells["cohort"])
    out["treated"] = cells["treated"].astype(int)
    out["n"], out["y"], out["used"] = cells["n"], cells["wy"] / cells["n"], True
    facts = {"end": cal.end, "engine_rows": int(n.sum()), "fetched_rows": len(fetched.rows)}
    summaries = EngineSummaries(sql, rows[["team", "period", "pre", "cohort", "n", "n_open", "n_res", "s1", "s2"]],
                                fetched)
    return OutcomeFrame(o, out, cal, excluded, notes, weight="n", extra=facts, summaries=summaries)


def unsupported(o: Outcome) -> str | None:
    """Why the database's sums cannot give outcome ``o`` on tickets (None when they can)."""
    if o.kind != "duration" or o.person or (o.team and o.team != "team"):
        return f"{o.name!r} reads tickets as a {o.kind}: only durations by the tickets' own team are summed in the database"
    extra = sorted(set(o.where) | set(o.adjust_for))
    if any(c not in ("priority", "type") for c in extra) or (o.start, o.end) != ("created_at", "resolved_at"):
        return (f"{o.name!r} uses tickets columns the database does not sum ({', '.join(extra) or 'none'}; "
                f"{o.start} to {o.end})")
    return None


def _add(counts: dict[str, int], reason: str, n: np.ndarray) -> None:
    total = int(n.sum())
    if total:
        counts[reason] = counts.get(reason, 0) + total


def _placed(sums: pd.DataFrame, cal: Calendar) -> tuple[pd.DataFrame, np.ndarray]:
    """``cohort`` (a Categorical, categories sorted) per row, and the rows of a pilot team's start
    period when that period also holds rows from before the start (the transition, as ``expose``)."""
    cohort = cal.cohort.reindex(pd.Index(sums["team"].astype(object)))
    levels = pd.Index(cal.cohort.dropna().unique()).sort_values()
    rows = sums.assign(cohort=pd.Categorical(cohort.to_numpy(object), categories=levels))
    codes, teams = pd.factorize(rows["team"].astype(object))
    starts = cal.start[(cal.cohort == "pilot") & cal.start.notna()]
    start_period = np.full(len(teams) + 1, np.iinfo(np.int64).min, dtype=np.int64)  # no row has this period
    at = pd.Index(teams).get_indexer(starts.index)
    start_period[at[at >= 0]] = cal.index(pd.Series(starts.to_numpy())).to_numpy()[at >= 0]
    period, treated = rows["period"].to_numpy(np.int64), rows["treated"].to_numpy(bool)
    return rows, start_transition(codes, period, start_period, treated)


def _sums(sql: Sql, extra: list[str]) -> pd.DataFrame:
    """The tickets kept in the database, summed there by (team, period, follow-up complete, treated,
    before the first start, ``extra`` columns)."""
    o, cal = sql.outcome, sql.calendar
    c = sql.created
    cap = f"CAST({o.window_days * 24.0!r} AS FLOAT8)"
    limit = timestamp(cal.end - pd.Timedelta(days=o.window_days))
    log_hours = f"ln(GREATEST({sql.hours}, CAST(1 AS FLOAT8) / 60))"
    picked = "".join(f", {quote(sql.data.columns[x])} AS {quote(x)}" for x in extra)
    starts = cal.start[(cal.cohort == "pilot") & cal.start.notna()]
    join, treated = "", "FALSE"
    if len(starts):  # each pilot team's start, sent with the query
        values = ", ".join(f"({literal(str(t))}, {timestamp(pd.Timestamp(s))})" for t, s in starts.items())
        join = f" LEFT JOIN (VALUES {values}) AS pe_starts(pe_team, pe_start) ON {sql.team} = pe_starts.pe_team"
        treated = f"(pe_starts.pe_start IS NOT NULL AND {c} >= pe_starts.pe_start)"
    query = (
        f"SELECT {sql.team} AS team, {sql.group('period')} AS period, ({c} <= {limit}) AS full, "
        f"{treated} AS treated, {sql.pre} AS pre{picked}, count(*) AS n, "
        f"sum(CASE WHEN {sql.resolved} THEN 0 ELSE 1 END) AS n_open, "
        f"sum(ln(LEAST(GREATEST(CASE WHEN {sql.resolved} THEN {sql.hours} ELSE {cap} END, "
        f"CAST(1 AS FLOAT8) / 60), {cap}))) AS sy, "
        f"sum(CASE WHEN {sql.resolved} AND {sql.hours} <= {cap} THEN 0 ELSE 1 END) AS n_capped, "
        f"sum(CASE WHEN {sql.resolved} THEN 1 ELSE 0 END) AS n_res, "
        f"sum(CASE WHEN {sql.resolved} THEN {log_hours} END) AS s1, "
        f"sum(CASE WHEN {sql.resolved} THEN {log_hours} * {log_hours} END) AS s2 "
        f"FROM {sql.table}{join} WHERE {sql.kept} GROUP BY {', '.join(str(i) for i in range(1, 6 + len(extra)))}")
    frame = Database.run(sql.data.target, query).to_pandas()
    for name in ("n", "n_open", "n_capped", "n_res", "period"):
        frame[name] = frame[name].astype(np.int64)
    frame["treated"] = frame["treated"].astype(int)
    for name in ("full", "pre"):
        frame[name] = frame[name].astype(bool)
    for name in ("sy", "s1", "s2"):
        frame[name] = frame[name].astype(float).fillna(0.0)
    return frame.sort_values(["team", "period", "full", "treated", "pre", *extra], kind="stable", na_position="last",
                             ignore_index=True)
