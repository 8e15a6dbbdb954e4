"""The firm's pages: requesting approval, deciding, and the lists."""

from django.urls import path

from firm import views

urlpatterns = [
    path("documents/<str:ref>", views.document, name="document"),
    path(
        "documents/<str:ref>/request-approval",
        views.request_approval,
        name="request-approval",
    ),
    path("documents/<str:ref>/approve", views.approve, name="approve"),
    path("documents/<str:ref>/reject", views.reject, name="reject"),
    path("accounts/<str:code>/documents", views.upload, name="upload"),
    path("accounts/<str:code>/approvals", views.approvals_tab, name="approvals-tab"),
    path("recent", views.recent, name="recent"),
]
