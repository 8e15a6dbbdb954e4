"""An independent fold of the stored events into what the lists should show.

Written for the tests only, from the help-centre's rules, without the
library's projection code, so the two can be compared.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from approvalflow import Approvals

WINDOW = timedelta(days=30)
ACTIVITY = {"Requested", "Resent", "Approved", "Rejected", "Cancelled"}
ACTIVITY |= {"LockedToInvoice", "InvoicePaid", "ActivityReported"}
STATE_AFTER = {
    "Requested": "pending_approval",
    "Approved": "approved",
    "Rejected": "rejected",
    "Cancelled": "none",
}


def stored_events(app: Approvals) -> list[Any]:
    notifications = app.recorder.select_notifications(start=1, limit=10**9)
    return [app.mapper.to_domain_event(n) for n in notifications]


def expected_lists(app: Approvals, now: datetime) -> dict[str, Any]:
    """What every list should show at ``now``, from the events alone."""
    docs: dict[Any, dict[str, Any]] = {}
    rejections: dict[str, list[tuple[Any, ...]]] = {}
    audit: dict[Any, list[tuple[Any, ...]]] = {}
    names: dict[Any, str] = {}
    for event in stored_events(app):
        kind = type(event).__name__
        record = event.originator_id
        audit.setdefault(record, []).append(
            (
                event.originator_version,
                kind,
                getattr(getattr(event, "by", None), "user_id", None),
            )
        )
        if kind == "Created":
            names[record] = event.document_id
            continue
        doc = docs.setdefault(
            record,
            {
                "id": names[record],
                "state": "none",
                "payment": False,
                "requested": None,
                "rejected": None,
                "activity": None,
                "account": None,
            },
        )
        facts = getattr(event, "document", None)
        if facts is not None:
            doc["account"] = facts.account_id
        if kind in STATE_AFTER:
            doc["state"] = STATE_AFTER[kind]
        if kind == "Requested":
            doc["requested"], doc["rejected"] = event.timestamp, None
        if kind == "Rejected":
            doc["rejected"] = event.timestamp
            rejections.setdefault(names[record], []).append(
                (event.cycle, tuple(event.rejection.reasons), event.rejection.comment)
            )
        if kind == "LockedToInvoice":
            doc["payment"] = True
        if kind == "InvoicePaid":
            doc["payment"] = False
        if kind in ACTIVITY:
            doc["activity"] = event.timestamp
    shown = [d for d in docs.values() if d["account"] is not None]
    recent = sorted(
        (d for d in shown if d["activity"] >= now - WINDOW),
        key=lambda d: (d["activity"], d["id"]),
        reverse=True,
    )
    accounts = sorted({d["account"] for d in shown})
    return {
        "recent": [d["id"] for d in recent],
        "recent pending approval or payment": [
            d["id"] for d in recent if d["state"] == "pending_approval" or d["payment"]
        ],
        "recent decided": [
            d["id"] for d in recent if d["state"] in ("approved", "rejected")
        ],
        "tabs": {
            account: [
                (d["id"], d["state"], d["requested"], d["rejected"])
                for d in sorted(
                    (
                        x
                        for x in shown
                        if x["account"] == account and x["state"] != "none"
                    ),
                    key=lambda x: (x["requested"], x["id"]),
                    reverse=True,
                )
            ]
            for account in accounts
        },
        "pending": sorted(
            (a, n)
            for a in accounts
            if (
                n := sum(
                    1
                    for d in shown
                    if d["account"] == a and d["state"] == "pending_approval"
                )
            )
        ),
        "rejections": rejections,
        "audit": {names[r]: lines for r, lines in audit.items()},
    }


def actual_lists(app: Approvals) -> dict[str, Any]:
    """The same lists, as the library's read models answer them."""
    expected_shape = expected_lists(app, app.clock.now())

    def ids(page: Any) -> list[str]:
        return [r.document_id for r in page.rows]

    return {
        "recent": ids(app.recent(limit=500)),
        "recent pending approval or payment": ids(
            app.recent(filters=["pending_approval", "pending_payment"], limit=500)
        ),
        "recent decided": ids(app.recent(filters=["approved", "rejected"], limit=500)),
        "tabs": {
            account: [
                (r.document_id, r.state.value, r.requested_at, r.rejected_at)
                for r in app.approvals_tab(account, limit=500).rows
            ]
            for account in expected_shape["tabs"]
        },
        "pending": [(a.account_id, a.pending) for a in app.accounts_pending()],
        "rejections": {
            doc: [(r.cycle, r.reasons, r.comment) for r in app.views.rejections(doc)]
            for doc in expected_shape["rejections"]
        },
        "audit": {
            doc: [(a.version, a.event, a.actor_id) for a in app.audit_trail(doc)]
            for doc in expected_shape["audit"]
        },
    }
