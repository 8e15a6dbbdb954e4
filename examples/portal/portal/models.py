"""The host's own data: people, accounts, folders and documents.

approvalflow reads them through ``APPROVALFLOW["MODELS"]`` (see
``portalsite/settings.py``) and never writes them. The last three models
are what the portal's ports write: the clients' tasks, the firm's Inbox+
and the demo clock's offset. Fields carry their types for mypy.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models


class Staff(models.Model):
    """A member of the firm, signing in as ``user``."""

    user: models.OneToOneField[User, User] = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="staff"
    )
    full_name: models.CharField[str, str] = models.CharField(max_length=200)
    email: models.EmailField[str, str] = models.EmailField()
    #: The *Approvals* preference: emails and Inbox+ notes about decisions.
    wants_approval_emails: models.BooleanField[bool, bool] = models.BooleanField(
        default=False
    )
    language: models.CharField[str, str] = models.CharField(max_length=2, default="fr")

    def __str__(self) -> str:
        return str(self.full_name)


class ClientAccount(models.Model):
    """A client of the firm."""

    code: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    name: models.CharField[str, str] = models.CharField(max_length=200)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return str(self.name)


class ClientUser(models.Model):
    """A person on the client side, signing in as ``user``."""

    user: models.OneToOneField[User, User] = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="client"
    )
    name: models.CharField[str, str] = models.CharField(max_length=200)
    email: models.EmailField[str, str] = models.EmailField()
    language: models.CharField[str, str] = models.CharField(max_length=2, default="fr")

    def __str__(self) -> str:
        return str(self.name)


class AccountLink(models.Model):
    """A client user linked to an account, with the account's *Notify* flag."""

    account: models.ForeignKey[ClientAccount, ClientAccount] = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, related_name="links"
    )
    user: models.ForeignKey[ClientUser, ClientUser] = models.ForeignKey(
        ClientUser, on_delete=models.CASCADE, related_name="links"
    )
    notify: models.BooleanField[bool, bool] = models.BooleanField(default=True)

    class Meta:
        constraints = [  # noqa: RUF012 - Django's Meta convention
            models.UniqueConstraint(fields=["account", "user"], name="one_link")
        ]


class Folder(models.Model):
    """A folder of an account's documents; the client sees it or not."""

    account: models.ForeignKey[ClientAccount, ClientAccount] = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, related_name="folders"
    )
    name: models.CharField[str, str] = models.CharField(max_length=200)
    client_visible: models.BooleanField[bool, bool] = models.BooleanField(default=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return str(self.name)


class Document(models.Model):
    """A document in a folder; approval can be asked when the client sees it."""

    ref: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    folder: models.ForeignKey[Folder, Folder] = models.ForeignKey(
        Folder, on_delete=models.CASCADE, related_name="documents"
    )
    name: models.CharField[str, str] = models.CharField(max_length=200)
    file_type: models.CharField[str, str] = models.CharField(max_length=16)
    uploaded_by: models.ForeignKey[Staff, Staff] = models.ForeignKey(
        Staff, on_delete=models.PROTECT
    )
    description: models.TextField[str, str] = models.TextField(blank=True, default="")
    uploaded_at: models.DateTimeField[object, object] = models.DateTimeField()
    file: models.FileField = models.FileField(upload_to="documents/", blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return str(self.name)


class Task(models.Model):
    """A client account's *Pending action* task, written by approvalflow's worker."""

    account_code: models.CharField[str, str] = models.CharField(max_length=64)
    document_ref: models.CharField[str, str] = models.CharField(max_length=64)
    title: models.CharField[str, str] = models.CharField(max_length=500)
    #: When it was put (or moved) to the top, by the demo clock.
    updated_at: models.DateTimeField[object, object] = models.DateTimeField()

    class Meta:
        constraints = [  # noqa: RUF012 - Django's Meta convention
            models.UniqueConstraint(
                fields=["account_code", "document_ref"], name="one_task"
            )
        ]


class InboxNote(models.Model):
    """A note in a firm member's Inbox+, written by approvalflow's worker."""

    username: models.CharField[str, str] = models.CharField(max_length=150)
    document_ref: models.CharField[str, str] = models.CharField(max_length=64)
    text: models.TextField[str, str] = models.TextField()
    created_at: models.DateTimeField[object, object] = models.DateTimeField()


class ClockOffset(models.Model):
    """How far the demo clock runs ahead of the machine's (one row)."""

    seconds: models.FloatField[float, float] = models.FloatField(default=0.0)
