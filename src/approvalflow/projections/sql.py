"""Read models in SQL tables beside the events (SQLite or PostgreSQL).

Tables carry a generation prefix (``af1_documents``, ...). The table
``approvalflow_views`` names the generation readers use; a rebuild fills the
next generation beside the live one and switches by updating that row, so
readers never see a half-built view. The SQL is the same on both databases
(:mod:`approvalflow.sqlbackend`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteDatastore

from approvalflow.domain.aggregate import approval_request_id
from approvalflow.domain.values import ApprovalState, ReminderPolicy
from approvalflow.persistence import converter
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
from approvalflow.sqlbackend import (
    Cursor,
    PostgresBackend,
    SQLBackend,
    SQLiteBackend,
    parse_time,
    time_text,
)

__all__ = ["TABLES", "PostgresViewStore", "SQLViewStore", "SQLiteViewStore"]

_REBUILD_BATCH = 500

#: Table definitions; ``{p}`` is the generation's prefix.
TABLES = (
    "CREATE TABLE IF NOT EXISTS {p}tracking ("
    " view {text} NOT NULL, application_name {text} NOT NULL,"
    " notification_id BIGINT NOT NULL,"
    " PRIMARY KEY (view, application_name)) {without_rowid}",
    "CREATE TABLE IF NOT EXISTS {p}documents ("
    " record_id {text} PRIMARY KEY, document_id {text} NOT NULL,"
    " account_id {text} NOT NULL, name {text} NOT NULL, file_type {text} NOT NULL,"
    " uploaded_by {text} NOT NULL, description {text}, state {text} NOT NULL,"
    " pending_payment BIGINT NOT NULL, invoice_id {text}, cycle BIGINT,"
    " requested_at {text}, rejected_at {text}, last_activity_at {text} NOT NULL,"
    " last_activity {text} NOT NULL, reminder_days BIGINT, reminder_count BIGINT,"
    " next_reminder_at {text}) {without_rowid}",
    "CREATE INDEX IF NOT EXISTS {i}documents_due"
    " ON {p}documents (next_reminder_at, document_id)",
    "CREATE INDEX IF NOT EXISTS {i}documents_recent"
    " ON {p}documents (last_activity_at, document_id)",
    "CREATE INDEX IF NOT EXISTS {i}documents_account_recent"
    " ON {p}documents (account_id, last_activity_at, document_id)",
    "CREATE INDEX IF NOT EXISTS {i}documents_account_requested"
    " ON {p}documents (account_id, requested_at, document_id)",
    "CREATE INDEX IF NOT EXISTS {i}documents_state_account"
    " ON {p}documents (state, account_id)",
    "CREATE TABLE IF NOT EXISTS {p}document_accounts ("
    " account_id {text} NOT NULL, document_id {text} NOT NULL,"
    " PRIMARY KEY (account_id, document_id)) {without_rowid}",
    "CREATE TABLE IF NOT EXISTS {p}rejections ("
    " record_id {text} NOT NULL, cycle BIGINT NOT NULL, rejected_at {text} NOT NULL,"
    " by_user_id {text} NOT NULL, by_name {text} NOT NULL, reasons {text} NOT NULL,"
    " comment {text}, PRIMARY KEY (record_id, cycle)) {without_rowid}",
    "CREATE TABLE IF NOT EXISTS {p}audit ("
    " record_id {text} NOT NULL, version BIGINT NOT NULL, at {text} NOT NULL,"
    " event {text} NOT NULL, actor_id {text}, actor_name {text}, actor_role {text},"
    " details {text} NOT NULL, summary {text} NOT NULL,"
    " PRIMARY KEY (record_id, version)) {without_rowid}",
)
_TABLE_NAMES = ("tracking", "documents", "document_accounts", "rejections", "audit")
#: Raised whenever TABLES change: a store opened on older tables rebuilds them.
SCHEMA_VERSION = 2
_META = (
    "CREATE TABLE IF NOT EXISTS {meta} ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL,"
    " schema_version BIGINT NOT NULL)"
)
_UPSERT = ", ".join(
    f"{column} = excluded.{column}"
    for column in (
        "document_id", "account_id", "name", "file_type", "uploaded_by",
        "description", "state", "pending_payment", "invoice_id", "cycle",
        "requested_at", "rejected_at", "last_activity_at", "last_activity",
        "reminder_days", "reminder_count", "next_reminder_at",
    )
)  # fmt: skip
_DOCUMENT_COLUMNS = (
    "document_id, account_id, name, file_type, uploaded_by, description, state,"
    " pending_payment, invoice_id, cycle, requested_at, rejected_at,"
    " last_activity_at, last_activity, reminder_days, reminder_count, next_reminder_at"
)


class SQLViewStore:
    """The read models in SQL tables beside eventsourcing's."""

    def __init__(self, backend: SQLBackend) -> None:
        self.backend = backend
        self.meta = f"{backend.prefix}approvalflow_views"
        with backend.write() as c:
            backend.serialize_ddl(c)
            c.execute(_META.format(meta=self.meta))
            c.execute(
                f"INSERT INTO {self.meta} VALUES (1, 1, ?) ON CONFLICT DO NOTHING",
                [SCHEMA_VERSION],
            )
            c.execute(f"SELECT schema_version FROM {self.meta} WHERE id = 1")
            #: True when the live tables were made by an older release: the
            #: application rebuilds them (read models can always be rebuilt).
            self.needs_rebuild = int(c.fetchone()["schema_version"]) != SCHEMA_VERSION
            if not self.needs_rebuild:
                self._create_tables(c, self._generation(c))

    # -- transactions ----------------------------------------------------------

    def _prefix(self, generation: int) -> str:
        return f"{self.backend.prefix}af{generation}_"

    @contextmanager
    def _write(self) -> Iterator[tuple[Cursor, str]]:
        with self.backend.write() as c:
            yield c, self._prefix(self._generation(c))

    @contextmanager
    def _read(self) -> Iterator[tuple[Cursor, str]]:
        with self.backend.read() as c:
            yield c, self._prefix(self._generation(c))

    def _generation(self, c: Cursor) -> int:
        c.execute(f"SELECT generation FROM {self.meta} WHERE id = 1")
        return int(c.fetchone()["generation"])

    def _create_tables(self, c: Cursor, generation: int) -> None:
        for statement in TABLES:
            c.execute(
                statement.format(
                    p=self._prefix(generation),
                    i=f"af{generation}_",  # index names take no schema
                    text=self.backend.text,
                    without_rowid=self.backend.without_rowid,
                )
            )

    # -- writing -----------------------------------------------------------------

    def position(self, view: str, application_name: str) -> int:
        """The last notification id applied to ``view``."""
        with self._read() as (c, p):
            return _position(c, p, view, application_name)

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
        with self._write() as (c, p):
            _apply(
                c,
                p,
                view=view,
                application_name=application_name,
                expected=expected,
                items=items,
            )

    # -- queries ---------------------------------------------------------------

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
        sql, params = _recent_query(since, account_id, filters, after, limit)
        return self._page(sql, params, limit, lambda r: r.last_activity_at)

    def approvals_tab(
        self,
        *,
        account_id: str,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Page:
        """The account's requested documents, latest request first."""
        sql, params = _tab_query(account_id, filters, after, limit)

        def key(row: DocumentRow) -> datetime:
            assert row.requested_at is not None
            return row.requested_at

        return self._page(sql, params, limit, key)

    def _page(self, sql: str, params: list[Any], limit: int, key: Any) -> Page:
        with self._read() as (c, p):
            c.execute(sql.format(p=p), params)
            rows = [_document_row(r) for r in c.fetchall()]
        page = rows[:limit]
        more = len(rows) > limit
        cursor = encode_cursor(key(page[-1]), page[-1].document_id) if more else None
        return Page(tuple(page), cursor)

    def accounts_pending(self) -> list[tuple[str, int]]:
        """Accounts with documents pending approval, with counts."""
        with self._read() as (c, p):
            c.execute(SQL_ACCOUNTS_PENDING.format(p=p), [ApprovalState.PENDING.value])
            return [(r["account_id"], int(r["pending"])) for r in c.fetchall()]

    def document(self, document_id: str) -> DocumentRow | None:
        """The document's row."""
        with self._read() as (c, p):
            c.execute(SQL_DOCUMENT.format(p=p), [approval_request_id(document_id).hex])
            row = c.fetchone()
        return _document_row(row) if row else None

    def documents_ever_in(self, account_id: str) -> list[str]:
        """Documents ever filed under the account."""
        with self._read() as (c, p):
            c.execute(SQL_DOCUMENTS_EVER_IN.format(p=p), [account_id])
            return [r["document_id"] for r in c.fetchall()]

    def rejections(self, document_id: str) -> tuple[RejectionRow, ...]:
        """The document's rejections, oldest first."""
        with self._read() as (c, p):
            c.execute(
                SQL_REJECTIONS.format(p=p), [approval_request_id(document_id).hex]
            )
            rows = c.fetchall()
        return tuple(
            RejectionRow(
                document_id=document_id,
                cycle=r["cycle"],
                rejected_at=datetime.fromisoformat(r["rejected_at"]),
                by_user_id=r["by_user_id"],
                by_name=r["by_name"],
                reasons=tuple(json.loads(r["reasons"])),
                comment=r["comment"],
            )
            for r in rows
        )

    def audit(self, document_id: str) -> tuple[AuditRow, ...]:
        """The document's audit trail."""
        with self._read() as (c, p):
            c.execute(SQL_AUDIT.format(p=p), [approval_request_id(document_id).hex])
            rows = c.fetchall()
        return tuple(
            AuditRow(
                document_id=document_id,
                version=r["version"],
                at=datetime.fromisoformat(r["at"]),
                event=r["event"],
                actor_id=r["actor_id"],
                actor_name=r["actor_name"],
                actor_role=r["actor_role"],
                details=json.loads(r["details"]),
                summary=r["summary"],
            )
            for r in rows
        )

    # -- operations --------------------------------------------------------------

    def rebuild(
        self, application_name: str, source: EventSource, progress: Progress
    ) -> int:
        """Fill the next generation's tables from all events, then switch."""
        with self.backend.write() as c:
            self.backend.serialize_ddl(c)
            live = self._generation(c)
            fresh = live + 1
            # A rebuild that crashed leaves its tables: start them afresh.
            for name in _TABLE_NAMES:
                c.execute(f"DROP TABLE IF EXISTS {self._prefix(fresh)}{name}")
            self._create_tables(c, fresh)
        p, position, applied = self._prefix(fresh), 0, 0

        def apply_batch(c: Cursor, batch: Sequence[tuple[int, Any]]) -> int:
            for view in VIEW_NAMES:
                _apply(
                    c,
                    p,
                    view=view,
                    application_name=application_name,
                    expected=position,
                    items=batch,
                )
            return int(batch[-1][0])

        while batch := source(position, _REBUILD_BATCH):
            with self.backend.write() as c:
                position = apply_batch(c, batch)
            applied += len(batch)
            progress(applied)
        with self.backend.write() as c:
            # Events recorded meanwhile go in before the switch, in the same
            # transaction, so the new views are complete when readers see them.
            while tail := source(position, _REBUILD_BATCH):
                position = apply_batch(c, tail)
                applied += len(tail)
            c.execute(
                f"UPDATE {self.meta} SET generation = ?, schema_version = ?"
                " WHERE id = 1",
                [fresh, SCHEMA_VERSION],
            )
            for name in _TABLE_NAMES:
                c.execute(f"DROP TABLE IF EXISTS {self._prefix(live)}{name}")
        progress(applied)
        self.needs_rebuild = False
        return applied

    def due_reminders(self, now: datetime, limit: int) -> list[str]:
        """Documents whose next reminder is due at ``now``, most overdue first."""
        with self._read() as (c, p):
            c.execute(SQL_DUE.format(p=p), [time_text(now), limit])
            return [r["document_id"] for r in c.fetchall()]

    def query_plans(self) -> dict[str, list[str]]:
        """``EXPLAIN QUERY PLAN`` of every query this store runs (for tests)."""
        now = datetime.now(UTC)
        doc = approval_request_id("x").hex
        every = frozenset(StatusFilter) - {StatusFilter.ALL}
        queries = {
            "recent": _recent_query(now, None, frozenset(), None, 10),
            "recent, one account": _recent_query(now, "a", frozenset(), None, 10),
            "recent, filtered, next page": _recent_query(
                now, None, every, (now, "d"), 10
            ),
            "recent, one account, filtered, next page": _recent_query(
                now, "a", every, (now, "d"), 10
            ),
            "approvals tab": _tab_query("a", frozenset(), None, 10),
            "approvals tab, filtered, next page": _tab_query(
                "a", every, (now, "d"), 10
            ),
            "accounts pending": (SQL_ACCOUNTS_PENDING, [ApprovalState.PENDING.value]),
            "document": (SQL_DOCUMENT, [doc]),
            "documents ever in": (SQL_DOCUMENTS_EVER_IN, ["a"]),
            "due reminders": (SQL_DUE, [time_text(now), 10]),
            "rejections": (SQL_REJECTIONS, [doc]),
            "audit": (SQL_AUDIT, [doc]),
            "apply: document row": (SQL_DOCUMENT, [doc]),
        }
        plans: dict[str, list[str]] = {}
        with self._read() as (c, p):
            for label, (sql, params) in queries.items():
                c.execute("EXPLAIN QUERY PLAN " + sql.format(p=p), params)
                plans[label] = [str(r["detail"]) for r in c.fetchall()]
        return plans

    def close(self) -> None:
        """The datastore belongs to the application, which closes it."""


SQL_DOCUMENT = f"SELECT {_DOCUMENT_COLUMNS} FROM {{p}}documents WHERE record_id = ?"
SQL_DUE = (
    "SELECT document_id FROM {p}documents WHERE next_reminder_at <= ?"
    " ORDER BY next_reminder_at, document_id LIMIT ?"
)
SQL_ACCOUNTS_PENDING = (
    "SELECT account_id, COUNT(*) AS pending FROM {p}documents WHERE state = ?"
    " GROUP BY account_id ORDER BY account_id"
)
SQL_DOCUMENTS_EVER_IN = (
    "SELECT document_id FROM {p}document_accounts WHERE account_id = ?"
    " ORDER BY document_id"
)
SQL_REJECTIONS = (
    "SELECT cycle, rejected_at, by_user_id, by_name, reasons, comment"
    " FROM {p}rejections WHERE record_id = ? ORDER BY cycle"
)
SQL_AUDIT = (
    "SELECT version, at, event, actor_id, actor_name, actor_role, details, summary"
    " FROM {p}audit WHERE record_id = ? ORDER BY version"
)


def _recent_query(
    since: datetime,
    account_id: str | None,
    filters: frozenset[StatusFilter],
    after: tuple[datetime, str] | None,
    limit: int,
) -> tuple[str, list[Any]]:
    where, params = ["last_activity_at >= ?"], [time_text(since)]
    if account_id is not None:
        where.append("account_id = ?")
        params.append(account_id)
    _filter_clause(filters, where, params)
    _cursor_clause("last_activity_at", after, where, params)
    sql = (
        f"SELECT {_DOCUMENT_COLUMNS} FROM {{p}}documents"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY last_activity_at DESC, document_id DESC LIMIT ?"
    )
    return sql, [*params, limit + 1]


def _tab_query(
    account_id: str,
    filters: frozenset[StatusFilter],
    after: tuple[datetime, str] | None,
    limit: int,
) -> tuple[str, list[Any]]:
    where = ["account_id = ?", "requested_at IS NOT NULL", "state != ?"]
    params: list[Any] = [account_id, ApprovalState.NONE.value]
    _filter_clause(filters, where, params)
    _cursor_clause("requested_at", after, where, params)
    sql = (
        f"SELECT {_DOCUMENT_COLUMNS} FROM {{p}}documents"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY requested_at DESC, document_id DESC LIMIT ?"
    )
    return sql, [*params, limit + 1]


def _position(c: Cursor, p: str, view: str, application_name: str) -> int:
    c.execute(
        f"SELECT notification_id FROM {p}tracking"
        " WHERE view = ? AND application_name = ?",
        [view, application_name],
    )
    row = c.fetchone()
    return int(row["notification_id"]) if row else 0


def _apply(
    c: Cursor,
    p: str,
    *,
    view: str,
    application_name: str,
    expected: int | None,
    items: Sequence[tuple[int, Any]],
) -> None:
    first, last = items[0][0], items[-1][0]
    c.execute(
        f"INSERT INTO {p}tracking VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
        [view, application_name],
    )
    if expected is None:
        condition, bound = "notification_id < ?", first
    else:
        condition, bound = "notification_id = ?", expected
    c.execute(
        f"UPDATE {p}tracking SET notification_id = ?"
        f" WHERE view = ? AND application_name = ? AND {condition}",
        [last, view, application_name, bound],
    )
    if c.rowcount != 1:
        current = _position(c, p, view, application_name)
        msg = f"{view} is at {current}, not {expected}: events already applied"
        raise IntegrityError(msg)
    for _, event in items:
        _apply_one(c, p, view, event)


def _apply_one(c: Cursor, p: str, view: str, event: Any) -> None:
    if event is None:
        return  # a position moved on without an event (eventsourcing API)
    key = record_key(event)
    if view == "documents":
        c.execute(SQL_DOCUMENT.format(p=p), [key])
        found = c.fetchone()
        row = evolve_document(_document_row(found) if found else None, event)
        if row is None:
            return
        c.execute(
            f"INSERT INTO {p}documents VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (record_id) DO UPDATE SET {_UPSERT}",
            [
                key,
                row.document_id,
                row.account_id,
                row.name,
                row.file_type,
                row.uploaded_by,
                row.description,
                row.state.value,
                int(row.pending_payment),
                row.invoice_id,
                row.cycle,
                time_text(row.requested_at),
                time_text(row.rejected_at),
                time_text(row.last_activity_at),
                row.last_activity,
                row.reminders.days_before_next if row.reminders else None,
                row.reminders.count if row.reminders else None,
                time_text(row.next_reminder_at),
            ],
        )
        c.execute(
            f"INSERT INTO {p}document_accounts VALUES (?, ?) ON CONFLICT DO NOTHING",
            [row.account_id, row.document_id],
        )
    elif view == "rejections":
        rejection = rejection_row(key, event)
        if rejection is not None:
            c.execute(
                f"INSERT INTO {p}rejections VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    key,
                    rejection.cycle,
                    time_text(rejection.rejected_at),
                    rejection.by_user_id,
                    rejection.by_name,
                    json.dumps(list(rejection.reasons), ensure_ascii=False),
                    rejection.comment,
                ],
            )
    else:
        line = audit_row(key, event)
        c.execute(
            f"INSERT INTO {p}audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                line.version,
                time_text(line.at),
                line.event,
                line.actor_id,
                line.actor_name,
                line.actor_role,
                json.dumps(line.details, ensure_ascii=False, sort_keys=True),
                line.summary,
            ],
        )


def _filter_clause(
    filters: frozenset[StatusFilter], where: list[str], params: list[Any]
) -> None:
    if not filters or StatusFilter.ALL in filters:
        return
    parts = []
    if StatusFilter.PENDING_PAYMENT in filters:
        parts.append("pending_payment = 1")
    states = [f.value for f in filters if f is not StatusFilter.PENDING_PAYMENT]
    if states:
        parts.append(f"state IN ({', '.join('?' * len(states))})")
        params.extend(states)
    where.append(f"({' OR '.join(parts)})")


def _cursor_clause(
    column: str, after: tuple[datetime, str] | None, where: list[str], params: list[Any]
) -> None:
    if after is None:
        return
    at, document_id = after
    # The upper bound keeps the index range tight; the OR breaks ties on time.
    where.append(f"{column} <= ?")
    where.append(f"({column} < ? OR document_id < ?)")
    params.extend([time_text(at), time_text(at), document_id])


def _document_row(r: Any) -> DocumentRow:
    last = parse_time(r["last_activity_at"])
    assert last is not None
    return DocumentRow(
        document_id=r["document_id"],
        account_id=r["account_id"],
        name=r["name"],
        file_type=r["file_type"],
        uploaded_by=r["uploaded_by"],
        description=r["description"],
        state=ApprovalState(r["state"]),
        pending_payment=bool(r["pending_payment"]),
        invoice_id=r["invoice_id"],
        cycle=r["cycle"],
        requested_at=parse_time(r["requested_at"]),
        rejected_at=parse_time(r["rejected_at"]),
        last_activity_at=last,
        last_activity=r["last_activity"],
        reminders=(
            _stored_policy(r["reminder_days"], r["reminder_count"])
            if r["reminder_days"] is not None
            else None
        ),
        next_reminder_at=parse_time(r["next_reminder_at"]),
    )


def _stored_policy(days: int, count: int) -> ReminderPolicy:
    # Read back as stored, without re-validating (bounds may change later).
    policy: ReminderPolicy = converter.structure(
        {"days_before_next": days, "count": count}, ReminderPolicy
    )
    return policy


class SQLiteViewStore(SQLViewStore):
    """The read models in the SQLite file of the events."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(SQLiteBackend(datastore))


class PostgresViewStore(SQLViewStore):
    """The read models in the PostgreSQL database (and schema) of the events."""

    def __init__(self, datastore: Any) -> None:
        super().__init__(PostgresBackend(datastore))
