"""approvalflow's storage in a Django database: events, read models, deliveries.

:class:`DjangoStorage` is what ``approvalflow.connect()`` finds through the
persistence module's factory (``approvalflow_storage()``): the recorder of
:mod:`approvalflow_django.persistence`, and approvalflow's own read-model
and delivery stores running unchanged on :class:`DjangoSQLBackend`.

Tables are made by ``manage.py migrate`` (:meth:`DjangoStorage.create_tables`
in this app's migration), never behind the host's back at request time: a
storage opened on a database without them raises
:class:`~approvalflow.ConfigurationError` saying to run the migration.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.db import connections
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification

from approvalflow import ConfigurationError
from approvalflow.storage import (
    Cursor,
    DeliveryStore,
    ReadModelStore,
    SQLDeliveryStore,
    file_lock,
    thread_lock,
)
from approvalflow_django.db import DjangoDatabase
from approvalflow_django.persistence import EVENTS_TABLE, DjangoApplicationRecorder

__all__ = [
    "CHAIN_TABLES",
    "DELIVERY_TABLES",
    "READ_MODEL_TABLES",
    "DjangoSQLBackend",
    "DjangoStorage",
]

#: The read models' bookkeeping tables; the rows live in ``af<generation>_*``.
READ_MODEL_TABLES = ("approvalflow_views", "approvalflow_positions")
#: The audit chain's tables (every event's hashes; never rebuilt).
CHAIN_TABLES = ("approvalflow_chain", "approvalflow_chain_meta")
#: The delivery follower's tables.
DELIVERY_TABLES = ("approvalflow_delivery_state", "approvalflow_deliveries")
#: Tables of a read-model generation (``af3_documents``, ...).
_GENERATION_TABLE = re.compile(r"^af[0-9]+_[a-z_]+$")

# An arbitrary, fixed key: one read-model rebuild at a time (PostgreSQL).
_REBUILD_LOCK = 0x61707262
# And one table creation at a time (PostgreSQL).
_DDL_LOCK = 0x61707066


class DjangoSQLBackend:
    """approvalflow's SQL surface (:class:`~approvalflow.storage.SQLBackend`) on Django.

    The per-database values are approvalflow's own for SQLite and
    PostgreSQL. Tables take no schema prefix: Django's connection (its
    ``search_path`` on PostgreSQL) says where they are.
    """

    prefix = ""

    def __init__(self, database: DjangoDatabase) -> None:
        self.database = database
        postgres = database.vendor == "postgresql"
        # PostgreSQL compares with the "C" collation: byte order, as SQLite.
        self.text = 'TEXT COLLATE "C"' if postgres else "TEXT"
        self.without_rowid = "" if postgres else " WITHOUT ROWID"
        # On SQLite a write transaction already holds the only write lock.
        self.for_update = " FOR UPDATE" if postgres else ""
        # PostgreSQL limits each arm of a merged list; SQLite merges lazily.
        self.limit_arms = postgres

    def write(self, *, bulk: bool = False) -> contextlib.AbstractContextManager[Cursor]:
        """A write transaction (a savepoint inside the host's).

        ``bulk`` is a hint approvalflow's own stores use to relax durability
        for a rebuild's batches; on the host's connection the host's
        settings stand, so it changes nothing here.
        """
        del bulk
        return self.database.write()

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        """A consistent read."""
        return self.database.read()

    def serialize_ddl(self, cursor: Cursor) -> None:
        """Make concurrent table creation wait its turn (PostgreSQL)."""
        if self.database.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(?)", [_DDL_LOCK])

    def analyze(self, cursor: Cursor) -> None:
        """Refresh the planner's statistics."""
        if self.database.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute("ANALYZE")

    def explain(self, cursor: Cursor, sql: str, params: Sequence[Any]) -> list[str]:
        """The database's plan for a query, one line per step."""
        if self.database.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return [str(r["detail"]) for r in cursor.fetchall()]
        cursor.execute("EXPLAIN " + sql, params)
        return [str(next(iter(r.values()))) for r in cursor.fetchall()]

    def rebuild_lock(self) -> contextlib.AbstractContextManager[bool]:
        """Held while a rebuild runs; yields whether this process got it.

        PostgreSQL: a session advisory lock on a connection of its own,
        released if the process dies. SQLite: a lock on a file beside the
        database (``<file>-rebuild.lock``), or a process lock in memory.
        """
        if self.database.vendor == "postgresql":
            return self._advisory_lock()
        connection = self.database.connection
        name = self.database.name()
        if connection.creation.is_in_memory_db(name):  # type: ignore[attr-defined]
            return _memory_lock(name)()
        return file_lock(Path(f"{name}-rebuild.lock"))()

    @contextlib.contextmanager
    def _advisory_lock(self) -> Iterator[bool]:
        # A connection outside Django's per-thread ones: the lock lives as
        # long as this connection, whatever the thread's connection does.
        own = connections.create_connection(self.database.alias)
        try:
            own.ensure_connection()
            raw = own.connection
            got = raw.execute("SELECT pg_try_advisory_lock(%s)", [_REBUILD_LOCK])
            if not got.fetchone()[0]:
                yield False
                return
            try:
                yield True
            finally:
                raw.execute("SELECT pg_advisory_unlock(%s)", [_REBUILD_LOCK])
        finally:
            own.close()


_MEMORY_LOCKS: dict[str, Callable[[], contextlib.AbstractContextManager[bool]]] = {}
_MEMORY_LOCKS_GUARD = threading.Lock()


def _memory_lock(name: str) -> Callable[[], contextlib.AbstractContextManager[bool]]:
    # One lock per in-memory database of this process.
    with _MEMORY_LOCKS_GUARD:
        if name not in _MEMORY_LOCKS:
            _MEMORY_LOCKS[name] = thread_lock(threading.Lock())
        return _MEMORY_LOCKS[name]


class DjangoStorage:
    """Events, read models and delivery records in one Django database.

    Implements :class:`approvalflow.storage.Storage`.
    """

    def __init__(
        self, database: DjangoDatabase, *, originator_id_type: str = "uuid"
    ) -> None:
        self.database = database
        self.originator_id_type = originator_id_type

    # -- approvalflow.storage.Storage ------------------------------------------------

    def application_recorder(self) -> DjangoApplicationRecorder:
        """The events' recorder; raises ConfigurationError before ``migrate``."""
        self.require_tables((EVENTS_TABLE, *READ_MODEL_TABLES))
        return self._recorder()

    def read_models(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any]
    ) -> ReadModelStore:
        """Approvalflow's read models beside the events."""
        if not isinstance(recorder, DjangoApplicationRecorder):
            msg = (
                "approvalflow_django's read models need its own recorder, got "
                f"{type(recorder).__name__}"
            )
            raise ConfigurationError(msg)
        self.require_tables(READ_MODEL_TABLES)
        return self._read_model_store(
            recorder.read_in_transaction, mapper.to_domain_event, recorder.lock_table
        )

    def deliveries(self) -> DeliveryStore:
        """The delivery follower's position, plans and lease."""
        self.require_tables(DELIVERY_TABLES)
        return SQLDeliveryStore(DjangoSQLBackend(self.database))

    # -- tables ------------------------------------------------------------------------

    def missing_tables(self, names: Sequence[str] | None = None) -> list[str]:
        """Which of approvalflow's tables (or of ``names``) the database lacks."""
        wanted = (
            names
            if names is not None
            else (EVENTS_TABLE, *READ_MODEL_TABLES, *CHAIN_TABLES, *DELIVERY_TABLES)
        )
        present = self.database.table_names()
        return [name for name in wanted if name not in present]

    def require_tables(self, names: Sequence[str]) -> None:
        """Raise ConfigurationError unless ``names`` exist (run migrate)."""
        missing = self.missing_tables(names)
        if missing:
            msg = (
                f"Django database {self.database.alias!r} has no approvalflow "
                f"tables ({', '.join(missing)} missing): run manage.py migrate "
                f"approvalflow --database {self.database.alias}"
            )
            raise ConfigurationError(msg)

    def create_tables(self) -> None:
        """Create every table approvalflow uses (``manage.py migrate``).

        The read-model and delivery stores create their own tables when
        built; here they are built once for that.
        """
        self._recorder().create_table()
        self._read_model_store(_no_events, _no_decoding, lambda _: None)
        SQLDeliveryStore(DjangoSQLBackend(self.database))

    def drop_tables(self) -> None:
        """Drop every approvalflow table (reversing the migration).

        The recorded events go with them: the approvals' history is lost.
        """
        present = self.database.table_names()
        ours = sorted(
            name
            for name in present
            if name in (*READ_MODEL_TABLES, *CHAIN_TABLES, *DELIVERY_TABLES)
            or _GENERATION_TABLE.match(name)
        )
        with self.database.write() as c:
            for name in ours:
                c.execute(f"DROP TABLE IF EXISTS {name}")
        self._recorder().drop_table()

    # -- helpers -----------------------------------------------------------------------

    def _recorder(self) -> DjangoApplicationRecorder:
        return DjangoApplicationRecorder(
            self.database, originator_id_type=self.originator_id_type
        )

    def _read_model_store(
        self,
        reader: Callable[[Cursor, int, int], Sequence[Notification]],
        decode: Callable[[Any], Any],
        hold_writers: Callable[[Cursor], None],
    ) -> ReadModelStore:
        backend = DjangoSQLBackend(self.database)
        return ReadModelStore(
            backend,
            rebuild_lock=backend.rebuild_lock,
            reader=reader,
            decode=decode,
            hold_writers=hold_writers,
        )


def _no_events(_cursor: Cursor, _after: int, _limit: int) -> list[Notification]:
    # Creating tables reads no events.
    return []


def _no_decoding(stored: Any) -> Any:
    msg = "creating approvalflow's tables decodes no events"
    raise AssertionError(msg)
