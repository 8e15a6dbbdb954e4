"""Delivery bookkeeping in SQLite, in the same file as the events."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from approvalflow.notifications.outbox import Backlog, PlannedDelivery

__all__ = ["SQLiteDeliveryStore"]

_TABLES = (
    "CREATE TABLE IF NOT EXISTS approvalflow_delivery_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL,"
    " lease_holder TEXT, lease_until TEXT)",
    "INSERT OR IGNORE INTO approvalflow_delivery_state VALUES (1, 0, NULL, NULL)",
    "CREATE TABLE IF NOT EXISTS approvalflow_deliveries ("
    " notification_id INTEGER NOT NULL, seq INTEGER NOT NULL, channel TEXT NOT NULL,"
    " kind TEXT NOT NULL, recipient_id TEXT NOT NULL, recipient_name TEXT NOT NULL,"
    " address TEXT NOT NULL, language TEXT, status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, next_attempt_at TEXT, done_at TEXT, last_error TEXT,"
    " PRIMARY KEY (notification_id, seq)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS approvalflow_deliveries_status"
    " ON approvalflow_deliveries (status, notification_id)",
)
_COLUMNS = (
    "notification_id, seq, channel, kind, recipient_id, recipient_name, address,"
    " language, status, attempts, next_attempt_at, done_at, last_error"
)


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SQLiteDeliveryStore:
    """Delivery position, plans and lease in SQLite tables."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore
        with self._write() as c:
            for statement in _TABLES:
                c.execute(statement)

    @contextmanager
    def _write(self) -> Iterator[SQLiteCursor]:
        # BEGIN IMMEDIATE: queue for the write lock rather than fail later.
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield cursor
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def acquire(self, worker: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease."""
        with self._write() as c:
            c.execute(
                "UPDATE approvalflow_delivery_state"
                " SET lease_holder = ?, lease_until = ?"
                " WHERE id = 1 AND (lease_holder IS NULL OR lease_holder = ?"
                " OR lease_until <= ?)",
                [worker, _time(until), worker, _time(now)],
            )
            return bool(c.sqlite_cursor.rowcount == 1)

    def release(self, worker: str) -> None:
        """Give the lease up."""
        with self._write() as c:
            c.execute(
                "UPDATE approvalflow_delivery_state SET lease_holder = NULL,"
                " lease_until = NULL WHERE id = 1 AND lease_holder = ?",
                [worker],
            )

    def position(self) -> int:
        """The last notification id fully delivered."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT position FROM approvalflow_delivery_state WHERE id = 1")
            return int(c.fetchone()[0])

    def advance(self, expected: int, to: int) -> bool:
        """Compare-and-set the position."""
        with self._write() as c:
            c.execute(
                "UPDATE approvalflow_delivery_state SET position = ?"
                " WHERE id = 1 AND position = ?",
                [to, expected],
            )
            return bool(c.sqlite_cursor.rowcount == 1)

    def planned(self, notification_id: int) -> list[PlannedDelivery] | None:
        """The event's deliveries, in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {_COLUMNS} FROM approvalflow_deliveries"
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
                    "INSERT OR IGNORE INTO approvalflow_deliveries VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _values(d),
                )

    def update(self, delivery: PlannedDelivery) -> None:
        """Record a delivery's new status."""
        with self._write() as c:
            c.execute(
                "UPDATE approvalflow_deliveries SET status = ?, attempts = ?,"
                " next_attempt_at = ?, done_at = ?, last_error = ?"
                " WHERE notification_id = ? AND seq = ?",
                [
                    delivery.status,
                    delivery.attempts,
                    _time(delivery.next_attempt_at),
                    _time(delivery.done_at),
                    delivery.last_error,
                    delivery.notification_id,
                    delivery.seq,
                ],
            )

    def backlog(self, head: int) -> Backlog:
        """The state of deliveries."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, lease_holder, lease_until"
                " FROM approvalflow_delivery_state WHERE id = 1"
            )
            state = c.fetchone()
            found: dict[str, list[PlannedDelivery]] = {}
            for status in ("pending", "refused"):
                c.execute(
                    f"SELECT {_COLUMNS} FROM approvalflow_deliveries"
                    " WHERE status = ? ORDER BY notification_id, seq",
                    [status],
                )
                found[status] = [_row(r) for r in c.fetchall()]
        return Backlog(
            position=int(state["position"]),
            head=head,
            waiting=tuple(found["pending"]),
            refused=tuple(found["refused"]),
            lease_holder=state["lease_holder"],
            lease_until=_parse(state["lease_until"]),
        )


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
        _time(d.next_attempt_at),
        _time(d.done_at),
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
        next_attempt_at=_parse(r["next_attempt_at"]),
        done_at=_parse(r["done_at"]),
        last_error=r["last_error"],
    )
