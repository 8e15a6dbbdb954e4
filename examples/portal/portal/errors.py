"""approvalflow's typed refusals, as sentences a person reads in their language.

approvalflow's own messages are for developers and logs (English, with the
field's technical name); a form shows these instead. The bounds are the
library's, copied here to say them in words (approvalflow still checks).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from approvalflow import (
    AlreadyPendingError,
    ApprovalFlowError,
    ApprovalState,
    ConcurrentChangeError,
    DocumentAccountMismatchError,
    DocumentNotVisibleError,
    InvalidInputError,
    InvalidStateError,
    NotAuthorizedError,
    NotPendingError,
    StoreBusyError,
    StoreUnavailableError,
    UnknownDocumentError,
)

#: approvalflow's bounds on what the forms send (checked by the tests).
REMINDER_DAYS = (1, 365)
REMINDER_COUNT = (1, 30)
MAX_REASONS = 20
MAX_REASON = 2_000
MAX_COMMENT = 2_000
MAX_MESSAGE = 10_000


def state_label(state: str) -> str:
    """A document's approval state in words."""
    return {
        ApprovalState.NONE.value: _("not requested"),
        ApprovalState.PENDING.value: _("pending approval"),
        ApprovalState.APPROVED.value: _("approved"),
        ApprovalState.REJECTED.value: _("rejected"),
        "pending": _("pending approval"),
        "cancelled": _("cancelled"),
    }.get(state, state)


def _input_message(exc: InvalidInputError) -> str:
    field = re.sub(r"\[\d+\]$", "[]", exc.field.rsplit(".", 1)[-1])
    messages = {
        "days_before_next": _(
            "Days before the next reminder: a whole number from %(low)s to %(high)s."
        )
        % {"low": REMINDER_DAYS[0], "high": REMINDER_DAYS[1]},
        "count": _("Number of reminders: a whole number from %(low)s to %(high)s.")
        % {"low": REMINDER_COUNT[0], "high": REMINDER_COUNT[1]},
        "reasons": _(
            "Give at least one reason for the rejection (at most %(max)s, "
            "each different)."
        )
        % {"max": MAX_REASONS},
        "reasons[]": _("Each reason is at most %(max)s characters long.")
        % {"max": MAX_REASON},
        "comment": _("The comment is at most %(max)s characters long.")
        % {"max": MAX_COMMENT},
        "message": _("The message is at most %(max)s characters long.")
        % {"max": MAX_MESSAGE},
        "note": _("The note is at most %(max)s characters long.")
        % {"max": MAX_COMMENT},
        "invoice_id": _(
            "Give the invoice number: letters and digits, without spaces around it."
        ),
    }
    return messages.get(field) or _("This value is not accepted: %(field)s.") % {
        "field": exc.field
    }


def friendly(exc: ApprovalFlowError) -> str:  # noqa: PLR0911 - one answer per kind
    """What went wrong, for the person who filled in the form."""
    if isinstance(exc, AlreadyPendingError):
        return _("This document is already waiting for the client's approval.")
    if isinstance(exc, NotPendingError):
        return _(
            "This document is no longer waiting for approval (it is %(state)s)."
        ) % {"state": state_label(exc.state)}
    if isinstance(exc, InvalidStateError):
        return _("That cannot be done now: the document is %(state)s.") % {
            "state": state_label(exc.state)
        }
    if isinstance(exc, InvalidInputError):
        return _input_message(exc)
    if isinstance(exc, NotAuthorizedError):
        return _("You are not allowed to do that on this document.")
    if isinstance(exc, UnknownDocumentError):
        return _("There is no such document.")
    if isinstance(exc, DocumentNotVisibleError):
        return _(
            "The client cannot see this document's folder: move it to a shared "
            "folder before asking for approval."
        )
    if isinstance(exc, DocumentAccountMismatchError):
        return _("This document belongs to another client.")
    if isinstance(exc, ConcurrentChangeError):
        return _("Someone changed this document at the same moment: try again.")
    if isinstance(exc, StoreBusyError | StoreUnavailableError):
        return _("The service is busy: try again in a moment.")
    return _("That could not be done: %(error)s") % {"error": exc}
