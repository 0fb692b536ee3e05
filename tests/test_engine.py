"""Tickets summed in the database (peereval.engine) give what fetching every row gives.

The same database is read twice: whole (``peereval.load``, itself tested against folders in
test_database_source.py) and with the clean tickets left to the engine (``load_aggregated``).
The ledger must be equal, and the effect, its interval, p-value, event study, placebo and the
panel equal to 1e-9. Messy tickets (whitespace of every kind, blanks, repeated ids, unknown
teams, header-like rows, times out of order, other types, rows after the cutoff) are drawn by
Hypothesis, so the SQL's idea of a clean row is checked against the loader's rules.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import SAMPLE
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import peereval
from peereval.engine import EngineData, load_aggregated
from peereval.errors import ArgumentError, DataError

TABLES = ("teams", "people", "sessions", "attendance", "milestones", "surveys")
CUTOFF = "2026-10-31"


def _sample_tickets() -> pd.DataFrame:
    t = pd.read_csv(SAMPLE / "tickets.csv", dtype=str, keep_default_na=False)
    for col in ("created_at", "resolved_at"):
        t[col] = pd.to_datetime(t[col].replace("", None))
    return t.replace("", None)


def to_duckdb(path: Path, tickets: pd.DataFrame, teams: pd.DataFrame | None = None) -> Path:
    """The sample's tables with DuckDB's inferred types, and ``tickets`` as given (typed timestamps)."""
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        for t in TABLES:
            if t == "teams" and teams is not None:
                con.register("teams_frame", teams)
                con.execute("CREATE TABLE teams AS SELECT * FROM teams_frame")
            else:
                con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv(?, header = true)", [str(SAMPLE / f"{t}.csv")])
        con.register("tickets_frame", pa.Table.from_pandas(tickets, preserve_index=False))
        con.execute("CREATE TABLE tickets AS SELECT * FROM tickets_frame")
        con.execute("CREATE TABLE program (toml VARCHAR)")
        con.execute("INSERT INTO program VALUES (?)", [(SAMPLE / "program.toml").read_text(encoding="utf-8")])
    return path


def assert_close(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: {set(a) ^ set(b)}"
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b)), \
            f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def assert_same_analysis(target, cutoff: str = CUTOFF, **kwargs) -> EngineData:
    """Whole rows and engine sums agree: ledger, effect (with event study and placebo), panel."""
    whole = peereval.load(target, cutoff=cutoff)
    summed = load_aggregated(target, cutoff)
    assert summed.ledger.to_dict() == whole.ledger.to_dict()
    a, b = peereval.effect(whole, "bug_turnaround", **kwargs), peereval.effect(summed, "bug_turnaround", **kwargs)
    assert_close(a.to_dict(), b.to_dict(), "effect")
    if a.events is not None:
        pd.testing.assert_frame_equal(a.events.summary(), b.events.summary(), rtol=1e-9)
    period = kwargs.get("period", "month")
    pa_, pb = (peereval.panel(d, "bug_turnaround", period=period, where=kwargs.get("where"),
                              window_days=kwargs.get("window_days")) for d in (whole, summed))
    pd.testing.assert_frame_equal(pa_, pb, rtol=1e-12, check_dtype=False, check_categorical=False)
    return summed


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    return to_duckdb(tmp_path_factory.mktemp("engine") / "sample.duckdb", _sample_tickets())


@pytest.mark.parametrize("kwargs", [{}, {"period": "week"}, {"where": {"priority": ["P1", "P2"]}, "window_days": 60},
                                    {"cluster": ["team", "period"]}])
def test_sample_in_duckdb_gives_the_rows_results(sample_db, kwargs):
    summed = assert_same_analysis(sample_db, **kwargs)
    assert summed.engine_rows == 10022  # every bug ticket before the cutoff; the other types are counted in the database


def test_nothing_stays_in_the_database_when_the_columns_are_text(tmp_path):
    tickets = _sample_tickets().astype({"created_at": str, "resolved_at": str}).replace("NaT", None)
    summed = assert_same_analysis(to_duckdb(tmp_path / "text.duckdb", tickets))
    assert summed.engine_rows == 0
    assert summed.why_fetched == "tickets.created_at is stored as varchar, not as a timestamp without time zone"


def test_a_pilot_start_with_a_time_of_day_fetches_every_ticket(tmp_path):
    teams = pd.read_csv(SAMPLE / "teams.csv")
    teams["pilot_start"] = pd.to_datetime(teams["pilot_start"]) + pd.Timedelta(hours=13)
    summed = assert_same_analysis(to_duckdb(tmp_path / "noon.duckdb", _sample_tickets(), teams))
    assert (summed.engine_rows, summed.why_fetched) == (0, "a pilot_start has a time of day")


def test_refusals_name_what_to_change(sample_db):
    no_cutoff = load_aggregated(sample_db, None)  # the ledger, for validate; no outcome can be placed
    assert no_cutoff.ledger.to_dict() == peereval.load(sample_db).ledger.to_dict()
    with pytest.raises(ArgumentError, match="need a cutoff"):
        peereval.effect(no_cutoff, "bug_turnaround")
    with pytest.raises(DataError, match="not a date"):
        load_aggregated(sample_db, "31.10.")
    summed = load_aggregated(sample_db, CUTOFF)
    onboarding = peereval.effect(summed, "onboarding")  # other tables are fetched whole: as usual
    assert onboarding.to_dict() == peereval.effect(peereval.load(sample_db, cutoff=CUTOFF), "onboarding").to_dict()
    with pytest.raises(ArgumentError, match="does not sum"):
        peereval.effect(summed, "bug_turnaround", covariates=["ticket_id"])


SPACES = st.sampled_from([" ", "\t", "\u00a0", "\u2003", "\n", "\x1f"])


@st.composite
def messy(draw) -> pd.DataFrame:
    """The sample's tickets with a drawn share of rows spoiled in one of the ways exports are."""
    t = _sample_tickets()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = len(t)

    def some(share_max: float) -> np.ndarray:
        share = draw(st.floats(0, share_max))
        return np.flatnonzero(rng.random(n) < share)

    for col in ("ticket_id", "team", "priority", "type"):
        rows = some(0.02)
        if len(rows):
            pad = draw(SPACES)
            side = draw(st.sampled_from(["left", "right", "both"]))
            vals = t.loc[rows, col].fillna("")
            t.loc[rows, col] = (pad if side != "right" else "") + vals + (pad if side != "left" else "")
    t.loc[some(0.01), "priority"] = draw(st.sampled_from(["", "  ", None]))
    t.loc[some(0.02), "type"] = draw(st.sampled_from(["Bug", "BUG", "feature", "", None, "bug\u00a0"]))
    t.loc[some(0.003), "team"] = draw(st.sampled_from(["team-zzz", "Team-Alpha", "", None, None, None]))
    t.loc[some(0.002), "created_at"] = pd.NaT
    back = some(0.003)
    t.loc[back, "resolved_at"] = t.loc[back, "created_at"] - pd.Timedelta(hours=2)
    odd = some(0.003)
    kind = draw(st.sampled_from(["TICKET-", "ticket_id", "", None]))
    t.loc[odd, "ticket_id"] = [kind if kind in ("", None) else f"{kind}{i}" for i in range(len(odd))]
    padded = some(0.003) if draw(st.sampled_from([False, False, True])) else []
    t = pd.concat([t, t.loc[padded].assign(ticket_id=t.loc[padded, "ticket_id"] + draw(SPACES))], ignore_index=True)
    n = len(t)
    again = some(0.003)
    copies = t.loc[again].copy()
    if draw(st.sampled_from([False, False, False, True])):
        copies["priority"] = "P9"  # the same id with other content: a problem to fix
    t = pd.concat([t, copies], ignore_index=True)
    return t.sample(frac=1.0, random_state=rng.integers(2**31)).reset_index(drop=True)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tickets=messy())
def test_messy_tickets_give_the_same_ledger_and_effect(tmp_path, tickets):
    target = to_duckdb(tmp_path / "messy.duckdb", tickets)
    try:
        whole = peereval.load(target, cutoff=CUTOFF)
    except DataError as exc:  # e.g. a repeated id with other content: the same problems either way
        with pytest.raises(DataError) as again:
            load_aggregated(target, CUTOFF)
        assert [str(p) for p in again.value.problems] == [str(p) for p in exc.problems]
        event("both refuse with the same problems")
        return
    event("both load")
    summed = load_aggregated(target, CUTOFF)
    assert summed.ledger.to_dict() == whole.ledger.to_dict()
    a, b = peereval.effect(whole, "bug_turnaround"), peereval.effect(summed, "bug_turnaround")
    assert_close(a.to_dict(), b.to_dict(), "effect")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(st.lists(st.integers(0, 40), max_size=60), st.lists(st.integers(0, 40), max_size=9),
                                st.sampled_from([-100, 0, 100])), min_size=1, max_size=4))
def test_medians_of_database_and_fetched_values_are_exact(tmp_path_factory, parts):
    """The database's middle values plus the fetched ones give numpy's median of the union (ties, empty parts,
    fetched values all below or above the database's, which moves the union's middle furthest)."""
    from peereval.engine.summaries import medians

    groups = [(kept, [v + shift for v in f]) for kept, f, shift in parts]

    path = tmp_path_factory.mktemp("medians") / "m.duckdb"
    stored = pd.DataFrame([(g, v / 4) for g, (kept, _) in enumerate(groups) for v in kept], columns=["g", "h"])
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (g INTEGER, h DOUBLE)")
        if len(stored):
            con.register("frame", stored)
            con.execute("INSERT INTO t SELECT * FROM frame")
    fetched = {(g,): np.array(f, dtype=float) / 4 for g, (_, f) in enumerate(groups) if f}
    got = medians(str(path), "SELECT g AS g0, h FROM t", 1, fetched)
    for g, (kept, f) in enumerate(groups):
        union = np.array(kept + f, dtype=float) / 4
        if len(union):  # the database's own median (no fetched values anywhere) may differ in the last bit
            assert got[(g,)] == np.median(union) or (not fetched and math.isclose(got[(g,)], np.median(union),
                                                                                  rel_tol=1e-15))
        else:
            assert (g,) not in got


def test_postgres_sums_give_the_rows_results(pg_url):
    """Typed columns (timestamp without time zone) in a real PostgreSQL server, plus messy rows."""
    import adbc_driver_postgresql.dbapi as adbc

    tickets = _sample_tickets()
    extra = tickets[tickets["type"] == "bug"].head(8).copy()
    extra["ticket_id"] = extra["ticket_id"] + "\u00a0"  # stripped here: the same id twice, a problem
    extra.loc[extra.index[:2], "team"] = "team-zzz"
    tickets = pd.concat([tickets, extra.iloc[5:8].assign(ticket_id=["\u00a0X1", "X2\t", "TICKET-3"])],
                        ignore_index=True)
    with adbc.connect(pg_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute('DROP SCHEMA IF EXISTS "engine" CASCADE')
        cur.execute('CREATE SCHEMA "engine"')
        for t in TABLES:
            frame = pd.read_csv(SAMPLE / f"{t}.csv", dtype=str, keep_default_na=False)
            cur.adbc_ingest(t, pa.Table.from_pandas(frame, preserve_index=False), mode="create", db_schema_name="engine")
        cur.adbc_ingest("tickets", pa.Table.from_pandas(tickets, preserve_index=False), mode="create",
                        db_schema_name="engine")
        cur.adbc_ingest("program", pa.table({"toml": [(SAMPLE / "program.toml").read_text(encoding="utf-8")]}),
                        mode="create", db_schema_name="engine")
    url = f"{pg_url}?schema=engine"
    summed = assert_same_analysis(url)
    assert summed.engine_rows == 10022  # three new ids, fetched (their spaces), the rest stays
    assert "@127.0.0.1" in repr(summed) and "1,377 counted there as out of scope, 3 fetched and checked here" in repr(summed)
    from test_database_source import assert_same

    from peereval.report.analysis import ReportParameters, summarise

    params = ReportParameters(data_dir=url, month="2026-10").validate()  # every view of the report, medians too
    whole_doc, summed_doc = (summarise(d, params).results() for d in (peereval.load(url, cutoff=CUTOFF), summed))
    for doc in (whole_doc, summed_doc):
        doc.pop("input_fingerprint"), doc.pop("tickets_summed_in_database")
    assert_same(whole_doc, summed_doc)
    with adbc.connect(pg_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.adbc_ingest("tickets", pa.Table.from_pandas(extra.iloc[:2], preserve_index=False), mode="append",
                        db_schema_name="engine")
    with pytest.raises(DataError) as whole:  # ids that repeat once stripped: a problem either way
        peereval.load(url, cutoff=CUTOFF)
    with pytest.raises(DataError) as summed:
        load_aggregated(url, CUTOFF)
    assert [str(p) for p in summed.value.problems] == [str(p) for p in whole.value.problems]
    assert extra["ticket_id"].iloc[0].strip() in str(whole.value)


def _report_results(target, tmp: Path, config: Path | None = None, **params) -> dict:
    import json

    from peereval.report.analysis import ReportParameters
    from peereval.report.runner import run_report

    outcome = run_report(ReportParameters(data_dir=str(target), month="2026-10", config=str(config or ""), **params),
                         tmp)
    doc = json.loads(outcome.results.read_text(encoding="utf-8"))
    return {k: v for k, v in doc.items() if k not in ("input_fingerprint", "parameters", "run",
                                                      "tickets_summed_in_database")}


def test_the_report_from_duckdb_sums_gives_the_folders_results(sample_db, tmp_path):
    """The whole report (results.json, every number) as from the folder, with the clean tickets summed in DuckDB."""
    from test_database_source import assert_same

    assert_same(_report_results(SAMPLE, tmp_path / "folder"), _report_results(sample_db, tmp_path / "db"))
    again = _report_results(sample_db, tmp_path / "rows", fetch_rows=True)
    assert_same(again, _report_results(sample_db, tmp_path / "db2"))


DECLARED = """
[program]
ticket_types = ["bug", "incident"]

[[outcomes]]
name = "Urgent turnaround"
kind = "duration"
table = "tickets"
team = "team"
start = "created_at"
end = "resolved_at"
window_days = 45
where = { priority = ["p1", "p2"] }
adjust_for = ["priority", "type"]
better = "lower"
"""


def test_declared_outcomes_on_tickets(sample_db, tmp_path):
    """A declared duration with a filter is summed in the database; a share of tickets needs the rows."""
    from test_database_source import assert_same

    from peereval.report.analysis import ReportParameters, load_for, summarise

    config = tmp_path / "program.toml"
    config.write_text(DECLARED, encoding="utf-8")
    params = ReportParameters(data_dir=str(sample_db), month="2026-10", config=str(config)).validate()
    summed = load_for(params)
    assert isinstance(summed, EngineData) and summed.engine_rows > 9000
    whole = summarise(peereval.load(sample_db, cutoff=params.cutoff, config_file=config), params).results()
    mine = summarise(summed, params).results()
    assert (whole.pop("tickets_summed_in_database"), mine.pop("tickets_summed_in_database")) == \
        (0, summed.engine_rows)
    for doc in (whole, mine):
        doc.pop("input_fingerprint")
    assert_same(whole, mine)
    config.write_text(DECLARED + '\n[[outcomes]]\nname = "P1 share"\nkind = "proportion"\ntable = "tickets"\n'
                      'team = "team"\ndate = "created_at"\nvalue = "priority"\nbetter = "lower"\n', encoding="utf-8")
    summed = load_aggregated(sample_db, CUTOFF, config_file=config)
    assert summed.engine_rows == 0 and "reads tickets as a proportion" in summed.why_fetched


def test_validate_counts_clean_tickets_inside_the_database(sample_db):
    import subprocess
    import sys

    cli = str(Path(sys.executable).with_name("peereval"))
    done = subprocess.run([cli, "validate", str(sample_db), "--month", "2026-10", "--quiet"], capture_output=True,
                          text=True, timeout=120, env={"COLUMNS": "200", "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "(10,022 tickets inside the database)" in done.stdout
    assert "ticket type not counted (only bug): 1,377" in done.stdout  # the ledger, as for files


def test_fingerprint_covers_the_tickets_left_in_the_database(tmp_path):
    tickets = _sample_tickets()
    base = load_aggregated(to_duckdb(tmp_path / "a.duckdb", tickets), CUTOFF).fingerprint
    shuffled = tickets.sample(frac=1.0, random_state=np.random.default_rng(7).integers(2**31))
    assert load_aggregated(to_duckdb(tmp_path / "b.duckdb", shuffled), CUTOFF).fingerprint == base
    moved = tickets.copy()
    moved.loc[moved["resolved_at"].notna().idxmax(), "resolved_at"] += pd.Timedelta(seconds=1)
    changed = load_aggregated(to_duckdb(tmp_path / "c.duckdb", moved), CUTOFF)
    assert changed.engine_rows == 10022 and changed.fingerprint != base


def test_which_sources_sum_in_the_database_by_default(sample_db):
    from peereval.engine import sums_in_database

    assert sums_in_database(sample_db) and not sums_in_database(SAMPLE)  # a DuckDB file sums; files never
    assert not sums_in_database("postgresql://u@h/db?schema=s")  # one server: reading the rows is faster
    assert sums_in_database("postgresql://u@h/db", fetch_rows=False) and not sums_in_database(sample_db, True)


def test_the_latest_month_counts_the_tickets_left_in_the_database(sample_db):
    from peereval.describe import latest_month

    assert latest_month(load_aggregated(sample_db, None)) == latest_month(peereval.load(sample_db)) == "2026-10"


@pytest.mark.parametrize("seed, one_team", [(1, True), (2, False)])
def test_generated_quirks_give_the_rows_report(tmp_path, seed, one_team):
    """Pilots starting on any weekday, one pilot team (conformal inference in time), blank priorities,
    empty team-months: every view of the report equals the whole-row path's."""
    from db_support import to_duckdb as folder_to_duckdb
    from test_database_source import assert_same

    from peereval.data.sample import generate
    from peereval.data.sample_quirks import Quirks
    from peereval.report.analysis import ReportParameters, summarise

    quirks = Quirks.random(seed).with_options(one_team_pilot=one_team, start_day="any", blank_priority=0.3,
                                              empty_months=0.05, changed_duplicate_people=0)
    generate(tmp_path / "folder", seed=seed, quirks=quirks)
    target = folder_to_duckdb(tmp_path / "q.duckdb", tmp_path / "folder")
    params = ReportParameters(data_dir=str(target), month="2026-10").validate()
    summed = load_aggregated(target, params.cutoff)
    assert summed.engine_rows > 9000
    docs = [summarise(d, params).results() for d in (peereval.load(target, cutoff=params.cutoff), summed)]
    for doc in docs:
        doc.pop("input_fingerprint"), doc.pop("tickets_summed_in_database")
    assert_same(*docs)


def test_an_earlier_cutoff_and_tickets_without_priority_or_type(sample_db, tmp_path):
    """Tickets created or resolved after the cutoff (counted and noted in the database), and the
    optional columns absent: the same ledger and numbers as the whole rows."""
    summed = assert_same_analysis(sample_db, cutoff="2026-06-30")
    notes = summed.ledger.to_dict()["tickets"]["notes"]
    assert notes["resolved after cutoff: counted as still open"] > 0
    assert summed.ledger.to_dict()["tickets"]["excluded"]["after cutoff"] > 0
    bare = assert_same_analysis(to_duckdb(tmp_path / "bare.duckdb", _sample_tickets().drop(columns=["priority",
                                                                                                     "type"])))
    assert bare.engine_rows == 11399  # every ticket counts when there is no type to tell bugs apart
    with pytest.raises(AttributeError, match="fetched.tickets"):
        bare.tickets  # noqa: B018 - most tickets are not here: a clear message, not a partial table
