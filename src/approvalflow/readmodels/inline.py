"""Recorders that write the read models in the events' own transaction.

eventsourcing's recorders insert a command's events in one transaction. The
subclasses here run :meth:`ReadModelStore.write_inline` inside that same
transaction, after the insert, so the read-model rows commit with the events
or not at all: a host reads its own writes at once, and no other process
ever folds these events again.

- **SQLite**: the insert holds the database's write lock; the rows are
  written through the same connection before the commit.
- **PostgreSQL**: eventsourcing's insert takes an ``EXCLUSIVE`` lock on the
  events table (so ids commit in order); the rows are written through the
  same cursor, in the same transaction. LISTEN/NOTIFY still fires.
- **Memory**: the events go into eventsourcing's in-memory recorder under its
  lock; the read models live in an in-memory SQLite database, written in one
  transaction before the events are appended (nothing after it can fail).

The application passes its domain events down (``recorded_events=`` in the
recorder's keyword arguments), so nothing is decoded twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import retry

from approvalflow.readmodels.store import ReadModelStore
from approvalflow.sqlbackend import Cursor, quote_identifier

__all__ = [
    "InlinePOPORecorder",
    "InlineSQLiteRecorder",
    "InlineWriter",
    "postgres_recorder_class",
]


class InlineWriter:
    """Chains just-recorded events and folds them into the read models.

    The recorders call it inside the transaction that inserts the events.
    The audit chain is always written; the read models only while
    :attr:`views` is true (``refresh_views_after_write``).
    """

    def __init__(self, store: ReadModelStore, application_name: str) -> None:
        self.store = store
        self.application_name = application_name
        #: Whether the read models are written too (else they catch up later).
        self.views = True

    def __call__(
        self,
        cursor: Cursor,
        ids: Sequence[int],
        stored: Sequence[StoredEvent],
        recorder_kwargs: dict[str, Any],
    ) -> None:
        """Write the read models for events ``ids`` through ``cursor``.

        The application passes its domain events in the recorder's keyword
        arguments (``recorded_events``); events recorded another way are
        decoded here.
        """
        self.store.chain.append(cursor, ids, stored)
        if not self.views:
            return
        domain_events = recorder_kwargs.get("recorded_events")
        if domain_events is None or len(domain_events) != len(stored):
            domain_events = [self.store.decode(s) for s in stored]
        self.store.write_inline(
            cursor, self.application_name, list(zip(ids, domain_events, strict=True))
        )


class InlineSQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, writing the read models as it goes."""

    inline: InlineWriter | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert the events and their read-model rows in one transaction."""
        inline = self.inline
        if inline is None:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.transaction(commit=True) as c:
            ids = self._insert_events(c, stored_events, **kwargs)
            assert ids is not None
            inline(
                Cursor(c.sqlite_cursor, pyformat=False),
                ids,
                stored_events,
                kwargs,
            )
        return ids

    def read_in_transaction(
        self, cursor: Cursor, after: int, limit: int
    ) -> list[Notification]:
        """Stored events after ``after``, read through ``cursor``."""
        cursor.execute(
            f"SELECT rowid, * FROM {self.events_table_name}"
            " WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [after, limit],
        )
        return [
            Notification(
                id=row["rowid"],
                originator_id=self.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in cursor.fetchall()
        ]


class InlinePOPORecorder(POPOApplicationRecorder):
    """eventsourcing's in-memory recorder, writing the read models as it goes."""

    inline: InlineWriter | None = None
    #: The in-memory SQLite database of the read models.
    datastore: SQLiteDatastore | None = None

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        inline, datastore = self.inline, self.datastore
        if inline is None or datastore is None:
            return super()._insert_events(stored_events, **kwargs)
        with self._database_lock:
            self._assert_uniqueness(stored_events, **kwargs)
            first = len(self._stored_events) + 1
            ids = list(range(first, first + len(stored_events)))
            with datastore.transaction(commit=True) as c:
                inline(
                    Cursor(c.sqlite_cursor, pyformat=False),
                    ids,
                    stored_events,
                    kwargs,
                )
            # Appending cannot fail once uniqueness is checked.
            return self._update_table(stored_events, **kwargs)

    def read_in_transaction(
        self, _cursor: Cursor, after: int, limit: int
    ) -> Sequence[Notification]:
        """Stored events after ``after`` (the lock is reentrant)."""
        return self.select_notifications(after, limit, inclusive_of_start=False)


def postgres_recorder_class() -> type[Any]:
    """Eventsourcing's PostgreSQL recorder, extended to write read models inline."""
    # Imported on demand: only PostgreSQL users have psycopg.
    from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: PLC0415

    class InlinePostgresRecorder(PostgresApplicationRecorder):
        """eventsourcing's PostgreSQL recorder, writing the read models too."""

        inline: InlineWriter | None = None

        @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
        def insert_events(
            self, stored_events: Sequence[StoredEvent], **kwargs: Any
        ) -> Sequence[int] | None:
            """Insert the events and their read-model rows in one transaction."""
            inline = self.inline
            if inline is None or not stored_events:
                ids: Sequence[int] | None = super().insert_events(
                    stored_events, **kwargs
                )
                return ids
            with self.datastore.transaction(commit=True) as curs:
                # Locks the events table, notifies listeners, inserts.
                self._insert_stored_events(curs, stored_events, **kwargs)
                ids = self._fetch_ids_after_insert_events(curs, stored_events)
                assert ids is not None
                # In pipeline mode the writes whose results nobody reads go
                # out with the next statement that is read (or the commit):
                # fewer round trips while the events table is locked.
                with curs.connection.pipeline():
                    inline(
                        Cursor(curs, pyformat=True),
                        ids,
                        stored_events,
                        kwargs,
                    )
            return ids

        def read_in_transaction(
            self, cursor: Cursor, after: int, limit: int
        ) -> list[Notification]:
            """Stored events after ``after``, read through ``cursor``."""
            table = (
                f"{quote_identifier(self.datastore.schema)}"
                f".{quote_identifier(self.events_table_name)}"
            )
            cursor.execute(
                f"SELECT * FROM {table}"
                " WHERE notification_id > ? ORDER BY notification_id LIMIT ?",
                [after, limit],
            )
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in cursor.fetchall()
            ]

    return InlinePostgresRecorder
