"""The ``pending`` read model: how many documents each account has pending.

Kept as counts so the accounts list costs the same whatever the number of
documents: a row per pending document (to know which account to count it
under when it moves or closes) and a counter per account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from approvalflow.domain.aggregate import ApprovalRequest
from approvalflow.readmodels.base import ReadModel, Tx
from approvalflow.readmodels.documents import record_key
from approvalflow.sqlbackend import Cursor

__all__ = ["PendingModel"]

E = ApprovalRequest


class PendingModel(ReadModel):
    """Pending documents per account, as counts."""

    name = "pending"
    tables = (
        "CREATE TABLE IF NOT EXISTS {p}pending_documents ("
        " record_id {text} PRIMARY KEY, account_id {text} NOT NULL) {without_rowid}",
        "CREATE TABLE IF NOT EXISTS {p}account_pending ("
        " account_id {text} PRIMARY KEY, pending BIGINT NOT NULL) {without_rowid}",
    )
    table_names = ("pending_documents", "account_pending")
    indexes = (
        "CREATE INDEX IF NOT EXISTS {i}account_pending_some"
        " ON {p}account_pending (account_id, pending) WHERE pending > 0",
    )
    handles = frozenset(
        {
            E.Requested,
            E.Approved,
            E.Rejected,
            E.Cancelled,
            E.LockedToInvoice,
            E.ActivityReported,
        }
    )
    # Resends and reminders keep a request pending; payment and deliveries
    # do not touch approval.
    ignores = frozenset({E.Created, E.Resent, E.Reminded, E.InvoicePaid, E.Notified})

    def apply(self, tx: Tx, events: Sequence[Any]) -> None:
        """Move each document between accounts' counts as it opens and closes."""
        relevant = [e for e in events if type(e) in self.handles]
        if not relevant:
            return
        keys = sorted({record_key(e) for e in relevant})
        before: dict[str, str | None] = dict.fromkeys(keys)
        # A record created in this batch cannot be pending yet.
        created = {record_key(e) for e in events if type(e) is E.Created}
        if older := [k for k in keys if k not in created]:
            for r in tx.select_in(
                "SELECT record_id, account_id FROM {p}pending_documents"
                " WHERE record_id IN ({keys})",
                older,
            ):
                before[r["record_id"]] = r["account_id"]
        after = dict(before)
        for event in relevant:
            key = record_key(event)
            match event:
                case E.Requested():
                    after[key] = event.document.account_id
                case E.Approved() | E.Rejected() | E.Cancelled():
                    after[key] = None
                case E.LockedToInvoice() | E.ActivityReported():
                    # The document's facts as of now: it may have moved account.
                    if after[key] is not None:
                        after[key] = event.document.account_id
        deltas: dict[str, int] = {}
        for key in keys:
            old, new = before[key], after[key]
            if old == new:
                continue
            if old is not None:
                deltas[old] = deltas.get(old, 0) - 1
            if new is not None:
                deltas[new] = deltas.get(new, 0) + 1
        closed = [(k,) for k in keys if after[k] is None and before[k] is not None]
        opened = [
            (k, after[k])
            for k in keys
            if after[k] is not None and after[k] != before[k]
        ]
        tx.executemany("DELETE FROM {p}pending_documents WHERE record_id = ?", closed)
        tx.executemany(
            "INSERT INTO {p}pending_documents (record_id, account_id) VALUES (?, ?)"
            " ON CONFLICT (record_id) DO UPDATE SET account_id = excluded.account_id",
            opened,
        )
        tx.executemany(
            "INSERT INTO {p}account_pending (account_id, pending) VALUES (?, ?)"
            " ON CONFLICT (account_id) DO UPDATE"
            " SET pending = {p}account_pending.pending + excluded.pending",
            sorted((a, n) for a, n in deltas.items() if n),
        )

    def accounts_pending(self, c: Cursor, p: str) -> list[tuple[str, int]]:
        """Accounts with documents pending approval, with counts."""
        c.execute(
            f"SELECT account_id, pending FROM {p}account_pending"
            " WHERE pending > 0 ORDER BY account_id"
        )
        return [(r["account_id"], int(r["pending"])) for r in c.fetchall()]
