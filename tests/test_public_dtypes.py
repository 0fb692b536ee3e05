"""Analyses of a CohortData give the same numbers whatever the text dtype of its team columns.

The loader hands the tickets' team/priority/type over as Categoricals (sorted categories of the
values present); users may convert other columns too. Two Categoricals with different category
sets cannot be compared with ``!=``, so checks compare team names as values.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
from conftest import SAMPLE

import peereval
from peereval import checks


def test_integrity_compares_team_names_as_values():
    """Sessions' and people's team as Categoricals with different categories (reversed, one extra):
    the cross-team facilitation check counts the same people as with text (some, by construction)."""
    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    cohort = data.teams.set_index("team")["cohort"]
    own = data.sessions["facilitator_id"].map(data.people.set_index("person_id")["team"]).map(cohort)
    other = {"pilot": data.teams.loc[data.teams["cohort"] == "control", "team"].iloc[0],
             "control": data.teams.loc[data.teams["cohort"] == "pilot", "team"].iloc[0]}
    moved = data.sessions.index[:12]  # these sessions were led for a team of the other cohort
    team = data.sessions["team"].copy()
    team[moved] = own[moved].map(other)
    plain = dataclasses.replace(data, sessions=data.sessions.assign(team=team))
    cats = sorted(set(data.people["team"]))
    coded = dataclasses.replace(
        plain, sessions=plain.sessions.assign(team=pd.Categorical(team, categories=[*cats[::-1], "team-zz"])),
        people=data.people.assign(team=pd.Categorical(data.people["team"], categories=cats)))
    expected = checks.integrity(plain).to_dict()
    assert expected["people facilitating across pilot/control"]["value"] > 0
    assert checks.integrity(coded).to_dict() == expected
