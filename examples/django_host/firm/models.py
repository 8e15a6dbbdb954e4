"""The host's own data; approvalflow reads it through ``APPROVALFLOW["MODELS"]``.

Fields carry their types for mypy (django-stubs without its plugin).
"""

from __future__ import annotations

from django.db import models


class Staff(models.Model):
    """A member of the firm."""

    username: models.CharField[str, str] = models.CharField(max_length=150, unique=True)
    full_name: models.CharField[str, str] = models.CharField(max_length=200)
    email: models.EmailField[str, str] = models.EmailField()
    #: The *Approvals* notification preference: emails about decisions.
    wants_approval_emails: models.BooleanField[bool, bool] = models.BooleanField(
        default=False
    )
    language: models.CharField[str, str] = models.CharField(
        max_length=2, blank=True, default=""
    )

    def __str__(self) -> str:
        return str(self.full_name)


class ClientAccount(models.Model):
    """A client of the firm."""

    code: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    name: models.CharField[str, str] = models.CharField(max_length=200)

    def __str__(self) -> str:
        return str(self.name)


class ClientUser(models.Model):
    """A person on the client side."""

    login: models.CharField[str, str] = models.CharField(max_length=150, unique=True)
    name: models.CharField[str, str] = models.CharField(max_length=200)
    email: models.EmailField[str, str] = models.EmailField()
    language: models.CharField[str, str] = models.CharField(
        max_length=2, blank=True, default=""
    )

    def __str__(self) -> str:
        return str(self.name)


class AccountLink(models.Model):
    """A client user linked to an account, with the account's *Notify* flag."""

    account: models.ForeignKey[ClientAccount, ClientAccount] = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE
    )
    user: models.ForeignKey[ClientUser, ClientUser] = models.ForeignKey(
        ClientUser, on_delete=models.CASCADE
    )
    notify: models.BooleanField[bool, bool] = models.BooleanField(default=True)

    class Meta:
        constraints = [  # noqa: RUF012 - Django's Meta convention
            models.UniqueConstraint(
                fields=["account", "user"], name="one_link_per_user"
            )
        ]


class Document(models.Model):
    """A document in a client's folder."""

    ref: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    account: models.ForeignKey[ClientAccount, ClientAccount] = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE
    )
    name: models.CharField[str, str] = models.CharField(max_length=200)
    file_type: models.CharField[str, str] = models.CharField(max_length=16)
    uploaded_by: models.ForeignKey[Staff, Staff] = models.ForeignKey(
        Staff, on_delete=models.PROTECT
    )
    description: models.TextField[str, str] = models.TextField(blank=True, default="")
    #: In a folder the client can see (approval can only be asked then).
    client_visible: models.BooleanField[bool, bool] = models.BooleanField(default=True)

    def __str__(self) -> str:
        return str(self.name)
