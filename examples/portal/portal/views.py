"""The firm's pages: documents, accounts, a document's approval, Inbox+.

Every approval fact comes from approvalflow's public API through
``approvalflow_django.get_approvals()``; the portal's own models hold only
what the host owns (people, accounts, folders, documents) and what its
ports write (tasks, Inbox+ notes). approvalflow's refusals become friendly
messages (:mod:`portal.errors`) and leave nothing recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from approvalflow_django import get_approvals
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from approvalflow import (
    ApprovalFlowError,
    ApprovalState,
    BatchRequest,
    EntryPoint,
    InvalidInputError,
    Page,
    ReasonsNotOfferedError,
    ReminderPolicy,
    StatusFilter,
)
from portal.errors import REMINDER_COUNT, REMINDER_DAYS, friendly
from portal.models import ClientAccount, Document, Folder, InboxNote
from portal.ports import DemoClock
from portal.roles import client_of, staff_of, staff_required, username

#: Rows per page of the lists.
PAGE_SIZE = 10
#: The filters a list offers, in the order shown.
FILTERS = (
    StatusFilter.PENDING_PAYMENT,
    StatusFilter.PENDING_APPROVAL,
    StatusFilter.APPROVED,
    StatusFilter.REJECTED,
)
#: What the reminder fields show until someone changes them.
DEFAULT_REMINDER_DAYS = 3
DEFAULT_REMINDER_COUNT = 2


def home(request: HttpRequest) -> HttpResponse:
    """Firm members to their documents, clients to their pending actions."""
    if staff_of(request) is not None:
        return redirect("firm-documents")
    if client_of(request) is not None:
        return redirect("client-pending")
    return redirect("login")


def _filters(request: HttpRequest) -> list[str]:
    allowed = {f.value for f in FILTERS}
    return [f for f in request.GET.getlist("status") if f in allowed]


def _listing(request: HttpRequest, fetch: Callable[..., Page]) -> dict[str, Any] | None:
    """One page of a filtered list and its paging links; ``None``: stale cursor.

    ``fetch`` is the list's query, given ``filters``, ``limit`` and ``after``.
    """
    filters = _filters(request)
    try:
        page = fetch(
            filters=filters or None,
            limit=PAGE_SIZE,
            after=request.GET.get("after") or None,
        )
    except InvalidInputError:
        # A stale or edited cursor: the caller starts the list again.
        return None
    query = request.GET.copy()
    if page.next_cursor is not None:
        query["after"] = page.next_cursor
    return {
        "page": page,
        # Documents whose folder the client does not see: nothing to ask.
        "hidden": set(
            Document.objects.filter(folder__client_visible=False).values_list(
                "ref", flat=True
            )
        ),
        "filters": FILTERS,
        "chosen": filters,
        "next_query": query.urlencode() if page.next_cursor else None,
        "first_page": not request.GET.get("after"),
    }


def _names() -> dict[str, str]:
    return dict(ClientAccount.objects.values_list("code", "name"))


def _whole_number(request: HttpRequest, name: str, label: str) -> int:
    text = request.POST.get(name, "").strip()
    try:
        return int(text)
    except ValueError:
        raise InvalidInputError(
            name, f"got {text!r}", f"a whole number ({label})"
        ) from None


def _reminders(request: HttpRequest) -> ReminderPolicy | None:
    """The form's reminder settings; ``None`` when reminders are off."""
    if request.POST.get("reminders") != "on":
        return None
    days = _whole_number(request, "days_before_next", "days")
    count = _whole_number(request, "count", "reminders")
    return ReminderPolicy(days_before_next=days, count=count)


def _reminder_defaults() -> dict[str, Any]:
    return {
        "days_default": DEFAULT_REMINDER_DAYS,
        "count_default": DEFAULT_REMINDER_COUNT,
        "days_bounds": REMINDER_DAYS,
        "count_bounds": REMINDER_COUNT,
    }


def _refused(request: HttpRequest, exc: ApprovalFlowError) -> None:
    messages.error(request, friendly(exc))


@require_GET
@staff_required
def firm_documents(request: HttpRequest) -> HttpResponse:
    """The recent list: documents with activity in the last 30 days, filtered."""
    account = request.GET.get("account") or None
    names = _names()
    if account is not None and account not in names:
        account = None
    listing = _listing(
        request,
        lambda **paging: get_approvals().recent(account_id=account, **paging),
    )
    if listing is None:
        return redirect(request.path)
    return render(
        request,
        "portal/firm_documents.html",
        listing | {"names": names, "account": account},
    )


@require_GET
@staff_required
def firm_accounts(request: HttpRequest) -> HttpResponse:
    """Client accounts, or only those with approvals pending, with counts."""
    pending = {a.account_id: a.pending for a in get_approvals().accounts_pending()}
    only_pending = request.GET.get("pending") == "1"
    accounts = [
        (account, pending.get(account.code, 0))
        for account in ClientAccount.objects.all()
        if not only_pending or pending.get(account.code)
    ]
    return render(
        request,
        "portal/firm_accounts.html",
        {"accounts": accounts, "only_pending": only_pending},
    )


def _account(code: str) -> ClientAccount:
    return get_object_or_404(ClientAccount, code=code)


def _document(code: str, ref: str) -> Document:
    return get_object_or_404(
        Document.objects.select_related("folder__account", "uploaded_by"),
        ref=ref,
        folder__account__code=code,
    )


@staff_required
def account_documents(request: HttpRequest, code: str) -> HttpResponse:
    """A client's Documents tab: its folders, and uploading files (with approval)."""
    account = _account(code)
    if request.method == "POST":
        return _upload(request, account)
    approvals = get_approvals()
    folders = [
        (
            folder,
            [
                (doc, approvals.status(doc.ref))
                for doc in Document.objects.filter(folder=folder)
            ],
        )
        for folder in Folder.objects.filter(account=account)
    ]
    return render(
        request,
        "portal/account_documents.html",
        {"account": account, "folders": folders, "tab": "documents"}
        | _reminder_defaults(),
    )


def _upload(request: HttpRequest, account: ClientAccount) -> HttpResponse:
    """Files into a folder; with "ask for approval", one request for them all."""
    files = request.FILES.getlist("files")
    folder = get_object_or_404(Folder, pk=request.POST.get("folder"), account=account)
    staff = staff_of(request)
    assert staff is not None  # staff_required
    if not files:
        messages.error(request, _("Choose at least one file to upload."))
        return redirect("account-documents", code=account.code)
    try:
        # The documents and their approval requests commit together, or
        # (a refusal) neither: approvalflow writes in Django's transaction.
        with transaction.atomic():
            created = [
                Document.objects.create(
                    ref=f"{account.code}-{uuid.uuid4().hex[:8]}",
                    folder=folder,
                    name=PurePath(upload.name or "document").name[:200],
                    file_type=(
                        PurePath(upload.name or "").suffix.lstrip(".") or "file"
                    )[:16],
                    uploaded_by=staff,
                    description=request.POST.get("description", "").strip(),
                    uploaded_at=DemoClock().now(),
                    file=upload,
                )
                for upload in files
            ]
            approvals = get_approvals()
            for doc in created:
                approvals.record_activity(
                    doc.ref, kind="uploaded", by=username(request)
                )
            if request.POST.get("request_approval") == "on":
                reminders = _reminders(request)
                message = request.POST.get("message", "").strip() or None
                approvals.request_approvals(
                    [
                        BatchRequest(
                            doc.ref,
                            message=message,
                            reminders=reminders,
                            entry_point=EntryPoint.UPLOAD,
                        )
                        for doc in created
                    ],
                    by=username(request),
                )
    except ApprovalFlowError as exc:
        _refused(request, exc)
        return redirect("account-documents", code=account.code)
    messages.success(
        request,
        ngettext(
            "%(count)s document uploaded.",
            "%(count)s documents uploaded.",
            len(created),
        )
        % {"count": len(created)},
    )
    return redirect("account-documents", code=account.code)


@require_GET
@staff_required
def account_approvals(request: HttpRequest, code: str) -> HttpResponse:
    """A client's Approvals tab: its requested documents, latest first."""
    account = _account(code)
    listing = _listing(
        request,
        lambda **paging: get_approvals().approvals_tab(account.code, **paging),
    )
    if listing is None:
        return redirect(request.path)
    return render(
        request,
        "portal/account_approvals.html",
        listing | {"account": account, "tab": "approvals"},
    )


@require_GET
@staff_required
def firm_document(request: HttpRequest, code: str, ref: str) -> HttpResponse:
    """The document viewer: its approval, what can be done, and its audit trail."""
    doc = _document(code, ref)
    approvals = get_approvals()
    status = approvals.status(ref)
    try:
        rejections: Sequence[Any] = approvals.rejection_reasons(ref)
    except ReasonsNotOfferedError:
        rejections = ()  # an approved document's reasons are not offered
    view = approvals.client_view(ref) if status.cycle is not None else None
    report = approvals.verify_audit()
    return render(
        request,
        "portal/firm_document.html",
        {
            "doc": doc,
            "account": doc.folder.account,
            "status": status,
            "pending": status.state is ApprovalState.PENDING,
            "requestable": status.state is not ApprovalState.PENDING
            and doc.folder.client_visible,
            "view": view,
            "rejections": rejections,
            "trail": approvals.audit_trail(
                ref, language=get_language(), time_zone="Europe/Paris"
            ),
            "verified": report,
        }
        | _reminder_defaults(),
    )


@staff_required
def request_page(request: HttpRequest, code: str, ref: str) -> HttpResponse:
    """Ask for approval: from the viewer, or from a list (its own page)."""
    doc = _document(code, ref)
    entry = (
        EntryPoint.LIST
        if request.POST.get("entry_point") == "list"
        else EntryPoint.VIEWER
    )
    if request.method == "POST":
        try:
            get_approvals().request_approval(
                ref,
                by=username(request),
                account_id=code,
                message=request.POST.get("message", "").strip() or None,
                reminders=_reminders(request),
                entry_point=entry,
            )
        except ApprovalFlowError as exc:
            _refused(request, exc)
            if entry is EntryPoint.LIST:
                return redirect("request-approval", code=code, ref=ref)
            return redirect("firm-document", code=code, ref=ref)
        messages.success(
            request,
            _("Approval requested from %(client)s.") % {"client": doc.folder.account},
        )
        return redirect("firm-document", code=code, ref=ref)
    return render(
        request,
        "portal/request.html",
        {"doc": doc, "account": doc.folder.account} | _reminder_defaults(),
    )


def _act(request: HttpRequest, code: str, ref: str, done: str) -> HttpResponse:
    messages.success(request, done)
    return redirect("firm-document", code=code, ref=ref)


@require_POST
@staff_required
def firm_action(request: HttpRequest, code: str, ref: str, action: str) -> HttpResponse:
    """Resend, cancel, lock to an invoice or mark it paid."""
    _document(code, ref)
    approvals, by = get_approvals(), username(request)
    try:
        if action == "resend":
            approvals.resend(
                ref,
                by=by,
                message=request.POST.get("message", "").strip() or None,
            )
            return _act(request, code, ref, _("The request was sent again."))
        if action == "cancel":
            approvals.cancel(
                ref, by=by, note=request.POST.get("note", "").strip() or None
            )
            return _act(request, code, ref, _("The request was cancelled."))
        if action == "lock":
            approvals.lock_to_invoice(
                ref, invoice_id=request.POST.get("invoice_id", ""), by=by
            )
            return _act(request, code, ref, _("The document is locked to the invoice."))
        if action == "paid":
            approvals.mark_invoice_paid(
                ref, invoice_id=request.POST.get("invoice_id", ""), by=by
            )
            return _act(request, code, ref, _("The invoice is marked as paid."))
    except ApprovalFlowError as exc:
        _refused(request, exc)
        return redirect("firm-document", code=code, ref=ref)
    raise Http404


@require_GET
@staff_required
def client_view(request: HttpRequest, code: str, ref: str) -> HttpResponse:
    """The request exactly as the client sees it, read-only."""
    doc = _document(code, ref)
    status = get_approvals().status(ref)
    if status.cycle is None:
        raise Http404
    return render(
        request,
        "portal/client_view.html",
        {
            "doc": doc,
            "account": doc.folder.account,
            "view": get_approvals().client_view(ref),
        },
    )


@require_GET
@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The firm member's Inbox+: notes about clients' decisions, newest first."""
    notes = InboxNote.objects.filter(username=username(request)).order_by(
        "-created_at", "-pk"
    )
    documents = {
        d.ref: d
        for d in Document.objects.select_related("folder__account").filter(
            ref__in=[n.document_ref for n in notes]
        )
    }
    return render(
        request,
        "portal/inbox.html",
        {"notes": [(n, documents.get(n.document_ref)) for n in notes]},
    )


def back_to(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Redirect to the page the form came from when it is this site's."""
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse(fallback))
