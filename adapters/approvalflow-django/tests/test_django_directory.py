"""ModelDirectory: approvalflow's directory read from the example host's models."""

from __future__ import annotations

import copy

import pytest
from approvalflow_django.directory import ModelDirectory
from django.conf import settings
from firm.models import AccountLink, ClientAccount, ClientUser, Document, Staff

from approvalflow import ConfigurationError, Directory
from approvalflow.testing.contracts import DirectoryContract, DirectorySeed


def seed_host(seed: DirectorySeed) -> None:
    """The seed as rows of the example host's own models."""
    staff = {
        m.user_id: Staff.objects.create(
            username=m.user_id,
            full_name=m.name,
            email=m.email,
            wants_approval_emails=m.approvals_notifications,
            language=m.language or "",
        )
        for m in seed.firm_members
    }
    users = {
        u.user_id: ClientUser.objects.create(
            login=u.user_id, name=u.name, email=u.email, language=u.language or ""
        )
        for u in seed.client_users
    }
    accounts = {
        a.account_id: ClientAccount.objects.create(code=a.account_id, name=a.name)
        for a in seed.accounts
    }
    for account_id, links in seed.links.items():
        for link in links:
            AccountLink.objects.create(
                account=accounts[account_id],
                user=users[link.user_id],
                notify=link.notify,
            )
    by_name = {s.full_name: s for s in staff.values()}
    for doc in seed.documents:
        Document.objects.create(
            ref=doc.facts.document_id,
            account=accounts[doc.facts.account_id],
            name=doc.facts.name,
            file_type=doc.facts.file_type,
            uploaded_by=by_name[doc.facts.uploaded_by],
            description=doc.facts.description or "",
            client_visible=doc.client_visible,
        )


@pytest.mark.usefixtures("database")
class TestModelDirectory(DirectoryContract):
    def make_directory(self, seed: DirectorySeed) -> Directory:
        seed_host(seed)
        return ModelDirectory(settings.APPROVALFLOW["MODELS"])


def test_a_field_that_does_not_exist_is_named() -> None:
    models = copy.deepcopy(settings.APPROVALFLOW["MODELS"])
    models["document"]["name"] = "title"
    with pytest.raises(
        ConfigurationError, match=r"firm\.Document has no field 'title'"
    ):
        ModelDirectory(models)


def test_a_model_that_does_not_exist_is_named() -> None:
    models = copy.deepcopy(settings.APPROVALFLOW["MODELS"])
    models["client_user"]["model"] = "firm.Customer"
    with pytest.raises(ConfigurationError, match=r"'firm\.Customer', which is not"):
        ModelDirectory(models)


def test_a_missing_record_says_what_to_give() -> None:
    models = copy.deepcopy(settings.APPROVALFLOW["MODELS"])
    del models["account_link"]
    with pytest.raises(ConfigurationError, match=r"\['account_link'\] is missing"):
        ModelDirectory(models)


def test_a_relation_path_through_a_plain_field_is_refused() -> None:
    models = copy.deepcopy(settings.APPROVALFLOW["MODELS"])
    models["account_link"]["user_id"] = "notify__login"
    with pytest.raises(ConfigurationError, match="not a relation to follow"):
        ModelDirectory(models)
