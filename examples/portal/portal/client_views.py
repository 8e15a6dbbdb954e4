"""The client's pages: the Pending-action list and a document to approve or reject.

Every read goes through ``approvals.queries_for(user)``, which answers only
about the client-visible documents of the accounts the user is linked to;
every decision is checked by approvalflow against the same directory. A
document of another account is "not found", whichever way it is asked.
"""

from __future__ import annotations

from approvalflow_django import get_approvals
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from approvalflow import (
    ApprovalFlowError,
    ClientView,
    NotAuthorizedError,
    UnknownDocumentError,
)
from portal.errors import friendly
from portal.models import AccountLink, Document, Task
from portal.roles import client_of, client_required, username

#: Reasons a client can tick; "Another reason" adds their own words.
REASONS = (
    gettext_lazy("Wrong period"),
    gettext_lazy("Amounts are wrong"),
    gettext_lazy("Information is missing"),
    gettext_lazy("Not our document"),
)


@require_GET
@client_required
def pending(request: HttpRequest) -> HttpResponse:
    """The client's Pending-action list: documents waiting for their decision."""
    client = client_of(request)
    assert client is not None  # client_required
    accounts = dict(
        AccountLink.objects.filter(user=client).values_list(
            "account__code", "account__name"
        )
    )
    tasks = Task.objects.filter(account_code__in=accounts).order_by("-updated_at")
    return render(
        request,
        "portal/client_pending.html",
        {"tasks": [(t, accounts[t.account_code]) for t in tasks]},
    )


def _visible(request: HttpRequest, code: str, ref: str) -> ClientView:
    """The request as this client sees it; 404 for anything else."""
    try:
        view = get_approvals().queries_for(username(request)).client_view(ref)
    except (NotAuthorizedError, UnknownDocumentError):
        raise Http404(_("There is no such document among yours.")) from None
    if view.document.account_id != code:
        raise Http404(_("There is no such document among yours."))
    return view


@require_GET
@client_required
def review(request: HttpRequest, code: str, ref: str) -> HttpResponse:
    """A document to review: the firm's message, Approve, Reject with reasons.

    The "Review documents" link of the emails lands here (after signing in).
    """
    view = _visible(request, code, ref)
    has_file = Document.objects.filter(ref=ref).exclude(file="").exists()
    return render(
        request,
        "portal/client_review.html",
        {
            "view": view,
            "code": code,
            "ref": ref,
            "reasons": REASONS,
            "has_file": has_file,
        },
    )


@require_POST
@client_required
def decide(request: HttpRequest, code: str, ref: str, decision: str) -> HttpResponse:
    """Approve, or reject with one or more reasons and a comment."""
    _visible(request, code, ref)
    approvals, by = get_approvals(), username(request)
    comment = request.POST.get("comment", "").strip() or None
    try:
        if decision == "approve":
            approvals.approve(ref, by=by, comment=comment)
            messages.success(request, _("Thank you: you approved the document."))
        elif decision == "reject":
            reasons = [r for r in request.POST.getlist("reasons") if r.strip()]
            other = request.POST.get("other_reason", "").strip()
            if other:
                reasons.append(other)
            approvals.reject(ref, by=by, reasons=reasons, comment=comment)
            messages.success(
                request, _("You rejected the document; the firm has your reasons.")
            )
        else:
            raise Http404
    except ApprovalFlowError as exc:
        messages.error(request, friendly(exc))
    return redirect("client-review", code=code, ref=ref)
