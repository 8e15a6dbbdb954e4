"""The audit chain's table: every event hashed when recorded, in its transaction.

:class:`AuditChain` keeps one row per recorded event (see
:mod:`approvalflow.audit_verify` for what the hashes are) in a table beside
the events, written by the recorders' inline hook in the transaction that
inserts the events, whether or not read models are written inline. A store
recorded before the chain existed gets it at its first opening: its events
are hashed then, and that point (the *checkpoint*) is kept and reported.
The table is never part of a read-model rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent

from approvalflow.audit_verify import (
    LOG_START,
    ChainRecord,
    event_hash,
    log_hash,
    stream_hash,
    stream_start,
)
from approvalflow.sqlbackend import Cursor, SQLBackend

__all__ = ["AuditChain"]

#: Reads stored events after a notification id through a cursor.
ChainReader = Callable[[Cursor, int, int], Sequence[Notification]]

_BATCH = 5_000
#: Chain rows per INSERT statement (7 parameters each).
_ROWS_PER_INSERT = 1_000


class AuditChain:
    """The chain rows of one store, in its own SQL tables."""

    def __init__(self, backend: SQLBackend) -> None:
        self.backend = backend
        self.table = f"{backend.prefix}approvalflow_chain"
        self.meta = f"{backend.prefix}approvalflow_chain_meta"

    def create(self, c: Cursor) -> None:
        """Create the tables (in the caller's transaction)."""
        text = self.backend.text
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " notification_id BIGINT PRIMARY KEY,"
            f" originator_id {text} NOT NULL, originator_version BIGINT NOT NULL,"
            f" topic {text} NOT NULL, event_hash {text} NOT NULL,"
            f" stream_hash {text} NOT NULL, log_hash {text} NOT NULL)"
            f"{self.backend.without_rowid}"
        )
        c.execute(
            "CREATE INDEX IF NOT EXISTS approvalflow_chain_stream"
            f" ON {self.table} (originator_id, originator_version)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.meta} ("
            " id INTEGER PRIMARY KEY CHECK (id = 1),"
            f" checkpoint BIGINT NOT NULL, started_at {text} NOT NULL)"
        )

    def started(self, c: Cursor) -> bool:
        """Whether the chain has begun (its checkpoint is recorded)."""
        c.execute(f"SELECT 1 AS started FROM {self.meta} WHERE id = 1")
        return c.fetchone() is not None

    def start(self, c: Cursor, reader: ChainReader) -> int:
        """Begin the chain: hash every event recorded so far; return how many.

        Called with writers held back (the caller's write transaction), so no
        event is recorded meanwhile. The last of these events is the
        checkpoint: they were hashed now, not when recorded.
        """
        after, count = 0, 0
        while batch := list(reader(c, after, _BATCH)):
            self.append(
                c,
                [n.id for n in batch],
                [
                    StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                    for n in batch
                ],
            )
            after, count = batch[-1].id, count + len(batch)
        c.execute(
            f"INSERT INTO {self.meta} VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
            [after, datetime.now(UTC).isoformat()],
        )
        return count

    def append(
        self, c: Cursor, ids: Sequence[int], stored: Sequence[StoredEvent]
    ) -> None:
        """Hash just-recorded events into the chain, through ``c``."""
        if not ids:
            return
        c.execute(
            f"SELECT log_hash FROM {self.table} ORDER BY notification_id DESC LIMIT 1"
        )
        last = c.fetchone()
        log = str(last["log_hash"]) if last is not None else LOG_START
        streams: dict[str, str] = {}
        rows = []
        for notification_id, event in zip(ids, stored, strict=True):
            originator = str(event.originator_id)
            previous = streams.get(originator)
            if previous is None:
                previous = self._stream_head(c, originator, event.originator_version)
            hashed = event_hash(
                originator, event.originator_version, event.topic, bytes(event.state)
            )
            stream = stream_hash(previous, hashed)
            log = log_hash(log, notification_id, stream)
            streams[originator] = stream
            rows.append(
                (
                    notification_id,
                    originator,
                    event.originator_version,
                    event.topic,
                    hashed,
                    stream,
                    log,
                )
            )
        # One statement, not executemany: on PostgreSQL this runs in pipeline
        # mode, where a fetch right after an executemany can be handed the
        # insert's status instead of its own rows.
        # Chunks keep within SQLite's bound on parameters per statement.
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            c.execute(
                f"INSERT INTO {self.table} VALUES {marks}",
                [value for row in chunk for value in row],
            )

    def _stream_head(self, c: Cursor, originator: str, version: int) -> str:
        c.execute(
            f"SELECT stream_hash FROM {self.table}"
            " WHERE originator_id = ? AND originator_version = ?",
            [originator, version - 1],
        )
        row = c.fetchone()
        return str(row["stream_hash"]) if row is not None else stream_start(originator)

    # -- reading ---------------------------------------------------------------------

    def checkpoint(self) -> int | None:
        """The last event recorded before the chain began (0: none).

        ``None`` when the chain has not begun: a store from an earlier
        release opened read-only, before any writable opening hashed it.
        """
        try:
            with self.backend.read() as c:
                c.execute(f"SELECT checkpoint FROM {self.meta} WHERE id = 1")
                row = c.fetchone()
        except Exception:
            return None
        return int(row["checkpoint"]) if row is not None else None

    def records(self) -> Iterator[ChainRecord]:
        """Every chain row, in notification order, read in batches."""
        if self.checkpoint() is None:
            return
        yield from self._records()

    def _records(self) -> Iterator[ChainRecord]:
        # From the lowest id, whatever it is: a row put in by hand below 1
        # is read (and then fails to check) rather than skipped.
        after: int | None = None
        while True:
            with self.backend.read() as c:
                if after is None:
                    c.execute(
                        f"SELECT * FROM {self.table} ORDER BY notification_id LIMIT ?",
                        [_BATCH],
                    )
                else:
                    c.execute(
                        f"SELECT * FROM {self.table} WHERE notification_id > ?"
                        " ORDER BY notification_id LIMIT ?",
                        [after, _BATCH],
                    )
                rows: list[Any] = c.fetchall()
            if not rows:
                return
            for r in rows:
                yield ChainRecord(
                    int(r["notification_id"]),
                    str(r["originator_id"]),
                    int(r["originator_version"]),
                    str(r["topic"]),
                    str(r["event_hash"]),
                    str(r["stream_hash"]),
                    str(r["log_hash"]),
                )
            after = int(rows[-1]["notification_id"])
