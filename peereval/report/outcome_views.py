"""One report section per outcome: the verdict in its units, charts, event study, detectable effect.

Pure functions of :class:`~peereval.report.analysis.OutcomeReport` results; nothing here
computes a statistic. Groups smaller than the minimum size are suppressed as everywhere else.
"""

from __future__ import annotations

import numpy as np

from peereval.checks import PRETREND
from peereval.report import charts, outcome_wording, wording
from peereval.report.analysis import MonthlyAnalysis, OutcomeReport
from peereval.report.present import SUPPRESSED, Html, _table, esc, figure

SCALE_WORDS = {"relative": "% change", "points": "change in percentage points", "speedup": "% faster",
               "units": "change in units"}


def overview(a: MonthlyAnalysis) -> Html:
    """Every outcome in one table: the estimate in its words, the interval, the target and its status."""
    if not a.outcomes:
        return Html("<p>No outcome can be estimated: none of the tables the outcomes need was provided.</p>")
    rows = []
    for r in a.outcomes:
        d = r.to_dict()
        est = "—" if d.get("refused") else outcome_wording.amount(d, d.get("estimate"))
        ci = outcome_wording.span(d, d.get("ci_low"), d.get("ci_high"))
        target = "—" if d.get("target") is None else outcome_wording.amount(d, d["target"])
        rows.append([esc(r.outcome.name), esc(est), esc(ci), esc(r.verdict), esc(target), esc(r.status)])
    return _table(["outcome", "estimated effect", "95% interval", "verdict", "target", "target status"], rows,
                  notes=["Each outcome is compared with how it changed in control teams over the same months; "
                         "the sections below show how, and what the comparison rests on."])


def sections(a: MonthlyAnalysis) -> Html:
    """One section per outcome, each under a heading that states its question."""
    return Html("".join(section(a, r).markup for r in a.outcomes))


def _question(r: OutcomeReport) -> str:
    o = r.outcome
    if o.key == "bug_turnaround" and o.builtin:
        return "Did the program make bugs get fixed faster?"
    if o.key == "onboarding" and o.builtin:
        return "Did new hires in pilot teams become competent sooner?"
    verb = "faster" if o.kind in ("duration", "milestone") else ("higher" if o.better == "higher" else "lower")
    return f"{o.name}: did the program make it {verb}?"


def section(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    d = r.to_dict()
    reasons = wording.cautions(a.integrity.to_dict(), r.key)
    parts = [f'<h3 id="outcome-{esc(r.key)}">{esc(_question(r))}</h3>',
             f"<p><strong>{esc(outcome_wording.outcome_sentence(d | _extra(r), r.typical, reasons))}</strong></p>",
             forest(a, r).markup]
    if r.outcome.kind == "milestone":
        parts += [km(a, r).markup, medians(a, r).markup, subgroups(a, r).markup]
    else:
        parts += [event_study(a, r).markup, trend(a, r).markup, dose(r).markup]
    parts.append(detectable(r).markup)
    return Html("".join(parts))


def _extra(r: OutcomeReport) -> dict:
    return {"median_days_control": r.effect.extra.get("median_days_control")}


def forest(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    e, o = r.effect, r.outcome
    if e.model is None:
        return Html(f"<p>No estimate yet: {esc(e.refused or '')}.</p>")
    sign = -1.0 if o.kind == "duration" or (o.better == "lower" and o.kind != "milestone") else 1.0

    def row(label, x, lo, hi, kind):
        vals = [sign * v if v is not None and np.isfinite(v) else np.nan for v in (x, lo, hi)]
        lo_, hi_ = sorted(vals[1:]) if np.isfinite(vals[1]) and np.isfinite(vals[2]) else (np.nan, np.nan)
        return {"label": label, "faster": vals[0], "lo": lo_, "hi": hi_, "kind": kind}

    rows = [row(o.name, e.estimate, e.ci_low, e.ci_high, "estimate")]
    if e.staggered is not None:
        rows.append(row("  check: staggered-start estimate", e.to_scale(e.staggered.estimate),
                        e.to_scale(e.staggered.ci_low), e.to_scale(e.staggered.ci_high), "check"))
    if np.isfinite(e.naive):
        rows.append(row("  naive before/after (biased)", e.naive, None, None, "naive"))
    better = "faster" if o.kind in ("duration", "milestone") else "better"
    unit = "points" if e.scale == "points" else "%" if e.scale in ("relative", "speedup") else "units"
    targets = {o.name: sign * o.target} if o.target is not None else {}
    fig = charts.effects_forest(rows, targets, xlabel=f"{unit} {better} with the program",
                                title=f"{o.name}: estimated effect", factor=1 if e.scale == "units" else 100)
    table = [[esc(x["label"].strip()), esc("—" if not np.isfinite(x["faster"]) else
                                           f"{x['faster'] * (1 if e.scale == 'units' else 100):+.1f}"),
              esc("—" if not np.isfinite(x["lo"]) else
                  f"{x['lo'] * (1 if e.scale == 'units' else 100):+.1f} to "
                  f"{x['hi'] * (1 if e.scale == 'units' else 100):+.1f}")] for x in rows]
    return Html(figure(fig, f"Forest chart of the estimated effect on {o.name.lower()} ({unit} {better} with the "
                            "program), with 95% intervals, the staggered-start check and the naive comparison.").markup
                + _table(["estimate", f"{unit} {better}", "95% interval"], table,
                         notes=["Positive = better with the program. The naive before/after compares pilot teams "
                                "with themselves before their start and ignores company-wide change; it is shown "
                                "only to explain why the controlled estimate differs."]).markup)


def _event_axes(r: OutcomeReport, period: str) -> dict:
    o = r.outcome
    if o.kind == "duration":
        return {"transform": np.expm1, "factor": 100, "ylabel": "% change",
                "title": f"Change in {o.name.lower()}, by {period}s since the team's pilot start"}
    if o.kind == "mean" and o.scale == "log":
        return {"transform": np.expm1, "factor": 100, "ylabel": "% change",
                "title": f"Change in {o.name.lower()}, by {period}s since the team's pilot start"}
    if o.kind == "rate":  # in rows per person per period: exact, unlike a ratio to an estimated baseline
        return {"transform": lambda x: x, "factor": 1, "ylabel": f"change per person per {period}",
                "title": f"Change in {o.name.lower()}, by {period}s since the team's pilot start"}
    factor = 100 if o.kind == "proportion" else 1
    return {"transform": lambda x: x, "factor": factor,
            "ylabel": "change in percentage points" if o.kind == "proportion" else "change",
            "title": f"Change in {o.name.lower()}, by {period}s since the team's pilot start"}


def event_study(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    ev = r.effect.events
    if ev is None:
        return Html("<p>Not enough months before and after the pilot starts for the month-by-month chart yet.</p>")
    name = PRETREND if r.outcome.builtin else f"{PRETREND}: {r.outcome.name}"
    check = a.integrity.to_dict().get(name, {})
    note = (f"Placebo test of the months before the start: {check['detail']}." if check.get("verdict") != "cannot check"
            else f"The months before the start cannot be tested yet: {check.get('detail', 'no data')}.")
    return Html(figure(charts.event_study_chart(ev, **_event_axes(r, a.period)),
                       f"Chart of the change in {r.outcome.name.lower()} in each month before and after the pilot "
                       "start, with 95% intervals.").markup
                + f'<p class="pe-note">{esc(note)} The intervals in this chart are pointwise and assume many '
                  "teams; with few pilot teams read them as indicative (the placebo test and the headline "
                  "estimate use inference that holds with few teams).</p>")


def trend(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    o = r.outcome
    if r.trend.empty:
        return Html("<p>No data for the monthly trend yet.</p>")
    ylabel, title, pct = {
        "duration": ("median hours", f"{o.name}: median hours per item, by month it started", False),
        "proportion": ("% of rows", f"{o.name}: share by month", True),
        "mean": ("mean", f"{o.name}: mean by month", False),
        "rate": ("per person per month", f"{o.name}: per person per month", False),
    }[o.kind]
    if o.builtin and o.key == "bug_turnaround":
        ylabel, title = "median hours to resolve", "Median time to resolve a bug, by month the bug was reported"
    shown = r.trend.copy()
    small = shown["people"].notna() & (shown["people"] < a.kpis.min_group_size)
    shown.loc[small, "value"] = np.nan  # a point about fewer people than the minimum is not drawn
    fig = charts.trend_chart(shown, a.inputs.pilot_starts, a.month, title=title, ylabel=ylabel, percent=pct)
    note = (f" {int(small.sum())} month(s) with fewer than {a.kpis.min_group_size} people behind a point are "
            "suppressed (gaps in the lines).") if small.any() else ""
    return Html(figure(fig, f"Line chart: {title.lower()}, pilot teams versus control teams, with dotted lines "
                            "where pilot waves started.").markup
                + '<p class="pe-note">A description, not an effect estimate: the whole company changes over time '
                  f"too, and recent months hold items still open.{esc(note)}</p>")


def km(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    e, min_group = r.effect, a.kpis.min_group_size
    small = min(e.extra.get("n_pilot", 0), e.extra.get("n_control", 0)) < min_group
    if e.km is None or small:
        return Html(f"<p>Curves {SUPPRESSED}: fewer than {min_group} pilot or control hires so far.</p>")
    fig = charts.km_chart(e.km, min_group)
    fig.axes[0].set_title(f"New hires without '{r.outcome.milestone}' yet, by days since hire "
                          "(ticks: not yet at the cutoff)")
    tenured = r.effect.excluded.get("hired before the data window (tenured staff)", 0)
    note = (f'<p class="pe-note">{tenured:,} people hired before the data window are tenured staff and are '
            "not part of this comparison.</p>") if tenured else ""
    return Html(figure(fig, "Step chart: share of new hires not yet at the milestone by days since hire, pilot "
                            "versus control hires (Kaplan–Meier curves, counting hires not there yet).").markup + note)


def medians(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    e, rows = r.effect, []
    for group in ("pilot", "control"):
        n, med = e.extra.get(f"n_{group}", 0), e.extra.get(f"median_days_{group}", np.nan)
        if n < a.kpis.min_group_size:
            rows.append([esc(charts.LABELS[group]), SUPPRESSED + "¹", SUPPRESSED + "¹"])
        else:
            rows.append([esc(charts.LABELS[group]), f"{n:,}", "not reached yet" if not np.isfinite(med) else
                         f"{med:.0f} days"])
    return _table(["new hires", "number", f"median days to '{r.outcome.milestone}' (Kaplan–Meier)"], rows,
                  notes=[f"¹ suppressed: fewer than {a.kpis.min_group_size} hires."])


def detectable(r: OutcomeReport) -> Html:
    m = r.mde
    if m is None:
        return Html("<p>Not enough data yet to compute the smallest detectable effect.</p>")
    d = r.to_dict()
    value = 1 - m.mde if r.outcome.kind == "milestone" else m.mde
    return Html(f'<p class="pe-note">The smallest effect this design detects 80% of the time: '
                f"{esc(outcome_wording.amount(d, value))}. An effect smaller than this may well exist but would "
                "usually be reported as 'no detectable change yet'.</p>")


def dose(r: OutcomeReport) -> Html:
    dr = r.dose
    if dr is None:
        return Html("")
    d = r.to_dict()
    rows = [[esc(x.dose), esc(outcome_wording.amount(d, x.change)),
             esc(outcome_wording.span(d, x.ci_low, x.ci_high)),
             f"{int(x.team_months)}"] for x in dr.table.itertuples()]
    return _table(["sessions attended per person per month", "change", "95% interval", "pilot team-months"], rows,
                  caption="Do teams that attend more improve more? (observational)",
                  notes=["Observational: teams chose how much to attend, so busier or keener teams may differ in "
                         "other ways. Read this as an association, not as the effect of attending more."])


def subgroups(a: MonthlyAnalysis, r: OutcomeReport) -> Html:
    s = r.subgroups
    if s is None:
        return Html("<p>No subgroups were declared in program.toml (for example <code>subgroups = "
                    "[\"role\"]</code>), so none are shown: subgroups chosen after looking mislead.</p>")
    rows = []
    for x in s.table.itertuples():
        if not x.shown:
            rows.append([esc(f"{x.attribute}: {x.level}"), SUPPRESSED + "¹", "", ""])
        else:
            rows.append([esc(f"{x.attribute}: {x.level}"), f"{x.speedup:.0%}", f"{x.ci_low:.0%} to {x.ci_high:.0%}",
                         f"{x.p_holm:.2f}"])
    return _table(["subgroup (declared in advance)", "% faster", "95% interval", "Holm-adjusted p"], rows,
                  caption="Does the effect differ between groups declared in advance?",
                  notes=[f"¹ suppressed: fewer than {a.kpis.min_group_size} pilot or control hires, fewer than 3 "
                         "pilot hires at the milestone yet, or hires in fewer than 2 teams on a side.",
                         "p-values are adjusted (Holm) for testing several subgroups at once."])


def methods(r: OutcomeReport) -> str:
    """The methods paragraph for one outcome (plain words, then the estimator's own method text)."""
    o, e = r.outcome, r.effect
    how = {
        "duration": (f"We compare how the time from {o.start} to {o.end} changed in pilot teams after their start "
                     "with how it changed in control teams over the same months (difference-in-differences on log "
                     f"hours, with each team's usual level and each month's company-wide level taken out). Only "
                     f"items started at least {o.window_days} days before the cutoff are used, so every item had "
                     f"the same time to finish; items still open after {o.window_days} days count as "
                     f"{o.window_days} days."),
        "proportion": (f"We compare the share of rows where {o.value} is true, month by month, in pilot teams "
                       "after their start with control teams (difference-in-differences on team-month shares "
                       "weighted by rows); the effect is in percentage points."),
        "mean": (f"We compare the {'typical (geometric mean)' if o.scale == 'log' else 'mean'} {o.value} per row in "
                 "pilot teams after their start with control teams (difference-in-differences on team-month "
                 "means weighted by rows)."),
        "rate": ("We compare rows per person per month (headcount from the people export) in pilot teams after "
                 "their start with control teams (difference-in-differences on team-month rates weighted by "
                 "headcount); the change is divided by the pilot teams' level without the program."),
        "milestone": (f"For each new hire we count days from hire to '{o.milestone}'. Hires not there yet at the "
                      "cutoff are kept and counted as 'at least this long' (censored), not dropped. Pilot hires "
                      "are people hired into a pilot team on or after its start."),
    }[o.kind]
    if o.kind != "milestone":
        how += (" A pilot team counts as in the program from its start date, whatever the day; when its start "
                "month holds rows from both before and after the start, that month is left out for that team.")
    return (f"<p><strong>{esc(o.name)}.</strong> {esc(how)} {esc(e.method)}"
            + (f" {esc(e.placebo.method)}" if e.placebo is not None else "") + "</p>")
