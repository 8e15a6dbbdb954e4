"""The ``rejections`` read model: every rejection's reasons and comment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from approvalflow.domain.aggregate import ApprovalRequest, approval_request_id
from approvalflow.readmodels.base import ReadModel, Tx
from approvalflow.readmodels.documents import record_key
from approvalflow.sqlbackend import Cursor, time_text

__all__ = ["RejectionRow", "RejectionsModel"]

E = ApprovalRequest


@attrs.frozen
class RejectionRow:
    """One rejection of a document, with its reasons and comment."""

    document_id: str
    cycle: int
    rejected_at: datetime
    by_user_id: str
    by_name: str
    reasons: tuple[str, ...]
    comment: str | None


class RejectionsModel(ReadModel):
    """One row per rejection, across a document's cycles."""

    name = "rejections"
    tables = (
        "CREATE TABLE IF NOT EXISTS {p}rejections ("
        " record_id {text} NOT NULL, cycle BIGINT NOT NULL,"
        " rejected_at {text} NOT NULL, by_user_id {text} NOT NULL,"
        " by_name {text} NOT NULL, reasons {text} NOT NULL, comment {text},"
        " PRIMARY KEY (record_id, cycle)) {without_rowid}",
    )
    table_names = ("rejections",)
    handles = frozenset({E.Rejected})
    ignores = frozenset(
        {
            E.Created,
            E.Requested,
            E.Resent,
            E.Reminded,
            E.Approved,
            E.Cancelled,
            E.LockedToInvoice,
            E.InvoicePaid,
            E.ActivityReported,
            E.Notified,
        }
    )

    def apply(self, tx: Tx, events: Sequence[Any]) -> None:
        """Insert a row per ``Rejected`` event."""
        rows = [
            (
                record_key(e),
                e.cycle,
                time_text(e.timestamp),
                e.by.user_id,
                e.by.name,
                json.dumps(list(e.rejection.reasons), ensure_ascii=False),
                e.rejection.comment,
            )
            for e in events
            if type(e) is E.Rejected
        ]
        tx.executemany(
            "INSERT INTO {p}rejections (record_id, cycle, rejected_at, by_user_id,"
            " by_name, reasons, comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def rejections(
        self, c: Cursor, p: str, document_id: str
    ) -> tuple[RejectionRow, ...]:
        """Every rejection of the document, oldest first."""
        c.execute(
            "SELECT cycle, rejected_at, by_user_id, by_name, reasons, comment"
            f" FROM {p}rejections WHERE record_id = ? ORDER BY cycle",
            [approval_request_id(document_id).hex],
        )
        return tuple(
            RejectionRow(
                document_id=document_id,
                cycle=r["cycle"],
                rejected_at=datetime.fromisoformat(r["rejected_at"]),
                by_user_id=r["by_user_id"],
                by_name=r["by_name"],
                reasons=tuple(json.loads(r["reasons"])),
                comment=r["comment"],
            )
            for r in c.fetchall()
        )
