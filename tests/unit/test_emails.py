"""What a mail client shows: Reply-To, List-Unsubscribe, the logo, the firm's link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from approvalflow import Approvals, ConfigurationError, EmailComposer, connect
from approvalflow.notifications.emails import Recipient
from approvalflow.testing import ControllableClock, RecordingMailer, StaticLinks
from tests.helpers import START, make_directory

CLAIRE = Recipient("c1", "Claire Dupont", "claire@acme.example")
REQUEST: dict[str, Any] = {
    "document_id": "d1",
    "document_name": "Bilan",
    "file_type": "pdf",
    "message": None,
    "link": "https://p.example/d/1",
}
# Longer than a folded header line: it must still arrive on one line.
PREFERENCES = (
    "https://portal.martin-associes.example/app/settings/notifications/emails"
    "?tab=emails&from=approvals"
)


def compose(
    composer: EmailComposer, kind: str = "request", **context: Any
) -> EmailMessage:
    return composer.compose(kind, CLAIRE, {**REQUEST, **context}, key="k:1", at=START)


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None
    return str(body.get_content())


def test_replies_go_to_the_sender_unless_a_reply_to_is_given() -> None:
    plain = compose(EmailComposer(sender="cabinet@firm.example", firm_name="Martin"))
    assert "Reply-To" not in plain
    composer = EmailComposer(
        sender="no-reply@firm.example",
        firm_name="Martin",
        reply_to="accounts@firm.example",
    )
    message = compose(composer)
    assert str(message["From"]) == "Martin <no-reply@firm.example>"
    assert str(message["Reply-To"]) == "accounts@firm.example"


@pytest.mark.parametrize(
    "bad",
    [
        "nobody",
        "a@x.example, b@x.example",
        "A <a@x.example>",
        "",
        "a@x.example\r\nBcc: everyone@example.com",
    ],
)
def test_a_reply_to_that_is_not_one_address_is_refused(bad: str) -> None:
    expected = f"reply_to must be an email address, got {bad!r}"
    with pytest.raises(ConfigurationError, match=f"^{re.escape(expected)}$"):
        EmailComposer(sender="cabinet@firm.example", firm_name="M", reply_to=bad)


def test_no_list_unsubscribe_without_a_preferences_page() -> None:
    message = compose(EmailComposer(sender="cabinet@firm.example", firm_name="M"))
    assert "List-Unsubscribe" not in message
    assert "List-Unsubscribe-Post" not in message
    assert "Choose which emails" not in part(message, "plain")


def test_a_preferences_page_is_in_the_header_and_both_parts() -> None:
    composer = EmailComposer(sender="cabinet@firm.example", firm_name="M")
    message = compose(composer, preferences_link=PREFERENCES)
    raw = bytes(message).decode()
    # One line, the URL as given: no folding, no encoded words.
    assert f"\nList-Unsubscribe: <{PREFERENCES}>\n" in raw
    # A page to choose, not a one-click unsubscribe from transactional mail.
    assert "List-Unsubscribe-Post" not in message
    assert f"Choose which emails you receive: {PREFERENCES}\n" in part(message, "plain")
    assert 'href="https://portal.martin-associes.example/app/settings' in part(
        message, "html"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "/settings",
        "https://p.example/a b",
        "https://p.example/>\r\nBcc: x@example.com",
        "https://p.example/" + "x" * 1000,
    ],
)
def test_a_preferences_link_unfit_for_a_header_is_left_out(bad: str) -> None:
    composer = EmailComposer(sender="cabinet@firm.example", firm_name="M")
    message = compose(composer, preferences_link=bad)
    assert "List-Unsubscribe" not in message
    assert "\nBcc:" not in message.as_string()
    assert 'href="javascript' not in part(message, "html")


def test_the_logo_is_shown_only_when_given_with_the_firm_name_as_alt_text() -> None:
    without = compose(EmailComposer(sender="c@firm.example", firm_name="Martin & Co"))
    assert "<img" not in part(without, "html")
    composer = EmailComposer(
        sender="c@firm.example",
        firm_name="Martin & Co",
        logo_url="https://www.firm.example/logo.png",
    )
    html = part(compose(composer), "html")
    assert '<img src="https://www.firm.example/logo.png" alt="Martin &amp; Co"' in html
    with pytest.raises(ConfigurationError, match=r"^logo_url must be an absolute"):
        EmailComposer(sender="c@firm.example", firm_name="M", logo_url="logo.png")


def test_the_plain_text_part_stands_on_its_own() -> None:
    composer = EmailComposer(sender="cabinet@firm.example", firm_name="Martin")
    text = part(compose(composer, message="Page 2, please."), "plain")
    assert text == (
        "Hello Claire Dupont,\n\n"
        'Martin asks you to review and approve "Bilan" (pdf).\n\n'
        "Message from Martin:\n\n"
        "Page 2, please.\n\n"
        "Review documents: https://p.example/d/1\n\n"
        "You can approve the document, or reject it and tell us why.\n\n"
        "-- \n"
        "Martin\n"
        "You receive this email because you are a client of Martin and email "
        "notifications are on for you in its client portal.\n"
    )


# -- Through the delivery follower: the Links port's optional methods ---------------


@pytest.fixture
def memory_app() -> Iterator[Approvals]:
    clock = ControllableClock(START)
    with connect("memory://", directory=make_directory(), clock=clock) as app:
        yield app


def decision_email(app: Approvals, links: object) -> EmailMessage:
    mailer = RecordingMailer()
    notifier = app.notifier(
        mailer=mailer,
        links=links,  # type: ignore[arg-type]
        composer=EmailComposer(sender="cabinet@firm.example", firm_name="Martin"),
    )
    app.request_approval("d1", by="f1")
    app.reject("d1", by="c1", reasons=["Wrong year"])
    while notifier.run_once().events:
        pass
    [decision] = [m for m in mailer.sent if m["X-Approvalflow-Kind"] == "decision"]
    return decision


def test_the_firm_gets_a_link_to_the_document_when_its_links_give_one(
    memory_app: Approvals,
) -> None:
    links = StaticLinks("https://portal.example", firm_url="https://app.example/firm")
    message = decision_email(memory_app, links)
    url = "https://app.example/firm/accounts/acme/documents/d1"
    assert f"View document: {url}\n" in part(message, "plain")
    assert f'<a href="{url}"' in part(message, "html")
    assert "View document</a>" in part(message, "html")


def test_links_without_the_optional_methods_still_work(memory_app: Approvals) -> None:
    class ReviewOnly:
        def review_documents(self, account_id: str, document_id: str) -> str:
            return f"https://portal.example/{account_id}/{document_id}"

    message = decision_email(memory_app, ReviewOnly())
    assert "View document" not in part(message, "plain")
    assert "View document" not in part(message, "html")
    assert "List-Unsubscribe" not in message


def test_each_person_gets_their_preferences_page(memory_app: Approvals) -> None:
    class PerPersonLinks(StaticLinks):
        def email_preferences(self, user_id: str) -> str:
            return f"https://portal.example/people/{user_id}/emails"

    message = decision_email(memory_app, PerPersonLinks())
    # The decision goes to Anna (f1), who has the Approvals preference.
    assert (
        str(message["List-Unsubscribe"]) == "<https://portal.example/people/f1/emails>"
    )
