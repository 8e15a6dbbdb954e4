"""The ``audit`` read model: each document's trail, one line per event (F18)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from approvalflow.domain.aggregate import ApprovalRequest, approval_request_id
from approvalflow.history import history_entry
from approvalflow.readmodels.base import ReadModel, Tx
from approvalflow.readmodels.documents import record_key
from approvalflow.sqlbackend import Cursor, time_text

__all__ = ["AuditModel", "AuditRow"]

E = ApprovalRequest


@attrs.frozen
class AuditRow:
    """One line of a document's audit trail (F18)."""

    document_id: str
    version: int
    at: datetime
    event: str
    actor_id: str | None
    actor_name: str | None
    actor_role: str | None
    #: The event's facts (message, reminder settings, reasons, ...), JSON-ready.
    details: Mapping[str, Any]
    #: The same, in words.
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


def _line(event: Any) -> tuple[Any, ...]:
    entry = history_entry(event)
    actor = entry.actor
    return (
        record_key(event),
        entry.version,
        time_text(entry.at),
        entry.event,
        actor.user_id if actor else None,
        actor.name if actor else None,
        actor.role.value if actor else None,
        json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
        entry.summary(),
    )


class AuditModel(ReadModel):
    """Every event of every document, in order, with who and what."""

    name = "audit"
    tables = (
        "CREATE TABLE IF NOT EXISTS {p}audit ("
        " record_id {text} NOT NULL, version BIGINT NOT NULL, at {text} NOT NULL,"
        " event {text} NOT NULL, actor_id {text}, actor_name {text},"
        " actor_role {text}, details {text} NOT NULL, summary {text} NOT NULL,"
        " PRIMARY KEY (record_id, version)) {without_rowid}",
    )
    table_names = ("audit",)
    handles = frozenset(
        {
            E.Created,
            E.Requested,
            E.Resent,
            E.Reminded,
            E.Approved,
            E.Rejected,
            E.Cancelled,
            E.LockedToInvoice,
            E.InvoicePaid,
            E.ActivityReported,
            E.Notified,
        }
    )
    ignores = frozenset[type]()

    def apply(self, tx: Tx, events: Sequence[Any]) -> None:
        """Insert a line per event."""
        tx.executemany(
            "INSERT INTO {p}audit (record_id, version, at, event, actor_id,"
            " actor_name, actor_role, details, summary)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_line(e) for e in events if type(e) in self.handles],
        )

    def audit(self, c: Cursor, p: str, document_id: str) -> tuple[AuditRow, ...]:
        """The document's audit trail, in order."""
        c.execute(
            "SELECT version, at, event, actor_id, actor_name, actor_role, details,"
            f" summary FROM {p}audit WHERE record_id = ? ORDER BY version",
            [approval_request_id(document_id).hex],
        )
        return tuple(
            AuditRow(
                document_id=document_id,
                version=r["version"],
                at=datetime.fromisoformat(r["at"]),
                event=r["event"],
                actor_id=r["actor_id"],
                actor_name=r["actor_name"],
                actor_role=r["actor_role"],
                details=json.loads(r["details"]),
                summary=r["summary"],
            )
            for r in c.fetchall()
        )
