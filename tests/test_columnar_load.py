"""The columnar reading path gives exactly what the careful one gives: values, file lines, ledger.

``read_table(compact=True)`` (the loader's) parses plain CSV with Arrow and keeps repetitive text
as Categoricals; ``compact=False`` is the line-by-line Python reader with a Python string per value.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SAMPLE, write_folder

import peereval
from peereval.data import columnar, sources
from peereval.data.reading import read_table
from peereval.data.sample import Quirks, generate


def _plain(monkeypatch):
    monkeypatch.setattr(sources.FolderSource, "read", lambda self, name, where, spec: read_table(name, where))


def _same_load(folder, monkeypatch, cutoff="2026-10-31"):
    fast = peereval.load(folder, cutoff=cutoff)
    with monkeypatch.context() as m:
        _plain(m)
        slow = peereval.load(folder, cutoff=cutoff)
    assert fast.ledger.to_dict() == slow.ledger.to_dict()
    assert [(e.reason, e.rows) for e in fast.ledger.exclusions] == [(e.reason, e.rows) for e in slow.ledger.exclusions]
    for table in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        pd.testing.assert_frame_equal(getattr(fast, table), getattr(slow, table))
    _public_dtypes(fast)
    return fast


def _public_dtypes(data):
    """The dtypes CohortData documents: tickets' team/priority/type Categoricals of the values present,
    sorted; ticket_id Arrow strings; other text Python objects."""
    for table in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        for c, s in getattr(data, table).items():
            if table == "tickets" and c in ("team", "priority", "type"):
                assert isinstance(s.dtype, pd.CategoricalDtype) and not s.dtype.ordered, (c, s.dtype)
                assert s.cat.categories.dtype == object
                assert s.cat.categories.tolist() == sorted(set(s.dropna().tolist())), c  # sorted, none unused
            elif table == "tickets" and c == "ticket_id":
                assert s.dtype == pd.StringDtype("pyarrow")
            else:
                assert not isinstance(s.dtype, pd.CategoricalDtype | pd.StringDtype), (table, c, s.dtype)


def test_sample_loads_the_same(monkeypatch):
    _same_load(SAMPLE, monkeypatch)


@pytest.mark.parametrize("seed", [1, 7])
def test_quirky_exports_load_the_same(tmp_path, monkeypatch, seed):
    folder = tmp_path / "q"
    generate(folder, seed=seed, teams=10, months=14, quirks=Quirks.random(seed))
    _same_load(folder, monkeypatch)


@pytest.mark.parametrize("text,lines", [
    ("a,b\r\n1,x\r\n2,y\r\n", [2, 3]),  # Windows line ends
    ("\ufeffa,b\n1,x\n,\n2,y", [2, 4]),  # byte-order mark, an all-empty row, no final line end
    ("a,b\n1,x\n\n2,y\n", [2, 4]),  # a blank line: the careful reader
    ('a,b\n1,"x, y"\n2,y\n', [2, 3]),  # quotes: the careful reader
    ("a,b\n 1 , x \n  ,  \n", [2]),  # spaces are values; a row of spaces is not a row
])
def test_csv_lines_and_values_match_the_careful_reader(tmp_path, text, lines):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    fast, _ = read_table("t", path, compact=True)
    slow, _ = read_table("t", path)
    assert fast.frame["_row"].tolist() == slow.frame["_row"].tolist() == lines
    pd.testing.assert_frame_equal(fast.frame.astype(object), slow.frame.astype(object))


def test_repetitive_text_is_categorical_and_ids_are_not(tmp_path, tiny_tables):
    tickets = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(3000)], "team": ["A", "B", "C"] * 1000})
    frame = columnar.compact(__import__("pyarrow").Table.from_pandas(tickets, preserve_index=False))
    assert isinstance(frame["team"].dtype, pd.CategoricalDtype)
    assert frame["ticket_id"].dtype == pd.StringDtype("pyarrow")  # Arrow strings, no Python object per id
    folder = write_folder(tmp_path / "t", tiny_tables)
    raw, _ = read_table("tickets", folder / "tickets.csv", compact=True)
    assert raw.frame["type"].tolist() == ["bug", "bug", "bug", "bug", "feature"]


@pytest.mark.parametrize("seed", [3, 8])
def test_parquet_loads_as_csv_does(tmp_path, seed):
    """Parquet (dictionary-read text), Arrow's CSV reader and the careful one give one dtype and the same values."""
    csv = tmp_path / "csv"
    generate(csv, seed=seed, teams=6, months=12, quirks=Quirks.random(seed))
    generate(tmp_path / "pq", seed=seed, teams=6, months=12, quirks=Quirks.random(seed), file_format="parquet")
    a, b = peereval.load(csv, cutoff="2026-10-31"), peereval.load(tmp_path / "pq", cutoff="2026-10-31")
    assert a.ledger.to_dict() == b.ledger.to_dict()
    for table in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))
    _public_dtypes(b)


def test_ticket_categories_do_not_depend_on_order_or_dropped_rows(tmp_path, tiny_tables, monkeypatch):
    """Teams first seen as C, A, B and a type ('feature') whose rows are all left out: the same
    sorted categories from every reader, without the dropped value."""
    tiny_tables["tickets"] = tiny_tables["tickets"].iloc[::-1]
    folder = write_folder(tmp_path / "t", tiny_tables)
    data = _same_load(folder, monkeypatch, cutoff="2026-02-28")
    assert data.tickets["team"].cat.categories.tolist() == ["A", "B", "C"]
    assert data.tickets["type"].cat.categories.tolist() == ["bug"]
    pq = write_folder(tmp_path / "pq", tiny_tables, fmt="parquet")
    pd.testing.assert_frame_equal(peereval.load(pq, cutoff="2026-02-28").tickets, data.tickets)


def test_a_program_without_tickets_has_the_documented_dtypes(tmp_path, tiny_tables):
    del tiny_tables["tickets"]
    data = peereval.load(write_folder(tmp_path / "t", tiny_tables))
    assert not data.provided("tickets") and data.tickets.empty
    _public_dtypes(data)
