"""Which tickets stay in the database: the SQL test of a clean row, and loading the rest.

See :mod:`peereval.engine`. The condition is plain ANSI SQL (the same text for DuckDB and
PostgreSQL) and conservative: a row it cannot vouch for is fetched, never judged differently.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from peereval.config import ProgramConfig
from peereval.data.cohort import (
    AFTER_CUTOFF,
    RESOLVED_LATE,
    CohortData,
    load_from,
    parse_cutoff,
    type_not_counted,
)
from peereval.data.database import (
    Database,
    canonical,
    display,
    fingerprint,
    is_database,
    literal,
    locate,
    plain,
    quote,
)
from peereval.data.ledger import Exclusion
from peereval.data.reading import normalise_column
from peereval.data.sources import DatabaseSource
from peereval.data.values import as_text

_TIMESTAMP = ("timestamp", "timestamp without time zone", "timestamp_ns", "timestamp_us", "timestamp_ms",
              "timestamp_s", "datetime")
_TEXT = ("text", "varchar", "character varying", "string", "character")
_MAX_LISTED = 50_000  # ids listed in the SQL (repeated, or with spaces around them); more: a subquery / every row


@dataclass(frozen=True)
class EngineData:
    """A database's exports with the tickets summed in the database (see the module docs).

    ``fetched`` holds every other table whole and the tickets the engine could not vouch for;
    ``ledger`` counts every ticket (read, used, excluded with reasons) as :func:`peereval.load`
    would. ``engine_rows`` tickets are summed in the database, ``in_database`` stayed there
    (those plus the clean ones of other types or after the cutoff, counted there); ``why_fetched``
    says why every ticket was fetched when none could stay.
    """

    target: str
    fetched: CohortData
    engine_rows: int
    why_fetched: str | None
    columns: dict[str, str]  # contract name -> stored name of the tickets' columns
    fetch_sql: str  # SQL true for the tickets fetched (the others stay in the database)
    table_sql: str  # the tickets table, schema-qualified and quoted
    kept_sql: str  # SQL true for the tickets summed in the database (the others left there are out of scope)
    in_database: int = 0
    database_digest: str = ""  # of the database's counts and sums of the tickets left there (see fingerprint)

    def __getattr__(self, name: str):
        """Every other table and fact is the fetched data's (``tickets``, only the rows fetched, is not offered)."""
        if name.startswith("_") or name == "tickets":
            raise AttributeError(f"EngineData has no {name!r}" + (
                ": most tickets stay in the database; `fetched.tickets` holds the rows fetched" if name == "tickets"
                else ""))
        return getattr(self.fetched, name)

    @property
    def fingerprint(self) -> str:
        """sha256 of the fetched rows' fingerprint and of the database's counts and sums of the tickets left there.

        Those are summed by (team, month created, priority, type): rows, resolved rows, rows of other
        types, after the cutoff, and the sums of their created and resolved times in seconds (canonical order).
        """
        if not self.in_database:
            return self.fetched.fingerprint
        return hashlib.sha256(f"{self.fetched.fingerprint}\0{self.database_digest}".encode()).hexdigest()

    def __repr__(self) -> str:
        where = f"{self.engine_rows:,} tickets summed in the database" if self.engine_rows else \
            f"every ticket fetched ({self.why_fetched})"
        counted = self.in_database - self.engine_rows
        fetched = self.ledger.rows_read.get("tickets", 0) - self.in_database
        return f"EngineData({display(self.target)}: {where}" + (
            f", {counted:,} counted there as out of scope" if counted else "") + f", {fetched:,} fetched and checked here)"


def sums_in_database(target: str | Path, fetch_rows: bool | None = None) -> bool:
    """Whether a report on ``target`` leaves its clean tickets to the database (``fetch_rows=None``: by engine).

    Files: never. A DuckDB file: yes (its vectorized engine sums 10M tickets in about the time
    reading them takes, with half the memory). A PostgreSQL URL: no by default — one PostgreSQL
    server checks and sums the rows one at a time, about three times slower at 10M tickets on two
    cores than sending them (docs/performance.md); a warehouse reached over a slow network, or a
    small machine, gains from ``fetch_rows=False``.
    """
    if not is_database(target):
        return False
    if fetch_rows is not None:
        return not fetch_rows
    return locate(str(target))[0] == "duckdb"


def load_aggregated(target: str | Path, cutoff, *, config_file: str | Path | None = None, strict: bool = False,
                    config: ProgramConfig | None = None,
                    progress: Callable[[str], None] | None = None) -> EngineData:
    """Load a database source, leaving the tickets that pass every check in the database (see the module docs).

    ``cutoff`` is the last day counted; without one the ledger is complete but no outcome can be
    built (the engine places rows by it). The other arguments are :func:`peereval.load`'s. Raises
    :class:`~peereval.errors.DataError` as it does.

    Example:
        >>> import peereval, tempfile, duckdb
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> path = Path(tempfile.mkdtemp()) / "exports.duckdb"
        >>> with duckdb.connect(str(path)) as con:
        ...     for t in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        ...         _ = con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv('{sample / t}.csv')")
        >>> data = load_aggregated(path, "2026-10-31", config_file=sample / "program.toml")
        >>> data   # other types are counted in the database: the ledger is the one files give
        EngineData(exports.duckdb: 10,022 tickets summed in the database, 1,377 counted there as out of scope, 0 fetched and checked here)
        >>> data.ledger.to_dict()["tickets"] == peereval.load(sample, "2026-10-31").ledger.to_dict()["tickets"]
        True
    """
    cut = parse_cutoff(cutoff)
    text = str(target)
    probe = DatabaseSource(text, config_file)
    try:
        cfg, db = config or probe.config(), probe.db
        table = db.qualified("tickets")
        columns, why = _columns(db)
        from peereval.engine.frame import unsupported

        why = why or next((unsupported(o) for o in cfg.outcomes if o.table == "tickets" and unsupported(o)), None)
        end = None if cut is None else cut + pd.Timedelta(days=1)
        clean, why = _clean_condition(db, columns) if not why else ("FALSE", why)
        counts: dict = {}
        digest = ""
        if not why:  # clean rows of other types, or after the cutoff, are counted here as the loader would
            c, r = quote(columns["created_at"]), quote(columns["resolved_at"])
            other = f"({quote(columns['type'])} IS NOT NULL AND lower({quote(columns['type'])}) NOT IN " \
                    f"({', '.join(literal(t.lower()) for t in cfg.ticket_types)}))" \
                if "type" in columns and cfg.ticket_types else "FALSE"
            after = f"{c} >= {timestamp(end)}" if end is not None else "FALSE"
            kept_sql = f"({clean} AND NOT {other} AND NOT ({after}))"
            late = f"{r} >= {timestamp(end)}" if end is not None else "FALSE"
            sums = _scope_sums(db, table, columns, clean, other, after, late)
            counts = {"clean": pc.sum(sums["n"]).as_py(), "other": pc.sum(sums["other"]).as_py(),
                      "after": pc.sum(sums["after"]).as_py(), "late": pc.sum(sums["late"]).as_py(),
                      "first": pc.min(sums["first"]).as_py(), "last": pc.max(sums["last"]).as_py()}
            digest = fingerprint({"tickets left in the database": canonical(plain(sums.drop_columns(["first", "last"])))},
                                 None)
    finally:
        probe.close()
    elsewhere = int(counts.get("clean") or 0)
    kept = elsewhere - int(counts.get("other") or 0) - int(counts.get("after") or 0)
    data = load_from(DatabaseSource(text, config_file, fetch_only={"tickets": (f"NOT {clean}", elsewhere)}
                                    if elsewhere else None),
                     cutoff, strict=strict, config=cfg, progress=progress)
    starts = data.teams["pilot_start"].dropna()
    if elsewhere and (starts != starts.dt.normalize()).any():  # the database places rows by day
        why, elsewhere, kept = "a pilot_start has a time of day", 0, 0
        data = load_from(DatabaseSource(text, config_file), cutoff, strict=strict, config=cfg, progress=progress)
    if elsewhere:
        scope = [(type_not_counted(cfg.ticket_types), "type", counts["other"]),
                 (AFTER_CUTOFF, "created_at", counts["after"])]
        ledger = dataclasses.replace(data.ledger, exclusions=data.ledger.exclusions + tuple(
            Exclusion("tickets", "tickets", reason, "scope", (), column, unlisted=int(n)) for reason, column, n in scope
            if n))
        data = dataclasses.replace(data, ledger=_with_note(ledger, int(counts["late"] or 0)),
                                   tickets_elsewhere=(pd.Timestamp(counts["first"]), pd.Timestamp(counts["last"]))
                                   if kept else None)
    return EngineData(text, data, kept if elsewhere else 0, None if elsewhere else why, columns,
                      f"NOT {clean}" if elsewhere else "TRUE", table, kept_sql if elsewhere else "FALSE", elsewhere,
                      digest if elsewhere else "")


def _scope_sums(db: Database, table: str, columns: dict[str, str], clean: str, other: str, after: str,
                late: str) -> pa.Table:
    """The clean tickets by (team, month, priority, type): rows, of other types, after the cutoff, kept
    and resolved after it, first/last kept creation, resolved rows and the sums of their times (seconds)."""
    c, r = quote(columns["created_at"]), quote(columns["resolved_at"])
    keys = [quote(columns[k]) for k in ("team", "priority", "type") if k in columns]
    day = f"CAST({c} AS DATE)"
    kept = f"NOT {other} AND NOT ({after})"
    return db.query(
        f"SELECT {', '.join(keys)}, CAST(date_part('year', {day}) * 12 + date_part('month', {day}) - 1 AS INTEGER) "
        f"AS month, count(*) AS n, sum(CASE WHEN {other} THEN 1 ELSE 0 END) AS other, "
        f"sum(CASE WHEN NOT {other} AND {after} THEN 1 ELSE 0 END) AS after, "
        f"sum(CASE WHEN {kept} AND {late} THEN 1 ELSE 0 END) AS late, "
        f"min(CASE WHEN {kept} THEN {c} END) AS first, max(CASE WHEN {kept} THEN {c} END) AS last, "
        f"count({r}) AS resolved, sum(CAST(date_part('epoch', {c}) * 1000 AS BIGINT)) AS created, "
        f"sum(CAST(date_part('epoch', {r}) * 1000 AS BIGINT)) AS finished "
        f"FROM {table} WHERE {clean} GROUP BY {', '.join(str(i) for i in range(1, len(keys) + 2))}")


def _with_note(ledger, late: int):
    if not late:
        return ledger
    notes, seen = [], False
    for table, note, n in ledger.notes:
        if table == "tickets" and note == RESOLVED_LATE:
            n, seen = n + late, True
        notes.append((table, note, n))
    if not seen:
        notes.append(("tickets", RESOLVED_LATE, late))
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


def timestamp(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP '{ts.strftime('%Y-%m-%d %H:%M:%S')}'"


def _trimmed(col: str) -> str:
    """SQL true when a non-null text value starts and ends with a visible ASCII character (nothing to strip)."""
    return f"(ascii({col}) BETWEEN 33 AND 126 AND ascii(right({col}, 1)) BETWEEN 33 AND 126)"


def _clean_condition(db: Database, columns: dict[str, str]) -> tuple[str, str | None]:
    """SQL true for the tickets whose every value plainly passes the contract's checks (never NULL).

    The others are fetched and checked here. Returns the condition and, when every row has to be
    fetched, why.
    """
    table = db.qualified("tickets")
    tid, team, created, resolved = (quote(columns[c]) for c in ("ticket_id", "team", "created_at", "resolved_at"))
    known = f"SELECT CAST({quote(columns['teams.team'])} AS VARCHAR) FROM {db.qualified('teams')} " \
            f"WHERE {quote(columns['teams.team'])} IS NOT NULL"
    repeated = f"SELECT {tid} FROM {table} WHERE {tid} IS NOT NULL GROUP BY {tid} HAVING count(*) > 1"
    found = db.query(f"SELECT {tid} FROM ({repeated}) r LIMIT {_MAX_LISTED + 1}").column(0).to_pylist()
    if len(found) <= _MAX_LISTED:  # listed once: every later query then skips grouping the ids again
        repeated = ", ".join(literal(str(v)) for v in sorted(found))
    clean = [
        f"{tid} IS NOT NULL", _trimmed(tid), f"lower({tid}) NOT LIKE '%ticket%'",  # a repeated header row
        f"{tid} NOT IN ({repeated})" if repeated else "TRUE",
        f"{team} IS NOT NULL", _trimmed(team), f"{team} IN ({known})",
        f"{created} IS NOT NULL",
        f"({resolved} IS NULL OR {resolved} >= {created})",
    ]
    for name in ("priority", "type"):
        if name in columns:
            col = quote(columns[name])
            clean.append(f"({col} IS NULL OR {_trimmed(col)})")
    # an id stripped here may equal a clean row's id (a repeat the database cannot see): fetch those too
    padded = db.query(f"SELECT DISTINCT {tid} FROM {table} WHERE {tid} IS NOT NULL AND NOT {_trimmed(tid)}")
    if padded.num_rows > _MAX_LISTED:
        return "FALSE", f"{padded.num_rows} ticket ids have spaces or invisible characters around them"
    stripped = sorted(set(as_text(pd.Series(padded.column(0).to_pylist(), dtype=object)).dropna()))
    if stripped:
        clean.append(f"{tid} NOT IN ({', '.join(literal(v) for v in stripped)})")
    return "COALESCE(" + " AND ".join(f"({c})" for c in clean) + ", FALSE)", None
