"""Small filters the portal's templates use: approvalflow's values in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from approvalflow.i18n import words
from portal.errors import state_label as _state_label

register = template.Library()


@register.filter
def state_label(state: str) -> str:
    """A document's approval state in words."""
    return _state_label(state)


@register.filter
def filter_label(value: str) -> str:
    """A list filter's name."""
    return {
        "pending_payment": _("Pending payment"),
        "pending_approval": _("Pending approval"),
        "approved": _("Approved"),
        "rejected": _("Rejected"),
    }.get(value, value)


@register.filter
def activity_label(value: str) -> str:
    """What the latest activity on a document was."""
    return {
        "requested": _("approval requested"),
        "resent": _("request sent again"),
        "approved": _("approved"),
        "rejected": _("rejected"),
        "cancelled": _("request cancelled"),
        "locked_to_invoice": _("locked to an invoice"),
        "invoice_paid": _("invoice paid"),
        "uploaded": _("uploaded"),
        "modified": _("modified"),
        "sent": _("sent"),
        "downloaded": _("downloaded"),
    }.get(value, value)


def _words() -> Any:
    # The reader's language; the firm's zone (the portal's TIME_ZONE).
    return words(get_language(), settings.TIME_ZONE)


@register.filter
def when(moment: datetime | None) -> str:
    """A time as approvalflow writes it everywhere (CLDR medium, with zone)."""
    return "" if moment is None else str(_words().time(moment))


@register.filter
def day(moment: datetime | None) -> str:
    """A day as approvalflow writes it everywhere (CLDR medium date)."""
    return "" if moment is None else str(_words().date(moment))


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    """``mapping[key]``, or the key itself when it is not there."""
    return mapping.get(key, key)


@register.filter
def without_cursor(query: QueryDict) -> str:
    """The query string without the page cursor (back to the first page)."""
    copy = query.copy()
    copy.pop("after", None)
    return copy.urlencode()
