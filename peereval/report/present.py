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

from peereval.checks import PRETREND_ALERT_P
from peereval.investment import Investment, WorthIt
from peereval.report import wording
from peereval.report.analysis import MonthlyAnalysis

SUPPRESSED = "suppressed"
WEEK_OF_MONTH = 7 / (365.25 / 12)  # a week's share of a month: converts monthly session rates and targets
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
    """The plain-language opening: one sentence per outcome, then each KPI against its target."""
    from peereval.report import outcome_wording

    checks = a.integrity.to_dict()
    outcomes = [outcome_wording.outcome_sentence(r.to_dict() | {"median_days_control":
                                                                r.effect.extra.get("median_days_control")},
                                                 r.typical, wording.cautions(checks, r.key))
                for r in a.outcomes]
    outcomes += [f"{o.name}: not provided (no {o.table} table)." for o in a.inputs.config.outcomes
                 if not a.inputs.provided(o.table)]
    items = "".join(f"<li><strong>{esc(s)}</strong></li>" for s in outcomes)
    items += "".join(f"<li>{esc(s)}</li>" for s in wording.kpi_sentences(a.kpis, a.inputs.config.targets))
    intro = esc(wording.opening(a))
    early = outcome_wording.early_read(a.outcomes, a.period)
    lead = f"<p><strong>{esc(early)}</strong></p>" if early else ""
    cfg = a.inputs.config
    plan = "" if cfg.planned_end or cfg.planned_weeks else (
        '<p class="pe-note">No pilot plan is declared (planned_end or planned_weeks in program.toml), so repeated '
        "reads of the same pilot are exploratory: each read's 95% interval holds for that read on its own, and "
        "reading again until something looks clear raises the chance of a false \"clearly\".</p>")
    return Html(f'<div class="pe-summary"><p>{intro}</p>{lead}<ul>{items}</ul>{plan}</div>')


def scorecard(a: MonthlyAnalysis) -> Html:
    """KPIs this month and since the start, each with its target and status."""
    t = a.kpis.table[a.kpis.table.team == "all"].set_index(["kpi", "scope"])
    weekly = a.period == "week"
    rows = []
    for kpi in KPI_LABELS:
        m, c = t.loc[(kpi, "period")].copy(), t.loc[(kpi, "cumulative")].copy()
        if weekly and kpi == "sessions_per_month":  # shown per week; the monthly target converted alike
            for row in (m, c):
                row[["value", "target"]] = row[["value", "target"]] * WEEK_OF_MONTH
        target = "—" if pd.isna(m["target"]) else fmt_kpi(kpi, m["target"])
        month_v = SUPPRESSED + "¹" if m["n_people"] < a.kpis.min_group_size and not pd.isna(m["value"]) \
            else fmt_kpi(kpi, m["value"])
        cum_v = SUPPRESSED + "¹" if c["n_people"] < a.kpis.min_group_size and not pd.isna(c["value"]) \
            else fmt_kpi(kpi, c["value"])
        if kpi == "satisfaction" and not str(month_v).startswith(SUPPRESSED) and not pd.isna(m["ci_low"]):
            month_v += f" (95% CI {m['ci_low']:.1f}–{m['ci_high']:.1f}; {int(m['n'])} answers)"
        label = KPI_LABELS[kpi].replace("per month", "per week") if weekly else KPI_LABELS[kpi]
        rows.append([esc(label), esc(month_v), esc(cum_v), esc(target),
                     _status_badge(m["status"]) if not pd.isna(m["target"]) else ""])
    notes = [f"¹ suppressed: fewer than {a.kpis.min_group_size} people behind this figure.",
             f"“too early”: too few people or less than one active team-{a.period} behind the figure."]
    if weekly:
        notes.append("Sessions per week: the monthly target converted by 7 / 30.44 days (a week's share of a "
                     "month).")
    return _table(["KPI", f"{a.month}", "since each team's start", "target", f"status this {a.period}"], rows,
                  notes=notes)


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


def ledger(a: MonthlyAnalysis) -> Html:
    """Every input row: used, or excluded with its reason; then what each estimate left out."""
    rows = []
    for table, entry in a.inputs.ledger.items():
        reasons = "<br>".join(f"{esc(r)}: {n:,}" for r, n in entry["excluded"].items()) or "none"
        notes = "<br>".join(f"{esc(r)}: {n:,}" for r, n in entry["notes"].items())
        rows.append([esc(table), f"{entry['rows_read']:,}", f"{entry['rows_used']:,}", reasons, notes])
    for table in a.inputs.missing_tables:
        rows.append([esc(table), "not provided", "—", "—", ""])
    left_out = [[esc(f"{r.outcome.name} ({r.outcome.table})"), esc(reason), f"{n:,}"]
                for r in a.outcomes for reason, n in r.effect.excluded.items() if n]
    extra = _table(["estimate", "rows used elsewhere in the report but left out of this estimate", "rows"],
                   left_out).markup if left_out else ""
    where = (f"<p>{a.inputs.summed_in_database:,} tickets passed every check inside the database and were summed "
             "there (not copied out); the other rows were read and checked here.</p>") \
        if a.inputs.summed_in_database else ""
    return Html(_table(["table", "rows read", "rows used", "rows excluded, by reason", "notes"], rows).markup + where
                + extra)


def provenance(a: MonthlyAnalysis, run: dict[str, Any] | None = None) -> Html:
    from peereval import __version__

    params = {k: v for k, v in a.params.to_dict().items() if k != "data_dir"}
    items = {
        "peereval version": __version__,
        "report month": a.month,
        "cutoff (last day counted)": a.inputs.cutoff.date().isoformat() if a.inputs.cutoff is not None else "none",
        "input fingerprint (sha256)": a.inputs.fingerprint,
        "parameters": json.dumps(params, sort_keys=True),
    }
    if run:
        items.update({k: str(v) for k, v in run.items()})
    return _table(["", ""], [[esc(k), f"<code>{esc(v)}</code>"] for k, v in items.items()])


def balance(a: MonthlyAnalysis) -> Html:
    if a.balance is None:
        return Html("<p>Balance cannot be checked yet (no started pilot or no control teams).</p>")
    cohort_people = a.inputs.people_by_cohort
    if min(cohort_people.get("pilot", 0), cohort_people.get("control", 0)) < a.kpis.min_group_size:
        return Html(f"<p>{SUPPRESSED}: pilot or control teams have fewer than {a.kpis.min_group_size} people "
                    "in all.</p>")
    rows = []
    for r in a.balance.summary().itertuples():
        rows.append([esc(r.covariate), f"{r.mean_treated:.2f}", f"{r.mean_control:.2f}", f"{r.smd:+.2f}",
                     "differs" if r.flag else "similar"])
    return _table(["before the first start, per team", "pilot teams", "control teams", "standardized difference",
                   ""], rows, notes=["Differences above 0.1 in absolute value are flagged. Team and month "
                                     "fixed effects absorb stable differences; they cannot absorb differences "
                                     "in trends."])


def integrity(a: MonthlyAnalysis) -> Html:
    rows = [[esc(r.check), _status_badge("met" if r.verdict == "ok" else "not met").replace(">met<", ">ok<")
             .replace(">not met<", f">{esc(r.verdict)}<"), esc(r.threshold), esc(r.detail)]
            for r in a.integrity.checks.itertuples()]
    return _table(["check", "verdict", "alert when", "what we found"], rows)


def methods(a: MonthlyAnalysis) -> Html:
    from peereval.report.outcome_views import methods as outcome_methods

    parts = [outcome_methods(r) for r in a.outcomes]
    parts += [
        "<p><strong>Were pilot teams already different?</strong> For each outcome compared month by month, a "
        "placebo test pretends each pilot team started some months before it really did and runs the same "
        "comparison on the rows from before any real start; a change found there (p below "
        f"{PRETREND_ALERT_P:.2f}) means the pilot teams were already drifting apart from the control teams, and the "
        "summary then says the comparison may not be trustworthy.</p>",
        "<p><strong>KPIs.</strong> Participation is attended ÷ invited over pilot sessions. Sessions per month "
        "counts pilot sessions per active pilot team-month (a team is active from its start date; a part month "
        "counts by its days). Reciprocity is the share of participants who also led a session. Satisfaction is "
        "the mean survey score with a 95% interval that allows for people answering more than once.</p>",
        "<p><strong>Time invested.</strong> Attendee hours add each attended invitation's session length; "
        "facilitator hours add each session's length once; person hours count each person once per session (a "
        "facilitator also listed as attending is not counted twice). Gains are shown beside the hours only where "
        "an outcome is measured in time: days sooner to a milestone × pilot hires (person-days), and elapsed "
        "hours saved per item × pilot items (elapsed time, not working effort). Money is shown only when "
        "cost_per_hour is set in program.toml, and only for the hours invested.</p>",
        "<p><strong>Caveats.</strong> " + esc(wording.design_caveat(a.inputs.n_pilot_teams))
        + " The estimates assume that, without the program, pilot and control teams would have changed alike.</p>",
    ]
    return Html("".join(parts))


def comments(a: MonthlyAnalysis) -> Html:
    """Survey comments when allowed: unattributed, large groups only, never naming a person."""
    c = a.comments
    if c is None or not c.shown:
        return Html(f"<p>{esc((c.reason if c else '') or 'No comments to show.')}</p>")
    items = "".join(f"<li>“{esc(t)}”</li>" for t in c.shown)
    note = (f'<p class="pe-note">{c.withheld} comment{"s" if c.withheld != 1 else ""} withheld because '
            "they name a person.</p>") if c.withheld else ""
    return Html(f'<ul class="pe-comments">{items}</ul>{note}')


def _hours_cell(value, mark: str = "¹", digits: int = 1) -> str:
    return SUPPRESSED + mark if value is None else esc(f"{value:,.{digits}f}")


def investment_section(inv: Investment, worth: WorthIt, min_group_size: int) -> Html:
    """"Was it worth the time?": hours invested, per pilot team this month, and each gain in its units.

    Pure function of the two results; privacy comes from their ``to_dict`` (no team names, small
    groups suppressed with their complement), so the page and ``results.json`` agree.
    """
    d, w = inv.to_dict(min_group_size), worth.to_dict(min_group_size)
    items = "".join(f"<li>{esc(s)}</li>" for s in wording.worth_it_sentences(d, w, min_group_size))
    month, cum = d["month"], d["cumulative"]
    rows = [[esc("Sessions"), *(SUPPRESSED + "¹" if s["sessions"] is None else f"{s['sessions']:,}"
                                for s in (month, cum))]]
    for key, label in (("attendee_hours", "Attendee hours"), ("facilitator_hours", "Facilitator hours"),
                       ("person_hours", "People's time, hours (each person once per session)")):
        rows.append([esc(label), _hours_cell(month[key]), _hours_cell(cum[key])])
    rows.append([esc("Hours per person in pilot teams"), _hours_cell(month["pilot"]["hours_per_person"]),
                 _hours_cell(cum["pilot"]["hours_per_person"])])
    for group, label in (("control", "of which in sessions held by control teams, hours"),
                         ("unknown_team", "of which in sessions of no known team, hours")):
        if cum[group]["sessions"] or cum[group]["suppressed"]:
            rows.append([esc(label), _hours_cell(month[group]["person_hours"]),
                         _hours_cell(cum[group]["person_hours"])])
    if d["cost_per_hour"] is not None:
        rows.append([esc(f"Cost of people's time at {d['cost_per_hour']:,g} per hour"),
                     _hours_cell(month.get("cost"), digits=0), _hours_cell(cum.get("cost"), digits=0)])
    invested = _table(["time in sessions", d["report_month"], "up to its end, since the first session"], rows,
                      notes=[f"¹ suppressed: fewer than {min_group_size} people behind this figure.",
                             "Hours are session time as recorded; preparation time is not in the data. Sessions of "
                             "control teams or of no known team are program time too and are included."])
    team_rows = [[esc(r["team"]), *([SUPPRESSED + "²"] * 4 if r["suppressed"] else
                                    [f"{r['sessions']:,}", _hours_cell(r["attendee_hours"]),
                                     _hours_cell(r["facilitator_hours"]), _hours_cell(r["hours_per_person"])])]
                 for r in d["per_team_month"] if r["month"] == d["report_month"]]
    teams = _table(["team", "sessions", "attendee hours", "facilitator hours", "hours per person"], team_rows,
                   caption=f"Pilot teams in {d['report_month']}",
                   notes=[f"² suppressed: a team with fewer than {min_group_size} people, or a second team hidden "
                          "so the first cannot be recovered from the totals."]).markup if team_rows else ""
    gain_rows = []
    for g in w["gains"]:
        if g["refused"] or g["suppressed"]:
            gain_rows.append([esc(g["outcome"]), esc(g["refused"] or SUPPRESSED + "¹"), "", "", esc(g["measure"])])
            continue
        ci = "—" if g["ci_low"] is None else f"{g['ci_low']:,.0f} to {g['ci_high']:,.0f}"
        what = g["measure"] + (" (elapsed time, not effort)" if g["elapsed_not_effort"] else "")
        gain_rows.append([esc(g["outcome"]), esc(f"{g['saved']:,.0f}"), esc(ci), esc(f"{g['per_item']:,.1f}"),
                          esc(what)])
    gains = _table(["outcome", "saved so far", "95% interval", "per item", "units"], gain_rows,
                   notes=["Positive = sooner. Calendar time saved is set beside the hours invested, not subtracted "
                          "from them, and is never counted as money."]).markup if gain_rows else ""
    chart = figure(inv.plot(min_group_size=min_group_size).figure,
                   "Bar chart: attendee hours and facilitator hours in sessions, by month.").markup
    return Html(f'<div class="pe-worth"><ul>{items}</ul>{invested.markup}{gains}{teams}{chart}</div>')
