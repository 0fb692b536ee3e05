"""Build each outcome's analysis frame with the kind's module, once per loaded data set."""

from __future__ import annotations

from peereval.data.cohort import CohortData
from peereval.outcomes import duration, mean, milestone, proportion, rate
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame
from peereval.periods import Calendar, Period

BUILDERS = {"duration": duration.build, "milestone": milestone.build, "proportion": proportion.build,
            "mean": mean.build, "rate": rate.build}

def build(data: CohortData, outcome: Outcome, calendar: Calendar | None = None) -> OutcomeFrame:
    """The analysis frame of one outcome (derived once; every estimate and view reads it).

    ``data`` may also be :class:`~peereval.engine.EngineData`, whose tickets are summed in the database.
    """
    if not isinstance(data, CohortData):
        from peereval.engine import build as build_in_database

        return build_in_database(data, outcome, calendar or Calendar.of(data))
    return BUILDERS[outcome.kind](data, outcome, calendar or Calendar.of(data))


def build_all(data: CohortData, period: Period = "month") -> dict[str, OutcomeFrame]:
    """Frames of every provided outcome (declared, or the two defaults), keyed by ``Outcome.key``.

    ``period``: the periods the estimates compare (``"month"``, or ``"week"`` for weekly reads).
    """
    cal = Calendar.of(data, period)
    return {o.key: build(data, o, cal) for o in data.config.outcomes if data.provided(o.table)}
