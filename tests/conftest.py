"""Shared fixtures: a tiny hand-made data folder whose KPIs are computed by hand in the tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg_url():
    """One throwaway PostgreSQL server for the whole run (tests/db_support.py); skipped, with the
    reason, where none can be started."""
    from db_support import postgres_server, unavailable

    why = unavailable()
    if why:
        pytest.skip(why)
    with postgres_server() as url:
        yield url

SAMPLE = ROOT / "data" / "sample"

TINY = {
    "teams": pd.DataFrame({
        "team": ["A", "B", "C"],
        "cohort": ["pilot", "pilot", "control"],
        "pilot_start": ["2026-01-01", "2026-02-15", ""],
    }),
    "people": pd.DataFrame({
        "person_id": ["a1", "a2", "a3", "b1", "b2", "c1", "c2"],
        "team": ["A", "A", "A", "B", "B", "C", "C"],
        "role": ["engineer"] * 7,
        "hire_date": ["2025-06-01", "2025-07-01", "2026-01-10", "2025-01-01", "2026-02-20", "2025-03-01", "2026-01-05"],
        "name": ["Canary Alpha", "Bob Beta", "Cy Gamma", "Di Delta", "Ed Eps", "Fay Zeta", "Gus Eta"],
        "email": ["canary.alpha@example.com", "b@x.io", "c@x.io", "d@x.io", "e@x.io", "f@x.io", "g@x.io"],
    }),
    "sessions": pd.DataFrame({
        "session_id": ["s1", "s2", "s3", "s4"],
        "date": ["2026-01-10", "2026-02-05", "2026-02-20", "2026-03-02"],
        "format": ["skill-swap", "demo-and-discuss", "skill-swap", "peer coaching"],
        "duration_minutes": [60, 30, 45, 90],
        "facilitator_id": ["a1", "a2", "b1", "a1"],
    }),
    "attendance": pd.DataFrame({
        "session_id": ["s1", "s1", "s2", "s2", "s2", "s3", "s3", "s4"],
        "person_id": ["a2", "a3", "a1", "a3", "c1", "b2", "b1", "a2"],
        "status": ["attended", "absent", "attended", "attended", "absent", "attended", "attended", "attended"],
    }),
    "milestones": pd.DataFrame({
        "person_id": ["a3", "b2", "c2", "a3"],
        "milestone": ["competent", "competent", "competent", "first_pr"],
        "date": ["2026-02-10", "2026-03-05", "2026-02-20", "2026-01-20"],
    }),
    "tickets": pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
        "team": ["A", "A", "B", "C", "C"],
        "created_at": ["2026-01-05T10:00:00", "2026-02-01T09:00:00", "2026-02-10T12:00:00",
                       "2026-02-11T08:00:00", "2026-02-27T08:00:00"],
        "resolved_at": ["2026-01-06T10:00:00", "", "2026-02-12T12:00:00", "2026-02-11T20:00:00", "2026-03-03T08:00:00"],
        "type": ["bug", "bug", "bug", "bug", "feature"],
    }),
    "surveys": pd.DataFrame({
        "person_id": ["a1", "a2", "a3", "b1", "b2", "a1"],
        "date": ["2026-02-28", "2026-02-28", "2026-02-28", "2026-02-28", "2026-02-28", "2026-03-05"],
        "score": ["4", "5", "", "3", "4", "2"],
        "comment": ["great", "", "", "Thanks Canary Alpha", "", ""],
    }),
}


def write_folder(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "csv", config: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        elif fmt == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_excel(folder / f"{name}.xlsx", index=False)
    if config is not None:
        (folder / "program.toml").write_text(config)
    return folder


@pytest.fixture
def tiny_tables() -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in TINY.items()}


@pytest.fixture
def tiny(tmp_path: Path, tiny_tables) -> Path:
    return write_folder(tmp_path / "tiny", tiny_tables)
