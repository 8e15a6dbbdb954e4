"""When reminders go out: the help centre's rule, and a firm's schedule.

By default a reminder falls due exactly x days after the last contact (the
request, a resend or the previous reminder), any day and hour. With a firm
schedule, a moment outside its hours or working days moves to the next
opening, never earlier, and a reminder overdue after downtime waits for it
too. The weekend is the country's (the holidays package's); counting working
days is an option. Requests recorded by earlier versions keep the rule of their day.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from approvalflow import (
    Approvals,
    InvalidInputError,
    ReminderPolicy,
    ReminderSchedule,
    connect,
)
from approvalflow.domain.reminders import is_open, next_opening, next_reminder_at
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import make_directory

PARIS = ZoneInfo("Europe/Paris")
JERUSALEM = ZoneInfo("Asia/Jerusalem")
PARIS_FIRM = ReminderSchedule(time_zone="Europe/Paris", holidays="FR")


def paris(
    month: int, day: int, hour: int, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=PARIS)


#: Wednesday 7 January 2026, 10:00 in Paris (09:00 UTC).
WEDNESDAY = paris(1, 7, 10)


def due(
    contact: datetime, days: int, schedule: ReminderSchedule | None
) -> datetime | None:
    return next_reminder_at(
        pending=True,
        policy=ReminderPolicy(days, 1, schedule=schedule),
        last_contact_at=contact,
        sent_in_schedule=0,
    )


@pytest.fixture
def directory() -> InMemoryDirectory:
    return make_directory()


def open_app(
    url: str,
    clock: ControllableClock,
    directory: InMemoryDirectory,
    schedule: ReminderSchedule | None = None,
) -> Approvals:
    return connect(url, directory=directory, clock=clock, reminder_schedule=schedule)


@pytest.fixture
def plain_app(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> Iterator[Approvals]:
    with open_app(store_url, clock, directory) as app:
        yield app


@pytest.fixture
def paris_app(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> Iterator[Approvals]:
    with open_app(store_url, clock, directory, PARIS_FIRM) as app:
        yield app


def sends_at(app: Approvals, clock: ControllableClock, moment: datetime) -> list[str]:
    clock.set(moment.astimezone(UTC))
    return app.send_due_reminders()


# -- the default: x days after the last contact ---------------------------------


def test_by_default_a_wednesday_request_is_reminded_on_saturday_to_the_second(
    plain_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(WEDNESDAY.astimezone(UTC))
    plain_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 2))
    (cycle,) = plain_app.cycles("d1")
    assert cycle.reminders == ReminderPolicy(3, 2)  # no schedule recorded
    saturday = paris(1, 10, 10)
    assert plain_app.status("d1").next_reminder_at == saturday
    assert sends_at(plain_app, clock, saturday - timedelta(seconds=1)) == []
    assert sends_at(plain_app, clock, saturday) == ["d1"]
    # The next one three days after that reminder, on a Tuesday.
    assert plain_app.status("d1").next_reminder_at == paris(1, 13, 10)


def test_by_default_a_resend_on_day_2_moves_the_reminder_to_day_5(
    plain_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(WEDNESDAY.astimezone(UTC))
    plain_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    clock.set(paris(1, 9, 10).astimezone(UTC))  # Friday, day 2
    plain_app.resend("d1", by="f1")
    monday = paris(1, 12, 10)  # day 5
    assert plain_app.status("d1").next_reminder_at == monday
    assert sends_at(plain_app, clock, paris(1, 10, 10)) == []  # Saturday: not yet
    assert sends_at(plain_app, clock, monday - timedelta(seconds=1)) == []
    assert sends_at(plain_app, clock, monday) == ["d1"]


def test_by_default_a_reminder_overdue_after_downtime_goes_out_at_once(
    plain_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(paris(1, 5, 20).astimezone(UTC))  # Monday 20:00
    plain_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    # Due Thursday 20:00, at any hour; the worker was down until Saturday 03:00.
    assert plain_app.status("d1").next_reminder_at == paris(1, 8, 20)
    assert sends_at(plain_app, clock, paris(1, 10, 3)) == ["d1"]


# -- a firm schedule: the next opening, never earlier ---------------------------


def test_a_wednesday_request_in_paris_is_reminded_at_mondays_opening(
    paris_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(WEDNESDAY.astimezone(UTC))
    paris_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    # Three days on is Saturday 10:00, closed: Monday's opening, 09:00.
    monday = paris(1, 12, 9)
    assert paris_app.status("d1").next_reminder_at == monday
    assert sends_at(paris_app, clock, paris(1, 10, 10)) == []
    assert sends_at(paris_app, clock, monday - timedelta(seconds=1)) == []
    assert sends_at(paris_app, clock, monday) == ["d1"]


def test_counting_working_days_is_the_firms_explicit_choice(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    working = ReminderSchedule(
        time_zone="Europe/Paris", holidays="FR", count_working_days=True
    )
    with open_app(store_url, clock, directory, working) as app:
        clock.set(WEDNESDAY.astimezone(UTC))
        app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
        # Thursday, Friday, Monday: the third working day, at the hour of
        # the request.
        assert app.status("d1").next_reminder_at == paris(1, 12, 10)
    # Across a holiday: Friday 10 July, Monday 13 and Wednesday 15 (Tuesday
    # 14 is Bastille Day).
    assert due(paris(7, 9, 10), 3, working) == paris(7, 15, 10)
    assert due(paris(7, 9, 10), 3, PARIS_FIRM) == paris(7, 13, 9)


def test_a_resend_on_day_2_in_paris_counts_from_the_resend(
    paris_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(WEDNESDAY.astimezone(UTC))
    paris_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    clock.set(paris(1, 9, 10).astimezone(UTC))  # Friday, day 2
    paris_app.resend("d1", by="f1")
    # Monday 10:00, in the hours: day 5, not day 7.
    assert paris_app.status("d1").next_reminder_at == paris(1, 12, 10)


def test_a_reminder_overdue_on_saturday_at_3_waits_for_mondays_opening(
    paris_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(paris(1, 5, 16).astimezone(UTC))  # Monday 16:00
    paris_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 2))
    assert paris_app.status("d1").next_reminder_at == paris(1, 8, 16)  # Thursday
    # The worker was down from Thursday morning to Saturday 03:00.
    assert sends_at(paris_app, clock, paris(1, 10, 3)) == []
    assert sends_at(paris_app, clock, paris(1, 11, 23, 59, 59)) == []
    assert sends_at(paris_app, clock, paris(1, 12, 8, 59, 59)) == []
    assert sends_at(paris_app, clock, paris(1, 12, 9)) == ["d1"]
    reminded = paris_app.history("d1")[-1]
    assert (reminded.event, reminded.at) == ("Reminded", paris(1, 12, 9))
    # The next one counts from the reminder actually sent.
    assert paris_app.status("d1").next_reminder_at == paris(1, 15, 9)


def test_a_worker_with_a_schedule_holds_back_requests_recorded_without_one(
    tmp_path: Path, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with open_app(url, clock, directory) as host:
        clock.set(paris(1, 5, 16).astimezone(UTC))
        host.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    with open_app(url, clock, directory, PARIS_FIRM) as worker:
        assert sends_at(worker, clock, paris(1, 10, 3)) == []
        assert sends_at(worker, clock, paris(1, 12, 8, 59, 59)) == []
        assert sends_at(worker, clock, paris(1, 12, 9)) == ["d1"]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time(8, 59, 59), time(9)),  # before the opening: it opens
        (time(9), time(9)),  # the opening is inside
        (time(17, 59, 59), time(17, 59, 59)),  # the last second is inside
        (time(18), None),  # the closing is outside: the next working day
    ],
)
def test_each_edge_of_the_hours(at: time, expected: time | None) -> None:
    friday = datetime.combine(paris(1, 9, 0).date(), at, tzinfo=PARIS)
    opening = next_opening(friday, PARIS_FIRM)
    if expected is None:
        assert opening == paris(1, 12, 9)  # Monday
        assert not is_open(friday, PARIS_FIRM)
    else:
        assert opening == datetime.combine(friday.date(), expected, tzinfo=PARIS)
        assert is_open(friday, PARIS_FIRM) is (expected == at)
    assert is_open(friday, None)


def test_a_day_without_hours_opens_at_midnight() -> None:
    days_only = ReminderSchedule(
        time_zone="Europe/Paris", window_start=None, window_end=None
    )
    assert due(WEDNESDAY, 3, days_only) == paris(1, 12, 0)  # Saturday -> Monday
    assert is_open(paris(1, 10, 12), days_only) is False
    assert is_open(paris(1, 12, 0), days_only) is True
    assert is_open(paris(1, 11, 23, 59, 59), days_only) is False


# -- the weekend is the country's -------------------------------------------------


def test_a_country_with_a_friday_saturday_weekend() -> None:
    israel = ReminderSchedule(time_zone="Asia/Jerusalem", holidays="IL")
    monday = datetime(2026, 1, 5, 10, 0, tzinfo=JERUSALEM)
    # Four days on is Friday: the weekend there, so Sunday's opening.
    assert due(monday, 4, israel) == datetime(2026, 1, 11, 9, 0, tzinfo=JERUSALEM)
    # Six days on is Sunday, a working day there.
    assert due(monday, 6, israel) == datetime(2026, 1, 11, 10, 0, tzinfo=JERUSALEM)
    # Working days counted: Thursday, Sunday, Monday.
    counting = ReminderSchedule(
        time_zone="Asia/Jerusalem", holidays="IL", count_working_days=True
    )
    wednesday = datetime(2026, 1, 7, 10, 0, tzinfo=JERUSALEM)
    assert due(wednesday, 3, counting) == datetime(2026, 1, 12, 10, tzinfo=JERUSALEM)
    # In France, Friday is open and Sunday closed.
    assert due(paris(1, 5, 10), 4, PARIS_FIRM) == paris(1, 9, 10)
    assert due(paris(1, 5, 10), 6, PARIS_FIRM) == paris(1, 12, 9)


def test_a_weekend_given_by_the_firm_replaces_the_countrys() -> None:
    six_days = ReminderSchedule(time_zone="Europe/Paris", holidays="FR", weekend=[6])
    assert six_days.weekend == (6,)
    assert due(WEDNESDAY, 3, six_days) == paris(1, 10, 10)  # Saturday is open
    assert due(WEDNESDAY, 4, six_days) == paris(1, 12, 9)  # Sunday is not
    no_country = ReminderSchedule(time_zone="Europe/Paris")
    assert due(WEDNESDAY, 3, no_country) == paris(1, 12, 9)  # Saturday-Sunday


@pytest.mark.parametrize(
    ("settings_", "field"),
    [
        ({"weekend": [7]}, "weekend"),
        ({"weekend": [-1]}, "weekend"),
        ({"weekend": ["sat"]}, "weekend"),
        ({"weekend": [True]}, "weekend"),
        ({"weekend": list(range(7))}, "weekend"),
        ({"weekend": "sat"}, "weekend"),
        ({"business_days": False, "count_working_days": True}, "count_working_days"),
    ],
)
def test_a_bad_weekend_or_counting_is_refused_with_what_is_allowed(
    settings_: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ReminderSchedule(**settings_)
    assert caught.value.field == field
    assert "allowed:" in str(caught.value)


def test_the_widest_weekend_allowed_leaves_one_day_open() -> None:
    one_day = ReminderSchedule(weekend=list(range(6)))  # only Sunday opens
    assert due(datetime(2026, 1, 5, 10, tzinfo=UTC), 1, one_day) == datetime(
        2026, 1, 11, 9, tzinfo=UTC
    )


# -- requests recorded by earlier versions keep their rule -----------------------


def _strip_new_fields(schedule: dict[str, Any]) -> None:
    for key in ("count_working_days", "weekend"):
        schedule.pop(key)


def _events_as_written_earlier(db: Path) -> None:
    """Rewrite the events as earlier versions wrote them (no class_version)."""
    with sqlite3.connect(db) as c:
        for rowid, state in c.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%.Requested'"
            " OR topic LIKE '%.Resent'"
        ).fetchall():
            data = json.loads(bytes(state))
            assert data.pop("class_version") == 2
            _strip_new_fields(data["reminders"]["_data_"]["schedule"])
            c.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                [json.dumps(data).encode(), rowid],
            )


def test_a_request_recorded_before_keeps_business_days_and_its_weekend(
    tmp_path: Path, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    db = tmp_path / "store.sqlite3"
    url = f"sqlite:///{db}"
    with open_app(url, clock, directory, PARIS_FIRM) as app:
        clock.set(paris(7, 10, 18).astimezone(UTC))  # Friday 10 July, 18:00
        app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 2))
        # Today's rule: Monday 13 at 18:00 is closed, Tuesday a holiday.
        assert app.status("d1").next_reminder_at == paris(7, 15, 9)
    _events_as_written_earlier(db)
    with open_app(url, clock, directory, PARIS_FIRM) as app:
        app.rebuild_views()
    _views_as_written_earlier(db)
    with open_app(url, clock, directory, PARIS_FIRM) as app:
        # The earlier rule: three business days (Monday, Wednesday, Thursday) to
        # Thursday 18:00, the window's end: Friday 17 at 09:00.
        thursday_close, friday = paris(7, 16, 18), paris(7, 17, 9)
        assert app.status("d1").next_reminder_at == friday
        row = app.views.document("d1")
        assert row is not None
        assert row.next_reminder_at == friday
        assert sends_at(app, clock, paris(7, 15, 9)) == []
        assert sends_at(app, clock, thursday_close) == []
        assert sends_at(app, clock, friday) == ["d1"]
        # The row's rule (read from its stored columns) and the aggregate's
        # agree on the next: three business days on, Wednesday 22.
        row = app.views.document("d1")
        assert row is not None
        assert row.next_reminder_at == app.status("d1").next_reminder_at
        assert row.next_reminder_at == paris(7, 22, 9)
        assert row.reminders is not None
        assert row.reminders.schedule is not None
        assert row.reminders.schedule.count_working_days is True
        assert row.reminders.schedule.weekend == (5, 6)


def _views_as_written_earlier(db: Path) -> None:
    """Rewrite the documents rows' schedules as earlier versions wrote them."""
    with sqlite3.connect(db) as c:
        tables = [
            name
            for (name,) in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
            if re.fullmatch(r"af\d+_documents", name)
        ]
        for table in tables:
            for key, text in c.execute(
                f"SELECT record_id, reminder_schedule FROM {table}"
            ).fetchall():
                if text is None:
                    continue
                schedule = json.loads(text)
                _strip_new_fields(schedule)
                c.execute(
                    f"UPDATE {table} SET reminder_schedule = ? WHERE record_id = ?",
                    [json.dumps(schedule), key],
                )


def test_a_request_recorded_without_a_schedule_before_keeps_exact_days(
    tmp_path: Path, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    # Earlier requests without a schedule meant N x 24 hours: they still do,
    # also when the firm now has a schedule (its hours hold them back).
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with open_app(url, clock, directory) as app:
        clock.set(WEDNESDAY.astimezone(UTC))
        app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    with open_app(url, clock, directory, PARIS_FIRM) as app:
        assert app.status("d1").next_reminder_at == paris(1, 10, 10)
