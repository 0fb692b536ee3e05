"""Free-text survey comments for the report: only when allowed, only for large groups, never naming anyone.

A comment is shown only when ``show_comments = true`` in program.toml, only when at least
``min_group_size`` different people in pilot teams commented, and never when it contains a
person's name, name part, e-mail address or id from the people export (it is then withheld and
counted). Comments are never attributed to a person or a team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peereval.data.cohort import CohortData
from peereval.data.reading import find_files, read_table

MAX_SHOWN = 12
MIN_NAME_PART = 3


@dataclass(frozen=True)
class Comments:
    """What the report may show: the comments, how many were withheld, and why none, if none."""

    shown: tuple[str, ...]
    withheld: int
    reason: str = ""


def _database_people(target: str):
    from peereval.data.contract import TABLES
    from peereval.data.sources import DatabaseSource

    source = DatabaseSource(target)
    try:
        found, _ = source.find(())
        return source.read("people", found["people"], TABLES["people"])[0] if "people" in found else None
    finally:
        source.close()


def person_terms(folder: Path | str) -> set[str]:
    """Lower-cased names, name parts, e-mails (and their local parts) and ids from the people export."""
    from peereval.data.database import is_database

    if is_database(folder):  # a database: read people through the same source as the loader
        raw = _database_people(folder)
    else:
        files, _ = find_files(folder)
        if "people" not in files:
            return set()
        raw, _ = read_table("people", files["people"])
    if raw is None:
        return set()
    terms: set[str] = set()
    frame = raw.frame
    for col in ("person_id", "name", "email"):
        if col not in frame.columns:
            continue
        for value in frame[col].dropna().astype(str):
            value = value.strip().lower()
            if not value:
                continue
            terms.add(value)
            if col == "email":
                terms.add(value.split("@")[0])
            if col in ("name", "email"):
                terms.update(p for p in re.split(r"[\s.@_\-]+", value.split("@")[0]) if len(p) >= MIN_NAME_PART)
    return terms


def _names_someone(text: str, terms: set[str]) -> bool:
    words = set(re.split(r"[^\w@.\-]+", text.lower()))
    parts = set(re.split(r"[^\w]+", text.lower()))
    lowered = text.lower()
    return bool((words | parts) & terms) or any(t in lowered for t in terms if "@" in t or " " in t)


def select_comments(data: CohortData, since: pd.Timestamp | None = None) -> Comments:
    """Comments from pilot-team respondents (optionally since a date) that are safe to show."""
    cfg = data.config
    if not cfg.show_comments:
        return Comments((), 0, "Comments are not shown (show_comments is off in program.toml).")
    if "comment" not in data.surveys.columns:
        return Comments((), 0, "The survey export has no comment column.")
    pilot_people = data.people.loc[data.people["team"].isin(data.pilot_teams["team"]), "person_id"]
    s = data.surveys[data.surveys["person_id"].isin(pilot_people) & data.surveys["comment"].notna()]
    if since is not None:
        s = s[s["date"] >= since]
    s = s[s["comment"].str.strip() != ""]
    if s["person_id"].nunique() < cfg.min_group_size:
        return Comments((), 0, f"suppressed: fewer than {cfg.min_group_size} people commented.")
    terms = person_terms(data.source)
    safe, withheld = [], 0
    for text in s.sort_values("date", ascending=False)["comment"]:
        if _names_someone(text, terms):
            withheld += 1
        elif len(safe) < MAX_SHOWN:
            safe.append(text.strip()[:500])
    return Comments(tuple(safe), withheld)
