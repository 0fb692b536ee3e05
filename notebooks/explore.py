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
#   title: Explore a peer-learning pilot
# ---

# %% [markdown]
# # Explore a peer-learning pilot
#
# The same calls the monthly report makes, opened up for researchers. Start JupyterLab with
# `make lab`. Every object below is a plain DataFrame or a frozen result with `summary()`.

# %% tags=["parameters"]
data_dir: str = "../data/sample"  # folder with the exports
month: str = "2026-10"  # report month, YYYY-MM

# %%
import peereval
import peereval.report as pr

analysis = pr.analyze(data_dir, month=month)
data = analysis.data

# %% [markdown]
# ## What went in, and what was left out?

# %%
data.ledger.to_frame()

# %% [markdown]
# ## Which teams are in the pilot, and since when?

# %%
data.teams

# %% [markdown]
# ## What are the KPIs, this month and since each team's start?

# %%
peereval.compute_kpis(data, month).table

# %% [markdown]
# ## How did bug turnaround move, month by month?

# %%
analysis.turnaround

# %% [markdown]
# ## Who was onboarded, and how long did it take? (one row per hire; no names)

# %%
analysis.onboarding.groupby("group")[["days", "event"]].describe()

# %% [markdown]
# ## Did bug turnaround change? (the report's estimate, and the event study behind it)

# %%
bug = peereval.effects.bug_turnaround(data)
bug.to_dict()

# %%
bug.effect.summary()

# %%
bug.events.plot()

# %% [markdown]
# ## Did new hires become competent sooner? (time ratio and Kaplan–Meier medians)

# %%
onboarding = peereval.effects.onboarding(data)
onboarding.to_dict()

# %%
onboarding.km.summary()

# %% [markdown]
# ## The same numbers as the report's results.json

# %%
assert analysis.results()["bug_turnaround"] == bug.to_dict()
assert analysis.results()["onboarding"] == onboarding.to_dict()
