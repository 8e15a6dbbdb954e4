"""Plain views over approvalflow's public API and ``approvalflow_django``.

The acting user comes from the ``X-User`` header: a stand-in for the host's
own login, which this example leaves out. approvalflow decides who may do
what (staff request, linked client users decide) from the directory that
``APPROVALFLOW["MODELS"]`` maps onto this app's models.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from approvalflow_django import get_approvals
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from approvalflow import (
    ApprovalFlowError,
    DocumentRow,
    InvalidInputError,
    NotAuthorizedError,
    ReminderPolicy,
    UnknownDocumentError,
)
from approvalflow.i18n import words
from firm.models import ClientAccount, Document, Staff

View = Callable[..., HttpResponse]


def _acting_user(request: HttpRequest) -> str:
    return request.headers.get("X-User", "")


def _refusals(view: View) -> View:
    """approvalflow's refusals as pages saying what was wrong."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotAuthorizedError as exc:
            status = 403
            error: ApprovalFlowError = exc
        except UnknownDocumentError as exc:
            status, error = 404, exc
        except InvalidInputError as exc:
            status, error = 400, exc
        except ApprovalFlowError as exc:
            status, error = 409, exc
        return HttpResponse(format_html("<p>{}</p>", str(error)), status=status)

    return wrapped


def _table(rows: tuple[DocumentRow, ...]) -> str:
    return format_html(
        "<table><tr><th>Document</th><th>Type</th><th>Status</th>"
        "<th>Last activity</th></tr>{}</table>",
        format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("document", args=[row.document_id]),
                    row.name,
                    row.file_type,
                    row.state.value,
                    f"{row.last_activity_at:%Y-%m-%d %H:%M}",
                )
                for row in rows
            ),
        ),
    )


@require_GET
def document(request: HttpRequest, ref: str) -> HttpResponse:
    """One document's approval status and history."""
    doc = get_object_or_404(Document, ref=ref)
    approvals = get_approvals()
    status = approvals.status(ref)
    history = format_html_join(
        "",
        "<li>{}: {}</li>",
        (
            (words(get_language(), settings.TIME_ZONE).time(entry.at), entry.describe())
            for entry in approvals.history(ref)
        ),
    )
    return HttpResponse(
        format_html(
            "<h1>{}</h1><p>Approval: {}</p><ul>{}</ul>",
            doc.name,
            status.state.value,
            history,
        )
    )


@require_POST
@_refusals
def request_approval(request: HttpRequest, ref: str) -> HttpResponse:
    """Ask the document's client to approve it (staff only)."""
    days = request.POST.get("reminder_days")
    reminders = None
    if days:
        count = request.POST.get("reminder_count") or "1"
        try:
            reminders = ReminderPolicy(days_before_next=int(days), count=int(count))
        except ValueError as exc:
            raise InvalidInputError(
                "reminder_days", f"got {days!r}", "whole numbers of days and reminders"
            ) from exc
    get_approvals().request_approval(
        ref,
        by=_acting_user(request),
        message=request.POST.get("message") or None,
        reminders=reminders,
    )
    return HttpResponseRedirect(reverse("document", args=[ref]), status=303)


@require_POST
@_refusals
def approve(request: HttpRequest, ref: str) -> HttpResponse:
    """Approve the pending request (a linked client user)."""
    get_approvals().approve(
        ref, by=_acting_user(request), comment=request.POST.get("comment") or None
    )
    return HttpResponseRedirect(reverse("document", args=[ref]), status=303)


@require_POST
@_refusals
def reject(request: HttpRequest, ref: str) -> HttpResponse:
    """Reject the pending request with reasons, one per line."""
    reasons = [
        r.strip() for r in request.POST.get("reasons", "").splitlines() if r.strip()
    ]
    get_approvals().reject(
        ref,
        by=_acting_user(request),
        reasons=reasons,
        comment=request.POST.get("comment") or None,
    )
    return HttpResponseRedirect(reverse("document", args=[ref]), status=303)


@require_POST
@_refusals
def upload(request: HttpRequest, code: str) -> HttpResponse:
    """File a new document and, if asked, request its approval: all or nothing.

    The document row and the approval request commit in one transaction: a
    request approvalflow refuses leaves no document behind.
    """
    account = get_object_or_404(ClientAccount, code=code)
    by = _acting_user(request)
    with transaction.atomic():
        uploader = Staff.objects.filter(username=by).first()
        if uploader is None:
            raise NotAuthorizedError(by, "upload", "only firm members file documents")
        doc = Document.objects.create(
            ref=request.POST.get("ref", ""),
            account=account,
            name=request.POST.get("name", ""),
            file_type=request.POST.get("file_type", ""),
            uploaded_by=uploader,
            client_visible=request.POST.get("client_visible", "1") == "1",
        )
        if request.POST.get("request_approval") == "1":
            get_approvals().request_approval(
                doc.ref, by=by, message=request.POST.get("message") or None
            )
    return HttpResponseRedirect(reverse("document", args=[doc.ref]), status=303)


@require_GET
@_refusals
def recent(request: HttpRequest) -> HttpResponse:
    """The recent list, with ``?filter=`` (repeatable) and ``?account=``."""
    page = get_approvals().recent(
        filters=request.GET.getlist("filter") or None,
        account_id=request.GET.get("account") or None,
    )
    return HttpResponse(format_html("<h1>Recent documents</h1>{}", _table(page.rows)))


@require_GET
@_refusals
def approvals_tab(request: HttpRequest, code: str) -> HttpResponse:
    """A client account's Approvals tab."""
    account = get_object_or_404(ClientAccount, code=code)
    page = get_approvals().approvals_tab(account.code)
    return HttpResponse(
        format_html("<h1>Approvals: {}</h1>{}", account.name, _table(page.rows))
    )
