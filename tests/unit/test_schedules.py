"""Reminders in the client's hours and working days (ReminderSchedule).

Examples a firm would check by hand (a French holiday, the British Christmas,
the clocks changing, each edge of the window), then every schedule against a
plain model over random contacts, zones, windows and calendars.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import (
    Approvals,
    ConfigurationError,
    InvalidInputError,
    ReminderPolicy,
    ReminderSchedule,
    connect,
)
from approvalflow.domain.reminders import next_reminder_at
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START, make_directory

PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")


def due(contact: datetime, days: int, schedule: ReminderSchedule) -> datetime:
    found = next_reminder_at(
        pending=True,
        policy=ReminderPolicy(days, 1, schedule=schedule),
        last_contact_at=contact,
        sent_in_schedule=0,
    )
    assert found is not None
    return found


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# -- examples ----------------------------------------------------------------------


def test_a_french_holiday_and_the_end_of_the_window_push_the_reminder() -> None:
    schedule = ReminderSchedule(
        time_zone="Europe/Paris", holidays="FR", count_working_days=True
    )
    # Friday 10 July 2026, 18:00 in Paris: three business days on, skipping
    # the weekend and Bastille Day (Tuesday 14), is Thursday 16 at 18:00,
    # when the window has closed: Friday 17 at 09:00.
    got = due(paris(2026, 7, 10, 18, 0), 3, schedule)
    assert got.astimezone(PARIS) == paris(2026, 7, 17, 9, 0)
    # Without the holiday calendar, Wednesday 15 had been the third day.
    plain = attrs.evolve(schedule, holidays=None)
    assert due(paris(2026, 7, 10, 18, 0), 3, plain).astimezone(PARIS) == paris(
        2026, 7, 16, 9, 0
    )


def test_the_british_christmas_and_boxing_day_observed_are_skipped() -> None:
    schedule = ReminderSchedule(
        time_zone="Europe/London", holidays="GB", count_working_days=True
    )
    contact = datetime(2026, 12, 24, 10, 0, tzinfo=LONDON)  # a Thursday
    # Friday 25 (Christmas), the weekend, Monday 28 (Boxing Day observed).
    assert due(contact, 1, schedule) == datetime(2026, 12, 29, 10, 0, tzinfo=LONDON)


def test_a_day_is_a_local_day_across_the_change_to_summer_time() -> None:
    schedule = ReminderSchedule(
        time_zone="Europe/Paris", window_start=None, window_end=None,
        business_days=False,
    )  # fmt: skip
    # Saturday 28 March 2026 10:00 CET -> Sunday 29 10:00 CEST: 23 hours.
    contact = paris(2026, 3, 28, 10, 0)
    got = due(contact, 1, schedule)
    assert got.astimezone(PARIS) == paris(2026, 3, 29, 10, 0)
    assert got - contact == timedelta(hours=23)
    # The elapsed rule stays exactly 24 hours.
    assert due(contact, 1, ReminderSchedule.elapsed()) - contact == timedelta(days=1)


def test_a_skipped_wall_time_lands_just_after_the_skip() -> None:
    schedule = ReminderSchedule(
        time_zone="Europe/Paris", window_start=None, window_end=None,
        business_days=False,
    )  # fmt: skip
    # 02:30 does not exist on 29 March 2026 in Paris (02:00 -> 03:00).
    got = due(paris(2026, 3, 28, 2, 30), 1, schedule)
    assert got.astimezone(PARIS) == paris(2026, 3, 29, 3, 30)


def test_a_repeated_wall_time_is_its_first_occurrence() -> None:
    schedule = ReminderSchedule(
        time_zone="Europe/Paris", window_start=None, window_end=None,
        business_days=False,
    )  # fmt: skip
    # 02:30 happens twice on 25 October 2026 in Paris; the first is CEST.
    got = due(paris(2026, 10, 24, 2, 30), 1, schedule)
    assert got == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert got.astimezone(PARIS).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time(8, 59, 59), time(9, 0)),  # before the window: it opens
        (time(9, 0), time(9, 0)),  # its first instant is inside
        (time(17, 59, 59), time(17, 59, 59)),  # its last instant is inside
        (time(18, 0), None),  # its end is outside: the next day's opening
    ],
)
def test_each_edge_of_the_window(at: time, expected: time | None) -> None:
    schedule = ReminderSchedule(time_zone="Europe/Paris")
    contact = datetime.combine(date(2026, 6, 1), at, tzinfo=PARIS)  # a Monday
    got = due(contact, 2, schedule).astimezone(PARIS)
    if expected is None:
        assert got == paris(2026, 6, 4, 9, 0)
    else:
        assert got == datetime.combine(date(2026, 6, 3), expected, tzinfo=PARIS)


def test_business_days_count_from_a_weekend_contact() -> None:
    schedule = ReminderSchedule(time_zone="UTC", count_working_days=True)
    saturday = datetime(2026, 6, 6, 12, 0, tzinfo=UTC)
    # Monday is the first business day after it, Tuesday the second.
    assert due(saturday, 2, schedule) == datetime(2026, 6, 9, 12, 0, tzinfo=UTC)


# -- the application ---------------------------------------------------------------


@pytest.fixture
def directory() -> InMemoryDirectory:
    return make_directory()


@pytest.fixture
def paris_app(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> Iterator[Approvals]:
    schedule = ReminderSchedule(time_zone="Europe/Paris", holidays="FR")
    with connect(
        store_url, directory=directory, clock=clock, reminder_schedule=schedule
    ) as app:
        yield app


def test_the_firms_schedule_is_recorded_and_shown_in_local_time(
    paris_app: Approvals, clock: ControllableClock
) -> None:
    clock.set(datetime(2026, 7, 10, 16, 0, tzinfo=UTC))  # Friday, 18:00 in Paris
    paris_app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 1))
    (cycle,) = paris_app.cycles("d1")
    assert cycle.reminders is not None
    assert cycle.reminders.schedule == ReminderSchedule(
        time_zone="Europe/Paris", holidays="FR"
    )
    # Three calendar days on is Monday 13 at 18:00, when the hours have
    # closed; Tuesday 14 is Bastille Day: Wednesday 15 at 09:00.
    status = paris_app.status("d1")
    assert status.next_reminder_at == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)
    assert status.next_reminder_local == paris(2026, 7, 15, 9, 0)
    assert status.reminder_time_zone == "Europe/Paris"
    (row,) = paris_app.approvals_tab("acme").rows
    assert row.next_reminder_local == paris(2026, 7, 15, 9, 0)
    assert paris_app.client_view("d1").next_reminder_local == paris(2026, 7, 15, 9, 0)
    # Due at that moment, not a second before.
    clock.set(datetime(2026, 7, 15, 6, 59, 59, tzinfo=UTC))
    assert paris_app.send_due_reminders() == []
    clock.advance(seconds=1)
    assert paris_app.send_due_reminders() == ["d1"]


def test_a_policy_with_its_own_schedule_keeps_it(
    paris_app: Approvals, clock: ControllableClock
) -> None:
    paris_app.request_approval(
        "d1", by="f1", reminders=ReminderPolicy(2, 1, ReminderSchedule.elapsed())
    )
    assert paris_app.status("d1").next_reminder_at == START + timedelta(days=2)
    assert paris_app.status("d1").reminder_time_zone == "UTC"


def test_the_recipients_zone_applies_when_they_agree(
    paris_app: Approvals, directory: InMemoryDirectory
) -> None:
    for user in ("c1", "c2"):
        directory.client_users[user] = attrs.evolve(
            directory.client_users[user], time_zone="Europe/London"
        )
    directory.link("acme", "c2", notify=True)
    paris_app.request_approval("d1", by="f1", reminders=ReminderPolicy(1, 1))
    assert paris_app.status("d1").reminder_time_zone == "Europe/London"
    # One who disagrees: the firm's zone.
    directory.client_users["c2"] = attrs.evolve(
        directory.client_users["c2"], time_zone="America/New_York"
    )
    paris_app.request_approval("d2", by="f1", reminders=ReminderPolicy(1, 1))
    assert paris_app.status("d2").reminder_time_zone == "Europe/Paris"
    # A zone the directory got wrong: the firm's, not a failed request.
    for user in ("c1", "c2"):
        directory.client_users[user] = attrs.evolve(
            directory.client_users[user], time_zone="Mars/Olympus"
        )
    paris_app.request_approval("d3", by="f1", reminders=ReminderPolicy(1, 1))
    assert paris_app.status("d3").reminder_time_zone == "Europe/Paris"


def test_a_resend_with_a_new_policy_takes_the_firms_schedule(
    paris_app: Approvals, clock: ControllableClock
) -> None:
    paris_app.request_approval(
        "d1", by="f1", reminders=ReminderPolicy(2, 1, ReminderSchedule.elapsed())
    )
    paris_app.resend("d1", by="f1", reminders=ReminderPolicy(1, 1))
    assert paris_app.status("d1").reminder_time_zone == "Europe/Paris"


@pytest.mark.parametrize(
    ("settings_", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"window_start": time(18), "window_end": time(9)}, "window_end"),
        ({"window_start": time(9), "window_end": time(9)}, "window_end"),
        ({"window_start": None}, "window_end"),
        ({"window_start": "09:00"}, "window_start"),
        ({"window_end": time(18, tzinfo=UTC)}, "window_end"),
        ({"holidays": "XX"}, "holidays"),
        ({"holidays": "fr"}, "holidays"),
        ({"holiday_region": "ENG"}, "holiday_region"),
        ({"holidays": "GB", "holiday_region": "Atlantis"}, "holiday_region"),
        ({"business_days": "yes"}, "business_days"),
    ],
)
def test_a_bad_schedule_is_refused_with_what_is_allowed(
    settings_: dict[str, Any], field: str
) -> None:
    with pytest.raises((InvalidInputError, TypeError)) as caught:
        ReminderSchedule(**settings_)
    if isinstance(caught.value, InvalidInputError):
        assert caught.value.field == field
        assert "allowed:" in str(caught.value)


def test_good_regions_are_taken() -> None:
    assert ReminderSchedule(holidays="GB", holiday_region="SCT").holiday_region == "SCT"
    assert ReminderSchedule(window_start=time(0), window_end=time(23, 59)).window_end


def test_connect_refuses_something_else_as_the_schedule() -> None:
    with pytest.raises(ConfigurationError, match="not a ReminderSchedule"):
        connect("memory://", reminder_schedule="Europe/Paris")  # type: ignore[arg-type]


# -- every schedule against a model ------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour change
    "Asia/Kolkata",  # never changes
]


@st.composite
def schedules(draw: st.DrawFn) -> ReminderSchedule:
    window = draw(st.booleans())
    start = end = None
    if window:
        start_minutes = draw(st.integers(0, 23 * 60))
        end_minutes = draw(st.integers(start_minutes + 1, 24 * 60 - 1))
        start = time(start_minutes // 60, start_minutes % 60)
        end = time(end_minutes // 60, end_minutes % 60)
    business_days = draw(st.booleans())
    return ReminderSchedule(
        time_zone=draw(st.sampled_from(ZONES)),
        window_start=start,
        window_end=end,
        business_days=business_days,
        holidays=draw(st.sampled_from([None, "FR", "GB", "US", "IL"])),
        count_working_days=business_days and draw(st.booleans()),
        weekend=draw(st.sampled_from([None, (5, 6), (4, 5), (6,)])),
    )


contacts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
    timezones=st.just(UTC),
)  # fmt: skip


# The weekends the holidays package gives these countries, written out.
WEEKENDS = {None: (5, 6), "FR": (5, 6), "GB": (5, 6), "US": (5, 6), "IL": (4, 5)}


def model_due(contact: datetime, days: int, s: ReminderSchedule) -> datetime:
    """The earliest open wall-clock moment at or after the nominal one."""
    zone = ZoneInfo(s.time_zone)
    calendar = holidays.country_holidays(s.holidays) if s.holidays else {}
    weekend = WEEKENDS[s.holidays] if s.weekend is None else s.weekend

    def open_day(day: date) -> bool:
        return not s.business_days or (
            day.weekday() not in weekend and day not in calendar
        )

    local = contact.astimezone(zone)
    target, counted = local.date(), 0
    while counted < days:
        target += timedelta(days=1)
        counted += open_day(target) if s.count_working_days else 1
    nominal = datetime.combine(target, local.time().replace(tzinfo=None))
    opens = s.window_start or time(0)
    closes = s.window_end
    if open_day(target) and (closes is None or nominal.time() < closes):
        wall = max(nominal, datetime.combine(target, opens))
    else:
        day = target + timedelta(days=1)
        while not open_day(day):
            day += timedelta(days=1)
        wall = datetime.combine(day, opens)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == wall


@settings(max_examples=settings().max_examples * 5, deadline=None)
@given(contact=contacts, days=st.integers(1, 15), schedule=schedules())
def test_every_schedule_agrees_with_the_model(
    contact: datetime, days: int, schedule: ReminderSchedule
) -> None:
    got = due(contact, days, schedule)
    assert got == model_due(contact, days, schedule)
    assert got > contact
    local = got.astimezone(schedule.zone)
    wall = local.replace(tzinfo=None)
    if schedule.business_days:
        assert schedule.is_business_day(local.date())
    if schedule.window_start is not None and schedule.window_end is not None:
        opening = datetime.combine(local.date(), schedule.window_start)
        if exists(opening, schedule.zone):
            # Inside the window (a wall time skipped by a clock change moves
            # just past the skip, which may be later than the window allows).
            assert schedule.window_start <= wall.time() or not exists(
                wall, schedule.zone
            )
            assert wall.time() < schedule.window_end or not exists(
                datetime.combine(local.date(), local.time()), schedule.zone
            )
    # At least the number of working (or calendar) days has passed.
    start = contact.astimezone(schedule.zone).date()
    passed = [
        start + timedelta(days=i) for i in range(1, (local.date() - start).days + 1)
    ]
    if schedule.count_working_days:
        assert sum(schedule.is_business_day(d) for d in passed) >= days
    else:
        assert len(passed) >= days
