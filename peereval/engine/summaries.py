"""The row-level views of a duration outcome whose rows are partly in the database.

Counts and sums add up across the database's part and the fetched rows. Medians do not, so they
are exact order statistics instead: for each group the database returns only the middle of its
sorted values, wide enough (by as many values as the fetched rows hold in that group, ``k``) that
the median of the union is among them — the union's middle rank lies within ``k`` ranks of the
database part's own middle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peereval.data.database import Database, literal, quote
from peereval.engine.source import EngineData, timestamp
from peereval.outcomes.cells import cell_table
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame
from peereval.periods import Calendar


class Sql:
    """SQL pieces for one duration outcome over the tickets the database kept."""

    def __init__(self, data: EngineData, o: Outcome, cal: Calendar) -> None:
        self.data, self.outcome, self.calendar = data, o, cal
        c, r = quote(data.columns["created_at"]), quote(data.columns["resolved_at"])
        self.created, self.team, self.table = c, quote(data.columns["team"]), data.table_sql
        self.hours = f"date_part('epoch', {r} - {c}) / 3600"
        self.resolved = f"({r} IS NOT NULL AND {r} < {timestamp(cal.end)})"
        self.kept = data.kept_sql
        self.in_scope = self.kept
        starts = cal.start[(cal.cohort == "pilot") & cal.start.notna()]
        self.first = pd.Timestamp(starts.min()) if len(starts) else None  # the first pilot start (balance's)
        self.pre = f"({c} < {timestamp(self.first)})" if self.first is not None else "FALSE"  # created before it

    def keep_only(self, accepted: dict[str, list[str]]) -> None:
        """Narrow the rows in scope to the stored values each ``where`` column keeps."""
        for col, values in accepted.items():
            listed = ", ".join(literal(v) for v in values) or "NULL"
            self.in_scope += f" AND {quote(self.data.columns[col])} IN ({listed})"

    def group(self, name: str) -> str:
        """A row's team, period or cohort, computed in SQL as :class:`~peereval.periods.Calendar` does."""
        if name == "team":
            return self.team
        if name == "period":
            if self.calendar.period == "week":
                return f"CAST(FLOOR((CAST({self.created} AS DATE) - DATE '1970-01-05') / 7.0) AS INTEGER)"
            # from the day: DuckDB 2.0.1 groups EXTRACT(... FROM a TIMESTAMP_NS) wrongly (bad statistics)
            day = f"CAST({self.created} AS DATE)"
            return f"CAST(date_part('year', {day}) * 12 + date_part('month', {day}) - 1 AS INTEGER)"
        cohorts = self.calendar.cohort.dropna()
        cases = " ".join(f"WHEN {self.team} IN ({', '.join(literal(str(t)) for t in cohorts.index[cohorts == label])}) "
                         f"THEN {literal(str(label))}" for label in sorted(set(cohorts)))
        return f"CASE {cases} END" if cases else "NULL"

    def medians(self, groups: list[str], fetched: dict[tuple, np.ndarray], where: str = "TRUE") -> dict[tuple, float]:
        """Median hours of resolved rows per group: the database's rows in scope with ``fetched``'s values."""
        exprs = [self.group(g) for g in groups] or ["0"]
        rows = (f"SELECT {', '.join(f'{e} AS g{i}' for i, e in enumerate(exprs))}, {self.hours} AS h FROM {self.table} "
                f"WHERE {self.in_scope} AND {self.resolved} AND {where}")
        if groups:
            return medians(self.data.target, rows, len(exprs), fetched)
        found = medians(self.data.target, rows, 1, {(0,): fetched[()]} if () in fetched else {})
        return {(): found[(0,)]} if (0,) in found else {}


def medians(target: str, rows: str, n_groups: int, fetched: dict[tuple, np.ndarray]) -> dict[tuple, float]:
    """Exact medians of ``h`` per group (``g0`` … ``g{n_groups-1}``) of the SQL ``rows``, with ``fetched``'s values added.

    For each group the database returns only its sorted values around the middle, ``k`` ranks to
    each side (``k``: the most values ``fetched`` adds to any group), which holds the union's middle.
    Without fetched values the database's own median (``percentile_cont(0.5)``, the mean of the two
    middle values as ``lo + (hi - lo) / 2``: equal to numpy's to the last bit or two) is the answer.
    """
    k = max((len(v) for v in fetched.values()), default=0)
    part = ", ".join(f"g{i}" for i in range(n_groups))
    if k == 0:
        table = Database.run(target, f"SELECT {part}, percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS m "
                                     f"FROM ({rows}) s GROUP BY {part}").to_pandas()
        return {_key(tuple(r[:-1])): float(r[-1]) for r in table.itertuples(index=False)}
    query = (f"SELECT {part}, h, rn, cnt FROM (SELECT {part}, h, row_number() OVER (PARTITION BY {part} ORDER BY h) "
             f"AS rn, count(*) OVER (PARTITION BY {part}) AS cnt FROM ({rows}) s) w "
             f"WHERE 2 * rn >= cnt - 2 * {k} - 2 AND 2 * rn <= cnt + {k} + 3")
    table = Database.run(target, query).to_pandas()
    names = [f"g{i}" for i in range(n_groups)]
    found: dict[tuple, tuple[np.ndarray, int, int]] = {}
    if len(table):
        table = table.sort_values([*names, "rn"], kind="stable")
        for key, middle in table.groupby(names, sort=False):
            found[_key(key if isinstance(key, tuple) else (key,))] = (
                middle["h"].to_numpy(float), int(middle["rn"].iloc[0]), int(middle["cnt"].iloc[0]))
    out = {}
    for key in set(found) | set(fetched):
        h, first, m = found.get(key, (np.empty(0), 1, 0))
        values = np.sort(np.concatenate([h, fetched.get(key, np.empty(0))]))
        n = m + len(values) - len(h)
        if n:
            lo, hi = (n + 1) // 2, (n + 2) // 2  # 1-based ranks of the union's middle value(s)
            out[key] = values[lo - first] if lo == hi else (values[lo - first] + values[hi - first]) / 2
    return out


def _key(values) -> tuple:
    return tuple(int(v) if isinstance(v, (int, np.integer)) else str(v) for v in values)


def _by(frame: pd.DataFrame, keys: list[str], values: np.ndarray) -> dict[tuple, np.ndarray]:
    """``values`` grouped by the rows' keys (as :func:`_key` gives them)."""
    if not len(frame):
        return {}
    grouped = pd.Series(values, index=frame.index).groupby([frame[k].astype(object) for k in keys], sort=False)
    return {_key(k if isinstance(k, tuple) else (k,)): v.to_numpy(float) for k, v in grouped}


@dataclass(frozen=True)
class EngineSummaries:
    """Trend, variance-component cells and pre-start levels of a frame whose rows are partly in the database.

    ``cells``: the database's rows in scope, summed by team, ``period`` and ``pre`` (created before
    ``sql.first``, the first pilot start) with their ``cohort``, rows ``n``, ``n_open``, resolved
    ``n_res`` and the sums ``s1``/``s2`` of their log hours; ``fetched``: the frame of the rows
    fetched and checked here.
    """

    sql: Sql
    cells: pd.DataFrame
    fetched: OutcomeFrame

    def _merged(self) -> dict[str, dict[tuple, float]] | None:
        """Every median the views need, from one query, when no fetched resolved row joins any group.

        ``percentile_cont`` over GROUPING SETS: (period, cohort) for the trend, () for the baseline,
        (team, created before the first start) for balance. None when fetched rows must join in.
        """
        if "_medians" not in self.__dict__:
            f, sql = self.fetched.rows, self.sql
            found = None
            if not (len(f) and (~f["open"].to_numpy(bool)).any()):
                query = (f"SELECT g0, g1, g2, g3, GROUPING(g0, g1, g2, g3) AS gid, percentile_cont(0.5) WITHIN GROUP "
                         f"(ORDER BY h) AS m FROM (SELECT {sql.group('period')} AS g0, {sql.group('cohort')} AS g1, "
                         f"{sql.team} AS g2, {sql.pre} AS g3, {sql.hours} AS h FROM {sql.table} WHERE {sql.in_scope} AND "
                         f"{sql.resolved}) s GROUP BY GROUPING SETS ((g0, g1), (), (g2, g3))")
                table = Database.run(sql.data.target, query).to_pandas()
                found = {"trend": {}, "all": {}, "before": {}}
                for g0, g1, g2, g3, gid, m in table.itertuples(index=False):
                    if gid == 3:
                        found["trend"][(int(g0), str(g1))] = float(m)  # g0 is a float beside the other sets' NULLs
                    elif gid == 15:
                        found["all"][()] = float(m)
                    elif gid == 12 and g3:
                        found["before"][(str(g2),)] = float(m)
            object.__setattr__(self, "_medians", found)
        return self.__dict__["_medians"]

    def rows_in_scope(self) -> int:
        return int(self.cells["n"].sum()) + len(self.fetched.rows)

    def first_period(self) -> int:
        periods = [int(p.min()) for p in (self.cells["period"], self.fetched.rows["period"]) if len(p)]
        return min(periods)

    def trend(self) -> pd.DataFrame:
        """As :func:`peereval.describe.trend` gives it for the rows: median hours, rows and open rows by month and cohort."""
        f = self.fetched.rows
        keys = ["period", "cohort"]
        mine = self.cells.assign(cohort=self.cells["cohort"].astype(object)).groupby(keys)[["n", "n_open"]].sum()
        theirs = f.assign(cohort=f["cohort"].astype(object), n=1, n_open=f["open"].astype(int)).groupby(keys)[
            ["n", "n_open"]].sum()
        counts = mine.add(theirs, fill_value=0).astype(int).sort_index()
        resolved = f[~f["open"].to_numpy(bool)]
        merged = self._merged()
        medians = merged["trend"] if merged else self.sql.medians(keys, _by(resolved, keys, resolved["hours"].to_numpy(float)))
        table = counts.reset_index()
        table["value"] = [medians.get(_key((p, c)), np.nan) for p, c in zip(table["period"], table["cohort"], strict=True)]
        table["month"] = table["period"].map({p: self.sql.calendar.label(p) for p in table["period"].unique()})
        return pd.DataFrame({"month": table["month"], "cohort": table["cohort"], "value": table["value"].astype(float),
                             "rows": table["n"], "still_open": table["n_open"], "people": np.nan})

    def resolved_cells(self) -> tuple[pd.DataFrame, float | None]:
        """Resolved rows by (team, period): ``size`` and sums ``s1``/``s2`` of log hours; and their median hours."""
        from peereval.describe import (
            resolved_cells,  # the fetched rows' cells, by the rule rows follow
        )

        f = self.fetched.rows
        keep = ~f["open"].to_numpy(bool)
        mine = self.cells[self.cells["n_res"] > 0].rename(columns={"n_res": "size"})
        theirs = resolved_cells(self.fetched)
        parts = [mine] if theirs is None else [mine, theirs[0]]
        both = pd.concat([t[["team", "period", "size", "s1", "s2"]].astype({"team": object}) for t in parts],
                         ignore_index=True)
        if both.empty:
            return both, None
        c = cell_table(both, ["team", "period"], sums={"n": both["size"], "s1": both["s1"], "s2": both["s2"]})
        cells = c[["team", "period"]].assign(size=c["n"].astype(np.int64), s1=c["s1"], s2=c["s2"])
        merged = self._merged()
        median = (merged["all"] if merged else self.sql.medians([], {(): f["hours"].to_numpy(float)[keep]}
                                                                   if keep.any() else {})).get(())
        return cells, median

    def before(self, first: pd.Timestamp) -> tuple[pd.DataFrame, int]:
        """Resolved rows dated before ``first``, per team: ``size`` and ``median`` hours; and how many periods they span."""
        if first != self.sql.first:
            raise ValueError(f"the database's sums are split at the first pilot start {self.sql.first}, not at {first}")
        f = self.fetched.rows
        pre = f[(f["date"] < first).to_numpy() & ~f["open"].to_numpy(bool)]
        mine = self.cells[self.cells["pre"].to_numpy(bool) & (self.cells["n_res"] > 0).to_numpy()]
        months = max(1, len(set(mine["period"].astype(int)) | set(pre["period"].astype(int))))
        size = mine.assign(team=mine["team"].astype(object)).groupby("team")["n_res"].sum().add(
            pre.assign(team=pre["team"].astype(object)).groupby("team").size(), fill_value=0)
        merged = self._merged()
        medians = merged["before"] if merged else self.sql.medians(
            ["team"], _by(pre, ["team"], pre["hours"].to_numpy(float)), where=f"{self.sql.created} < {timestamp(first)}")
        table = pd.DataFrame({"size": size.astype(int)})
        table["median"] = [medians.get((str(t),), np.nan) for t in table.index]
        return table, months
