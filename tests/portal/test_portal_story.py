"""The example portal's story, end to end in a real browser.

A firm member asks a client to approve a document with reminders; the
worker emails the client; the client follows the email's link, signs in
and rejects with reasons; the firm reads them and asks again; the demo
clock moves to the next reminder, which arrives; the client approves; the
firm sees the decision in Inbox+ and in the lists. Another document is
requested from the list and cancelled; one is locked to an invoice and
paid. Every step checks what the page shows.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.helpers import eventually
from tests.portal.conftest import Portal, fill_login, shot, sign_in, window

BILAN = "/firm/accounts/dupont/documents/dupont-bilan-2025"


def mailbox_rows(page: Page, portal: Portal, to: str, subject: str) -> int:
    """How many emails to ``to`` whose subject matches, as the mailbox lists them."""
    page.goto(portal.url + "/mailbox/")
    rows = page.locator("tbody tr").filter(has_text=to)
    return rows.filter(has=page.get_by_role("link", name=re.compile(subject))).count()


def wait_for_email(
    page: Page, portal: Portal, to: str, subject: str, count: int
) -> None:
    """Reload the mailbox until the worker has sent ``count`` such emails."""
    eventually(
        lambda: mailbox_rows(page, portal, to, subject) >= count,
        f"fewer than {count} email(s) to {to} ~ {subject!r}",
        every=0.5,
    )
    assert mailbox_rows(page, portal, to, subject) == count


def _main_text(page: Page, url: str) -> str:
    page.goto(url)
    return page.locator("main").inner_text()


def wait_until_gone(page: Page, url: str, text: str) -> None:
    """Reload ``url`` until it no longer shows ``text``."""
    eventually(
        lambda: text not in _main_text(page, url),
        f"{url} still shows {text!r}",
        every=0.5,
    )


def wait_for_text(page: Page, url: str, text: str) -> None:
    """Reload ``url`` until it shows ``text``."""
    eventually(
        lambda: text in _main_text(page, url),
        f"{url} never showed {text!r}",
        every=0.5,
    )


def test_request_reject_rerequest_remind_approve(
    browser: Browser, portal: Portal
) -> None:
    claire = sign_in(browser, portal, "claire")  # a firm member who reads French
    expect(claire.locator("h1")).to_have_text("Documents")
    expect(claire.get_by_role("link", name="Boîte mail")).to_be_visible()

    # From the document viewer: a message and two reminders, two days apart.
    claire.goto(portal.url + BILAN)
    claire.locator("#message").fill("Merci de valider le bilan 2025.")
    claire.locator("#viewer-days").fill("2")
    claire.locator("#viewer-count").fill("2")
    claire.get_by_role("button", name="Demander l'approbation").click()
    expect(claire.locator(".messages")).to_contain_text(
        "Approbation demandée à Boulangerie Dupont"
    )
    expect(claire.locator("#status")).to_contain_text("en attente d'approbation")
    expect(claire.locator("#next-reminder")).to_contain_text("Europe/Paris")
    shot(claire, "firm-document-pending")

    # The worker emails Marie (Notify on), not Luc (Notify off).
    marie = window(browser)
    wait_for_email(marie, portal, "marie@dupont.example", "Bilan 2025", 1)
    assert mailbox_rows(marie, portal, "luc@dupont.example", "Bilan 2025") == 0
    marie.locator("tbody tr", has_text="marie@dupont.example").get_by_role(
        "link", name=re.compile("Bilan 2025")
    ).first.click()
    frame = marie.frame_locator("iframe.email")
    expect(frame.locator("body")).to_contain_text("Merci de valider le bilan 2025.")
    shot(marie, "email-request")
    # "Review documents" opens the portal; Marie signs in and lands on the document.
    frame.get_by_role("link", name="Consulter les documents").first.click()
    marie.wait_for_url(re.compile(r"/login/\?next="))
    fill_login(marie, "marie")
    assert marie.url == portal.url + "/accounts/dupont/documents/dupont-bilan-2025"
    expect(marie.locator("#firm-message")).to_have_text(
        "Merci de valider le bilan 2025."
    )
    shot(marie, "client-review")

    # Rejecting without a reason is refused, in French, and nothing changes.
    marie.get_by_role("button", name="Refuser").click()
    expect(marie.locator(".messages .error")).to_contain_text(
        "Donnez au moins un motif de refus"
    )
    expect(marie.locator("#client-status")).to_contain_text("en attente d'approbation")
    marie.get_by_label("Mauvaise période").check()
    marie.get_by_label("Autre motif").fill("Il manque l'annexe")
    marie.locator("#reject-comment").fill("Merci de corriger.")
    marie.get_by_role("button", name="Refuser").click()
    expect(marie.locator(".messages .success")).to_contain_text(
        "Vous avez refusé le document"
    )
    expect(marie.locator("#client-status")).to_contain_text("refusé")

    # The firm reads the reasons ("show more info") and its Inbox+ note.
    claire.goto(portal.url + BILAN)
    expect(claire.locator("#status")).to_contain_text("refusé")
    reasons = claire.locator("details", has_text="Afficher plus d'informations")
    expect(reasons).to_contain_text("Mauvaise période")
    expect(reasons).to_contain_text("Il manque l'annexe")
    expect(reasons).to_contain_text("Merci de corriger.")
    wait_for_text(claire, portal.url + "/firm/inbox/", "Bilan 2025")
    expect(claire.locator("tbody tr").first).to_contain_text("Marie Dupont")

    # A new request, one reminder a day later.
    claire.goto(portal.url + BILAN)
    claire.locator("#message").fill("Annexe ajoutée, merci de revoir.")
    claire.locator("#viewer-days").fill("1")
    claire.locator("#viewer-count").fill("1")
    claire.get_by_role("button", name="Demander l'approbation").click()
    expect(claire.locator("#status")).to_contain_text("en attente d'approbation")
    wait_for_email(marie, portal, "marie@dupont.example", "Bilan 2025", 2)

    # Time moves on to the reminder; the worker sends it.
    claire.get_by_role("button", name="Jusqu'au prochain rappel").click()
    wait_for_email(marie, portal, "marie@dupont.example", "Rappel", 1)
    claire.goto(portal.url + BILAN)
    expect(claire.locator("#next-reminder")).to_have_text("—")  # the only one was sent

    # Marie approves from her Pending-action list.
    marie.goto(portal.url + "/pending/")
    marie.get_by_role("link", name=re.compile("Bilan 2025")).click()
    marie.locator("#approve-comment").fill("Parfait.")
    marie.get_by_role("button", name="Approuver").click()
    expect(marie.locator(".messages .success")).to_contain_text("vous avez approuvé")
    wait_until_gone(marie, portal.url + "/pending/", "Bilan 2025")

    # The firm sees the decision in Inbox+ and in the lists.
    notes = claire.locator("tbody tr", has_text="Bilan 2025")

    def approval_noted() -> bool:
        claire.goto(portal.url + "/firm/inbox/")
        return notes.filter(has_text=re.compile("approuv")).count() > 0

    eventually(approval_noted, "no Inbox+ note of the approval", every=0.5)
    expect(notes.first).to_contain_text("Marie Dupont")
    shot(claire, "firm-inbox")
    claire.goto(portal.url + "/firm/documents/?status=approved")
    expect(claire.locator("tbody")).to_contain_text("Bilan 2025")
    expect(claire.locator("tbody")).not_to_contain_text("Avis de CFE")  # still pending
    claire.goto(portal.url + "/firm/documents/?status=pending_approval&status=rejected")
    expect(claire.locator("tbody")).to_contain_text("Avis de CFE")
    expect(claire.locator("tbody")).to_contain_text("Lettre de mission 2026")
    expect(claire.locator("tbody")).not_to_contain_text("Bilan 2025")
    shot(claire, "firm-documents-filtered")
    claire.goto(portal.url + "/firm/accounts/dupont/approvals/")
    first = claire.locator("tbody tr").first
    expect(first).to_contain_text("Bilan 2025")
    expect(first).to_contain_text("approuvé")
    shot(claire, "firm-approvals-tab")
    claire.goto(portal.url + BILAN)
    expect(claire.locator("#chain")).to_contain_text("La chaîne d'audit est intacte")
    trail = claire.locator("section", has_text="Piste d'audit").locator("tbody")
    expect(trail).to_contain_text("Il manque l'annexe")
    expect(trail).to_contain_text("Parfait.")
    shot(claire, "firm-document-audit-trail")


def test_request_from_the_list_then_cancel(browser: Browser, portal: Portal) -> None:
    claire = sign_in(browser, portal, "claire")
    claire.goto(portal.url + "/firm/documents/?account=dupont")
    row = claire.locator("tbody tr", has_text="Grand livre 2025")
    row.get_by_role("link", name=re.compile("Demander l'approbation")).click()
    expect(claire.locator("h1")).to_contain_text("Grand livre 2025")
    # The reminder settings show sensible defaults.
    expect(claire.locator("#list-days")).to_have_value("3")
    expect(claire.locator("#list-count")).to_have_value("2")
    claire.get_by_role("button", name="Demander l'approbation").click()
    expect(claire.locator("#status")).to_contain_text("en attente d'approbation")
    marie = sign_in(browser, portal, "marie")
    wait_for_text(marie, portal.url + "/pending/", "Grand livre 2025")

    claire.locator("#cancel-note").fill("Envoyé par erreur")
    claire.get_by_role("button", name="Annuler la demande").click()
    expect(claire.locator(".messages")).to_contain_text("La demande a été annulée.")
    expect(claire.locator("#status")).to_contain_text("non demandée")
    wait_until_gone(marie, portal.url + "/pending/", "Grand livre 2025")


def test_lock_to_an_invoice_then_mark_it_paid(browser: Browser, portal: Portal) -> None:
    paul = sign_in(browser, portal, "paul")  # reads English
    url = portal.url + "/firm/accounts/dupont/documents/dupont-liasse"
    paul.goto(url)
    paul.get_by_label("Lock to an unpaid invoice").fill("FA-2026-12")
    paul.get_by_role("button", name="Lock").click()
    expect(paul.locator("#status")).to_contain_text("Pending payment")
    paul.goto(portal.url + "/firm/documents/?status=pending_payment")
    expect(paul.locator("tbody")).to_contain_text("Liasse fiscale 2025")
    expect(paul.locator("tbody")).to_contain_text("VAT return Q1 2026")  # seeded
    expect(paul.locator("tbody")).not_to_contain_text("Grand livre 2025")
    paul.goto(url)
    paul.get_by_role("button", name="Mark invoice FA-2026-12 as paid").click()
    expect(paul.locator(".messages")).to_contain_text("The invoice is marked as paid.")
    expect(paul.locator("#status")).not_to_contain_text("Pending payment")
    paul.goto(portal.url + "/firm/documents/?status=pending_payment")
    expect(paul.locator("tbody")).not_to_contain_text("Liasse fiscale 2025")


def test_a_stale_form_gets_a_friendly_english_refusal(
    browser: Browser, portal: Portal
) -> None:
    paul = sign_in(browser, portal, "paul")
    paul.goto(portal.url + "/firm/accounts/dupont/documents/dupont-paie-mars/request")
    claire = sign_in(browser, portal, "claire")
    claire.goto(portal.url + "/firm/accounts/dupont/documents/dupont-paie-mars")
    claire.get_by_role("button", name="Demander l'approbation").click()
    expect(claire.locator("#status")).to_contain_text("en attente d'approbation")
    # Paul's page was opened before Claire asked: approvalflow refuses, kindly.
    paul.get_by_role("button", name="Request approval").click()
    expect(paul.locator(".messages .error")).to_have_text(
        "This document is already waiting for the client's approval."
    )


def test_uploading_files_with_approval_requests_them_all(
    browser: Browser, portal: Portal
) -> None:
    paul = sign_in(browser, portal, "paul")
    paul.goto(portal.url + "/firm/accounts/acme/documents/")
    paul.get_by_label("Folder").select_option(label="Accounts 2025")
    files: list[FilePayload] = [
        {"name": "Board minutes.pdf", "mimeType": "application/pdf", "buffer": b"%PDF"},
        {"name": "Fixed assets.xlsx", "mimeType": "application/zip", "buffer": b"PK"},
    ]
    paul.get_by_label("Files", exact=True).set_input_files(files)
    paul.get_by_label("Ask the client to approve these files").check()
    paul.get_by_label("Message to the client (optional)").fill("Two more for you.")
    paul.get_by_role("button", name="Upload").click()
    expect(paul.locator(".messages")).to_contain_text("2 documents uploaded.")
    for name in ("Board minutes.pdf", "Fixed assets.xlsx"):
        row = paul.locator("tbody tr", has_text=name)
        expect(row).to_contain_text("pending approval")
    shot(paul, "firm-client-documents-tab")
    paul.goto(portal.url + "/firm/accounts/?pending=1")
    acme = paul.locator("tbody tr", has_text="Acme Trading Ltd")
    expect(acme.locator("td").nth(1)).to_have_text("3")  # the seeded one and these two
    expect(paul.locator("tbody")).to_contain_text("Lefebvre Architectes")  # seeded
    shot(paul, "firm-accounts-pending")
