"""Plain-language sentences for leadership, chosen by rule from the numbers.

All wording decisions live here so they can be tested (snapshot tests) and never drift into
notebooks. Verdict words are picked from the interval, never from the point estimate alone:

- ``clearly faster`` / ``clearly slower``: the whole interval is on one side of "no change";
- ``probably faster`` / ``probably slower``: the interval crosses "no change" but p < 0.20;
- ``no detectable change yet``: the interval crosses "no change" and is narrow enough to rule
  out large effects (narrower than 50 percentage points);
- ``too early to tell``: no estimate or no interval yet, or an interval that wide.

A design check that raised an alert (pre-period trends, contamination, attrition; see
:mod:`peereval.checks`) changes the words: the sentence leads with "the comparison may not be
trustworthy" and the reason, and the estimate is given only "taken at face value".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from peereval.config import Targets
from peereval.kpis import KPIResult

_NAMES = {
    "participation_rate": "Participation",
    "sessions_per_month": "Sessions per pilot team",
    "satisfaction": "Satisfaction",
}
PROBABLY_P = 0.20
WIDE = 0.50
DOUBT = "the comparison may not be trustworthy"

# check name in results.json's "integrity" block -> (outcomes it concerns when the check names none, reason)
_CAUTIONS = {
    "pre-period trends (placebo test)": (("bug_turnaround",),
                                         "pilot teams were already diverging from control teams before their start"),
    "contamination": (None, "control-team people took part in pilot sessions, so the control teams were partly in "
                            "the program too"),
    "differential attrition (proxy)": (("onboarding",),
                                       "pilot and control hires appear to leave at different rates"),
}


def cautions(integrity: dict, outcome: str) -> list[str]:
    """Plain reasons to doubt one outcome's comparison, from the integrity checks that raised an alert.

    A check that names its outcome (``"outcome"`` in the check) concerns that outcome only; a check
    about the whole design (contamination) concerns every outcome.
    """
    out = []
    for check, (outcomes, reason) in _CAUTIONS.items():
        for name, found in integrity.items():
            if not (name == check or name.startswith(f"{check}: ")) or (found or {}).get("verdict") != "alert":
                continue
            owner = found.get("outcome", None) if "outcome" in found else "__legacy__"
            applies = (outcomes is None or (owner == outcome) or (owner == "__legacy__" and outcome in outcomes))
            if applies and reason not in out:
                out.append(reason)
    return out


def _doubt(name: str, words: str, reasons: Sequence[str], claim: str) -> str:
    """The sentence when a design check failed: the doubt first, the number only at face value."""
    why = "; and ".join(reasons)
    if words == "too early to tell":
        return f"{name} — too early to tell, and {DOUBT}: {why}. The best estimate is that {claim}."
    return (f"{name} — {DOUBT}: {why}. Taken at face value, {claim}, but that should not be read as the "
            "program's effect until this is explained.")


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def verdict(faster: float, lo: float, hi: float, p_value: float | None, wide: float = WIDE) -> str:
    """Verdict words for an effect expressed as "share faster" (positive = faster) with its interval.

    ``wide``: an interval at least this wide that crosses "no change" is "too early to tell".
    """
    if _missing(faster) or _missing(lo) or _missing(hi):
        return "too early to tell"
    if lo > 0:
        return "clearly faster"
    if hi < 0:
        return "clearly slower"
    if p_value is not None and not _missing(p_value) and p_value < PROBABLY_P:
        return "probably faster" if faster > 0 else "probably slower"
    if hi - lo > wide:
        return "too early to tell"
    return "no detectable change yet"


def _faster_words(x: float) -> str:
    return f"{abs(x):.0%} {'faster' if x >= 0 else 'slower'}"


def _interval(lo: float, hi: float) -> str:
    if _missing(lo) or _missing(hi):
        return "no reliable interval can be given yet"
    if (lo >= 0) == (hi >= 0):
        a, b = sorted((abs(lo), abs(hi)))
        return f"95% interval: {a:.0%} to {b:.0%} {'faster' if lo >= 0 else 'slower'}"
    return f"95% interval: from {_faster_words(lo)} to {_faster_words(hi)}"


def _uncertain(lo: float, hi: float) -> str:
    if _missing(lo) or _missing(hi):
        return "no reliable interval can be given yet"
    return f"the 95% interval runs from {_faster_words(lo)} to {_faster_words(hi)}"


def bug_sentence(bug: dict, typical_hours: float | None, reasons: Sequence[str] = ()) -> str:
    """One sentence on bug turnaround from ``results.json``'s ``bug_turnaround`` block.

    ``reasons``: why the comparison may not be trustworthy (see :func:`cautions`).
    """
    if bug.get("refused"):
        return f"Bug turnaround: too early to tell — {bug['refused']}."
    change, lo, hi = bug.get("change"), bug.get("ci_low"), bug.get("ci_high")
    faster = None if _missing(change) else -change
    f_lo = None if _missing(hi) else -hi
    f_hi = None if _missing(lo) else -lo
    words = verdict(faster, f_lo, f_hi, bug.get("p_value"))
    hours = ""
    if typical_hours and not _missing(faster):
        delta = typical_hours * faster
        hours = (f"; on a bug that typically takes {typical_hours:.0f} hours, that is about "
                 f"{abs(delta):.0f} hour{'s' if round(abs(delta)) != 1 else ''} {'sooner' if delta >= 0 else 'later'}")
    if reasons:
        claim = f"pilot teams resolve bugs {_faster_words(faster)} ({_interval(f_lo, f_hi)})"
        return _doubt("Bug turnaround", words, reasons, claim)
    if words.startswith(("clearly", "probably")):
        return (f"Bug turnaround — {words}: pilot teams resolve bugs {_faster_words(faster)} than they would "
                f"have without the program ({_interval(f_lo, f_hi)}){hours}.")
    return (f"Bug turnaround — {words}: the best estimate is that pilot teams resolve bugs "
            f"{_faster_words(faster)}, but {_uncertain(f_lo, f_hi)}.")


def onboarding_sentence(onb: dict, target: float | None, reasons: Sequence[str] = ()) -> str:
    """One sentence on onboarding from ``results.json``'s ``onboarding`` block.

    ``reasons``: why the comparison may not be trustworthy (see :func:`cautions`).
    """
    if onb.get("refused"):
        return f"Onboarding: too early to tell — {onb['refused']}."
    s, lo, hi = onb.get("speedup"), onb.get("ci_low"), onb.get("ci_high")
    words = verdict(s, lo, hi, onb.get("p_value"))
    days = ""
    med = onb.get("median_days_control")
    if med and not _missing(s):
        days = (f"; control-team hires typically take {med:.0f} days, so that is about "
                f"{abs(med * s):.0f} days {'sooner' if s >= 0 else 'later'}")
    goal = ""
    if target is not None and not _missing(lo):
        if lo >= target:
            goal = f" The {target:.0%} target is met."
        elif hi < target:
            goal = f" The {target:.0%} target is not met."
        else:
            goal = f" Whether the {target:.0%} target is met cannot be told yet."
    if reasons:
        claim = f"new hires in pilot teams become competent {_faster_words(s)} ({_interval(lo, hi)})"
        return _doubt("Onboarding", words, reasons, claim)
    if words.startswith(("clearly", "probably")):
        return (f"Onboarding — {words}: new hires in pilot teams become competent {_faster_words(s)} "
                f"({_interval(lo, hi)}){days}.{goal}")
    return (f"Onboarding — {words}: the best estimate is that new hires in pilot teams become competent "
            f"{_faster_words(s)}, but {_uncertain(lo, hi)}.{goal}")


def kpi_sentence(kpi: str, value: float, target: float | None, status: str, n_people: int,
                 min_group: int, period: str = "month") -> str:
    """One sentence about one KPI in the read's period (a month or a week) against its target.

    Sessions are a monthly rate; in weekly reads they are said per week, the target converted by
    7 / 30.44 days.
    """
    name = _NAMES.get(kpi, kpi)
    if _missing(value):
        return f"{name}: no data this {period} yet."
    if n_people < min_group:
        return f"{name}: suppressed this {period} (fewer than {min_group} people took part)."
    if kpi == "participation_rate":
        shown, tgt = _pct(value), (None if target is None else _pct(target))
        what = f"{name} was {shown} of invitations"
    elif kpi == "sessions_per_month" and period == "week":
        per_week = 7 / (365.25 / 12)
        shown = f"{value * per_week:.1f}"
        tgt = None if target is None else f"{target * per_week:.2f} a week ({target:g} a month)"
        what = f"{name} ran {shown} sessions a week"
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
    verdict_word = "meeting" if status == "met" else "below"
    return f"{what}, {verdict_word} the target of {tgt}."


def kpi_sentences(kpis: KPIResult, targets: Targets) -> list[str]:
    rows = kpis.table[(kpis.table.scope == "period") & (kpis.table.team == "all")].set_index("kpi")
    period = "week" if "W" in kpis.month else "month"
    out = []
    for kpi in ("participation_rate", "sessions_per_month", "satisfaction"):
        r = rows.loc[kpi]
        target = None if math.isnan(r["target"]) else float(r["target"])
        out.append(kpi_sentence(kpi, float(r["value"]), target, str(r["status"]), int(r["n_people"]),
                                kpis.min_group_size, period))
    return out


def design_caveat(n_pilot: int, design: str = "chosen") -> str:
    text = ("Pilot teams were chosen, not randomly assigned, so some of any difference may come from "
            "how they were chosen.")
    if n_pilot <= 4:
        text += f" With {n_pilot} pilot team{'s' if n_pilot != 1 else ''}, certainty is limited."
    return text


def opening(analysis) -> str:
    """The first sentence: what this report covers and the design caveat."""
    i = analysis.inputs
    return (f"This report covers {i.config.name} up to the end of {analysis.month}: "
            f"{i.n_started} of {i.n_pilot_teams} pilot teams have started, compared with {i.n_control_teams} "
            f"control teams. {design_caveat(i.n_pilot_teams)}")

def _hours(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"


def _saved(x: float, gain: dict) -> str:
    """An amount in a gain's units with its direction: "300 person-days sooner", "40 elapsed hours added"."""
    if gain["kind"] == "milestone":
        return f"{_hours(abs(x))} person-{gain['units']} {'sooner' if x >= 0 else 'later'}"
    return f"{_hours(abs(x))} elapsed {gain['units']} {'saved' if x >= 0 else 'added'}"


def _saved_interval(gain: dict) -> str:
    lo, hi = gain.get("ci_low"), gain.get("ci_high")
    if _missing(lo) or _missing(hi):
        return "no reliable interval can be given yet"
    if lo >= 0 or hi < 0:
        a, b = sorted((abs(lo), abs(hi)))
        return f"95% interval: {_hours(a)} to {_saved(b if lo >= 0 else -b, gain)}"
    return f"95% interval: from {_saved(lo, gain)} to {_saved(hi, gain)}, so possibly none"


def _invested(scope: dict) -> str:
    return (f"{_hours(scope['attendee_hours'])} attendee hours and {_hours(scope['facilitator_hours'])} facilitator "
            f"hours in {scope['sessions']:,} session{'s' if scope['sessions'] != 1 else ''}")


def worth_it_sentences(inv: dict, worth: dict, min_group_size: int) -> list[str]:
    """"Was it worth the time?" for leadership, from the ``investment`` block of ``results.json``
    and :meth:`peereval.investment.WorthIt.to_dict`: hours invested, then each gain in its units."""
    out = []
    c, m, month = inv["cumulative"], inv["month"], inv.get("report_month", worth.get("month"))
    if c["suppressed"]:
        out.append(f"Time invested: suppressed (fewer than {min_group_size} people took part).")
    elif not c["sessions"]:
        out.append(f"Time invested: no sessions were held up to the end of {month}.")
    else:
        pilot = c["pilot"]
        per = ("" if pilot["suppressed"] or _missing(pilot.get("hours_per_person")) else
               f" (about {pilot['hours_per_person']:.1f} hours per person in pilot teams)")
        first = f"The program took {_invested(c)} so far{per}."
        if abs(c["person_hours"] - c["attendee_hours"] - c["facilitator_hours"]) > 1e-6:
            first += (" Counting each person once per session (a facilitator may also be listed as an attendee), "
                      f"that is {_hours(c['person_hours'])} hours of people's time in all.")
        if m["suppressed"]:
            first += f" The figures for {month} alone are suppressed (fewer than {min_group_size} people)."
        elif m["sessions"]:
            first += f" In {month} alone: {_invested(m)}."
        else:
            first += f" No sessions were held in {month}."
        out.append(first)
        flags = []
        for group, held_by in (("control", "held by control teams"), ("unknown_team", "of no known team")):
            g = c[group]
            if g["suppressed"]:
                flags.append(f"sessions {held_by} (figures suppressed)")
            elif g["sessions"]:
                flags.append(f"{g['sessions']:,} session{'s' if g['sessions'] != 1 else ''} {held_by} "
                             f"({_hours(g['person_hours'])} hours of people's time)")
        if pilot.get("sessions_before_start"):
            n = pilot["sessions_before_start"]
            flags.append(f"{n:,} session{'s' if n != 1 else ''} pilot teams held before their start")
        if flags:
            out.append("These totals include " + " and ".join(flags) + ": program time too, but outside the "
                       "pilot teams' program after their start.")
        if inv.get("cost_per_hour") is not None and not _missing(c.get("cost")):
            out.append(f"At the given cost of {inv['cost_per_hour']:,g} per hour, the {_hours(c['person_hours'])} "
                       f"hours of people's time so far cost about {c['cost']:,.0f}.")
    shown = False
    for g in worth.get("gains", []):
        name = g["outcome"]
        if g.get("refused"):
            out.append(f"{name}: no time saved can be set against the hours yet ({g['refused']}).")
        elif g.get("suppressed"):
            out.append(f"{name}: suppressed (fewer than {min_group_size} pilot hires).")
        elif g["kind"] == "milestone":
            shown = True
            out.append(f"{name}: about {_saved(g['per_item'], g).replace('person-', '')} per pilot hire, "
                       f"{_saved(g['saved'], g)} across {g['items']:,} hires ({_saved_interval(g)}).")
        else:
            shown = True
            out.append(f"{name}: about {_saved(g['per_item'], g)} per item, {_saved(g['saved'], g)} across "
                       f"{g['items']:,} items ({_saved_interval(g)}). This is elapsed time, not effort: work "
                       "finished sooner is not work done in fewer hours.")
    if shown:
        out.append("Time sooner is calendar time, not working hours, so it is set beside the hours invested, "
                   "not subtracted from them" + (", and it is not money." if inv.get("cost_per_hour") is not None
                                                 else "."))
    elif not worth.get("gains"):
        out.append("No outcome can be set against the hours in units of time yet: only milestones (such as "
                   "onboarding) and durations (such as bug turnaround) can.")
    return out
