"""approvalflow in a Django project.

Its events, read models and deliveries live in Django's own database and
transactions, its directory is read from the host's models, and its emails
go through Django's email backend.

Add ``"approvalflow_django"`` to ``INSTALLED_APPS``, an ``APPROVALFLOW``
setting (:mod:`approvalflow_django.conf`), run ``manage.py migrate``, then::

    from approvalflow_django import get_approvals

    get_approvals().request_approval("doc-42", by="staff-1")

``manage.py approvalflow_worker`` sends reminders and emails.
"""

from approvalflow_django.runtime import build_approvals, close_approvals, get_approvals

__all__ = ["build_approvals", "close_approvals", "get_approvals"]
