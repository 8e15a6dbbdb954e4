"""Settings of the example host: one app (``firm``) and approvalflow.

SQLite by default (``db.sqlite3`` beside ``manage.py``, or the file
``EXAMPLE_DB`` names); PostgreSQL when ``EXAMPLE_POSTGRES`` is a URL,
``postgresql://user:password@host:5432/name?schema=NAME``. The
``APPROVALFLOW`` setting maps approvalflow's directory onto ``firm``'s
models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

# An example's key: a real host reads its own from the environment.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = ["approvalflow_django", "firm"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "hostsite.urls"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {
            # A write transaction takes SQLite's write lock when it begins,
            # so a request that read first cannot fail on another's write,
            # and waits up to 20 s for it rather than 5.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}
if os.environ.get("EXAMPLE_POSTGRES"):
    _url = urlsplit(os.environ["EXAMPLE_POSTGRES"])
    _schema = parse_qs(_url.query).get("schema", ["public"])[0]
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "localhost",
        "PORT": str(_url.port or 5432),
        # Django's tables, and approvalflow's, go in this schema.
        "OPTIONS": {"options": f"-c search_path={_schema}"},
    }

# Emails go to the console here; a real host sets its SMTP server or a
# provider's backend.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

APPROVALFLOW = {
    "DATABASE": "default",
    "FROM_EMAIL": "approvals@martin.example",
    "FIRM_NAME": "Martin & Co",
    "PORTAL_URL": "https://portal.martin.example",
    "MODELS": {
        "firm_member": {
            "model": "firm.Staff",
            "user_id": "username",
            "name": "full_name",
            "email": "email",
            "approvals_notifications": "wants_approval_emails",
            "language": "language",
        },
        "client_user": {
            "model": "firm.ClientUser",
            "user_id": "login",
            "name": "name",
            "email": "email",
            "language": "language",
        },
        "client_account": {
            "model": "firm.ClientAccount",
            "account_id": "code",
            "name": "name",
        },
        "account_link": {
            "model": "firm.AccountLink",
            "account_id": "account__code",
            "user_id": "user__login",
            "notify": "notify",
        },
        "document": {
            "model": "firm.Document",
            "document_id": "ref",
            "account_id": "account__code",
            "name": "name",
            "file_type": "file_type",
            "uploaded_by": "uploaded_by__full_name",
            "description": "description",
            "client_visible": "client_visible",
        },
    },
}
