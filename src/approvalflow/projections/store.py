"""The contract every read-model store meets, and what they share.

A store keeps the three read models (``documents``, ``rejections``,
``audit``), each with its own tracking position per upstream application.
:meth:`ViewStore.apply` writes a batch of events into one read model and moves
its position in the same transaction, but only if the position is still the
one the caller read: a second process applying the same events at the same
time fails with ``IntegrityError`` instead of applying them twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from approvalflow.projections.rows import (
    AuditRow,
    DocumentRow,
    Page,
    RejectionRow,
    StatusFilter,
)

__all__ = ["VIEW_NAMES", "EventSource", "Progress", "ViewStore"]

#: The read models, in the order they are caught up.
VIEW_NAMES = ("documents", "rejections", "audit")

#: Reads stored events: ``source(after, limit)`` gives up to ``limit``
#: (notification id, domain event) pairs with ids greater than ``after``.
EventSource = Callable[[int, int], Sequence[tuple[int, Any]]]

#: Told how many events a rebuild has applied so far.
Progress = Callable[[int], None]


class ViewStore(Protocol):
    """Storage of the read models (in memory, SQLite, PostgreSQL)."""

    def position(self, view: str, application_name: str) -> int:
        """The last notification id applied to ``view`` (0: none)."""
        ...

    def apply(
        self,
        view: str,
        application_name: str,
        expected: int | None,
        items: Sequence[tuple[int, Any]],
    ) -> None:
        """Apply events to ``view`` and move its position, in one transaction.

        ``expected`` is the position the caller read before selecting
        ``items``; if the stored position differs, nothing is written and
        ``eventsourcing.persistence.IntegrityError`` is raised. ``None``
        only requires the new position to be greater than the stored one.
        """
        ...

    def recent(
        self,
        *,
        since: datetime,
        account_id: str | None,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Page:
        """Documents with activity since ``since``, newest first (F14, F15)."""
        ...

    def approvals_tab(
        self,
        *,
        account_id: str,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Page:
        """An account's requested documents, latest request first (F16)."""
        ...

    def accounts_pending(self) -> list[tuple[str, int]]:
        """Accounts with documents pending approval, with counts (F17)."""
        ...

    needs_rebuild: bool
    """True when the stored read models were made by an older release."""

    def due_reminders(self, now: datetime, limit: int) -> list[str]:
        """Documents whose next reminder is due at ``now``, most overdue first.

        Served by an index on the due time: its cost grows with the number
        due, not with the number pending.
        """
        ...

    def document(self, document_id: str) -> DocumentRow | None:
        """One document's row, if it has one."""
        ...

    def documents_ever_in(self, account_id: str) -> list[str]:
        """Every document that was ever filed under the account."""
        ...

    def rejections(self, document_id: str) -> tuple[RejectionRow, ...]:
        """Every rejection of the document, oldest first (F9)."""
        ...

    def audit(self, document_id: str) -> tuple[AuditRow, ...]:
        """The document's audit trail, in order (F18)."""
        ...

    def rebuild(
        self, application_name: str, source: EventSource, progress: Progress
    ) -> int:
        """Replay every event into fresh read models, then switch to them.

        Readers keep seeing the old read models until the switch, which is
        atomic. Returns the number of events applied.
        """
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
