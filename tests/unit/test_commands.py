"""The Approvals application's commands and queries, on every store.

Each refused command must raise a typed error that says what was wrong and
leave the store byte-for-byte unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

from approvalflow import (
    KEEP,
    AlreadyPendingError,
    ApprovalFlowError,
    Approvals,
    ApprovalState,
    BatchRequest,
    ConfigurationError,
    DocumentAccountMismatchError,
    DocumentFacts,
    DocumentNotVisibleError,
    EntryPoint,
    InvalidInputError,
    InvalidStateError,
    NotAuthorizedError,
    NotPendingError,
    ReminderPolicy,
    UnknownDocumentError,
    connect,
)
from approvalflow.domain.validation import (
    MAX_COMMENT,
    MAX_ID,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_REASON,
    MAX_REASONS,
)
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START, stored_records


def refused(
    app: Approvals,
    error: type[ApprovalFlowError],
    command: Callable[[], object],
    match: str | None = None,
) -> ApprovalFlowError:
    """Run a command that must be refused; check the store did not change."""
    before = stored_records(app)
    with pytest.raises(error, match=match) as caught:
        command()
    assert stored_records(app) == before
    return caught.value


# -- happy paths ---------------------------------------------------------------


def test_request_records_the_document_facts_and_settings(app: Approvals) -> None:
    cycle = app.request_approval(
        "d1",
        by="f1",
        account_id="acme",
        message="Please review\nthe attached.",
        reminders={"days_before_next": 5, "count": 2},
        entry_point="upload",
    )
    assert cycle.number == 1
    assert cycle.document.name == "Document 1"
    assert cycle.document.description == "Description 1"
    assert cycle.requested_by.name == "Anna Martin"
    # No firm schedule by default: five days after the request, to the second.
    assert cycle.reminders == ReminderPolicy(5, 2)
    assert cycle.entry_point is EntryPoint.UPLOAD
    status = app.status("d1")
    assert status.state is ApprovalState.PENDING
    assert status.requested_at == START
    assert START.weekday() == 0
    assert status.next_reminder_at == START + timedelta(days=5)


def test_full_cycle_reject_then_rerequest_then_approve(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1")
    clock.advance(hours=1)
    app.reject("d1", by="c1", reasons=["Wrong year"], comment="See page 2")
    assert app.status("d1").state is ApprovalState.REJECTED
    clock.advance(days=1)
    app.request_approval("d1", by="f2", message="Corrected")
    clock.advance(hours=2)
    app.approve("d1", by="c2", comment="Thanks")
    cycles = app.cycles("d1")
    assert [c.outcome.value for c in cycles] == ["rejected", "approved"]
    assert cycles[0].rejection is not None
    assert cycles[0].rejection.reasons == ("Wrong year",)
    assert cycles[1].closed_by is not None
    assert cycles[1].closed_by.name == "Marc Dupont"
    events = [e.event for e in app.history("d1")]
    assert events == ["Created", "Requested", "Rejected", "Requested", "Approved"]


def test_resend_keeps_or_replaces_the_reminder_policy(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 2))
    clock.advance(days=1)
    app.resend("d1", by="f2", message="Reminder from Paul")
    assert app.cycles("d1")[0].reminders == ReminderPolicy(3, 2)
    # Kept, and counted from the resend: three days on.
    assert app.status("d1").next_reminder_at == clock.now() + timedelta(days=3)
    app.resend("d1", by="f2", reminders=None)
    assert app.status("d1").next_reminder_at is None
    app.resend("d1", by="f2", reminders=KEEP)
    assert app.cycles("d1")[0].reminders is None
    assert app.cycles("d1")[0].resends == 3


def test_remind_records_only_when_due(app: Approvals, clock: ControllableClock) -> None:
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(2, 1))
    assert app.remind("d1") is False
    clock.advance(days=2)
    assert app.remind("d1") is True
    assert app.remind("d1") is False  # count reached
    assert app.remind("d2") is False  # never requested
    assert [e.event for e in app.history("d1")].count("Reminded") == 1


def test_cancel_then_request_again(app: Approvals) -> None:
    app.request_approval("d1", by="f1")
    app.cancel("d1", by="f2", note="Needs changes")
    assert app.status("d1").state is ApprovalState.NONE
    assert app.request_approval("d1", by="f1").number == 2


def test_invoice_lock_and_payment(app: Approvals) -> None:
    app.lock_to_invoice("d3", invoice_id="INV-7", by="f1")
    status = app.status("d3")
    assert (status.pending_payment, status.invoice_id) == (True, "INV-7")
    assert status.state is ApprovalState.NONE
    app.mark_invoice_paid("d3", invoice_id="INV-7", by="c1")
    assert app.status("d3").pending_payment is False


def test_batch_request_records_every_document(app: Approvals) -> None:
    cycles = app.request_approvals(
        ["d1", BatchRequest("d2", message="Second", reminders=ReminderPolicy())],
        by="f1",
    )
    assert [c.document.document_id for c in cycles] == ["d1", "d2"]
    assert app.status("d1").state is ApprovalState.PENDING
    assert app.cycles("d2")[0].message == "Second"


def test_batch_request_is_all_or_nothing(app: Approvals) -> None:
    app.request_approval("d3", by="f1")
    error = refused(
        app,
        AlreadyPendingError,
        lambda: app.request_approvals(["d1", "d2", "d3"], by="f1"),
    )
    assert "d3" in str(error)
    assert app.status("d1").state is ApprovalState.NONE
    refused(
        app,
        DocumentNotVisibleError,
        lambda: app.request_approvals(["d1", "hidden"], by="f1"),
    )
    refused(
        app,
        InvalidInputError,
        lambda: app.request_approvals(["d1", "d1"], by="f1"),
        "names a document twice",
    )
    refused(app, InvalidInputError, lambda: app.request_approvals([], by="f1"))


def test_batch_request_checks_documents_its_read_models_have_not_seen(
    app: Approvals,
) -> None:
    # Documents recorded while the read models did not follow (inline writing
    # off): the batch cannot trust them to say which documents are new.
    app.refresh_views_after_write = False
    app.request_approval("d3", by="f1")
    app.request_approval("d2", by="f1")
    app.cancel("d2", by="f1")
    assert app.views.recorded(["d1", "d2", "d3"]) == set()
    refused(
        app,
        AlreadyPendingError,
        lambda: app.request_approvals(["d1", "d2", "d3"], by="f1"),
    )
    cycles = app.request_approvals(["d1", "d2"], by="f1")
    assert [c.number for c in cycles] == [1, 2]
    assert app.status("d2").state is ApprovalState.PENDING


def test_queries_on_an_unknown_document_answer_never_requested(app: Approvals) -> None:
    assert app.status("nope").state is ApprovalState.NONE
    assert app.cycles("nope") == ()
    assert app.history("nope") == ()
    assert app.get_request("nope") is None


# -- authorization -------------------------------------------------------------


@pytest.mark.parametrize("user", ["c1", "g1", "stranger"])
def test_only_firm_members_request(app: Approvals, user: str) -> None:
    error = refused(
        app, NotAuthorizedError, lambda: app.request_approval("d1", by=user)
    )
    assert isinstance(error, NotAuthorizedError)
    assert error.user_id == user
    assert "only firm members" in str(error)


@pytest.mark.parametrize("user", ["c1", "stranger"])
def test_only_firm_members_resend_cancel_and_lock(app: Approvals, user: str) -> None:
    app.request_approval("d1", by="f1")
    refused(app, NotAuthorizedError, lambda: app.resend("d1", by=user))
    refused(app, NotAuthorizedError, lambda: app.cancel("d1", by=user))
    refused(
        app,
        NotAuthorizedError,
        lambda: app.lock_to_invoice("d1", invoice_id="I", by=user),
    )


@pytest.mark.parametrize("user", ["f1", "g1", "stranger"])
def test_only_linked_client_users_decide(app: Approvals, user: str) -> None:
    app.request_approval("d1", by="f1")
    refused(app, NotAuthorizedError, lambda: app.approve("d1", by=user), "linked")
    refused(
        app,
        NotAuthorizedError,
        lambda: app.reject("d1", by=user, reasons=["no"]),
        # The refusal names no account: it is the same for a document that
        # does not exist (test_a_client_cannot_tell_...).
        "documents of the accounts they are linked to",
    )
    assert app.status("d1").state is ApprovalState.PENDING


def test_an_unlinked_user_loses_the_right_to_decide(
    app: Approvals, directory: InMemoryDirectory
) -> None:
    app.request_approval("d1", by="f1")
    directory.unlink("acme", "c1")
    refused(app, NotAuthorizedError, lambda: app.approve("d1", by="c1"))


def test_paying_needs_a_firm_member_or_a_linked_client(app: Approvals) -> None:
    app.lock_to_invoice("d1", invoice_id="INV-1", by="f1")
    refused(
        app,
        NotAuthorizedError,
        lambda: app.mark_invoice_paid("d1", invoice_id="INV-1", by="g1"),
    )
    app.mark_invoice_paid("d1", invoice_id="INV-1", by="f2")


# -- wrong state ---------------------------------------------------------------


def test_request_while_pending_is_refused(app: Approvals) -> None:
    app.request_approval("d1", by="f1")
    refused(
        app,
        AlreadyPendingError,
        lambda: app.request_approval("d1", by="f2"),
        "resend or cancel",
    )


@pytest.mark.parametrize(
    "command",
    [
        lambda app: app.resend("d1", by="f1"),
        lambda app: app.cancel("d1", by="f1"),
        lambda app: app.approve("d1", by="c1"),
        lambda app: app.reject("d1", by="c1", reasons=["x"]),
    ],
    ids=["resend", "cancel", "approve", "reject"],
)
def test_commands_needing_a_pending_request(
    app: Approvals, command: Callable[[Approvals], object]
) -> None:
    refused(app, NotPendingError, lambda: command(app), "never requested")
    app.request_approval("d1", by="f1")
    app.approve("d1", by="c1")
    refused(app, NotPendingError, lambda: command(app), "it is approved")


def test_marking_paid_without_a_lock_is_refused(app: Approvals) -> None:
    refused(
        app,
        NotPendingError,
        lambda: app.mark_invoice_paid("d1", invoice_id="I", by="f1"),
    )
    app.request_approval("d1", by="f1")
    refused(
        app,
        InvalidStateError,
        lambda: app.mark_invoice_paid("d1", invoice_id="I", by="f1"),
        "not locked",
    )


# -- documents ----------------------------------------------------------------


def test_unknown_document_is_refused(app: Approvals) -> None:
    refused(app, UnknownDocumentError, lambda: app.request_approval("nope", by="f1"))
    # A client is refused as for another account's document (see below).
    refused(app, NotAuthorizedError, lambda: app.approve("nope", by="c1"))
    refused(
        app,
        UnknownDocumentError,
        lambda: app.lock_to_invoice("nope", invoice_id="I", by="f1"),
    )
    refused(
        app,
        UnknownDocumentError,
        lambda: app.record_activity("nope", kind="sent", by="f1"),
    )


def test_a_client_cannot_tell_a_missing_document_from_another_accounts(
    app: Approvals,
) -> None:
    app.request_approval("g-doc", by="f1")  # globex's; c1 is acme's
    commands: dict[str, Callable[[str], object]] = {
        "approve": lambda doc: app.approve(doc, by="c1"),
        "reject": lambda doc: app.reject(doc, by="c1", reasons=["No"]),
        "mark paid": lambda doc: app.mark_invoice_paid(doc, invoice_id="I", by="c1"),
        "activity": lambda doc: app.record_activity(doc, kind="downloaded", by="c1"),
    }
    for name, command in commands.items():
        answers = []
        for doc in ("g-doc", "no-such-doc"):
            with pytest.raises(ApprovalFlowError) as caught:
                command(doc)
            answers.append((type(caught.value), str(caught.value)))
        assert answers[0] == answers[1], name
        assert answers[0][0] is NotAuthorizedError
        assert "globex" not in answers[0][1]
    queries = app.queries_for("c1")
    asks: list[Callable[[str], object]] = [
        queries.status,
        queries.history,
        queries.client_view,
        queries.cycles,
    ]
    for ask in asks:
        answers = []
        for doc in ("g-doc", "no-such-doc"):
            with pytest.raises(ApprovalFlowError) as caught:
                ask(doc)
            answers.append((type(caught.value), str(caught.value)))
        assert answers[0] == answers[1]
        assert answers[0][0] is NotAuthorizedError


def test_hidden_document_is_refused(app: Approvals) -> None:
    refused(
        app,
        DocumentNotVisibleError,
        lambda: app.request_approval("hidden", by="f1"),
        "client-visible folder",
    )


def test_document_of_another_account_is_refused(app: Approvals) -> None:
    error = refused(
        app,
        DocumentAccountMismatchError,
        lambda: app.request_approval("g-doc", by="f1", account_id="acme"),
    )
    assert isinstance(error, DocumentAccountMismatchError)
    assert (error.expected_account_id, error.actual_account_id) == ("acme", "globex")


# -- bad input -----------------------------------------------------------------

BAD_REQUESTS: list[tuple[dict[str, Any], str, str]] = [
    ({"document_id": 7}, "document_id", "got int"),
    ({"document_id": ""}, "document_id", "empty"),
    ({"document_id": " d1"}, "document_id", "surrounding spaces"),
    ({"document_id": "d" * 201}, "document_id", "201 characters"),
    ({"by": None}, "by", "got NoneType"),
    ({"by": "   "}, "by", "empty"),
    ({"account_id": ""}, "account_id", "empty"),
    ({"message": ""}, "message", "empty"),
    ({"message": " \n\t "}, "message", "empty"),
    ({"message": "x" * 10_001}, "message", "10,001 characters"),
    ({"message": "bell\x07"}, "message", "U+0007"),
    ({"message": b"bytes"}, "message", "got bytes"),
    ({"reminders": {"days_before_next": 0}}, "days_before_next", "got 0"),
    ({"reminders": {"count": 31}}, "count", "got 31"),
    ({"reminders": {"every": 3}}, "reminders", "unknown settings"),
    ({"reminders": 3}, "reminders", "got int"),
    ({"entry_point": "email"}, "entry_point", "'viewer', 'upload', 'list'"),
]


@pytest.mark.parametrize(("override", "field", "problem"), BAD_REQUESTS)
def test_bad_request_arguments_are_refused(
    app: Approvals, override: dict[str, Any], field: str, problem: str
) -> None:
    kwargs: dict[str, Any] = {"document_id": "d1", "by": "f1", **override}
    error = refused(app, InvalidInputError, lambda: app.request_approval(**kwargs))
    assert isinstance(error, InvalidInputError)
    assert error.field == field
    assert problem in str(error)
    assert "allowed:" in str(error)


BAD_DECISIONS: list[tuple[str, dict[str, Any], str]] = [
    ("approve", {"comment": "x" * 2001}, "comment"),
    ("approve", {"comment": ""}, "comment"),
    ("approve", {"comment": "nul\x00"}, "comment"),
    ("reject", {"reasons": []}, "reasons"),
    ("reject", {"reasons": "Wrong"}, "reasons"),
    ("reject", {"reasons": ["ok", ""]}, "reasons[1]"),
    ("reject", {"reasons": ["x" * 2001]}, "reasons[0]"),
    ("reject", {"reasons": ["ok"], "comment": "x" * 2001}, "comment"),
    ("cancel", {"note": "\x1b[31m"}, "note"),
    ("resend", {"message": "x" * 10_001}, "message"),
    ("resend", {"reminders": {"days_before_next": 366}}, "days_before_next"),
]


@pytest.mark.parametrize(("command", "kwargs", "field"), BAD_DECISIONS)
def test_bad_arguments_of_other_commands_are_refused(
    app: Approvals, command: str, kwargs: dict[str, Any], field: str
) -> None:
    app.request_approval("d1", by="f1")
    by = "f1" if command in ("cancel", "resend") else "c1"
    error = refused(
        app, InvalidInputError, lambda: getattr(app, command)("d1", by=by, **kwargs)
    )
    assert isinstance(error, InvalidInputError)
    assert error.field == field
    assert app.status("d1").state is ApprovalState.PENDING


def test_windows_line_ends_in_a_message_are_kept_as_line_breaks(app: Approvals) -> None:
    cycle = app.request_approval("d1", by="f1", message="Hello\r\nWorld")
    assert cycle.message == "Hello\nWorld"


# -- ports ---------------------------------------------------------------------


def test_commands_need_a_directory_but_queries_do_not(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    with connect(url, directory=InMemoryDirectory.from_data({})) as app:
        pass
    with connect(url) as app:
        with pytest.raises(ConfigurationError, match="no directory port"):
            app.request_approval("d1", by="f1")
        assert app.history("d1") == ()


def test_a_clock_returning_naive_time_is_a_configuration_error(
    directory: InMemoryDirectory,
) -> None:
    class NaiveClock:
        def now(self) -> Any:
            return START.replace(tzinfo=None)

    with connect("memory://", directory=directory, clock=NaiveClock()) as app:
        with pytest.raises(ConfigurationError, match="naive"):
            app.request_approval("d1", by="f1")
        assert stored_records(app) == []


def test_times_come_from_the_clock_port(
    app: Approvals, clock: ControllableClock
) -> None:
    clock.advance(days=40, minutes=7)
    app.request_approval("d1", by="f1")
    assert [e.at for e in app.history("d1")] == [clock.now(), clock.now()]
    assert all(e.at.utcoffset() == timedelta(0) for e in app.history("d1"))


@pytest.mark.parametrize("bad", [None, "", " d1", "x" * 201, 12, "a\nb"])
def test_queries_and_remind_check_the_document_id(app: Approvals, bad: object) -> None:
    calls: list[Callable[[Any], object]] = [
        app.remind,
        app.status,
        app.cycles,
        app.history,
        app.get_request,
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="document_id"):
            call(bad)


def test_an_invoice_is_paid_by_the_clients_of_the_account_it_was_locked_in(
    app: Approvals, directory: InMemoryDirectory
) -> None:
    # Requested while in acme; then the document moves to globex and is
    # locked to globex's invoice: globex's client pays it, acme's may not.
    app.request_approval("d1", by="f1")
    app.approve("d1", by="c1")
    moved = attrs.evolve(directory.documents["d1"].facts, account_id="globex")
    directory.add_document(moved)
    app.lock_to_invoice("d1", invoice_id="INV-9", by="f1")
    refused(
        app,
        NotAuthorizedError,
        lambda: app.mark_invoice_paid("d1", invoice_id="INV-9", by="c1"),
    )
    app.mark_invoice_paid("d1", invoice_id="INV-9", by="g1")
    assert app.status("d1").pending_payment is False


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("message", MAX_MESSAGE),
        ("comment", MAX_COMMENT),
        ("reason", MAX_REASON),
    ],
)
def test_texts_of_exactly_the_maximum_length_are_kept_one_more_is_refused(
    app: Approvals, field: str, limit: int
) -> None:
    if field != "message":
        app.request_approval("d1", by="f1")

    def attempt(length: int) -> None:
        text = "x" * length
        if field == "message":
            app.request_approval("d1", by="f1", message=text)
        elif field == "comment":
            app.approve("d1", by="c1", comment=text)
        else:
            app.reject("d1", by="c1", reasons=[text])

    refused(app, InvalidInputError, lambda: attempt(limit + 1), match=f"{limit + 1:,}")
    attempt(limit)
    expected = {
        "message": ApprovalState.PENDING,
        "comment": ApprovalState.APPROVED,
        "reason": ApprovalState.REJECTED,
    }
    assert app.status("d1").state is expected[field]


def test_names_and_ids_of_exactly_the_maximum_length_are_kept(
    app: Approvals, directory: InMemoryDirectory
) -> None:
    long_id = "d" * MAX_ID
    facts = DocumentFacts(long_id, "acme", "n" * MAX_NAME, "pdf", "u" * MAX_NAME)
    directory.add_document(facts)
    assert app.request_approval(long_id, by="f1").document.name == "n" * MAX_NAME
    with pytest.raises(InvalidInputError, match="document_id"):
        app.request_approval(long_id + "d", by="f1")
    with pytest.raises(InvalidInputError, match="name"):
        DocumentFacts("d9", "acme", "n" * (MAX_NAME + 1), "pdf", "Anna")


def test_the_maximum_number_of_reasons_is_kept_one_more_is_refused(
    app: Approvals,
) -> None:
    app.request_approval("d1", by="f1")
    too_many = [f"reason {n}" for n in range(MAX_REASONS + 1)]
    refused(app, InvalidInputError, lambda: app.reject("d1", by="c1", reasons=too_many))
    app.reject("d1", by="c1", reasons=too_many[:MAX_REASONS])
    assert app.status("d1").state is ApprovalState.REJECTED
