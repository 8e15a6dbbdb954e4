"""Random command histories against a plain-Python model of the rules.

Random commands from random actors (firm members, linked client users, users
of another account, strangers) over several documents, with the clock moving
on. After every step the application's answers equal the model's, every
aggregate reloaded from the store equals the repository's, refused commands
left the store unchanged, reminders never exceed the policy, and no document
has two pending cycles.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from approvalflow import (
    KEEP,
    AlreadyPendingError,
    ApprovalFlowError,
    ApprovalRequest,
    ApprovalState,
    DocumentNotVisibleError,
    InvalidInputError,
    InvalidStateError,
    NotAuthorizedError,
    NotPendingError,
    ReminderPolicy,
    ReminderSchedule,
    UnknownDocumentError,
    approval_request_id,
    connect,
)
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory, postgres_url, stored_records
from tests.view_model import actual_lists, expected_lists

FIRM = ("f1", "f2")
ACME_USERS = ("c1", "c2")  # linked to acme (c2 with Notify off)
USERS = (*FIRM, *ACME_USERS, "g1", "stranger")
DOCUMENTS = ("d1", "d2", "d3", "g-doc", "hidden", "unknown")
ACCOUNT = {
    "d1": "acme",
    "d2": "acme",
    "d3": "acme",
    "g-doc": "globex",
    "hidden": "acme",
}
LINKED = {"acme": set(ACME_USERS), "globex": {"g1"}}

# Valid actors and the main documents are drawn more often than the rest, so
# histories get deep (several cycles, reminders) while bad actors still appear.
firm_users = st.sampled_from(FIRM) | st.sampled_from(USERS)
client_users = st.sampled_from(ACME_USERS) | st.sampled_from(USERS)
main_docs = st.sampled_from(DOCUMENTS[:2]) | st.sampled_from(DOCUMENTS)

policies = st.none() | st.builds(
    ReminderPolicy, days_before_next=st.integers(1, 5), count=st.integers(1, 3)
)
messages = st.none() | st.sampled_from(["Please review", "Merci de valider"])


@dataclass
class ModelCycle:
    outcome: str  # pending / approved / rejected / cancelled
    policy: ReminderPolicy | None
    last_contact: datetime
    in_schedule: int = 0
    reminders_sent: int = 0

    def next_due(self) -> datetime | None:
        if self.outcome != "pending" or self.policy is None:
            return None
        if self.in_schedule >= self.policy.count:
            return None
        return self.last_contact + self.policy.interval


@dataclass
class ModelDocument:
    cycles: list[ModelCycle] = field(default_factory=list)
    invoice: str | None = None
    paid: bool = False
    exists: bool = False
    events: int = 0  # stored events, counting the record's creation

    def recorded(self, count: int = 1) -> None:
        if not self.exists:
            self.exists, self.events = True, 1
        self.events += count

    @property
    def pending(self) -> ModelCycle | None:
        if self.cycles and self.cycles[-1].outcome == "pending":
            return self.cycles[-1]
        return None

    def state(self) -> ApprovalState:
        if not self.cycles:
            return ApprovalState.NONE
        return {
            "pending": ApprovalState.PENDING,
            "approved": ApprovalState.APPROVED,
            "rejected": ApprovalState.REJECTED,
            "cancelled": ApprovalState.NONE,
        }[self.cycles[-1].outcome]


class ApprovalsMachine(RuleBasedStateMachine):
    """Drives Approvals and a model side by side."""

    def store_url(self) -> str:
        return "memory://"

    def __init__(self) -> None:
        super().__init__()
        self.clock = ControllableClock(START)
        # The model counts reminders in plain elapsed days (the business
        # schedule has its own model in tests/unit/test_schedules.py).
        self.app = connect(
            self.store_url(),
            directory=make_directory(),
            clock=self.clock,
            reminder_schedule=ReminderSchedule.elapsed(),
        )
        self.model = {doc: ModelDocument() for doc in DOCUMENTS}

    def teardown(self) -> None:
        event(f"events stored: {len(stored_records(self.app)) // 10 * 10}+")
        try:
            # A full rebuild gives the same lists as following the log did.
            followed = actual_lists(self.app)
            self.app.rebuild_views()
            assert actual_lists(self.app) == followed
        finally:
            self.app.close()

    # -- helpers -------------------------------------------------------------

    def run(self, expected: type[ApprovalFlowError] | None, command: Any) -> None:
        """Run a command; it must fail with ``expected``, or succeed if None."""
        if expected is None:
            command()
            return
        before = stored_records(self.app)
        with pytest.raises(expected):
            command()
        assert stored_records(self.app) == before, "a refused command wrote"

    def requestable_error(self, doc: str) -> type[ApprovalFlowError] | None:
        if doc not in ACCOUNT:
            return UnknownDocumentError
        if doc == "hidden":
            return DocumentNotVisibleError
        if self.model[doc].pending:
            return AlreadyPendingError
        return None

    def decision_error(self, doc: str, user: str) -> type[ApprovalFlowError] | None:
        if doc not in ACCOUNT:
            # Only a firm member learns that a document does not exist.
            return UnknownDocumentError if user in FIRM else NotAuthorizedError
        if user not in LINKED[ACCOUNT[doc]]:
            return NotAuthorizedError
        if not self.model[doc].pending:
            return NotPendingError
        return None

    def pending_error(self, doc: str, user: str) -> type[ApprovalFlowError] | None:
        if user not in FIRM:
            return NotAuthorizedError
        if not self.model[doc].pending:
            return NotPendingError
        return None

    def now(self) -> datetime:
        return self.clock.now()

    # -- rules ---------------------------------------------------------------

    @rule(
        doc=main_docs,
        user=firm_users,
        policy=policies,
        message=messages,
    )
    def request(
        self, doc: str, user: str, policy: ReminderPolicy | None, message: str | None
    ) -> None:
        expected = (
            NotAuthorizedError if user not in FIRM else self.requestable_error(doc)
        )
        self.run(
            expected,
            lambda: self.app.request_approval(
                doc, by=user, message=message, reminders=policy
            ),
        )
        if expected is None:
            self.model[doc].cycles.append(ModelCycle("pending", policy, self.now()))
            self.model[doc].recorded()

    @rule(
        docs=st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=4),
        user=st.sampled_from(USERS),
    )
    def request_batch(self, docs: list[str], user: str) -> None:
        expected: type[ApprovalFlowError] | None
        if len(set(docs)) != len(docs):
            expected = InvalidInputError
        elif user not in FIRM:
            expected = NotAuthorizedError
        else:
            # Directory checks come first for every document, then states.
            lookups = [self.requestable_error(d) for d in docs]
            lookup = next(
                (
                    e
                    for e in lookups
                    if e in (UnknownDocumentError, DocumentNotVisibleError)
                ),
                None,
            )
            expected = lookup or next((e for e in lookups if e), None)
        self.run(expected, lambda: self.app.request_approvals(docs, by=user))
        if expected is None:
            for doc in docs:
                self.model[doc].cycles.append(ModelCycle("pending", None, self.now()))
                self.model[doc].recorded()

    @rule(
        doc=main_docs.filter(lambda d: d in DOCUMENTS[:4]),
        user=firm_users,
        change=st.sampled_from(["keep", "off", "new"]),
        policy=st.builds(ReminderPolicy, st.integers(1, 5), st.integers(1, 3)),
        message=messages,
    )
    def resend(
        self,
        doc: str,
        user: str,
        change: str,
        policy: ReminderPolicy,
        message: str | None,
    ) -> None:
        reminders: Any = {"keep": KEEP, "off": None, "new": policy}[change]
        expected = self.pending_error(doc, user)
        self.run(
            expected,
            lambda: self.app.resend(doc, by=user, message=message, reminders=reminders),
        )
        if expected is None:
            cycle = self.model[doc].pending
            assert cycle is not None
            if change != "keep":
                cycle.policy = reminders
            cycle.last_contact = self.now()
            cycle.in_schedule = 0
            self.model[doc].recorded()

    @rule(doc=main_docs.filter(lambda d: d in DOCUMENTS[:4]), user=firm_users)
    def cancel(self, doc: str, user: str) -> None:
        expected = self.pending_error(doc, user)
        self.run(expected, lambda: self.app.cancel(doc, by=user, note="Needs changes"))
        if expected is None:
            cycle = self.model[doc].pending
            assert cycle is not None
            cycle.outcome = "cancelled"
            self.model[doc].recorded()

    @rule(doc=main_docs, user=client_users)
    def approve(self, doc: str, user: str) -> None:
        expected = self.decision_error(doc, user)
        self.run(expected, lambda: self.app.approve(doc, by=user))
        if expected is None:
            cycle = self.model[doc].pending
            assert cycle is not None
            cycle.outcome = "approved"
            self.model[doc].recorded()

    @rule(
        doc=main_docs,
        user=client_users,
        reasons=st.lists(
            st.sampled_from(["Wrong year", "Missing page", ""]), max_size=2
        ),
    )
    def reject(self, doc: str, user: str, reasons: list[str]) -> None:
        bad_input = not reasons or "" in reasons or len(set(reasons)) != len(reasons)
        expected = InvalidInputError if bad_input else self.decision_error(doc, user)
        self.run(expected, lambda: self.app.reject(doc, by=user, reasons=reasons))
        if expected is None:
            cycle = self.model[doc].pending
            assert cycle is not None
            cycle.outcome = "rejected"
            self.model[doc].recorded()

    @initialize(d1=policies, d2=policies)
    def some_requests_are_pending(
        self, d1: ReminderPolicy | None, d2: ReminderPolicy | None
    ) -> None:
        # Start from two pending requests so histories get deep quickly.
        self.request("d1", "f1", d1, "Please review")
        self.request("d2", "f2", d2, None)

    @rule(doc=main_docs)
    def remind(self, doc: str) -> None:
        cycle = self.model[doc].pending
        due = cycle.next_due() if cycle else None
        expected = due is not None and self.now() >= due
        assert self.app.remind(doc) is expected
        if expected:
            assert cycle is not None
            cycle.in_schedule += 1
            cycle.reminders_sent += 1
            cycle.last_contact = self.now()
            self.model[doc].recorded()
            event("a reminder was recorded")

    @rule()
    def send_due_reminders(self) -> None:
        """The worker's pass: every due reminder, found through the index."""
        due = sorted(
            doc
            for doc, model in self.model.items()
            if (cycle := model.pending) is not None
            and (when := cycle.next_due()) is not None
            and self.now() >= when
        )
        assert sorted(self.app.send_due_reminders()) == due
        for doc in due:
            cycle = self.model[doc].pending
            assert cycle is not None
            cycle.in_schedule += 1
            cycle.reminders_sent += 1
            cycle.last_contact = self.now()
            self.model[doc].recorded()

    @rule(hours=st.integers(1, 24 * 6))
    def scheduler_pass(self, hours: int) -> None:
        """Time passes, then the scheduler tries every document once."""
        self.clock.advance(timedelta(hours=hours))
        for doc in DOCUMENTS:
            self.remind(doc)

    @rule(
        doc=st.sampled_from(DOCUMENTS),
        user=st.sampled_from(USERS),
        invoice=st.sampled_from(["INV-1", "INV-2"]),
    )
    def lock_to_invoice(self, doc: str, user: str, invoice: str) -> None:
        model = self.model[doc]
        expected: type[ApprovalFlowError] | None = None
        if user not in FIRM:
            expected = NotAuthorizedError
        elif doc not in ACCOUNT:
            expected = UnknownDocumentError
        elif model.invoice is not None and not model.paid:
            expected = InvalidStateError
        self.run(
            expected,
            lambda: self.app.lock_to_invoice(doc, invoice_id=invoice, by=user),
        )
        if expected is None:
            model.invoice, model.paid = invoice, False
            model.recorded()

    @rule(
        doc=st.sampled_from(DOCUMENTS),
        user=st.sampled_from(USERS),
        invoice=st.sampled_from(["INV-1", "INV-2"]),
    )
    def mark_invoice_paid(self, doc: str, user: str, invoice: str) -> None:
        model = self.model[doc]
        expected: type[ApprovalFlowError] | None = None
        if doc not in ACCOUNT:
            expected = UnknownDocumentError if user in FIRM else NotAuthorizedError
        elif user not in FIRM and user not in LINKED[ACCOUNT[doc]]:
            expected = NotAuthorizedError
        if expected is None:
            if not model.exists:
                expected = NotPendingError
            elif model.invoice != invoice or model.paid:
                expected = InvalidStateError
        self.run(
            expected,
            lambda: self.app.mark_invoice_paid(doc, invoice_id=invoice, by=user),
        )
        if expected is None:
            model.paid = True
            model.recorded()

    @rule(
        doc=main_docs,
        user=firm_users,
        kind=st.sampled_from(["uploaded", "modified", "sent", "downloaded"]),
    )
    def record_activity(self, doc: str, user: str, kind: str) -> None:
        expected: type[ApprovalFlowError] | None = None
        if doc not in ACCOUNT:
            expected = UnknownDocumentError if user in FIRM else NotAuthorizedError
        elif user not in FIRM and user not in LINKED[ACCOUNT[doc]]:
            expected = NotAuthorizedError
        self.run(expected, lambda: self.app.record_activity(doc, kind=kind, by=user))
        if expected is None:
            self.model[doc].recorded()

    @rule(days=st.integers(20, 35))
    def weeks_pass(self, days: int) -> None:
        """Long jumps carry documents out of the 30-day recent list."""
        self.clock.advance(timedelta(days=days))

    @rule(hours=st.integers(0, 24 * 6))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule(message=st.sampled_from(["", "   ", "nul\x00"]) | st.just("x" * 10_001))
    def bad_message(self, message: str) -> None:
        self.run(
            InvalidInputError,
            lambda: self.app.request_approval("d1", by="f1", message=message),
        )

    # -- invariants ------------------------------------------------------------

    @invariant()
    def answers_match_the_model(self) -> None:
        for doc, model in self.model.items():
            status = self.app.status(doc)
            assert status.state is model.state(), doc
            assert status.pending_payment == (
                model.invoice is not None and not model.paid
            )
            pending = model.pending
            assert status.next_reminder_at == (pending.next_due() if pending else None)
            cycles = self.app.cycles(doc)
            assert [c.outcome.value for c in cycles] == [
                c.outcome for c in model.cycles
            ]
            assert [c.reminders_sent for c in cycles] == [
                c.reminders_sent for c in model.cycles
            ]
            assert len(self.app.history(doc)) == model.events
            row = self.app.views.document(doc)
            if row is not None:  # the due-reminders index agrees
                assert row.next_reminder_at == status.next_reminder_at

    @invariant()
    def lists_match_an_independent_fold_of_the_events(self) -> None:
        assert actual_lists(self.app) == expected_lists(self.app, self.now())

    @invariant()
    def reloading_from_the_store_gives_the_same_aggregate(self) -> None:
        for doc in DOCUMENTS:
            live = self.app.get_request(doc)
            replayed: Any = None
            stored: Any
            for stored in self.app.events.get(approval_request_id(doc)):
                replayed = stored.mutate(replayed)
            assert (live is None) == (replayed is None)
            if live is not None:
                assert isinstance(replayed, ApprovalRequest)
                assert replayed == live

    @invariant()
    def rules_that_always_hold(self) -> None:
        for doc in DOCUMENTS:
            cycles = self.app.cycles(doc)
            # At most one pending cycle, and only the latest can be pending.
            assert not any(c.is_pending for c in cycles[:-1])
            for cycle in cycles:
                limit = cycle.reminders.count if cycle.reminders else 0
                assert cycle.reminders_in_schedule <= limit
            times = [e.at for e in self.app.history(doc)]
            assert times == sorted(times)


class SQLiteApprovalsMachine(ApprovalsMachine):
    """The same machine on an SQLite file, reopened at the end of each run."""

    def store_url(self) -> str:
        self.folder = tempfile.mkdtemp(prefix="approvalflow-stateful-")
        return f"sqlite:///{self.folder}/approvals.sqlite3"

    def teardown(self) -> None:
        # A second application on the same file must see the same answers.
        try:
            with connect(self.store_url_used) as reopened:
                for doc in DOCUMENTS:
                    assert reopened.status(doc) == self.app.status(doc)
                    assert reopened.history(doc) == self.app.history(doc)
        finally:
            super().teardown()
            shutil.rmtree(self.folder, ignore_errors=True)

    def __init__(self) -> None:
        super().__init__()
        self.store_url_used = f"sqlite:///{self.folder}/approvals.sqlite3"


class PostgresApprovalsMachine(ApprovalsMachine):
    """The same machine on PostgreSQL, each run in a fresh schema."""

    server: ClassVar[Any] = None

    def store_url(self) -> str:
        assert self.server is not None, "the postgres fixture starts the server"
        return postgres_url(self.server)


@pytest.fixture(autouse=True)
def _postgres_for_the_machine(request: pytest.FixtureRequest) -> None:
    # unittest-style test classes take no fixtures; hand the server over here.
    if "Postgres" in request.node.nodeid:
        PostgresApprovalsMachine.server = request.getfixturevalue("postgres")


TestApprovalsOnPOPO = ApprovalsMachine.TestCase
TestApprovalsOnPOPO.settings = settings(settings.default, stateful_step_count=50)

TestApprovalsOnSQLite = SQLiteApprovalsMachine.TestCase
TestApprovalsOnSQLite.settings = settings(
    settings.default,
    stateful_step_count=40,
    max_examples=max(20, settings().max_examples // 3),
)

TestApprovalsOnPostgres = PostgresApprovalsMachine.TestCase
TestApprovalsOnPostgres.settings = settings(
    settings.default,
    stateful_step_count=40,
    max_examples=max(20, settings().max_examples // 3),
)
