"""The column-wise checks of the loader give what the row-by-row rules they replace give.

Each fast path (Arrow regex prefilter for repeated header rows, Arrow date parsing, id-first
duplicate detection, direct evaluation of the contract's row rules) is compared with the rule
it stands for — ``normalise_column``, pandas' ISO 8601 parser, ``DataFrame.duplicated`` over
all columns, pandera — on generated values including their odd corners.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peereval.data.contract import TABLES, row_schema
from peereval.data.duplicates import apply_row_rules, check_unique, exclude_duplicate_rows, repeated
from peereval.data.reading import ROW, normalise_column, read_table
from peereval.data.validation import Collector, RowFilter, _header_hits, keep_rows
from peereval.data.values import _plain_iso, as_datetime, as_text, sorted_categorical

_ARROW = pd.StringDtype("pyarrow")
# header-ish text: the column's letters in both cases, spaces of several kinds, hyphens, BOM
_HEADERISH = st.text(alphabet=st.sampled_from(list("ticketIDTK_ -\t\u00a0\u2003\ufeff\u212aabc")), max_size=14)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(_HEADERISH, st.none()), min_size=1, max_size=30),
       name=st.sampled_from(["ticket_id", "team", "created_at"]))
def test_header_rows_are_found_as_normalise_column_finds_them(values, name):
    expected = [v is not None and normalise_column(v) == name for v in values]
    for s in (pd.Series(values, dtype=object), pd.Series(values, dtype=_ARROW)):
        assert _header_hits(s, name).tolist() == expected


_STAMPS = st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                       max_value=pd.Timestamp("2100-12-31").to_pydatetime()).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=100, deadline=None)
@given(stamps=st.lists(st.tuples(_STAMPS, st.sampled_from(["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])),
                       min_size=1, max_size=20),
       blanks=st.lists(st.booleans(), min_size=20, max_size=20))
def test_plain_iso_dates_parse_as_pandas_parses_them(stamps, blanks):
    text = [None if blank else d.strftime(fmt) for (d, fmt), blank in zip(stamps, blanks, strict=False)]
    ours = _plain_iso(pa.array(text, type=pa.string()), pd.RangeIndex(len(text)))
    if all(v is None for v in text):
        assert ours is None
        return
    pandas = pd.to_datetime(pd.Series(text, dtype=object), format="ISO8601")
    pd.testing.assert_series_equal(ours, pandas.astype("datetime64[ns]"))


@pytest.mark.parametrize("value", ["2026-02-30", "2026-01-05 24:00:00", "2026-01-05 10:00:00Z",
                                   "2026-01-05T10:00:00+02:00", "2026-01-05 10:00", "05/01/2026",
                                   "1500-01-01", "2300-01-01 00:00:00", "2026-01-05 10:00:00.5", "２０２６-01-05"])
def test_anything_but_plain_iso_takes_the_careful_path(value):
    assert _plain_iso(pa.array(["2026-01-01", value]), pd.RangeIndex(2)) is None
    careful, _ = as_datetime(pd.Series(["2026-01-01", value], dtype=object))
    arrow, _ = as_datetime(pd.Series(["2026-01-01", value], dtype=_ARROW))
    pd.testing.assert_series_equal(careful, arrow)


_ROWS = st.lists(st.tuples(st.sampled_from(["T1", "T2", " T2", "T3", "", None]), st.sampled_from(["A", "B", None]),
                           st.sampled_from(["bug", "Bug"])), max_size=40)


@settings(max_examples=150, deadline=None)
@given(rows=_ROWS, dtype=st.sampled_from([object, "category", _ARROW]))
def test_duplicate_rows_found_among_repeated_ids_only_are_all_of_them(rows, dtype):
    frame = pd.DataFrame(rows, columns=["ticket_id", "team", "type"], dtype=object).astype(dtype)
    frame[ROW] = np.arange(2, len(frame) + 2)
    expected = frame.duplicated(["ticket_id", "team", "type"], keep="first")
    out = Collector()
    kept = exclude_duplicate_rows(frame, "tickets", "tickets.csv", out, key="ticket_id")
    assert kept[ROW].tolist() == frame.loc[~expected, ROW].tolist()
    assert [e.rows for e in out.exclusions] == ([tuple(frame.loc[expected, ROW])] if expected.any() else [])


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.sampled_from(["a", "b", " b", "c ", "", "d", None]), max_size=30))
def test_duplicate_ids_are_reported_alike_for_arrow_and_python_strings(ids):
    problems = []
    for dtype in (object, _ARROW):
        frame = pd.DataFrame({"ticket_id": pd.Series(ids, dtype=dtype), ROW: np.arange(2, len(ids) + 2)})
        out = Collector()
        check_unique(frame, "ticket_id", "tickets.csv", out)
        problems.append(out.problems)
    assert problems[0] == problems[1]
    text = as_text(pd.Series(ids, dtype=object))
    assert bool(problems[0]) == bool((text.notna() & text.duplicated(keep=False)).any())
    assert repeated(pd.Series(ids, dtype=_ARROW)).tolist() == pd.Series(ids).duplicated(keep=False).tolist()


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(-3, 5))), min_size=1,
                      max_size=25),
       scores=st.lists(st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, 3.0, 5.0, 6.0])), min_size=25,
                       max_size=25))
def test_row_rules_exclude_what_pandera_excludes(pairs, scores):
    start = pd.Timestamp("2026-01-01")
    tickets = pd.DataFrame({
        ROW: np.arange(2, len(pairs) + 2),
        "created_at": [start + pd.Timedelta(days=c) for c, _ in pairs],
        "resolved_at": [pd.NaT if r is None else start + pd.Timedelta(days=r) for _, r in pairs],
    })
    surveys = pd.DataFrame({ROW: np.arange(2, 27), "score": scores})
    for name, frame in (("tickets", tickets), ("surveys", surveys)):
        spec = TABLES[name]
        out = Collector()
        apply_row_rules(frame, spec, f"{name}.csv", out)
        expected: dict[str, set] = {}
        try:
            row_schema(spec).validate(frame, lazy=True)
        except Exception as exc:  # noqa: BLE001 - pandera's SchemaErrors: the reference
            cases = exc.failure_cases
            for check in dict.fromkeys(cases["check"].astype(str)):
                labels = set(cases.loc[cases["check"] == check, "index"].dropna())
                expected[check] = {int(frame.loc[i, ROW]) for i in labels} - set().union(*expected.values())
        assert {e.reason: set(e.rows) for e in out.exclusions} == {k: v for k, v in expected.items() if v}


def test_a_large_csv_reads_as_the_careful_reader_reads_it(tmp_path):
    """Over 1 MB (repetitive columns judged on the head and read dictionary-encoded), with blank lines,
    all-empty rows, spaces, CRLF line ends and a repeated header row."""
    rng = np.random.default_rng(5)
    lines = ["ticket_id,team,type,note"]
    for i in range(50_000):
        lines.append(f"T{i:06d},team-{rng.integers(0, 30)},{rng.choice(['bug', 'Bug ', 'feature', ''])},"
                     f"{rng.choice(['', 'x', ' y '])}")
        if i % 9_999 == 5:
            lines += ["", ",,,", " , ,,", "ticket_id,team,type,note"]
    path = tmp_path / "tickets.csv"
    path.write_bytes("\r\n".join(lines).encode())
    assert path.stat().st_size > 1 << 20
    fast, _ = read_table("tickets", path, compact=True)
    slow, _ = read_table("tickets", path)
    assert isinstance(fast.frame["team"].dtype, pd.CategoricalDtype) and fast.frame["ticket_id"].dtype == _ARROW
    assert fast.frame[ROW].tolist() == slow.frame[ROW].tolist()
    pd.testing.assert_frame_equal(fast.frame.astype(object), slow.frame.astype(object))


_LABELS = st.sampled_from(["P1", "P10", "P2", "b", "B", "a b", "é", "z", "Ä", "\u00e9t\u00e9", "10", "9"])


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(_LABELS, st.none()), max_size=30), extra=st.lists(_LABELS, max_size=4),
       dtype=st.sampled_from(["object", "arrow", "category", "shuffled"]), data=st.data())
def test_sorted_categorical_depends_on_the_values_only(values, extra, dtype, data):
    """Python, Arrow or Categorical text (categories in any order, some unused) give one Categorical:
    the same values, categories = the sorted distinct values present (Python's string order)."""
    plain = pd.Series(values, dtype=object)
    if dtype == "arrow":
        s = plain.astype(_ARROW)
    elif dtype == "category":
        s = plain.astype("category")
    elif dtype == "shuffled":
        cats = data.draw(st.permutations(sorted(set(v for v in values if v is not None) | set(extra))))
        s = pd.Series(pd.Categorical(values, categories=cats))
    else:
        s = plain
    out = sorted_categorical(s)
    expected = pd.Series(pd.Categorical(values, categories=sorted(set(v for v in values if v is not None))))
    pd.testing.assert_series_equal(out, expected)
    assert out.cat.categories.dtype == object


_TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", " c", "été"]))


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(_TEXT, st.one_of(st.none(), st.integers(0, 40)), st.floats(allow_nan=True),
                               st.booleans()), max_size=30),
       masks=st.lists(st.lists(st.booleans(), min_size=30, max_size=30), max_size=3), ranged=st.booleans())
def test_rows_taken_once_are_the_rows_taken_one_reason_at_a_time(rows, masks, ranged):
    """``RowFilter`` (and ``keep_rows``) against ``Collector.exclude`` one reason after another (``df.loc``),
    on object, Arrow, Categorical, datetime, float and bool columns, with a range or a gapped index."""
    text = [r[0] for r in rows]
    df = pd.DataFrame({
        ROW: np.arange(2, len(rows) + 2), "obj": pd.Series(text, dtype=object), "arrow": pd.Series(text, dtype=_ARROW),
        "cat": pd.Series(text, dtype="category"),
        "when": pd.Series([pd.NaT if r[1] is None else pd.Timestamp("2026-01-01") + pd.Timedelta(days=r[1])
                           for r in rows], dtype="datetime64[ns]"),
        "x": pd.Series([r[2] for r in rows], dtype=float), "flag": pd.Series([r[3] for r in rows], dtype=bool),
    })
    if not ranged:
        df.index = pd.Index(np.arange(len(rows)) * 3 + 7)
    one_by_one, at_once = Collector(), Collector()
    kept = df
    rf = RowFilter(at_once, "tickets", "tickets.csv", df)
    for i, m in enumerate(masks):
        mask = np.array(m[:len(rows)], dtype=bool)
        kept = one_by_one.exclude("tickets", "tickets.csv", kept, pd.Series(mask, index=df.index).reindex(kept.index),
                                  f"reason {i}")
        rf.exclude(mask, f"reason {i}")
    pd.testing.assert_frame_equal(rf.frame(), kept)
    assert one_by_one.exclusions == at_once.exclusions
    keep = np.array([r[3] for r in rows], dtype=bool)
    pd.testing.assert_frame_equal(keep_rows(df, keep), df.loc[keep])
