"""Property tests of the importers' date reading and skip limit, over generated values.

Jira formats its dates with Java's CLDR data (``dd/MMM/yy h:mm a``); babel's ``format_datetime``
writes the same patterns from the same CLDR data, so it stands in for a Jira of any language.
Zone abbreviations are written by the tz database itself (``%Z``), and read back by our table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from hypothesis import given, settings
from hypothesis import strategies as st

from peereval.errors import DataError
from peereval.importers import run_import
from peereval.importers.dates import GOOGLE_FORMATS, JIRA_FORMATS, date_reader
from peereval.importers.merge import MAX_SKIPPED_SHARE

LOCALES = ("en", "de", "fr", "es", "pt", "it", "nl", "de_AT", "pt_PT", "es_MX", "fr_CA", "nl_BE")
PATTERNS = ("dd/MMM/yy h:mm a", "dd/LLL/yy h:mm a", "dd/MMM/yy HH:mm", "dd/MMM/yyyy h:mm a", "dd/MMM/yy")
#: zones whose abbreviations name one offset (EST/EDT, CET/CEST, …), unlike CST, IST, PST or AST
ZONES = ("America/New_York", "America/Denver", "Europe/Berlin", "Europe/Helsinki", "Asia/Tokyo",
         "Australia/Sydney", "Africa/Johannesburg", "Pacific/Auckland", "Asia/Hong_Kong", "Europe/Moscow")
minutes = st.datetimes(datetime(2018, 1, 1), datetime(2031, 12, 31)).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(when=minutes, locale=st.sampled_from(LOCALES), pattern=st.sampled_from(PATTERNS))
def test_jira_dates_in_any_tested_language_read_back_exactly(when, locale, pattern):
    value = format_datetime(when, pattern, locale=locale)
    reader = date_reader([value], {"locale": locale}, "jira.csv", "Created", "jira", JIRA_FORMATS)
    expected = when if "m" in pattern.split(" ", 1)[-1] else when.replace(hour=0, minute=0)
    assert reader.parse(value) == expected, value


@settings(max_examples=60, deadline=None, derandomize=True)
@given(when=st.datetimes(datetime(2018, 1, 1), datetime(2031, 12, 31)).map(lambda d: d.replace(microsecond=0)),
       zone=st.sampled_from(ZONES))
def test_unambiguous_zone_abbreviations_give_the_instant_back(when, zone):
    local = when.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    value = f"{local:%Y/%m/%d} {local.hour % 12 or 12}:{local:%M:%S %p %Z}"  # Google Forms' Timestamp
    reader = date_reader([value], {}, "forms.csv", "Timestamp", "forms", GOOGLE_FORMATS)
    assert reader.parse(value) == local, value


HEADER = "Summary,Issue key,Issue Type,Created,Resolved,Component/s\n"


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(1, 80), data=st.data())
def test_an_import_stops_exactly_when_more_than_5_percent_is_lost(tmp_path_factory, n, data):
    broken = data.draw(st.sets(st.integers(0, n - 1), max_size=n))
    start = datetime(2026, 1, 5, 9, 0)
    lines = [f"Issue {i},{'' if i in broken else f'PAY-{i}'},Bug,"
             f"{(start + timedelta(hours=7 * i)):%d/%b/%y %I:%M %p},,Ledger\n" for i in range(n)]
    folder = tmp_path_factory.mktemp("d")
    (folder / "jira.csv").write_text(HEADER + "".join(lines), encoding="utf-8")
    stops = len(broken) > MAX_SKIPPED_SHARE * n or len(broken) == n
    settings_ = {"components": {"Ledger": "team-bravo"}}
    if stops:
        with pytest.raises(DataError, match=rf"{len(broken)} × blank Issue key"):
            run_import("jira", folder / "jira.csv", folder / "data", **settings_)
        assert not (folder / "data" / "tickets.csv").exists()
    else:
        s = run_import("jira", folder / "jira.csv", folder / "data", **settings_)
        assert (s.rows_added, s.rows_skipped, s.read) == (n - len(broken), len(broken), {"issue": n})
    if len(broken) < n:
        s = run_import("jira", folder / "jira.csv", folder / "data", allow_skips=True, **settings_)
        assert s.rows_added + s.rows_unchanged == n - len(broken)
        assert Path(folder / "data" / "tickets.csv").read_text().count("PAY-") == n - len(broken)
