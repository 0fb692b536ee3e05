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
    return fast


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
