"""The one rule for when the next automatic reminder falls due (F6).

The aggregate uses it to decide whether a reminder is due; the documents read
model uses it to keep the due-reminders index. Both feed it the same facts,
so the index cannot disagree with the aggregate that re-checks each reminder.
"""

from __future__ import annotations

from datetime import datetime

from approvalflow.domain.values import ReminderPolicy

__all__ = ["next_reminder_at"]


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
    return last_contact_at + policy.interval
