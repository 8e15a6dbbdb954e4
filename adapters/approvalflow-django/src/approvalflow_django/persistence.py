"""An eventsourcing persistence module on Django's own database connection.

Select it with ``PERSISTENCE_MODULE=approvalflow_django.persistence`` and
``DJANGO_DATABASE=<alias>`` (default ``"default"``); ``approvalflow_django.
get_approvals()`` does so from the ``APPROVALFLOW`` setting. Events go into
the table ``approvalflow_events`` of that database, which ``manage.py
migrate`` creates, through the thread's Django connection and inside
``transaction.atomic(using=alias)``: a host's ORM writes and an approval
request made in one ``transaction.atomic()`` commit together or not at all.

*Choice:* a recorder on Django's connection, not eventsourcing's own SQLite
or PostgreSQL module pointed at the same database. Those open connections of
their own (a pool), so their transactions could never include the host's
ORM writes, and on SQLite two connections writing one file in one request
would wait on each other's lock.

SQL text is built only from the events table's name (a constant, or the
name a test gives) and fixed column lists; every value is a bound parameter
(hence the ``noqa: S608`` marks).

Notification ids become visible in order: on PostgreSQL every insert first
takes the ``EXCLUSIVE`` table lock eventsourcing's own recorder takes (held
to the end of the outermost transaction, so a host's long transaction holds
other approval writes back until it commits); on SQLite the write lock does
the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    TrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType

from approvalflow import ConfigurationError
from approvalflow.storage import Cursor, InlineWriter
from approvalflow_django.db import DjangoDatabase

if TYPE_CHECKING:
    from approvalflow_django.storage import DjangoStorage

__all__ = [
    "EVENTS_TABLE",
    "DjangoAggregateRecorder",
    "DjangoApplicationRecorder",
    "DjangoFactory",
    "Factory",
]

#: The events' table, in approvalflow's own ``approvalflow_`` namespace of
#: the host's database (the Django app's label is ``approvalflow``).
EVENTS_TABLE = "approvalflow_events"

#: Rows per INSERT statement (PostgreSQL allows 65,535 parameters).
_INSERT_CHUNK = 1_000

_COLUMNS = "notification_id, originator_id, originator_version, topic, state"


def events_table_ddl(vendor: str, table: str = EVENTS_TABLE) -> str:
    """The events table for a Django database vendor.

    Versions are unique per aggregate (a lost race is an IntegrityError);
    notification ids only grow (AUTOINCREMENT never reuses one on SQLite).
    """
    if vendor == "postgresql":
        return (
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " notification_id BIGSERIAL PRIMARY KEY,"
            ' originator_id TEXT COLLATE "C" NOT NULL,'
            " originator_version BIGINT NOT NULL,"
            ' topic TEXT COLLATE "C" NOT NULL,'
            " state BYTEA NOT NULL,"
            " UNIQUE (originator_id, originator_version))"
        )
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " notification_id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " originator_id TEXT NOT NULL,"
        " originator_version INTEGER NOT NULL,"
        " topic TEXT NOT NULL,"
        " state BLOB NOT NULL,"
        " UNIQUE (originator_id, originator_version))"
    )


class DjangoAggregateRecorder(AggregateRecorder):
    """Stores events in a table of a Django database, per aggregate."""

    def __init__(
        self,
        database: DjangoDatabase,
        *,
        events_table_name: str = EVENTS_TABLE,
        originator_id_type: str = "uuid",
    ) -> None:
        if originator_id_type not in ("uuid", "text"):
            msg = (
                f"ORIGINATOR_ID_TYPE must be 'uuid' or 'text', "
                f"got {originator_id_type!r}"
            )
            raise ConfigurationError(msg)
        self.database = database
        self.events_table_name = events_table_name
        self.originator_id_type = originator_id_type

    # -- the table (manage.py migrate and tests only) --------------------------------

    def create_table(self) -> None:
        """Create the events table if it is missing."""
        with self.database.write() as c:
            c.execute(events_table_ddl(self.database.vendor, self.events_table_name))

    def drop_table(self) -> None:
        """Drop the events table: every recorded event is lost."""
        with self.database.write() as c:
            c.execute(f"DROP TABLE IF EXISTS {self.events_table_name}")

    # -- writing -----------------------------------------------------------------------

    def lock_table(self, cursor: Cursor) -> None:
        """Take the lock every insert of events takes, until the transaction ends.

        PostgreSQL: ``EXCLUSIVE`` on the events table (readers go on), so ids
        commit in the order they are issued. SQLite: the transaction already
        holds the database's only write lock.
        """
        if self.database.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {self.events_table_name} IN EXCLUSIVE MODE")

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert the events in one transaction (a savepoint in the host's)."""
        self._insert(stored_events, **kwargs)
        return None

    def _insert(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        if not stored_events:
            return []
        with self.database.write() as c:
            self.lock_table(c)
            ids = self._insert_rows(c, stored_events)
            self._after_insert(c, ids, stored_events, kwargs)
        return ids

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the host's outermost transaction commits.

        At once outside any; never if it rolls back. approvalflow logs a
        command as recorded this way, so a request rolled back with the
        host's transaction is never logged as recorded.
        """
        transaction.on_commit(callback, using=self.database.alias)

    def _after_insert(
        self,
        cursor: Cursor,
        ids: Sequence[int],
        stored_events: Sequence[StoredEvent],
        kwargs: dict[str, Any],
    ) -> None:
        """Hook run in the insert's transaction (the application recorder's)."""

    def _insert_rows(
        self, c: Cursor, stored_events: Sequence[StoredEvent]
    ) -> list[int]:
        rows = [
            (
                self._stored_id(s.originator_id),
                s.originator_version,
                s.topic,
                s.state,
            )
            for s in stored_events
        ]
        insert = (
            f"INSERT INTO {self.events_table_name}"  # noqa: S608
            " (originator_id, originator_version, topic, state) VALUES "
        )
        ids: list[int] = []
        if self.database.vendor == "postgresql":
            for start in range(0, len(rows), _INSERT_CHUNK):
                chunk = rows[start : start + _INSERT_CHUNK]
                c.execute(
                    insert
                    + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
                    + " RETURNING notification_id",
                    [value for row in chunk for value in row],
                )
                # The sequence issues ids in row order; the table lock makes
                # them contiguous. Sorted, they line up with the events.
                ids += sorted(int(r["notification_id"]) for r in c.fetchall())
            return ids
        for row in rows:
            c.execute(insert + "(?, ?, ?, ?)", row)
            ids.append(int(c.raw.lastrowid))
        return ids

    # -- reading -----------------------------------------------------------------------

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """One aggregate's events, by version."""
        sql = (
            "SELECT originator_id, originator_version, topic, state"  # noqa: S608
            f" FROM {self.events_table_name} WHERE originator_id = ?"
        )
        params: list[Any] = [self._stored_id(originator_id)]
        if gt is not None:
            sql += " AND originator_version > ?"
            params.append(gt)
        if lte is not None:
            sql += " AND originator_version <= ?"
            params.append(lte)
        sql += " ORDER BY originator_version" + (" DESC" if desc else "")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.database.statement() as c:
            c.execute(sql, params)
            rows = c.fetchall()
        return [
            StoredEvent(
                originator_id=self._domain_id(r["originator_id"]),
                originator_version=int(r["originator_version"]),
                topic=r["topic"],
                state=bytes(r["state"]),
            )
            for r in rows
        ]

    def _stored_id(self, originator_id: UUID | str) -> str:
        return originator_id.hex if isinstance(originator_id, UUID) else originator_id

    def _domain_id(self, stored: str) -> UUID | str:
        return UUID(stored) if self.originator_id_type == "uuid" else stored

    def _notification(self, row: Any) -> Notification:
        return Notification(
            id=int(row["notification_id"]),
            originator_id=self._domain_id(row["originator_id"]),
            originator_version=int(row["originator_version"]),
            topic=row["topic"],
            state=bytes(row["state"]),
        )


class DjangoApplicationRecorder(DjangoAggregateRecorder, ApplicationRecorder):
    """Stores events in one application sequence, writing read models inline.

    When :attr:`inline` is set (approvalflow does), it is called in the
    insert's transaction, after the insert, with a cursor of that
    transaction: the read models' rows commit with the events or not at all.
    """

    #: approvalflow's writer of read models, called inside the insert.
    inline: InlineWriter | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert the events (and their read-model rows); return their ids."""
        return self._insert(stored_events, **kwargs)

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the host's outermost transaction commits.

        At once outside any; never if it rolls back. approvalflow logs a
        command as recorded this way, so a request rolled back with the
        host's transaction is never logged as recorded.
        """
        transaction.on_commit(callback, using=self.database.alias)

    def _after_insert(
        self,
        cursor: Cursor,
        ids: Sequence[int],
        stored_events: Sequence[StoredEvent],
        kwargs: dict[str, Any],
    ) -> None:
        inline = self.inline
        if inline is not None:
            inline(cursor, ids, stored_events, kwargs)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """Events of the application sequence from ``start``, up to ``limit``."""
        where: list[str] = []
        params: list[Any] = []
        if start is not None:
            where.append(
                "notification_id >= ?" if inclusive_of_start else "notification_id > ?"
            )
            params.append(start)
        if stop is not None:
            where.append("notification_id <= ?")
            params.append(stop)
        if topics:
            where.append(f"topic IN ({', '.join('?' * len(topics))})")
            params += list(topics)
        sql = f"SELECT {_COLUMNS} FROM {self.events_table_name}"  # noqa: S608
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY notification_id LIMIT ?"
        params.append(limit)
        with self.database.statement() as c:
            c.execute(sql, params)
            rows = c.fetchall()
        return [self._notification(r) for r in rows]

    def max_notification_id(self) -> int | None:
        """The last notification id (``None``: no events yet)."""
        with self.database.statement() as c:
            c.execute(
                f"SELECT MAX(notification_id) AS head FROM {self.events_table_name}"  # noqa: S608
            )
            head = c.fetchone()["head"]
        return None if head is None else int(head)

    def read_in_transaction(
        self, cursor: Cursor, after: int, limit: int
    ) -> list[Notification]:
        """Events after ``after``, read through a transaction's own ``cursor``."""
        cursor.execute(
            f"SELECT {_COLUMNS} FROM {self.events_table_name}"  # noqa: S608
            " WHERE notification_id > ? ORDER BY notification_id LIMIT ?",
            [after, limit],
        )
        return [self._notification(r) for r in cursor.fetchall()]

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        """Not offered: approvalflow then polls (its worker's ``--interval``).

        A subscription would need a connection of its own listening outside
        Django's, which is what this module avoids.
        """
        msg = (
            "approvalflow_django's recorder offers no subscription; "
            "followers poll the events table instead"
        )
        raise NotImplementedError(msg)


class DjangoFactory(InfrastructureFactory[TrackingRecorder]):
    """eventsourcing's infrastructure on a Django database alias.

    Settings: ``DJANGO_DATABASE`` (the alias, default ``"default"``) and
    ``ORIGINATOR_ID_TYPE`` (``"uuid"``, the default, or ``"text"``).
    """

    DJANGO_DATABASE = "DJANGO_DATABASE"
    ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.database = DjangoDatabase(self.env.get(self.DJANGO_DATABASE) or "default")
        self.originator_id_type = (
            self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid"
        ).lower()

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        """The events' recorder; snapshots are not offered."""
        if purpose != "events":
            msg = (
                f"approvalflow_django stores no {purpose!r} (snapshotting): "
                "unset IS_SNAPSHOTTING_ENABLED"
            )
            raise ConfigurationError(msg)
        return DjangoAggregateRecorder(
            self.database, originator_id_type=self.originator_id_type
        )

    def application_recorder(self) -> DjangoApplicationRecorder:
        """The application sequence's recorder; its table must exist."""
        return self.approvalflow_storage().application_recorder()

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        """Not offered: approvalflow tracks its followers itself."""
        msg = "approvalflow_django offers no tracking recorder (process applications)"
        raise ConfigurationError(msg)

    def process_recorder(self) -> ProcessRecorder:
        """Not offered: approvalflow tracks its followers itself."""
        msg = "approvalflow_django offers no process recorder (process applications)"
        raise ConfigurationError(msg)

    def approvalflow_storage(self) -> DjangoStorage:
        """Approvalflow's storage adapter for this database (see its module)."""
        # Imported here: the storage module imports this one's recorders.
        from approvalflow_django.storage import DjangoStorage  # noqa: PLC0415

        return DjangoStorage(self.database, originator_id_type=self.originator_id_type)


#: The name eventsourcing's persistence modules give their factory.
Factory = DjangoFactory
