"""Turning raw exports into typed tables.

Two outcomes for anything wrong: a *problem* (the folder cannot be used until it is fixed) or an
*exclusion* (the row is left out and counted in the ledger with its reason).
"""

from __future__ import annotations

import dataclasses
import difflib
import re

import numpy as np
import pandas as pd
import pyarrow as pyarrow
import pyarrow.compute as pc

from peereval.data.contract import ColumnSpec, TableSpec
from peereval.data.ledger import Exclusion, ExclusionKind
from peereval.data.reading import ROW, RawTable, normalise_column
from peereval.data.values import (
    RE2_SPACE,
    SPACES,
    arrow_of,
    arrow_strings,
    as_datetime,
    as_number,
    as_text,
    as_text_codes,
    date_fix,
    is_arrow_text,
    isin,
    lower_choices,
    true_mask,
)
from peereval.errors import Problem

MAX_LISTED = 20  # problems of one kind listed per file before "… and N more"


def keep_rows(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``df.loc[keep]`` for a boolean ``keep``, column by column: Arrow columns filtered by Arrow,
    no consolidation of blocks (about a third of ``loc``'s time on 10 million tickets).

    >>> keep_rows(pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]}), np.array([True, False, True]))
       a  b
    0  1  x
    2  3  z
    """
    index = df.index[keep]
    columns = {c: pd.Series(s.array[keep], index=index, name=c, copy=False) for c, s in df.items()}
    return pd.DataFrame(columns, index=index, columns=df.columns, copy=False)


def _mask(mask, index: pd.Index) -> np.ndarray:
    """A boolean row mask (missing counts as False); a Series is aligned on ``index`` by label."""
    if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (len(index),):
        return mask
    return np.asarray(pd.Series(mask, index=index).fillna(False), dtype=bool)


class RowFilter:
    """Exclusions from one frame, each counted among the rows the earlier ones kept (as
    ``Collector.exclude`` one after another counts them), the rows taken once: ``frame()``."""

    def __init__(self, out: Collector, table: RawTable | str, file: str, df: pd.DataFrame) -> None:
        self.out, self.name, self.file, self.df = out, table if isinstance(table, str) else table.name, file, df
        self.alive = np.ones(len(df), dtype=bool)

    def exclude(self, mask, reason: str, kind: ExclusionKind = "invalid", column: str | None = None,
                fix: str = "") -> None:
        """Leave out the rows of ``mask`` (over all of ``df``'s rows) that are still in."""
        mask = _mask(mask, self.df.index) & self.alive
        if mask.any():
            rows = tuple(np.asarray(self.df[ROW].to_numpy()[mask], dtype=np.int64).tolist())
            self.out.exclusions.append(Exclusion(self.name, self.file, reason, kind, rows, column, fix))
            self.alive &= ~mask

    def frame(self) -> pd.DataFrame:
        """The rows still in (``df`` itself when none was left out)."""
        return self.df if self.alive.all() else keep_rows(self.df, self.alive)


class Collector:
    """Accumulates problems, exclusions and notes while the tables are checked."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.exclusions: list[Exclusion] = []
        self.notes: list[tuple[str, str, int]] = []
        self.rows_read: dict[str, int] = {}

    def exclude(self, table: RawTable | str, file: str, df: pd.DataFrame, mask, reason: str,
                kind: ExclusionKind = "invalid", column: str | None = None, fix: str = "") -> pd.DataFrame:
        """``df`` without the rows of ``mask``, which are counted in the ledger with ``reason``."""
        rows = RowFilter(self, table, file, df)
        rows.exclude(mask, reason, kind, column, fix)
        return rows.frame()

    def note(self, table: str, note: str, count: int) -> None:
        if count:
            self.notes.append((table, note, int(count)))

    def problem_rows(self, file: str, rows, column: str | None, what: str, fix: str) -> None:
        """One problem per offending row, at most MAX_LISTED, then a count of the rest."""
        rows = list(rows)
        for r in rows[:MAX_LISTED]:
            self.problems.append(Problem(file, what, fix, column=column, row=int(r)))
        if len(rows) > MAX_LISTED:
            self.problems.append(Problem(file, f"{what}: {len(rows) - MAX_LISTED} more rows like the above",
                                         fix, column=column))


def _column_problem(spec: TableSpec, col: ColumnSpec, values=()) -> tuple[str, str]:
    if col.kind == "date":
        return f"unparseable date in {col.name}", date_fix(values)
    if col.kind == "number":
        return f"not a number in {col.name}", f"write {col.name} as a plain number, e.g. 45"
    if col.kind == "choice":
        allowed = " or ".join(f"'{c}'" for c in col.choices)
        return f"{col.name} is not {allowed}", f"use {allowed}"
    return f"missing {col.name}", f"fill in {col.name}"


def type_table(raw: RawTable, spec: TableSpec, out: Collector, *, rows_are_design: bool,
               keep_codes: bool = False) -> pd.DataFrame | None:
    """Check the columns, parse the values, and exclude (or, for design tables, report) bad cells.

    ``rows_are_design``: a bad row in the teams table changes the study design, so it is a problem
    to fix rather than a row to leave out. ``keep_codes``: text read as a Categorical stays one
    (stripped categories), for the checks after this; ``to_objects`` turns it into strings.
    """
    df = raw.frame
    missing = [c for c in spec.required_columns if c not in df.columns]
    known = {c.name for c in spec.columns} | {ROW}
    unknown = [c for c in df.columns if c not in known and c and not c.startswith("unnamed:")]
    for c in missing:
        close = difflib.get_close_matches(c, unknown, n=1, cutoff=0.6)
        if close:
            fix = f"rename column '{close[0]}' to '{c}' (names are case-insensitive)"
        else:
            found = ", ".join(f"'{x}'" for x in [x for x in df.columns if x != ROW][:12]) or "none"
            fix = (f"add a column named '{c}' (names are case-insensitive; the first line must be the header, "
                   f"found: {found[:200]})")
        if spec.doc.startswith("outcome table"):
            fix += "; or name an existing column in program.toml's [[outcomes]]"
        out.problems.append(Problem(raw.file, "required column is missing", fix, column=c))
    if missing:
        return None
    personal = [c.name for c in spec.columns if c.personal and c.name in df.columns]
    if personal:
        out.note(spec.name, f"personal columns read and dropped ({', '.join(personal)})", len(df))
    keep = [c.name for c in spec.columns if c.name in df.columns and not c.personal]
    columns = {ROW: df[ROW].to_numpy()}
    bad_masks: list[tuple[ColumnSpec, np.ndarray, np.ndarray]] = []
    for name in keep:
        col = spec.column(name)
        raw_col = df[name]
        typed_already = pd.api.types.is_datetime64_any_dtype(raw_col) or (
            col.kind == "number" and raw_col.dtype != object and not isinstance(raw_col.dtype, pd.CategoricalDtype)
            and not pd.api.types.is_string_dtype(raw_col))
        if keep_codes and col.kind in ("id", "text") and isinstance(raw_col.dtype, pd.CategoricalDtype):
            text = as_text_codes(raw_col)
        else:  # a typed column (e.g. from Parquet) needs no text pass
            text = None if typed_already else as_text(raw_col)
        blank = raw_col.isna().to_numpy() if text is None else text.isna().to_numpy()
        if col.kind == "date":
            values, n_tz = as_datetime(raw_col, text)
            out.note(spec.name, f"{name}: times with a time-zone offset converted to UTC", n_tz)
        elif col.kind == "number":
            values = as_number(raw_col, text)
        elif col.kind == "choice":
            values = lower_choices(text, col.choices)
        else:
            values = text
        invalid = (~blank) & values.isna().to_numpy()
        if col.kind == "choice":
            invalid |= (values == "\0invalid").to_numpy()
            values = values.where(values != "\0invalid", None)
        columns[name] = values
        bad_masks.append((col, blank, invalid))
    # the columns themselves, not copies (nothing changes them in place); bad rows are taken out once
    rows = RowFilter(out, spec.name, raw.file, pd.DataFrame(columns, index=df.index, copy=False))
    for col, blank, invalid in bad_masks:
        if not col.blank_ok and blank.any():
            what, fix = f"missing {col.name}", f"fill in {col.name}"
            if rows_are_design:
                out.problem_rows(raw.file, df.loc[blank, ROW], col.name, "value is missing", fix)
            else:
                rows.exclude(blank, what, column=col.name, fix=fix)
        if invalid.any():
            bad_values = as_text(df.loc[invalid, col.name])
            what, fix = _column_problem(spec, col, bad_values.head(50))
            if rows_are_design:
                shown = bad_values.astype(str).str.slice(0, 40)
                for r, v, raw_v in list(zip(df.loc[invalid, ROW], shown, bad_values, strict=True))[:MAX_LISTED]:
                    one_fix = _column_problem(spec, col, [raw_v])[1]
                    out.problems.append(Problem(raw.file, f"'{v}': {what}", one_fix, column=col.name, row=int(r)))
            else:
                rows.exclude(invalid, what, column=col.name, fix=fix)
    return rows.frame()


def _header_pattern(name: str) -> str:
    """RE2 pattern every value that normalises to the ASCII column ``name`` matches (case-insensitively)."""
    body = "".join(f"(?:_|(?:{RE2_SPACE}|-)+)" if c == "_" else re.escape(c) for c in name)
    return f"^{RE2_SPACE}*\\x{{feff}}*{body}{RE2_SPACE}*$"


def _header_hits(s: pd.Series, name: str) -> np.ndarray:
    """Rows whose value reads as the column name ``name`` (``normalise_column(value) == name``), vectorised.

    Numbers, dates and booleans never read as a column name. Text is normalised column-wise with
    pyarrow (same steps as ``normalise_column``) and the few hits are confirmed with it.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        hit = np.array([normalise_column(c) == name for c in s.cat.categories] + [False])
        return hit[s.cat.codes.to_numpy()]
    if s.dtype != object and not pd.api.types.is_string_dtype(s):
        return np.zeros(len(s), dtype=bool)
    if is_arrow_text(s):
        arr = arrow_of(s)
    else:
        arr = arrow_strings(s.to_numpy(dtype=object))
        if arr is None:  # mixed values (e.g. from Excel): compare their text
            arr = arrow_strings(s.astype(str).to_numpy(dtype=object))
    hit = np.zeros(len(s), dtype=bool)
    at = None
    if name.isascii():  # one regex match first (no new strings): the few candidates get the full rule
        maybe = true_mask(pc.match_substring_regex(arr, _header_pattern(name), ignore_case=True))
        at = np.flatnonzero(maybe)
        arr = arr.filter(pyarrow.array(maybe))
    norm = pc.utf8_ltrim(pc.utf8_lower(pc.utf8_trim(arr, SPACES)), "\ufeff")
    norm = pc.replace_substring_regex(norm, f"(?:{RE2_SPACE}|-)+", "_")
    for i in np.flatnonzero(true_mask(pc.equal(norm, name))):  # confirm with the exact Python rule
        hit[i if at is None else at[i]] = normalise_column(arr[int(i)].as_py()) == name
    return hit


def drop_header_rows(raw: RawTable, spec: TableSpec, out: Collector) -> RawTable:
    """Rows that repeat the header (files pasted together) are not data: left out and counted."""
    cols = [c for c in spec.required_columns if c in raw.frame.columns]
    if not cols or raw.frame.empty:
        return raw
    rows = None
    for c in cols:  # each column only where all earlier ones matched: usually one pass over one column
        hits = _header_hits(raw.frame[c] if rows is None else raw.frame[c].iloc[rows], c)
        rows = np.flatnonzero(hits) if rows is None else rows[hits]
        if not rows.size:
            return raw
    mask = np.zeros(len(raw.frame), dtype=bool)
    mask[rows] = True
    frame = out.exclude(spec.name, raw.file, raw.frame, mask, "repeated header row (not data)", kind="scope",
                        fix="remove the header lines repeated inside the file")
    return dataclasses.replace(raw, frame=frame)


def check_reference(df: pd.DataFrame, column: str, file: str, known_raw: set, kept: pd.Index | None,
                    target: str, out: Collector, table: str, *, blank_ok: bool = False) -> pd.DataFrame:
    """Unknown references are problems; references to rows excluded elsewhere are exclusions.

    ``kept``: the ids of the target's rows still in, None when all of them are (then nothing to exclude).
    """
    values = df[column]
    present = values.notna()
    unknown = present & ~isin(values, known_raw)
    if unknown.any():
        for r, v in list(zip(df.loc[unknown, ROW], values[unknown], strict=True))[:MAX_LISTED]:
            out.problems.append(Problem(file, f"'{v}' is not in {target}", f"add it to {target} or correct the id",
                                        column=column, row=int(r)))
        if unknown.sum() > MAX_LISTED:
            out.problems.append(Problem(file, f"{int(unknown.sum()) - MAX_LISTED} more unknown references to {target}",
                                        f"add them to {target} or correct the ids", column=column))
    if kept is None:
        return df
    orphan = present & ~unknown & ~isin(values, kept)
    return out.exclude(table, file, df, orphan, f"refers to an excluded row of {target}", kind="linked", column=column,
                       fix=f"fix the excluded row in {target} (see the ledger)")
