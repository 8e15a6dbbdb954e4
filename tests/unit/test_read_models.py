"""The read side on every store: lists, filters, paging, reasons, audit, time travel."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from approvalflow import (
    Approvals,
    ApprovalState,
    ClientUser,
    DocumentFacts,
    InvalidInputError,
    InvalidStateError,
    NotAuthorizedError,
    ReasonsNotOfferedError,
    ReminderPolicy,
    ReminderSchedule,
    UnknownDocumentError,
)
from approvalflow.projections import DocumentRow, Page, StatusFilter
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START


def ids(page: object) -> list[str]:
    return [row.document_id for row in page.rows]  # type: ignore[attr-defined]


def test_recent_list_is_newest_first_and_a_decision_moves_to_the_top(
    app: Approvals, clock: ControllableClock
) -> None:
    for doc in ("d1", "d2", "d3"):
        app.request_approval(doc, by="f1")
        clock.advance(hours=1)
    assert ids(app.recent()) == ["d3", "d2", "d1"]
    app.approve("d1", by="c1")
    assert ids(app.recent()) == ["d1", "d3", "d2"]
    first = app.recent().rows[0]
    assert (first.state, first.last_activity) == (ApprovalState.APPROVED, "approved")


def test_recent_list_keeps_thirty_days_by_the_clock(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1")
    clock.advance(days=20)
    app.record_activity("d2", kind="uploaded", by="f2")
    clock.advance(days=10)
    assert ids(app.recent()) == ["d2", "d1"]  # d1 is exactly 30 days old
    clock.advance(seconds=1)
    assert ids(app.recent()) == ["d2"]
    app.resend("d1", by="f1")
    assert ids(app.recent()) == ["d1", "d2"]


def test_reminders_are_not_activity(app: Approvals, clock: ControllableClock) -> None:
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(1, 1))
    clock.advance(days=1)
    app.record_activity("d2", kind="sent", by="f1")
    clock.advance(hours=1)
    assert app.remind("d1")
    assert ids(app.recent()) == ["d2", "d1"]


def test_host_activity_on_a_never_requested_document(app: Approvals) -> None:
    app.record_activity("d4", kind="uploaded", by="c2")  # clients upload too
    row = app.recent().rows[0]
    assert (row.document_id, row.name, row.state) == (
        "d4",
        "Document 4",
        ApprovalState.NONE,
    )
    assert row.last_activity == "uploaded"
    assert app.approvals_tab("acme").rows == ()


def test_host_activity_checks_its_input(app: Approvals) -> None:
    with pytest.raises(InvalidInputError, match="'uploaded', 'modified'"):
        app.record_activity("d1", kind="deleted", by="f1")
    with pytest.raises(NotAuthorizedError, match="accounts they are linked to"):
        app.record_activity("d1", kind="sent", by="g1")
    with pytest.raises(UnknownDocumentError):
        app.record_activity("nope", kind="sent", by="f1")


def populate(app: Approvals, clock: ControllableClock) -> None:
    """d1 pending, d2 approved, d3 rejected, d4 pending payment, g-doc pending."""
    app.request_approvals(["d1", "d2", "d3"], by="f1")
    clock.advance(hours=1)
    app.approve("d2", by="c1")
    clock.advance(hours=1)
    app.reject("d3", by="c2", reasons=["Wrong figures"], comment="Page 3")
    clock.advance(hours=1)
    app.lock_to_invoice("d4", invoice_id="INV-1", by="f1")
    clock.advance(hours=1)
    app.request_approval("g-doc", by="f2")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ["g-doc", "d4", "d3", "d2", "d1"]),
        (["all"], ["g-doc", "d4", "d3", "d2", "d1"]),
        (["pending_approval"], ["g-doc", "d1"]),
        (["approved"], ["d2"]),
        (["rejected"], ["d3"]),
        (["pending_payment"], ["d4"]),
        (["approved", "rejected"], ["d3", "d2"]),
        (
            [StatusFilter.PENDING_PAYMENT, StatusFilter.PENDING_APPROVAL],
            ["g-doc", "d4", "d1"],
        ),
    ],
)
def test_recent_list_filters(
    app: Approvals,
    clock: ControllableClock,
    filters: list[str] | None,
    expected: list[str],
) -> None:
    populate(app, clock)
    assert ids(app.recent(filters=filters)) == expected
    scoped = [d for d in expected if d != "g-doc"]
    assert ids(app.recent(filters=filters, account_id="acme")) == scoped


def test_pending_payment_and_approval_state_together(
    app: Approvals, clock: ControllableClock
) -> None:
    populate(app, clock)
    app.lock_to_invoice("d2", invoice_id="INV-2", by="f1")
    assert ids(app.recent(filters=["pending_payment"])) == ["d2", "d4"]
    assert ids(app.recent(filters=["approved"])) == ["d2"]


def test_keyset_pages_cover_the_list_once(
    app: Approvals, clock: ControllableClock
) -> None:
    docs = ["d1", "d2", "d3", "d4"]
    app.request_approvals(docs, by="f1")  # four documents with the same time
    clock.advance(minutes=5)
    app.record_activity("g-doc", kind="modified", by="f1")
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = app.recent(limit=2, after=after)
        seen += ids(page)
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == ["g-doc", "d4", "d3", "d2", "d1"]
    assert pages == 3


def test_bad_list_arguments_are_refused(app: Approvals) -> None:
    with pytest.raises(InvalidInputError, match="filters"):
        app.recent(filters=["overdue"])
    with pytest.raises(InvalidInputError, match="filters"):
        app.recent(filters="approved")
    with pytest.raises(InvalidInputError, match="limit"):
        app.recent(limit=0)
    with pytest.raises(InvalidInputError, match="limit"):
        app.recent(limit=501)
    with pytest.raises(InvalidInputError, match="after: is not a cursor"):
        app.recent(after="not-a-cursor")
    with pytest.raises(InvalidInputError, match="account_id"):
        app.approvals_tab("")


def test_approvals_tab_shows_what_the_help_centre_lists(
    app: Approvals, clock: ControllableClock
) -> None:
    populate(app, clock)
    tab = app.approvals_tab("acme")
    # Requested together: ties on the request time go by document id, descending.
    assert ids(tab) == ["d3", "d2", "d1"]
    rows = {row.document_id: row for row in tab.rows}
    assert set(rows) == {"d1", "d2", "d3"}  # d4 was never requested
    d3 = rows["d3"]
    assert (d3.name, d3.file_type, d3.uploaded_by, d3.description) == (
        "Document 3",
        "pdf",
        "Anna Martin",
        "Description 3",
    )
    assert d3.state is ApprovalState.REJECTED
    assert d3.requested_at == START
    assert d3.rejected_at == START + timedelta(hours=2)
    assert rows["d2"].rejected_at is None
    assert ids(app.approvals_tab("acme", filters=["rejected", "approved"])) == [
        "d3",
        "d2",
    ]
    assert ids(app.approvals_tab("globex")) == ["g-doc"]


def test_cancelled_requests_leave_the_tab(app: Approvals) -> None:
    app.request_approval("d1", by="f1")
    app.cancel("d1", by="f1")
    assert app.approvals_tab("acme").rows == ()


def test_accounts_with_pending_approvals(
    app: Approvals, clock: ControllableClock
) -> None:
    assert app.accounts_pending() == []
    populate(app, clock)
    app.request_approval("d4", by="f1")
    pending = [(a.account_id, a.pending) for a in app.accounts_pending()]
    assert pending == [("acme", 2), ("globex", 1)]
    app.cancel("g-doc", by="f2")
    assert [(a.account_id, a.pending) for a in app.accounts_pending()] == [("acme", 2)]


def test_activity_on_a_pending_document_keeps_its_account_count_right(
    app: Approvals,
) -> None:
    app.request_approval("d1", by="f1")
    app.record_activity("d1", kind="modified", by="f1")
    assert [(a.account_id, a.pending) for a in app.accounts_pending()] == [("acme", 1)]
    app.approve("d1", by="c1")
    assert app.accounts_pending() == []


def test_rejection_reasons_across_cycles(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1")
    app.reject("d1", by="c1", reasons=["Wrong year", "Missing page"], comment="See p.2")
    clock.advance(days=1)
    app.request_approval("d1", by="f1")
    app.reject("d1", by="c2", reasons=["Still wrong"])
    reasons = app.rejection_reasons("d1")
    assert [(r.cycle, r.by_name, r.reasons, r.comment) for r in reasons] == [
        (1, "Claire Dupont", ("Wrong year", "Missing page"), "See p.2"),
        (2, "Marc Dupont", ("Still wrong",), None),
    ]
    assert all(r.document_id == "d1" for r in reasons)
    app.request_approval("d1", by="f1")
    assert len(app.rejection_reasons("d1")) == 2  # pending again: still shown
    app.approve("d1", by="c1")
    with pytest.raises(ReasonsNotOfferedError, match="it is approved"):
        app.rejection_reasons("d1")
    assert app.rejection_reasons("d2") == ()


def test_client_view_shows_what_the_client_sees(app: Approvals) -> None:
    with pytest.raises(InvalidStateError, match="never requested"):
        app.client_view("d1")
    app.request_approval("d1", by="f1", message="First message")
    app.resend("d1", by="f2", message="Second message")
    view = app.client_view("d1")
    assert (view.message, view.requested_by, view.actions) == (
        "Second message",
        "Anna Martin",
        ("approve", "reject"),
    )
    assert view.document.name == "Document 1"
    app.approve("d1", by="c1")
    assert app.client_view("d1").actions == ()
    assert app.client_view("d1").state is ApprovalState.APPROVED


def test_audit_trail_matches_the_event_history_and_exports(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval(
        "d1",
        by="f1",
        message="Hello",
        reminders=ReminderPolicy(2, 1, ReminderSchedule(count_working_days=True)),
        entry_point="list",
    )
    clock.advance(days=2)
    app.remind("d1")
    app.reject("d1", by="c1", reasons=["Nope"], comment="Why, see p.1")
    trail = app.audit_trail("d1")
    history = app.history("d1")
    assert [(a.version, a.at, a.event, a.summary) for a in trail] == [
        (h.version, h.at, h.event, h.summary()) for h in history
    ]
    requested = trail[1]
    assert requested.details["message"] == "Hello"
    assert requested.details["reminders"] == {
        "days_before_next": 2,
        "count": 1,
        "schedule": {
            "time_zone": "UTC",
            "window_start": "09:00:00",
            "window_end": "18:00:00",
            "business_days": True,
            "holidays": None,
            "holiday_region": None,
            "count_working_days": True,
            "weekend": None,
        },
    }
    assert (
        "Up to 1 automatic reminder, after 2 business days without an answer. "
        "Sent between 09:00 and 18:00, UTC time."
    ) in requested.summary
    assert (requested.actor_name, requested.actor_role) == (
        "Anna Martin",
        "firm_member",
    )

    out = io.StringIO()
    assert app.export_audit("d1", out, fmt="jsonl") == 4
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "Created",
        "Requested",
        "Reminded",
        "Rejected",
    ]
    assert lines[3]["details"]["rejection"]["reasons"] == ["Nope"]

    out = io.StringIO()
    app.export_audit("d1", out, fmt="csv")
    records = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["event"] for r in records] == [
        "Created",
        "Requested",
        "Reminded",
        "Rejected",
    ]
    assert json.loads(records[3]["details"])["rejection"]["comment"] == "Why, see p.1"
    assert records[3]["actor_name"] == "Claire Dupont"
    with pytest.raises(InvalidInputError, match="'jsonl' or 'csv'"):
        app.export_audit("d1", io.StringIO(), fmt="xml")


def test_status_and_tab_as_of_any_past_instant(
    app: Approvals, clock: ControllableClock
) -> None:
    t0 = clock.now()
    app.request_approval("d1", by="f1")
    t1 = clock.advance(days=1)
    app.reject("d1", by="c1", reasons=["No"])
    t2 = clock.advance(days=1)
    app.request_approval("d1", by="f1")
    app.request_approval("d2", by="f1")
    t3 = clock.advance(days=1)
    app.approve("d1", by="c1")
    app.cancel("d2", by="f1")

    def state_at(at: object) -> ApprovalState | None:
        row = app.document_as_of("d1", at)  # type: ignore[arg-type]
        return row.state if row else None

    assert state_at(t0 - timedelta(seconds=1)) is None
    assert state_at(t0) is ApprovalState.PENDING
    assert state_at(t1) is ApprovalState.REJECTED
    assert state_at(t2) is ApprovalState.PENDING
    assert state_at(t3) is ApprovalState.APPROVED
    assert ids_of(app.approvals_tab_as_of("acme", t1)) == ["d1"]
    assert ids_of(app.approvals_tab_as_of("acme", t2)) == ["d2", "d1"]
    assert ids_of(app.approvals_tab_as_of("acme", t3)) == ["d1"]
    assert ids_of(app.approvals_tab_as_of("acme", t0 - timedelta(days=1))) == []
    with pytest.raises(InvalidInputError, match="naive"):
        app.document_as_of("d1", t0.replace(tzinfo=None))


def ids_of(rows: tuple[object, ...]) -> list[str]:
    return [row.document_id for row in rows]  # type: ignore[attr-defined]


def test_rebuild_gives_the_same_views_and_readers_never_see_half(
    app: Approvals, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    populate(app, clock)
    for i in range(5, 300):
        directory.add_document(
            DocumentFacts(f"x{i}", "acme", f"Doc {i}", "pdf", "Anna")
        )
    app.request_approvals([f"x{i}" for i in range(5, 300)], by="f1")
    before = (app.recent(limit=500), app.accounts_pending(), app.audit_trail("d3"))
    seen_during: list[int] = []

    def progress(count: int) -> None:
        # Readers during the rebuild still see the complete old views.
        seen_during.append(count)
        assert len(app.recent(limit=500).rows) == len(before[0].rows)

    app.refresh_views_on_read = False
    total = app.rebuild_views(progress)
    app.refresh_views_on_read = True
    assert total == app.recorder.max_notification_id()
    assert seen_during
    assert seen_during[-1] == total
    after = (app.recent(limit=500), app.accounts_pending(), app.audit_trail("d3"))
    assert after == before
    assert all(v.position == v.head for v in app.views_status())


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"],
)
def test_audit_csv_cells_cannot_be_spreadsheet_formulas(
    app: Approvals, directory: InMemoryDirectory, name: str
) -> None:
    directory.client_users["c1"] = ClientUser("c1", name, "claire@acme.example")
    app.request_approval("d1", by="f1")
    app.reject("d1", by="c1", reasons=["Nope"])
    out = io.StringIO()
    app.export_audit("d1", out, fmt="csv")
    rejected = list(csv.DictReader(io.StringIO(out.getvalue())))[-1]
    assert rejected["actor_name"] == "'" + name
    # The record itself keeps the name as given.
    assert app.audit_trail("d1")[-1].actor_name == name


def test_audit_csv_leaves_ordinary_cells_alone(app: Approvals) -> None:
    app.request_approval("d1", by="f1")
    out = io.StringIO()
    app.export_audit("d1", out, fmt="csv")
    names = [r["actor_name"] for r in csv.DictReader(io.StringIO(out.getvalue()))]
    assert names[-1] == "Anna Martin"


def test_export_audit_to_something_that_is_not_a_file_is_refused(
    app: Approvals,
) -> None:
    app.request_approval("d1", by="f1")
    with pytest.raises(InvalidInputError, match="out: got object, which has no write"):
        app.export_audit("d1", object(), fmt="jsonl")  # type: ignore[arg-type]


def test_a_paid_invoice_leaves_the_pending_payment_lists(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1")
    app.lock_to_invoice("d1", invoice_id="INV-1", by="f1")
    assert ids(app.recent(filters=["pending_payment"])) == ["d1"]
    assert ids(app.approvals_tab("acme", filters=["pending_payment"])) == ["d1"]
    clock.advance(minutes=1)
    app.mark_invoice_paid("d1", invoice_id="INV-1", by="c1")
    assert ids(app.recent(filters=["pending_payment"])) == []
    assert ids(app.approvals_tab("acme", filters=["pending_payment"])) == []
    [row] = app.recent().rows
    assert row.pending_payment is False
    assert app.document_as_of("d1", clock.now()) == row


def test_a_row_shows_every_fact_of_its_document(
    app: Approvals, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    def shown() -> DocumentRow:
        # The list and time travel (a fold of the events) agree on the row.
        [row] = app.recent().rows
        assert app.document_as_of("d1", clock.now()) == row
        return row

    app.record_activity("d1", kind="uploaded", by="f1")
    row = DocumentRow(
        document_id="d1",
        account_id="acme",
        name="Document 1",
        file_type="pdf",
        uploaded_by="Anna Martin",
        description="Description 1",
        state=ApprovalState.NONE,
        pending_payment=False,
        invoice_id=None,
        cycle=None,
        requested_at=None,
        rejected_at=None,
        last_activity_at=START,
        last_activity="uploaded",
        reminders=None,
        next_reminder_at=None,
    )
    assert shown() == row

    t1 = clock.advance(hours=1)
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(2, 3))
    row = attrs.evolve(
        row,
        state=ApprovalState.PENDING,
        cycle=1,
        requested_at=t1,
        last_activity_at=t1,
        last_activity="requested",
        reminders=ReminderPolicy(2, 3),
        next_reminder_at=t1 + timedelta(days=2),
    )
    assert shown() == row

    t2 = clock.advance(hours=1)
    app.resend("d1", by="f1", reminders=None)
    row = attrs.evolve(
        row,
        last_activity_at=t2,
        last_activity="resent",
        reminders=None,
        next_reminder_at=None,
    )
    assert shown() == row

    # Locking to an invoice carries the document's facts as they are now.
    facts = directory.documents["d1"].facts
    directory.add_document(attrs.evolve(facts, name="Document 1 (signed)"))
    t3 = clock.advance(hours=1)
    app.lock_to_invoice("d1", invoice_id="INV-1", by="f1")
    row = attrs.evolve(
        row,
        name="Document 1 (signed)",
        pending_payment=True,
        invoice_id="INV-1",
        last_activity_at=t3,
        last_activity="locked_to_invoice",
    )
    assert shown() == row

    t4 = clock.advance(hours=1)
    app.reject("d1", by="c1", reasons=["Wrong year"])
    row = attrs.evolve(
        row,
        state=ApprovalState.REJECTED,
        rejected_at=t4,
        last_activity_at=t4,
        last_activity="rejected",
    )
    assert shown() == row

    t5 = clock.advance(hours=1)
    app.request_approval("d1", by="f1")
    app.cancel("d1", by="f1")
    row = attrs.evolve(
        row,
        state=ApprovalState.NONE,
        cycle=2,
        requested_at=t5,
        rejected_at=None,
        last_activity_at=t5,
        last_activity="cancelled",
    )
    assert shown() == row

    t6 = clock.advance(hours=1)
    app.mark_invoice_paid("d1", invoice_id="INV-1", by="c1")
    row = attrs.evolve(
        row, pending_payment=False, last_activity_at=t6, last_activity="invoice_paid"
    )
    assert shown() == row


@pytest.mark.parametrize(
    "filters",
    [
        [],
        ["all"],
        ["all", "approved"],
        ["pending_approval"],
        ["approved"],
        ["rejected"],
        ["pending_payment"],
        ["pending_payment", "approved"],
        ["pending_payment", "pending_approval", "rejected"],
    ],
)
def test_a_rows_own_filter_check_agrees_with_the_lists(
    app: Approvals, clock: ControllableClock, filters: list[str]
) -> None:
    populate(app, clock)
    app.lock_to_invoice("d2", invoice_id="INV-2", by="f1")  # approved, unpaid
    rows = app.recent().rows
    wanted = frozenset(StatusFilter(f) for f in filters)
    assert [r.document_id for r in rows if r.matches(wanted)] == ids(
        app.recent(filters=filters)
    )
    tab = [r.document_id for r in rows if r.awaits_or_has_decision]
    assert sorted(tab) == sorted(
        ids(app.approvals_tab("acme")) + ids(app.approvals_tab("globex"))
    )


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_bad_cursors_and_filters_say_what_is_allowed(app: Approvals) -> None:
    allowed = "None for the first page, or a next_cursor from the previous page"
    for bad, problem in [
        (42, "got int"),
        ("x" * 1001, "is not a cursor (too long)"),
        ("x" * 1000, "is not a cursor"),
        (cursor_of(["2026-01-05T09:00:00+00:00", 7]), "is not a cursor"),
        (cursor_of([1, "d1"]), "is not a cursor"),
        (cursor_of(["2026-01-05T09:00:00+00:00"]), "is not a cursor"),
    ]:
        with pytest.raises(InvalidInputError) as caught:
            app.recent(after=bad)  # type: ignore[arg-type]
        assert str(caught.value) == f"after: {problem}; allowed: {allowed}"
    listed = "'all', 'pending_payment', 'pending_approval', 'approved', 'rejected'"
    for filters, problem in [
        ("approved", "got str"),
        ({"approved": True}, "got dict"),
        (["approved", "overdue"], "got 'overdue'"),
        ([1], "got 1"),
    ]:
        with pytest.raises(InvalidInputError) as caught:
            app.recent(filters=filters)  # type: ignore[arg-type]
        assert str(caught.value) == f"filters: {problem}; allowed: a list of {listed}"
    # Sets of filters are accepted as well as lists.
    assert app.recent(filters={"approved"}).rows == ()  # type: ignore[arg-type]


def all_pages(list_page: Callable[[str | None], Page]) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        page = list_page(after)
        pages.append(ids(page))
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


def test_approvals_tab_pages_cover_the_tab_once_and_end_at_its_last_row(
    app: Approvals, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    facts = directory.documents["d1"].facts
    docs = [f"x{i}" for i in range(1, 8)]
    for doc in docs:
        directory.add_document(attrs.evolve(facts, document_id=doc))
    app.request_approvals(docs[:4], by="f1")  # four requests at the same time
    clock.advance(minutes=5)
    app.request_approvals(docs[4:], by="f1")
    newest_first = ["x7", "x6", "x5", "x4", "x3", "x2", "x1"]
    assert all_pages(lambda after: app.approvals_tab("acme", limit=3, after=after)) == [
        newest_first[:3],
        newest_first[3:6],
        newest_first[6:],
    ]
    assert all_pages(lambda after: app.approvals_tab("acme", limit=7, after=after)) == [
        newest_first
    ]
    # Several filters: one branch per filter, merged, paged the same way.
    both = ["pending_approval", "rejected"]
    assert all_pages(
        lambda after: app.approvals_tab("acme", filters=both, limit=3, after=after)
    ) == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert all_pages(lambda after: app.recent(filters=both, limit=3, after=after)) == [
        newest_first[:3],
        newest_first[3:6],
        newest_first[6:],
    ]
    # The recent list ends on a full page too, without an empty one after it.
    assert all_pages(lambda after: app.recent(limit=7, after=after)) == [newest_first]
    assert all_pages(lambda after: app.recent(limit=3, after=after)) == [
        newest_first[:3],
        newest_first[3:6],
        newest_first[6:],
    ]


def test_the_tab_as_of_an_instant_lists_documents_where_they_were(
    app: Approvals, clock: ControllableClock, directory: InMemoryDirectory
) -> None:
    t0 = clock.now()
    app.request_approval("d1", by="f1")
    assert ids_of(app.approvals_tab_as_of("acme", t0)) == ["d1"]
    # The document moves to another account; a later event carries that.
    facts = directory.documents["d1"].facts
    directory.add_document(attrs.evolve(facts, account_id="globex"))
    t1 = clock.advance(hours=1)
    app.record_activity("d1", kind="modified", by="f1")
    assert ids_of(app.approvals_tab_as_of("acme", t0)) == ["d1"]
    assert ids_of(app.approvals_tab_as_of("acme", t1)) == []
    assert ids_of(app.approvals_tab_as_of("globex", t1)) == ["d1"]
    assert ids_of(app.approvals_tab_as_of("globex", t0)) == []
