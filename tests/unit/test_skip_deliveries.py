"""What skipping deliveries would drop is what the worker would have sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from approvalflow import Approvals, InvalidInputError, ReminderPolicy
from approvalflow.follower import read_events
from approvalflow.notifications.delivery import HANDLES, message_kinds
from approvalflow.notifications.published import EVENT_TYPES
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    RecordingMailer,
    RecordingPortal,
    RecordingSink,
    StaticLinks,
)


def every_kind_of_event(app: Approvals, clock: ControllableClock) -> None:
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(1, 1))
    app.resend("d1", by="f1")
    clock.advance(timedelta(days=5))
    assert app.send_due_reminders() == ["d1"]
    app.approve("d1", by="c1")
    app.request_approval("d2", by="f1")
    app.reject("d2", by="c1", reasons=["Wrong year"])
    app.request_approval("d3", by="f1")
    app.cancel("d3", by="f1")
    app.lock_to_invoice("d4", invoice_id="inv-1", by="f1")
    app.mark_invoice_paid("d4", invoice_id="inv-1", by="f1")
    app.record_activity("d4", kind="uploaded", by="f1")


def test_message_kinds_are_what_the_notifier_plans_for_every_event_class(
    app: Approvals, clock: ControllableClock
) -> None:
    every_kind_of_event(app, clock)
    head = app.recorder.max_notification_id() or 0
    events = read_events(app.log, 0, head)
    notifier = app.notifier(
        mailer=RecordingMailer(),
        composer=FixedComposer(),
        links=StaticLinks("https://p.example"),
        portal=RecordingPortal(),
        event_sink=RecordingSink(),
    )
    # Before delivery: the preview counts each event by its message kinds.
    preview = app.deliveries_to_skip()
    assert (preview.position, preview.head, preview.events) == (0, head, head)
    while notifier.run_once().events:
        pass
    seen: set[type] = set()
    counted: dict[tuple[str, str], int] = {}
    for notification_id, event in events:
        planned = notifier.store.planned(notification_id) or []
        kinds = {(d.channel, d.kind) for d in planned}
        assert kinds == set(message_kinds(type(event))), type(event).__name__
        for kind in kinds:
            counted[kind] = counted.get(kind, 0) + 1
        seen.add(type(event))
    # Every class that leads to a message was seen, so none is left unchecked.
    assert seen >= HANDLES | set(EVENT_TYPES)
    assert {(c, k): n for c, k, n in preview.messages} == counted
    # Delivered: nothing is left to skip (the Notified events lead to none).
    after = app.deliveries_to_skip()
    assert after.position > head
    assert (after.events, after.messages) == (0, ())


def test_skipping_stops_at_the_head_that_was_shown(app: Approvals) -> None:
    app.request_approval("d1", by="f1")
    shown = app.deliveries_to_skip()
    app.request_approval("d2", by="f1")  # recorded while the operator read
    assert app.skip_deliveries(shown.head) == shown.events
    left = app.deliveries_to_skip()
    assert left.position == shown.head
    assert ("email", "request", 1) in left.messages  # d2 is still delivered


@pytest.mark.parametrize("up_to", [0, 1])
def test_a_head_at_or_behind_the_position_skips_nothing(
    app: Approvals, up_to: int
) -> None:
    app.request_approval("d1", by="f1")
    app.skip_deliveries(1)
    assert app.skip_deliveries(up_to) == 0
    assert app.deliveries_to_skip().position == 1


def test_a_head_beyond_the_log_skips_to_the_log_and_a_negative_one_is_refused(
    app: Approvals,
) -> None:
    app.request_approval("d1", by="f1")
    head = app.recorder.max_notification_id() or 0
    with pytest.raises(InvalidInputError, match="up_to"):
        app.skip_deliveries(-1)
    assert app.skip_deliveries(head + 100) == head
    assert app.deliveries_to_skip().events == 0
