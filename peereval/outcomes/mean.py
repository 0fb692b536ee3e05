"""``mean`` outcomes: the mean of a number per row (e.g. deal size, CSAT score, review hours).

Estimand on ``scale = "log"``: relative change in the typical (geometric-mean) value — DiD on
team-period means of log ``value`` weighted by rows; values ≤ 0 cannot be on that scale and are
counted. On ``scale = "level"``: change in the mean, in the value's units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame
from peereval.outcomes.proportion import _build
from peereval.periods import Calendar


def build(data: CohortData, o: Outcome, cal: Calendar) -> OutcomeFrame:
    if o.scale == "log":
        def parse(values: pd.Series) -> pd.Series:
            v = pd.to_numeric(values, errors="coerce")
            return np.log(v.where(v > 0))
        bad = 'is not a positive number (a log scale needs values above 0; use scale = "level")'
    else:
        def parse(values: pd.Series) -> pd.Series:
            return pd.to_numeric(values, errors="coerce")
        bad = "is not a number"
    return _build(data, o, cal, parse, bad)
