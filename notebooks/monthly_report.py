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
#   title: Peer-learning program report
# ---

# %% [markdown]
# # Did our peer-learning program work?
#
# Monthly report. Numbers first in plain words; methods and data quality at the end.

# %%
from typing import Optional

# %% tags=["parameters"]

data_dir: str = "../data/sample"  # folder with the exports (teams, people, sessions, …)
month: str = "2026-10"  # report month, YYYY-MM; the cutoff is its last day
week: str = ""  # or a weekly read: ISO week YYYY-Www (then month is ""); the cutoff is its Sunday
min_group_size: Optional[int] = None  # smallest group whose figures are shown (None: program.toml, default 5)
participation_target: Optional[float] = None  # share of invitations attended (None: program.toml, default 0.60)
sessions_target: Optional[float] = None  # sessions per pilot team per month (None: program.toml, default 4)
onboarding_target: Optional[float] = None  # share faster onboarding (None: program.toml, default 0.20)
bug_turnaround_target: Optional[float] = None  # proportional change, e.g. -0.10 (None: no target)
alpha: float = 0.05  # two-sided level of the intervals
strict: bool = False  # treat any excluded row as an error
config: str = ""  # program.toml to use (default: the data folder's, or the database's program table)
fetch_rows: Optional[bool] = None  # a database: read every ticket (True) or sum clean ones there (None: by engine)
generated_at: str = ""  # set by the runner: when this report was produced (UTC)
analysis_cache: str = ""  # set by the runner: its results for the same inputs (no rows), to avoid a second load

# %%
import peereval.report as pr

analysis = pr.analyze(
    data_dir,
    month=month,
    week=week,
    min_group_size=min_group_size,
    participation_target=participation_target,
    sessions_target=sessions_target,
    onboarding_target=onboarding_target,
    bug_turnaround_target=bug_turnaround_target,
    alpha=alpha,
    strict=strict,
    config=config,
    fetch_rows=fetch_rows,
    cache=analysis_cache,
)

# %% [markdown]
# ## In one minute: is the program on track?

# %%
pr.present.summary(analysis)

# %% [markdown]
# ## Are pilot teams meeting the program's targets?

# %%
pr.present.scorecard(analysis)

# %% [markdown]
# ## Did the program change the outcomes it targets?

# %%
pr.outcome_views.overview(analysis)

# %% [markdown]
# Each outcome in turn: the verdict in its own units, how it was estimated, what the comparison rests on,
# and the smallest effect this pilot could detect.

# %%
pr.outcome_views.sections(analysis)

# %% [markdown]
# ### Were pilot and control teams alike before the pilot?

# %%
pr.present.balance(analysis)

# %% [markdown]
# ### Can the comparison be trusted? Design checks

# %%
pr.present.integrity(analysis)

# %% [markdown]
# ## Was it worth the time?

# %%
pr.present.investment_section(analysis.investment, analysis.worth, analysis.kpis.min_group_size)

# %% [markdown]
# ### What do participants say? (only when allowed, never naming anyone)

# %%
pr.present.comments(analysis)

# %% [markdown]
# ### How does each pilot team do since it started?

# %%
pr.present.per_team(analysis)

# %% [markdown]
# ### Which session formats do teams use?

# %%
pr.present.formats(analysis)

# %% [markdown]
# ## How were the numbers worked out?

# %%
pr.present.methods(analysis)

# %% [markdown]
# ## Which data went in, and what was left out?
#
# Every row of every export is either used or counted here with the reason it was left out.

# %%
pr.present.ledger(analysis)

# %% [markdown]
# ## Reproducibility

# %%
pr.present.provenance(analysis, {"generated_at": generated_at} if generated_at else None)
