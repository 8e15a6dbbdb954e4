"""The one rule for when the next automatic reminder falls due.

The aggregate uses it to decide whether a reminder is due; the documents read
model uses it to keep the due-reminders index. Both feed it the same facts,
so the index cannot disagree with the aggregate that re-checks each reminder.

Without a schedule (the default), the reminder falls due exactly N days
(N x 24 hours) after the latest contact: the request, a resend or the
previous reminder, any day and any hour.

With a :class:`~approvalflow.domain.values.ReminderSchedule`, the count is
made in the schedule's time zone: N calendar days after the latest contact
(the same wall-clock time N dates later), or N working days with
``count_working_days``. A moment outside the schedule then moves to the next
opening, never earlier: before the day's opening hour to that hour; at or
after its closing hour, or on a closed day, to the next open day's opening.
A local time that does not exist that day (the hour skipped when clocks go
forward) means the moment just after the skip; a time that exists twice
(clocks going back) means the first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from approvalflow.domain.values import ReminderPolicy, ReminderSchedule

__all__ = [
    "due_in_schedule",
    "in_zone",
    "is_open",
    "local_moment",
    "next_opening",
    "next_reminder_at",
    "schedule_zone",
]

# A calendar always has working days within a few weeks; a search past this
# many days means a misconfigured calendar, not a long holiday.
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
    if policy.schedule is None:
        # The help centre's rule: x days after the last contact.
        return last_contact_at + policy.interval
    return due_in_schedule(last_contact_at, policy.days_before_next, policy.schedule)


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
    """The due moment ``days`` days after a contact, moved into ``schedule``."""
    local = last_contact_at.astimezone(schedule.zone)
    start = local.date()
    if schedule.count_working_days:
        day = schedule.calendar.get_nth_working_day(start, days)
    else:
        day = date.fromordinal(start.toordinal() + days)
    at = local.time().replace(tzinfo=None, fold=0)
    return _opening_from(day, at, schedule)


def next_opening(moment: datetime, schedule: ReminderSchedule) -> datetime:
    """The first instant at or after ``moment`` when ``schedule`` is open (UTC)."""
    local = moment.astimezone(schedule.zone)
    opening = _opening_from(local.date(), local.time().replace(tzinfo=None), schedule)
    # A wall-clock time that does not exist is read just after the skip, so
    # the opening found is never before the moment asked about.
    return max(opening, moment.astimezone(UTC))


def is_open(moment: datetime, schedule: ReminderSchedule | None) -> bool:
    """Whether a reminder may go out at ``moment`` (no schedule: always)."""
    return schedule is None or next_opening(moment, schedule) == moment


def _opening_from(day: date, at: time, schedule: ReminderSchedule) -> datetime:
    """Local ``day`` at ``at``, or the next opening after it, as a UTC instant."""
    start, end = schedule.window_start, schedule.window_end
    for _ in range(_MAX_SKIP):
        if schedule.is_business_day(day):
            if start is None or end is None:
                return local_moment(day, at, schedule)
            if at < start:
                return local_moment(day, start, schedule)
            if at < end:
                return local_moment(day, at, schedule)
        # Closed for the rest of the day: the next day from its first minute.
        day = date.fromordinal(day.toordinal() + 1)
        at = time(0) if start is None else start
    msg = f"no open day within {_MAX_SKIP} days of {day}"  # pragma: no cover
    raise ValueError(msg)  # pragma: no cover - a calendar with no working days


def local_moment(day: date, at: time, schedule: ReminderSchedule) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in the schedule's zone.

    A skipped wall-clock time (clocks going forward) is taken with the offset
    in force before the skip, which lands just after it by the same amount
    (02:30 on a night that jumps from 02:00 to 03:00 is 03:30); a repeated
    one (clocks going back) is its first occurrence.
    """
    moment = datetime.combine(day, at.replace(fold=0), tzinfo=schedule.zone)
    return moment.astimezone(UTC)
