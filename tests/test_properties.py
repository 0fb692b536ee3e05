"""Properties of the loader and KPIs: cosmetic changes to an export change nothing; no row is lost."""

from __future__ import annotations

import pandas as pd
from conftest import TINY, write_folder
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import peereval
from peereval.errors import DataError

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CUTOFFS = st.sampled_from([None, "2026-01-31", "2026-02-11", "2026-02-28", "2026-03-31"])


def _tables() -> dict[str, pd.DataFrame]:
    return {k: v.astype(str).replace("nan", "") for k, v in TINY.items()}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), na_position="first", kind="stable").reset_index(drop=True)


def _kpis(data) -> dict:
    return peereval.compute_kpis(data, "2026-02").to_dict()


@st.composite
def cosmetic(draw):
    """Per table: a row order, a spelling of each column name, extra columns, a column order."""
    out = {}
    for name, frame in _tables().items():
        perm = draw(st.permutations(range(len(frame))))
        spell = {c: draw(st.sampled_from([c, c.upper(), c.replace("_", " ").title(), f" {c} "])) for c in frame}
        extra = draw(st.lists(st.sampled_from(["notes", "Exported By", "id2"]), unique=True, max_size=2))
        cols = draw(st.permutations(list(frame.columns) + extra))
        out[name] = (list(perm), spell, extra, list(cols))
    return out


def _apply(tables, plan):
    result = {}
    for name, frame in tables.items():
        perm, spell, extra, cols = plan[name]
        f = frame.iloc[perm].reset_index(drop=True)
        for e in extra:
            f[e] = "=cmd|' /C calc'!A0"
        result[name] = f[cols].rename(columns=spell)
    return result


@SETTINGS
@given(plan=cosmetic(), cutoff=CUTOFFS)
def test_shuffled_rows_renamed_and_extra_columns_change_nothing(tmp_path_factory, plan, cutoff):
    base_dir = write_folder(tmp_path_factory.mktemp("base"), _tables())
    other_dir = write_folder(tmp_path_factory.mktemp("other"), _apply(_tables(), plan))
    a, b = peereval.load(base_dir, cutoff=cutoff), peereval.load(other_dir, cutoff=cutoff)
    for table in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        pd.testing.assert_frame_equal(_sorted(getattr(a, table)), _sorted(getattr(b, table)))
    assert a.ledger.to_dict() == b.ledger.to_dict()
    assert _kpis(a) == _kpis(b)


BAD_CELLS = {  # (table, column): values that make one row implausible or out of scope
    ("tickets", "resolved_at"): ["2026-01-01T00:00:00", "yesterday", "", "2026-12-01T00:00:00"],
    ("tickets", "created_at"): ["31/01/2026", "2027-01-01T00:00:00", "2026-02-01T10:00:00+05:00"],
    ("sessions", "duration_minutes"): ["0", "-5", "2000", "x"],
    ("sessions", "date"): ["2026-13-01", "2026-02-29", "2027-01-01"],
    ("surveys", "score"): ["0", "6", "3.5", "", "4"],
    ("milestones", "date"): ["2020-01-01", "2026-02"],
    ("attendance", "status"): ["maybe", "ATTENDED"],
    ("people", "hire_date"): ["2026-03-15", "soon"],
}


@SETTINGS
@given(
    edits=st.lists(st.tuples(st.sampled_from(sorted(BAD_CELLS)), st.integers(0, 99), st.integers(0, 9)),
                   max_size=4),
    cutoff=CUTOFFS, pad=st.integers(0, 30),
)
def test_every_row_is_used_or_counted_once(tmp_path_factory, edits, cutoff, pad):
    tables = _tables()
    tables["tickets"] = pd.concat(  # more tickets, so that a few bad ones stay under the 5% limit
        [tables["tickets"]] + [tables["tickets"].assign(ticket_id=lambda f, i=i: f["ticket_id"] + f"_{i}")
                               for i in range(pad)], ignore_index=True)
    for (table, column), row, k in edits:
        frame = tables[table]
        values = BAD_CELLS[(table, column)]
        frame.loc[row % len(frame), column] = values[k % len(values)]
    folder = write_folder(tmp_path_factory.mktemp("edit"), tables)
    try:
        data = peereval.load(folder, cutoff=cutoff)
    except DataError as exc:  # too many exclusions in a tiny table: a problem, never a traceback
        assert exc.problems and all(str(p) for p in exc.problems)
        assume(False)
        return
    ledger = data.ledger
    for table, frame in tables.items():
        read = ledger.rows_read[table]
        assert read == len(frame)
        rows = [r for e in ledger.exclusions if e.table == table for r in e.rows]
        assert len(rows) == len(set(rows)), f"{table}: a row is excluded twice"
        assert set(rows) <= set(range(2, read + 2)), f"{table}: excluded rows {rows} outside the file"
        used = len(getattr(data, table))
        assert used == ledger.rows_used(table) == read - len(rows)
        assert used + sum(ledger.to_dict()[table]["excluded"].values()) == read
    _kpis(data)  # KPIs compute on whatever survived
