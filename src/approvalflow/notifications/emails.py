"""Email messages from templates: plain text and HTML, in every catalog's language.

Templates live in ``templates/<kind>.txt`` (blocks ``subject`` and ``body``)
and ``<kind>.html`` (autoescaped); their words are gettext messages
(``{% trans %}``) read from the ``approvalflow`` catalogs (see
:mod:`approvalflow.i18n`). The language is chosen per recipient (their
directory entry), else the composer's default. A host's own template
folders come first: a file there with the same relative name wins, and
``<language>/<kind>.txt`` / ``.html`` wins over ``<kind>.txt`` / ``.html``
for that language alone.

Every HTML part extends one layout (``templates/_layout.html``): the firm's
name or logo, a heading, the facts, the firm's message in a quoted block, a
button that works in Outlook as well as in Gmail and Apple Mail, the link
written out below it, and a footer saying why the person gets the email.
Every text a reader sees is a message of the catalogs, none in Python.

Every message gets a stable ``Message-ID`` derived from the event and the
recipient, so a message sent again after a crash is recognisably the same.
User-supplied text never reaches a header unsanitised: line breaks and other
control characters in names and subjects become spaces.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from email import errors as email_errors
from email import policy as email_policy
from email.headerregistry import (
    Address,
    BaseHeader,
    HeaderRegistry,
    UnstructuredHeader,
)
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import jinja2

from approvalflow import i18n
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

#: The languages approvalflow ships catalogs for (a host may add more with
#: ``EmailComposer(locale_dirs=...)``: see :attr:`EmailComposer.languages`).
LANGUAGES = i18n.languages()
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


class _OneLineHeader(UnstructuredHeader, BaseHeader):
    """A header written on one line, never folded into encoded words.

    RFC 2369 forbids whitespace inside ``List-Unsubscribe``'s ``<URL>``, and
    the standard folding would turn a long URL into encoded words no client
    reads. Values are checked ASCII URLs far below the 998-character limit.
    """

    def fold(self, *, policy: Any) -> str:
        """The header as one line."""
        return f"{self.name}: {self}{policy.linesep}"


def _policy() -> email_policy.EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", _OneLineHeader)
    return email_policy.default.clone(header_factory=registry)


_POLICY = _policy()
_MAX_URL = 900  # a header line may be 998 characters
_URL_UNSAFE = re.compile(r"[\s<>\"\x00-\x1f\x7f]")


def _web_url(url: object) -> str | None:
    """``url`` if it is an absolute http(s) URL safe in a header, else ``None``."""
    if not isinstance(url, str) or not url.isascii() or len(url) > _MAX_URL:
        return None
    if _URL_UNSAFE.search(url):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _configured_address(option: str, value: str) -> Address:
    """The address given as ``option``, or :class:`ConfigurationError`."""
    try:
        return Address(addr_spec=header_safe(value))
    except (TypeError, ValueError, IndexError, email_errors.MessageError) as exc:
        msg = f"{option} must be an email address, got {value!r}"
        raise ConfigurationError(msg) from exc


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
    #: Their IANA time zone, for the times an email shows; ``None``: UTC.
    time_zone: str | None = None


def _zone(name: str | None) -> str:
    """``name`` if it is an IANA zone, else UTC: a bad entry must not stop mail."""
    if name:
        try:
            i18n.time_zone(name)
        except ValueError:
            return "UTC"
        return name
    return "UTC"


class EmailComposer:
    """Builds the emails approvalflow sends.

    ``sender`` is the From address; ``firm_name`` is how the firm signs;
    ``default_language`` is used for recipients without a language (or with
    one there is no catalog for). ``reply_to``, when given, is where
    replies go (``Reply-To``); without it they go to ``sender``.
    ``logo_url``, an absolute http(s) URL (https is best: some clients
    block others), puts the firm's logo at the top of the HTML part, with the
    firm's name as its text for clients that do not load images.

    ``template_dirs`` are the host's template folders, searched before the
    shipped ones: a file with the same relative name wins (``_base.html``
    for every language, ``en/request.html`` for English requests alone).
    ``locale_dirs`` are the host's catalog folders
    (``<dir>/<language>/LC_MESSAGES/approvalflow.mo``), searched before the
    shipped ones: they add languages, or reword messages.
    """

    def __init__(
        self,
        *,
        sender: str,
        firm_name: str,
        default_language: str = "en",
        reply_to: str | None = None,
        logo_url: str | None = None,
        template_dirs: Iterable[str | Path] = (),
        locale_dirs: Iterable[str | Path] = (),
    ) -> None:
        self.locale_dirs = tuple(str(Path(d)) for d in locale_dirs)
        #: The languages emails can be written in: every catalog found.
        self.languages = i18n.languages(self.locale_dirs)
        if default_language not in self.languages:
            msg = (
                f"default_language must be one of {self.languages}, "
                f"got {default_language!r}"
            )
            raise ConfigurationError(msg)
        self.sender = _configured_address("sender", sender)
        self.reply_to = (
            None if reply_to is None else _configured_address("reply_to", reply_to)
        )
        self.logo_url = None if logo_url is None else _web_url(logo_url)
        if logo_url is not None and self.logo_url is None:
            msg = (
                "logo_url must be an absolute http(s) URL, e.g. "
                f"https://www.yourfirm.com/logo.png, got {logo_url!r}"
            )
            raise ConfigurationError(msg)
        if not isinstance(firm_name, str) or not firm_name.strip():
            msg = (
                f"firm_name must be the firm's name, as emails sign, got {firm_name!r}"
            )
            raise ConfigurationError(msg)
        self.firm_name = header_safe(firm_name)
        self.default_language = default_language
        self.domain = self.sender.domain or "approvalflow.invalid"
        self._loader = jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader([str(Path(d)) for d in template_dirs]),
                jinja2.PackageLoader("approvalflow.notifications", "templates"),
            ]
        )
        self._environments: dict[tuple[str, bool], jinja2.Environment] = {}

    def _environment(self, language: str, *, html: bool) -> jinja2.Environment:
        """The templates with ``language``'s catalog (one set per language)."""
        key = (language, html)
        if key not in self._environments:
            # Plain-text parts must not be HTML-escaped; the HTML part is.
            environment = jinja2.Environment(
                loader=self._loader,
                autoescape=html,  # noqa: S701 - off only for the plain-text part
                keep_trailing_newline=not html,
                extensions=["jinja2.ext.i18n"],
            )
            catalog = i18n.translations(language, self.locale_dirs)
            environment.install_gettext_translations(  # type: ignore[attr-defined]
                catalog, newstyle=True
            )
            self._environments[key] = environment
        return self._environments[key]

    def language_for(self, recipient: Recipient) -> str:
        """The language the recipient gets their emails in."""
        if recipient.language in self.languages:
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
        words = i18n.words(language, _zone(recipient.time_zone), self.locale_dirs)
        # Names are shown on one line everywhere; only messages and comments
        # keep their line breaks.
        values = {
            **{
                k: header_safe(v) if k.endswith("_name") else v
                for k, v in context.items()
            },
            "firm_name": self.firm_name,
            "recipient_name": header_safe(recipient.name),
            "kind": kind,
            "language": language,
            "logo_url": self.logo_url,
            # Only links fit for a header are shown (see PreferenceLinks).
            "preferences_link": _web_url(context.get("preferences_link")),
        }
        # Numbers and times as the reader's locale writes them, in their zone.
        for name in ("number", "count"):
            if isinstance(context.get(name), int):
                values[name] = words.number(context[name])
        decided_at = context.get("decided_at")
        if isinstance(decided_at, datetime):
            values["decided_at"] = words.time(decided_at)
        text_env = self._environment(language, html=False)
        text = text_env.select_template([f"{language}/{kind}.txt", f"{kind}.txt"])
        subject = "".join(text.blocks["subject"](text.new_context(values)))
        body = "".join(text.blocks["body"](text.new_context(values))).strip() + "\n"
        html_env = self._environment(language, html=True)
        html = html_env.select_template(
            [f"{language}/{kind}.html", f"{kind}.html"]
        ).render(values)

        message = EmailMessage(policy=_POLICY)
        message["Subject"] = header_safe(subject)
        message["From"] = Address(
            display_name=self.firm_name, addr_spec=self.sender.addr_spec
        )
        if self.reply_to is not None:
            message["Reply-To"] = self.reply_to
        message["To"] = recipient_address(recipient.name, recipient.email)
        message["Message-ID"] = self.message_id(key, recipient)
        message["Date"] = format_datetime(at)
        # Sent by a program, not a person (RFC 3834): auto-responders and
        # out-of-office replies must not answer, so no reply loop starts.
        # Exchange/Outlook read their own header for the same thing.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        # Machine-readable facts, so hosts and tests can sort mail unparsed.
        message["X-Approvalflow-Kind"] = kind
        if "document_id" in context:
            message["X-Approvalflow-Document"] = header_safe(
                str(context["document_id"])
            )
        if "number" in context:
            message["X-Approvalflow-Reminder"] = str(context["number"])
        if values["preferences_link"]:
            # Transactional mail: only a page to change one's preferences,
            # never a one-click unsubscribe (no List-Unsubscribe-Post) that
            # would silently stop a client hearing of requests.
            message["List-Unsubscribe"] = f"<{values['preferences_link']}>"
        message.set_content(body)
        message.add_alternative(html, subtype="html")
        message["Content-Language"] = language
        return message
