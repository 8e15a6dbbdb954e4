"""approvalflow's Directory port, read from the host's own Django models.

``APPROVALFLOW["MODELS"]`` says which model and which fields are which. A
field may follow relations with ``__`` (``"account__code"``), as in
``QuerySet.values()``. Ids are compared and returned as text, so an integer
primary key works too::

    "MODELS": {
        "firm_member": {
            "model": "firm.Staff", "user_id": "username", "name": "full_name",
            "email": "email",
            "approvals_notifications": "wants_approval_emails",  # optional
            "language": "language",  # optional
        },
        "client_user": {
            "model": "firm.ClientUser", "user_id": "login", "name": "name",
            "email": "email", "language": "language",  # optional
        },
        "client_account": {"model": "firm.ClientAccount", "account_id": "code",
                           "name": "name"},
        "account_link": {"model": "firm.AccountLink", "account_id": "account__code",
                         "user_id": "user__login", "notify": "notify"},  # optional
        "document": {
            "model": "firm.Document", "document_id": "ref",
            "account_id": "account__code", "name": "name", "file_type": "file_type",
            "uploaded_by": "uploaded_by__full_name",
            "description": "description",  # optional
            "client_visible": "client_visible",
        },
    }

Optional fields left out mean: nobody subscribes to *Approvals* emails,
the default language, every link has *Notify* on, no description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model

from approvalflow import (
    AccountLink,
    ClientAccount,
    ClientUser,
    ConfigurationError,
    Document,
    DocumentFacts,
    FirmMember,
)

__all__ = ["FIELDS", "ModelDirectory", "mapping_problems"]

#: Each record approvalflow asks for: its required and optional fields.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "firm_member": (
        ("user_id", "name", "email"),
        ("approvals_notifications", "language"),
    ),
    "client_user": (("user_id", "name", "email"), ("language",)),
    "client_account": (("account_id", "name"), ()),
    "account_link": (("account_id", "user_id"), ("notify",)),
    "document": (
        (
            "document_id",
            "account_id",
            "name",
            "file_type",
            "uploaded_by",
            "client_visible",
        ),
        ("description",),
    ),
}


def _resolve(model: type[Model], path: str) -> str | None:
    """Why ``path`` is not a field of ``model`` (``None``: it is)."""
    current: Any = model
    parts = path.split("__")
    for i, part in enumerate(parts):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return f"{current._meta.label} has no field {part!r}"
        if i < len(parts) - 1:
            if not field.is_relation or field.related_model is None:
                return f"{current._meta.label}.{part} is not a relation to follow"
            current = field.related_model
    return None


def mapping_problems(models: object) -> list[tuple[str, str]]:
    """What is wrong with an ``APPROVALFLOW["MODELS"]`` mapping (message, hint)."""
    if not isinstance(models, Mapping):
        return [
            (
                f"APPROVALFLOW['MODELS'] must be a dict, got {type(models).__name__}.",
                "Map each of " + ", ".join(FIELDS) + " to {'model': 'app.Model', ...}.",
            )
        ]
    found: list[tuple[str, str]] = []
    for record, (required, optional) in FIELDS.items():
        spec = models.get(record)
        where = f"APPROVALFLOW['MODELS'][{record!r}]"
        if not isinstance(spec, Mapping):
            found.append(
                (
                    f"{where} is missing.",
                    "Give {'model': 'app.Model', "
                    + ", ".join(f"'{f}': 'field'" for f in required)
                    + "}"
                    + (f", optionally {', '.join(optional)}" if optional else "")
                    + ".",
                )
            )
            continue
        label = spec.get("model")
        try:
            model = apps.get_model(str(label))
        except (LookupError, ValueError):
            found.append(
                (
                    f"{where}['model'] is {label!r}, which is not an installed model.",
                    "Use 'app_label.ModelName' of a model in INSTALLED_APPS.",
                )
            )
            continue
        unknown = sorted(set(spec) - {"model", *required, *optional})
        if unknown:
            found.append(
                (
                    f"{where} has unknown keys: {', '.join(unknown)}.",
                    "Known: model, " + ", ".join((*required, *optional)) + ".",
                )
            )
        for name in (*required, *optional):
            path = spec.get(name)
            if path is None:
                if name in required:
                    found.append(
                        (
                            f"{where} does not say which field is {name!r}.",
                            f"Add '{name}': 'a field of {label}'.",
                        )
                    )
                continue
            why = _resolve(model, str(path))
            if why is not None:
                found.append(
                    (
                        f"{where}[{name!r}] is {path!r}: {why}.",
                        "Name a field of the model, following relations with '__'.",
                    )
                )
    return found


class _Mapped:
    """One record's model and fields."""

    def __init__(self, model: type[Model], fields: Mapping[str, str]) -> None:
        self.model = model
        self.fields = fields

    def rows(self, key: str, value: object) -> list[dict[str, Any]]:
        names = list(self.fields)
        manager = self.model._default_manager
        found = manager.filter(**{self.fields[key]: value}).values(
            *(self.fields[n] for n in names)
        )
        return [{n: row[self.fields[n]] for n in names} for row in found]

    def one(self, key: str, value: object) -> dict[str, Any] | None:
        rows = self.rows(key, value)
        return rows[0] if rows else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _optional(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


class ModelDirectory:
    """The Directory port on the host's models (see the module docstring).

    Built from a mapping (``ModelDirectory(settings.APPROVALFLOW["MODELS"])``),
    checked at once: a model or field that does not exist is a
    :class:`~approvalflow.ConfigurationError` naming it.
    """

    def __init__(self, models: Mapping[str, Mapping[str, str]]) -> None:
        wrong = mapping_problems(models)
        if wrong:
            msg = "APPROVALFLOW['MODELS'] is not usable: " + " ".join(
                f"{message} {hint}" for message, hint in wrong
            )
            raise ConfigurationError(msg)
        self._records = {
            record: _Mapped(
                apps.get_model(str(spec["model"])),
                {k: str(v) for k, v in spec.items() if k != "model"},
            )
            for record, spec in models.items()
            if record in FIELDS
        }

    def document(self, document_id: str) -> Document | None:
        """The document, or ``None`` if the host does not know it."""
        row = self._records["document"].one("document_id", document_id)
        if row is None:
            return None
        return Document(
            facts=DocumentFacts(
                document_id=_text(row["document_id"]),
                account_id=_text(row["account_id"]),
                name=_text(row["name"]),
                file_type=_text(row["file_type"]),
                uploaded_by=_text(row["uploaded_by"]),
                description=_optional(row.get("description")),
            ),
            client_visible=bool(row["client_visible"]),
        )

    def account(self, account_id: str) -> ClientAccount | None:
        """The client account, or ``None``."""
        row = self._records["client_account"].one("account_id", account_id)
        if row is None:
            return None
        return ClientAccount(
            account_id=_text(row["account_id"]), name=_text(row["name"])
        )

    def firm_member(self, user_id: str) -> FirmMember | None:
        """The firm member, or ``None`` if the user is not staff."""
        row = self._records["firm_member"].one("user_id", user_id)
        return None if row is None else _firm_member(row)

    def client_user(self, user_id: str) -> ClientUser | None:
        """The client user, or ``None``."""
        row = self._records["client_user"].one("user_id", user_id)
        if row is None:
            return None
        return ClientUser(
            user_id=_text(row["user_id"]),
            name=_text(row["name"]),
            email=_text(row["email"]),
            language=_optional(row.get("language")),
        )

    def account_links(self, account_id: str) -> Sequence[AccountLink]:
        """The users linked to the account, with their Notify flags."""
        rows = self._records["account_link"].rows("account_id", account_id)
        return [
            AccountLink(user_id=_text(r["user_id"]), notify=bool(r.get("notify", True)))
            for r in sorted(rows, key=lambda r: _text(r["user_id"]))
        ]

    def approvals_subscribers(self) -> Sequence[FirmMember]:
        """Firm members whose *Approvals* preference is on."""
        members = self._records["firm_member"]
        if "approvals_notifications" not in members.fields:
            return []
        rows = members.rows("approvals_notifications", True)
        return [
            _firm_member(r) for r in sorted(rows, key=lambda r: _text(r["user_id"]))
        ]


def _firm_member(row: Mapping[str, Any]) -> FirmMember:
    return FirmMember(
        user_id=_text(row["user_id"]),
        name=_text(row["name"]),
        email=_text(row["email"]),
        approvals_notifications=bool(row.get("approvals_notifications", False)),
        language=_optional(row.get("language")),
    )
