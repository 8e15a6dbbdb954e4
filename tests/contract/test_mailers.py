"""One contract every mailer passes, and what the SMTP mailer adds to it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from approvalflow import ConfigurationError
from approvalflow.notifications.emails import KINDS, EmailComposer, Recipient
from approvalflow.notifications.mailers import (
    FileMailer,
    PermanentDeliveryError,
    SMTPMailer,
    TemporaryDeliveryError,
)
from approvalflow.testing import RecordingMailer
from tests.smtp_server import PASSWORD, USERNAME, SMTPTestServer, free_port

COMPOSER = EmailComposer(sender="cabinet@martin.example", firm_name="Martin & Associés")
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def message(to: str = "claire@dupont.example", key: str = "k:1") -> EmailMessage:
    return COMPOSER.compose(
        "request",
        Recipient("claire", "Claire Dupont", to, "fr"),
        {
            "document_name": "Déclaration 2025",
            "file_type": "pdf",
            "message": "Bonjour,\nmerci de valider.",
            "link": "https://portal.example/d/1",
        },
        key=key,
        at=AT,
    )


# Each mailer under test, with a way to read back what it delivered.
Delivered = Callable[[], list[EmailMessage]]


@pytest.fixture(params=["smtp", "smtp-starttls-login", "smtp-tls", "file", "memory"])
def mailer_and_inbox(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[object, Delivered]]:
    kind = request.param
    if kind == "file":
        file_mailer = FileMailer(tmp_path / "mail")
        yield file_mailer, file_mailer.messages
    elif kind == "memory":
        recording = RecordingMailer()
        yield recording, lambda: list(recording.sent)
    else:
        security = {
            "smtp": "none",
            "smtp-starttls-login": "starttls",
            "smtp-tls": "tls",
        }[kind]
        login = kind == "smtp-starttls-login"
        with SMTPTestServer(security=security, login=login) as server:
            smtp = SMTPMailer(
                "127.0.0.1",
                server.port,
                security=security,
                username=USERNAME if login else None,
                password=PASSWORD if login else None,
                timeout=5,
                ssl_context=server.client_context,
            )
            smtp.check()
            yield smtp, server.messages


def test_a_message_arrives_whole(mailer_and_inbox: tuple[object, Delivered]) -> None:
    mailer, delivered = mailer_and_inbox
    sent = message()
    mailer.send(sent)  # type: ignore[attr-defined]
    [got] = delivered()
    for header in ("Subject", "From", "To", "Message-ID", "Date", "Content-Language"):
        assert str(got[header]) == str(sent[header]), header
    assert (
        got["Subject"]
        == "Martin & Associés vous demande d'approuver « Déclaration 2025 »"
    )
    plain = got.get_body(("plain",))
    html = got.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "merci de valider." in plain.get_content()
    assert "https://portal.example/d/1" in html.get_content()


def test_a_resent_message_is_recognisably_the_same(
    mailer_and_inbox: tuple[object, Delivered],
) -> None:
    mailer, delivered = mailer_and_inbox
    mailer.send(message(key="doc:2"))  # type: ignore[attr-defined]
    mailer.send(message(key="doc:2"))  # type: ignore[attr-defined]
    mailer.send(message(key="doc:3"))  # type: ignore[attr-defined]
    ids = [str(m["Message-ID"]) for m in delivered()]
    assert len(set(ids)) == 2


# -- SMTP only -----------------------------------------------------------------


def test_a_recipient_refused_for_good_is_a_permanent_error() -> None:
    with SMTPTestServer() as server:
        server.refuse_for_good.add("gone@dupont.example")
        mailer = SMTPMailer("127.0.0.1", server.port, security="none", timeout=5)
        with pytest.raises(PermanentDeliveryError, match="550"):
            mailer.send(message("gone@dupont.example"))
        server.refuse_for_now.add("busy@dupont.example")
        with pytest.raises(TemporaryDeliveryError, match="451"):
            mailer.send(message("busy@dupont.example"))
        mailer.send(message("claire@dupont.example"))
        assert len(server.messages()) == 1


def test_a_server_that_is_down_is_a_temporary_error() -> None:
    mailer = SMTPMailer("127.0.0.1", free_port(), security="none", timeout=2)
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        mailer.send(message())


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        # The socket accepts connections but nobody ever greets.
        mailer = SMTPMailer("127.0.0.1", port, security="none", timeout=0.5)
        with pytest.raises(TemporaryDeliveryError, match="timed out"):
            mailer.send(message())


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"security": "ssl"}, "security must be one of"),
        ({"username": "u"}, "both a username and a password"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": True}, "timeout"),
    ],
)
def test_bad_smtp_settings_are_refused_at_once(
    kwargs: dict[str, object], problem: str
) -> None:
    settings: dict[str, object] = {"host": "127.0.0.1", "port": 25, **kwargs}
    with pytest.raises(ConfigurationError, match=problem):
        SMTPMailer(**settings)  # type: ignore[arg-type]


def test_check_fails_clearly_at_start_up() -> None:
    with pytest.raises(
        ConfigurationError, match=r"cannot use SMTP server 127\.0\.0\.1"
    ):
        SMTPMailer("127.0.0.1", free_port(), security="none", timeout=2).check()
    with SMTPTestServer(security="starttls", login=True) as server:
        wrong = SMTPMailer(
            "127.0.0.1",
            server.port,
            security="starttls",
            username=USERNAME,
            password="wrong",
            timeout=5,
            ssl_context=server.client_context,
        )
        with pytest.raises(ConfigurationError, match="refused the login"):
            wrong.check()
        untrusted = SMTPMailer("127.0.0.1", server.port, security="starttls", timeout=5)
        with pytest.raises(ConfigurationError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.check()


def test_a_mail_folder_that_cannot_be_made_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="cannot use mail folder"):
        FileMailer(tmp_path / "file" / "mail")


ENCODED_WORD_PAYLOADS = [
    "=?utf-8?q?x=0D=0AReply-To:_evil@attacker.example?=",
    "=?utf-8?b?eA0KWC1FdmlsOiAx?=",  # "x\r\nX-Evil: 1" in base64
    "Claire =?UTF-8?Q?=0AX-Evil:_1?= Dupont",
]


@pytest.mark.parametrize("payload", ENCODED_WORD_PAYLOADS)
def test_encoded_words_in_names_start_no_header_at_the_server(payload: str) -> None:
    # Some Python releases' serializer decodes encoded words in a header
    # value (CVE-2024-6923); approvalflow neutralises them itself.
    sent = COMPOSER.compose(
        "request",
        Recipient("claire", payload, "claire@dupont.example", "en"),
        {
            "document_name": payload,
            "file_type": "pdf",
            "message": None,
            "link": "https://portal.example/d/1",
        },
        key="k:1",
        at=AT,
    )
    with SMTPTestServer() as server:
        SMTPMailer("127.0.0.1", server.port, security="none", timeout=5).send(sent)
        [received] = server.messages()
    header_names = {name.lower() for name in received}
    assert "reply-to" not in header_names
    assert "x-evil" not in header_names
    assert len(received.get_all("To") or []) == 1
    assert "claire@dupont.example" in str(received["To"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_email_says_it_was_sent_by_a_program(kind: str) -> None:
    # As received by a real SMTP server: RFC 3834's header, so auto-responders
    # (out-of-office replies) do not answer, and Exchange's own for Outlook.
    context = {
        "document_id": "d1",
        "document_name": "Déclaration 2025",
        "file_type": "pdf",
        "link": "https://portal.example/d/1",
        "number": 1,
        "count": 2,
        "client_name": "Claire Dupont",
        "account_name": "Dupont",
        "approved": False,
        "reasons": ["Wrong year"],
        "decided_at": AT,
    }
    recipient = Recipient("claire", "Claire Dupont", "claire@dupont.example", "fr")
    with SMTPTestServer() as server:
        smtp = SMTPMailer("127.0.0.1", server.port, security="none", timeout=5)
        smtp.send(COMPOSER.compose(kind, recipient, context, key="k:1", at=AT))
        [received] = server.messages()
    assert received["X-Approvalflow-Kind"] == kind
    assert received.get_all("Auto-Submitted") == ["auto-generated"]
    assert received.get_all("X-Auto-Response-Suppress") == ["All"]
