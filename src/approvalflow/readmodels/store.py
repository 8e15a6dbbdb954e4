"""Where the read models live, and the three ways events reach them.

The read models' tables sit beside the events (SQLite file, PostgreSQL
schema; for ``memory://``, an in-memory SQLite database), under a generation
prefix (``af3_documents``, ...). The table ``approvalflow_views`` names the
generation readers use; ``approvalflow_positions`` holds each read model's
position per generation and upstream application.

Events reach the tables:

1. **Inline**, in the transaction that records them (:meth:`ReadModelStore.
   write_inline`, called by the recorders of :mod:`approvalflow.readmodels.
   inline`): the rows commit with the events or not at all. Each read model's
   position moves with them; events it has not seen (recorded by another path:
   an older release, a host writing through eventsourcing, a read model added
   later) are folded first, in the same transaction, when there are few of
   them.
2. **Catching up** (:meth:`ReadModelStore.catch_up`), in batches, for a read
   model left behind (too far to catch up inline, or inline writing off).
   Each batch locks the read model's position row first, so two processes
   never fold the same events and none folds work that is then thrown away.
3. **Rebuilding** (:meth:`ReadModelStore.rebuild`) into the next generation's
   tables, in bulk, then switching generations atomically.

All three run the same fold: each read model's :meth:`~approvalflow.
readmodels.base.ReadModel.apply`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent

from approvalflow._chain import AuditChain
from approvalflow.domain.aggregate import approval_request_id
from approvalflow.domain.errors import ApprovalFlowError
from approvalflow.readmodels.base import ReadModel, Tx
from approvalflow.readmodels.documents import (
    SQL_DOCUMENT,
    SQL_DOCUMENTS_EVER_IN,
    SQL_DUE,
    DocumentRow,
    DocumentsModel,
    Page,
    StatusFilter,
    recent_query,
    tab_query,
)
from approvalflow.readmodels.pending import PendingModel
from approvalflow.readmodels.rejections import RejectionRow, RejectionsModel
from approvalflow.sqlbackend import (
    Cursor,
    PostgresBackend,
    SQLBackend,
    SQLiteBackend,
    time_text,
)

__all__ = [
    "MODELS",
    "VIEW_NAMES",
    "EventSource",
    "Progress",
    "ReadModelStore",
    "RebuildInProgressError",
    "every_query",
    "file_lock",
    "postgres_store",
    "sqlite_store",
    "thread_lock",
]

#: Reads stored events: ``source(after, limit)`` gives up to ``limit``
#: (notification id, domain event) pairs with ids greater than ``after``.
EventSource = Callable[[int, int], Sequence[tuple[int, Any]]]

#: Told how many events a rebuild has applied so far.
Progress = Callable[[int], None]

#: Reads stored events through a transaction's own cursor:
#: ``reader(cursor, after, limit)`` gives eventsourcing notifications.
LogReader = Callable[[Cursor, int, int], Sequence[Notification]]

#: Turns a stored event back into a domain event (the application's mapper).
Decoder = Callable[[StoredEvent], Any]

#: Every read model, in the order they are written. Adding a read model is
#: one module and one entry here.
MODELS: tuple[ReadModel, ...] = (
    DocumentsModel(),
    PendingModel(),
    RejectionsModel(),
)

#: The read models' names.
VIEW_NAMES = tuple(model.name for model in MODELS)

#: Raised whenever a read model's tables change: a store opened on older
#: tables rebuilds them.
SCHEMA_VERSION = 4

#: Tables of every earlier schema, dropped with their generation (``audit``
#: was a table until the audit trail was read from the events themselves).
_LEGACY_TABLES = ("tracking", "documents", "document_accounts", "rejections", "audit")

#: Events a command may fold inline on top of its own, for a read model that
#: has fallen behind; further behind, it is left to :meth:`catch_up`.
INLINE_CATCH_UP = 1_000

#: Events per transaction when catching up, and per batch when rebuilding.
CATCH_UP_BATCH = 500
REBUILD_BATCH = 5_000

_META = (
    "CREATE TABLE IF NOT EXISTS {meta} ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL,"
    " schema_version BIGINT NOT NULL)"
)
# Each read model's position, per generation of tables and per upstream
# application; one table beside the generations, so one query finds the live
# generation and its positions.
_POSITIONS = (
    "CREATE TABLE IF NOT EXISTS {positions} ("
    " generation BIGINT NOT NULL, view {text} NOT NULL,"
    " application_name {text} NOT NULL, notification_id BIGINT NOT NULL,"
    " PRIMARY KEY (generation, view, application_name)) {without_rowid}"
)
_SET_POSITION = (
    "INSERT INTO {positions} (generation, view, application_name, notification_id)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (generation, view, application_name)"
    " DO UPDATE SET notification_id = excluded.notification_id"
)


class RebuildInProgressError(ApprovalFlowError):
    """Another rebuild of the read models is running on this store."""

    def __init__(self) -> None:
        super().__init__(
            "another process is rebuilding the read models of this store; "
            "wait for it to finish (the live read models keep serving meanwhile)"
        )


class ReadModelStore:
    """The read models of one event store, in SQL tables beside the events."""

    def __init__(
        self,
        backend: SQLBackend,
        *,
        rebuild_lock: Callable[[], contextlib.AbstractContextManager[bool]],
        reader: LogReader,
        decode: Decoder,
        hold_writers: Callable[[Cursor], None] = lambda _: None,
        read_only: bool = False,
    ) -> None:
        self.backend = backend
        self._reader = reader
        #: Turns a stored event back into a domain event.
        self.decode = decode
        self._hold_writers = hold_writers
        #: Every recorded event's hashes (see :mod:`approvalflow.audit_verify`).
        self.chain = AuditChain(backend)
        self.meta = f"{backend.prefix}approvalflow_views"
        self.positions = f"{backend.prefix}approvalflow_positions"
        self._set_position = _SET_POSITION.format(positions=self.positions)
        self._rebuild_lock = rebuild_lock
        #: Catch-up batches read but not applied because another process had
        #: applied them first (positions are locked, so this stays 0).
        self.discarded_batches = 0
        #: Opened read-only: nothing is created, caught up or rebuilt.
        self.read_only = read_only
        # An existing, current store is opened with a read: no write lock,
        # nothing written (and a read-only copy opens at all).
        self.needs_rebuild = False
        if self._ready():
            return
        if read_only:
            self.needs_rebuild = True
            return
        with backend.write() as c:
            backend.serialize_ddl(c)
            # Take the lock every insert of events takes before touching any
            # other table, as inserts do: the same order everywhere, so a
            # process opening the store never deadlocks with one writing.
            hold_writers(c)
            c.execute(_META.format(meta=self.meta))
            c.execute(
                _POSITIONS.format(
                    positions=self.positions,
                    text=backend.text,
                    without_rowid=backend.without_rowid,
                )
            )
            c.execute(
                f"INSERT INTO {self.meta} VALUES (1, 1, ?) ON CONFLICT DO NOTHING",
                [SCHEMA_VERSION],
            )
            c.execute(f"SELECT schema_version FROM {self.meta} WHERE id = 1")
            #: True when the live tables were made by an older release: the
            #: application rebuilds them (read models can always be rebuilt).
            self.needs_rebuild = int(c.fetchone()["schema_version"]) != SCHEMA_VERSION
            if not self.needs_rebuild:
                generation = self._generation(c)
                self._create_tables(c, generation)
                self._create_indexes(c, generation)
            self.chain.create(c)
            if not self.chain.started(c):
                # A store recorded before the chain existed: hash what it
                # holds now (event inserts are held back meanwhile).
                self.chain.start(c, reader)

    def _ready(self) -> bool:
        """Whether every table exists at this release's schema, by a read."""
        try:
            with self.backend.read() as c:
                c.execute(f"SELECT schema_version FROM {self.meta} WHERE id = 1")
                row = c.fetchone()
                if row is None or int(row["schema_version"]) != SCHEMA_VERSION:
                    return False
                if not self.chain.started(c):
                    return False
                prefix = self._prefix(self._generation(c))
                for model in MODELS:
                    for table in model.table_names:
                        c.execute(f"SELECT 1 FROM {prefix}{table} LIMIT 1")
                        c.fetchall()
                c.execute(f"SELECT 1 FROM {self.positions} LIMIT 1")
                c.fetchall()
        except Exception:
            return False
        return True

    # -- generations ---------------------------------------------------------------

    def _prefix(self, generation: int) -> str:
        return f"{self.backend.prefix}af{generation}_"

    def _generation(self, c: Cursor) -> int:
        c.execute(f"SELECT generation FROM {self.meta} WHERE id = 1")
        return int(c.fetchone()["generation"])

    def _ddl(self, statement: str, generation: int) -> str:
        return statement.format(
            p=self._prefix(generation),
            i=f"af{generation}_",  # index names take no schema
            text=self.backend.text,
            without_rowid=self.backend.without_rowid,
        )

    def _create_tables(self, c: Cursor, generation: int) -> None:
        for model in MODELS:
            for statement in model.tables:
                c.execute(self._ddl(statement, generation))

    def _create_indexes(self, c: Cursor, generation: int) -> None:
        for model in MODELS:
            for statement in model.indexes:
                c.execute(self._ddl(statement, generation))

    def _drop_generation(self, c: Cursor, generation: int) -> None:
        names = {name for model in MODELS for name in model.table_names}
        for name in sorted(names | set(_LEGACY_TABLES)):
            c.execute(f"DROP TABLE IF EXISTS {self._prefix(generation)}{name}")
        c.execute(f"DELETE FROM {self.positions} WHERE generation = ?", [generation])

    @contextlib.contextmanager
    def _read(self) -> Iterator[tuple[Cursor, str]]:
        with self.backend.read() as c:
            yield c, self._prefix(self._generation(c))

    # -- positions -----------------------------------------------------------------

    def position(self, view: str, application_name: str) -> int:
        """The last notification id applied to ``view`` (0: none)."""
        return self._positions(application_name).get(view, 0)

    def _positions(self, application_name: str) -> dict[str, int]:
        """Every read model's position in the live generation (0: none)."""
        with self.backend.read() as c:
            c.execute(
                f"SELECT t.view, t.notification_id FROM {self.meta} m"
                f" JOIN {self.positions} t ON t.generation = m.generation"
                " WHERE m.id = 1 AND t.application_name = ?",
                [application_name],
            )
            found = {r["view"]: int(r["notification_id"]) for r in c.fetchall()}
        return {name: found.get(name, 0) for name in VIEW_NAMES}

    def _locked_positions(
        self, c: Cursor, generation: int, application_name: str
    ) -> dict[str, int]:
        """Every read model's position, locked until the transaction ends."""
        select = (
            f"SELECT view, notification_id FROM {self.positions}"
            f" WHERE generation = ? AND application_name = ?{self.backend.for_update}"
        )
        c.execute(select, [generation, application_name])
        found = {r["view"]: int(r["notification_id"]) for r in c.fetchall()}
        if len(found) < len(VIEW_NAMES):
            # The rows must exist to be locked: made once per read model.
            c.executemany(
                f"INSERT INTO {self.positions} VALUES (?, ?, ?, 0)"
                " ON CONFLICT DO NOTHING",
                [(generation, name, application_name) for name in VIEW_NAMES],
            )
            c.execute(select, [generation, application_name])
            found = {r["view"]: int(r["notification_id"]) for r in c.fetchall()}
        return found

    def _live_positions(
        self, c: Cursor, application_name: str
    ) -> tuple[int, dict[str, int]]:
        """The live generation and its locked positions, in one query usually."""
        lock = f"{self.backend.for_update} OF t" if self.backend.for_update else ""
        c.execute(
            f"SELECT t.view, t.notification_id, m.generation FROM {self.meta} m"
            f" JOIN {self.positions} t ON t.generation = m.generation"
            f" WHERE m.id = 1 AND t.application_name = ?{lock}",
            [application_name],
        )
        rows = c.fetchall()
        if len(rows) == len(VIEW_NAMES):
            generation = int(rows[0]["generation"])
            return generation, {r["view"]: int(r["notification_id"]) for r in rows}
        generation = self._generation(c)
        return generation, self._locked_positions(c, generation, application_name)

    # -- 1. inline -------------------------------------------------------------------

    def write_inline(
        self,
        c: Cursor,
        application_name: str,
        items: Sequence[tuple[int, Any]],
    ) -> None:
        """Fold a command's events into every read model, in its transaction.

        ``items`` are the (notification id, domain event) pairs just
        recorded through ``c``; events recorded before them that a read
        model has not seen yet are read through ``c`` too.
        """
        if not items or self.needs_rebuild:
            return
        generation, positions = self._live_positions(c, application_name)
        first, last = items[0][0], items[-1][0]
        tx = Tx(c, self._prefix(generation))
        missing: dict[int, Sequence[tuple[int, Any]] | None] = {}
        moved = []
        for model in MODELS:
            position = positions.get(model.name, 0)
            if position >= first:
                continue  # already folded (cannot happen through the recorders)
            if position not in missing:
                missing[position] = self._missing(self._events(c), position, first)
            behind = missing[position]
            if behind is None:
                continue  # too far behind: catch_up() or a rebuild brings it on
            model.apply(tx, [event for _, event in (*behind, *items)])
            moved.append((generation, model.name, application_name, last))
        c.executemany(self._set_position, moved)

    def _events(self, c: Cursor) -> EventSource:
        """Stored events after a position, read through ``c`` and decoded."""

        def read(after: int, limit: int) -> list[tuple[int, Any]]:
            return [(n.id, self.decode(n)) for n in self._reader(c, after, limit)]

        return read

    @staticmethod
    def _missing(
        read_missing: EventSource, position: int, first: int
    ) -> Sequence[tuple[int, Any]] | None:
        if position == first - 1:
            return ()  # nothing between (ids may have gaps: then we look)
        found = [
            item
            for item in read_missing(position, INLINE_CATCH_UP + 1)
            if item[0] < first
        ]
        return None if len(found) > INLINE_CATCH_UP else found

    # -- 2. catching up --------------------------------------------------------------

    def behind(self, application_name: str, head: int) -> bool:
        """Whether any read model's position is short of ``head``."""
        return any(p < head for p in self._positions(application_name).values())

    def catch_up(
        self, application_name: str, source: EventSource, head: int, batch: int
    ) -> int:
        """Fold what every read model misses up to ``head``; return the count.

        One transaction per batch. The read models' positions are locked
        first, so another process catching up at the same time waits, then
        finds the events applied and moves on.
        """
        applied = 0
        while True:
            # Events are read before the write transaction: a process must
            # not ask for a second connection while it holds the writer's.
            lowest = min(self._positions(application_name).values(), default=0)
            if lowest >= head:
                return applied
            items = source(lowest, batch)
            if not items:
                return applied
            with self.backend.write() as c:
                generation, positions = self._live_positions(c, application_name)
                tx = Tx(c, self._prefix(generation))
                moved = []
                for model in MODELS:
                    position = positions.get(model.name, 0)
                    if position < lowest:
                        continue  # cannot happen: positions only move on
                    events = [event for n, event in items if n > position]
                    if events:
                        model.apply(tx, events)
                        applied += len(events)
                        last = items[-1][0]
                        moved.append((generation, model.name, application_name, last))
                c.executemany(self._set_position, moved)

    def apply(
        self,
        view: str,
        application_name: str,
        expected: int | None,
        items: Sequence[tuple[int, Any]],
    ) -> None:
        """Apply events to one read model if its position is still ``expected``.

        ``None`` only requires the new events to come after the position.
        Otherwise ``eventsourcing.persistence.IntegrityError`` is raised and
        nothing is written: the events were applied already.
        """
        if not items:
            return
        model = _model(view)
        with self.backend.write() as c:
            generation, positions = self._live_positions(c, application_name)
            current = positions.get(view, 0)
            first, last = items[0][0], items[-1][0]
            if (expected is not None and current != expected) or current >= first:
                self.discarded_batches += 1
                msg = f"{view} is at {current}, not {expected}: events already applied"
                raise IntegrityError(msg)
            events = [event for _, event in items if event is not None]
            if events:
                model.apply(Tx(c, self._prefix(generation)), events)
            c.execute(self._set_position, [generation, view, application_name, last])

    # -- 3. rebuilding ---------------------------------------------------------------

    def rebuild(
        self,
        application_name: str,
        source: EventSource,
        progress: Progress,
    ) -> int:
        """Fold every event into the next generation's tables, then switch.

        Readers and commands keep using the live tables until the switch,
        which is atomic: commands wait for it (the store's ``hold_writers``
        on PostgreSQL; on SQLite the write transaction does), and events
        recorded meanwhile go in first, read through the switching
        transaction's own cursor. A rebuild killed part-way leaves the live
        tables serving; the next one starts afresh. Raises
        :class:`RebuildInProgressError` while another rebuild runs.
        """
        with self._rebuild_lock() as acquired:
            if not acquired:
                raise RebuildInProgressError
            return self._rebuild(application_name, source, progress)

    def _rebuild(
        self,
        application_name: str,
        source: EventSource,
        progress: Progress,
    ) -> int:
        with self.backend.write() as c:
            self.backend.serialize_ddl(c)
            live = self._generation(c)
            fresh = live + 1
            # A rebuild that died leaves its tables: start them afresh.
            self._drop_generation(c, fresh)
            self._create_tables(c, fresh)
        p = self._prefix(fresh)
        cache: dict[str, Any] = {}
        position = applied = 0

        def fold(c: Cursor, items: Sequence[tuple[int, Any]]) -> int:
            tx = Tx(c, p, bulk=True)
            tx.cache = cache  # rows carried from batch to batch
            events = [event for _, event in items]
            for model in MODELS:
                model.apply(tx, events)
            return int(items[-1][0])

        while items := source(position, REBUILD_BATCH):
            with self.backend.write(bulk=True) as c:
                position = fold(c, items)
            applied += len(items)
            progress(applied)
        # Indexes once the tables are full: faster than keeping them up to date.
        with self.backend.write() as c:
            self._create_indexes(c, fresh)
            self.backend.analyze(c)
        with self.backend.write() as c:
            self._hold_writers(c)
            # Events recorded meanwhile go in before the switch, in the same
            # transaction, so the new tables are complete when readers see them.
            read_tail = self._events(c)
            while tail := read_tail(position, REBUILD_BATCH):
                position = fold(c, tail)
                applied += len(tail)
            c.executemany(
                self._set_position,
                [(fresh, name, application_name, position) for name in VIEW_NAMES],
            )
            c.execute(
                f"UPDATE {self.meta} SET generation = ?, schema_version = ?"
                " WHERE id = 1",
                [fresh, SCHEMA_VERSION],
            )
            self._drop_generation(c, live)
        progress(applied)
        self.needs_rebuild = False
        return applied

    # -- queries ---------------------------------------------------------------------

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
        with self._read() as (c, p):
            return _DOCUMENTS.recent(
                c,
                p,
                since=since,
                account_id=account_id,
                filters=filters,
                after=after,
                limit=limit,
                limit_arms=self.backend.limit_arms,
            )

    def approvals_tab(
        self,
        *,
        account_id: str,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Page:
        """An account's requested documents, latest request first."""
        with self._read() as (c, p):
            return _DOCUMENTS.approvals_tab(
                c,
                p,
                account_id=account_id,
                filters=filters,
                after=after,
                limit=limit,
                limit_arms=self.backend.limit_arms,
            )

    def accounts_pending(self) -> list[tuple[str, int]]:
        """Accounts with documents pending approval, with counts."""
        with self._read() as (c, p):
            return _PENDING.accounts_pending(c, p)

    def document(self, document_id: str) -> DocumentRow | None:
        """One document's row, if it has one."""
        with self._read() as (c, p):
            return _DOCUMENTS.document(c, p, document_id)

    def due_reminders(self, now: datetime, limit: int) -> list[str]:
        """Documents whose next reminder is due at ``now``, most overdue first.

        Served by an index on the due time: its cost grows with the number
        due, not with the number pending.
        """
        with self._read() as (c, p):
            return _DOCUMENTS.due_reminders(c, p, now, limit)

    def recorded(self, document_ids: Sequence[str]) -> set[str]:
        """Which of the documents the ``documents`` read model has a row for."""
        keys = {approval_request_id(d).hex: d for d in document_ids}
        with self._read() as (c, p):
            tx = Tx(c, p)
            found = tx.select_in(
                "SELECT record_id FROM {p}documents WHERE record_id IN ({keys})",
                list(keys),
            )
        return {keys[r["record_id"]] for r in found}

    def documents_ever_in(self, account_id: str) -> list[str]:
        """Every document that was ever filed under the account."""
        with self._read() as (c, p):
            return _DOCUMENTS.documents_ever_in(c, p, account_id)

    def rejections(self, document_id: str) -> tuple[RejectionRow, ...]:
        """Every rejection of the document, oldest first."""
        with self._read() as (c, p):
            return _REJECTIONS.rejections(c, p, document_id)

    def query_plans(
        self, now: datetime | None = None, account_id: str = "a"
    ) -> dict[str, list[str]]:
        """The database's plan for every query the read models run (for tests).

        ``EXPLAIN QUERY PLAN`` lines on SQLite, ``EXPLAIN`` lines on
        PostgreSQL; ``now`` and ``account_id`` fill the queries' parameters.
        """
        plans: dict[str, list[str]] = {}
        with self._read() as (c, p):
            queries = every_query(now, account_id, limit_arms=self.backend.limit_arms)
            for label, (sql, params) in queries.items():
                plans[label] = self.backend.explain(c, sql.replace("{p}", p), params)
        return plans

    def close(self) -> None:
        """The datastore belongs to the application, which closes it."""


_DOCUMENTS = next(m for m in MODELS if isinstance(m, DocumentsModel))
_PENDING = next(m for m in MODELS if isinstance(m, PendingModel))
_REJECTIONS = next(m for m in MODELS if isinstance(m, RejectionsModel))


def _model(view: str) -> ReadModel:
    for model in MODELS:
        if model.name == view:
            return model
    msg = f"no read model named {view!r}; there are: {', '.join(VIEW_NAMES)}"
    raise ValueError(msg)


def every_query(
    now: datetime | None = None, account_id: str = "a", *, limit_arms: bool
) -> dict[str, tuple[str, list[Any]]]:
    """Every query the read models run, with sample parameters, by label."""
    at = now or datetime.now(UTC)
    doc = approval_request_id("x").hex
    choices = [
        StatusFilter.PENDING_PAYMENT,
        StatusFilter.PENDING_APPROVAL,
        StatusFilter.APPROVED,
        StatusFilter.REJECTED,
    ]
    queries: dict[str, tuple[str, list[Any]]] = {}
    for mask in range(1 << len(choices)):
        chosen = frozenset(f for i, f in enumerate(choices) if mask >> i & 1)
        label = "+".join(sorted(f.value for f in chosen)) or "all"
        for account in (None, account_id):
            for after in (None, (at, "d")):
                scope = ", one account" if account else ""
                page = ", next page" if after else ""
                queries[f"recent {label}{scope}{page}"] = recent_query(
                    at, account, chosen, after, 10, limit_arms=limit_arms
                )
        for after in (None, (at, "d")):
            page = ", next page" if after else ""
            queries[f"approvals tab {label}{page}"] = tab_query(
                account_id, chosen, after, 10, limit_arms=limit_arms
            )
    queries["accounts pending"] = (
        "SELECT account_id, pending FROM {p}account_pending"
        " WHERE pending > 0 ORDER BY account_id",
        [],
    )
    queries["document"] = (SQL_DOCUMENT, [doc])
    queries["documents ever in"] = (SQL_DOCUMENTS_EVER_IN, [account_id])
    queries["due reminders"] = (SQL_DUE, [time_text(at), 10])
    queries["rejections"] = (
        "SELECT cycle FROM {p}rejections WHERE record_id = ? ORDER BY cycle",
        [doc],
    )
    queries["pending documents"] = (
        "SELECT record_id, account_id FROM {p}pending_documents WHERE record_id = ?",
        [doc],
    )
    return queries


# -- stores for each kind of event store ----------------------------------------------


def sqlite_store(
    datastore: Any,
    path: str | None,
    *,
    reader: LogReader,
    decode: Decoder,
    read_only: bool = False,
) -> ReadModelStore:
    """The read models in the SQLite database of the events.

    ``path`` is the database file (``None`` in memory): a rebuild locks a
    file beside it (``<file>-rebuild.lock``) so two processes cannot rebuild
    at once; the operating system releases the lock if the process dies.
    The write transaction holds commands back during a rebuild's switch.
    """
    return ReadModelStore(
        SQLiteBackend(datastore),
        rebuild_lock=file_lock(Path(f"{path}-rebuild.lock"))
        if path
        else thread_lock(threading.Lock()),
        reader=reader,
        decode=decode,
        read_only=read_only,
    )


def postgres_store(
    datastore: Any,
    *,
    reader: LogReader,
    decode: Decoder,
    hold_writers: Callable[[Cursor], None],
) -> ReadModelStore:
    """The read models in the PostgreSQL database (and schema) of the events.

    ``hold_writers`` takes the lock every insert of events takes, so
    commands wait while a rebuild switches generations.
    """
    backend = PostgresBackend(datastore)
    return ReadModelStore(
        backend,
        rebuild_lock=backend.rebuild_lock,
        reader=reader,
        decode=decode,
        hold_writers=hold_writers,
    )


def file_lock(path: Path) -> Callable[[], contextlib.AbstractContextManager[bool]]:
    """An exclusive, non-blocking lock on the file ``path``, for every process.

    ``filelock`` takes the operating system's lock (``flock`` on POSIX,
    ``msvcrt`` on Windows), which dies with its process. The file may stay
    after release: on POSIX removing it would let two processes lock two
    different files of the same name.
    """

    @contextlib.contextmanager
    def lock() -> Iterator[bool]:
        # A new lock object per attempt: one object is re-entrant in its own
        # thread, and a second rebuild in the same process must be refused.
        file = filelock.FileLock(path)
        try:
            file.acquire(timeout=0)
        except filelock.Timeout:
            yield False
            return
        try:
            yield True
        finally:
            file.release()

    return lock


def thread_lock(
    mutex: threading.Lock,
) -> Callable[[], contextlib.AbstractContextManager[bool]]:
    """A rebuild lock for one process (an in-memory database has no file)."""

    @contextlib.contextmanager
    def lock() -> Iterator[bool]:
        if not mutex.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            mutex.release()

    return lock
