"""Storage adapters: where approvalflow keeps events, read models and deliveries.

approvalflow records its events through eventsourcing, whose persistence
module (``PERSISTENCE_MODULE``) chooses the database. Beside the events it
keeps read models (written in each command's own transaction) and delivery
bookkeeping, so it needs more of a database than eventsourcing does: a
:class:`Storage` for that persistence module.

Three ship with the core: SQLite (``eventsourcing.sqlite``), PostgreSQL
(``eventsourcing.postgres``) and memory (``eventsourcing.popo``). Another
persistence module plugs in either by giving its eventsourcing factory an
``approvalflow_storage()`` method, or through :func:`register_storage`. One
that has neither is refused by :func:`approvalflow.connect` with a
:class:`~approvalflow.ConfigurationError`, before any command runs.

Writing a storage adapter means: an eventsourcing ``ApplicationRecorder``
that, when its ``inline`` attribute is set, calls it with a :class:`Cursor`
inside the transaction that inserts events (and offers
``read_in_transaction(cursor, after, limit)``); an :class:`SQLBackend` for
the database, on which :class:`ReadModelStore` and :class:`SQLDeliveryStore`
run unchanged. ``approvalflow.testing.contracts.StorageContract`` is the
suite it passes.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, Mapper
from eventsourcing.sqlite import SQLiteDatastore

from approvalflow.domain.errors import ConfigurationError
from approvalflow.notifications.outbox import DeliveryStore, MemoryDeliveryStore
from approvalflow.notifications.outbox_sql import SQLDeliveryStore
from approvalflow.readmodels.inline import (
    InlinePOPORecorder,
    InlineSQLiteRecorder,
    InlineWriter,
    postgres_recorder_class,
)
from approvalflow.readmodels.store import (
    ReadModelStore,
    file_lock,
    postgres_store,
    sqlite_store,
    thread_lock,
)
from approvalflow.sqlbackend import Cursor, PostgresBackend, SQLBackend, SQLiteBackend

__all__ = [
    "APPLICATION_ID",
    "Cursor",
    "DeliveryStore",
    "InlineWriter",
    "MemoryStorage",
    "PostgresStorage",
    "ReadModelStore",
    "SQLBackend",
    "SQLDeliveryStore",
    "SQLiteStorage",
    "Storage",
    "file_lock",
    "register_storage",
    "storage_for",
    "thread_lock",
]


class Storage(Protocol):
    """Events, read models and delivery bookkeeping in one database."""

    def application_recorder(self) -> ApplicationRecorder:
        """The events' recorder, which writes read models when ``inline`` is set."""
        ...

    def read_models(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any]
    ) -> ReadModelStore:
        """The read models beside the events of ``recorder``."""
        ...

    def deliveries(self) -> DeliveryStore:
        """The delivery position, plans and lease."""
        ...


#: ``PRAGMA application_id`` of an approvalflow SQLite store ("APFL"): how
#: a file is known to be one before anything is written to it.
APPLICATION_ID = 0x4150464C

StorageBuilder = Callable[[InfrastructureFactory[Any]], Storage]


def _creates_tables(factory: InfrastructureFactory[Any]) -> bool:
    """Whether eventsourcing's ``CREATE_TABLE`` setting is on (the default)."""
    setting = getattr(factory, "env_create_table", None)
    return True if setting is None else bool(setting())


class SQLiteStorage:
    """Everything in the SQLite file of eventsourcing's ``eventsourcing.sqlite``."""

    def __init__(self, factory: InfrastructureFactory[Any]) -> None:
        self.factory = factory
        self.datastore: SQLiteDatastore = getattr(factory, "datastore")  # noqa: B009
        #: Opened read-only (``connect(read_only=True)``): nothing is written.
        self.read_only = factory.env.get("APPROVALFLOW_READ_ONLY") == "true"
        if self.read_only:
            # eventsourcing switches every file it opens to WAL, a write: a
            # store still in rollback-journal mode (an earlier release's,
            # or a copy) would refuse every read opened read-only. The
            # journal mode is the file's own to keep.
            self.datastore.pool.is_journal_mode_wal = True

    def application_recorder(self) -> ApplicationRecorder:
        """Eventsourcing's SQLite recorder, writing read models inline."""
        recorder = InlineSQLiteRecorder(datastore=self.datastore)
        if _creates_tables(self.factory) and not self.read_only:
            recorder.create_table()
            self._mark()
        return recorder

    def _mark(self) -> None:
        """Set the file's application id: it says "an approvalflow store"."""
        if self.datastore.pool.is_sqlite_memory_mode:
            return
        with self.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA application_id")
            current = int(c.fetchone()[0])
        if current != APPLICATION_ID:
            with self.datastore.transaction(commit=True) as c:
                c.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def read_models(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any]
    ) -> ReadModelStore:
        """Read models in the same file (or in-memory database)."""
        assert isinstance(recorder, InlineSQLiteRecorder)
        pool = self.datastore.pool
        return sqlite_store(
            self.datastore,
            None if pool.is_sqlite_memory_mode or self.read_only else pool.db_name,
            reader=recorder.read_in_transaction,
            decode=mapper.to_domain_event,
            read_only=self.read_only,
        )

    def deliveries(self) -> DeliveryStore:
        """Delivery bookkeeping in the same file."""
        return SQLDeliveryStore(SQLiteBackend(self.datastore), read_only=self.read_only)


class PostgresStorage:
    """Everything in the database (and schema) of ``eventsourcing.postgres``."""

    def __init__(self, factory: InfrastructureFactory[Any]) -> None:
        self.factory = factory
        self.datastore: Any = getattr(factory, "datastore")  # noqa: B009

    def application_recorder(self) -> ApplicationRecorder:
        """Eventsourcing's PostgreSQL recorder, writing read models inline."""
        prefix = self.factory.env.name.lower() or "stored"
        recorder: ApplicationRecorder = postgres_recorder_class()(
            datastore=self.datastore, events_table_name=prefix + "_events"
        )
        if _creates_tables(self.factory):
            getattr(recorder, "create_table")()  # noqa: B009 - not on the base class
        return recorder

    def read_models(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any]
    ) -> ReadModelStore:
        """Read models in the same schema; rebuilds hold back event inserts."""
        inline: Any = recorder

        def hold_writers(cursor: Cursor) -> None:
            # The lock every insert of events takes.
            inline._lock_table(cursor.raw)

        return postgres_store(
            self.datastore,
            reader=inline.read_in_transaction,
            decode=mapper.to_domain_event,
            hold_writers=hold_writers,
        )

    def deliveries(self) -> DeliveryStore:
        """Delivery bookkeeping in the same schema."""
        return SQLDeliveryStore(PostgresBackend(self.datastore))


class MemoryStorage:
    """Events in eventsourcing's memory; read models in private in-memory SQLite.

    The read models run the same SQL as on the other stores, so every store
    folds and queries alike.
    """

    def __init__(self, factory: InfrastructureFactory[Any]) -> None:
        self.factory = factory

    def application_recorder(self) -> ApplicationRecorder:
        """Eventsourcing's in-memory recorder, writing read models inline."""
        return InlinePOPORecorder()

    def read_models(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any]
    ) -> ReadModelStore:
        """Read models in an in-memory SQLite database shared by this process."""
        assert isinstance(recorder, InlinePOPORecorder)
        recorder.datastore = SQLiteDatastore(
            f"file:approvalflow-{uuid.uuid4().hex}?mode=memory&cache=shared"
        )
        return sqlite_store(
            recorder.datastore,
            None,
            reader=recorder.read_in_transaction,
            decode=mapper.to_domain_event,
        )

    def deliveries(self) -> DeliveryStore:
        """Delivery bookkeeping in this process's memory."""
        return MemoryDeliveryStore()


_REGISTRY: dict[str, StorageBuilder] = {
    "eventsourcing.sqlite": SQLiteStorage,
    "eventsourcing.postgres": PostgresStorage,
    "eventsourcing.popo": MemoryStorage,
}
_REGISTRY_LOCK = threading.Lock()


def register_storage(persistence_module: str, build: StorageBuilder) -> None:
    """Use ``build(factory)`` for the eventsourcing module ``persistence_module``.

    For a persistence module that does not offer ``approvalflow_storage()``
    itself. Registering a module again replaces its builder.
    """
    with _REGISTRY_LOCK:
        _REGISTRY[persistence_module] = build


def storage_for(factory: InfrastructureFactory[Any]) -> Storage:
    """The storage adapter for an eventsourcing factory, or a clear refusal."""
    offered = getattr(factory, "approvalflow_storage", None)
    if callable(offered):
        storage: Storage = offered()
        return storage
    module = type(factory).__module__
    with _REGISTRY_LOCK:
        build = _REGISTRY.get(module)
        known = sorted(_REGISTRY)
    if build is None:
        msg = (
            f"the eventsourcing persistence module {module!r} has no approvalflow "
            "storage adapter: approvalflow keeps read models and delivery records "
            "beside the events, which needs one. Supported: "
            + ", ".join(known)
            + "; another module is supported by a factory method "
            "approvalflow_storage() or approvalflow.storage.register_storage()"
        )
        raise ConfigurationError(msg)
    return build(factory)
