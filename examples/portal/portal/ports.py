"""The portal's side of approvalflow's ports: its clock, task list and Inbox+.

``APPROVALFLOW`` in ``portalsite/settings.py`` names these; the web server
and the worker process build them the same way, so both see the same demo
time and write the same tables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from approvalflow import ReminderSchedule
from portal.models import ClockOffset, InboxNote, Task

#: The firm's reminder hours: French business days, 09:00-18:00 in Paris.
PARIS_OFFICE_HOURS = ReminderSchedule(time_zone="Europe/Paris", holidays="FR")


def clock_offset() -> timedelta:
    """How far the demo clock is ahead of the machine's."""
    seconds = ClockOffset.objects.filter(pk=1).values_list("seconds", flat=True)
    return timedelta(seconds=next(iter(seconds), 0.0))


def move_clock(by: timedelta) -> None:
    """Move the demo clock forward (never back: history cannot be rewritten)."""
    if by < timedelta(0):
        msg = "the demo clock only moves forward"
        raise ValueError(msg)
    row, _ = ClockOffset.objects.get_or_create(pk=1)
    row.seconds += by.total_seconds()
    row.save(update_fields=["seconds"])


class DemoClock:
    """The machine's time plus the offset stored in the database.

    Read on every call, so moving the clock in the web page moves it for
    the worker process too: due reminders go out on its next pass.
    """

    def now(self) -> datetime:
        """Now, in UTC, as far ahead as the demo clock was moved."""
        return datetime.now(UTC) + clock_offset()


class PortalTasks:
    """The client's *Pending action* list and the firm's *Inbox+*, in the database."""

    def __init__(self) -> None:
        self.clock = DemoClock()

    def put_task(self, account_id: str, document_id: str, title: str) -> None:
        """Create the account's task for the document, or move it to the top."""
        Task.objects.update_or_create(
            account_code=account_id,
            document_ref=document_id,
            defaults={"title": title, "updated_at": self.clock.now()},
        )

    def remove_task(self, account_id: str, document_id: str) -> None:
        """Remove the account's task for the document, if there is one."""
        Task.objects.filter(account_code=account_id, document_ref=document_id).delete()

    def notify_inbox(self, user_id: str, document_id: str, text: str) -> None:
        """Add a note to a firm member's Inbox+."""
        InboxNote.objects.create(
            username=user_id,
            document_ref=document_id,
            text=text,
            created_at=self.clock.now(),
        )
