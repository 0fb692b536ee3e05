"""The months index: what changed since last month, from results.json alone."""

from peereval.report.index import changes

PREV = {"month": "2026-09", "input_fingerprint": "a",
        "data_quality": {"tickets": {"rows_used": 100}},
        "bug_turnaround": {"change": -0.10, "ci_low": -0.2, "ci_high": 0.0},
        "onboarding": {"speedup": None},
        "targets": {"participation_rate": {"status": "not met"}, "sessions_per_month": {"status": "met"}}}
CUR = {"month": "2026-10", "input_fingerprint": "b",
       "data_quality": {"tickets": {"rows_used": 130}},
       "bug_turnaround": {"change": -0.18, "ci_low": -0.28, "ci_high": -0.05},
       "onboarding": {"speedup": 0.25, "ci_low": 0.1, "ci_high": 0.4},
       "targets": {"participation_rate": {"status": "met"}, "sessions_per_month": {"status": "met"}}}


def test_changes_between_months():
    assert changes(PREV, CUR) == [
        "New data: +30 rows used compared with 2026-09.",
        "Bug turnaround estimate moved from 10% faster to 18% faster.",
        "Onboarding: first estimate, 25% faster.",
        "Participation rate: not met → met.",
    ]


def test_first_month_and_small_moves():
    assert changes(None, CUR) == ["First report."]
    same = dict(CUR, input_fingerprint="b")
    assert changes(CUR, same) == ["Same export files (a back-fill): +0 rows counted with this month's cutoff."]


def test_declared_outcomes_are_tracked_by_key():
    def doc(month, est):
        return {"month": month, "input_fingerprint": month, "data_quality": {}, "targets": {},
                "outcomes": [{"key": "deal_close_rate", "name": "Deal close rate", "kind": "proportion",
                              "scale": "points", "better": "higher", "estimate": est, "ci_low": None,
                              "ci_high": None}]}
    assert changes(doc("2026-09", 0.02), doc("2026-10", 0.09))[1] == \
        "Deal close rate estimate moved from 2.0 points higher to 9.0 points higher."
    assert changes(doc("2026-09", None), doc("2026-10", 0.09))[1] == "Deal close rate: first estimate, 9.0 points higher."
