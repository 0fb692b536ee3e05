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

_DENSE_LIMIT = 50_000_000  # combined codes up to this size are counted densely


def _codes(values: pd.Series) -> tuple[np.ndarray, object, int]:
    """Integer codes (-1 = missing), how to turn codes back into values, and the number of levels."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(np.int64), values.dtype, len(values.cat.categories)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu" and len(values):  # e.g. periods
        v = values.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 1_000_000:  # codes are offsets; levels no row has are never cells
            return v.astype(np.int64) - lo, np.arange(lo, hi + 1).astype(v.dtype), hi - lo + 1
    codes, uniques = pd.factorize(values, sort=values.dtype == object)
    if values.dtype != object:  # e.g. Arrow strings: encoded by Arrow, sorted here (pandas' sort is slow there)
        try:
            order = np.argsort(np.asarray(uniques, dtype=object), kind="stable")
        except TypeError:  # mixed kinds of values: pandas' own sorting
            codes, uniques = pd.factorize(values, sort=True)
        else:
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1) if len(order) else codes
            uniques = uniques.take(order)
    return codes.astype(np.int64, copy=False), uniques, len(uniques)


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
        combined *= size
        combined += codes
        keep &= codes >= 0
    total = int(np.prod(sizes, dtype=np.float64))
    combined[~keep] = total  # rows left out share one extra bin, dropped at the end: no compacting copies
    if total <= _DENSE_LIMIT:
        present = np.flatnonzero(np.bincount(combined, minlength=total + 1)[:total])
        slot = np.full(total + 1, len(present), dtype=np.int64)
        slot[present] = np.arange(len(present))
        cell = slot[combined]
    else:
        present, cell = np.unique(combined, return_inverse=True)
        cell = cell.reshape(-1)
        present = present[present < total]
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
    if constant:
        first = np.full(m + 1, n, dtype=np.int64)
        np.minimum.at(first, cell, np.arange(n))
        first = first[:m]  # the first row of each cell
        at_first = np.append(first, 0)[cell]  # each row's cell's first row (any row for those left out)
        for name in constant:
            col = rows[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                values = col.cat.codes.to_numpy()
            elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "biufmM":
                values = col.to_numpy()
                values = values.view(np.int64) if values.dtype.kind in "mM" else values
            else:  # text: equal objects (one string per team is the common case), else compare codes
                values = col.to_numpy(dtype=object)
            same = np.asarray(values == values[at_first])
            if same.dtype != bool or not np.all(same | ~keep):
                values = values if values.dtype != object else pd.factorize(values)[0]  # blanks are -1
                same = values == values[at_first]
                if values.dtype.kind == "f":
                    same |= np.isnan(values) & np.isnan(values[at_first])
            if not np.all(same | ~keep):
                raise ValueError(f"column {name!r} varies within a cell of {keys}")
            out[name] = col.array.take(first)
    return pd.DataFrame(out)
