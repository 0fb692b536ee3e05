"""``reports/index.html``: every month's report, and how the headline estimates firmed up.

Built only from the published ``results.json`` files, so it never sees row-level data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from peereval.report.charts import COLORS, theme_rc
from peereval.report.outcome_wording import amount, span
from peereval.report.present import esc, figure

MOVED = 0.05  # an estimate "moved" when it shifts by 5 percentage points (or 0.05 units) or more


PATTERNS = {"month": "[0-9][0-9][0-9][0-9]-[0-9][0-9]/results.json",
            "week": "[0-9][0-9][0-9][0-9]-W[0-9][0-9]/results.json"}
PAGES = {"month": "index.html", "week": "weeks.html"}


def collect(out_dir: Path, period: str = "month") -> list[dict[str, Any]]:
    docs = []
    for path in sorted(out_dir.glob(PATTERNS[period])):
        try:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return docs


def outcomes_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each outcome's results object by key (older results.json files only had the two defaults)."""
    if doc.get("outcomes") is not None:
        return {o["key"]: o for o in doc["outcomes"]}
    out = {}
    bug, onb = doc.get("bug_turnaround"), doc.get("onboarding")
    if bug:
        out["bug_turnaround"] = {"key": "bug_turnaround", "name": "Bug turnaround", "kind": "duration",
                                 "scale": "relative", "better": "lower", "estimate": bug.get("change"),
                                 "ci_low": bug.get("ci_low"), "ci_high": bug.get("ci_high")}
    if onb:
        out["onboarding"] = {"key": "onboarding", "name": "Onboarding", "kind": "milestone", "scale": "speedup",
                             "better": "higher", "estimate": onb.get("speedup"), "ci_low": onb.get("ci_low"),
                             "ci_high": onb.get("ci_high")}
    return out


def changes(prev: dict[str, Any] | None, cur: dict[str, Any]) -> list[str]:
    """Plain notes on what changed between two consecutive monthly results."""
    if prev is None:
        return ["First report."]
    notes = []
    rows = lambda d: sum(t.get("rows_used", 0) for t in d.get("data_quality", {}).values())  # noqa: E731
    if prev.get("input_fingerprint") != cur.get("input_fingerprint"):
        notes.append(f"New data: {rows(cur) - rows(prev):+,} rows used compared with {prev.get('read') or prev['month']}.")
    else:
        notes.append(f"Same export files (a back-fill): {rows(cur) - rows(prev):+,} rows counted with this "
                     "month's cutoff.")
    before = outcomes_of(prev)
    for key, o in outcomes_of(cur).items():
        was, now = (before.get(key) or {}).get("estimate"), o.get("estimate")
        if was is not None and now is not None and abs(now - was) >= MOVED:
            notes.append(f"{o['name']} estimate moved from {amount(o, was)} to {amount(o, now)}.")
        elif was is None and now is not None:
            notes.append(f"{o['name']}: first estimate, {amount(o, now)}.")
    for kpi, target in cur.get("targets", {}).items():
        before = prev.get("targets", {}).get(kpi, {}).get("status")
        if before and before != target.get("status"):
            notes.append(f"{kpi.replace('_', ' ').capitalize()}: {before} → {target['status']}.")
    return notes


def _trend_chart(docs: list[dict[str, Any]], keys: list[str], names: dict[str, str]) -> Figure:
    """One panel per outcome: its estimate and 95% interval in each report month (its own scale).

    Drawn in the runner's own process, which may be a researcher's notebook: a bare Figure (no
    pyplot, so no backend is chosen) in the report's style for this chart only.
    """
    with mpl.rc_context(theme_rc()):
        return _draw_trend(docs, keys, names)


def _draw_trend(docs: list[dict[str, Any]], keys: list[str], names: dict[str, str]) -> Figure:
    fig = Figure(figsize=(8, 2.6 * len(keys) + 0.6))
    axes = fig.subplots(len(keys), 1, squeeze=False, sharex=True)
    months = [d.get("read") or d["month"] for d in docs]
    x = np.arange(len(months))
    for ax, key in zip(axes[:, 0], keys, strict=True):
        rows = [outcomes_of(d).get(key) or {} for d in docs]
        scale = next((r["scale"] for r in rows if r.get("scale")), "relative")
        factor = 1 if scale == "units" else 100

        def col(name, rows=rows, factor=factor):
            return np.array([np.nan if r.get(name) is None else r[name] * factor for r in rows], dtype=float)

        est, lo, hi = col("estimate"), col("ci_low"), col("ci_high")
        ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(x[ok], est[ok], yerr=[est[ok] - lo[ok], hi[ok] - est[ok]], fmt="o-", color=COLORS["pilot"],
                    capsize=3)
        ax.axhline(0, color="#333333", lw=0.8)
        unit = {"points": "points", "units": "units", "speedup": "% faster"}.get(scale, "% change")
        ax.set_ylabel(unit)
        ax.set_title(names[key], fontsize=10, loc="left")
    axes[-1, 0].set_xticks(x, months, rotation=45 if len(months) > 8 else 0)
    axes[-1, 0].set_xlabel("report month")
    fig.suptitle("How the estimates firmed up, month by month (95% intervals)")
    fig.tight_layout()
    return fig


def write_index(out_dir: str | Path) -> Path | None:
    """(Re)write ``OUT/index.html`` (monthly reads) and ``OUT/weeks.html`` (weekly reads); returns the first written."""
    out = Path(out_dir)
    written = [_write_page(out, period) for period in ("month", "week")]
    return next((w for w in written if w is not None), None)


def _write_page(out: Path, period: str) -> Path | None:
    docs = collect(out, period)
    if not docs:
        return None
    other = "week" if period == "month" else "month"
    link = (f'<p><a href="{PAGES[other]}">{"Weekly" if other == "week" else "Monthly"} reads</a></p>'
            if collect(out, other) else "")
    keys: list[str] = []
    names: dict[str, str] = {}
    for d in docs:
        for key, o in outcomes_of(d).items():
            if key not in keys:
                keys.append(key)
            names[key] = o["name"]
    rows = []
    prev = None
    for d in docs:
        found = outcomes_of(d)
        cells = []
        for key in keys:
            o = found.get(key) or {}
            if o.get("estimate") is None:
                cells.append("—")
            else:
                cells.append(f"{amount(o, o['estimate'])} ({span(o, o.get('ci_low'), o.get('ci_high'))})")
        note = " ".join(changes(prev, d))
        read = d.get("read") or d["month"]
        rows.append(f'<tr><td><a href="{esc(read)}/index.html">{esc(read)}</a></td>'
                    + "".join(f"<td>{esc(c)}</td>" for c in cells) + f"<td>{esc(note)}</td></tr>")
        prev = d
    chart = figure(_trend_chart(docs, keys, names), "Charts of each outcome's estimate with its 95% interval for "
                                                    "each report month.").markup if len(docs) > 1 and keys else ""
    heads = "".join(f"<th>{esc(names[k])}</th>" for k in keys)
    latest = docs[-1]
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{esc(latest.get("program", "Peer-learning program"))}: all reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;font-size:.92rem}}td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}}
th{{background:#eef1f5}}td:first-child{{white-space:nowrap}}img{{max-width:100%}}figcaption{{font-size:.82rem;color:#444}}</style></head>
<body><h1>{esc(latest.get("program", "Peer-learning program"))}: {period}ly reports</h1>
<p>Each {period}'s report and the estimated effect on each outcome, with its 95% interval.
What changed since the {period} before is noted beside it.</p>{link}
{chart}
<table><thead><tr><th>{period}</th>{heads}
<th>what changed since last {period}</th></tr></thead><tbody>{"".join(reversed(rows))}</tbody></table>
</body></html>
"""
    path = out / PAGES[period]
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
