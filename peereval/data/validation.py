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
from peereval.errors import Problem

_DAY_FIRST = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:\s|T|$)")
_EXCEL_SERIAL = re.compile(r"^[1-9]\d{4}(?:\.\d+)?$")
_DATE_FIX = "write dates as YYYY-MM-DD (ISO 8601), e.g. 2026-03-31"
# The same patterns for pyarrow.compute (RE2), run on whole columns at once. Python's str.strip()
# and re's \s strip/match exactly these characters, and \d is any Unicode decimal digit (\p{Nd}).
_SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
          "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_RE2_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPACES) + "]"
_RE2_EDGE_SPACE = f"^{_RE2_SPACE}|{_RE2_SPACE}$"
# a time-zone offset or Z at the end; a full calendar date first (year, month, day): no guessing of
# day/month order, no "2026-03" as March 1st
_RE2_TZ_SUFFIX = r"(?:Z|[+-]\p{Nd}{2}:?\p{Nd}{2})$"
_RE2_FULL_DATE = r"^\p{Nd}{4}(?:-\p{Nd}{2}-\p{Nd}{2}|/\p{Nd}{2}/\p{Nd}{2}|\p{Nd}{4})(?:[T ]|$)"
MAX_LISTED = 20  # problems of one kind listed per file before "… and N more"


class Collector:
    """Accumulates problems, exclusions and notes while the tables are checked."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.exclusions: list[Exclusion] = []
        self.notes: list[tuple[str, str, int]] = []
        self.rows_read: dict[str, int] = {}

    def exclude(self, table: RawTable | str, file: str, df: pd.DataFrame, mask, reason: str,
                kind: ExclusionKind = "invalid", column: str | None = None, fix: str = "") -> pd.DataFrame:
        name = table if isinstance(table, str) else table.name
        mask = np.asarray(pd.Series(mask, index=df.index).fillna(False), dtype=bool)
        if mask.any():
            rows = tuple(np.asarray(df[ROW].to_numpy()[mask], dtype=np.int64).tolist())
            self.exclusions.append(Exclusion(name, file, reason, kind, rows, column, fix))
            return df.loc[~mask]
        return df

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


def _text_value(v: object) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v).strip()


def _arrow_strings(values: np.ndarray) -> pyarrow.Array | None:
    """An object array of str (None/NaN/NA for missing) as an Arrow string array; None if it holds anything else."""
    try:
        return pyarrow.array(values, type=pyarrow.string(), from_pandas=True)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        return None


def _true(mask) -> np.ndarray:
    """An Arrow boolean result as a writable numpy mask (null counts as False)."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).copy()


def _strip_strings(s: pd.Series) -> pd.Series | None:
    """``as_text`` for a column of strings, vectorised: only values with whitespace at an end are touched."""
    values = s.to_numpy(dtype=object)
    arr = _arrow_strings(values)
    if arr is None:
        return None
    out = values.copy()
    edge = np.flatnonzero(_true(pc.match_substring_regex(arr, _RE2_EDGE_SPACE)))
    if edge.size:
        out[edge] = [v.strip() for v in out[edge]]
    blank = ~_true(pc.not_equal(pc.binary_length(arr), 0))
    if edge.size:
        blank[edge] |= out[edge] == ""
    out[blank] = None
    return pd.Series(out, index=s.index, name=s.name, dtype=object)


def is_arrow_text(s: pd.Series) -> bool:
    """True for a column of Arrow strings (how the columnar reader hands over ids)."""
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage != "python"


def arrow_of(s: pd.Series) -> pyarrow.ChunkedArray:
    """The Arrow strings behind an ``is_arrow_text`` column (no copy)."""
    return s.array.__arrow_array__()


def arrow_series(arr: pyarrow.ChunkedArray, like: pd.Series) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=like.index, name=like.name)


def objects(s: pd.Series) -> np.ndarray:
    """A text column's values as an object array, None for missing."""
    return s.to_numpy(dtype=object, na_value=None) if is_arrow_text(s) else s.to_numpy(dtype=object)


def as_text(s: pd.Series) -> pd.Series:
    """Identifiers and free text as stripped strings (None/NA when blank), any source format.

    Arrow strings stay Arrow strings (stripped column-wise); everything else gives Python strings.
    """
    if is_arrow_text(s):
        raw = arrow_of(s)
        arr = pc.utf8_trim(raw, _SPACES)
        lengths = pc.binary_length(arr)
        if pc.sum(lengths).as_py() == pc.sum(pc.binary_length(raw)).as_py() and pc.min(lengths).as_py() != 0:
            return s  # nothing stripped, nothing blank: keep one copy of 10M ids
        return arrow_series(pc.if_else(pc.equal(pc.binary_length(arr), 0), pyarrow.scalar(None, arr.type), arr), s)
    if isinstance(s.dtype, pd.CategoricalDtype):  # each distinct value once, then by code
        cats = as_text(pd.Series(s.cat.categories.to_numpy(dtype=object), dtype=object)).to_numpy(dtype=object)
        values = np.append(cats, np.array([None], dtype=object))
        return pd.Series(values[s.cat.codes.to_numpy()], index=s.index, name=s.name, dtype=object)
    if pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype("Int64").astype(str).astype(object)
        return out.where(s.notna(), None)
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        fast = _strip_strings(s)
        if fast is not None:
            return fast
        out = s.astype(object).str.strip()
    else:
        out = s.astype(object).map(_text_value)
    return out.where(out.notna() & (out != ""), None)


def as_text_codes(s: pd.Series) -> pd.Series:
    """``as_text`` of a Categorical, kept a Categorical: categories stripped and merged, blanks missing.

    >>> as_text_codes(pd.Series([" a", "a", "", "b"], dtype="category")).tolist()
    ['a', 'a', nan, 'b']
    """
    cats = as_text(pd.Series(s.cat.categories.to_numpy(dtype=object), dtype=object)).to_numpy(dtype=object)
    remap, uniques = pd.factorize(cats)  # blank categories -> -1
    if len(uniques) == len(cats) and (remap == np.arange(len(cats))).all():  # nothing to strip or merge
        return s.cat.rename_categories(pd.Index(uniques, dtype=object))
    codes = np.append(remap, -1)[s.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object), validate=False),
                     index=s.index, name=s.name)


def to_objects(s: pd.Series) -> pd.Series:
    """Arrow or Categorical text as a column of Python strings (None when missing), as analyses get it."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        values = np.append(s.cat.categories.to_numpy(dtype=object), None)[s.cat.codes.to_numpy()]
    elif is_arrow_text(s):
        values = objects(s)
    else:
        return s
    return pd.Series(values, index=s.index, name=s.name, dtype=object)


def lower_in(s: pd.Series, allowed) -> np.ndarray:
    """Rows whose text, lower-cased, is one of ``allowed`` (once per distinct value for a Categorical)."""
    allowed = set(allowed)
    if isinstance(s.dtype, pd.CategoricalDtype):
        hit = np.array([c.lower() in allowed for c in s.cat.categories.astype(str)] + [False])
        return hit[s.cat.codes.to_numpy()]
    return s.str.lower().isin(allowed).to_numpy(dtype=bool)


def as_datetime(s: pd.Series, text: pd.Series | None = None) -> tuple[pd.Series, int]:
    """Dates/date-times as naive timestamps (offsets converted to UTC); also count offset values.

    ``text``: ``as_text(s)`` when the caller has it already.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]"), int(s.notna().sum())
        return s.astype("datetime64[ns]", copy=False), 0
    text = as_text(s) if text is None else text
    arr = arrow_of(text) if is_arrow_text(text) else _arrow_strings(text.to_numpy(dtype=object))  # str/None only
    plain = _plain_iso(arr, text.index)
    if plain is not None:
        return plain, 0
    tz = _true(pc.match_substring_regex(arr, _RE2_TZ_SUFFIX))
    n_tz = int(tz.sum())
    full = _true(pc.match_substring_regex(arr, _RE2_FULL_DATE))
    text = text.where(full, None)
    # naive and offset values are parsed apart: pandas would otherwise apply an earlier row's offset
    # to the naive values after it (order-dependent, silently shifted times)
    aware = pd.Series(full & tz, index=text.index)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if (text.notna() & ~aware).any():
        naive = pd.to_datetime(text[~aware], format="ISO8601", errors="coerce", utc=True)
        parsed[~aware] = naive.dt.tz_localize(None).astype("datetime64[ns]")
    if aware.any():
        shifted = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
        parsed[aware] = shifted.dt.tz_localize(None).astype("datetime64[ns]")
    return parsed, n_tz


_RE2_PLAIN_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2})?$"
_NS_RANGE = (pd.Timestamp("1678-01-01").value // 10**9, pd.Timestamp("2262-01-01").value // 10**9)


def _plain_iso(arr, index: pd.Index) -> pd.Series | None:
    """When every value is 'YYYY-MM-DD' or 'YYYY-MM-DD[T ]hh:mm:ss' (no offset, a real date, years
    1678-2261): the values parsed by Arrow in one pass, as pandas parses them; else None.

    >>> _plain_iso(pyarrow.array(["2026-03-01 10:00:00", None, "2026-03-02"]), pd.RangeIndex(3)).tolist()
    [Timestamp('2026-03-01 10:00:00'), NaT, Timestamp('2026-03-02 00:00:00')]
    >>> _plain_iso(pyarrow.array(["2026-02-30"]), pd.RangeIndex(1)) is None  # not a date: the careful way
    True
    """
    if len(arr) == arr.null_count or pc.sum(pc.match_substring_regex(arr, _RE2_PLAIN_ISO)).as_py() != (
            len(arr) - arr.null_count):
        return None
    try:
        seconds = pc.cast(arr, pyarrow.timestamp("s"))
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        return None
    low, high = pc.min_max(seconds.cast(pyarrow.int64())).values()
    if low.as_py() < _NS_RANGE[0] or high.as_py() >= _NS_RANGE[1]:
        return None
    values = seconds.cast(pyarrow.timestamp("ns")).to_numpy(zero_copy_only=False)
    return pd.Series(values, index=index, dtype="datetime64[ns]")


def as_number(s: pd.Series, text: pd.Series | None = None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    text = as_text(s) if text is None else text
    return pd.to_numeric(pd.Series(objects(text), index=text.index), errors="coerce").astype("float64")


def date_fix(values) -> str:
    """How to fix unparseable dates, naming the likely cause seen in ``values``."""
    shown = [str(v).strip() for v in values if v is not None and str(v).strip()]
    day_first = next((v for v in shown if _DAY_FIRST.match(v)), None)
    if day_first:
        return (f"{_DATE_FIX} ('{day_first[:20]}' could be day/month or month/day, so it is never guessed: "
                "export the column in ISO format)")
    serial = next((v for v in shown if _EXCEL_SERIAL.match(v)), None)
    if serial:
        return f"{_DATE_FIX} ('{serial}' looks like an Excel day number: format the column as a date before exporting)"
    partial = next((v for v in shown if re.match(r"^\d{4}(-\d{1,2})?$", v)), None)
    if partial:
        return f"{_DATE_FIX} ('{partial}' is not a full date: give year, month and day)"
    return _DATE_FIX


def _lower_choices(text: pd.Series, choices: tuple[str, ...]) -> pd.Series:
    """Lower-cased choice values, ``"\\0invalid"`` for anything else (None stays None); one pass per distinct value."""
    codes, uniques = pd.factorize(objects(text))
    lowered = np.array([u.lower() for u in uniques] + [None], dtype=object)
    allowed = np.array([v in choices for v in lowered[:-1]] + [True])
    values = np.where(allowed[codes], lowered[codes], "\0invalid").astype(object)
    return pd.Series(values, index=text.index, name=text.name, dtype=object)


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
            values = _lower_choices(text, col.choices)
        else:
            values = text
        invalid = (~blank) & values.isna().to_numpy()
        if col.kind == "choice":
            invalid |= (values == "\0invalid").to_numpy()
            values = values.where(values != "\0invalid", None)
        columns[name] = values
        bad_masks.append((col, blank, invalid))
    typed = pd.DataFrame(columns, index=df.index)
    for col, blank, invalid in bad_masks:
        if not col.blank_ok and blank.any():
            what, fix = f"missing {col.name}", f"fill in {col.name}"
            if rows_are_design:
                out.problem_rows(raw.file, df.loc[blank, ROW], col.name, "value is missing", fix)
            else:
                typed = out.exclude(spec.name, raw.file, typed, pd.Series(blank, index=df.index).reindex(typed.index),
                                    what, column=col.name, fix=fix)
        if invalid.any():
            bad_values = as_text(df.loc[invalid, col.name])
            what, fix = _column_problem(spec, col, bad_values.head(50))
            if rows_are_design:
                shown = bad_values.astype(str).str.slice(0, 40)
                for r, v, raw_v in list(zip(df.loc[invalid, ROW], shown, bad_values, strict=True))[:MAX_LISTED]:
                    one_fix = _column_problem(spec, col, [raw_v])[1]
                    out.problems.append(Problem(raw.file, f"'{v}': {what}", one_fix, column=col.name, row=int(r)))
            else:
                typed = out.exclude(spec.name, raw.file, typed, pd.Series(invalid, index=df.index).reindex(typed.index),
                                    what, column=col.name, fix=fix)
    return typed


def _header_pattern(name: str) -> str:
    """RE2 pattern every value that normalises to the ASCII column ``name`` matches (case-insensitively)."""
    body = "".join(f"(?:_|(?:{_RE2_SPACE}|-)+)" if c == "_" else re.escape(c) for c in name)
    return f"^{_RE2_SPACE}*\\x{{feff}}*{body}{_RE2_SPACE}*$"


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
        arr = _arrow_strings(s.to_numpy(dtype=object))
        if arr is None:  # mixed values (e.g. from Excel): compare their text
            arr = _arrow_strings(s.astype(str).to_numpy(dtype=object))
    hit = np.zeros(len(s), dtype=bool)
    at = None
    if name.isascii():  # one regex match first (no new strings): the few candidates get the full rule
        maybe = _true(pc.match_substring_regex(arr, _header_pattern(name), ignore_case=True))
        at = np.flatnonzero(maybe)
        arr = arr.filter(pyarrow.array(maybe))
    norm = pc.utf8_ltrim(pc.utf8_lower(pc.utf8_trim(arr, _SPACES)), "\ufeff")
    norm = pc.replace_substring_regex(norm, f"(?:{_RE2_SPACE}|-)+", "_")
    for i in np.flatnonzero(_true(pc.equal(norm, name))):  # confirm with the exact Python rule
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


def isin(s: pd.Series, pool) -> pd.Series:
    """``s.isin(pool)`` (``pool`` holds no missing values); for Arrow strings by ``pyarrow.compute.is_in``
    (pandas converts each pool value), for a Categorical once per category."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        hit = isin(pd.Series(s.cat.categories.to_numpy(dtype=object), dtype=object), pool).to_numpy(dtype=bool)
        return pd.Series(np.append(hit, False)[s.cat.codes.to_numpy()], index=s.index)
    if not is_arrow_text(s):
        return s.isin(pool)
    if isinstance(pool, pd.Index | pd.Series) and is_arrow_text(pd.Series(pool.array[:0])):
        items = pool.array.__arrow_array__().combine_chunks()  # already Arrow strings: no Python loop
    else:
        items = pyarrow.array([v for v in pool if isinstance(v, str)], type=pyarrow.string())
    return pd.Series(_true(pc.is_in(arrow_of(s), value_set=items)), index=s.index)


def check_reference(df: pd.DataFrame, column: str, file: str, known_raw: set, kept: pd.Index,
                    target: str, out: Collector, table: str, *, blank_ok: bool = False) -> pd.DataFrame:
    """Unknown references are problems; references to rows excluded elsewhere are exclusions."""
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
    orphan = present & ~unknown & ~isin(values, kept)
    return out.exclude(table, file, df, orphan, f"refers to an excluded row of {target}", kind="linked", column=column,
                       fix=f"fix the excluded row in {target} (see the ledger)")
