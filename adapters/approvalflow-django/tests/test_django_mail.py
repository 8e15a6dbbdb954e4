"""DjangoMailer: approvalflow's emails through Django's email backends."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from approvalflow_django.mail import DjangoMailer
from django.core import mail
from tests.smtp_server import SMTPTestServer, free_port

from approvalflow import Mailer, PermanentDeliveryError, TemporaryDeliveryError
from approvalflow.testing.contracts import RefusingMailerContract, contract_message

SMTP = "django.core.mail.backends.smtp.EmailBackend"


class TestDjangoMailerOverSMTP(RefusingMailerContract):
    """Django's SMTP backend against a real SMTP server on loopback."""

    @pytest.fixture(autouse=True)
    def smtp(self) -> Iterator[SMTPTestServer]:
        with SMTPTestServer() as server:
            self.server = server
            yield server

    def make_mailer(self) -> Mailer:
        return DjangoMailer(SMTP, host="127.0.0.1", port=self.server.port, timeout=5)

    def delivered(self) -> list[EmailMessage]:
        return self.server.messages()

    def make_unreachable_mailer(self) -> Mailer:
        return DjangoMailer(SMTP, host="127.0.0.1", port=free_port(), timeout=5)

    def make_refusing_mailer(self) -> Mailer:
        self.server.refuse_for_good.add("nobody@refused.example")
        return self.make_mailer()

    def test_a_recipient_refused_for_now_is_a_temporary_failure(self) -> None:
        self.server.refuse_for_now.add("busy@dupont.example")
        with pytest.raises(TemporaryDeliveryError, match="451"):
            self.make_mailer().send(contract_message(to="busy@dupont.example"))
        assert self.delivered() == []


def test_locmem_shows_the_message_as_composed() -> None:
    mail.outbox = []
    sent = contract_message()
    DjangoMailer("django.core.mail.backends.locmem.EmailBackend").send(sent)
    [got] = mail.outbox
    assert got.to == ["Claire Dupont <claire@dupont.example>"]
    assert got.subject == str(sent["Subject"])
    assert got.extra_headers["Message-ID"] == str(sent["Message-ID"])
    assert got.extra_headers["Content-Language"] == "fr"
    assert "merci de valider" in got.body
    [(html, kind)] = got.alternatives  # type: ignore[attr-defined]
    assert kind == "text/html"
    assert "https://portal.example/d/1" in str(html)
    # What the backend would put on the wire keeps approvalflow's Message-ID.
    assert got.message()["Message-ID"] == sent["Message-ID"]


def test_a_message_without_recipients_is_refused_for_good() -> None:
    sent = contract_message()
    del sent["To"]
    with pytest.raises(PermanentDeliveryError, match="no recipient"):
        DjangoMailer("django.core.mail.backends.locmem.EmailBackend").send(sent)


def test_reply_to_and_list_unsubscribe_reach_the_backend_as_composed() -> None:
    mail.outbox = []
    preferences = "https://portal.example/settings/notifications/emails?tab=approvals-x"
    sent = contract_message()
    # As the composer sets them (EmailComposer(reply_to=...) and a host's
    # email_preferences() link), on the composed message's own policy.
    sent["Reply-To"] = "accounts@firm.example"
    sent["List-Unsubscribe"] = f"<{preferences}>"
    DjangoMailer("django.core.mail.backends.locmem.EmailBackend").send(sent)
    [got] = mail.outbox
    assert got.reply_to == ["accounts@firm.example"]
    assert got.extra_headers["List-Unsubscribe"] == f"<{preferences}>"
    # On the wire: one line, not folded into encoded words no client reads.
    wire = got.message().as_bytes(linesep="\r\n")
    assert f"\r\nList-Unsubscribe: <{preferences}>\r\n".encode() in wire
