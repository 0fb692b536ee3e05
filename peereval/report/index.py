"""``reports/index.html``: every month's report, and how the headline estimates firmed up.

Built only from the published ``results.json`` files, so it never sees row-level data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from peereval.report.charts import COLORS, _style
from peereval.report.present import esc, figure

MOVED = 0.05  # a headline estimate "moved" when it shifts by 5 percentage points or more


def collect(out_dir: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(out_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/results.json")):
        try:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return docs


def _headline(doc: dict[str, Any]) -> dict[str, float | None]:
    bug, onb = doc.get("bug_turnaround") or {}, doc.get("onboarding") or {}
    neg = lambda x: None if x is None else -x  # noqa: E731 - "% faster" is minus the change
    return {"bug": neg(bug.get("change")), "bug_lo": neg(bug.get("ci_high")), "bug_hi": neg(bug.get("ci_low")),
            "onb": onb.get("speedup"), "onb_lo": onb.get("ci_low"), "onb_hi": onb.get("ci_high")}


def changes(prev: dict[str, Any] | None, cur: dict[str, Any]) -> list[str]:
    """Plain notes on what changed between two consecutive monthly results."""
    if prev is None:
        return ["First report."]
    notes = []
    rows = lambda d: sum(t.get("rows_used", 0) for t in d.get("data_quality", {}).values())  # noqa: E731
    if prev.get("input_fingerprint") != cur.get("input_fingerprint"):
        notes.append(f"New data: {rows(cur) - rows(prev):+,} rows used compared with {prev['month']}.")
    else:
        notes.append(f"Same export files (a back-fill): {rows(cur) - rows(prev):+,} rows counted with this "
                     "month's cutoff.")
    a, b = _headline(prev), _headline(cur)
    for key, name in (("bug", "Bug turnaround"), ("onb", "Onboarding")):
        if a[key] is not None and b[key] is not None and abs(b[key] - a[key]) >= MOVED:
            notes.append(f"{name} estimate moved from {a[key]:.0%} to {b[key]:.0%} faster.")
        elif a[key] is None and b[key] is not None:
            notes.append(f"{name}: first estimate, {b[key]:.0%} faster.")
    for kpi, target in cur.get("targets", {}).items():
        before = prev.get("targets", {}).get(kpi, {}).get("status")
        if before and before != target.get("status"):
            notes.append(f"{kpi.replace('_', ' ').capitalize()}: {before} → {target['status']}.")
    return notes


def _trend_chart(docs: list[dict[str, Any]]) -> plt.Figure:
    _style()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    months = [d["month"] for d in docs]
    x = np.arange(len(months))
    for key, label, color, shift in (("bug", "Bug turnaround", COLORS["pilot"], -0.08),
                                     ("onb", "Onboarding speed", COLORS["control"], 0.08)):
        h = [_headline(d) for d in docs]
        est = np.array([np.nan if r[key] is None else r[key] * 100 for r in h])
        lo = np.array([np.nan if r[f"{key}_lo"] is None else r[f"{key}_lo"] * 100 for r in h])
        hi = np.array([np.nan if r[f"{key}_hi"] is None else r[f"{key}_hi"] * 100 for r in h])
        ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(x[ok] + shift, est[ok], yerr=[est[ok] - lo[ok], hi[ok] - est[ok]], fmt="o-", color=color,
                    capsize=3, label=label)
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_xticks(x, months, rotation=45 if len(months) > 8 else 0)
    ax.set_ylabel("% faster (95% interval)")
    ax.set_xlabel("report month")
    ax.set_title("How the estimates firmed up, month by month")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _fmt(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def write_index(out_dir: str | Path) -> Path | None:
    """(Re)write ``OUT/index.html`` from every month's results.json; returns its path."""
    out = Path(out_dir)
    docs = collect(out)
    if not docs:
        return None
    rows = []
    prev = None
    for d in docs:
        h = _headline(d)
        bug = f"{_fmt(h['bug'])} ({_fmt(h['bug_lo'])} to {_fmt(h['bug_hi'])})" if h["bug"] is not None else "—"
        onb = f"{_fmt(h['onb'])} ({_fmt(h['onb_lo'])} to {_fmt(h['onb_hi'])})" if h["onb"] is not None else "—"
        note = " ".join(changes(prev, d))
        rows.append(f'<tr><td><a href="{esc(d["month"])}/index.html">{esc(d["month"])}</a></td><td>{esc(bug)}</td>'
                    f"<td>{esc(onb)}</td><td>{esc(note)}</td></tr>")
        prev = d
    chart = figure(_trend_chart(docs), "Chart of the bug turnaround and onboarding estimates with 95% intervals "
                                       "for each report month.").markup if len(docs) > 1 else ""
    latest = docs[-1]
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{esc(latest.get("program", "Peer-learning program"))}: all reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;font-size:.92rem}}td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}}
th{{background:#eef1f5}}td:first-child{{white-space:nowrap}}img{{max-width:100%}}figcaption{{font-size:.82rem;color:#444}}</style></head>
<body><h1>{esc(latest.get("program", "Peer-learning program"))}: monthly reports</h1>
<p>Each month's report and its headline estimates (% faster with the program, with the 95% interval).
What changed since the month before is noted beside it.</p>
{chart}
<table><thead><tr><th>month</th><th>bug turnaround, % faster</th><th>onboarding, % faster</th>
<th>what changed since last month</th></tr></thead><tbody>{"".join(reversed(rows))}</tbody></table>
</body></html>
"""
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
