"""Tickets summed where they are stored: a database's own engine does the heavy part.

:func:`load_aggregated` reads a DuckDB file or a PostgreSQL database as :func:`peereval.load`
does, except the tickets. Rows for which every rule of the data contract can be seen to hold in
SQL (a trimmed ticket id that appears once and does not look like a header, a team of the teams
table, typed created/resolved times in order, created before the cutoff, a counted type, trimmed
priority and type) stay in the database; every other row is fetched and checked here by the same
code as files. Rows left in the database count as read and used, so the ledger is the one the
rows fetched whole would give. The SQL is plain ANSI (the same text for DuckDB and PostgreSQL)
and is conservative: a row it cannot vouch for is fetched, never judged differently.

A duration outcome on tickets (bug turnaround, or a declared one) is then built from the engine's
sums per (team, day, follow-up complete, priority/type) and the fetched rows' cells:
:func:`peereval.effect` and :func:`peereval.panel` accept the result. The DiD, its cluster-robust
standard errors, wild bootstrap and randomization inference use (team, period, adjustment) cells,
on which they are exact; medians and the report's other row-level views need rows and are not
offered here (use :func:`peereval.load` for the report).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData, load_from
from peereval.data.database import Database, display, literal, quote
from peereval.data.reading import normalise_column
from peereval.data.sources import DatabaseSource
from peereval.data.values import as_text
from peereval.errors import ArgumentError
from peereval.outcomes.cells import cell_table
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame, team_codes
from peereval.periods import Calendar, transition_reason

_TIMESTAMP = ("timestamp", "timestamp without time zone", "timestamp_ns", "timestamp_us", "timestamp_ms",
              "timestamp_s", "datetime")
_TEXT = ("text", "varchar", "character varying", "string", "character")
_MAX_PADDED = 50_000  # ids with spaces around them listed in the SQL; more: fetch every ticket
_LATE = "resolved after cutoff: counted as still open"  # the loader's note (peereval.data.cohort)


@dataclass(frozen=True)
class EngineData:
    """A database's exports with the tickets summed in the database (see the module docs).

    ``fetched`` holds every other table whole and the tickets the engine could not vouch for;
    ``ledger`` counts every ticket (read, used, excluded with reasons) as :func:`peereval.load`
    would. ``engine_rows`` tickets stayed in the database; ``why_fetched`` says why all of them
    were fetched when none could stay.
    """

    target: str
    fetched: CohortData
    engine_rows: int
    why_fetched: str | None
    columns: dict[str, str]  # contract name -> stored name of the tickets' columns
    fetch_sql: str

    @property
    def config(self):
        return self.fetched.config

    @property
    def teams(self) -> pd.DataFrame:
        return self.fetched.teams

    @property
    def cutoff(self) -> pd.Timestamp:
        return self.fetched.cutoff

    @property
    def ledger(self):
        return self.fetched.ledger

    @property
    def fingerprint(self) -> str:
        """The fetched rows' fingerprint (the rows left in the database are not read, so not in it)."""
        return self.fetched.fingerprint

    def provided(self, table: str) -> bool:
        return self.fetched.provided(table)

    def table(self, name: str) -> pd.DataFrame:
        return self.fetched.table(name)

    def __repr__(self) -> str:
        where = f"{self.engine_rows} tickets summed in the database" if self.engine_rows else \
            f"every ticket fetched ({self.why_fetched})"
        fetched = self.ledger.rows_read.get("tickets", 0) - self.engine_rows
        return f"EngineData({display(self.target)}: {where}, {fetched} fetched and checked here)"


def load_aggregated(target: str | Path, cutoff, *, config_file: str | Path | None = None,
                    strict: bool = False) -> EngineData:
    """Load a database source, leaving the tickets that pass every check in the database (see the module docs).

    ``cutoff`` (the last day counted) is required: the engine needs it to place rows. Raises
    :class:`~peereval.errors.DataError` as :func:`peereval.load` does.

    Example:
        >>> import peereval, tempfile, duckdb
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> path = Path(tempfile.mkdtemp()) / "exports.duckdb"
        >>> with duckdb.connect(str(path)) as con:
        ...     for t in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        ...         _ = con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv('{sample / t}.csv')")
        >>> data = load_aggregated(path, "2026-10-31", config_file=sample / "program.toml")
        >>> data   # the other types are fetched: the ledger counts them as files would
        EngineData(exports.duckdb: 10022 tickets summed in the database, 1377 fetched and checked here)
        >>> data.ledger.to_dict()["tickets"] == peereval.load(sample, "2026-10-31").ledger.to_dict()["tickets"]
        True
    """
    if cutoff is None:
        raise ArgumentError("load_aggregated needs a cutoff (the last day counted, e.g. '2026-10-31'): "
                            "the database places each ticket before or after it")
    text = str(target)
    probe = DatabaseSource(text, config_file)
    try:
        cfg, db = probe.config(), probe.db
        columns, why = _columns(db)
        end = pd.Timestamp(cutoff).normalize() + pd.Timedelta(days=1)
        if not why:
            fetch, why = _fetch_condition(db, columns, end, cfg.ticket_types)
        else:
            fetch = "TRUE"
        kept, late, first, last = 0, 0, None, None
        if not why:
            c, r = quote(columns["created_at"]), quote(columns["resolved_at"])
            kept, late, first, last = db.query(
                f"SELECT count(*), sum(CASE WHEN {r} >= {_timestamp(end)} THEN 1 ELSE 0 END), min({c}), max({c}) "
                f"FROM {db.qualified('tickets')} WHERE NOT {fetch}").to_pylist()[0].values()
    finally:
        probe.close()
    data = load_from(DatabaseSource(text, config_file, fetch_only={"tickets": (fetch, kept)} if kept else None),
                     cutoff, strict=strict, config=cfg)
    starts = data.teams["pilot_start"].dropna()
    if kept and (starts != starts.dt.normalize()).any():  # the database places rows by day
        why, kept, fetch = "a pilot_start has a time of day", 0, "TRUE"
        data = load_from(DatabaseSource(text, config_file), cutoff, strict=strict, config=cfg)
    if kept:
        data = dataclasses.replace(data, ledger=_with_note(data.ledger, int(late or 0)),
                                   tickets_elsewhere=(pd.Timestamp(first), pd.Timestamp(last)))
    return EngineData(text, data, kept, None if kept else why, columns, fetch)


def _with_note(ledger, late: int):
    if not late:
        return ledger
    notes, seen = [], False
    for table, note, n in ledger.notes:
        if table == "tickets" and note == _LATE:
            n, seen = n + late, True
        notes.append((table, note, n))
    if not seen:
        notes.append(("tickets", _LATE, late))
    return dataclasses.replace(ledger, notes=tuple(notes))


def _columns(db: Database) -> tuple[dict[str, str], str | None]:
    """The tickets' stored column names, and why no row can stay in the database (None when rows can)."""
    if "tickets" not in db.tables:
        return {}, "there is no tickets table"
    if "teams" not in db.tables:
        return {}, "there is no teams table"
    types = db.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
                     f"{literal(db.schema)} AND lower(table_name) = 'tickets'")
    stored: dict[str, tuple[str, str]] = {}
    for name, kind in zip(types.column(0).to_pylist(), types.column(1).to_pylist(), strict=True):
        stored.setdefault(normalise_column(name), (name, str(kind).lower()))
    teams = {normalise_column(c): c for c in db.tables["teams"]}
    columns = {c: stored[c][0] for c in stored}
    if "team" in teams:
        columns["teams.team"] = teams["team"]
    for name, kinds in (("ticket_id", _TEXT), ("team", _TEXT), ("created_at", _TIMESTAMP),
                        ("resolved_at", _TIMESTAMP), ("priority", _TEXT), ("type", _TEXT)):
        if name not in stored:
            if name in ("priority", "type"):
                continue
            return columns, f"the tickets table has no column {name}"
        if stored[name][1] not in kinds:
            return columns, f"tickets.{name} is stored as {stored[name][1]}, not as " + \
                ("a timestamp without time zone" if kinds is _TIMESTAMP else "text")
    if "teams.team" not in columns:
        return columns, "the teams table has no column team"
    return columns, None


def _timestamp(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP '{ts.strftime('%Y-%m-%d %H:%M:%S')}'"


def _trimmed(col: str) -> str:
    """SQL true when a non-null text value starts and ends with a visible ASCII character (nothing to strip)."""
    return f"(ascii({col}) BETWEEN 33 AND 126 AND ascii(right({col}, 1)) BETWEEN 33 AND 126)"


def _fetch_condition(db: Database, columns: dict[str, str], end: pd.Timestamp,
                     types: tuple[str, ...]) -> tuple[str, str | None]:
    """SQL true for the tickets to fetch and check here: every row not plainly clean (never NULL).

    Returns the condition and, when every row has to be fetched, why.
    """
    table = db.qualified("tickets")
    tid, team, created, resolved = (quote(columns[c]) for c in ("ticket_id", "team", "created_at", "resolved_at"))
    known = f"SELECT CAST({quote(columns['teams.team'])} AS VARCHAR) FROM {db.qualified('teams')} " \
            f"WHERE {quote(columns['teams.team'])} IS NOT NULL"
    repeated = f"SELECT {tid} FROM {table} WHERE {tid} IS NOT NULL GROUP BY {tid} HAVING count(*) > 1"
    clean = [
        f"{tid} IS NOT NULL", _trimmed(tid), f"lower({tid}) NOT LIKE '%ticket%'",  # a repeated header row
        f"{tid} NOT IN ({repeated})",
        f"{team} IS NOT NULL", _trimmed(team), f"{team} IN ({known})",
        f"{created} IS NOT NULL", f"{created} < {_timestamp(end)}",
        f"({resolved} IS NULL OR {resolved} >= {created})",
    ]
    for name in ("priority", "type"):
        if name in columns:
            col = quote(columns[name])
            allowed = "" if name != "type" else \
                f" AND lower({col}) IN ({', '.join(literal(t.lower()) for t in types) or 'NULL'})"
            clean.append(f"({col} IS NULL OR ({_trimmed(col)}{allowed}))")
    # an id stripped here may equal a clean row's id (a repeat the database cannot see): fetch those too
    padded = db.query(f"SELECT DISTINCT {tid} FROM {table} WHERE {tid} IS NOT NULL AND NOT {_trimmed(tid)}")
    if padded.num_rows > _MAX_PADDED:
        return "TRUE", f"{padded.num_rows} ticket ids have spaces or invisible characters around them"
    stripped = sorted(set(as_text(pd.Series(padded.column(0).to_pylist(), dtype=object)).dropna()))
    if stripped:
        clean.append(f"{tid} NOT IN ({', '.join(literal(v) for v in stripped)})")
    return "NOT COALESCE(" + " AND ".join(f"({c})" for c in clean) + ", FALSE)", None


def build(data: EngineData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    """The outcome's analysis frame: (team, period, adjustment) cells weighted by their rows (``weight="n"``).

    A duration outcome on tickets adds the engine's sums to the fetched rows' cells; any other
    outcome is built from its (whole) table as usual.
    """
    from peereval.outcomes.builder import build as build_rows

    if o.table != "tickets" or not data.engine_rows:
        return build_rows(data.fetched, o, cal)
    if o.kind != "duration" or o.person or (o.team and o.team != "team"):
        raise ArgumentError(f"{o.name!r} reads tickets by {o.kind}: only duration outcomes of the tickets' own team "
                            "are summed in the database; use peereval.load for it")
    extra = [c for c in dict.fromkeys([*o.where, *o.adjust_for]) if c in data.table("tickets").columns]
    if any(c not in ("priority", "type") for c in extra) or {o.start, o.end} != {"created_at", "resolved_at"} \
            or o.start != "created_at":
        raise ArgumentError(f"{o.name!r} uses tickets columns the database does not sum ({', '.join(extra)}; "
                            f"{o.start} to {o.end}); use peereval.load for it")
    fetched = build_rows(data.fetched, o, cal)
    sums = _engine_cells(data, o, cal, extra)
    excluded, notes = dict(fetched.excluded), dict(fetched.notes)
    alive = np.ones(len(sums), dtype=bool)
    n = sums["n"].to_numpy(np.int64)
    for col, allowed in o.where.items():  # the declaration's filter, by the rule rows follow (in_scope)
        keep = sums[col].astype("string").str.strip().str.lower().isin(allowed).fillna(False).to_numpy(bool)
        _add(excluded, f"{col} not one of {', '.join(allowed)}", n[~keep & alive])
        alive &= keep
    sums, n = sums[alive], n[alive]
    rows, transition = cal.expose(sums.assign(date=sums["day"]), "date")
    full, transition = rows["full"].to_numpy(bool), transition.to_numpy(bool)
    began = "created" if o.start == "created_at" else o.start
    _add(excluded, f"{began} in the last {o.window_days} days (follow-up window not complete)", n[~full])
    _add(excluded, transition_reason(cal.period), n[transition & full])
    used = full & ~transition
    late = f"still open after {o.window_days} days: counted as {o.window_days} days"
    notes[late] = notes.get(late, 0) + int(rows["n_capped"].to_numpy(np.int64)[used].sum())
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
    extra_facts = {"end": cal.end, "engine_rows": int(n.sum()), "fetched_rows": len(fetched.rows)}
    return OutcomeFrame(o, out, cal, excluded, notes, weight="n", extra=extra_facts)


def _add(counts: dict[str, int], reason: str, n: np.ndarray) -> None:
    total = int(n.sum())
    if total:
        counts[reason] = counts.get(reason, 0) + total


def _engine_cells(data: EngineData, o: Outcome, cal: Calendar, extra: list[str]) -> pd.DataFrame:
    """The tickets left in the database, summed there by (team, day, follow-up complete, ``extra`` columns)."""
    cols = data.columns
    c, r, team = (quote(cols[x]) for x in ("created_at", "resolved_at", "team"))
    end, cap = _timestamp(cal.end), f"CAST({o.window_days * 24.0!r} AS FLOAT8)"
    limit = _timestamp(cal.end - pd.Timedelta(days=o.window_days))
    hours = f"CAST(EXTRACT(EPOCH FROM ({r} - {c})) AS FLOAT8) / 3600"
    open_ = f"({r} IS NULL OR {r} >= {end})"
    picked = "".join(f", {quote(cols[x])} AS {quote(x)}" for x in extra)
    db = Database.open(data.target)
    try:
        table = db.query(
            f"SELECT {team} AS team, CAST({c} AS DATE) AS day, ({c} <= {limit}) AS full{picked}, count(*) AS n, "
            f"sum(ln(LEAST(GREATEST(CASE WHEN {open_} THEN {cap} ELSE {hours} END, CAST(1 AS FLOAT8) / 60), {cap})))"
            f" AS sy, sum(CASE WHEN {open_} OR {hours} > {cap} THEN 1 ELSE 0 END) AS n_capped "
            f"FROM {db.qualified('tickets')} WHERE NOT {data.fetch_sql} "
            f"GROUP BY {', '.join(str(i) for i in range(1, 4 + len(extra)))}")
    finally:
        db.close()
    frame = table.to_pandas()
    frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[ns]")
    for name in ("n", "n_capped"):
        frame[name] = frame[name].astype(np.int64)
    frame["sy"] = frame["sy"].astype(float)
    return frame.sort_values(["team", "day", "full", *extra], kind="stable", na_position="last",
                             ignore_index=True)
