"""The ``documents`` read model: one row per document, behind every list.

It serves the recent list, a client's Approvals tab, each
document's status, the due-reminders index and the accounts a document
was ever filed under (for "as of" questions). The same fold answers time
travel straight from the events (:func:`fold_document`).

Every list is served by an index in the list's own order: one index per
(scope, filter, order), and a list with several filters merges one
index-ordered branch per filter (``UNION ALL``), each branch limited to the
page, so a page costs the same at 10,000 or 1,000,000 documents.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs

from approvalflow.domain.aggregate import ApprovalRequest, approval_request_id
from approvalflow.domain.errors import InvalidInputError
from approvalflow.domain.reminders import in_zone, next_reminder_at, schedule_zone
from approvalflow.domain.values import (
    ApprovalState,
    ReminderPolicy,
    as_recorded_before_working_day_counting,
)
from approvalflow.persistence import converter
from approvalflow.readmodels.base import ReadModel, Tx
from approvalflow.sqlbackend import Cursor, parse_time, time_text

__all__ = [
    "RECENT_WINDOW",
    "DocumentRow",
    "DocumentsModel",
    "Page",
    "StatusFilter",
    "check_filters",
    "decode_cursor",
    "encode_cursor",
    "fold_document",
    "record_key",
]

#: How far back the recent list looks.
RECENT_WINDOW = timedelta(days=30)

E = ApprovalRequest


class StatusFilter(enum.StrEnum):
    """The recent list's and the Approvals tab's filters."""

    ALL = "all"
    PENDING_PAYMENT = "pending_payment"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


@attrs.frozen
class DocumentRow:
    """One document as the lists show it."""

    document_id: str
    account_id: str
    name: str
    file_type: str
    uploaded_by: str
    description: str | None
    state: ApprovalState
    pending_payment: bool
    invoice_id: str | None
    #: The latest cycle's number (``None``: never requested).
    cycle: int | None
    #: When approval was last requested.
    requested_at: datetime | None
    #: When the latest cycle was rejected (``None`` unless it was).
    rejected_at: datetime | None
    #: The latest activity that puts the document in the recent list.
    last_activity_at: datetime
    #: What that activity was: ``requested``, ``approved``, ``uploaded``, ...
    last_activity: str
    #: The pending request's reminder settings (``None``: reminders off).
    reminders: ReminderPolicy | None = None
    #: When the next automatic reminder falls due (the due-reminders index).
    next_reminder_at: datetime | None = None

    @property
    def next_reminder_local(self) -> datetime | None:
        """The next reminder in the time zone of its schedule (the client's hours)."""
        return in_zone(self.next_reminder_at, schedule_zone(self.reminders))

    @property
    def awaits_or_has_decision(self) -> bool:
        """Whether it belongs on the client's Approvals tab."""
        return self.state is not ApprovalState.NONE

    def matches(self, filters: frozenset[StatusFilter]) -> bool:
        """Whether the row passes any of the filters (none or ALL: all pass)."""
        if not filters or StatusFilter.ALL in filters:
            return True
        return (StatusFilter.PENDING_PAYMENT in filters and self.pending_payment) or (
            StatusFilter(self.state.value) in filters
            if self.state is not ApprovalState.NONE
            else False
        )


@attrs.frozen
class Page:
    """One page of a list, and the cursor to pass for the next one."""

    rows: tuple[DocumentRow, ...]
    #: Pass as ``after=`` to get the next page; ``None`` on the last page.
    next_cursor: str | None


# -- the fold ------------------------------------------------------------------

# Events that count as activity on the document. Reminders are sent by
# approvalflow itself and do not make a document "actively used".
_ACTIVITY: dict[type, str] = {
    E.Requested: "requested",
    E.Resent: "resent",
    E.Approved: "approved",
    E.Rejected: "rejected",
    E.Cancelled: "cancelled",
    E.LockedToInvoice: "locked_to_invoice",
    E.InvoicePaid: "invoice_paid",
}


class _Doc:
    """A document's row while events are folded into it (mutable, for speed)."""

    __slots__ = (
        "account_id",
        "cycle",
        "description",
        "document_id",
        "file_type",
        "invoice_id",
        "last_activity",
        "last_activity_at",
        "last_contact_at",
        "name",
        "pending_payment",
        "policy",
        "rejected_at",
        "reminders_in_schedule",
        "requested_at",
        "state",
        "uploaded_by",
    )

    def __init__(self, facts: Any, at: datetime) -> None:
        self.document_id: str = facts.document_id
        self.account_id: str = facts.account_id
        self.name: str = facts.name
        self.file_type: str = facts.file_type
        self.uploaded_by: str = facts.uploaded_by
        self.description: str | None = facts.description
        self.state = ApprovalState.NONE
        self.pending_payment = False
        self.invoice_id: str | None = None
        self.cycle: int | None = None
        self.requested_at: datetime | None = None
        self.rejected_at: datetime | None = None
        self.last_activity_at = at
        self.last_activity = ""
        self.policy: ReminderPolicy | None = None
        self.last_contact_at: datetime | None = None
        self.reminders_in_schedule = 0

    @property
    def next_reminder_at(self) -> datetime | None:
        # The aggregate's own rule, fed the same facts.
        return next_reminder_at(
            pending=self.state is ApprovalState.PENDING,
            policy=self.policy,
            last_contact_at=self.last_contact_at,
            sent_in_schedule=self.reminders_in_schedule,
        )

    def row(self) -> DocumentRow:
        return DocumentRow(
            document_id=self.document_id,
            account_id=self.account_id,
            name=self.name,
            file_type=self.file_type,
            uploaded_by=self.uploaded_by,
            description=self.description,
            state=self.state,
            pending_payment=self.pending_payment,
            invoice_id=self.invoice_id,
            cycle=self.cycle,
            requested_at=self.requested_at,
            rejected_at=self.rejected_at,
            last_activity_at=self.last_activity_at,
            last_activity=self.last_activity,
            reminders=self.policy,
            next_reminder_at=self.next_reminder_at,
        )


def _evolve(doc: _Doc | None, event: Any) -> _Doc | None:  # noqa: PLR0912 - one case per event class
    """Fold one event into ``doc`` (in place); ``None`` until facts are known."""
    facts = getattr(event, "document", None)
    if doc is None:
        if facts is None:
            return None  # Created, or an event without facts: nothing to show yet
        doc = _Doc(facts, event.timestamp)
    elif facts is not None:
        doc.account_id = facts.account_id
        doc.name = facts.name
        doc.file_type = facts.file_type
        doc.uploaded_by = facts.uploaded_by
        doc.description = facts.description
    at = event.timestamp
    match event:
        case E.Requested():
            doc.state = ApprovalState.PENDING
            doc.cycle = event.cycle
            doc.requested_at = at
            doc.rejected_at = None
            doc.policy = event.reminders
            doc.last_contact_at = at
            doc.reminders_in_schedule = 0
        case E.Resent():
            # A resend starts a new schedule under the policy it carries.
            doc.policy = event.reminders
            doc.last_contact_at = at
            doc.reminders_in_schedule = 0
        case E.Reminded():
            doc.last_contact_at = at
            doc.reminders_in_schedule = event.number
        case E.Approved():
            doc.state = ApprovalState.APPROVED
        case E.Rejected():
            doc.state = ApprovalState.REJECTED
            doc.rejected_at = at
        case E.Cancelled():
            doc.state = ApprovalState.NONE
        case E.LockedToInvoice():
            doc.pending_payment = True
            doc.invoice_id = event.invoice_id
        case E.InvoicePaid():
            doc.pending_payment = False
        case E.ActivityReported():
            doc.last_activity_at = at
            doc.last_activity = event.kind
        case _:
            pass  # DocumentsModel.ignores lists these (checked by a test)
    activity = _ACTIVITY.get(type(event))
    if activity is not None:
        doc.last_activity_at = at
        doc.last_activity = activity
    return doc


def fold_document(events: Iterable[Any]) -> DocumentRow | None:
    """The row a sequence of one document's events leads to."""
    doc: _Doc | None = None
    for event in events:
        doc = _evolve(doc, event)
    return None if doc is None else doc.row()


def record_key(event: Any) -> str:
    """The key a read model files an event's rows under: its record id, as hex.

    Most events do not carry the document id; the record id is derived from
    it (:func:`~approvalflow.approval_request_id`), so queries by document id
    find the rows.
    """
    return str(event.originator_id.hex)


# -- keyset pagination -----------------------------------------------------------

#: The longest cursor a page hands out is far below this.
_MAX_CURSOR = 1_000


def encode_cursor(at: datetime, document_id: str) -> str:
    """An opaque cursor after the row (``at``, ``document_id``)."""
    raw = json.dumps([at.isoformat(), document_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: object) -> tuple[datetime, str] | None:
    """The position a cursor points after; ``None`` for the first page."""
    if cursor is None:
        return None
    allowed = "None for the first page, or a next_cursor from the previous page"
    if not isinstance(cursor, str):
        raise InvalidInputError("after", f"got {type(cursor).__name__}", allowed)
    if len(cursor) > _MAX_CURSOR:
        raise InvalidInputError("after", "is not a cursor (too long)", allowed)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        at_text, document_id = decoded
        at = datetime.fromisoformat(at_text).astimezone(UTC)
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise InvalidInputError("after", "is not a cursor", allowed) from exc
    if not isinstance(document_id, str):
        raise InvalidInputError("after", "is not a cursor", allowed)
    return at, document_id


def check_filters(filters: object) -> frozenset[StatusFilter]:
    """Filters as a set; accepts StatusFilter values or their strings."""
    allowed = "a list of " + ", ".join(repr(f.value) for f in StatusFilter)
    if filters is None:
        return frozenset()
    if isinstance(filters, str) or not isinstance(filters, Sequence | frozenset | set):
        raise InvalidInputError("filters", f"got {type(filters).__name__}", allowed)
    result = set()
    for item in filters:
        if not isinstance(item, str) or item not in StatusFilter.__members__.values():
            raise InvalidInputError("filters", f"got {item!r}", allowed)
        result.add(StatusFilter(item))
    return frozenset(result)


# -- storage -------------------------------------------------------------------

_COLUMNS = (
    "record_id",
    "document_id",
    "account_id",
    "name",
    "file_type",
    "uploaded_by",
    "description",
    "state",
    "pending_payment",
    "invoice_id",
    "cycle",
    "requested_at",
    "rejected_at",
    "last_activity_at",
    "last_activity",
    "reminder_days",
    "reminder_count",
    "reminder_schedule",
    "last_contact_at",
    "reminders_in_schedule",
    "next_reminder_at",
)
_SELECT = ", ".join(_COLUMNS)
_UPSERT = (
    f"INSERT INTO {{p}}documents ({_SELECT})"
    f" VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (record_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
)
_FILE_UNDER = (
    "INSERT INTO {p}document_accounts (account_id, document_id) VALUES (?, ?)"
    " ON CONFLICT DO NOTHING"
)


def _values(key: str, doc: _Doc) -> tuple[Any, ...]:
    policy = doc.policy
    return (
        key,
        doc.document_id,
        doc.account_id,
        doc.name,
        doc.file_type,
        doc.uploaded_by,
        doc.description,
        doc.state.value,
        int(doc.pending_payment),
        doc.invoice_id,
        doc.cycle,
        time_text(doc.requested_at),
        time_text(doc.rejected_at),
        time_text(doc.last_activity_at),
        doc.last_activity,
        policy.days_before_next if policy else None,
        policy.count if policy else None,
        _schedule_text(policy),
        time_text(doc.last_contact_at),
        doc.reminders_in_schedule,
        time_text(doc.next_reminder_at),
    )


def _schedule_text(policy: ReminderPolicy | None) -> str | None:
    if policy is None or policy.schedule is None:
        return None
    return json.dumps(converter.unstructure(policy.schedule), sort_keys=True)


def _stored_policy(
    days: int | None, count: int | None, schedule: str | None
) -> ReminderPolicy | None:
    if days is None or count is None:
        return None
    stored: dict[str, Any] = {"days_before_next": days, "count": count}
    legacy = False
    if schedule is not None:
        stored["schedule"] = json.loads(schedule)
        # Rows written by earlier versions lack the field, as their events do: the
        # same rule as the upcast event's, so the index and the aggregate agree.
        legacy = "count_working_days" not in stored["schedule"]
    # Read back as stored, without re-validating (bounds may change later).
    policy: ReminderPolicy = converter.structure(stored, ReminderPolicy)
    if legacy:
        return as_recorded_before_working_day_counting(policy)
    return policy


def _doc_from_db(r: Any) -> _Doc:
    doc = object.__new__(_Doc)
    doc.document_id = r["document_id"]
    doc.account_id = r["account_id"]
    doc.name = r["name"]
    doc.file_type = r["file_type"]
    doc.uploaded_by = r["uploaded_by"]
    doc.description = r["description"]
    doc.state = ApprovalState(r["state"])
    doc.pending_payment = bool(r["pending_payment"])
    doc.invoice_id = r["invoice_id"]
    doc.cycle = r["cycle"]
    doc.requested_at = parse_time(r["requested_at"])
    doc.rejected_at = parse_time(r["rejected_at"])
    last = parse_time(r["last_activity_at"])
    assert last is not None  # NOT NULL column
    doc.last_activity_at = last
    doc.last_activity = r["last_activity"]
    doc.policy = _stored_policy(
        r["reminder_days"], r["reminder_count"], r["reminder_schedule"]
    )
    doc.last_contact_at = parse_time(r["last_contact_at"])
    doc.reminders_in_schedule = int(r["reminders_in_schedule"])
    return doc


def _row_from_db(r: Any) -> DocumentRow:
    return _doc_from_db(r).row()


class DocumentsModel(ReadModel):
    """One row per document: statuses, every list and the reminder index."""

    name = "documents"
    tables = (
        "CREATE TABLE IF NOT EXISTS {p}documents ("
        " record_id {text} PRIMARY KEY, document_id {text} NOT NULL,"
        " account_id {text} NOT NULL, name {text} NOT NULL,"
        " file_type {text} NOT NULL, uploaded_by {text} NOT NULL,"
        " description {text}, state {text} NOT NULL,"
        " pending_payment BIGINT NOT NULL, invoice_id {text}, cycle BIGINT,"
        " requested_at {text}, rejected_at {text},"
        " last_activity_at {text} NOT NULL, last_activity {text} NOT NULL,"
        " reminder_days BIGINT, reminder_count BIGINT, reminder_schedule {text},"
        " last_contact_at {text},"
        " reminders_in_schedule BIGINT NOT NULL, next_reminder_at {text})"
        " {without_rowid}",
        "CREATE TABLE IF NOT EXISTS {p}document_accounts ("
        " account_id {text} NOT NULL, document_id {text} NOT NULL,"
        " PRIMARY KEY (account_id, document_id)) {without_rowid}",
    )
    table_names = ("documents", "document_accounts")
    # One index per list order and scope; filters on pending payment use
    # partial indexes (few documents wait for payment at any time).
    indexes = (
        "CREATE INDEX IF NOT EXISTS {i}documents_due"
        " ON {p}documents (next_reminder_at, document_id)"
        " WHERE next_reminder_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS {i}documents_recent"
        " ON {p}documents (last_activity_at, document_id)",
        "CREATE INDEX IF NOT EXISTS {i}documents_state_recent"
        " ON {p}documents (state, last_activity_at, document_id)",
        "CREATE INDEX IF NOT EXISTS {i}documents_payment_recent"
        " ON {p}documents (last_activity_at, document_id)"
        " WHERE pending_payment = 1",
        "CREATE INDEX IF NOT EXISTS {i}documents_account_recent"
        " ON {p}documents (account_id, last_activity_at, document_id)",
        "CREATE INDEX IF NOT EXISTS {i}documents_account_state_recent"
        " ON {p}documents (account_id, state, last_activity_at, document_id)",
        "CREATE INDEX IF NOT EXISTS {i}documents_account_payment_recent"
        " ON {p}documents (account_id, last_activity_at, document_id)"
        " WHERE pending_payment = 1",
        "CREATE INDEX IF NOT EXISTS {i}documents_account_requested"
        " ON {p}documents (account_id, requested_at, document_id)"
        " WHERE requested_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS {i}documents_account_state_requested"
        " ON {p}documents (account_id, state, requested_at, document_id)"
        " WHERE requested_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS {i}documents_account_payment_requested"
        " ON {p}documents (account_id, requested_at, document_id)"
        " WHERE pending_payment = 1 AND requested_at IS NOT NULL",
    )
    handles = frozenset(
        {
            E.Requested,
            E.Resent,
            E.Reminded,
            E.Approved,
            E.Rejected,
            E.Cancelled,
            E.LockedToInvoice,
            E.InvoicePaid,
            E.ActivityReported,
        }
    )
    # Created carries no document facts yet; Notified changes nothing shown.
    ignores = frozenset({E.Created, E.Notified})

    #: Rows a rebuild keeps in memory between batches, at most.
    CACHE_ROWS: ClassVar[int] = 20_000

    def apply(self, tx: Tx, events: Sequence[Any]) -> None:
        """Fold the batch in memory, then write each changed row once."""
        handled = self.handles
        relevant = [(e.originator_id.hex, e) for e in events if type(e) in handled]
        if not relevant:
            return
        # In a rebuild, rows stay in memory between batches (up to a bound);
        # a key never written needs no look-up.
        cache: dict[str, Any] = tx.cache.setdefault(self.name, {})
        written: dict[str, Any] = tx.cache.setdefault(f"{self.name}:written", {})
        if len(cache) > self.CACHE_ROWS:
            cache.clear()  # every cached row is in the table already
        keys = {key for key, _ in relevant}
        docs: dict[str, _Doc | None] = {k: cache[k] for k in keys if k in cache}
        # A record created in this batch has no row yet: nothing to look up.
        created = {e.originator_id.hex for e in events if type(e) is E.Created}
        missing = [
            k
            for k in keys
            if k not in docs and k not in created and (not tx.bulk or k in written)
        ]
        if missing:
            found = tx.select_in(
                f"SELECT {_SELECT} FROM {{p}}documents WHERE record_id IN ({{keys}})",
                missing,
            )
            docs.update((r["record_id"], _doc_from_db(r)) for r in found)
        # (account, document) pairs already recorded need no second write.
        known = {(d.account_id, d.document_id) for d in docs.values() if d}
        filed: set[tuple[str, str]] = set()
        changed: dict[str, _Doc] = {}
        for key, event in relevant:
            doc = _evolve(docs.get(key), event)
            if doc is not None:
                docs[key] = doc
                changed[key] = doc
                if (doc.account_id, doc.document_id) not in known:
                    filed.add((doc.account_id, doc.document_id))
        tx.executemany(_UPSERT, [_values(k, d) for k, d in changed.items()])
        tx.executemany(_FILE_UNDER, sorted(filed))
        if tx.bulk:
            cache.update(changed)
            written.update(dict.fromkeys(changed))

    # -- queries -------------------------------------------------------------

    def recent(
        self,
        c: Cursor,
        p: str,
        *,
        since: datetime,
        account_id: str | None,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
        limit_arms: bool,
    ) -> Page:
        """Documents with activity since ``since``, newest first."""
        query = recent_query(
            since, account_id, filters, after, limit, limit_arms=limit_arms
        )
        return _page(c, p, query, limit, lambda r: r.last_activity_at)

    def approvals_tab(
        self,
        c: Cursor,
        p: str,
        *,
        account_id: str,
        filters: frozenset[StatusFilter],
        after: tuple[datetime, str] | None,
        limit: int,
        limit_arms: bool,
    ) -> Page:
        """An account's requested documents, latest request first."""
        query = tab_query(account_id, filters, after, limit, limit_arms=limit_arms)

        def key(row: DocumentRow) -> datetime:
            assert row.requested_at is not None  # only requested rows are listed
            return row.requested_at

        return _page(c, p, query, limit, key)

    def document(self, c: Cursor, p: str, document_id: str) -> DocumentRow | None:
        """One document's row, if it has one."""
        c.execute(
            SQL_DOCUMENT.replace("{p}", p), [approval_request_id(document_id).hex]
        )
        found = c.fetchone()
        return _row_from_db(found) if found else None

    def due_reminders(self, c: Cursor, p: str, now: datetime, limit: int) -> list[str]:
        """Documents whose next reminder is due at ``now``, most overdue first."""
        c.execute(SQL_DUE.replace("{p}", p), [time_text(now), limit])
        return [r["document_id"] for r in c.fetchall()]

    def documents_ever_in(self, c: Cursor, p: str, account_id: str) -> list[str]:
        """Every document that was ever filed under the account."""
        c.execute(SQL_DOCUMENTS_EVER_IN.replace("{p}", p), [account_id])
        return [r["document_id"] for r in c.fetchall()]


SQL_DOCUMENT = f"SELECT {_SELECT} FROM {{p}}documents WHERE record_id = ?"
SQL_DUE = (
    "SELECT document_id FROM {p}documents"
    " WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= ?"
    " ORDER BY next_reminder_at, document_id LIMIT ?"
)
SQL_DOCUMENTS_EVER_IN = (
    "SELECT document_id FROM {p}document_accounts WHERE account_id = ?"
    " ORDER BY document_id"
)


def _page(
    c: Cursor, p: str, query: tuple[str, list[Any]], limit: int, key: Any
) -> Page:
    """Run a list's query (it asks for one row more than the page) and page it."""
    sql, params = query
    c.execute(sql.replace("{p}", p), params)
    rows = [_row_from_db(r) for r in c.fetchall()]
    page = rows[:limit]
    more = len(rows) > limit
    cursor = encode_cursor(key(page[-1]), page[-1].document_id) if more else None
    return Page(tuple(page), cursor)


def _branches(filters: frozenset[StatusFilter]) -> list[tuple[str, list[Any]]]:
    """One (condition, params) per index to merge; ``[("", [])]``: no filter.

    The branches never overlap: a document pending payment is listed by the
    payment branch only if no state branch already lists it.
    """
    if not filters or StatusFilter.ALL in filters:
        return [("", [])]
    states = sorted(f.value for f in filters if f is not StatusFilter.PENDING_PAYMENT)
    branches: list[tuple[str, list[Any]]] = [("state = ?", [s]) for s in states]
    if StatusFilter.PENDING_PAYMENT in filters:
        if states:
            marks = ", ".join("?" * len(states))
            branches.append(
                (f"pending_payment = 1 AND state NOT IN ({marks})", list(states))
            )
        else:
            branches.append(("pending_payment = 1", []))
    return branches


def _merged(  # noqa: PLR0917 - a private builder, called in two places
    where: list[str],
    params: list[Any],
    filters: frozenset[StatusFilter],
    column: str,
    limit: int,
    limit_arms: bool,
) -> tuple[str, list[Any]]:
    """The list's query: one index-ordered branch per filter, merged.

    SQLite merges ordered arms of a compound SELECT lazily and stops at the
    LIMIT; PostgreSQL gets each arm limited to the page first
    (``limit_arms``), so either way a page reads about a page per filter.
    """
    order = f"ORDER BY {column} DESC, document_id DESC"
    arms: list[str] = []
    arm_params: list[Any] = []
    branches = _branches(filters)
    for condition, values in branches:
        clauses = [*where, condition] if condition else where
        arm = f"SELECT {_SELECT} FROM {{p}}documents WHERE {' AND '.join(clauses)}"
        # The condition's values come last in its WHERE clause.
        arm_params.extend([*params, *values])
        if limit_arms or len(branches) == 1:
            arm = f"({arm} {order} LIMIT ?)"
            arm_params.append(limit + 1)
        arms.append(arm)
    if len(arms) == 1:
        return arms[0][1:-1], arm_params
    return f"{' UNION ALL '.join(arms)} {order} LIMIT ?", [*arm_params, limit + 1]


def recent_query(
    since: datetime,
    account_id: str | None,
    filters: frozenset[StatusFilter],
    after: tuple[datetime, str] | None,
    limit: int,
    *,
    limit_arms: bool,
) -> tuple[str, list[Any]]:
    """The recent list's SQL and parameters."""
    where: list[str] = []
    params: list[Any] = []
    if account_id is not None:
        where.append("account_id = ?")
        params.append(account_id)
    where.append("last_activity_at >= ?")
    params.append(time_text(since))
    _cursor_clause("last_activity_at", after, where, params)
    return _merged(where, params, filters, "last_activity_at", limit, limit_arms)


def tab_query(
    account_id: str,
    filters: frozenset[StatusFilter],
    after: tuple[datetime, str] | None,
    limit: int,
    *,
    limit_arms: bool,
) -> tuple[str, list[Any]]:
    """The Approvals tab's SQL and parameters."""
    where = ["account_id = ?", "requested_at IS NOT NULL", "state != ?"]
    params: list[Any] = [account_id, ApprovalState.NONE.value]
    _cursor_clause("requested_at", after, where, params)
    return _merged(where, params, filters, "requested_at", limit, limit_arms)


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
