"""Presentation of a pilot plan (``peereval plan``): pure functions from a Plan to HTML."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from peereval.plan import Plan
from peereval.report.charts import COLORS, _style
from peereval.report.present import Html, _table, esc, figure


def summary(plan: Plan) -> Html:
    p = plan.inputs
    m8 = plan.mde[plan.mde.weeks == 8].iloc[0]
    pw = plan.power_at[8]
    bug_target, onb_target = -p.bug_target, p.onboarding_target
    lines = [
        f"With {p.n_pilot_teams} pilot team{'s' if p.n_pilot_teams != 1 else ''} and {p.n_control_teams} control "
        f"teams, an 8-week pilot could reliably detect (80% of the time) only a bug-turnaround change of "
        f"{m8.bug_mde_faster:.0%} or more, and an onboarding speed-up of "
        + ("more than the data could ever show" if not np.isfinite(m8.onboarding_mde_faster)
           else f"{m8.onboarding_mde_faster:.0%} or more") + ".",
        f"Against the targets ({bug_target:.0%} faster bug turnaround, {onb_target:.0%} faster onboarding) "
        f"that pilot has {pw['bug']:.0%} and {_pct(pw['onboarding'])} power: "
        + ("it would usually miss a real effect of that size." if max(pw["bug"], _nan0(pw["onboarding"])) < 0.8
           else "it would usually see a real effect of that size."),
    ]
    if m8.bug_compared.startswith("over time"):
        lines.append(f"With {p.n_pilot_teams} pilot team{'s' if p.n_pilot_teams != 1 else ''}, the comparison runs "
                     "over time: the pilot's weekly gap to the control teams after its start against the weeks "
                     "before it (the report's conformal intervals), so a long history before the start helps.")
    weeks = plan.weeks_for_target
    t8 = plan.teams[plan.teams.weeks == 8].iloc[0]
    lines.append(
        (f"A {bug_target:.0%} faster bug turnaround needs about {weeks} weeks of pilot with this design"
         if weeks is not None else f"A {bug_target:.0%} faster bug turnaround would not be detectable within a year "
         "with this design")
        + f"; an 8-week pilot would need about {_teams(t8.bug_teams)} pilot teams (with as many control teams).")
    t26 = plan.teams[plan.teams.weeks == 26].iloc[0]
    lines.append(
        "To detect the targets with 80% power in a 26-week pilot you would need about "
        f"{_teams(t26.bug_teams)} pilot teams for bug turnaround and {_teams(t26.onboarding_teams)} for onboarding "
        "(with at least as many control teams).")
    items = "".join(f"<li>{esc(x)}</li>" for x in lines)
    return Html(f'<div class="pe-summary"><ul>{items}</ul></div>')


def _pct(x: float) -> str:
    return "no" if not np.isfinite(x) else f"{x:.0%}"


def _nan0(x: float) -> float:
    return 0.0 if not np.isfinite(x) else x


def _teams(n) -> str:
    return "more than 200" if n is None or (isinstance(n, float) and not np.isfinite(n)) else f"{int(n)}"


def mde_chart(plan: Plan) -> Html:
    _style()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    m = plan.mde
    ax.plot(m.weeks, m.bug_mde_faster * 100, "o-", color=COLORS["pilot"], label="bug turnaround")
    ax.plot(m.weeks, m.onboarding_mde_faster * 100, "s-", color=COLORS["control"], label="onboarding speed")
    ax.axhline(-plan.inputs.bug_target * 100, color=COLORS["pilot"], ls="--", lw=1, label="bug target")
    ax.axhline(plan.inputs.onboarding_target * 100, color=COLORS["control"], ls=":", lw=1.2,
               label="onboarding target")
    ax.set_ylim(0, 100)
    ax.set_xlabel("pilot length (weeks)")
    ax.set_ylabel("smallest detectable effect (% faster)")
    ax.set_title("Smallest effect the pilot can detect (80% power), by pilot length")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figure(fig, "Line chart: the smallest detectable effect for bug turnaround and onboarding, in percent "
                       "faster, for pilot lengths from 4 to 26 weeks, with the targets as horizontal lines.")


def teams_table(plan: Plan) -> Html:
    rows = [[f"{int(r.weeks)}", _teams(r.bug_teams), _teams(r.onboarding_teams)] for r in plan.teams.itertuples()]
    return _table(["pilot length (weeks)", "pilot teams needed: bug target", "pilot teams needed: onboarding target"],
                  rows, notes=["For 80% power at the two-sided 5% level, with as many control teams as pilot teams "
                               "(or the planned number, if larger)."])


def assumptions(plan: Plan) -> Html:
    p = plan.inputs
    rows = [
        ["source of the numbers", esc(p.source)],
        ["bugs per team per month", f"{p.tickets_per_team_month:.1f}"],
        ["typical hours to fix a bug", f"{p.baseline_hours:.0f}"],
        ["spread of log hours (SD)", f"{p.sd_log_hours:.2f}"],
        ["team-month correlation (ICC)", f"{p.icc:.3f}"],
        ["month-to-month correlation", f"{p.serial_corr:.2f}"],
        ["months of history before the pilot", f"{p.months_history}"],
        ["new hires per team per month", f"{p.hires_per_team_month:.2f}"],
        ["median days to competency", f"{p.median_days_competency:.0f}"],
        ["months hires are followed after the pilot", f"{p.follow_up_months:.1f}"],
    ]
    return _table(["assumption", "value"], rows, notes=[
        "Bug turnaround: difference-in-differences on log hours with team and month effects and serially "
        "correlated team-month shocks (analytic, t with G−2 degrees of freedom). Onboarding: log-rank test "
        "with Schoenfeld's events formula, Weibull times, hires joining evenly during the pilot."])
