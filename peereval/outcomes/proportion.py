"""``proportion`` outcomes: the share of rows where ``value`` is true (e.g. deals won among closed deals).

Estimand: change in the share, in percentage points, by DiD on team-period shares weighted by
rows; the relative change is shown beside it. Rows are placed and exposed by ``date``. ``value``
may be written 1/0, true/false, yes/no (any case); anything else is counted and left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame, count, in_scope, link_team
from peereval.periods import Calendar, transition_reason

TRUE = ("1", "1.0", "true", "yes", "y", "t", "won")
FALSE = ("0", "0.0", "false", "no", "n", "f", "lost")


def as_bool(values: pd.Series) -> pd.Series:
    """1.0 / 0.0 for true / false spellings, NaN for blanks and anything else."""
    text = values.astype("string").str.strip().str.lower()
    return pd.Series(np.select([text.isin(TRUE).fillna(False), text.isin(FALSE).fillna(False)], [1.0, 0.0], np.nan),
                     index=values.index)


def build(data: CohortData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    return _build(data, o, cal, as_bool, "is not true/false (write 1/0, true/false or yes/no)")


def _build(data: CohortData, o: Outcome, cal: Calendar, parse, bad: str) -> OutcomeFrame:
    src = data.table(o.table)
    excluded: dict[str, int] = {}
    cols = [c for c in dict.fromkeys([o.person, o.team, o.date, o.value, *o.where, *o.adjust_for]) if c]
    df = link_team(data, o, src[cols])
    df = in_scope(df, o, o.date, cal.end, excluded)
    blank = df[o.value].isna() | (df[o.value].astype("string").str.strip() == "").fillna(False)
    count(excluded, f"no {o.value}", blank)
    df = df[~blank.to_numpy()]
    y = parse(df[o.value])
    invalid = y.isna().to_numpy()
    count(excluded, f"{o.value} {bad}", invalid)
    df = df[~invalid].assign(y=y[~invalid].to_numpy())
    rows, transition = cal.expose(df.assign(date=df[o.date]), "date")
    rows["used"] = ~transition.to_numpy()
    count(excluded, transition_reason(cal.period), transition)
    return OutcomeFrame(o, rows.reset_index(drop=True), cal, excluded, {})
