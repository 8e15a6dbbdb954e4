"""What a host's monitoring sees: log lines with context, and metrics.

Metrics are read through the OpenTelemetry SDK's in-memory reader, installed
as the global meter provider the way a host installs its own exporter.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from approvalflow import (
    Approvals,
    NotAuthorizedError,
    ReminderPolicy,
    Worker,
    connect,
)
from approvalflow._observe import JsonFormatter, TextFormatter
from approvalflow.ports import TemporaryDeliveryError
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    RecordingMailer,
    StaticLinks,
)
from tests.helpers import START, make_directory

_READER = InMemoryMetricReader()


@pytest.fixture(scope="module", autouse=True)
def meter_provider() -> None:
    # The global provider can be set once per process; approvalflow's
    # instruments were made before it (at import), as in a host.
    metrics.set_meter_provider(MeterProvider(metric_readers=[_READER]))


def points(name: str) -> list[tuple[dict[str, Any], Any]]:
    data = _READER.get_metrics_data()
    found: list[tuple[dict[str, Any], Any]] = []
    if data is None:
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += [
                        (dict(p.attributes or {}), p) for p in metric.data.data_points
                    ]
    return found


def counted(name: str, **attributes: str) -> int:
    """The counter's cumulative value over the points matching ``attributes``."""
    return sum(
        int(p.value)
        for attrs_, p in points(name)
        if all(attrs_.get(k) == v for k, v in attributes.items())
    )


def histogram(name: str, **attributes: str) -> tuple[int, float]:
    """(count, sum) of the histogram's points matching ``attributes``."""
    matching = [
        p
        for attrs_, p in points(name)
        if all(attrs_.get(k) == v for k, v in attributes.items())
    ]
    return sum(p.count for p in matching), sum(p.sum for p in matching)


@pytest.fixture
def setup() -> Iterator[tuple[Approvals, RecordingMailer, ControllableClock]]:
    directory = make_directory()
    directory.client_users["c2"] = attrs.evolve(
        directory.client_users["c2"], email="marc-at-acme"
    )
    directory.link("acme", "c2", notify=True)
    clock = ControllableClock(START)
    mailer = RecordingMailer()
    with connect(
        "memory://",
        directory=directory,
        clock=clock,
        mailer=mailer,
        links=StaticLinks(),
        composer=FixedComposer(),
    ) as app:
        yield app, mailer, clock


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def test_commands_are_logged_and_counted_with_their_outcome(
    setup: tuple[Approvals, RecordingMailer, ControllableClock],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _, _ = setup
    recorded = counted("approvalflow.commands", command="approve", outcome="recorded")
    refused = counted("approvalflow.commands", command="approve", outcome="refused")
    timed, _ = histogram("approvalflow.command.duration", command="approve")
    caplog.set_level(logging.INFO, logger="approvalflow")
    app.request_approval("d1", by="f1")
    with pytest.raises(NotAuthorizedError, match="may not approve"):
        app.approve("d1", by="g1")  # Globex's client, not ACME's
    app.approve("d1", by="c1")
    assert (
        counted("approvalflow.commands", command="approve", outcome="recorded")
        == recorded + 1
    )
    assert (
        counted("approvalflow.commands", command="approve", outcome="refused")
        == refused + 1
    )
    assert histogram("approvalflow.command.duration", command="approve")[0] == (
        timed + 2
    )
    lines = records(caplog, "approvalflow.commands")
    assert [(r.command, r.document_id, r.actor, r.outcome) for r in lines] == [  # type: ignore[attr-defined]
        ("request_approval", "d1", "f1", "recorded"),
        ("approve", "d1", "g1", "refused"),
        ("approve", "d1", "c1", "recorded"),
    ]
    assert lines[1].error == "NotAuthorizedError"  # type: ignore[attr-defined]
    assert lines[1].getMessage().startswith("approve of d1 refused: ")


def test_one_line_per_email_sent_deferred_or_refused(
    setup: tuple[Approvals, RecordingMailer, ControllableClock],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, mailer, clock = setup
    before = {
        outcome: counted("approvalflow.deliveries", channel="email", outcome=outcome)
        for outcome in ("sent", "deferred", "refused")
    }
    caplog.set_level(logging.INFO, logger="approvalflow")
    app.request_approval("d1", by="f1")
    notifier = app.notifier(worker="w")
    mailer.fail_with = TemporaryDeliveryError("421 try later")
    notifier.run_once()  # Claire's email deferred: the queue holds
    mailer.fail_with = None
    clock.advance(timedelta(minutes=1))
    notifier.run_once()  # Claire's sent, Marc's address refused
    lines = [
        r
        for r in records(caplog, "approvalflow.delivery")
        if r.channel == "email"  # type: ignore[attr-defined]
    ]
    seen = [(r.outcome, r.recipient, r.attempt, r.levelname) for r in lines]  # type: ignore[attr-defined]
    assert seen == [
        ("deferred", "c1", 1, "WARNING"),
        ("sent", "c1", 2, "INFO"),
        ("refused", "c2", 1, "ERROR"),
    ]
    deferred, sent, refused = lines
    assert deferred.error == "TemporaryDeliveryError: 421 try later"  # type: ignore[attr-defined]
    (message,) = mailer.sent
    assert sent.message_id == message["Message-ID"]  # type: ignore[attr-defined]
    assert sent.document_id == "d1"  # type: ignore[attr-defined]
    assert sent.address == "claire@acme.example"  # type: ignore[attr-defined]
    assert sent.kind == "request"  # type: ignore[attr-defined]
    assert sent.event == 2  # type: ignore[attr-defined]  # Created is 1
    assert "marc-at-acme" in refused.error  # type: ignore[attr-defined]
    assert sent.getMessage() == (
        f"email request sent #2 (d1) to claire@acme.example, attempt 2 "
        f"{message['Message-ID']}"
    )
    for outcome in ("sent", "deferred", "refused"):
        assert (
            counted("approvalflow.deliveries", channel="email", outcome=outcome)
            == before[outcome] + 1
        ), outcome


def test_reminders_are_logged_and_counted(
    setup: tuple[Approvals, RecordingMailer, ControllableClock],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _, clock = setup
    before = counted("approvalflow.reminders")
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(2, 1))
    caplog.set_level(logging.INFO, logger="approvalflow")
    clock.advance(timedelta(days=1))
    assert app.send_due_reminders() == []
    assert counted("approvalflow.reminders") == before
    clock.advance(timedelta(days=1))
    assert app.send_due_reminders() == ["d1"]
    (line,) = records(caplog, "approvalflow.reminders")
    assert line.document_id == "d1"  # type: ignore[attr-defined]
    assert counted("approvalflow.reminders") == before + 1


def test_the_worker_records_the_delivery_lag_at_each_pass(
    setup: tuple[Approvals, RecordingMailer, ControllableClock],
) -> None:
    app, _, _ = setup
    for doc in ("d1", "d2", "d3"):
        app.request_approval(doc, by="f1")
    count, total = histogram("approvalflow.delivery.lag")
    worker = Worker(app, app.notifier(worker="w"), interval=1)
    worker._step()  # one pass of run(), as the follower calls it
    # Three Created and three Requested events waited.
    assert histogram("approvalflow.delivery.lag") == (count + 1, total + 6)
    worker.stop()


def test_the_json_format_puts_the_context_in_fields() -> None:
    record = logging.LogRecord(
        "approvalflow.delivery", logging.INFO, __file__, 1, "email %s", ("sent",), None
    )
    record.document_id = "d1"
    record.attempt = 2
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "email sent"
    assert line["logger"] == "approvalflow.delivery"
    assert line["level"] == "INFO"
    assert (line["document_id"], line["attempt"]) == ("d1", 2)
    assert line["time"].endswith("+00:00")
    assert "args" not in line
    assert "msg" not in line


def test_text_logs_keep_one_line_per_record_whatever_the_directory_holds() -> None:
    directory = make_directory()
    forged = "marc@acme.example\r\n2026-01-01 00:00:00 INFO approvalflow: all fine"
    directory.client_users["c2"] = attrs.evolve(
        directory.client_users["c2"], email=forged, name="Marc \x1b[2J\x1b[31mRed"
    )
    directory.link("acme", "c2", notify=True)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("approvalflow")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with connect(
            "memory://",
            directory=directory,
            clock=ControllableClock(START),
            mailer=RecordingMailer(),
            links=StaticLinks(),
            composer=FixedComposer(),
        ) as app:
            app.request_approval("d1", by="f1")
            app.notifier(worker="w").run_once()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    text = stream.getvalue()
    lines = text.splitlines()
    assert any("refused" in line and "marc@acme" in line for line in lines), text
    # Each record is one line that starts with its own time stamp: the
    # address's line break did not start a forged record.
    assert all(line[:4].isdigit() for line in lines), lines
    assert "\x1b" not in text
    assert "\\r\\n2026-01-01" in text


def test_the_worker_text_format_escapes_controls() -> None:
    from approvalflow.cli import _configure_logging  # noqa: PLC0415

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        _configure_logging("info", "text")
        (handler,) = root.handlers
        assert isinstance(handler.formatter, TextFormatter)
        record = logging.LogRecord(
            "approvalflow.delivery", logging.INFO, __file__, 1, "to %s", ("a\nb",), None
        )
        assert handler.formatter.format(record).endswith("to a\\nb")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
