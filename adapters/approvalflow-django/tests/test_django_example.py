"""The example Django host (examples/django_host), end to end.

Django's test client drives its views; ``manage.py approvalflow_worker``
sends the emails through Django's ``locmem`` backend, and what a user would
see is asserted: pages, recipients, subjects, links.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from approvalflow_django import get_approvals
from approvalflow_django.testing import run_worker
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from firm.models import ClientAccount, Document, Staff

from approvalflow import ApprovalState
from conftest import EXAMPLE, migrate


def _as(user: str) -> dict[str, str]:
    return {"X-User": user}


def _worker_once() -> str:
    out = io.StringIO()
    call_command("approvalflow_worker", "--once", stdout=out)
    return out.getvalue()


@pytest.mark.usefixtures("database", "host")
def test_request_decide_list_and_email_through_the_host() -> None:
    client = Client()
    asked = client.post(
        "/documents/tax-2025/request-approval",
        {
            "message": "Please check the figures.",
            "reminder_days": "3",
            "reminder_count": "2",
        },
        headers=_as("anna"),
    )
    assert asked.status_code == 303
    page = client.get(asked["Location"]).content.decode()
    assert "2025 Tax return" in page
    assert "Approval: pending" in page

    assert (
        "2025 Tax return"
        in client.get("/recent?filter=pending_approval").content.decode()
    )
    assert (
        "2025 Tax return" in client.get("/accounts/dupont/approvals").content.decode()
    )
    assert (
        "2025 Tax return" not in client.get("/recent?filter=approved").content.decode()
    )

    assert "1 message sent, 0 refused" in _worker_once()
    [request_email] = mail.outbox
    assert request_email.to == [
        "Claire Dupont <claire@dupont.example>"
    ]  # Marc: Notify off
    assert "2025 Tax return" in request_email.subject
    assert "https://portal.martin.example/accounts/dupont/documents/tax-2025" in (
        request_email.body
    )
    assert "Please check the figures." in request_email.body

    rejected = client.post(
        "/documents/tax-2025/reject",
        {"reasons": "Wrong period\nMissing page 3"},
        headers=_as("claire"),
    )
    assert rejected.status_code == 303
    assert "Approval: rejected" in client.get("/documents/tax-2025").content.decode()
    _worker_once()
    decision = mail.outbox[-1]
    assert decision.to == ["Anna Martin <anna@martin.example>"]  # wants approval emails
    assert "Wrong period" in decision.body

    client.post("/documents/tax-2025/request-approval", {}, headers=_as("anna"))
    approved = client.post(
        "/documents/tax-2025/approve", {"comment": "Thanks"}, headers=_as("claire")
    )
    assert approved.status_code == 303
    assert "2025 Tax return" in client.get("/recent?filter=approved").content.decode()
    assert get_approvals().status("tax-2025").state is ApprovalState.APPROVED


@pytest.mark.usefixtures("database", "host")
def test_refusals_are_pages_saying_what_was_wrong() -> None:
    client = Client()
    refused = client.post(
        "/documents/tax-2025/request-approval", {}, headers=_as("claire")
    )
    assert refused.status_code == 403
    assert "only firm members" in refused.content.decode()
    unknown = client.post(
        "/documents/nothing/request-approval", {}, headers=_as("anna")
    )
    assert unknown.status_code == 404
    not_pending = client.post("/documents/tax-2025/approve", {}, headers=_as("claire"))
    assert not_pending.status_code == 409
    assert get_approvals().history("tax-2025") == ()


@pytest.mark.usefixtures("database", "host")
def test_a_host_write_and_a_request_roll_back_together() -> None:
    dupont = ClientAccount.objects.get(code="dupont")
    anna = Staff.objects.get(username="anna")

    def file_and_request() -> None:
        with transaction.atomic():
            Document.objects.create(
                ref="payroll-03",
                account=dupont,
                name="March payroll",
                file_type="xlsx",
                uploaded_by=anna,
            )
            get_approvals().request_approval("payroll-03", by="anna")
            raise RuntimeError  # anything failing later in the host's transaction

    with pytest.raises(RuntimeError):
        file_and_request()
    assert not Document.objects.filter(ref="payroll-03").exists()
    assert get_approvals().status("payroll-03").state is ApprovalState.NONE
    assert "March payroll" not in Client().get("/recent").content.decode()
    assert "0 events delivered" in _worker_once()
    assert mail.outbox == []


@pytest.mark.usefixtures("database", "host")
def test_filing_a_document_that_cannot_be_requested_files_nothing() -> None:
    client = Client()
    refused = client.post(
        "/accounts/dupont/documents",
        {
            "ref": "notes",
            "name": "Internal notes",
            "file_type": "txt",
            "client_visible": "0",
            "request_approval": "1",
        },
        headers=_as("anna"),
    )
    assert refused.status_code == 409
    assert "not" in refused.content.decode()
    assert not Document.objects.filter(ref="notes").exists()
    filed = client.post(
        "/accounts/dupont/documents",
        {
            "ref": "vat-q1",
            "name": "VAT Q1",
            "file_type": "pdf",
            "request_approval": "1",
        },
        headers=_as("anna"),
    )
    assert filed.status_code == 303
    assert "Approval: pending" in client.get(filed["Location"]).content.decode()


def test_the_worker_command_stops_cleanly_on_sigterm(sqlite_default: Path) -> None:
    migrate()
    env = {**os.environ, "EXAMPLE_DB": str(sqlite_default), "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "approvalflow_worker", "--interval", "0.2"],
        cwd=EXAMPLE,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        assert "worker started" in worker.stderr.readline()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert "worker stopped" in worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _recorded(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "approvalflow.commands" and r.getMessage().endswith("recorded")
    ]


@pytest.mark.usefixtures("database", "host")
def test_recorded_is_logged_when_the_hosts_transaction_commits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="approvalflow.commands")
    with transaction.atomic():
        get_approvals().request_approval("tax-2025", by="anna")
        assert _recorded(caplog) == []  # not yet: the host may still roll back
    assert _recorded(caplog) == ["request_approval of tax-2025 recorded"]
    # Outside any transaction of the host's: its own, committed at once.
    get_approvals().resend("tax-2025", by="anna")
    assert _recorded(caplog)[-1] == "resend of tax-2025 recorded"


@pytest.mark.usefixtures("database", "host")
def test_recorded_is_not_logged_when_the_hosts_transaction_rolls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="approvalflow.commands")

    def ask_then_fail() -> None:
        with transaction.atomic():
            get_approvals().request_approval("tax-2025", by="anna")
            raise RuntimeError  # the host's view fails after asking

    with pytest.raises(RuntimeError):
        ask_then_fail()
    assert get_approvals().status("tax-2025").state is ApprovalState.NONE
    assert _recorded(caplog) == []


def test_the_hosts_own_django_tests_see_approvalflows_mail_in_the_outbox(
    sqlite_default: Path,
) -> None:
    # As a host runs its tests: Django's runner, its TestCase, mail.outbox
    # (examples/django_host/firm/tests.py, using approvalflow_django.testing).
    env = {**os.environ, "EXAMPLE_DB": str(sqlite_default)}
    run = subprocess.run(
        [sys.executable, "manage.py", "test", "firm", "--verbosity", "2"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Ran 2 tests" in run.stderr
    assert "test_the_client_is_emailed_when_asked_to_approve" in run.stderr
    assert run.stderr.rstrip().splitlines()[-2] == "OK"


@pytest.mark.usefixtures("database", "host")
def test_run_worker_sends_in_this_thread_through_djangos_backend() -> None:
    get_approvals().request_approval("tax-2025", by="anna")
    assert mail.outbox == []
    done = run_worker()
    assert (done.sent, done.refused, done.blocked) == (1, 0, False)
    assert done.events >= 1  # the request, and the records of who was told
    assert [m.to for m in mail.outbox] == [["Claire Dupont <claire@dupont.example>"]]
    again = run_worker()  # nothing waits: nothing is sent twice
    assert (again.events, again.sent) == (0, 0)
