"""Mailers: SMTP (standard library), a folder of ``.eml`` files, and errors.

A mailer hands one message over or raises: :class:`TemporaryDeliveryError`
when trying again later may work (server down, 4xx), and
:class:`PermanentDeliveryError` when it will not (5xx for the recipient).
Delivery retries the first and records and skips the second.
"""

from __future__ import annotations

import hashlib
import math
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path

from approvalflow.domain.errors import ConfigurationError

# The error contract belongs to the Mailer port; re-exported here for older imports.
from approvalflow.ports import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

__all__ = [
    "DeliveryError",
    "FileMailer",
    "PermanentDeliveryError",
    "SMTPMailer",
    "TemporaryDeliveryError",
]

SECURITY_MODES = ("starttls", "tls", "none")


class SMTPMailer:
    """Sends through an SMTP server with :mod:`smtplib`.

    ``security`` is ``"starttls"`` (upgrade a plain connection, usually port
    587), ``"tls"`` (implicit TLS, usually port 465) or ``"none"`` (only for
    a relay on a trusted network or for tests). ``username`` and
    ``password`` log in when given. Every network step times out after
    ``timeout`` seconds. Arguments are checked here; :meth:`check` also
    connects, so a worker can fail at start-up rather than drop mail.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not isinstance(host, str) or not host.strip():
            msg = f"SMTP host must be a host name or address, got {host!r}"
            raise ConfigurationError(msg)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            msg = f"SMTP port must be a whole number from 1 to 65535, got {port!r}"
            raise ConfigurationError(msg)
        if security not in SECURITY_MODES:
            msg = f"SMTP security must be one of {SECURITY_MODES}, got {security!r}"
            raise ConfigurationError(msg)
        if (username is None) != (password is None):
            msg = "SMTP login needs both a username and a password, or neither"
            raise ConfigurationError(msg)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            msg = f"SMTP timeout must be a positive number of seconds, got {timeout!r}"
            raise ConfigurationError(msg)
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = float(timeout)
        self.ssl_context = ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        client: smtplib.SMTP
        if self.security == "tls":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            client.ehlo()
            if self.security == "starttls":
                client.starttls(context=self.ssl_context)
                client.ehlo()
            if self.username is not None and self.password is not None:
                client.login(self.username, self.password)
        except BaseException:
            client.close()
            raise
        return client

    def check(self) -> None:
        """Connect, greet and log in once; raise ConfigurationError if it fails."""
        try:
            with self._connect() as client:
                client.noop()
        except smtplib.SMTPAuthenticationError as exc:
            msg = f"SMTP server {self.host}:{self.port} refused the login: {exc}"
            raise ConfigurationError(msg) from exc
        except (OSError, smtplib.SMTPException) as exc:
            msg = (
                f"cannot use SMTP server {self.host}:{self.port} "
                f"(security={self.security}): {exc}"
            )
            raise ConfigurationError(msg) from exc

    def send(self, message: EmailMessage) -> None:
        """Hand the message over, or raise a DeliveryError saying why not."""
        try:
            with self._connect() as client:
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = _classify(min(codes), f"recipient refused: {exc.recipients}")
            raise error from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(
                exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}"
            ) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            msg = f"SMTP server {self.host}:{self.port} unreachable: {exc}"
            raise TemporaryDeliveryError(msg) from exc


def _classify(code: int, text: str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(f"refused for good: {text}")
    return TemporaryDeliveryError(f"refused for now: {text}")


class FileMailer:
    """Writes each message to ``folder`` as one ``.eml`` file.

    The file name comes from the Message-ID, so sending the same message
    twice leaves one file. Files are written whole (to a temporary name, then
    renamed), so a reader never sees half a message.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot use mail folder {str(self.folder)!r}: {exc}"
            raise ConfigurationError(msg) from exc

    def path_for(self, message: EmailMessage) -> Path:
        """Where the message is (or would be) written."""
        key = str(message["Message-ID"] or message.as_string())
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.eml"

    def send(self, message: EmailMessage) -> None:
        """Write the message; raise TemporaryDeliveryError if the disk fails."""
        target = self.path_for(message)
        try:
            with tempfile.NamedTemporaryFile(
                "wb", dir=self.folder, suffix=".tmp", delete=False
            ) as handle:
                handle.write(bytes(message))
            Path(handle.name).replace(target)
        except OSError as exc:
            msg = f"cannot write {target}: {exc}"
            raise TemporaryDeliveryError(msg) from exc

    def messages(self) -> list[EmailMessage]:
        """Every message in the folder, oldest file first."""
        from email import policy  # noqa: PLC0415 - only readers need it
        from email.parser import BytesParser  # noqa: PLC0415

        parser = BytesParser(policy=policy.default)
        files = sorted(
            self.folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name)
        )
        return [parser.parsebytes(f.read_bytes()) for f in files]
