"""Read models kept in memory, for the in-memory event store (``memory://``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
from eventsourcing.persistence import IntegrityError

from approvalflow.domain.aggregate import approval_request_id
from approvalflow.domain.values import ApprovalState
from approvalflow.projections.rows import (
    AuditRow,
    DocumentRow,
    Page,
    RejectionRow,
    StatusFilter,
    audit_row,
    encode_cursor,
    evolve_document,
    record_key,
    rejection_row,
)
from approvalflow.projections.store import VIEW_NAMES, EventSource, Progress

__all__ = ["MemoryViewStore"]

_REBUILD_BATCH = 500


@attrs.define
class _Models:
    documents: dict[str, DocumentRow] = attrs.field(factory=dict)
    accounts: dict[str, dict[str, str]] = attrs.field(factory=dict)
    rejections: dict[str, list[RejectionRow]] = attrs.field(factory=dict)
    audit: dict[str, list[AuditRow]] = attrs.field(factory=dict)
    positions: dict[tuple[str, str], int] = attrs.field(factory=dict)

    def apply_batch(self, view: str, events: Sequence[Any]) -> None:
        """Apply events all or nothing, like a database transaction would."""
        # Work out every change first; only then touch the models, so an
        # error half-way through a batch leaves them as they were.
        documents: dict[str, DocumentRow] = {}
        filed: list[tuple[str, str, str]] = []  # every account a row was under
        rejections: list[RejectionRow] = []
        audit: list[AuditRow] = []
        for event in events:
            if event is None:
                continue  # a position moved on without an event (eventsourcing API)
            key = record_key(event)
            if view == "documents":
                row = evolve_document(
                    documents.get(key, self.documents.get(key)), event
                )
                if row is not None:
                    documents[key] = row
                    filed.append((row.account_id, key, row.document_id))
            elif view == "rejections":
                rejection = rejection_row(key, event)
                if rejection is not None:
                    rejections.append(rejection)
            else:
                audit.append(audit_row(key, event))
        self.documents.update(documents)
        for account_id, key, document_id in filed:
            self.accounts.setdefault(account_id, {})[key] = document_id
        for rejection in rejections:
            self.rejections.setdefault(rejection.document_id, []).append(rejection)
        for line in audit:
            self.audit.setdefault(line.document_id, []).append(line)


class MemoryViewStore:
    """The read models in Python dicts, guarded by a lock."""

    #: Memory starts empty every time: never older than this release.
    needs_rebuild = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models = _Models()

    def position(self, view: str, application_name: str) -> int:
        """The last notification id applied to ``view``."""
        with self._lock:
            return self._models.positions.get((view, application_name), 0)

    def apply(
        self,
        view: str,
        application_name: str,
        expected: int | None,
        items: Sequence[tuple[int, Any]],
    ) -> None:
        """Apply events to ``view`` if its position is still ``expected``."""
        if not items:
            return
        with self._lock:
            _apply(self._models, view, application_name, expected, items)

    # -- queries -------------------------------------------------------------

    def recent(
        self,
        *,
        since: datetime,
        account_id: str | None,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Page:
        """Documents with activity since ``since``, newest first."""
        with self._lock:
            rows = [
                r
                for r in self._models.documents.values()
                if r.last_activity_at >= since
                and (account_id is None or r.account_id == account_id)
                and r.matches(filters)
            ]
        return _page(rows, lambda r: (r.last_activity_at, r.document_id), after, limit)

    def approvals_tab(
        self,
        *,
        account_id: str,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Page:
        """The account's requested documents, latest request first."""
        with self._lock:
            rows = [
                r
                for r in self._models.documents.values()
                if r.account_id == account_id
                and r.awaits_or_has_decision
                and r.matches(filters)
            ]
        return _page(rows, _requested_key, after, limit)

    def accounts_pending(self) -> list[tuple[str, int]]:
        """Accounts with documents pending approval, with counts."""
        counts: dict[str, int] = {}
        with self._lock:
            for row in self._models.documents.values():
                if row.state is ApprovalState.PENDING:
                    counts[row.account_id] = counts.get(row.account_id, 0) + 1
        return sorted(counts.items())

    def document(self, document_id: str) -> DocumentRow | None:
        """The document's row."""
        with self._lock:
            return self._models.documents.get(approval_request_id(document_id).hex)

    def due_reminders(self, now: datetime, limit: int) -> list[str]:
        """Documents whose next reminder is due at ``now``, most overdue first."""
        with self._lock:
            due = [
                (r.next_reminder_at, r.document_id)
                for r in self._models.documents.values()
                if r.next_reminder_at is not None and r.next_reminder_at <= now
            ]
        return [doc for _, doc in sorted(due)[:limit]]

    def documents_ever_in(self, account_id: str) -> list[str]:
        """Documents ever filed under the account."""
        with self._lock:
            return sorted(self._models.accounts.get(account_id, {}).values())

    def rejections(self, document_id: str) -> tuple[RejectionRow, ...]:
        """The document's rejections, oldest first."""
        key = approval_request_id(document_id).hex
        with self._lock:
            rows = list(self._models.rejections.get(key, ()))
        return tuple(attrs.evolve(r, document_id=document_id) for r in rows)

    def audit(self, document_id: str) -> tuple[AuditRow, ...]:
        """The document's audit trail."""
        key = approval_request_id(document_id).hex
        with self._lock:
            rows = list(self._models.audit.get(key, ()))
        return tuple(attrs.evolve(r, document_id=document_id) for r in rows)

    # -- operations ----------------------------------------------------------

    def rebuild(
        self, application_name: str, source: EventSource, progress: Progress
    ) -> int:
        """Replay all events into fresh models, then swap them in."""
        fresh = _Models()
        applied = position = 0

        def apply_batch(batch: Sequence[tuple[int, Any]]) -> int:
            for view in VIEW_NAMES:
                _apply(fresh, view, application_name, position, batch)
            return int(batch[-1][0])

        while batch := source(position, _REBUILD_BATCH):
            position = apply_batch(batch)
            applied += len(batch)
            progress(applied)
        with self._lock:
            # Events recorded meanwhile are applied before the swap.
            while tail := source(position, _REBUILD_BATCH):
                position = apply_batch(tail)
                applied += len(tail)
            self._models = fresh
        return applied

    def close(self) -> None:
        """Nothing to release."""


def _apply(
    models: _Models,
    view: str,
    application_name: str,
    expected: int | None,
    items: Sequence[tuple[int, Any]],
) -> None:
    current = models.positions.get((view, application_name), 0)
    first, last = items[0][0], items[-1][0]
    if (expected is not None and current != expected) or current >= first:
        msg = f"{view} is at {current}, not {expected}: events already applied"
        raise IntegrityError(msg)
    models.apply_batch(view, [event for _, event in items])
    models.positions[(view, application_name)] = last


def _requested_key(row: DocumentRow) -> tuple[datetime, str]:
    assert row.requested_at is not None  # only requested documents are listed
    return row.requested_at, row.document_id


def _page(
    rows: list[DocumentRow],
    key: Any,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Page:
    ordered = sorted(rows, key=key, reverse=True)
    if after is not None:
        ordered = [r for r in ordered if key(r) < after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return Page(tuple(page), encode_cursor(*key(page[-1])) if more and page else None)
