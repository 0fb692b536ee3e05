"""Cells of rows (e.g. team x period x priority) by integer codes: the numbers ``groupby(...).agg`` gives, faster.

Grouping millions of rows with pandas factorizes every key again and copies the rows selected by
a mask; here each key is turned into codes once (a Categorical's own codes), the codes are
combined into one integer, and counts and sums are ``np.bincount`` over it. The result has the
keys in sorted order (a Categorical's category order, otherwise sorted values) with their
original dtypes, as ``groupby(keys, sort=True, observed=True, as_index=False)`` returns them.
``tests/test_cells.py`` compares the two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.estimate.twfe import sorted_codes

_DENSE_LIMIT = 50_000_000  # combined codes up to this size are counted densely


def _codes(values: pd.Series) -> tuple[np.ndarray, object, int]:
    """Integer codes (-1 = missing), how to turn codes back into values, and the number of levels.

    Codes keep the narrowest integer type they come in (a Categorical's int8 codes stay int8):
    at millions of rows every wider copy costs time and memory.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.dtype, len(values.cat.categories)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu" and len(values):  # e.g. periods
        v = values.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 1_000_000:  # codes are offsets; levels no row has are never cells
            if -(2**31) <= lo and hi < 2**31:  # the values fit int32: subtract there (one narrow array)
                codes = np.subtract(v, lo, dtype=np.int32, casting="unsafe")
            else:
                codes = (v - v.dtype.type(lo)).astype(np.int32)
            return codes, np.arange(lo, hi + 1).astype(v.dtype), hi - lo + 1
    codes, uniques = sorted_codes(values)
    return codes, uniques, len(uniques)


def _decode(codes: np.ndarray, how) -> object:
    if isinstance(how, pd.CategoricalDtype):
        return pd.Categorical.from_codes(codes, dtype=how)
    return how[codes] if isinstance(how, np.ndarray) else how.take(codes)


def cell_table(rows: pd.DataFrame, keys: list[str], *, mask: np.ndarray | None = None,
               sums: dict[str, np.ndarray] | None = None, constant: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per cell of ``rows[mask]`` by ``keys``: the keys, ``size`` (rows), each ``sums`` total, ``constant`` columns.

    ``sums`` maps an output name to a per-row array (of all rows; the mask is applied). A
    ``constant`` column must hold one value per cell (e.g. a team's cohort); it is taken from
    the cell's rows, and a column that varies within a cell raises ValueError (as do keys with
    more than 2^62 combinations). Rows with a missing key are left out, as groupby does.
    """
    n = len(rows)
    keep = np.ones(n, dtype=bool) if mask is None else np.array(mask, dtype=bool)
    coded = [_codes(rows[k]) for k in keys]
    sizes = [max(size, 1) for _, _, size in coded]
    if float(np.prod(sizes, dtype=np.float64)) >= 2.0**62:
        raise ValueError(f"too many combinations of {keys} for one integer code")  # callers fall back to groupby
    combined = np.zeros(n, dtype=np.int64)
    for (codes, _, _), size in zip(coded, sizes, strict=True):
        combined *= size  # in place: one array of n codes however many keys
        combined += codes
        if len(codes) and codes.min() < 0:
            keep &= codes >= 0
    total = int(np.prod(sizes, dtype=np.float64))
    combined[~keep] = total  # rows left out share one extra bin, dropped at the end: no compacting copies
    if total <= _DENSE_LIMIT:
        present = np.flatnonzero(np.bincount(combined, minlength=total + 1)[:total])
        slot = np.full(total + 1, len(present), dtype=np.int32 if len(present) < 2**31 - 1 else np.int64)
        slot[present] = np.arange(len(present))
        cell = slot[combined]
    else:
        present, cell = np.unique(combined, return_inverse=True)
        cell = cell.reshape(-1)
        present = present[present < total]
    del combined
    m = len(present)
    out: dict[str, object] = {}
    rest = present.copy()
    decoded = []
    for (_, how, _), size in zip(reversed(coded), reversed(sizes), strict=True):
        decoded.append(_decode(rest % size, how))
        rest //= size
    for k, values in zip(keys, reversed(decoded), strict=True):
        out[k] = values
    out["size"] = np.bincount(cell, minlength=m + 1)[:m]
    for name, values in (sums or {}).items():
        out[name] = np.bincount(cell, weights=np.asarray(values, dtype=float), minlength=m + 1)[:m].astype(float)
    for name in constant:
        out[name] = _constant(rows[name], cell, m, f"column {name!r} varies within a cell of {keys}")
    return pd.DataFrame(out)


def _constant(col: pd.Series, cell: np.ndarray, m: int, varies: str) -> object:
    """The one value of ``col`` in each of the ``m`` cells (rows in cell ``m`` are left out), else ValueError.

    Each cell's smallest and largest value (as integers: a Categorical's codes, a date's
    nanoseconds, text's factorized codes with -1 for blanks) must be equal.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        values = col.cat.codes.to_numpy()
        rebuild = lambda c: pd.Categorical.from_codes(c, dtype=col.dtype)  # noqa: E731
    elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "biumM":
        raw = col.to_numpy()
        values = raw.view(np.int64) if raw.dtype.kind in "mM" else raw.view(np.uint8) if raw.dtype.kind == "b" else raw
        rebuild = lambda c: c.view(raw.dtype)  # noqa: E731
    else:  # text, floats (NaN equals NaN), extension types: by codes of equal values
        values, uniques = pd.factorize(col.to_numpy() if isinstance(col.dtype, np.dtype) else col.array)
        rebuild = lambda c: pd.api.extensions.take(uniques, c, allow_fill=True)  # noqa: E731
    info = np.iinfo(values.dtype)
    lo, hi = np.full(m + 1, info.max, dtype=values.dtype), np.full(m + 1, info.min, dtype=values.dtype)
    np.minimum.at(lo, cell, values)
    np.maximum.at(hi, cell, values)
    if not np.array_equal(lo[:m], hi[:m]):
        raise ValueError(varies)
    return rebuild(lo[:m])
