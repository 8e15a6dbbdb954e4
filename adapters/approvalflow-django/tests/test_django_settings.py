"""The settings for links, emails, webhooks and the reminder schedule.

Each is checked by ``manage.py check`` under its own id (both ways: a good
value passes, a wrong one is reported with a hint), and each reaches what
approvalflow sends: emails through Django's backend, webhooks to a real
HTTP receiver on loopback.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from approvalflow_django import build_approvals
from approvalflow_django.testing import run_worker
from approvalflow_webhooks import generate_secret, verify
from django.conf import settings
from django.core import checks, mail
from django.test import override_settings

from approvalflow import ReminderPolicy


def _errors(**changes: Any) -> list[tuple[str, str, str]]:
    config = copy.deepcopy(settings.APPROVALFLOW)
    config.update(changes)
    config = {k: v for k, v in config.items() if v is not None}
    with override_settings(APPROVALFLOW=config):
        found = checks.run_checks(tags=["approvalflow"])
    return [(str(e.id), e.msg, str(e.hint)) for e in found]


def _codes(**changes: Any) -> list[str]:
    return [code for code, _, _ in _errors(**changes)]


def test_links_are_e010_and_replace_the_portal_url() -> None:
    assert _codes(LINKS="firm.links.HostLinks") == []
    assert _codes(LINKS="firm.links.HostLinks", PORTAL_URL=None) == []
    assert _codes(PORTAL_URL=None) == ["approvalflow.E005"]  # neither
    [(code, message, _)] = _errors(LINKS="firm.nowhere.Links")
    assert (code, "'firm.nowhere.Links'" in message) == ("approvalflow.E010", True)
    [(code, message, hint)] = _errors(
        LINKS="firm.links.HostLinks", FIRM_URL="https://app.martin.example"
    )
    assert code == "approvalflow.E010"
    assert "FIRM_URL" in message
    assert "leave out" in hint


def test_the_preferences_page_must_be_a_web_address_e005() -> None:
    assert _codes(PREFERENCES_URL="https://portal.martin.example/emails") == []
    [(code, message, _)] = _errors(PREFERENCES_URL="portal/emails")
    assert code == "approvalflow.E005"
    assert "PREFERENCES_URL" in message


def test_reply_to_and_logo_are_e012() -> None:
    assert (
        _codes(
            REPLY_TO="office@martin.example",
            LOGO_URL="https://martin.example/logo.png",
        )
        == []
    )
    assert _codes(REPLY_TO="office at martin") == ["approvalflow.E012"]
    [(code, message, _)] = _errors(LOGO_URL="ftp://martin.example/logo.png")
    assert code == "approvalflow.E012"
    assert "logo_url" in message


def test_a_webhook_is_e011_and_its_secret_is_never_repeated() -> None:
    secret = generate_secret()
    good = {"URL": "https://billing.example/hooks", "SECRET": secret}
    assert _codes(WEBHOOK=good) == []
    assert _codes(WEBHOOK={**good, "EVENTS": ["approval.approved"], "TIMEOUT": 5}) == []
    for wrong in (
        "https://billing.example/hooks",
        {"URL": "https://billing.example/hooks"},
        {**good, "URL": "billing.example"},
        {**good, "EVENTS": ["approval.invented"]},
        {**good, "TIMEOUT": 0},
        {**good, "SIGNING": "x"},
    ):
        [(code, _, hint)] = _errors(WEBHOOK=wrong)
        assert code == "approvalflow.E011", wrong
        assert "'URL'" in hint
    [(code, message, _)] = _errors(WEBHOOK={**good, "SECRET": "whsec_short"})
    assert code == "approvalflow.E011"
    assert "whsec_short" not in message
    # A receiver inside the network only when the setting says so.
    inside = {**good, "URL": "http://10.0.0.7/hooks"}
    [(code, message, _)] = _errors(WEBHOOK=inside)
    assert code == "approvalflow.E011"
    assert "allow_private" in message
    assert _codes(WEBHOOK={**inside, "ALLOW_PRIVATE": True}) == []
    [(code, _, _)] = _errors(WEBHOOK={**inside, "ALLOW_PRIVATE": "yes"})
    assert code == "approvalflow.E011"


def test_a_reminder_schedule_may_be_its_fields_e009() -> None:
    assert (
        _codes(REMINDER_SCHEDULE={"TIME_ZONE": "Europe/Paris", "HOLIDAYS": "FR"}) == []
    )
    [(code, message, hint)] = _errors(REMINDER_SCHEDULE={"TIME_ZONE": "Mars/Olympus"})
    assert code == "approvalflow.E009"
    assert "Mars/Olympus" in message
    assert "TIME_ZONE" in hint
    [(code, message, _)] = _errors(REMINDER_SCHEDULE={"ZONE": "Europe/Paris"})
    assert (code, "ZONE" in message) == ("approvalflow.E009", True)


def _with(**changes: Any) -> Any:
    return override_settings(APPROVALFLOW={**settings.APPROVALFLOW, **changes})


@pytest.mark.usefixtures("database", "host")
def test_reply_to_logo_and_preferences_reach_the_email() -> None:
    with (
        _with(
            REPLY_TO="office@martin.example",
            LOGO_URL="https://martin.example/logo.png",
            PREFERENCES_URL="https://portal.martin.example/emails",
        ),
        build_approvals() as app,
    ):
        app.request_approval("tax-2025", by="anna")
        run_worker(app)
    [email] = mail.outbox
    assert email.reply_to == ["office@martin.example"]
    assert "https://portal.martin.example/emails" in email.body
    html = str(email.alternatives[0][0])  # type: ignore[attr-defined]
    assert "https://martin.example/logo.png" in html


@pytest.mark.usefixtures("database", "host")
def test_the_hosts_links_make_the_emails_links() -> None:
    with (
        _with(LINKS="firm.links.HostLinks", PORTAL_URL=None),
        build_approvals() as app,
    ):
        app.request_approval("tax-2025", by="anna")
        run_worker(app)
    [email] = mail.outbox
    assert "https://martin.example/documents/tax-2025" in email.body
    assert "https://martin.example/people/claire/emails" in email.body
    assert "portal.martin.example" not in email.body


@pytest.mark.usefixtures("database", "host")
def test_the_reminder_schedule_from_its_fields_is_recorded_with_requests() -> None:
    with (
        _with(REMINDER_SCHEDULE={"TIME_ZONE": "Europe/Paris", "HOLIDAYS": "FR"}),
        build_approvals() as app,
    ):
        app.request_approval(
            "tax-2025", by="anna", reminders=ReminderPolicy(days_before_next=3, count=1)
        )
        assert str(app.status("tax-2025").reminder_time_zone) == "Europe/Paris"


class _Hooks(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, dict(self.headers)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        del args  # quiet


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """An HTTP server on loopback that takes webhooks; yields its URL and log."""
    received: list[tuple[bytes, dict[str, str]]] = []
    handler = type("Hooks", (_Hooks,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.usefixtures("database", "host")
def test_the_webhook_receives_each_event_signed(
    receiver: tuple[str, list[tuple[bytes, dict[str, str]]]],
) -> None:
    url, received = receiver
    secret = generate_secret()
    hook = {
        "URL": url,
        "SECRET": secret,
        "EVENTS": ["approval.requested"],
        "ALLOW_PRIVATE": True,  # the receiver is on loopback
    }
    with _with(WEBHOOK=hook), build_approvals() as app:
        app.request_approval("tax-2025", by="anna")
        run_worker(app)
    [(body, headers)] = received  # the worker waits for each answer
    payload = verify(body, headers, secret)
    assert payload["type"] == "approval.requested"
    assert payload["data"]["document_id"] == "tax-2025"
