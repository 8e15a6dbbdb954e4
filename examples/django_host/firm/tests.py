"""The host's own tests, as a Django project writes them (``manage.py test firm``).

Django's test runner gives each test a transaction rolled back after it and
the ``locmem`` email backend; :func:`approvalflow_django.testing.run_worker`
runs approvalflow's worker in the test itself, so its emails land in
``django.core.mail.outbox``.
"""

from __future__ import annotations

from approvalflow_django import get_approvals
from approvalflow_django.testing import run_worker
from django.core import mail
from django.test import Client, TestCase

from firm.models import AccountLink, ClientAccount, ClientUser, Document, Staff


class ApprovalEmailTests(TestCase):
    """What the firm's people receive when approvals are asked and decided."""

    @classmethod
    def setUpTestData(cls) -> None:
        """Anna (staff), the Dupont account and Claire, its client user."""
        anna = Staff.objects.create(
            username="anna",
            full_name="Anna Martin",
            email="anna@martin.example",
            wants_approval_emails=True,
        )
        dupont = ClientAccount.objects.create(code="dupont", name="Dupont & Fils")
        claire = ClientUser.objects.create(
            login="claire", name="Claire Dupont", email="claire@dupont.example"
        )
        AccountLink.objects.create(account=dupont, user=claire, notify=True)
        Document.objects.create(
            ref="tax-2025",
            account=dupont,
            name="2025 Tax return",
            file_type="pdf",
            uploaded_by=anna,
        )

    def test_the_client_is_emailed_when_asked_to_approve(self) -> None:
        """Asking sends the client one email, once the worker has run."""
        assert (
            Client()
            .post(
                "/documents/tax-2025/request-approval",
                {"message": "Please check the figures."},
                headers={"X-User": "anna"},
            )
            .status_code
            == 303
        )
        assert mail.outbox == []  # the worker sends, not the request
        done = run_worker()
        assert done.sent == 1
        [email] = mail.outbox
        assert email.to == ["Claire Dupont <claire@dupont.example>"]
        assert "2025 Tax return" in email.subject
        assert "Please check the figures." in email.body

    def test_the_firm_is_emailed_when_the_client_rejects(self) -> None:
        """A rejection reaches the staff member who wants approval emails."""
        get_approvals().request_approval("tax-2025", by="anna")
        get_approvals().reject("tax-2025", by="claire", reasons=["Wrong period"])
        run_worker()
        assert [m.to for m in mail.outbox] == [
            ["Claire Dupont <claire@dupont.example>"],
            ["Anna Martin <anna@martin.example>"],
        ]
        assert "Wrong period" in mail.outbox[-1].body
        # Nothing waits any more: a second run sends nothing.
        assert run_worker().sent == 0
