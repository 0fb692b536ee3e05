"""Tickets summed where they are stored: a database's own engine does the heavy part.

:func:`load_aggregated` reads a DuckDB file or a PostgreSQL database as :func:`peereval.load`
does, except the tickets. Rows for which every rule of the data contract can be seen to hold in
SQL (a trimmed ticket id that appears once, also once stripped, and does not look like a header;
a team of the teams table; typed created/resolved times in order; created before the cutoff; a
counted type; trimmed priority and type) stay in the database; every other row is fetched and
checked here by the same code as files. Rows left in the database count as read and used, so the
ledger is the one the rows fetched whole would give. The SQL is plain ANSI (the same text for
DuckDB and PostgreSQL) and conservative: a row it cannot vouch for is fetched, never judged
differently. When no row can stay (text-typed times, a pilot start with a time of day, an outcome
that reads tickets other than as a duration) every row is fetched and ``why_fetched`` says why.

A duration outcome on tickets (bug turnaround, or a declared one) is then built from the
database's sums per (team, day, follow-up complete, priority/type) and the fetched rows' cells
(:mod:`peereval.engine.frame`): the DiD, its cluster-robust standard errors, wild bootstrap and
randomization inference use (team, period, adjustment) cells, on which they are exact. The
report's row-level views (monthly medians, variance components, pre-start levels) add the
database's counts and sums to the fetched rows' and take medians as exact order statistics
(:mod:`peereval.engine.summaries`). The monthly report and ``validate`` use this for a DuckDB
file, and for PostgreSQL with ``--sum-in-database`` (:func:`sums_in_database` says why);
``--fetch-rows`` reads every row. :func:`peereval.effect` and :func:`peereval.panel` accept the
loaded data too.
"""

from peereval.engine.frame import build
from peereval.engine.source import EngineData, load_aggregated, sums_in_database

__all__ = ["EngineData", "build", "load_aggregated", "sums_in_database"]
