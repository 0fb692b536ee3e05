"""Presentation: pure functions from an analysis to HTML fragments and figures.

Nothing here computes a statistic. Privacy is enforced here, at the last step before a reader:
no person-level identifier is ever rendered, and figures about fewer than ``min_group_size``
people read "suppressed".
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from peereval.report import charts, wording
from peereval.report.analysis import MonthlyAnalysis

SUPPRESSED = "suppressed"
KPI_LABELS = {
    "participation_rate": "Participation (attended / invited)",
    "sessions_per_month": "Sessions per pilot team per month",
    "avg_session_minutes": "Average session length",
    "reciprocity": "Reciprocity (participants who also led a session)",
    "satisfaction": "Satisfaction (survey, 1–5)",
}


class Html:
    """An HTML fragment that Jupyter displays as HTML."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def figure(fig: plt.Figure, alt: str) -> Html:
    """Embed a figure as a PNG data URI with alt text (self-contained, no external request)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return Html(f'<figure class="pe-figure"><img src="data:image/png;base64,{data}" alt="{esc(alt)}" />'
                f"<figcaption>{esc(alt)}</figcaption></figure>")


def fmt_kpi(kpi: str, value: float) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if kpi in ("participation_rate", "reciprocity"):
        return f"{value:.0%}"
    if kpi == "avg_session_minutes":
        return f"{value:.0f} min"
    if kpi == "satisfaction":
        return f"{value:.1f} / 5"
    return f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]], caption: str = "", notes: list[str] | None = None) -> Html:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    foot = "".join(f'<p class="pe-note">{esc(n)}</p>' for n in notes or [])
    return Html(f'<table class="pe-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}')


def _status_badge(status: str) -> str:
    cls = {"met": "pe-met", "not met": "pe-notmet", "too early": "pe-early"}.get(status, "")
    return f'<span class="pe-badge {cls}">{esc(status or "no target")}</span>'


def summary(a: MonthlyAnalysis) -> Html:
    """The plain-language opening: one sentence per KPI against its target."""
    items = "".join(f"<li>{esc(s)}</li>" for s in wording.kpi_sentences(a.kpis, a.data.config.targets))
    intro = esc(wording.opening(a))
    return Html(f'<div class="pe-summary"><p>{intro}</p><ul>{items}</ul></div>')


def scorecard(a: MonthlyAnalysis) -> Html:
    """KPIs this month and since the start, each with its target and status."""
    t = a.kpis.table[a.kpis.table.team == "all"].set_index(["kpi", "scope"])
    rows = []
    for kpi in KPI_LABELS:
        m, c = t.loc[(kpi, "month")], t.loc[(kpi, "cumulative")]
        target = "—" if pd.isna(m["target"]) else fmt_kpi(kpi, m["target"])
        month_v = SUPPRESSED + "¹" if m["n_people"] < a.kpis.min_group_size and not pd.isna(m["value"]) \
            else fmt_kpi(kpi, m["value"])
        cum_v = SUPPRESSED + "¹" if c["n_people"] < a.kpis.min_group_size and not pd.isna(c["value"]) \
            else fmt_kpi(kpi, c["value"])
        if kpi == "satisfaction" and not str(month_v).startswith(SUPPRESSED) and not pd.isna(m["ci_low"]):
            month_v += f" (95% CI {m['ci_low']:.1f}–{m['ci_high']:.1f}; {int(m['n'])} answers)"
        rows.append([esc(KPI_LABELS[kpi]), esc(month_v), esc(cum_v), esc(target),
                     _status_badge(m["status"]) if not pd.isna(m["target"]) else ""])
    return _table(["KPI", f"{a.month}", "since each team's start", "target", "status this month"], rows,
                  notes=[f"¹ suppressed: fewer than {a.kpis.min_group_size} people behind this figure.",
                         "“too early”: too few people or less than one active team-month behind the figure."])


def per_team(a: MonthlyAnalysis) -> Html:
    """KPIs per pilot team since its start; small teams suppressed (with complementary suppression)."""
    t = a.kpis.table[(a.kpis.table.team != "all") & (a.kpis.table.scope == "cumulative")]
    if t.empty:
        return Html("<p>No pilot team has started yet.</p>")
    sizes = t[t.kpi == "sessions_per_month"].set_index("team")["n_people"]
    hidden = set(sizes[sizes < a.kpis.min_group_size].index)
    if len(hidden) == 1 and len(sizes) > 1:  # one hidden team could be recovered from the total
        hidden.add(sizes.drop(list(hidden)).idxmin())
    rows = []
    for i, team in enumerate(sorted(sizes.index), start=1):
        sub = t[t.team == team].set_index("kpi")
        label = f"Pilot team {i}"
        if team in hidden:
            rows.append([label] + [SUPPRESSED + "²"] * 4)
        else:
            rows.append([label] + [esc(fmt_kpi(k, sub.loc[k, "value"])) for k in
                                   ("participation_rate", "sessions_per_month", "avg_session_minutes", "reciprocity")])
    return _table(["team", "participation", "sessions / month", "avg length", "reciprocity"], rows,
                  notes=[f"² suppressed: a team with fewer than {a.kpis.min_group_size} people, or a second team "
                         "hidden so the first cannot be recovered from the totals.",
                         "Teams are numbered, not named, in this report."])


def formats(a: MonthlyAnalysis) -> Html:
    f = a.kpis.formats[a.kpis.formats.scope == "cumulative"].sort_values("sessions", ascending=False)
    if f.empty:
        return Html("<p>No sessions yet.</p>")
    rows = [[esc(r.format), esc(int(r.sessions))] for r in f.itertuples()]
    return _table(["format", "sessions since start"], rows)


def turnaround_chart(a: MonthlyAnalysis) -> Html:
    if not a.data.provided("tickets"):
        return Html("<p>Not provided: no tickets table in the data folder.</p>")
    fig = charts.turnaround_trend(a.turnaround, a.data.pilot_teams["pilot_start"], a.month)
    return figure(fig, "Line chart: median hours to resolve a bug by the month it was reported, pilot teams "
                       "versus control teams, with dotted lines where pilot waves started.")


def onboarding_chart(a: MonthlyAnalysis) -> Html:
    if not a.data.provided("milestones"):
        return Html("<p>Not provided: no milestones table in the data folder.</p>")
    fig, hidden = charts.onboarding_curves(a.onboarding, a.kpis.min_group_size)
    tenured = a.onboarding.attrs.get("tenured_staff", 0)
    note = (f'<p class="pe-note">{tenured:,} people hired before the data window are tenured staff and are '
            "not part of this comparison.</p>") if tenured else ""
    note += "".join(f'<p class="pe-note">{esc(charts.LABELS[g])}: suppressed (fewer than '
                   f"{a.kpis.min_group_size} hires).</p>" for g in hidden)
    return Html(figure(fig, "Step chart: share of new hires not yet competent by days since hire, pilot "
                            "versus control hires (Kaplan–Meier curves, counting hires not yet competent).").markup + note)


def ledger(a: MonthlyAnalysis) -> Html:
    """Every input row: used, or excluded with its reason."""
    rows = []
    for table, entry in a.data.ledger.to_dict().items():
        reasons = "<br>".join(f"{esc(r)}: {n:,}" for r, n in entry["excluded"].items()) or "none"
        notes = "<br>".join(f"{esc(r)}: {n:,}" for r, n in entry["notes"].items())
        rows.append([esc(table), f"{entry['rows_read']:,}", f"{entry['rows_used']:,}", reasons, notes])
    for table in a.data.missing_tables:
        rows.append([esc(table), "not provided", "—", "—", ""])
    return _table(["table", "rows read", "rows used", "rows excluded, by reason", "notes"], rows)


def provenance(a: MonthlyAnalysis, run: dict[str, Any] | None = None) -> Html:
    from peereval import __version__

    params = {k: v for k, v in a.params.to_dict().items() if k != "data_dir"}
    items = {
        "peereval version": __version__,
        "report month": a.month,
        "cutoff (last day counted)": a.data.cutoff.date().isoformat() if a.data.cutoff is not None else "none",
        "input fingerprint (sha256)": a.data.fingerprint,
        "parameters": json.dumps(params, sort_keys=True),
    }
    if run:
        items.update({k: str(v) for k, v in run.items()})
    return _table(["", ""], [[esc(k), f"<code>{esc(v)}</code>"] for k, v in items.items()])
