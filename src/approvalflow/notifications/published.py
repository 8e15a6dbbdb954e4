"""Recorded events as the outside world sees them (for the EventSink port).

Each published event carries a stable id (the same on every retry, in every
process: receivers deduplicate on it), a dotted type name, the time it
happened, the document, and the event's own fields as JSON-ready data written
by the same converter that stores them. The type names and field names are
public: a receiver depends on them, so they change only with a new type name.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from approvalflow.domain.aggregate import ApprovalRequest
from approvalflow.persistence import converter
from approvalflow.ports import PublishedEvent

__all__ = ["EVENT_TYPES", "published_event"]

E = ApprovalRequest

#: Event class -> published type name. ``Created`` and ``Notified`` are
#: bookkeeping (a record exists; who was told) and are never published.
EVENT_TYPES: dict[type, str] = {
    E.Requested: "approval.requested",
    E.Resent: "approval.resent",
    E.Reminded: "approval.reminded",
    E.Approved: "approval.approved",
    E.Rejected: "approval.rejected",
    E.Cancelled: "approval.cancelled",
    E.LockedToInvoice: "approval.locked_to_invoice",
    E.InvoicePaid: "approval.invoice_paid",
    E.ActivityReported: "approval.activity_reported",
}

# Identity and ordering fields every eventsourcing event has; the published
# event carries them in its own id and time instead.
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})


def _plain(value: Any) -> Any:
    """JSON-ready: enum members become their values, all the way down."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def published_event(event: Any, document_id: str) -> PublishedEvent:
    """The published form of a recorded domain event of ``document_id``."""
    data: dict[str, Any] = {
        field.name: _plain(converter.unstructure(getattr(event, field.name)))
        for field in dataclasses.fields(event)
        if field.name not in _ENVELOPE
    }
    return PublishedEvent(
        id=f"evt_{event.originator_id.hex}_{event.originator_version}",
        type=EVENT_TYPES[type(event)],
        occurred_at=event.timestamp,
        document_id=document_id,
        data=data,
    )
