"""The example portal keeps clients to their own documents, and is usable.

Cross-account access is tried through the browser and by direct URL and
request; accessibility basics are checked with axe-core on every main
page, and the main path works from the keyboard alone. The portal also
starts on PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, expect

from tests.pg_server import PostgresServer
from tests.portal.conftest import Portal, shot, sign_in, start_portal, window


def test_a_client_never_sees_or_acts_on_another_accounts_documents(
    browser: Browser, portal: Portal
) -> None:
    john = sign_in(browser, portal, "john")  # Acme's
    expect(john.locator("main")).to_contain_text("Annual accounts 2025")
    expect(john.locator("main")).not_to_contain_text("Avis de CFE")  # Lefebvre's task
    for path in (
        "/accounts/lefebvre/documents/lefebvre-cfe",  # another account's, pending
        "/accounts/acme/documents/lefebvre-cfe",  # the same behind his own account
        "/accounts/dupont/documents/dupont-notes",  # a folder clients do not see
    ):
        answer = john.goto(portal.url + path)
        assert answer is not None
        assert answer.status == 404
        expect(john.locator("main")).to_contain_text(
            "There is no such document among yours."
        )
        expect(john.locator("main")).not_to_contain_text("CFE")
    # A forged decision, with a valid CSRF token of his own session, is refused.
    john.goto(portal.url + "/accounts/acme/documents/acme-accounts-2025")
    token = john.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    forged = john.request.post(
        portal.url + "/accounts/lefebvre/documents/lefebvre-cfe/approve",
        form={"csrfmiddlewaretoken": token},
        headers={"Referer": portal.url + "/"},
        max_redirects=0,
    )
    assert forged.status == 404
    # Firm pages are not for clients.
    answer = john.goto(portal.url + "/firm/documents/")
    assert answer is not None
    assert answer.status == 403
    sophie = sign_in(browser, portal, "sophie")
    sophie.goto(portal.url + "/accounts/lefebvre/documents/lefebvre-cfe")
    expect(sophie.locator("#client-status")).to_contain_text("en attente d'approbation")


def test_forms_without_the_csrf_token_are_refused(
    browser: Browser, portal: Portal
) -> None:
    sophie = sign_in(browser, portal, "sophie")
    refused = sophie.request.post(
        portal.url + "/accounts/lefebvre/documents/lefebvre-cfe/approve",
        form={"comment": "no token"},
        headers={"Referer": portal.url + "/"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "Le formulaire a expiré" in refused.text()
    sophie.goto(portal.url + "/accounts/lefebvre/documents/lefebvre-cfe")
    expect(sophie.locator("#client-status")).to_contain_text("en attente d'approbation")


MAIN_PAGES = {
    "claire": (
        "/firm/documents/",
        "/firm/accounts/",
        "/firm/accounts/dupont/documents/",
        "/firm/accounts/dupont/approvals/",
        "/firm/accounts/lefebvre/documents/lefebvre-lettre-mission",
        "/firm/accounts/dupont/documents/dupont-grand-livre/request",
        "/firm/inbox/",
        "/mailbox/",
    ),
    "sophie": ("/pending/", "/accounts/lefebvre/documents/lefebvre-cfe"),
}


@pytest.mark.parametrize("user", sorted(MAIN_PAGES))
def test_main_pages_pass_axe_without_serious_violations(
    browser: Browser, portal: Portal, user: str
) -> None:
    page = sign_in(browser, portal, user)
    axe = Axe()
    found = {}
    for path in ("/login/", *MAIN_PAGES[user]):
        page.goto(portal.url + path)
        results = axe.run(page)
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])} element(s))"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
        # Every page has one main heading and labelled form fields.
        assert page.locator("h1").count() == 1, path
    assert found == {}


def test_signing_in_and_approving_work_from_the_keyboard(
    browser: Browser, portal: Portal
) -> None:
    page = window(browser)
    page.goto(portal.url + "/accounts/acme/documents/acme-accounts-2025")
    # The sign-in page starts in its first field; Tab goes to the next.
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.type("sarah")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url + "/accounts/acme/documents/acme-accounts-2025")
    # The skip link is the first stop of every page, and leads to the content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text(re.compile("Skip to content"))
    page.locator("#approve-comment").focus()
    page.keyboard.type("Approved by keyboard")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Approve")
    page.keyboard.press("Enter")
    expect(page.locator(".messages .success")).to_contain_text(
        "you approved the document"
    )
    expect(page.locator("#client-status")).to_contain_text("approved")


@pytest.fixture
def portal_on_postgres(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    """The portal on a fresh database of the throwaway PostgreSQL server."""
    schema = f"portal_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{postgres.url}?schema={schema}"
    data = tmp_path_factory.mktemp("portal-pg") / "data"
    yield from start_portal(data, PORTAL_DATABASE_URL=url)


def test_the_portal_runs_on_postgresql(
    browser: Browser, portal_on_postgres: Portal
) -> None:
    portal = portal_on_postgres
    claire = sign_in(browser, portal, "claire")
    claire.goto(portal.url + "/firm/accounts/lefebvre/documents/lefebvre-bilan-2025")
    claire.get_by_role("button", name="Demander l'approbation").click()
    expect(claire.locator("#status")).to_contain_text("en attente d'approbation")
    claire.goto(portal.url + "/firm/accounts/?pending=1")
    expect(
        claire.locator("tbody tr", has_text="Lefebvre Architectes").locator("td").nth(1)
    ).to_have_text("2")
    sophie = sign_in(browser, portal, "sophie")
    sophie.goto(portal.url + "/pending/")
    expect(sophie.locator("main")).to_contain_text("Avis de CFE")
    shot(sophie, "client-pending-postgresql")
