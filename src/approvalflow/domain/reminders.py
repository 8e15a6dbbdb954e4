"""The one rule for when the next automatic reminder falls due.

The aggregate uses it to decide whether a reminder is due; the documents read
model uses it to keep the due-reminders index. Both feed it the same facts,
so the index cannot disagree with the aggregate that re-checks each reminder.

With a :class:`~approvalflow.domain.values.ReminderSchedule`, the reminder
falls due in the schedule's time zone: N days (business days, if so
configured) after the latest contact's local date, at the contact's local
time of day, moved into the sending window (a time before it waits for the
window to open; a time at or after its end waits for the next allowed day's
opening) and onto a business day. A local time that does not exist that
day (the hour skipped when clocks go forward) means the moment just after
the skip; a time that exists twice (clocks going back) means the first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from approvalflow.domain.values import ELAPSED, ReminderPolicy, ReminderSchedule

__all__ = [
    "add_business_days",
    "due_in_schedule",
    "in_zone",
    "local_moment",
    "next_reminder_at",
    "schedule_zone",
]

# A business calendar always has working days within a few weeks; a loop
# past this many days means a misconfigured calendar, not a long holiday.
_MAX_SKIP = 400


def next_reminder_at(
    *,
    pending: bool,
    policy: ReminderPolicy | None,
    last_contact_at: datetime | None,
    sent_in_schedule: int,
) -> datetime | None:
    """When the next automatic reminder falls due, or ``None`` if none will.

    ``last_contact_at`` is the latest email to the client (the request, a
    resend or a reminder); ``sent_in_schedule`` counts the reminders sent
    since the request or the latest resend. Counting from the latest contact
    means a reminder sent late (after downtime) pushes the next one a full
    interval on: no burst.
    """
    if (
        not pending
        or policy is None
        or last_contact_at is None
        or sent_in_schedule >= policy.count
    ):
        return None
    schedule = policy.schedule
    if schedule is None or schedule == ELAPSED:
        # Requests recorded before schedules existed, and the plain rule.
        return last_contact_at + policy.interval
    return due_in_schedule(last_contact_at, policy.days_before_next, schedule)


def schedule_zone(policy: ReminderPolicy | None) -> str | None:
    """The time zone reminders of ``policy`` fall due in (``None``: no reminders)."""
    if policy is None:
        return None
    return "UTC" if policy.schedule is None else policy.schedule.time_zone


def in_zone(moment: datetime | None, zone: str | None) -> datetime | None:
    """``moment`` in the IANA ``zone`` (``None`` if either is ``None``)."""
    if moment is None or zone is None:
        return None
    return moment.astimezone(ZoneInfo(zone))


def due_in_schedule(
    last_contact_at: datetime, days: int, schedule: ReminderSchedule
) -> datetime:
    """The due moment ``days`` (business) days after a contact, in ``schedule``."""
    zone = schedule.zone
    local = last_contact_at.astimezone(zone)
    if schedule.business_days:
        day = add_business_days(local.date(), days, schedule)
    else:
        day = local.date() + timedelta(days=days)
    at = local.time().replace(tzinfo=None, fold=0)
    start, end = schedule.window_start, schedule.window_end
    if start is not None and end is not None:
        if at < start:
            at = start
        elif at >= end:
            day, at = day + timedelta(days=1), start
    # Counting lands on a business day; only the window's end can move it
    # to the next day (already at the opening time), which may not be one.
    moved = 0
    while not schedule.is_business_day(day):
        day += timedelta(days=1)
        moved += 1
        if moved > _MAX_SKIP:  # pragma: no cover - a calendar with no workdays
            msg = f"no business day within {_MAX_SKIP} days of {day}"
            raise ValueError(msg)
    return local_moment(day, at, schedule)


def add_business_days(start: date, days: int, schedule: ReminderSchedule) -> date:
    """The date ``days`` business days after ``start`` (``start`` not counted)."""
    day = start
    counted = skipped = 0
    while counted < days:
        day += timedelta(days=1)
        if schedule.is_business_day(day):
            counted += 1
        else:
            skipped += 1
            if skipped > _MAX_SKIP:  # pragma: no cover - a calendar with no workdays
                msg = f"no business day within {_MAX_SKIP} days of {start}"
                raise ValueError(msg)
    return day


def local_moment(day: date, at: time, schedule: ReminderSchedule) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in the schedule's zone.

    A skipped wall-clock time (clocks going forward) is taken with the offset
    in force before the skip, which lands just after it by the same amount
    (02:30 on a night that jumps from 02:00 to 03:00 is 03:30); a repeated
    one (clocks going back) is its first occurrence.
    """
    moment = datetime.combine(day, at.replace(fold=0), tzinfo=schedule.zone)
    return moment.astimezone(UTC)
