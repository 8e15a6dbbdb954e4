"""The audit trail: each document's events in order, in words.

The audit trail *is* the event history, so it is read from the document's
own events (the event store serves them by the document's record id, in
order) and folded into rows on each request, not kept in a table of its own.
A table would copy every event once more: it cost two thirds of a rebuild's
time and a third of every command's read-model writes, for rows the event
store already serves by primary key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from approvalflow.history import account_names, history_entry

__all__ = ["AuditRow", "audit_trail"]


@attrs.frozen
class AuditRow:
    """One line of a document's audit trail."""

    document_id: str
    version: int
    at: datetime
    event: str
    actor_id: str | None
    actor_name: str | None
    actor_role: str | None
    #: The event's facts (message, reminder settings, reasons, ...), JSON-ready.
    details: Mapping[str, Any]
    #: What happened, as a sentence (English unless a language was asked for).
    summary: str

    def as_record(self) -> dict[str, Any]:
        """A flat, JSON-ready record (for JSON Lines and CSV exports)."""
        return {
            "document_id": self.document_id,
            "version": self.version,
            "at": self.at.isoformat(),
            "event": self.event,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "summary": self.summary,
            "details": dict(self.details),
        }


def audit_trail(
    document_id: str,
    events: Iterable[Any],
    *,
    language: str | None = None,
    time_zone: str | None = None,
    account_name: Callable[[str], str | None] = lambda _account_id: None,
) -> tuple[AuditRow, ...]:
    """The audit trail of a document, from its events in order.

    Summaries are sentences in English unless ``language`` is given, with
    times in ``time_zone`` (UTC unless given; see
    :meth:`HistoryEntry.summary`); ``account_name`` gives client accounts'
    display names (the Directory port's), an account without one is
    written as its id.
    """
    stored = list(events)
    names = account_names(stored, account_name)
    rows = []
    for event in stored:
        entry = history_entry(event, names)
        actor = entry.actor
        rows.append(
            AuditRow(
                document_id=document_id,
                version=entry.version,
                at=entry.at,
                event=entry.event,
                actor_id=actor.user_id if actor else None,
                actor_name=actor.name if actor else None,
                actor_role=actor.role.value if actor else None,
                details=entry.details,
                summary=entry.summary(language, time_zone),
            )
        )
    return tuple(rows)
