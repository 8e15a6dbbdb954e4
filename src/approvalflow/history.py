"""A document's history in plain terms: when, who, what (F18).

A :class:`HistoryEntry` is built from one stored event alone, so the history
replays from the event store without the host's directory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from approvalflow.domain.values import Actor
from approvalflow.persistence import converter

__all__ = ["HistoryEntry", "history_entry"]

# Bookkeeping fields every event has; they are shown as version and time.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "by"}
)


@attrs.frozen
class HistoryEntry:
    """One recorded event of a document, ready to show or export."""

    #: Position in the document's history (1 is the record's creation).
    version: int
    #: When it was recorded (UTC, from the Clock port).
    at: datetime
    #: The event's name: ``Requested``, ``Resent``, ``Reminded``, ...
    event: str
    #: Who acted (``None`` for the record's creation).
    actor: Actor | None
    #: The event's own facts as JSON-ready data (message, reasons, ...).
    details: Mapping[str, Any]

    def summary(self) -> str:
        """What happened, in words, without the event name or the actor."""
        return _DESCRIBERS.get(self.event, _generic)(self.details)

    def describe(self) -> str:
        """One line in words, e.g. ``Rejected by Bob: reasons: Wrong year``."""
        who = f" by {self.actor.name}" if self.actor else ""
        text = self.summary()
        return f"{self.event}{who}{': ' + text if text else ''}"


def history_entry(event: Any) -> HistoryEntry:
    """Turn one stored ``ApprovalRequest`` event into a :class:`HistoryEntry`."""
    fields = vars(event)
    actor = fields.get("by")
    details = {
        name: converter.unstructure(value)
        for name, value in fields.items()
        if name not in _ENVELOPE
    }
    return HistoryEntry(
        version=event.originator_version,
        at=event.timestamp,
        event=type(event).__name__,
        actor=actor if isinstance(actor, Actor) else None,
        details=details,
    )


def _policy(policy: Mapping[str, Any] | None) -> str:
    if policy is None:
        return "reminders off"
    schedule = policy.get("schedule")
    business = schedule is not None and schedule.get("business_days")
    text = (
        f"reminders every {policy['days_before_next']} "
        f"{'business ' if business else ''}day(s), at most {policy['count']}"
    )
    if schedule is None:
        return text
    if schedule.get("window_start") and schedule.get("window_end"):
        text += f", {schedule['window_start'][:5]}-{schedule['window_end'][:5]}"
    text += f" {schedule.get('time_zone', 'UTC')}"
    if schedule.get("holidays"):
        region = schedule.get("holiday_region")
        text += f", {schedule['holidays']}{'-' + region if region else ''} holidays off"
    return text


def _message(details: Mapping[str, Any]) -> str:
    message = details.get("message")
    return f"message {message!r}" if message else "no message"


def _generic(details: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in details.items() if k != "cycle")


def _requested(d: Mapping[str, Any]) -> str:
    doc = d["document"]
    return (
        f"cycle {d['cycle']}, {doc['name']} ({doc['file_type']}) to account "
        f"{doc['account_id']}, {_message(d)}, {_policy(d['reminders'])}"
        + (f", {_ENTRY_POINTS[d['entry_point']]}" if d.get("entry_point") else "")
    )


def _rejected(d: Mapping[str, Any]) -> str:
    rejection = d["rejection"]
    reasons = "; ".join(rejection["reasons"])
    comment = rejection.get("comment")
    return f"reasons: {reasons}" + (f"; comment {comment!r}" if comment else "")


def _notified(report: Mapping[str, Any]) -> str:
    parts = []
    for d in report["deliveries"]:
        if d["channel"] == "email":
            what = f"emailed {d['recipient_name']} <{d['address']}>"
        elif d["channel"] == "inbox":
            what = f"Inbox+ note to {d['recipient_name']}"
        else:
            moved = "removed" if d["kind"] == "remove_task" else "put on top"
            what = f"portal task {moved} for account {d['address']}"
        if d["outcome"] != "sent":
            what += f" (refused: {d.get('detail') or 'no reason given'})"
        parts.append(what)
    told = "; ".join(parts) or "nobody to tell"
    return f"about #{report['about_version']} ({report['about_event']}): {told}"


_ENTRY_POINTS = {
    "viewer": "from the document viewer",
    "upload": "at upload",
    "list": "from the document list",
}

_DESCRIBERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "Created": lambda d: f"approval record of document {d['document_id']}",
    "Requested": _requested,
    "Resent": lambda d: f"{_message(d)}, {_policy(d['reminders'])}",
    "Reminded": lambda d: f"automatic reminder {d['number']}, due {d['due_at']}",
    "Approved": lambda d: f"comment {d['comment']!r}" if d.get("comment") else "",
    "Rejected": _rejected,
    "Cancelled": lambda d: f"note {d['note']!r}" if d.get("note") else "",
    "LockedToInvoice": lambda d: f"invoice {d['invoice_id']}",
    "ActivityReported": lambda d: f"{d['kind']} {d['document']['name']}",
    "Notified": lambda d: _notified(d["report"]),
    "InvoicePaid": lambda d: f"invoice {d['invoice_id']}",
}
