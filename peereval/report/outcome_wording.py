"""Plain words for any declared outcome, from its ``results.json`` object (``outcomes[i]``).

The verdict follows the same rules as :func:`peereval.report.wording.verdict`, read in the
outcome's own direction: times get "faster"/"slower", other outcomes "higher"/"lower".
An interval "too wide to tell" is wider than 50% for relative changes and 20 points for shares.
The two built-in outcomes keep their own sentences (bug turnaround, onboarding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from peereval.report import wording

WIDE_POINTS = 0.20


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _timed(d: dict) -> bool:
    return d["kind"] in ("duration", "milestone")


def _signed(d: dict, x: float | None) -> float | None:
    """The value with "faster" positive for times (a duration's negative change is faster)."""
    if _missing(x):
        return None
    return -x if d["kind"] == "duration" else x


def _direction(d: dict) -> tuple[float | None, float | None, float | None]:
    est, lo, hi = _signed(d, d.get("estimate")), _signed(d, d.get("ci_low")), _signed(d, d.get("ci_high"))
    if d["kind"] == "duration":
        lo, hi = hi, lo
    return est, lo, hi


def outcome_verdict(d: dict, look: dict | None = None) -> str:
    """"clearly faster", "probably higher", "no detectable change yet", "too early to tell", …

    ``look``: this read as a look of a planned pilot (``SequentialDecision.to_dict()``): "clearly"
    then needs the group-sequential boundary crossed; otherwise a clear-looking interval reads
    "probably" (the direction is likely, the boundary keeps the false-"clearly" risk at alpha).
    """
    if d.get("refused"):
        return "too early to tell"
    words = _plain_verdict(d)
    if look is not None and words.startswith("clearly") and not look.get("crossed"):
        return words.replace("clearly", "probably")
    return words


def _plain_verdict(d: dict) -> str:
    est, lo, hi = _direction(d)
    wide = WIDE_POINTS if d["scale"] == "points" else (math.inf if d["scale"] == "units" else wording.WIDE)
    words = wording.verdict(est, lo, hi, d.get("p_value"), wide=wide)
    return words if _timed(d) else words.replace("faster", "higher").replace("slower", "lower")


def target_status(d: dict) -> str:
    """``met`` (the whole interval reaches the target), ``not met`` (none of it does), ``too early`` or ``no target``."""
    target = d.get("target")
    if _missing(target):
        return "no target"
    lo, hi = d.get("ci_low"), d.get("ci_high")
    if d.get("refused") or _missing(lo) or _missing(hi):
        return "too early"
    if d["better"] == "lower":
        lo, hi, target = -hi, -lo, -target
    if lo >= target:
        return "met"
    if hi < target:
        return "not met"
    return "too early"


def amount(d: dict, x: float | None) -> str:
    """One value in the outcome's words: "12% faster", "4.8 points higher", "0.6 higher", "12% lower"."""
    if _missing(x):
        return "—"
    if d["kind"] == "duration":
        return f"{abs(x):.0%} {'faster' if x <= 0 else 'slower'}"
    if d["kind"] == "milestone":
        return f"{abs(x):.0%} {'faster' if x >= 0 else 'slower'}"
    up = "higher" if x >= 0 else "lower"
    if d["scale"] == "points":
        return f"{abs(x) * 100:.1f} points {up}"
    if d["scale"] == "units":
        return f"{abs(x):.3g} {up}"
    return f"{abs(x):.0%} {up}"


def span(d: dict, lo: float | None, hi: float | None) -> str:
    """"5% faster to 28% faster": an interval's ends in the outcome's words, the smaller change first."""
    if _missing(lo) or _missing(hi):
        return "—"
    if d["kind"] == "duration":  # a duration's lower end is the larger speed-up
        lo, hi = hi, lo
    return f"{amount(d, lo)} to {amount(d, hi)}"


def interval(d: dict) -> str:
    lo, hi = d.get("ci_low"), d.get("ci_high")
    if _missing(lo) or _missing(hi):
        return "no reliable interval can be given yet"
    return f"95% interval: from {amount(d, lo)} to {amount(d, hi)}"


def outcome_sentence(d: dict, typical: float | None = None, reasons: Sequence[str] = ()) -> str:
    """One sentence for leadership about one outcome (built-in outcomes keep their own sentences).

    A read that is a look of a planned pilot (``d["sequential"]``) says so, and is "clearly" only
    when the group-sequential boundary is crossed.
    """
    text = _sentence(d, typical, reasons)
    look = d.get("sequential")
    if look:
        if not look.get("crossed") and "— clearly " in text:
            text = text.replace("— clearly ", "— probably ", 1)
        text = f"{text} {look['explain']}"
    return text


def _sentence(d: dict, typical: float | None, reasons: Sequence[str]) -> str:
    if d["key"] == "bug_turnaround" and d["kind"] == "duration":
        return wording.bug_sentence({"change": d.get("estimate"), "ci_low": d.get("ci_low"),
                                     "ci_high": d.get("ci_high"), "p_value": d.get("p_value"),
                                     "refused": d.get("refused")}, typical, reasons)
    if d["key"] == "onboarding" and d["kind"] == "milestone":
        return wording.onboarding_sentence({"speedup": d.get("estimate"), "ci_low": d.get("ci_low"),
                                            "ci_high": d.get("ci_high"), "p_value": d.get("p_value"),
                                            "median_days_control": d.get("median_days_control"),
                                            "refused": d.get("refused")}, d.get("target"), reasons)
    name = d["name"]
    if d.get("refused"):
        return f"{name}: too early to tell — {d['refused']}."
    words = d.get("verdict") or outcome_verdict(d)
    claim = f"{name.lower()} is {amount(d, d.get('estimate'))} in pilot teams ({interval(d)})"
    if d["scale"] == "points" and not _missing(d.get("relative_change")):
        claim = claim[:-1] + f"; {abs(d['relative_change']):.0%} {'more' if d['relative_change'] >= 0 else 'less'} " \
                             "than without the program)"
    if reasons:
        why = "; and ".join(reasons)
        if words == "too early to tell":
            return f"{name} — too early to tell, and {wording.DOUBT}: {why}. The best estimate is that {claim}."
        return (f"{name} — {wording.DOUBT}: {why}. Taken at face value, {claim}, but that should not be read as "
                "the program's effect until this is explained.")
    status = target_status(d)
    goal = {"met": " The target is met.", "not met": " The target is not met.",
            "too early": " Whether the target is met cannot be told yet."}.get(status, "")
    if words.startswith(("clearly", "probably")):
        return f"{name} — {words}: {claim}.{goal}"
    return f"{name} — {words}: the best estimate is that {claim}.{goal}"


def early_read(reports, period: str) -> str:
    """For an early read where no outcome can be judged yet: what can be said, what cannot, and from when.

    ``reports``: the analysis's OutcomeReports. Empty when some outcome already has a verdict.
    """
    if not reports or any(r.verdict != "too early to tell" for r in reports):
        return ""
    later = []
    for r in reports:
        d = dict(r.mde.details) if r.mde is not None else {}
        when, ref, now = d.get("detectable_from"), d.get("reference_effect"), d.get("periods_so_far")
        size = f"{ref * 100:.0f} points" if r.effect.scale == "points" else f"{ref:.0%}" if ref else ""
        if when and now is not None and when > now:
            later.append(f"{r.outcome.name.lower()} (an effect of {size} becomes detectable from about {period} "
                         f"{when} after the start; this is {period} {now})")
        elif when is None and ref:
            later.append(f"{r.outcome.name.lower()} (an effect of {size} would not be detectable within two years "
                         f"of {period}s with this design)")
        else:
            later.append(r.outcome.name.lower())
    return ("Early read. What can already be said: the participation, sessions, session length and "
            f"satisfaction figures below. What cannot be said yet: whether the program changed {'; '.join(later)}.")
