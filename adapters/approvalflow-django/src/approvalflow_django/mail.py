"""approvalflow's Mailer port through Django's ``EMAIL_BACKEND``.

The message approvalflow composes (a standard-library ``EmailMessage`` with
a text and an HTML part) becomes a Django ``EmailMultiAlternatives`` with
the same subject, addresses, parts and headers (``Message-ID``, ``Date``,
``Content-Language``, ``X-Approvalflow-*``), so any Django backend sends it:
SMTP, the console, ``locmem`` in tests, or a provider's (django-anymail),
which read those fields. Backends that put the MIME text on the wire (SMTP,
console, files) get approvalflow's message itself, byte for byte: Django
5.2 would re-encode its headers its own way.

Failures follow approvalflow's delivery contract: a refusal for good (SMTP
5xx for the recipient) is a :class:`~approvalflow.PermanentDeliveryError`,
recorded and never retried; anything that may pass later (server
unreachable, timeouts, 4xx) is a :class:`~approvalflow.TemporaryDeliveryError`,
retried after a pause.
"""

from __future__ import annotations

import email
import smtplib
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection

from approvalflow import (
    ConfigurationError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

__all__ = ["ComposedEmail", "DjangoMailer", "as_django_message"]

# Headers that become the Django message's own fields, not extra headers.
_OWN_FIELDS = {
    "subject",
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def _addresses(message: EmailMessage, header: str) -> list[str]:
    values = [str(v) for v in message.get_all(header, [])]
    return [
        f"{name} <{address}>" if name else address
        for name, address in getaddresses(values)
        if address
    ]


class _WireMessage(EmailMessage):
    """A standard-library message that also takes Django's ``linesep=``."""

    def as_bytes(
        self,
        unixfrom: bool = False,
        policy: Any = None,
        linesep: str | None = None,
    ) -> bytes:
        """The message's bytes, with ``linesep`` line endings if given."""
        chosen = policy or self.policy
        if linesep is not None:
            chosen = chosen.clone(linesep=linesep)
        return super().as_bytes(unixfrom, chosen)


class ComposedEmail(EmailMultiAlternatives):
    """A Django message whose MIME form is approvalflow's message as composed."""

    def __init__(self, original: EmailMessage, **fields: Any) -> None:
        super().__init__(**fields)
        self.original = original

    def message(self) -> Any:
        """Approvalflow's message (a copy), for backends that send MIME text."""
        # The original's policy, not the default: it keeps List-Unsubscribe
        # on one line where the default would fold it into encoded words.
        copy: EmailMessage = email.message_from_bytes(
            bytes(self.original), _class=_WireMessage, policy=self.original.policy
        )
        return copy


def as_django_message(message: EmailMessage, connection: Any = None) -> ComposedEmail:
    """The same email as a Django message: parts, addresses and headers kept."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    headers = {
        name: str(value)
        for name, value in message.items()
        if name.lower() not in _OWN_FIELDS
    }
    django_message = ComposedEmail(
        message,
        subject=str(message.get("Subject", "")),
        body=text.get_content() if isinstance(text, EmailMessage) else "",
        from_email=next(iter(_addresses(message, "From")), None),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        bcc=_addresses(message, "Bcc"),
        reply_to=_addresses(message, "Reply-To"),
        headers=headers,
        connection=connection,
    )
    if isinstance(html, EmailMessage) and html is not text:
        django_message.attach_alternative(html.get_content(), "text/html")
    for part in message.iter_attachments():
        if isinstance(part, EmailMessage):
            django_message.attach(
                part.get_filename(), part.get_content(), part.get_content_type()
            )
    return django_message


class DjangoMailer:
    """Sends approvalflow's emails with Django's email backend.

    ``backend`` (a dotted path) overrides ``settings.EMAIL_BACKEND``;
    ``options`` go to the backend (e.g. ``host``, ``port``, ``timeout`` for
    Django's SMTP backend). Each message opens and closes its connection.
    """

    def __init__(self, backend: str | None = None, **options: Any) -> None:
        self.backend = backend
        self.options = options

    def send(self, message: EmailMessage) -> None:
        """Hand the message over, or raise a DeliveryError saying why not."""
        try:
            connection = get_connection(
                self.backend, fail_silently=False, **self.options
            )
        except (ImportError, TypeError, ValueError) as exc:
            msg = f"cannot use Django email backend {self.backend!r}: {exc}"
            raise ConfigurationError(msg) from exc
        django_message = as_django_message(message, connection)
        if not django_message.recipients():
            msg = "the message has no recipient address"
            raise PermanentDeliveryError(msg)
        try:
            sent = connection.send_messages([django_message])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _classify(min(codes), f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(
                exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}"
            ) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            msg = f"the email backend could not hand the message over: {exc}"
            raise TemporaryDeliveryError(msg) from exc
        if not sent:
            # Django's backends report 0 when they dropped the message
            # without raising (e.g. a connection that failed silently).
            msg = "the email backend reported the message as not sent"
            raise TemporaryDeliveryError(msg)


def _classify(code: int, text: str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(f"refused for good: {text}")
    return TemporaryDeliveryError(f"refused for now: {text}")
