"""The `.ics` export of `versioner calendar` (issue 17): a policy with every window kind,
exported for 400 days, parses with Python's `icalendar` package, its VTIMEZONEs agree with
the IANA zones, and its events expand to exactly the closed intervals that
`versioner calendar --format json` reports.

Needs the `versioner` binary (scripts/test-python.sh sets VERSIONER_BIN)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List, Tuple

import icalendar  # type: ignore[import-untyped]  # 6.x ships no type information
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("VERSIONER_BIN", ROOT / "target" / "debug" / "versioner"))

pytestmark = pytest.mark.skipif(
    not BIN.is_file() and "VERSIONER_BIN" not in os.environ,
    reason="the versioner binary is not built (scripts/test-python.sh builds it)",
)

HOLIDAYS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:christmas@test\r
SUMMARY:Christmas\r
DTSTART;VALUE=DATE:20261225\r
DTEND;VALUE=DATE:20261227\r
END:VEVENT\r
END:VCALENDAR\r
"""

POLICY = """
[[rules]]
name = "Freezes, with a comma; and a semicolon"
type = "schedule"
timezone = "America/New_York"
environments = ["production"]
windows = [
  { name = "Weekend", recurrence = "weekly", start = "fri 17:00", end = "mon 08:00" },
  { name = "Night", recurrence = "daily", start = "23:00", end = "01:00" },
  { name = "Payroll", recurrence = "weekly", days = ["wed"], start = "14:00", end = "15:00" },
  { name = "Last Friday", recurrence = "monthly", weekday = "fri", week = -1, start = "12:00", end = "17:00" },
  { name = "Patch day", recurrence = "monthly", days_of_month = [10], start = "09:00", end = "10:00" },
  { name = "Maintenance", rrule = "FREQ=MONTHLY;BYDAY=1MO", start = "09:00", duration = "3h", exdates = ["2026-12-07T09:00"] },
  { name = "Year end", recurrence = "once", start = "2026-12-30T00:00", end = "2027-01-02T00:00" },
  { name = "Holidays", holidays = "holidays.ics" },
]

[[rules]]
name = "Business hours"
type = "schedule"
mode = "allow"
timezone = "Europe/London"
environments = ["production"]
windows = [{ recurrence = "weekly", days = ["mon", "tue", "wed", "thu", "fri"], start = "07:00", end = "20:00" }]
"""

FROM = "2026-03-05T00:00:00Z"

Span = Tuple[datetime, datetime]


def run(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN), "--db", str(tmp_path / "cal.db"), *args],
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    return done.stdout.decode("utf-8")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def merged(spans: List[Span]) -> List[Span]:
    out: List[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def test_the_ics_export_expands_to_the_json_calendar(tmp_path: Path) -> None:
    (tmp_path / "holidays.ics").write_text(HOLIDAYS)
    (tmp_path / "policy.toml").write_text(POLICY)
    run(tmp_path, "rules", "apply", "policy.toml")
    common = ["calendar", "--environment", "production", "--days", "400", "--from", FROM]
    report: Any = json.loads(run(tmp_path, *common, "--format", "json"))
    raw = run(tmp_path, *common, "--format", "ics").encode("utf-8")

    # RFC 5545 framing: CRLF line ends, lines folded at 75 octets.
    assert raw.endswith(b"END:VCALENDAR\r\n")
    for line in raw.split(b"\r\n"):
        assert b"\n" not in line and len(line) <= 75, line

    cal = icalendar.Calendar.from_ical(raw)
    zones = {
        str(tz["TZID"]): tz.to_tz(lookup_tzid=False)
        for tz in cal.walk("VTIMEZONE")
        if isinstance(tz, icalendar.Timezone)
    }
    assert set(zones) == {"America/New_York", "Europe/London"}

    spans: List[Span] = []
    summaries = set()
    for event in cal.walk("VEVENT"):
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND")
        tzid = str(event["DTSTART"].params["TZID"])
        # The feed's own VTIMEZONE gives the same instant as the IANA zone of that name.
        own = start.replace(tzinfo=None)
        assert own.replace(tzinfo=zones[tzid]).astimezone(timezone.utc) == start.astimezone(
            timezone.utc
        ), (tzid, start)
        spans.append((start.astimezone(timezone.utc), end.astimezone(timezone.utc)))
        summaries.add(str(event["SUMMARY"]))

    uids = [str(event["UID"]) for event in cal.walk("VEVENT")]
    assert len(set(uids)) == len(uids), "UIDs are unique"

    closed = [(instant(i["start"]), instant(i["end"])) for i in report["closed"]]
    assert len(closed) > 250
    assert merged(spans) == closed
    # Every kind of window made it into the feed, by name.
    for name in ["Weekend", "Night", "Payroll", "Last Friday", "Patch day", "Maintenance", "Year end", "Holidays"]:
        assert f"Deploy freeze: {name}" in summaries, name
    assert "Closed: outside the allowed windows" in summaries
    # The skipped RRULE occurrence (EXDATE) is absent; the next one is there.
    starts = {(i["window"], i["start"]) for i in report["deny"]}
    assert ("Maintenance", "2026-12-07T14:00:00Z") not in starts
    assert ("Maintenance", "2027-01-04T14:00:00Z") in starts
