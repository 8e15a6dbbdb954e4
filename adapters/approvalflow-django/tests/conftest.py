"""Django for these tests, inside the repository's one pytest session.

Django is configured once per process, here, from the example host's
settings (``examples/django_host``), with its ``default`` database pointed
at a fresh SQLite file, or at a fresh schema of the throwaway PostgreSQL
server, for each test that asks for one, and migrated there. Emails go to
Django's ``locmem`` backend. Nothing here touches the core's tests.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django
import pytest
from approvalflow_django import close_approvals
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connections

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "django_host"
_TMP = Path(tempfile.mkdtemp(prefix="approvalflow-django-"))

if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

if not settings.configured:
    from hostsite import settings as host_settings

    configured = {
        k: getattr(host_settings, k) for k in dir(host_settings) if k.isupper()
    }
    configured["DATABASES"] = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_TMP / "first.sqlite3"),
        }
    }
    configured["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    settings.configure(**configured)
    django.setup()

from firm.models import (  # noqa: E402 - the models need Django set up
    AccountLink,
    ClientAccount,
    ClientUser,
    Document,
    Staff,
)


def sqlite_config(path: Path) -> dict[str, Any]:
    """Django settings for an SQLite file, as a host would write them."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
    }


def postgres_config(url: str, schema: str) -> dict[str, Any]:
    """Django settings for a schema of the test server."""
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username,
        "PASSWORD": parts.password,
        "HOST": parts.hostname,
        "PORT": str(parts.port),
        "OPTIONS": {"options": f"-c search_path={schema}"},
    }


def point_default_at(config: dict[str, Any]) -> None:
    """Make Django's ``default`` database ``config`` from now on (every thread)."""
    close_approvals()
    connections.close_all()
    with contextlib.suppress(AttributeError):
        del connections["default"]  # this thread's wrapper, made for the old one
    databases = settings.DATABASES
    databases["default"].clear()
    databases["default"].update(config)
    connections.configure_settings(databases)  # fills Django's defaults in place


def migrate() -> None:
    """``manage.py migrate`` on the default database, quietly."""
    call_command("migrate", database="default", verbosity=0)


@pytest.fixture
def sqlite_default() -> Iterator[Path]:
    """``default`` on a fresh SQLite file, not migrated yet; yields its path."""
    path = _TMP / f"{uuid.uuid4().hex}.sqlite3"
    point_default_at(sqlite_config(path))
    try:
        yield path
    finally:
        point_default_at(sqlite_config(_TMP / "first.sqlite3"))
        for leftover in _TMP.glob(f"{path.name}*"):
            leftover.unlink()


@pytest.fixture
def postgres_default(postgres: Any) -> Iterator[str]:
    """``default`` on a fresh schema of the test server, not migrated yet."""
    import psycopg  # noqa: PLC0415 - only PostgreSQL tests need it

    schema = f"dj_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    point_default_at(postgres_config(postgres.url, schema))
    try:
        yield schema
    finally:
        point_default_at(sqlite_config(_TMP / "first.sqlite3"))
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """``default`` on a fresh, migrated SQLite file or PostgreSQL schema."""
    vendor = str(request.param)
    request.getfixturevalue(
        f"{'postgres' if vendor == 'postgresql' else vendor}_default"
    )
    migrate()
    mail.outbox = []
    return vendor


@pytest.fixture
def host() -> None:
    """The firm's data: Anna (staff), the Dupont account with Claire and Marc."""
    anna = Staff.objects.create(
        username="anna",
        full_name="Anna Martin",
        email="anna@martin.example",
        wants_approval_emails=True,
    )
    Staff.objects.create(
        username="paul", full_name="Paul Roux", email="paul@martin.example"
    )
    dupont = ClientAccount.objects.create(code="dupont", name="Dupont & Fils")
    claire = ClientUser.objects.create(
        login="claire", name="Claire Dupont", email="claire@dupont.example"
    )
    marc = ClientUser.objects.create(
        login="marc", name="Marc Dupont", email="marc@dupont.example"
    )
    AccountLink.objects.create(account=dupont, user=claire, notify=True)
    AccountLink.objects.create(account=dupont, user=marc, notify=False)
    Document.objects.create(
        ref="tax-2025",
        account=dupont,
        name="2025 Tax return",
        file_type="pdf",
        uploaded_by=anna,
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Close what Django opened and remove the SQLite files."""
    del session
    close_approvals()
    connections.close_all()
    shutil.rmtree(_TMP, ignore_errors=True)
