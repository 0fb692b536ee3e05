"""One column's values as text, dates or numbers, column-wise (Arrow strings, Categoricals, objects).

Text is stripped as Python's ``str.strip`` strips it and blanks become missing; dates are parsed
as ISO 8601 only (offsets converted to UTC and counted, day/month order never guessed). Arrow
strings stay Arrow strings and Categoricals are handled once per category, so 10 million ids
never become 10 million Python objects.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

_DAY_FIRST = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:\s|T|$)")
_EXCEL_SERIAL = re.compile(r"^[1-9]\d{4}(?:\.\d+)?$")
_DATE_FIX = "write dates as YYYY-MM-DD (ISO 8601), e.g. 2026-03-31"
# The same patterns for pyarrow.compute (RE2), run on whole columns at once. Python's str.strip()
# and re's \s strip/match exactly these characters, and \d is any Unicode decimal digit (\p{Nd}).
SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
          "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
RE2_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES) + "]"
_RE2_EDGE_SPACE = f"^{RE2_SPACE}|{RE2_SPACE}$"
# a time-zone offset or Z at the end; a full calendar date first (year, month, day): no guessing of
# day/month order, no "2026-03" as March 1st
_RE2_TZ_SUFFIX = r"(?:Z|[+-]\p{Nd}{2}:?\p{Nd}{2})$"
_RE2_FULL_DATE = r"^\p{Nd}{4}(?:-\p{Nd}{2}-\p{Nd}{2}|/\p{Nd}{2}/\p{Nd}{2}|\p{Nd}{4})(?:[T ]|$)"


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


def arrow_strings(values: np.ndarray) -> pyarrow.Array | None:
    """An object array of str (None/NaN/NA for missing) as an Arrow string array; None if it holds anything else."""
    try:
        return pyarrow.array(values, type=pyarrow.string(), from_pandas=True)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        return None


def true_mask(mask) -> np.ndarray:
    """An Arrow boolean result as a writable numpy mask (null counts as False)."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).copy()


def _strip_strings(s: pd.Series) -> pd.Series | None:
    """``as_text`` for a column of strings, vectorised: only values with whitespace at an end are touched."""
    values = s.to_numpy(dtype=object)
    arr = arrow_strings(values)
    if arr is None:
        return None
    out = values.copy()
    edge = np.flatnonzero(true_mask(pc.match_substring_regex(arr, _RE2_EDGE_SPACE)))
    if edge.size:
        out[edge] = [v.strip() for v in out[edge]]
    blank = ~true_mask(pc.not_equal(pc.binary_length(arr), 0))
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
        arr = pc.utf8_trim(raw, SPACES)
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


def sorted_categorical(s: pd.Series) -> pd.Series:
    """Text (Python, Arrow or a Categorical) as a Categorical of the values present, categories sorted.

    The categories are the distinct values (Python strings) in sorted order, none unused, so the
    dtype and codes depend on the values only, not on the reader or on rows dropped since.

    >>> c = sorted_categorical(pd.Series(["b", None, "a", "b"]))
    >>> c.cat.categories.tolist(), c.cat.codes.tolist()
    (['a', 'b'], [1, -1, 0, 1])
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        raw, cats = s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
    elif is_arrow_text(s):
        encoded = pc.dictionary_encode(arrow_of(s)).combine_chunks()
        raw = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        cats = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    else:
        raw, cats = pd.factorize(s.to_numpy(dtype=object))
        cats = np.asarray(cats, dtype=object)
    seen = np.zeros(len(cats) + 1, dtype=bool)
    seen[raw] = True  # (one pass, no temporary; code -1, missing, marks the extra last slot)
    seen = seen[:-1]
    present = cats[seen]
    order = np.argsort(present, kind="stable")
    if (isinstance(s.dtype, pd.CategoricalDtype) and seen.all() and (order == np.arange(len(order))).all()
            and not s.cat.ordered and s.cat.categories.dtype == object):
        return s  # already so: no copy of the codes
    dtype = pd.CategoricalDtype(pd.Index(present[order], dtype=object))
    width = next(t for t in (np.int8, np.int16, np.int32, np.int64) if len(present) < np.iinfo(t).max)
    rank = np.full(len(cats) + 1, -1, dtype=width)  # the codes' final width (as pandas picks it): no second copy
    rank[np.flatnonzero(seen)[order]] = np.arange(len(order))
    codes = rank[raw]  # the last slot: code -1 stays -1
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False), index=s.index, name=s.name)


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
    arr = arrow_of(text) if is_arrow_text(text) else arrow_strings(text.to_numpy(dtype=object))  # str/None only
    plain = _plain_iso(arr, text.index)
    if plain is not None:
        return plain, 0
    tz = true_mask(pc.match_substring_regex(arr, _RE2_TZ_SUFFIX))
    n_tz = int(tz.sum())
    full = true_mask(pc.match_substring_regex(arr, _RE2_FULL_DATE))
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


def lower_choices(text: pd.Series, choices: tuple[str, ...]) -> pd.Series:
    """Lower-cased choice values, ``"\\0invalid"`` for anything else (None stays None); one pass per distinct value."""
    codes, uniques = pd.factorize(objects(text))
    lowered = np.array([u.lower() for u in uniques] + [None], dtype=object)
    allowed = np.array([v in choices for v in lowered[:-1]] + [True])
    values = np.where(allowed[codes], lowered[codes], "\0invalid").astype(object)
    return pd.Series(values, index=text.index, name=text.name, dtype=object)


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
    return pd.Series(true_mask(pc.is_in(arrow_of(s), value_set=items)), index=s.index)
