# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: title
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
from peereval.effects import effect
from peereval.outcomes import build_all

data = peereval.load(data_dir, cutoff=pr.ReportParameters(data_dir, month).cutoff)
analysis = pr.analyze(data_dir, month=month)

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
# ## Which outcomes does the program target? (each one's analysis frame, derived once)

# %%
data.config.outcomes

# %%
frames = build_all(data)
frames["bug_turnaround"].excluded

# %% [markdown]
# ## How did bug turnaround move, month by month?

# %%
analysis.outcome("bug_turnaround").trend

# %% [markdown]
# ## Did bug turnaround change? (the report's estimate, and the event study behind it)

# %%
bug = effect(frames["bug_turnaround"])
bug.summary()

# %%
bug.model.summary()

# %%
bug.events.plot()

# %% [markdown]
# ## Did new hires become competent sooner? (time ratio and Kaplan–Meier medians)

# %%
onboarding = effect(frames["onboarding"])
onboarding.summary()

# %%
onboarding.km.summary()

# %% [markdown]
# ## The same numbers as the report's results.json

# %%
assert analysis.outcome("bug_turnaround").effect.to_dict() == bug.to_dict()
assert analysis.outcome("onboarding").effect.to_dict() == onboarding.to_dict()
