"""Shared plumbing of the Monte Carlo scripts: run replications (in parallel), print tables as markdown."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor

import pandas as pd


def run(one_rep: Callable, tasks: Iterable, jobs: int = 1, chunksize: int = 4) -> list[dict]:
    """Every task's rows (``one_rep`` returns a dict or a list of dicts), in task order."""
    tasks = list(tasks)
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(one_rep, tasks, chunksize=chunksize))
    else:
        parts = [one_rep(t) for t in tasks]
    rows: list[dict] = []
    for part in parts:
        rows.extend(part if isinstance(part, list) else [part])
    return rows


def markdown_table(table: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A GitHub markdown table; floats formatted with ``floatfmt``."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(format(r[c], floatfmt) if isinstance(r[c], float) else str(r[c])
                                       for c in cols) + " |")
    return "\n".join(lines)


def emit(text: str, out: str | None) -> None:
    """Print the result and, with ``--out``, write it to that file too."""
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text)
