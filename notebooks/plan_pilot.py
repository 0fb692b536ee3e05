# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   title: Planning a peer-learning pilot
# ---

# %% [markdown]
# # How many teams and weeks does the pilot need?
#
# Before a pilot starts: the smallest change it could detect, and the teams it would take.

# %%
from typing import Optional

# %% tags=["parameters"]
history_dir: str = ""  # optional folder of historical exports to estimate variability from
n_pilot_teams: int = 1  # planned pilot teams
n_control_teams: int = 4  # planned control teams
# Optional inputs: None means "estimate from history_dir", or the stated default without history
hires_per_team_month: Optional[float] = None  # new hires per team per month (default 0.5)
tickets_per_team_month: Optional[float] = None  # bugs per team per month (default 30)
baseline_hours: Optional[float] = None  # typical hours to fix a bug (default 24)
sd_log_hours: Optional[float] = None  # spread of log resolution hours (default 1.0)
icc: Optional[float] = None  # share of variance shared within a team-month (default 0.05)
serial_corr: Optional[float] = None  # month-to-month correlation of team shocks (default 0.5)
median_days_competency: Optional[float] = None  # median days from hire to competency (default 90)
months_history: Optional[int] = None  # months of data before the pilot starts (default 6)
follow_up_months: float = 3.0  # months hires are followed after the pilot ends
bug_target: float = -0.20  # target change in bug turnaround (negative: faster)
onboarding_target: float = 0.20  # target onboarding speed-up
alpha: float = 0.05  # two-sided level
power: float = 0.80  # wanted power
generated_at: str = ""  # set by the runner

# %%
import peereval.plan
import peereval.report.planning as pp

plan = peereval.plan.make_plan(
    history_dir or None,
    n_pilot_teams=n_pilot_teams,
    n_control_teams=n_control_teams,
    hires_per_team_month=hires_per_team_month,
    tickets_per_team_month=tickets_per_team_month,
    baseline_hours=baseline_hours,
    sd_log_hours=sd_log_hours,
    icc=icc,
    serial_corr=serial_corr,
    median_days_competency=median_days_competency,
    months_history=months_history,
    follow_up_months=follow_up_months,
    bug_target=bug_target,
    onboarding_target=onboarding_target,
    alpha=alpha,
    power=power,
)

# %% [markdown]
# ## In one minute: can this pilot answer the question?

# %%
pp.summary(plan)

# %% [markdown]
# ## What is the smallest effect each pilot length could detect?

# %%
pp.mde_chart(plan)

# %% [markdown]
# ## How many pilot teams would the targets need?

# %%
pp.teams_table(plan)

# %% [markdown]
# ## What was assumed?

# %%
pp.assumptions(plan)
