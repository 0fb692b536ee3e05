"""Repeated rows and repeated ids, and the contract's row rules, as whole-column operations.

At 10 million tickets, comparing every row with every other (``DataFrame.duplicated`` over all
columns) took longer than reading the file. Two rows can only be identical if their ids are, so
the ids are compared first (one hash per value, ``pd.factorize``) and whole rows only among the
few that share an id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from peereval.data.contract import RULE_HELP, TableSpec
from peereval.data.reading import ROW
from peereval.data.validation import MAX_LISTED, Collector
from peereval.data.values import arrow_of, as_text, is_arrow_text, objects
from peereval.errors import Problem


def repeated(s: pd.Series) -> np.ndarray:
    """Rows whose value occurs more than once (every occurrence; missing values count as one value).

    >>> repeated(pd.Series(["a", "b", "a", None, None, "c"])).tolist()
    [True, False, True, True, True, False]
    """
    if is_arrow_text(s) and len(s) > 1 and not s.hasnans:  # exports are often in id order: then no hashing
        arr = arrow_of(s)
        if pc.all(pc.less(arr.slice(0, len(arr) - 1), arr.slice(1))).as_py():
            return np.zeros(len(s), dtype=bool)
    codes = pd.factorize(s)[0] + 1  # 0 = missing
    return np.bincount(codes, minlength=1)[codes] > 1 if len(codes) else np.zeros(0, dtype=bool)


def exclude_duplicate_rows(df: pd.DataFrame, table: str, file: str, out: Collector,
                           key: str | None = None) -> pd.DataFrame:
    """Identical rows would be counted twice: keep the first, count the rest.

    ``key``: a column every identical pair must share (the table's id): whole rows are then only
    compared among rows whose id repeats.
    """
    cols = [c for c in df.columns if c != ROW]
    if key is None or key not in df.columns:
        dup = df.duplicated(cols, keep="first").to_numpy()
    else:
        candidates = repeated(df[key])
        dup = np.zeros(len(df), dtype=bool)
        if candidates.any():  # the same rows, in the same order: the same first occurrence
            dup[candidates] = df.loc[candidates].duplicated(cols, keep="first").to_numpy()
    return out.exclude(table, file, df, dup, "duplicate row (same values as an earlier row)",
                       fix="remove the repeated rows (was the export pasted twice?)")


def check_unique(raw_df: pd.DataFrame, key: str, file: str, out: Collector) -> None:
    """Duplicate ids are a problem: which row is the real one is the exporter's call."""
    ids = as_text(raw_df[key])
    dup = repeated(ids) & ids.notna().to_numpy()
    if not dup.any():
        return
    sub_ids = pd.Series(objects(ids)[dup], index=raw_df.index[dup])
    rows = raw_df.loc[dup, ROW]
    first_row = rows.groupby(sub_ids).transform("min")
    listed = [(int(r), v, int(f)) for r, v, f in zip(rows, sub_ids, first_row, strict=True) if r != f]
    for r, v, f in listed[:MAX_LISTED]:
        out.problems.append(Problem(file, f"duplicate id '{v}' (first on row {f})",
                                    "ids must be unique: remove the duplicate row or give it its own id",
                                    column=key, row=r))
    if len(listed) > MAX_LISTED:
        out.problems.append(Problem(file, f"{len(listed) - MAX_LISTED} more duplicate ids", "ids must be unique",
                                    column=key))


def apply_row_rules(df: pd.DataFrame, spec: TableSpec, file: str, out: Collector) -> pd.DataFrame:
    """Run the contract's row rules; failing rows are excluded with the rule's reason.

    The rules are the contract's pandera checks, evaluated here directly on the typed table (pandera's
    own pass also looked for missing values in every text column: seconds at 10 million rows). As in
    pandera, a row failing two rules is counted under the first.
    """
    if not spec.row_checks or df.empty:
        return df
    failing: list[tuple[str, np.ndarray]] = []
    for check in spec.row_checks:
        try:
            passed = check._check_fn(df, **check._check_kwargs)
        except Exception:  # noqa: BLE001 - as pandera: a rule that cannot run excludes nothing
            continue
        bad = ~np.asarray(pd.Series(passed, index=df.index).fillna(True), dtype=bool)
        if bad.any():
            failing.append((check.name, df.index[bad]))
    for name, labels in failing:
        column, fix = RULE_HELP.get(name, (None, "check the value"))
        df = out.exclude(spec.name, file, df, df.index.isin(labels), name, column=column, fix=fix)
    return df
