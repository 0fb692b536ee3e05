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

from peereval import effects as fx
from peereval.checks import PRETREND, PRETREND_ALERT_P
from peereval.investment import Investment, WorthIt
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
    """The plain-language opening: one sentence per outcome, then each KPI against its target."""
    r = a.results()
    checks = r["integrity"]
    outcomes = [wording.bug_sentence(r["bug_turnaround"], a.typical_hours,
                                     wording.cautions(checks, "bug_turnaround"))
                if a.data.provided("tickets") else "Bug turnaround: not provided (no tickets table).",
                wording.onboarding_sentence(r["onboarding"], a.data.config.targets.onboarding_speedup,
                                            wording.cautions(checks, "onboarding"))
                if a.data.provided("milestones") else "Onboarding: not provided (no milestones table)."]
    items = "".join(f"<li><strong>{esc(s)}</strong></li>" for s in outcomes)
    items += "".join(f"<li>{esc(s)}</li>" for s in wording.kpi_sentences(a.kpis, a.data.config.targets))
    intro = esc(wording.opening(a))
    return Html(f'<div class="pe-summary"><p>{intro}</p><ul>{items}</ul></div>')


def _faster_row(label: str, faster: float, lo: float, hi: float, kind: str) -> dict:
    nan = float("nan")
    return {"label": label, "faster": nan if faster is None else faster, "lo": nan if lo is None else lo,
            "hi": nan if hi is None else hi, "kind": kind}


def effects(a: MonthlyAnalysis) -> Html:
    """Effect estimates with intervals: a forest chart plus the table behind it."""
    b, o = a.bug, a.onboarding_effect
    rows = []
    if b.effect is not None:
        rows.append(_faster_row("Bug turnaround", -b.change, -b.ci_high, -b.ci_low, "estimate"))
        if b.staggered is not None:
            s = b.staggered
            rows.append(_faster_row("  check: staggered-start estimate", -np.expm1(s.estimate),
                                    -np.expm1(s.ci_high), -np.expm1(s.ci_low), "check"))
        rows.append(_faster_row("  naive before/after (biased)", -b.naive_change, None, None, "naive"))
    if o.ratio is not None and o.n_pilot >= a.kpis.min_group_size:
        rows.append(_faster_row("Onboarding speed", o.speedup, o.ci_low, o.ci_high, "estimate"))
    if not rows:
        return Html("<p>No effect can be estimated yet (see the checks below).</p>")
    targets = {"onboarding": a.data.config.targets.onboarding_speedup}
    if a.data.config.targets.bug_turnaround is not None:
        targets["bugs"] = -a.data.config.targets.bug_turnaround
    fig = charts.effects_forest(rows, targets)
    table_rows = []
    for r in rows:
        ci = "—" if np.isnan(r["lo"]) else f"{r['lo']:.0%} to {r['hi']:.0%}"
        table_rows.append([esc(r["label"].strip()), esc("—" if np.isnan(r["faster"]) else f"{r['faster']:.0%}"),
                           esc(ci)])
    notes = ["Positive = faster with the program. The naive before/after compares pilot teams with themselves "
             "before their start and ignores company-wide change; it is shown only to explain why the "
             "controlled estimate differs."]
    return Html(figure(fig, "Forest chart of the estimated effects in percent faster, with 95% intervals and "
                            "the onboarding target as a dashed line.").markup
                + _table(["estimate", "% faster", "95% interval"], table_rows, notes=notes).markup)


def event_study(a: MonthlyAnalysis) -> Html:
    ev = a.bug.events
    if ev is None:
        return Html("<p>Not enough months before and after the pilot starts for this chart yet.</p>")
    check = a.integrity.to_dict().get(PRETREND, {})
    note = (f"Placebo test of the months before the start: {check['detail']}." if check.get("verdict") != "cannot check"
            else f"The months before the start cannot be tested yet: {check.get('detail', 'no data')}.")
    return Html(figure(charts.event_study_chart(ev), "Chart of the change in bug resolution time in each month "
                       "before and after the pilot start, with 95% intervals.").markup
                + f'<p class="pe-note">{esc(note)} The intervals in this chart are pointwise and assume many '
                  "teams; with few pilot teams read them as indicative (the placebo test and the headline "
                  "estimate use inference that holds with few teams).</p>")



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
    frame = a.onboarding[a.onboarding["group"].isin(["pilot", "control"])]
    km_result = a.onboarding_effect.km
    small = min(a.onboarding_effect.n_pilot, a.onboarding_effect.n_control) < a.kpis.min_group_size
    if km_result is not None and not small:
        fig, hidden = charts.km_chart(km_result, a.kpis.min_group_size), []
    else:
        fig, hidden = charts.onboarding_curves(frame, a.kpis.min_group_size)
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
    left_out = [[esc(name), esc(reason), f"{n:,}"]
                for name, reasons in (("bug turnaround (tickets)", a.bug.excluded),
                                      ("onboarding (people)", a.onboarding_effect.excluded))
                for reason, n in reasons.items() if n]
    extra = _table(["estimate", "rows used elsewhere in the report but left out of this estimate", "rows"],
                   left_out).markup if left_out else ""
    return Html(_table(["table", "rows read", "rows used", "rows excluded, by reason", "notes"], rows).markup + extra)


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


def onboarding_medians(a: MonthlyAnalysis) -> Html:
    o = a.onboarding_effect
    rows = []
    for group, n, med in (("pilot", o.n_pilot, o.median_days_pilot), ("control", o.n_control, o.median_days_control)):
        if n < a.kpis.min_group_size:
            rows.append([esc(charts.LABELS[group]), SUPPRESSED + "¹", SUPPRESSED + "¹"])
        else:
            rows.append([esc(charts.LABELS[group]), f"{n:,}", "not reached yet" if np.isnan(med) else f"{med:.0f} days"])
    return _table(["new hires", "number", "median days to competency (Kaplan–Meier)"], rows,
                  notes=[f"¹ suppressed: fewer than {a.kpis.min_group_size} hires."])


def balance(a: MonthlyAnalysis) -> Html:
    if a.balance is None:
        return Html("<p>Balance cannot be checked yet (no started pilot or no control teams).</p>")
    cohort_people = a.data.people["team"].map(a.data.teams.set_index("team")["cohort"]).value_counts()
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


def mde(a: MonthlyAnalysis) -> Html:
    rows = []
    m = a.mde
    if "bug_turnaround" in m:
        rows.append(["Bug turnaround", f"{-m['bug_turnaround'].mde:.0%} faster"])
    if "onboarding" in m:
        rows.append(["Onboarding", f"{1 - m['onboarding'].mde:.0%} faster"])
    if not rows:
        return Html("<p>Not enough data yet to compute the smallest detectable effect.</p>")
    return _table(["outcome", "smallest effect this design detects 80% of the time"], rows,
                  notes=["Computed from this pilot's numbers of teams, months, tickets and hires and the "
                         "variability seen in the data. An effect smaller than this may well exist but would "
                         "usually be reported as 'no detectable change yet'."])


def integrity(a: MonthlyAnalysis) -> Html:
    rows = [[esc(r.check), _status_badge("met" if r.verdict == "ok" else "not met").replace(">met<", ">ok<")
             .replace(">not met<", f">{esc(r.verdict)}<"), esc(r.threshold), esc(r.detail)]
            for r in a.integrity.checks.itertuples()]
    return _table(["check", "verdict", "alert when", "what we found"], rows)


def methods(a: MonthlyAnalysis) -> Html:
    b, o = a.bug, a.onboarding_effect
    parts = [
        "<p><strong>Bug turnaround.</strong> We compare how resolution time changed in pilot teams after "
        "their start with how it changed in control teams over the same months (difference-in-differences, "
        "with each team's usual speed and each month's company-wide level taken out, and bug priority "
        f"accounted for). Only bugs reported at least {b.window_days} days before the cutoff are used, so "
        f"every bug had the same time to be fixed; bugs still open after {b.window_days} days count as "
        f"{b.window_days} days. A pilot team counts as in the program from its start date, whatever the day; "
        "when its start month holds bugs from both before and after the start, that month is left out for that "
        f"team ({b.excluded.get(fx.TRANSITION_REASON, 0):,} bugs), so every team-month compared is wholly before "
        "or wholly after the start. "
        f"{esc(b.effect.method if b.effect else (b.refused or ''))}</p>",
        "<p><strong>Were pilot teams already different?</strong> A placebo test pretends each pilot team started "
        "some months before it really did and runs the same comparison on the bugs from before any real start; "
        "a change found there (p below "
        f"{PRETREND_ALERT_P:.2f}) means the pilot teams were already drifting apart from the control teams, and the "
        "summary then says the comparison may not be trustworthy. "
        f"{esc(b.placebo.method if b.placebo is not None else (b.placebo_note or ''))}</p>",
        "<p><strong>Onboarding.</strong> For each new hire we count days from hire to the competency "
        "milestone. Hires not yet competent at the cutoff are kept and counted as 'at least this long' "
        "(censored), not dropped. Pilot hires are people hired into a pilot team on or after its start. "
        f"{esc(o.ratio.method if o.ratio else (o.refused or ''))}</p>",
        "<p><strong>KPIs.</strong> Participation is attended ÷ invited over pilot sessions. Sessions per month "
        "counts pilot sessions per active pilot team-month (a team is active from its start date; a part month "
        "counts by its days). Reciprocity is the share of participants who also led a session. Satisfaction is "
        "the mean survey score with a 95% interval that allows for people answering more than once.</p>",
        "<p><strong>Caveats.</strong> " + esc(wording.design_caveat(int((a.data.teams['cohort'] == 'pilot').sum())))
        + " The estimates assume that, without the program, pilot and control teams would have changed alike.</p>",
    ]
    return Html("".join(parts))


def dose_response(a: MonthlyAnalysis) -> Html:
    d = a.dose
    if d is None:
        return Html("<p>Not enough attendance and ticket data for this view yet.</p>")
    rows = [[esc(r.dose), f"{-r.change:.0%}", f"{-r.ci_high:.0%} to {-r.ci_low:.0%}", f"{int(r.team_months)}"]
            for r in d.table.itertuples()]
    return _table(["sessions attended per person per month", "% faster bug turnaround", "95% interval",
                   "pilot team-months"], rows,
                  notes=["Observational: teams chose how much to attend, so busier or keener teams may differ in "
                         "other ways. Read this as an association, not as the effect of attending more."])


def subgroups(a: MonthlyAnalysis) -> Html:
    s = a.subgroups
    if s is None:
        return Html("<p>No subgroups were declared in program.toml (for example <code>subgroups = "
                    "[\"role\"]</code>), so none are shown: subgroups chosen after looking mislead.</p>")
    rows = []
    for r in s.table.itertuples():
        if not r.shown:
            rows.append([esc(f"{r.attribute}: {r.level}"), SUPPRESSED + "¹", "", ""])
        else:
            rows.append([esc(f"{r.attribute}: {r.level}"), f"{r.speedup:.0%}", f"{r.ci_low:.0%} to {r.ci_high:.0%}",
                         f"{r.p_holm:.2f}"])
    return _table(["subgroup (declared in advance)", "onboarding % faster", "95% interval", "Holm-adjusted p"],
                  rows, notes=[f"¹ suppressed: fewer than {a.kpis.min_group_size} pilot or control hires, or fewer "
                               "than 3 pilot hires competent yet.",
                               "p-values are adjusted (Holm) for testing several subgroups at once."])


def comments(a: MonthlyAnalysis) -> Html:
    """Survey comments when allowed: unattributed, large groups only, never naming a person."""
    from peereval.report.comments import select_comments

    c = select_comments(a.data)
    if not c.shown:
        return Html(f"<p>{esc(c.reason or 'No comments to show.')}</p>")
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
