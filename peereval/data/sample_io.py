"""Calendar, id and file-writing helpers for the synthetic sample (:mod:`peereval.data.sample`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

Table = dict[str, object]


class Calendar:
    """Fixed calendar: ``months`` whole months ending with ``end_month``."""

    def __init__(self, end_month: str, months: int) -> None:
        end = np.datetime64(end_month, "M")
        self.months = months
        self.ms = np.arange(end - (months - 1), end + 1)
        self.first = self.ms.astype("datetime64[D]")
        nxt = (self.ms + 1).astype("datetime64[D]")
        self.ndays = (nxt - self.first).astype(np.int64)  # calendar days per month
        self.end_day = nxt[-1]  # exclusive cut-off (first day after the data)
        self.end_s = self.end_day.astype("datetime64[s]")
        self.cal_month = self.ms.astype(np.int64) % 12 + 1
        self.wd = np.empty((months, 23), dtype="datetime64[D]")
        self.nwd = np.empty(months, dtype=np.int64)
        for m in range(months):
            d = np.arange(self.first[m], nxt[m])
            d = d[np.is_busday(d)]
            self.nwd[m] = len(d)
            self.wd[m, : len(d)] = d
            self.wd[m, len(d) :] = d[-1]

    def weekday(
        self, rng: np.random.Generator, m: np.ndarray, lo: np.ndarray | None = None
    ) -> np.ndarray:
        """A uniformly random weekday (datetime64[D]) within month index ``m``.

        ``lo``: the earliest allowed weekday, as its position among the month's weekdays
        (0 = the first weekday, the default).
        """
        if lo is None:
            idx = (rng.random(len(m)) * self.nwd[m]).astype(np.int64)
        else:
            idx = lo + (rng.random(len(m)) * (self.nwd[m] - lo)).astype(np.int64)
        return self.wd[m, idx]

    def any_day(self, rng: np.random.Generator, m: np.ndarray) -> np.ndarray:
        """A uniformly random calendar day (weekends included) within month index ``m``."""
        off = (rng.random(len(m)) * self.ndays[m]).astype(np.int64)
        return self.first[m] + off.astype("timedelta64[D]")


def ids(prefix: str, n: int, width: int) -> pa.Array:
    width = max(width, len(str(n)))
    num = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(num, width=width, padding="0"), "")


def take(values: list[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def choice(rng: np.random.Generator, shares: dict, n: int) -> np.ndarray:
    p = np.array(list(shares.values()), dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def write_table(tbl: Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        cols = {k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in tbl.items()}
        pq.write_table(pa.table(cols), path.with_suffix(".parquet"))
        return
    cols = {}
    for k, v in tbl.items():
        if isinstance(v, pa.Array):
            v = v.to_numpy(zero_copy_only=False)
        elif isinstance(v, np.ndarray) and v.dtype.kind == "M":
            unit = "D" if v.dtype == np.dtype("datetime64[D]") else "s"
            s = np.datetime_as_string(v, unit=unit).astype(object)
            s[np.isnat(v)] = ""
            v = s
        cols[k] = v
    pd.DataFrame(cols).to_csv(path.with_suffix(".csv"), index=False, lineterminator="\n")
