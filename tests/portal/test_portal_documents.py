"""Documents in the example portal: opened and downloaded by those who may see them.

A client opens and downloads the file they are asked to approve; firm
members open any document's file; every other way a client asks for a file
(another account's, one in a folder clients do not see, one that does not
exist, through the firm's address) is the same "not found". Documents the
client cannot see offer no "Request approval".
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, FilePayload, expect

from tests.portal.conftest import Portal, sign_in, window

MISSING = "There is no such document among yours."


def test_a_client_opens_and_downloads_the_document_to_approve(
    browser: Browser, portal: Portal
) -> None:
    paul = sign_in(browser, portal, "paul")
    paul.goto(portal.url + "/firm/accounts/acme/documents/")
    paul.get_by_label("Folder").select_option(label="Accounts 2025")
    pack: FilePayload = {
        "name": "Board pack.pdf",
        "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4 the board pack",
    }
    paul.get_by_label("Files", exact=True).set_input_files([pack])
    paul.get_by_label("Ask the client to approve these files").check()
    paul.get_by_role("button", name="Upload").click()
    link = paul.get_by_role("link", name="Board pack.pdf")
    href = link.get_attribute("href")
    assert href is not None
    ref = href.rsplit("/", 1)[1]
    # The firm opens it from the document's page.
    link.click()
    expect(paul.locator("#document-file")).to_contain_text("Download")
    answer = paul.request.get(portal.url + href + "/file")
    assert answer.status == 200
    assert answer.body() == pack["buffer"]

    john = sign_in(browser, portal, "john")  # Acme's
    john.goto(portal.url + f"/accounts/acme/documents/{ref}")
    with john.expect_download() as caught:
        john.locator("#document-file").get_by_role("link", name="Download").click()
    download = caught.value
    assert download.suggested_filename == "Board pack.pdf"
    assert Path(download.path()).read_bytes() == pack["buffer"]
    # "Open" shows it in the browser (a PDF), never as a page of the portal.
    opened = john.request.get(portal.url + f"/accounts/acme/documents/{ref}/file")
    assert opened.status == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert opened.headers["content-disposition"].startswith("inline")
    assert "sandbox" in opened.headers["content-security-policy"]
    assert opened.body() == pack["buffer"]
    # A seeded document carries a stand-in file, so it opens too.
    seeded = john.request.get(
        portal.url + "/accounts/acme/documents/acme-accounts-2025/file"
    )
    assert seeded.status == 200
    assert "Annual accounts 2025" in seeded.text()


def test_a_client_gets_no_file_of_another_account_or_a_hidden_folder(
    browser: Browser, portal: Portal
) -> None:
    john = sign_in(browser, portal, "john")  # Acme's
    for path in (
        "/accounts/lefebvre/documents/lefebvre-cfe/file",  # another account's
        "/accounts/acme/documents/lefebvre-cfe/file",  # behind his own account
        "/accounts/acme/documents/acme-working-papers/file",  # a hidden folder
        "/accounts/acme/documents/no-such-document/file",  # missing
        "/firm/accounts/lefebvre/documents/lefebvre-cfe/file",  # the firm's way
    ):
        answer = john.goto(portal.url + path)
        assert answer is not None
        assert answer.status == 404, path
        expect(john.locator("main")).to_contain_text(MISSING)
        expect(john.locator("main")).not_to_contain_text("CFE")
    # The owners, and the firm, do get them.
    sophie = sign_in(browser, portal, "sophie")
    owned = sophie.request.get(
        portal.url + "/accounts/lefebvre/documents/lefebvre-cfe/file"
    )
    assert owned.status == 200
    assert "Avis de CFE 2026" in owned.text()
    claire = sign_in(browser, portal, "claire")
    firm = claire.request.get(
        portal.url + "/firm/accounts/acme/documents/acme-working-papers/file"
    )
    assert firm.status == 200
    assert "Audit working papers" in firm.text()
    # What the client sees, as the firm sees it, has the file too.
    claire.goto(
        portal.url + "/firm/accounts/acme/documents/acme-accounts-2025/client-view"
    )
    expect(claire.locator("#document-file")).to_contain_text("Télécharger")
    # Nobody signed in: the sign-in page first.
    stranger = window(browser).request.get(
        portal.url + "/accounts/lefebvre/documents/lefebvre-cfe/file",
        max_redirects=0,
    )
    assert stranger.status == 302
    assert stranger.headers["location"].startswith("/login/")


def test_no_request_approval_where_the_client_cannot_see_the_document(
    browser: Browser, portal: Portal
) -> None:
    paul = sign_in(browser, portal, "paul")
    paul.goto(portal.url + "/firm/documents/?account=acme")
    request = re.compile("Request approval")
    hidden = paul.locator("tbody tr", has_text="Audit working papers")
    expect(hidden).to_have_count(1)
    expect(hidden.get_by_role("link", name=request)).to_have_count(0)
    shown = paul.locator("tbody tr", has_text="Payroll summary Q1 2026")
    expect(shown.get_by_role("link", name=request)).to_have_count(1)
    # Its own page, and the request page by address, offer no form either.
    paul.goto(portal.url + "/firm/accounts/acme/documents/acme-working-papers")
    expect(paul.get_by_role("button", name="Request approval")).to_have_count(0)
    paul.goto(portal.url + "/firm/accounts/acme/documents/acme-working-papers/request")
    expect(paul.locator("#not-requestable")).to_contain_text(
        "The client cannot see this folder"
    )
    expect(paul.get_by_role("button", name="Request approval")).to_have_count(0)
    paul.goto(portal.url + "/firm/accounts/acme/documents/acme-payroll-q1/request")
    expect(paul.get_by_role("button", name="Request approval")).to_have_count(1)
    # Uploading says which folders the client does not see.
    paul.goto(portal.url + "/firm/accounts/acme/documents/")
    expect(paul.locator("#folder option", has_text="Working papers")).to_have_text(
        "Working papers (Not visible to the client)"
    )
