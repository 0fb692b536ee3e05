"""Plain-language sentences for leadership, chosen by rule from the numbers.

All wording decisions live here so they can be tested (snapshot tests) and never drift into notebooks.
"""

from __future__ import annotations

import math

from peereval.config import Targets
from peereval.kpis import KPIResult

_NAMES = {
    "participation_rate": "Participation",
    "sessions_per_month": "Sessions per pilot team",
    "satisfaction": "Satisfaction",
}


def _pct(x: float) -> str:
    return f"{x:.0%}"


def kpi_sentence(kpi: str, value: float, target: float | None, status: str, n_people: int,
                 min_group: int) -> str:
    """One sentence about one KPI this month against its target."""
    name = _NAMES.get(kpi, kpi)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{name}: no data this month yet."
    if n_people < min_group:
        return f"{name}: suppressed this month (fewer than {min_group} people took part)."
    if kpi == "participation_rate":
        shown, tgt = _pct(value), (None if target is None else _pct(target))
        what = f"{name} was {shown} of invitations"
    elif kpi == "sessions_per_month":
        shown, tgt = f"{value:.1f}", (None if target is None else f"{target:g}")
        what = f"{name} ran {shown} sessions a month"
    else:
        shown, tgt = f"{value:.1f} out of 5", (None if target is None else f"{target:.1f}")
        what = f"{name} averaged {shown}"
    if target is None or status == "":
        return f"{what} (no target set)."
    if status == "too early":
        return f"{what}; too early to judge against the target of {tgt}."
    verdict = "meeting" if status == "met" else "below"
    return f"{what}, {verdict} the target of {tgt}."


def kpi_sentences(kpis: KPIResult, targets: Targets) -> list[str]:
    rows = kpis.table[(kpis.table.scope == "month") & (kpis.table.team == "all")].set_index("kpi")
    out = []
    for kpi in ("participation_rate", "sessions_per_month", "satisfaction"):
        r = rows.loc[kpi]
        target = None if math.isnan(r["target"]) else float(r["target"])
        out.append(kpi_sentence(kpi, float(r["value"]), target, str(r["status"]), int(r["n_people"]),
                                kpis.min_group_size))
    return out


def opening(analysis) -> str:
    """The first sentence: what this report covers and the design caveat."""
    teams = analysis.data.teams
    n_pilot = int((teams["cohort"] == "pilot").sum())
    n_control = int((teams["cohort"] == "control").sum())
    started = int(((teams["cohort"] == "pilot") & (teams["pilot_start"] <= analysis.data.cutoff)).sum())
    caveat = ("Pilot teams were chosen, not randomly assigned, so differences between them and control "
              "teams are not all caused by the program.")
    if n_pilot <= 2:
        caveat += f" With {n_pilot} pilot team{'s' if n_pilot != 1 else ''}, certainty is limited."
    return (f"This report covers {analysis.data.config.name} up to the end of {analysis.month}: "
            f"{started} of {n_pilot} pilot teams have started, compared with {n_control} control teams. {caveat}")
