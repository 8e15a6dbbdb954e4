"""Demo mode only: the mail sink's mailbox and the clock that moves forward.

The worker's emails are files in ``EMAIL_FILE_PATH`` (Django's file
backend, one file per message); the mailbox lists and shows them. Moving
the clock changes the time approvalflow sees in the web server and in the
worker, so due reminders go out on the worker's next pass.
"""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from approvalflow_django import get_approvals
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from portal.ports import DemoClock, move_clock
from portal.views import back_to

_SEPARATOR = b"\n" + b"-" * 79 + b"\n"
_NAME = re.compile(r"^[\w.-]+\.log$")


def _demo_only() -> None:
    if not settings.PORTAL_DEMO:
        raise Http404


def _mail_dir() -> Path:
    return Path(settings.EMAIL_FILE_PATH)


def _parse(path: Path) -> EmailMessage:
    raw = path.read_bytes()
    if raw.endswith(_SEPARATOR):
        raw = raw[: -len(_SEPARATOR)]
    found = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(found, EmailMessage)
    return found


def _summary(path: Path) -> dict[str, Any]:
    message = _parse(path)
    date = message.get("Date")
    return {
        "name": path.name,
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "date": parsedate_to_datetime(str(date)) if date else None,
    }


def emails() -> list[dict[str, Any]]:
    """Every email in the sink, newest first."""
    folder = _mail_dir()
    if not folder.is_dir():
        return []
    paths = sorted(
        (p for p in folder.iterdir() if _NAME.match(p.name)),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
        reverse=True,
    )
    return [_summary(p) for p in paths]


@require_GET
def mailbox(request: HttpRequest) -> HttpResponse:
    """The mail sink: every email the worker sent, newest first."""
    _demo_only()
    return render(request, "portal/mailbox.html", {"emails": emails()})


def _message(name: str) -> EmailMessage:
    path = _mail_dir() / name
    if not _NAME.match(name) or not path.is_file():
        raise Http404
    return _parse(path)


@require_GET
def mail_message(request: HttpRequest, name: str) -> HttpResponse:
    """One email: its headers, and its HTML part in a frame."""
    _demo_only()
    message = _message(name)
    text = message.get_body(preferencelist=("plain",))
    return render(
        request,
        "portal/mail_message.html",
        {
            "name": name,
            "headers": [
                (h, str(message.get(h, "")))
                for h in ("From", "To", "Reply-To", "Subject", "Date")
                if message.get(h)
            ],
            "text": text.get_content() if isinstance(text, EmailMessage) else "",
        },
    )


@require_GET
@xframe_options_sameorigin
def mail_html(request: HttpRequest, name: str) -> HttpResponse:
    """An email's HTML part as the recipient's mail program shows it."""
    _demo_only()
    html = _message(name).get_body(preferencelist=("html",))
    if not isinstance(html, EmailMessage):
        raise Http404
    content = str(html.get_content())
    # Its links open in the whole window here, where a mail program would
    # open a browser (the emails ask for a new window: target="_blank").
    content = re.sub(
        r"<head([^>]*)>", r'<head\1><base target="_top">', content, count=1
    )
    content = content.replace('target="_blank"', 'target="_top"')
    response = HttpResponse(content)
    # An email is shown, never run: no scripts, no forms, no plug-ins.
    response["Content-Security-Policy"] = (
        "script-src 'none'; object-src 'none'; form-action 'none'"
    )
    return response


def _next_reminder() -> Any:
    approvals = get_approvals()
    due = [
        row.next_reminder_at
        for account in approvals.accounts_pending()
        for row in approvals.approvals_tab(
            account.account_id, filters=["pending_approval"], limit=200
        ).rows
        if row.next_reminder_at is not None
    ]
    return min(due, default=None)


@require_POST
def move_time(request: HttpRequest) -> HttpResponse:
    """Move the demo clock forward: an hour, a day, a week, or to the next reminder."""
    _demo_only()
    if not request.user.is_authenticated:
        return redirect("login")
    step = request.POST.get("by", "")
    steps = {
        "hour": timedelta(hours=1),
        "day": timedelta(days=1),
        "week": timedelta(days=7),
    }
    if step in steps:
        move_clock(steps[step])
    elif step == "reminder":
        due = _next_reminder()
        if due is None:
            messages.info(
                request, _("No reminder is due: nothing is pending with reminders.")
            )
        else:
            move_clock(
                max(due - DemoClock().now(), timedelta(0)) + timedelta(minutes=1)
            )
    else:
        raise Http404
    return back_to(request, "home")
