"""``load``: a data folder in, typed tables plus config plus data-quality ledger out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow

from peereval.config import ProgramConfig
from peereval.data import outcome_tables
from peereval.data.contract import TABLES, empty_table
from peereval.data.duplicates import apply_row_rules, check_unique, exclude_duplicate_rows
from peereval.data.ledger import Ledger
from peereval.data.reading import ROW, RawTable
from peereval.data.sources import open_source, relabel
from peereval.data.validation import (
    Collector,
    RowFilter,
    check_reference,
    drop_header_rows,
    type_table,
)
from peereval.data.values import (
    as_text,
    is_arrow_text,
    isin,
    lower_in,
    sorted_categorical,
    to_objects,
)
from peereval.errors import DataError, Problem

MAX_INVALID_SHARE = 0.05


@dataclass(frozen=True, repr=False)
class CohortData:
    """Validated tables of one program, the configuration, and the data-quality ledger.

    Dates are naive timestamps (offsets converted to UTC). Text is Python strings (None when
    blank), except in tickets, where there may be 10 million: ``ticket_id`` is Arrow strings
    (``string[pyarrow]``), as nothing refers to it, and ``team``, ``priority`` and ``type`` are
    pandas Categoricals of the values present, categories sorted (missing values: NaN), whatever
    file format or reader. Compare them by value (``== "P1"``, ``.isin``, ``astype(str)``) and
    group with ``observed=True``. Tables that were not provided are empty and listed in
    ``missing_tables``. ``cutoff`` is the last day counted (inclusive).
    """

    teams: pd.DataFrame
    people: pd.DataFrame
    sessions: pd.DataFrame
    attendance: pd.DataFrame
    milestones: pd.DataFrame
    tickets: pd.DataFrame
    surveys: pd.DataFrame
    config: ProgramConfig
    ledger: Ledger
    cutoff: pd.Timestamp | None
    source: Path | str  # the folder, or the database (URL without password, or .duckdb file name)
    fingerprint: str
    files: dict[str, str] = field(default_factory=dict)
    missing_tables: tuple[str, ...] = ()
    outcome_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # declared tables outside the contract
    # first and last created_at of tickets summed in the database and not fetched (peereval.engine)
    tickets_elsewhere: tuple[pd.Timestamp, pd.Timestamp] | None = None

    def ticket_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last ``created_at`` of every ticket counted (NaT when there are none)."""
        created = self.tickets["created_at"]
        first, last = created.min(), created.max()
        if self.tickets_elsewhere is not None:
            first = min(x for x in (first, self.tickets_elsewhere[0]) if pd.notna(x))
            last = max(x for x in (last, self.tickets_elsewhere[1]) if pd.notna(x))
        return first, last

    def provided(self, table: str) -> bool:
        return table not in self.missing_tables

    def table(self, name: str) -> pd.DataFrame:
        """A contract table or a declared outcome table, by name."""
        if name in self.outcome_tables:
            return self.outcome_tables[name]
        return getattr(self, name)

    @property
    def pilot_teams(self) -> pd.DataFrame:
        return self.teams[self.teams["cohort"] == "pilot"]

    def __repr__(self) -> str:
        """One line: source, cutoff, table sizes and rows left out (the tables are attributes)."""
        cutoff = self.cutoff.date().isoformat() if self.cutoff is not None else "none"
        sizes = ", ".join(f"{len(getattr(self, t)):,} {t}" for t in ("people", "sessions", "attendance",
                                                                      "milestones", "tickets", "surveys")
                          if self.provided(t))
        extra = "".join(f", {len(v):,} {k}" for k, v in self.outcome_tables.items())
        left_out = sum(self.ledger.excluded(t) for t in self.ledger.rows_read)
        name = self.source.name if isinstance(self.source, Path) else self.source
        return (f"CohortData({name}, cutoff {cutoff}: {len(self.teams)} teams "
                f"({len(self.pilot_teams)} pilot), {sizes}{extra}; {left_out:,} rows left out, see .ledger)")


def _rate(rows: int, seconds: float) -> str:
    """'10,200,000 rows in 4.1 s (2,490,000 rows/s)'."""
    speed = f" ({rows / seconds:,.0f} rows/s)" if seconds > 0.05 else ""
    return f"{rows:,} rows in {seconds:.1f} s{speed}"


def parse_cutoff(cutoff) -> pd.Timestamp | None:
    """The cutoff as a naive day (offsets converted to UTC); a DataError naming the fix when it is not a date."""
    if cutoff is None:
        return None
    try:
        ts = pd.Timestamp(cutoff)
    except (ValueError, TypeError):
        raise DataError([Problem("cutoff", f"'{cutoff}' is not a date", "give the cutoff as YYYY-MM-DD")]) from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def load(path: str | Path, cutoff=None, *, strict: bool = False,
         config: ProgramConfig | None = None, config_file: str | Path | None = None,
         progress: Callable[[str], None] | None = None) -> CohortData:
    """Load and validate a data folder, a DuckDB file or a PostgreSQL database (URL).

    A database holds one table per export, named as in the data contract (see
    :mod:`peereval.data.database`); ``config_file`` is program.toml (for a folder it defaults
    to the one inside it; a database may hold it in a ``program`` table instead). ``progress(message)``
    is told each table's rows and read speed as it is read, and when the checks are done.

    ``cutoff`` (inclusive last day, e.g. the end of the report month) drops nothing silently:
    later rows are counted as "after cutoff", and tickets resolved after it count as still open.
    Raises :class:`~peereval.errors.DataError` listing every problem at once.
    ``strict`` turns every implausible-row exclusion into a problem.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> data.ledger.to_dict()["tickets"]["excluded"]
        {'ticket type not counted (only bug)': 1377}
    """
    return load_from(open_source(path, config_file), cutoff, strict=strict, config=config, progress=progress)


def load_from(source, cutoff=None, *, strict: bool = False, config: ProgramConfig | None = None,
              progress: Callable[[str], None] | None = None) -> CohortData:
    """:func:`load` from an open source (``peereval.data.sources``), which is closed at the end."""
    try:
        return _load(source, cutoff, strict, config, progress or (lambda _: None))
    finally:
        source.close()
        pyarrow.default_memory_pool().release_unused()  # Arrow keeps freed pages for itself otherwise (~0.7 GB at 10M)


def _load(source, cutoff, strict: bool, config: ProgramConfig | None, progress: Callable[[str], None]) -> CohortData:
    cfg = source.config() if config is None else config
    cut = parse_cutoff(cutoff)
    extra = outcome_tables.specs(cfg.outcomes)
    all_specs = {**TABLES, **extra}
    files, problems = source.find(extra)
    out = Collector()
    out.problems.extend(problems)
    out.problems.extend(outcome_tables.contract_column_problems(cfg.outcomes))
    raws: dict[str, RawTable] = {}
    ambiguous = {t for t in all_specs for p in problems if p.what.startswith(f"several files for table '{t}'")}
    for name, spec in all_specs.items():
        if name not in files:
            if spec.required and name not in ambiguous:
                out.problems.append(source.missing(name))
            continue
        started = time.perf_counter()
        raw, probs = source.read(name, files[name], all_specs[name])
        out.problems.extend(probs)
        if raw is not None:
            raws[name] = raw
            out.rows_read[name] = len(raw.frame) + source.rows_elsewhere(name)
            progress(f"read {name}: {_rate(len(raw.frame), time.perf_counter() - started)}")
    started = time.perf_counter()
    total = sum(out.rows_read.values())
    typed: dict[str, pd.DataFrame] = {}
    for name, raw in raws.items():
        spec = all_specs[name]
        if spec.required and raw.frame.empty:
            out.problems.append(Problem(raw.file, "has a header but no rows", f"export the {name} table with its rows"))
            continue
        raw = raws[name] = drop_header_rows(raw, spec, out)
        if spec.key and spec.key in raw.frame.columns:
            # an exact repeat (an HR re-export listing a person twice) is harmless: counted, not fatal
            raw = raws[name] = dataclasses.replace(raw, frame=exclude_duplicate_rows(raw.frame, name, raw.file, out,
                                                                                 key=spec.key))
            check_unique(raw.frame, spec.key, raw.file, out)
        frame = type_table(raw, spec, out, rows_are_design=(name == "teams"), keep_codes=name not in _LINKED)
        if frame is not None:
            typed[name] = frame
    if out.problems:
        raise DataError(relabel(out.problems, raws))

    _check_design(typed, raws, out)
    _link_tables(typed, raws, out)
    _link_outcome_tables(typed, raws, outcome_tables.links(cfg.outcomes), out)
    _apply_scope(typed, raws, cfg, cut, out)
    _check_limits(raws, out, strict)
    if out.problems:
        raise DataError(relabel(out.problems, raws))
    progress(f"checked {_rate(total, time.perf_counter() - started)}")

    ledger = Ledger(rows_read=dict(out.rows_read), exclusions=tuple(out.exclusions), notes=tuple(out.notes))
    tables = {}
    for name, spec in all_specs.items():
        frame = typed.get(name, empty_table(spec))
        if ROW in frame.columns:
            frame = frame.copy(deep=False)  # a new frame on the same columns: no copy of 10M rows
            del frame[ROW]
        frame.index = pd.RangeIndex(len(frame))
        tables[name] = _public(frame, spec)
    return CohortData(
        **{n: tables[n] for n in TABLES}, config=cfg, ledger=ledger, cutoff=cut, source=source.root,
        fingerprint=source.fingerprint(files), files=source.describe(files),
        missing_tables=tuple(n for n in all_specs if n not in files),
        outcome_tables={n: tables[n] for n in extra},
    )


_LINKED = ("teams", "people", "sessions")  # other tables refer to their ids


_CATEGORICAL = {"tickets": ("team", "priority", "type")}  # repetitive text of the one big table


def _public(frame: pd.DataFrame, spec) -> pd.DataFrame:
    """Text as Python strings (None when blank), as analyses expect, with two exceptions whatever
    the source: the ids of a table that nothing refers to (ticket_id: 10 million of them) stay
    Arrow strings, and the tickets' team, priority and type are Categoricals (sorted categories)."""
    arrow_key = spec.key if spec.key and spec.name not in _LINKED else None
    categorical = _CATEGORICAL.get(spec.name, ())
    for c in frame.columns:
        if c == arrow_key:
            if not is_arrow_text(frame[c]):
                frame[c] = to_objects(frame[c]).astype(pd.StringDtype("pyarrow"))
        elif c in categorical:
            frame[c] = sorted_categorical(frame[c])
        elif is_arrow_text(frame[c]) or isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = to_objects(frame[c])
    return frame


def _check_design(typed: dict[str, pd.DataFrame], raws: dict[str, RawTable], out: Collector) -> None:
    teams = typed["teams"]
    file = raws["teams"].file
    no_start = (teams["cohort"] == "pilot") & teams["pilot_start"].isna()
    for r, t in zip(teams.loc[no_start, ROW], teams.loc[no_start, "team"], strict=True):
        out.problems.append(Problem(file, f"pilot team '{t}' has no pilot_start", "enter the date the team started the program",
                                    column="pilot_start", row=int(r)))
    ctl_start = (teams["cohort"] == "control") & teams["pilot_start"].notna()
    for r, t in zip(teams.loc[ctl_start, ROW], teams.loc[ctl_start, "team"], strict=True):
        out.problems.append(Problem(file, f"control team '{t}' has a pilot_start",
                                    "leave pilot_start empty for control teams, or set cohort to 'pilot'",
                                    column="pilot_start", row=int(r)))


def _link_tables(typed: dict[str, pd.DataFrame], raws: dict[str, RawTable], out: Collector) -> None:
    """Row rules needing another table, then references between tables (in dependency order)."""
    def raw_ids(table: str, column: str) -> set:
        return set(as_text(raws[table].frame[column]).dropna()) if table in raws else set()

    team_ids = raw_ids("teams", "team")
    kept_teams = _kept_ids(typed, raws, "teams", "team")
    people = typed["people"]
    people = check_reference(people, "team", raws["people"].file, team_ids, kept_teams, "teams", out, "people")
    typed["people"] = people
    person_ids, kept_people = raw_ids("people", "person_id"), _kept_ids(typed, raws, "people", "person_id")

    for table in ("sessions", "attendance", "milestones", "tickets", "surveys"):
        if table not in typed:
            continue
        df, file = typed[table], raws[table].file
        if table == "sessions":
            df = check_reference(df, "facilitator_id", file, person_ids, kept_people, "people", out, table)
            if "team" in df.columns:
                df = check_reference(df, "team", file, team_ids, kept_teams, "teams", out, table)
                fallback = df["facilitator_id"].map(people.set_index("person_id")["team"])
                df = df.assign(team=df["team"].fillna(fallback))
            else:
                df = df.assign(team=df["facilitator_id"].map(people.set_index("person_id")["team"]))
        elif table == "attendance":
            if "sessions" not in raws:
                out.problems.append(Problem(file, "attendance needs the sessions table", "add sessions.csv"))
                continue
            df = check_reference(df, "session_id", file, raw_ids("sessions", "session_id"),
                                 _kept_ids(typed, raws, "sessions", "session_id"), "sessions", out, table)
            df = check_reference(df, "person_id", file, person_ids, kept_people, "people", out, table)
            dup = df.duplicated(["session_id", "person_id"], keep="first")
            df = out.exclude(table, file, df, dup, "duplicate invitation (same session and person)",
                             column="person_id", fix="list each invited person once per session")
        elif table == "tickets":
            df = check_reference(df, "team", file, team_ids, kept_teams, "teams", out, table)
        else:
            df = check_reference(df, "person_id", file, person_ids, kept_people, "people", out, table)
            if table == "surveys" and "question" in df.columns:  # without questions, equal rows may be two answers
                df = exclude_duplicate_rows(df, table, file, out)
            if table == "milestones":
                df = df.assign(hire_date=to_objects(df["person_id"]).map(people.set_index("person_id")["hire_date"]))
        df = apply_row_rules(df, TABLES[table], file, out)
        typed[table] = df.drop(columns="hire_date") if "hire_date" in df.columns else df  # (drop copies)


def _kept_ids(typed: dict[str, pd.DataFrame], raws: dict[str, RawTable], table: str, column: str) -> pd.Index | None:
    """The ids of ``table``'s rows still in, or None when every row read is (the typed table holds a
    subset of the rows read, each id as read: as many rows means every id is there)."""
    if table not in typed:
        return pd.Index([])
    if len(typed[table]) == len(raws[table].frame):
        return None
    return pd.Index(typed[table][column])


def _link_outcome_tables(typed: dict[str, pd.DataFrame], raws: dict[str, RawTable],
                         links: dict[str, list[tuple[str, str]]], out: Collector) -> None:
    """Each declared outcome table's rows must point at people or teams that exist."""
    for table, pairs in links.items():
        if table not in typed:
            continue
        df, file = typed[table], raws[table].file
        for column, target in pairs:
            key = "person_id" if target == "people" else "team"
            known = set(as_text(raws[target].frame[key]).dropna()) if target in raws else set()
            df = check_reference(df, column, file, known, _kept_ids(typed, raws, target, key), target, out, table)
        typed[table] = df


AFTER_CUTOFF = "after cutoff"  # scope reason of rows dated after the cutoff
RESOLVED_LATE = "resolved after cutoff: counted as still open"  # note on tickets resolved after it


def type_not_counted(types) -> str:
    """The scope reason of tickets whose type is not one of the program's ``ticket_types``."""
    return f"ticket type not counted (only {', '.join(types)})"


def _apply_scope(typed: dict[str, pd.DataFrame], raws: dict[str, RawTable], cfg: ProgramConfig,
                 cut: pd.Timestamp | None, out: Collector) -> None:
    """Rows that are fine but not counted in this report: after the cutoff, other types/milestones.

    Each table's rows are taken once, after all its reasons (each counted among the rows the
    earlier ones kept); a table whose kept ids another one needs is taken first.
    """
    end = None if cut is None else cut + pd.Timedelta(days=1)
    date_col = {"people": "hire_date", "sessions": "date", "milestones": "date", "tickets": "created_at", "surveys": "date"}
    rows = {t: RowFilter(out, t, raws[t].file, typed[t]) for t in typed if t in TABLES}

    def kept(table: str) -> pd.DataFrame:
        typed[table] = rows[table].frame()
        rows[table] = RowFilter(out, table, raws[table].file, typed[table])
        return typed[table]

    if "milestones" in rows:
        m = rows["milestones"].df
        named = sorted({o.milestone for o in cfg.outcomes if o.kind == "milestone" and o.table == "milestones"})
        rows["milestones"].exclude(~lower_in(m["milestone"], [n.lower() for n in named]),
                                   f"other milestone (not {', '.join(repr(n) for n in named) or 'declared'})",
                                   kind="scope", column="milestone")
    if "tickets" in rows and "type" in rows["tickets"].df.columns:
        t = rows["tickets"].df
        counted = t["type"].isna().to_numpy() | lower_in(t["type"], [x.lower() for x in cfg.ticket_types])
        rows["tickets"].exclude(~counted, type_not_counted(cfg.ticket_types),
                                kind="scope", column="type")
    if "surveys" in rows:
        rows["surveys"].exclude(rows["surveys"].df["score"].isna().to_numpy(), "no score given (question skipped)",
                                kind="scope", column="score")
    if end is not None:
        for table, col in date_col.items():
            if table in rows:
                rows[table].exclude((rows[table].df[col] >= end).to_numpy(), AFTER_CUTOFF, kind="scope", column=col)
        if "people" in rows:
            people = pd.Index(kept("people")["person_id"])
            for table in ("attendance", "milestones", "surveys"):
                if table in rows:
                    rows[table].exclude(~isin(rows[table].df["person_id"], people).to_numpy(dtype=bool),
                                        "person hired after cutoff", kind="scope", column="person_id")
        if "sessions" in rows and "attendance" in rows:
            sessions = kept("sessions")["session_id"]
            rows["attendance"].exclude(~isin(rows["attendance"].df["session_id"], sessions).to_numpy(dtype=bool),
                                       "session after cutoff", kind="scope", column="session_id")
    for table in rows:
        typed[table] = rows[table].frame()
    if end is not None and "tickets" in typed:
        t = typed["tickets"]
        late = (t["resolved_at"] >= end).to_numpy()
        out.note("tickets", RESOLVED_LATE, int(late.sum()))
        if late.any():
            t = typed["tickets"] = t.copy(deep=False)  # a new frame on the same columns, one column replaced
            t["resolved_at"] = t["resolved_at"].mask(late)


def _check_limits(raws: dict[str, RawTable], out: Collector, strict: bool) -> None:
    for name, raw in raws.items():
        invalid = [e for e in out.exclusions if e.table == name and e.kind == "invalid"]
        n_bad = sum(e.count for e in invalid)
        if not n_bad:
            continue
        if strict:
            for e in invalid:
                out.problem_rows(raw.file, e.rows, e.column, f"{e.reason} (--strict allows no exclusions)", e.fix)
            continue
        n = out.rows_read.get(name, 0)
        if n and n_bad / n > MAX_INVALID_SHARE:
            worst = max(invalid, key=lambda e: e.count)
            example = f"{raw.file}:{worst.rows[0]}"
            out.problems.append(Problem(
                raw.file,
                f"{n_bad} of {n} rows ({n_bad / n:.1%}) are implausible and would be excluded — more than the "
                f"{MAX_INVALID_SHARE:.0%} allowed (most often: {worst.reason}, {worst.count} rows, e.g. {example})",
                worst.fix or "check the export", column=worst.column))
