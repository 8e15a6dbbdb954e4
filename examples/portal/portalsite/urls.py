"""The portal's URLs: the firm under ``/firm/``, clients under ``/accounts/``.

A client's document lives at ``/accounts/<code>/documents/<ref>``: the path
approvalflow's ``PortalLinks`` puts in the emails' "Review documents"
button. The firm's view of it is the same path under ``/firm``, the
``FIRM_URL`` of the emails' "View document" button.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from portal import client_views, demo_views, files, views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The firm's pages.
    path("firm/documents/", views.firm_documents, name="firm-documents"),
    path("firm/accounts/", views.firm_accounts, name="firm-accounts"),
    path("firm/inbox/", views.inbox, name="inbox"),
    path(
        "firm/accounts/<str:code>/documents/",
        views.account_documents,
        name="account-documents",
    ),
    path(
        "firm/accounts/<str:code>/approvals/",
        views.account_approvals,
        name="account-approvals",
    ),
    path(
        "firm/accounts/<str:code>/documents/<str:ref>",
        views.firm_document,
        name="firm-document",
    ),
    path(
        "firm/accounts/<str:code>/documents/<str:ref>/request",
        views.request_page,
        name="request-approval",
    ),
    path(
        "firm/accounts/<str:code>/documents/<str:ref>/client-view",
        views.client_view,
        name="client-view",
    ),
    path(
        "firm/accounts/<str:code>/documents/<str:ref>/file",
        files.document_file,
        name="firm-document-file",
    ),
    path(
        "firm/accounts/<str:code>/documents/<str:ref>/<str:action>",
        views.firm_action,
        name="firm-action",
    ),
    # The client's pages.
    path("pending/", client_views.pending, name="client-pending"),
    path(
        "accounts/<str:code>/documents/<str:ref>",
        client_views.review,
        name="client-review",
    ),
    path(
        "accounts/<str:code>/documents/<str:ref>/file",
        files.document_file,
        name="client-document-file",
    ),
    path(
        "accounts/<str:code>/documents/<str:ref>/<str:decision>",
        client_views.decide,
        name="client-decide",
    ),
    # Demo mode: the mail sink and the clock.
    path("mailbox/", demo_views.mailbox, name="mailbox"),
    path("mailbox/<str:name>/", demo_views.mail_message, name="mail-message"),
    path("mailbox/<str:name>/html", demo_views.mail_html, name="mail-html"),
    path("demo/clock", demo_views.move_time, name="move-time"),
]
