"""The HTML emails as a reader sees them: rendered by headless Chromium.

Every kind in both languages (and the firm's decision email with and without
its link to the document) is composed by ``EmailComposer``, loaded into
Debian's Chromium through Playwright at a desktop and a phone width, checked
for what a reader would notice, and saved as a full-page PNG under
``test-artifacts/emails/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from approvalflow.notifications.emails import EmailComposer, Recipient
from tests import chromium
from tests.helpers import START

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "emails"
WIDTHS = {"desktop": 800, "phone": 375}
LOGO_URL = "https://www.martin-associes.test/logo.png"
FIRM = "Martin & Associés"
# Long on purpose: an unbreakable name and URL must not widen a phone's page.
LINK = (
    "https://portal.martin-associes.test/accounts/dupont-et-fils"
    "/documents/declaration-de-revenus-2025-version-finale-signee"
)
FIRM_LINK = "https://app.martin-associes.test/accounts/dupont-et-fils/documents/d-2025"
DOCUMENT = "Déclaration_de_revenus_2025_version_finale_signée"
MESSAGE = "Please check page 2 <here> & sign.\nThank you!"
PREFERENCES = "https://portal.martin-associes.test/settings/emails"

COMPOSERS = {
    # English without a logo (the firm's name heads it) and without a
    # preferences page; French with both.
    "en": EmailComposer(sender="cabinet@martin.test", firm_name=FIRM),
    "fr": EmailComposer(
        sender="cabinet@martin.test",
        firm_name=FIRM,
        default_language="fr",
        logo_url=LOGO_URL,
    ),
    # German, the third catalog, without a logo.
    "de": EmailComposer(
        sender="cabinet@martin.test", firm_name=FIRM, default_language="de"
    ),
}
WORDS = {
    "en": {
        "review": "Review documents",
        "view": "View document",
        "reminder": "Reminder 2 of 3",
        "rejected": "Document rejected",
        "approved": "Document approved",
        "reason": "You receive this email",
    },
    "fr": {
        "review": "Consulter les documents",
        "view": "Voir le document",
        "reminder": "Rappel 2 sur 3",
        "rejected": "Document refusé",
        "approved": "Document approuvé",
        "reason": "Vous recevez cet e-mail",
        "preferences": "Choisir les e-mails que vous recevez",
    },
    "de": {
        "review": "Dokumente prüfen",
        "view": "Dokument ansehen",
        "reminder": "Erinnerung 2 von 3",
        "rejected": "Dokument abgelehnt",
        "approved": "Dokument freigegeben",
        "reason": "Sie erhalten diese E-Mail",
    },
}


@attrs.frozen
class Case:
    """One email to render."""

    kind: str
    language: str
    firm_link: bool = True

    @property
    def name(self) -> str:
        suffix = "" if self.firm_link else "-without-firm-link"
        return f"{self.kind}-{self.language}{suffix}"

    @property
    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {
            "document_id": "d-2025",
            "document_name": DOCUMENT,
            "file_type": "pdf",
            "link": LINK,
            "message": MESSAGE,
        }
        if self.language == "fr":
            context["preferences_link"] = PREFERENCES
        if self.kind == "reminder":
            context.update(number=2, count=3)
        if self.kind == "decision":
            # With the link: a rejection with reasons; without: an approval.
            context.update(
                client_name="Claire Dupont",
                account_name="Dupont & Fils",
                approved=not self.firm_link,
                reasons=["Wrong year", "Missing signature"] if self.firm_link else [],
                comment=MESSAGE,
                firm_link=FIRM_LINK if self.firm_link else None,
            )
        return context


CASES = [
    *(
        Case(kind, language)
        for language in ("en", "fr", "de")
        for kind in ("request", "resend", "reminder", "decision")
    ),
    Case("decision", "en", firm_link=False),
    Case("decision", "fr", firm_link=False),
    Case("decision", "de", firm_link=False),
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    try:
        executable = chromium.find_or_install()
    except chromium.ChromiumUnavailableError as exc:
        pytest.fail(f"these tests need Chromium: {exc}")
    browser = playwright.chromium.launch(executable_path=executable)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def logo(browser: Browser) -> bytes:
    """A stand-in logo, drawn by the browser itself (the tests are offline)."""
    page = browser.new_page()
    page.set_content(
        '<div id="logo" style="display:inline-block;padding:8px 14px;'
        "background:#0f766e;color:#fff;font:bold 22px sans-serif;"
        'border-radius:4px">M&amp;A</div>'
    )
    image = page.locator("#logo").screenshot()
    page.close()
    return image


@pytest.fixture(scope="module")
def pages(browser: Browser, logo: bytes) -> Iterator[dict[str, Page]]:
    """One page per width, reused for every email (fast)."""
    opened = {}
    for label, width in WIDTHS.items():
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.route(
            LOGO_URL,
            lambda route: route.fulfill(body=logo, content_type="image/png"),
        )
        opened[label] = page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield opened
    for page in opened.values():
        page.close()


def render(page: Page, case: Case, width: str) -> None:
    message = COMPOSERS[case.language].compose(
        case.kind,
        Recipient("u1", "Claire Dupont", "claire@dupont.test", case.language),
        case.context,
        key="k:1",
        at=START,
    )
    html = message.get_body(("html",))
    assert html is not None
    page.set_content(html.get_content(), wait_until="load")
    png = ARTIFACTS / f"{case.name}-{width}.png"
    page.screenshot(path=png, full_page=True)
    assert png.stat().st_size > 0


def button_named(page: Page, label: str) -> Any:
    return page.get_by_role("link", name=label, exact=True)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_an_email_reads_well_and_its_button_works(
    pages: dict[str, Page], case: Case, width: str
) -> None:
    page = pages[width]
    render(page, case, width)
    words = WORDS[case.language]
    text = page.locator("body").inner_text()
    assert page.evaluate("document.documentElement.lang") == case.language

    # The firm is named at the top: its logo (with its name as alt text) or
    # its name.
    header = page.locator(".af-header")
    if case.language == "fr":
        logo = header.get_by_role("img", name=FIRM)
        assert logo.is_visible()
        assert page.evaluate("document.querySelector('.af-header img').naturalWidth")
    else:
        assert header.inner_text().strip() == FIRM
        assert header.locator("img").count() == 0

    assert DOCUMENT in text
    # What people wrote is shown as written, escaped, line breaks kept.
    quoted = page.locator("blockquote")
    assert quoted.inner_text() == MESSAGE

    if case.kind == "decision":
        assert words["review"] not in text  # the firm reviews nothing
        heading = words["rejected"] if case.firm_link else words["approved"]
        assert page.locator("h1").inner_text() == heading
        if case.firm_link:
            assert "Missing signature" in text
            button = button_named(page, words["view"])
            assert button.get_attribute("href") == FIRM_LINK
        else:
            assert button_named(page, words["view"]).count() == 0
            button = None
    else:
        button = button_named(page, words["review"])
        assert button.get_attribute("href") == LINK
        if case.kind == "reminder":
            assert page.locator("h1").inner_text() == words["reminder"]
            assert words["reminder"].lower() in text.lower()

    if button is not None:
        # A real target for a thumb: visible, tall enough, inside the screen.
        assert button.is_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= 40
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= WIDTHS[width]

    # The footer says why this person gets the email, and where to choose
    # which ones they get when the host has such a page.
    footer = page.locator(".af-footer")
    assert words["reason"] in footer.inner_text()
    if "preferences" in words:
        preferences = footer.get_by_role("link", name=words["preferences"])
        assert preferences.get_attribute("href") == PREFERENCES
    else:
        assert footer.get_by_role("link").count() == 0

    # Nothing wider than the screen: no sideways scrolling on a phone.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= WIDTHS[width]
    if width == "desktop":
        card = page.locator(".af-card-body").bounding_box()
        assert card is not None
        assert card["width"] <= 600
