"""Email messages from templates: plain text and HTML, in French and English.

Templates live in ``templates/<language>/<kind>.txt`` (blocks ``subject``
and ``body``) and ``<kind>.html`` (autoescaped). The language is chosen per
recipient (their directory entry), else the composer's default.

Every message gets a stable ``Message-ID`` derived from the event and the
recipient, so a message sent again after a crash is recognisably the same.
User-supplied text never reaches a header unsanitised: line breaks and other
control characters in names and subjects become spaces.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from email import errors as email_errors
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import attrs
import jinja2

from approvalflow.domain.errors import ConfigurationError
from approvalflow.ports import PermanentDeliveryError

__all__ = [
    "KINDS",
    "LANGUAGES",
    "EmailComposer",
    "Recipient",
    "UndeliverableAddressError",
    "header_safe",
    "recipient_address",
]

#: The languages templates exist in.
LANGUAGES = ("en", "fr")
#: The kinds of email: to clients (request, resend, reminder) and to the firm.
KINDS = ("request", "resend", "reminder", "decision")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_safe(text: str) -> str:
    """``text`` fit for an email header: no line breaks, controls or encoded words.

    An RFC 2047 encoded word (``=?charset?q?...?=``) in a name would be
    decoded by some Python releases' email serializer (CVE-2024-6923),
    letting an encoded CR/LF start a header of its own. approvalflow never
    passes one through: ``=?`` becomes ``= ?``, so no encoded word can begin,
    whatever the interpreter's patch level.
    """
    return _CONTROL.sub(" ", text).replace("=?", "= ?").strip()


class UndeliverableAddressError(PermanentDeliveryError):
    """A recipient's address can never be sent to (no ``@``, a list, a line break).

    Delivery records it as refused for that recipient and goes on with every
    other message; once the address is corrected in the directory, an
    operator asks for another try (``approvalflow deliveries retry``).
    """

    def __init__(self, address: str, problem: str) -> None:
        self.address = address
        super().__init__(
            f"{address!r} is not an email address ({problem}); allowed: one "
            "address such as name@example.com, without line breaks or commas"
        )


def recipient_address(name: str, email: str) -> Address:
    """The ``To`` address for ``email``, or :class:`UndeliverableAddressError`."""
    if any(ch in email for ch in "\r\n,;") or not email.strip():
        raise UndeliverableAddressError(email, "empty, a list or a line break")
    try:
        address = Address(display_name=header_safe(name), addr_spec=email.strip())
    except (ValueError, IndexError, email_errors.MessageError) as exc:
        raise UndeliverableAddressError(email, str(exc)) from exc
    if not address.username or not address.domain:
        raise UndeliverableAddressError(email, "no user or no domain")
    return address


@attrs.frozen
class Recipient:
    """Who a message goes to, as the directory knew them when it was sent."""

    user_id: str
    name: str
    email: str
    language: str | None = None


class EmailComposer:
    """Builds the emails approvalflow sends.

    ``sender`` is the From address; ``firm_name`` is how the firm signs;
    ``default_language`` is used for recipients without a language (or with
    one there are no templates for).
    """

    def __init__(
        self,
        *,
        sender: str,
        firm_name: str,
        default_language: str = "en",
    ) -> None:
        if default_language not in LANGUAGES:
            msg = (
                f"default_language must be one of {LANGUAGES}, got {default_language!r}"
            )
            raise ConfigurationError(msg)
        try:
            self.sender = Address(addr_spec=header_safe(sender))
        except (ValueError, IndexError) as exc:
            msg = f"sender must be an email address, got {sender!r}"
            raise ConfigurationError(msg) from exc
        if not isinstance(firm_name, str) or not firm_name.strip():
            msg = (
                f"firm_name must be the firm's name, as emails sign, got {firm_name!r}"
            )
            raise ConfigurationError(msg)
        self.firm_name = header_safe(firm_name)
        self.default_language = default_language
        self.domain = self.sender.domain or "approvalflow.invalid"
        loader = jinja2.PackageLoader("approvalflow.notifications", "templates")
        # Plain-text parts must not be HTML-escaped; the HTML part is.
        self._text = jinja2.Environment(
            loader=loader,
            autoescape=False,  # noqa: S701 - plain text, not HTML
            keep_trailing_newline=True,
        )
        self._html = jinja2.Environment(loader=loader, autoescape=True)

    def language_for(self, recipient: Recipient) -> str:
        """The language the recipient gets their emails in."""
        if recipient.language in LANGUAGES:
            return str(recipient.language)
        return self.default_language

    def message_id(self, key: str, recipient: Recipient) -> str:
        """The stable Message-ID of the message about ``key`` to ``recipient``."""
        digest = hashlib.sha256(f"{key}|{recipient.user_id}".encode()).hexdigest()
        return f"<{digest[:40]}@{self.domain}>"

    def compose(
        self,
        kind: str,
        recipient: Recipient,
        context: Mapping[str, Any],
        *,
        key: str,
        at: datetime,
    ) -> EmailMessage:
        """One message of ``kind`` to ``recipient``; ``key`` names its event."""
        if kind not in KINDS:
            msg = f"unknown email kind {kind!r}; known: {KINDS}"
            raise ValueError(msg)
        language = self.language_for(recipient)
        # Names are shown on one line everywhere; only messages and comments
        # keep their line breaks.
        values = {
            **{
                k: header_safe(v) if k.endswith("_name") else v
                for k, v in context.items()
            },
            "firm_name": self.firm_name,
            "recipient_name": header_safe(recipient.name),
        }
        text = self._text.get_template(f"{language}/{kind}.txt")
        subject = "".join(text.blocks["subject"](text.new_context(values)))
        body = "".join(text.blocks["body"](text.new_context(values))).strip() + "\n"
        html = self._html.get_template(f"{language}/{kind}.html").render(values)

        message = EmailMessage()
        message["Subject"] = header_safe(subject)
        message["From"] = Address(
            display_name=self.firm_name, addr_spec=self.sender.addr_spec
        )
        message["To"] = recipient_address(recipient.name, recipient.email)
        message["Message-ID"] = self.message_id(key, recipient)
        message["Date"] = format_datetime(at)
        # Machine-readable facts, so hosts and tests can sort mail unparsed.
        message["X-Approvalflow-Kind"] = kind
        if "document_id" in context:
            message["X-Approvalflow-Document"] = header_safe(
                str(context["document_id"])
            )
        if "number" in context:
            message["X-Approvalflow-Reminder"] = str(context["number"])
        message.set_content(body)
        message.add_alternative(html, subtype="html")
        message["Content-Language"] = language
        return message
