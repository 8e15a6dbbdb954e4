"""Settings of the example portal: a firm's and its clients' web pages.

Everything lives under ``PORTAL_DATA_DIR`` (``examples/portal/data`` by
default): the SQLite database, the mail sink and uploaded files.
``PORTAL_DATABASE_URL`` puts the database on PostgreSQL instead
(``postgresql://user:password@host:port/name``, with ``?schema=name``
for a schema other than ``public``). ``PORTAL_URL`` is the
address people open, used in the emails' links.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PORTAL_DATA_DIR", str(BASE_DIR / "data")))
PORTAL_URL = os.environ.get("PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")

# A demo's key: a real host reads its own secret from the environment.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "portal-demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", urlsplit(PORTAL_URL).hostname or ""]

#: Demo mode: the clock can be moved forward and the mail sink is open.
PORTAL_DEMO = os.environ.get("PORTAL_DEMO", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "approvalflow_django",
    "portal",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.user_language",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "portalsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context.portal",
            ]
        },
    }
]
# The mailbox shows each email's HTML in a frame of the same site.
X_FRAME_OPTIONS = "SAMEORIGIN"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

USE_TZ = True
TIME_ZONE = "Europe/Paris"
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MEDIA_ROOT = DATA_DIR / "uploads"


def _database(url: str | None) -> dict[str, Any]:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "portal.sqlite3"),
            # Write transactions take SQLite's lock when they begin and wait
            # for it: the web server and the worker write the same file.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        msg = f"PORTAL_DATABASE_URL must start with postgresql://, got {url!r}"
        raise ValueError(msg)
    config: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    # ?schema=name puts every table in that schema (it must exist).
    schema = parse_qs(parts.query).get("schema", [""])[0]
    if schema:
        if not schema.isidentifier():
            msg = f"PORTAL_DATABASE_URL's schema must be a plain name, got {schema!r}"
            raise ValueError(msg)
        config["OPTIONS"] = {"options": f"-c search_path={schema}"}
    return config


DATABASES = {"default": _database(os.environ.get("PORTAL_DATABASE_URL"))}

# The worker's emails land in the mail sink, a folder the mailbox page reads.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(DATA_DIR / "mail")

APPROVALFLOW = {
    "DATABASE": "default",
    "FROM_EMAIL": "approvals@martin-associes.example",
    "FIRM_NAME": "Martin & Associés",
    "PORTAL_URL": PORTAL_URL,
    "FIRM_URL": PORTAL_URL + "/firm",
    "LANGUAGE": "fr",
    "CLOCK": "portal.ports.DemoClock",
    "PORTAL": "portal.ports.PortalTasks",
    "REMINDER_SCHEDULE": "portal.ports.PARIS_OFFICE_HOURS",
    "MODELS": {
        "firm_member": {
            "model": "portal.Staff",
            "user_id": "user__username",
            "name": "full_name",
            "email": "email",
            "approvals_notifications": "wants_approval_emails",
            "language": "language",
        },
        "client_user": {
            "model": "portal.ClientUser",
            "user_id": "user__username",
            "name": "name",
            "email": "email",
            "language": "language",
        },
        "client_account": {
            "model": "portal.ClientAccount",
            "account_id": "code",
            "name": "name",
        },
        "account_link": {
            "model": "portal.AccountLink",
            "account_id": "account__code",
            "user_id": "user__user__username",
            "notify": "notify",
        },
        "document": {
            "model": "portal.Document",
            "document_id": "ref",
            "account_id": "folder__account__code",
            "name": "name",
            "file_type": "file_type",
            "uploaded_by": "uploaded_by__full_name",
            "description": "description",
            "client_visible": "folder__client_visible",
        },
    },
}
