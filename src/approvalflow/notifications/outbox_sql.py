"""Delivery bookkeeping in SQL tables beside the events (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.sqlite import SQLiteDatastore

from approvalflow.notifications.outbox import Backlog, PlannedDelivery
from approvalflow.sqlbackend import (
    PostgresBackend,
    SQLBackend,
    SQLiteBackend,
    parse_time,
    time_text,
)

__all__ = ["PostgresDeliveryStore", "SQLDeliveryStore", "SQLiteDeliveryStore"]

_TABLES = (
    "CREATE TABLE IF NOT EXISTS {p}approvalflow_delivery_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), position BIGINT NOT NULL,"
    " lease_holder {text}, lease_until {text})",
    "INSERT INTO {p}approvalflow_delivery_state VALUES (1, 0, NULL, NULL)"
    " ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS {p}approvalflow_deliveries ("
    " notification_id BIGINT NOT NULL, seq BIGINT NOT NULL, channel {text} NOT NULL,"
    " kind {text} NOT NULL, recipient_id {text} NOT NULL,"
    " recipient_name {text} NOT NULL, address {text} NOT NULL, language {text},"
    " status {text} NOT NULL, attempts BIGINT NOT NULL, next_attempt_at {text},"
    " done_at {text}, last_error {text},"
    " PRIMARY KEY (notification_id, seq)){without_rowid}",
    "CREATE INDEX IF NOT EXISTS approvalflow_deliveries_status"
    " ON {p}approvalflow_deliveries (status, notification_id)",
)
_COLUMNS = (
    "notification_id, seq, channel, kind, recipient_id, recipient_name, address,"
    " language, status, attempts, next_attempt_at, done_at, last_error"
)


class SQLDeliveryStore:
    """Delivery position, plans and lease in SQL tables."""

    def __init__(self, backend: SQLBackend, *, read_only: bool = False) -> None:
        self.backend = backend
        self.state = f"{backend.prefix}approvalflow_delivery_state"
        self.table = f"{backend.prefix}approvalflow_deliveries"
        #: True for a read-only store no worker ever delivered from: its
        #: tables do not exist, and reads answer as for an empty one.
        self.absent = False
        if self._ready():
            return  # opened with a read: no write lock, and read-only copies work
        if read_only:
            self.absent = True
            return
        with backend.write() as c:
            backend.serialize_ddl(c)
            for statement in _TABLES:
                c.execute(
                    statement.format(
                        p=backend.prefix,
                        text=backend.text,
                        without_rowid=backend.without_rowid,
                    )
                )

    def _ready(self) -> bool:
        try:
            with self.backend.read() as c:
                c.execute(f"SELECT position FROM {self.state} WHERE id = 1")
                row = c.fetchone()
                c.execute(f"SELECT 1 FROM {self.table} LIMIT 1")
                c.fetchall()
        except Exception:
            return False
        return row is not None

    def _write(self) -> Any:
        return self.backend.write()

    def _read(self) -> Any:
        return self.backend.read()

    def acquire(self, worker: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease."""
        with self._write() as c:
            c.execute(
                f"UPDATE {self.state}"
                " SET lease_holder = ?, lease_until = ?"
                " WHERE id = 1 AND (lease_holder IS NULL OR lease_holder = ?"
                " OR lease_until <= ?)",
                [worker, time_text(until), worker, time_text(now)],
            )
            return bool(c.rowcount == 1)

    def renew(self, worker: str, until: datetime) -> bool:
        """Extend the lease ``worker`` holds."""
        with self._write() as c:
            c.execute(
                f"UPDATE {self.state} SET lease_until = ?"
                " WHERE id = 1 AND lease_holder = ?",
                [time_text(until), worker],
            )
            return bool(c.rowcount == 1)

    def release(self, worker: str) -> None:
        """Give the lease up."""
        with self._write() as c:
            c.execute(
                f"UPDATE {self.state} SET lease_holder = NULL,"
                " lease_until = NULL WHERE id = 1 AND lease_holder = ?",
                [worker],
            )

    def position(self) -> int:
        """The last notification id fully delivered."""
        if self.absent:
            return 0
        with self._read() as c:
            c.execute(f"SELECT position FROM {self.state} WHERE id = 1")
            return int(c.fetchone()["position"])

    def advance(self, expected: int, to: int) -> bool:
        """Compare-and-set the position."""
        with self._write() as c:
            c.execute(
                f"UPDATE {self.state} SET position = ? WHERE id = 1 AND position = ?",
                [to, expected],
            )
            return bool(c.rowcount == 1)

    def planned(self, notification_id: int) -> list[PlannedDelivery] | None:
        """The event's deliveries, in order."""
        if self.absent:
            return None
        with self._read() as c:
            c.execute(
                f"SELECT {_COLUMNS} FROM {self.table}"
                " WHERE notification_id = ? ORDER BY seq",
                [notification_id],
            )
            rows = c.fetchall()
        return [_row(r) for r in rows] if rows else None

    def plan(self, deliveries: Sequence[PlannedDelivery]) -> None:
        """Record an event's deliveries (ignored if already planned)."""
        with self._write() as c:
            for d in deliveries:
                c.execute(
                    f"INSERT INTO {self.table} VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    _values(d),
                )

    def update(self, delivery: PlannedDelivery) -> None:
        """Record a delivery's new status, and where it went.

        A retry goes to the recipient's current address: the record says so.
        """
        with self._write() as c:
            c.execute(
                f"UPDATE {self.table} SET status = ?, attempts = ?,"
                " next_attempt_at = ?, done_at = ?, last_error = ?,"
                " recipient_name = ?, address = ?, language = ?"
                " WHERE notification_id = ? AND seq = ?",
                [
                    delivery.status,
                    delivery.attempts,
                    time_text(delivery.next_attempt_at),
                    time_text(delivery.done_at),
                    delivery.last_error,
                    delivery.recipient_name,
                    delivery.address,
                    delivery.language,
                    delivery.notification_id,
                    delivery.seq,
                ],
            )

    def backlog(self, head: int) -> Backlog:
        """The state of deliveries."""
        if self.absent:
            return Backlog(0, head, (), (), None, None)
        with self._read() as c:
            c.execute(
                "SELECT position, lease_holder, lease_until"
                f" FROM {self.state} WHERE id = 1"
            )
            state = c.fetchone()
            found: dict[str, list[PlannedDelivery]] = {}
            for status in ("pending", "refused", "retry"):
                c.execute(
                    f"SELECT {_COLUMNS} FROM {self.table}"
                    " WHERE status = ? ORDER BY notification_id, seq",
                    [status],
                )
                found[status] = [_row(r) for r in c.fetchall()]
        waiting = sorted(
            found["pending"] + found["retry"], key=lambda d: (d.notification_id, d.seq)
        )
        return Backlog(
            position=int(state["position"]),
            head=head,
            waiting=tuple(waiting),
            refused=tuple(found["refused"]),
            lease_holder=state["lease_holder"],
            lease_until=parse_time(state["lease_until"]),
        )

    def requeue(self, notification_id: int | None = None) -> int:
        """Mark refused deliveries (of one event, or all) for another try."""
        where = "" if notification_id is None else " AND notification_id = ?"
        with self._write() as c:
            c.execute(
                f"UPDATE {self.table} SET status = 'retry', done_at = NULL"
                f" WHERE status = 'refused'{where}",
                [] if notification_id is None else [notification_id],
            )
            return int(c.rowcount)

    def retries(self) -> list[PlannedDelivery]:
        """Deliveries marked for another try, oldest first."""
        if self.absent:
            return []
        with self._read() as c:
            c.execute(
                f"SELECT {_COLUMNS} FROM {self.table}"
                " WHERE status = 'retry' ORDER BY notification_id, seq"
            )
            return [_row(r) for r in c.fetchall()]


def _values(d: PlannedDelivery) -> list[Any]:
    return [
        d.notification_id,
        d.seq,
        d.channel,
        d.kind,
        d.recipient_id,
        d.recipient_name,
        d.address,
        d.language,
        d.status,
        d.attempts,
        time_text(d.next_attempt_at),
        time_text(d.done_at),
        d.last_error,
    ]


def _row(r: sqlite3.Row) -> PlannedDelivery:
    return PlannedDelivery(
        notification_id=r["notification_id"],
        seq=r["seq"],
        channel=r["channel"],
        kind=r["kind"],
        recipient_id=r["recipient_id"],
        recipient_name=r["recipient_name"],
        address=r["address"],
        language=r["language"],
        status=r["status"],
        attempts=r["attempts"],
        next_attempt_at=parse_time(r["next_attempt_at"]),
        done_at=parse_time(r["done_at"]),
        last_error=r["last_error"],
    )


class SQLiteDeliveryStore(SQLDeliveryStore):
    """Delivery bookkeeping in the SQLite file of the events."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(SQLiteBackend(datastore))


class PostgresDeliveryStore(SQLDeliveryStore):
    """Delivery bookkeeping in the PostgreSQL database of the events."""

    def __init__(self, datastore: Any) -> None:
        super().__init__(PostgresBackend(datastore))
