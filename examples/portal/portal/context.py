"""What every page shows: who is signed in, the demo clock, unread Inbox+."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.models import InboxNote
from portal.ports import DemoClock
from portal.roles import client_of, staff_of


def portal(request: HttpRequest) -> dict[str, Any]:
    """The template context every page has."""
    staff = staff_of(request)
    nav = next(
        (
            name
            for prefix, name in (
                ("/firm/documents", "documents"),
                ("/firm/accounts", "accounts"),
                ("/firm/inbox", "inbox"),
                ("/pending", "pending"),
                ("/mailbox", "mailbox"),
            )
            if request.path.startswith(prefix)
        ),
        None,
    )
    return {
        "nav": nav,
        "staff": staff,
        "client": client_of(request) if staff is None else None,
        "demo": settings.PORTAL_DEMO,
        "demo_now": DemoClock().now() if settings.PORTAL_DEMO else None,
        "inbox_count": (
            InboxNote.objects.filter(username=staff.user.username).count()
            if staff is not None
            else 0
        ),
        "firm_name": settings.APPROVALFLOW["FIRM_NAME"],
    }
