"""How results show themselves in a notebook: a compact HTML table and a one-line repr.

Every public result type (estimators, aggregates, KPIs, checks, heterogeneity) renders through
these helpers, so a notebook shows the same columns in the same format everywhere: estimate,
interval, p-value, N, clusters and the inference method.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

MAX_HTML_ROWS = 20


def fmt(x: Any, digits: int = 4) -> str:
    """A number in ``digits`` significant digits; missing values as an em dash."""
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            return "—" if math.isnan(x) else ("∞" if x > 0 else "−∞")
        return f"{x:.{digits}g}"
    return str(x)


def p_text(p: float, n_draws: int | None = None) -> str:
    """A p-value as text. A resampling p-value of 0 (no draw as extreme as the data) is reported
    as ``< 1/(B+1)``: B draws cannot show a smaller p-value, and 0 would claim certainty."""
    if p is None or not math.isfinite(p):
        return "—"
    if p <= 0 and n_draws:
        return f"< {1 / (int(n_draws) + 1):.2g}"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.3g}"


def interval_text(lo: float, hi: float) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) or math.isfinite(hi)):
        return "no interval"
    return f"[{fmt(lo)}, {fmt(hi)}]"


def html_table(frame: pd.DataFrame, *, title: str, note: str = "", index: bool = True,
               max_rows: int = MAX_HTML_ROWS) -> str:
    """A compact, escaped HTML table: the title as caption, numbers formatted, long frames cut."""
    shown = frame.head(max_rows)
    cols = list(shown.columns)
    head = ("<th>" + html.escape(str(shown.index.name or "")) + "</th>" if index else "") + "".join(
        f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = []
    for key, row in shown.iterrows():
        cells = [f"<th>{html.escape(fmt(key))}</th>"] if index else []
        cells += [f"<td>{html.escape(fmt(row[c]))}</td>" for c in cols]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if len(frame) > max_rows:
        span = len(cols) + int(index)
        body.append(f'<tr><td colspan="{span}">… {len(frame) - max_rows} more rows: '
                    "see <code>summary()</code></td></tr>")
    foot = f"<p style=\"font-size:smaller\">{html.escape(note)}</p>" if note else ""
    return (f"<div><table><caption style=\"text-align:left\"><b>{html.escape(title)}</b></caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{foot}</div>")


def effect_row(estimate: float, ci_low: float, ci_high: float, p_value: float, n_obs: Any = None,
               details: Mapping[str, Any] | None = None, conf_level: float = 0.95) -> dict[str, str]:
    """The compact columns every effect shows: estimate, interval, p, N, clusters."""
    d = details or {}
    row = {"estimate": fmt(estimate), f"{conf_level:.0%} interval": interval_text(ci_low, ci_high),
           "p-value": p_text(p_value, draws_of(d))}
    if n_obs is not None:
        row["N"] = fmt(n_obs)
    if d.get("n_clusters") is not None:
        row["clusters"] = fmt(d["n_clusters"])
    return row


def draws_of(details: Mapping[str, Any]) -> int | None:
    """How many resampling draws a p-value came from (None for analytic p-values)."""
    if details.get("exact"):
        return None
    for key in ("n_boot", "n_draws"):
        if details.get(key) and details.get("inference") in ("wild", "randomization"):
            return int(details[key])
    return None


def rows_html(rows: Sequence[Mapping[str, Any]], *, title: str, note: str = "", index: str | None = None,
              max_rows: int = MAX_HTML_ROWS) -> str:
    frame = pd.DataFrame(list(rows))
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
        return html_table(frame, title=title, note=note, max_rows=max_rows)
    return html_table(frame, title=title, note=note, index=False, max_rows=max_rows)


def shorten(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def null_line(ax, value: float, *, vertical: bool) -> None:
    """The line of 'no effect' (0 for differences, 1 for ratios)."""
    (ax.axvline if vertical else ax.axhline)(value, color="#555555", lw=0.8, ls="--")


def ratio_axis(ax) -> None:
    """A log x axis for ratios, labelled 0.5, 1, 2 rather than 5×10⁻¹, 10⁰, 2×10⁰."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    narrow = lo > 0 and hi / lo < 10
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=tuple(range(1, 10)) if narrow else (1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
