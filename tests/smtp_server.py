"""A real SMTP server on loopback for the tests (aiosmtpd), with TLS and login.

It records every message it accepts. Addresses can be set to be refused for
good (550) or for now (451), and the server can be stopped and started again
on the same port, to test an outage.
"""

from __future__ import annotations

import socket
import ssl
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["SMTPTestServer", "free_port"]

USERNAME = "approvalflow"
PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, server: SMTPTestServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address in self.server.refuse_for_good:
            return "550 5.1.1 mailbox unavailable"
        if address in self.server.refuse_for_now:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.server.lock:
            self.server.received.append((tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SMTPTestServer:
    """An SMTP server on 127.0.0.1; ``security`` is none, starttls or tls."""

    def __init__(self, *, security: str = "none", login: bool = False) -> None:
        self.security = security
        self.login = login
        self.port = free_port()
        self.received: list[tuple[tuple[str, ...], EmailMessage]] = []
        self.refuse_for_good: set[str] = set()
        self.refuse_for_now: set[str] = set()
        self.lock = threading.Lock()
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)
        #: What a client must trust to talk TLS to this server.
        self.client_context = ssl.create_default_context()
        self.ca.configure_trust(self.client_context)
        self._controller: Controller | None = None

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USERNAME
            and data.password.decode() == PASSWORD
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SMTPTestServer:
        kwargs: dict[str, Any] = {}
        if self.security == "tls":
            kwargs["ssl_context"] = self.server_context
        if self.security == "starttls":
            kwargs["tls_context"] = self.server_context
            kwargs["require_starttls"] = True
        if self.login:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            kwargs["auth_require_tls"] = self.security != "none"
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message for _, message in self.received]

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
